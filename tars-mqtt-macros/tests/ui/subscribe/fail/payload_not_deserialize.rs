use tars_mqtt::prelude::*;

struct Svc;
struct Query {
    text: String,
}

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    async fn a(&self, query: Query) {
        let _ = query.text;
    }
}

fn main() {}
