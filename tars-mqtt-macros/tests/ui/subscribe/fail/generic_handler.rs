use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    async fn a<T: serde::de::DeserializeOwned + Send>(&self, payload: T) {
        let _ = payload;
    }
}

fn main() {}
