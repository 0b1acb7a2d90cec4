use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("notes/add")]
    async fn add(&self, text: &str) {
        let _ = text;
    }
}

fn main() {}
