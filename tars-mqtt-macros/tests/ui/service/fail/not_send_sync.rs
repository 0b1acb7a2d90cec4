use std::cell::Cell;

use tars_mqtt::prelude::*;

struct Counter {
    count: Cell<u64>,
}

#[mqtt_service]
impl Counter {
    #[subscribe("counter/add")]
    async fn add(&self) {}

    #[subscribe("counter/reset")]
    async fn reset(&self) {}
}

fn main() {}
