use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", overflow = "drop_everything")]
    async fn a(&self) {}
}

fn main() {}
