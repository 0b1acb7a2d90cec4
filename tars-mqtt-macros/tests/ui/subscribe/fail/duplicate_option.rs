use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", qos = 1, qos = 0)]
    async fn a(&self) {}
}

fn main() {}
