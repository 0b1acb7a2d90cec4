use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(client_idd = "tars-memory")]
impl Svc {}

fn main() {}
