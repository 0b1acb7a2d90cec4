use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("events/a+")]
    async fn a(&self) {}
}

fn main() {}
