use std::rc::Rc;

use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    async fn a(&self) {
        let local = Rc::new(1);
        tokio::task::yield_now().await;
        let _ = local;
    }
}

fn main() {}
