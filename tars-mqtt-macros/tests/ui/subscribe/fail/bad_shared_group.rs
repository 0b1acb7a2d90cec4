use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("events", shared = "a/b")]
    async fn a(&self) {}
}

fn main() {}
