use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(crate = "not a path")]
impl Svc {}

fn main() {}
