//! A first service: everything sent to `echo/in` comes back on `echo/out`, in an envelope with
//! the request's id. `cargo run --example echo` (on an embedded broker unless `MQTT_URL` is
//! set), then from another terminal, with Mosquitto's clients and `MQTT_URL` pointing at it:
//! `mosquitto_rr -t echo/in -e echo/out -m '{"id":"1","type":"echo","data":{"hi":1}}'`

use serde_json::{Map, Value};
use tars_mqtt::prelude::*;

pub struct Echo;

#[mqtt_service(client_id = "echo", health = true)]
impl Echo {
    #[subscribe("echo/in", qos = 1, reply = "echo/out", event = "echo")]
    async fn echo(&self, data: Map<String, Value>) -> Map<String, Value> {
        data
    }
}

#[allow(dead_code)]
#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tars_mqtt_examples::init_tracing("info,rumqttd=off");
    let (mut config, mut _broker) = (Echo::config()?, None);
    if std::env::var_os("MQTT_URL").is_none() {
        let broker = _broker.insert(tars_mqtt::testing::EmbeddedBroker::start());
        config = config.url(broker.url());
    }
    Ok(Echo.run(config.build()?).await?)
}
