use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(client_id = "")]
impl Svc {}

fn main() {}
