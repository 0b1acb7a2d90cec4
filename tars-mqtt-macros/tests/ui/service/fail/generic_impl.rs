use tars_mqtt::prelude::*;

struct Svc<T>(T);

#[mqtt_service]
impl<T: Send + Sync + 'static> Svc<T> {
    #[subscribe("a/b")]
    async fn a(&self) {}
}

fn main() {}
