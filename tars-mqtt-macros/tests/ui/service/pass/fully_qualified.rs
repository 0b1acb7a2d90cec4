struct Svc;

#[tars_mqtt::mqtt_service(client_id = "svc", source = "svc-source", health = true, heartbeat = 5, dedupe_ttl = 30, dedupe_max_entries = 1000, protocol = 5)]
impl Svc {
    #[tars_mqtt::subscribe("a/{room}/b", qos = 2, reply = "a/c", event = "a.c", concurrency = 2, queue = 8, overflow = "drop_oldest", timeout = "5s")]
    async fn a(&self, room: String) -> std::option::Option<serde_json::Value> {
        std::option::Option::Some(serde_json::json!({ "room": room }))
    }
}

fn main() {
    use tars_mqtt::Service;
    assert_eq!(Svc::INFO.defaults.heartbeat, Some(5.0));
    assert_eq!(Svc::INFO.defaults.protocol, Some(tars_mqtt::config::Protocol::V5));
    let router = Svc::router();
    let route = router.routes().next().unwrap();
    assert_eq!(route.qos, tars_mqtt::QoS::ExactlyOnce);
    assert_eq!(route.concurrency, 2);
    assert_eq!(route.overflow, tars_mqtt::Overflow::DropOldest);
}
