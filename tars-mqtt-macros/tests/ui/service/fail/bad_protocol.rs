use tars_mqtt::mqtt_service;

struct Svc;

#[mqtt_service(client_id = "svc", protocol = 4)]
impl Svc {}

fn main() {}
