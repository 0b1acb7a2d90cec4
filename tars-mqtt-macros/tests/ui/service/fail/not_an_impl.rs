use tars_mqtt::prelude::*;

#[mqtt_service]
struct Svc;

fn main() {}
