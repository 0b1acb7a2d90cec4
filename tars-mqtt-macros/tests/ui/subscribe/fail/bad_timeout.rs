use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", timeout = "soon")]
    async fn a(&self) {}
}

fn main() {}
