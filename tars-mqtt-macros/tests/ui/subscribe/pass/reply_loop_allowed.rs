use tars_mqtt::prelude::*;

struct Svc;

// A relay that hands each message on until it is done: its replies come back on purpose.
#[mqtt_service]
impl Svc {
    #[subscribe("relay/hop", reply = "relay/hop", allow_reply_loop = true)]
    async fn hop(&self, hops: u32) -> Option<u32> {
        (hops > 0).then(|| hops - 1)
    }

    // Replies next to the filter, not under it: no loop.
    #[subscribe("jobs/+/in", reply = "jobs/done")]
    async fn job(&self, n: u32) -> u32 {
        n
    }
}

fn main() {
    assert_eq!(Svc::router().routes().count(), 2);
}
