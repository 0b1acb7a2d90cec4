use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(client_id = 5)]
impl Svc {}

fn main() {}
