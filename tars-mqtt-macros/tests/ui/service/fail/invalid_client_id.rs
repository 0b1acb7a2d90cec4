use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(client_id = "tars/memory")]
impl Svc {}

fn main() {}
