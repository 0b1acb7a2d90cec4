use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("sensors/{room}/temp")]
    async fn a(&self) {}
}

fn main() {}
