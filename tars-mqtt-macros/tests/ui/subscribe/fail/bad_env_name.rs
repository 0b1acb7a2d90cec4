use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("memory/query", env = "MEMORY-QUERY-TOPIC")]
    async fn query(&self) {}
}

fn main() {}
