use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("sensors/{room}/{room}")]
    async fn a(&self, room: String) {
        let _ = room;
    }
}

fn main() {}
