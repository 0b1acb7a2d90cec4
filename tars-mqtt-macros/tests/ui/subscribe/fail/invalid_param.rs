use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("sensors/{1room}")]
    async fn a(&self) {}
}

fn main() {}
