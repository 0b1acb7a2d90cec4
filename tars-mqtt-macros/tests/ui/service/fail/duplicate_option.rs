use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(source = "a", source = "b")]
impl Svc {}

fn main() {}
