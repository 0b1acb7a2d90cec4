use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    async fn a(&self, first: String, second: u32) {
        let _ = (first, second);
    }
}

fn main() {}
