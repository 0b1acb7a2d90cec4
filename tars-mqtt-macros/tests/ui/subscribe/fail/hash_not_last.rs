use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("events/#/late")]
    async fn a(&self) {}
}

fn main() {}
