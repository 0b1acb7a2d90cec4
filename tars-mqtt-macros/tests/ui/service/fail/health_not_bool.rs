use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(health = "yes")]
impl Svc {}

fn main() {}
