use std::future::Future;

use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    fn a(&self) -> impl Future<Output = ()> + Send {
        async {}
    }
}

fn main() {}
