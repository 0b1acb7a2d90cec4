use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("$share/workers/$share/events")]
    async fn a(&self) {}
}

fn main() {}
