use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("home/{room}/cmd", reply = "home/{floor}/ack")]
    async fn command(&self, room: String) -> String {
        room
    }
}

fn main() {}
