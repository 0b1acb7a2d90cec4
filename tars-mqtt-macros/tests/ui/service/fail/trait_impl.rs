use tars_mqtt::prelude::*;

struct Svc;

trait Handlers {}

#[mqtt_service]
impl Handlers for Svc {}

fn main() {}
