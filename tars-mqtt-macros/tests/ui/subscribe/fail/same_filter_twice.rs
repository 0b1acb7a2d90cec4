use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    async fn first(&self) {}

    #[subscribe("a/b")]
    async fn second(&self) {}
}

fn main() {}
