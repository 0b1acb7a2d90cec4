//! A peer that no one here wrote: Python's paho-mqtt, with `json.dumps` formatting (spaces,
//! `\uXXXX` escapes), sends the recorded example envelopes to the memory-worker port and checks
//! the documented answers, validating each with python-jsonschema (`tests/python/peer.py`).

use std::path::PathBuf;

use tars_mqtt::config::BrokerAddress;
use tars_mqtt::testing::TestClient;
use tars_mqtt_it::{TestBroker, WAIT, unique};

use super::contracts_dir;
use crate::memory_worker::{CharacterDir, Implementation, launch};

async fn a_python_peer_gets_the_documented_answers(broker: TestBroker) {
    let url = broker.url();
    let mut watcher = TestClient::connect(&url, &unique("watcher")).await;
    watcher.subscribe("system/character/current").await;
    let character = CharacterDir::new();
    let worker = launch(Implementation::Port, &url, Some(character.path()), "TARS");
    watcher.expect("system/character/current", WAIT).await;

    let address = BrokerAddress::parse(&url).unwrap();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/peer.py");
    let run = tokio::process::Command::new("python3")
        .arg(script)
        .arg(&address.host)
        .arg(address.port.to_string())
        .arg(contracts_dir())
        .arg(tars_mqtt_it::protocol_of(&url).to_string())
        .output();
    let output = tokio::time::timeout(WAIT * 6, run)
        .await
        .expect("the Python peer finishes")
        .expect("python3 runs");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the Python peer failed:\n{report}");
    assert!(report.contains("all checks passed"), "{report}");
    println!("{report}");
    worker.stop().await;
}

mod embedded {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(has_python_peer),
        ignore = "python3 with paho-mqtt and jsonschema is not installed: python3 -m pip install paho-mqtt jsonschema"
    )]
    async fn a_python_peer_gets_the_documented_answers() {
        super::a_python_peer_gets_the_documented_answers(tars_mqtt_it::TestBroker::fresh_embedded())
            .await
    }
}

mod mosquitto {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(all(has_python_peer, has_mosquitto)),
        ignore = "needs mosquitto and python3 with paho-mqtt and jsonschema: apt-get install -y mosquitto; python3 -m pip install paho-mqtt jsonschema"
    )]
    async fn a_python_peer_gets_the_documented_answers() {
        super::a_python_peer_gets_the_documented_answers(tars_mqtt_it::TestBroker::mosquitto())
            .await
    }
}

mod mosquitto_v5 {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[cfg_attr(
        not(all(has_python_peer, has_mosquitto)),
        ignore = "needs mosquitto and python3 with paho-mqtt and jsonschema: apt-get install -y mosquitto; python3 -m pip install paho-mqtt jsonschema"
    )]
    async fn a_python_peer_gets_the_documented_answers() {
        super::a_python_peer_gets_the_documented_answers(tars_mqtt_it::TestBroker::mosquitto_v5())
            .await
    }
}
