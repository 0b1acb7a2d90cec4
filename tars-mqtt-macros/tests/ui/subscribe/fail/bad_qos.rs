use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", qos = 3)]
    async fn a(&self) {}
}

fn main() {}
