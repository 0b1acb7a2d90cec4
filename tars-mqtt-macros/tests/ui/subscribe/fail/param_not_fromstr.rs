use tars_mqtt::prelude::*;

struct Svc;
struct Room;

#[mqtt_service]
impl Svc {
    #[subscribe("sensors/{room}/temp")]
    async fn a(&self, room: Room) {
        let _ = room;
    }
}

fn main() {}
