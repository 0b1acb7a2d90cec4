use tars_mqtt::prelude::*;

struct Svc;

// A command on `home/kitchen/cmd` is acknowledged on `home/kitchen/ack`.
#[mqtt_service]
impl Svc {
    #[subscribe("home/{room}/cmd", reply = "home/{room}/ack")]
    async fn command(&self, room: String) -> String {
        room
    }
}

fn main() {
    let router = Svc::router();
    let route = router.routes().next().unwrap();
    assert_eq!(route.reply.unwrap().topic, "home/{room}/ack");
}
