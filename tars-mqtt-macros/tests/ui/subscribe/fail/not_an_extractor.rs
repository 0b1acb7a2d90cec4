use tars_mqtt::prelude::*;

struct Svc;
struct NotAnExtractor;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    async fn a(&self, ctx: &NotAnExtractor) {
        let _ = ctx;
    }
}

fn main() {}
