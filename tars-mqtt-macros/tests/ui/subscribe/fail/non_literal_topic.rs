use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
const TOPIC: &str = "a/b";

    #[subscribe(TOPIC)]
    async fn a(&self) {}
}

fn main() {}
