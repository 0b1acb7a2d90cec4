use tars_mqtt as tm;

struct Svc;

#[tm::mqtt_service(crate = "tm", client_id = "renamed")]
impl Svc {
    #[tm::subscribe("a/b", reply = "a/c")]
    async fn a(&self, data: serde_json::Value) -> serde_json::Value {
        data
    }
}

fn main() {
    use tm::Service;
    assert_eq!(Svc::INFO.defaults.client_id, Some("renamed"));
}
