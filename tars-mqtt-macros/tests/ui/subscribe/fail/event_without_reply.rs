use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", event = "a.c")]
    async fn a(&self) {}
}

fn main() {}
