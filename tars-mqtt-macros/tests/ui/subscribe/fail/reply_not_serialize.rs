use tars_mqtt::prelude::*;

struct Svc;
struct Results;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", reply = "a/c")]
    async fn a(&self) -> Results {
        Results
    }
}

fn main() {}
