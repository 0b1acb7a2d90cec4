use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", reply = "a/b")]
    async fn echo(&self, text: String) -> String {
        text
    }
}

fn main() {}
