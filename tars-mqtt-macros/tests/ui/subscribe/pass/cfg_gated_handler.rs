use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/always")]
    async fn always(&self) {}

    #[cfg(any())]
    #[subscribe("a/never")]
    async fn never(&self, gone: NotDefinedAnywhere) {}
}

fn main() {
    assert_eq!(Svc::router().routes().count(), 1);
}
