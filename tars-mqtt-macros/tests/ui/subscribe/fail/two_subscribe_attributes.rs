use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    #[subscribe("a/c")]
    async fn a(&self) {}
}

fn main() {}
