use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("jobs/in", reply = "audit/out")]
    async fn job(&self, text: String) -> String {
        text
    }

    #[subscribe("audit/#")]
    async fn audit(&self, _text: String) {}
}

fn main() {}
