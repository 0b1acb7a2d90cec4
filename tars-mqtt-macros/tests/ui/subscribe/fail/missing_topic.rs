use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe]
    async fn a(&self) {}
}

fn main() {}
