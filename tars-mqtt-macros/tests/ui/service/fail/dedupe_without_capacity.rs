use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(dedupe_ttl = 30)]
impl Svc {}

fn main() {}
