//! Several broker endpoints in `MQTT_URL`: when the broker a service is on stops, the service
//! moves to the next one, subscribes again, announces itself there and answers again; when the
//! first broker comes back nothing breaks, and the service moves back when the second one stops.
//! The last will works on whichever broker the service landed on.

use std::future::IntoFuture;
use std::time::Duration;

use serde_json::json;
use tars_mqtt::config::Protocol;
use tars_mqtt::testing::{BrokerProcess, TestClient};
use tars_mqtt::{ConnectionState, QoS, ServiceHandle};
use tars_mqtt_it::{WAIT, config, speak, start, unique};

use crate::presence::health_event;
use crate::reconnect::echo;

/// Sends `{p}/echo` requests through `broker` until one is answered there (the service needs a
/// moment to notice an outage and move), and returns the answer's data.
async fn answered_via(broker: &BrokerProcess, p: &str, id: &str) -> serde_json::Value {
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/echoed")).await;
    let started = tokio::time::Instant::now();
    loop {
        assert!(started.elapsed() < WAIT, "no answer via {}", broker.url());
        let request = json!({"id": id, "type": "t", "data": {"via": broker.port()}});
        peer.publish_json(&format!("{p}/echo"), &request).await;
        let answer = tokio::time::timeout(
            Duration::from_secs(1),
            peer.expect_where(&format!("{p}/echoed"), WAIT, |m| m.json()["id"] == id),
        )
        .await;
        if let Ok(m) = answer {
            return m.json()["data"].clone();
        }
    }
}

/// Waits until the service is connected and ready on `broker`.
async fn ready_on(service: &ServiceHandle, broker: &BrokerProcess) {
    let endpoint = broker.url();
    let mut readiness = service.readiness();
    tokio::time::timeout(
        WAIT,
        readiness.wait_for(|r| {
            r.ready && r.connection == ConnectionState::Connected && r.endpoint == endpoint
        }),
    )
    .await
    .unwrap_or_else(|_| panic!("ready on {endpoint}: {:?}", *service.readiness().borrow()))
    .expect("the service is running");
}

/// Starts both brokers, with services on `protocol`.
fn two(start: fn() -> BrokerProcess, protocol: Protocol) -> (BrokerProcess, BrokerProcess) {
    let (a, b) = (start(), start());
    speak(&a.url(), protocol);
    speak(&b.url(), protocol);
    (a, b)
}

async fn moves_to_the_next_broker_and_back(broker: fn() -> BrokerProcess, protocol: Protocol) {
    let (mut a, mut b) = two(broker, protocol);
    let p = unique("failover");
    let id = unique("svc");
    let urls = format!("{}, {}", a.url(), b.url());
    let service = start(
        config(&urls, &id).protocol(tars_mqtt_it::protocol_of(&a.url())),
        echo(&p),
        (),
    )
    .await;
    ready_on(&service, &a).await;
    assert_eq!(answered_via(&a, &p, "1").await["via"], a.port());

    // A watcher on the second broker sees the service arrive: `ready` on its health topic.
    let mut watcher = TestClient::connect(&b.url(), &unique("watcher")).await;
    watcher.subscribe(&format!("system/health/{id}")).await;
    let mut receiver = TestClient::connect(&b.url(), &unique("receiver")).await;
    receiver.subscribe(&format!("{p}/during")).await;

    a.stop();
    // Published while no broker is connected: queued, and sent on the next one.
    let publisher = service.publisher();
    let during = publisher
        .event(&format!("{p}/during"), "t", &json!({"n": 1}))
        .qos(QoS::AtLeastOnce);
    let during = tokio::spawn(during.into_future());
    ready_on(&service, &b).await;
    assert_eq!(answered_via(&b, &p, "2").await["via"], b.port());
    let ready = watcher
        .expect_where(&format!("system/health/{id}"), WAIT, |m| {
            health_event(m) == "ready"
        })
        .await;
    assert_eq!(ready.json()["data"]["ok"], true);
    let mut late = TestClient::connect(&b.url(), &unique("late")).await;
    late.subscribe(&format!("system/health/{id}")).await;
    let retained = late.expect(&format!("system/health/{id}"), WAIT).await;
    assert!(retained.retain, "presence is retained on the new broker");
    assert_eq!(health_event(&retained), "ready");
    let queued = receiver.expect(&format!("{p}/during"), WAIT).await;
    assert_eq!(queued.json()["data"]["n"], 1);
    during.await.unwrap().expect("the queued publish went out");

    // The first broker comes back: the service stays where it is and keeps answering.
    a.start().expect("the first broker starts again");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(service.readiness().borrow().endpoint, b.url());
    assert_eq!(answered_via(&b, &p, "3").await["via"], b.port());

    // The second one stops: round and round, back to the first.
    b.stop();
    ready_on(&service, &a).await;
    assert_eq!(answered_via(&a, &p, "4").await["via"], a.port());
    service.shutdown().await;
}

async fn the_last_will_works_on_the_broker_it_landed_on(
    broker: fn() -> BrokerProcess,
    protocol: Protocol,
) {
    let (mut a, b) = two(broker, protocol);
    let id = unique("victim");
    let mut watcher = TestClient::connect(&b.url(), &unique("watcher")).await;
    watcher.subscribe(&format!("system/health/{id}")).await;
    let urls = format!("{},{}", a.url(), b.url());
    let mut child = crate::echo_process(&urls, &id, &unique("process"))
        .env(
            "MQTT_PROTOCOL",
            tars_mqtt_it::protocol_of(&a.url()).to_string(),
        )
        .env("MQTT_RECONNECT_MIN_DELAY", "0.1")
        .env("MQTT_RECONNECT_MAX_DELAY", "0.5")
        .spawn()
        .expect("start the service process");
    let mut on_a = TestClient::connect(&a.url(), &unique("peer")).await;
    on_a.subscribe(&format!("system/health/{id}")).await;
    let ready = on_a.expect(&format!("system/health/{id}"), WAIT).await;
    assert_eq!(health_event(&ready), "ready", "first on the first broker");
    drop(on_a);

    a.stop();
    let ready = watcher.expect(&format!("system/health/{id}"), WAIT).await;
    assert_eq!(health_event(&ready), "ready", "then on the second");
    child.kill().expect("SIGKILL");
    child.wait().unwrap();
    let offline = watcher.expect(&format!("system/health/{id}"), WAIT).await;
    assert_eq!(health_event(&offline), "offline");
    assert_eq!(offline.json()["data"]["ok"], false);
}

/// A list with a broker that is not there: the service starts on the next one, and says so.
async fn starts_on_the_first_broker_that_answers(
    broker: fn() -> BrokerProcess,
    protocol: Protocol,
) {
    let b = broker();
    speak(&b.url(), protocol);
    let p = unique("failover");
    let nowhere = format!("mqtt://127.0.0.1:{}", tars_mqtt::testing::free_port());
    let urls = format!("{nowhere},{}", b.url());
    let service = tars_mqtt::Runtime::new(
        config(&urls, &unique("svc"))
            .protocol(tars_mqtt_it::protocol_of(&b.url()))
            .build()
            .unwrap(),
        echo(&p),
        (),
    )
    .start()
    .unwrap();
    ready_on(&service, &b).await;
    assert_eq!(answered_via(&b, &p, "1").await["via"], b.port());
    service.shutdown().await;
}

/// Declares each scenario `async fn name(broker: fn() -> BrokerProcess, protocol: Protocol)`
/// once per kind of broker that a test can stop: this crate's rumqttd binary, Mosquitto, and
/// Mosquitto with the services on MQTT 5.
macro_rules! on_each_broker {
    ($($name:ident),* $(,)?) => {
        mod embedded {
            use tars_mqtt::config::Protocol;
            use tars_mqtt::testing::BrokerProcess;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let broker = || {
                        BrokerProcess::program(env!("CARGO_BIN_EXE_tars-test-broker"))
                            .expect("start the broker binary")
                    };
                    super::$name(broker, Protocol::V311).await
                }
            )*
        }
        mod mosquitto {
            use tars_mqtt::config::Protocol;
            use tars_mqtt::testing::BrokerProcess;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(has_mosquitto), ignore = "mosquitto is not installed: apt-get install -y mosquitto")]
                async fn $name() {
                    let broker = || BrokerProcess::mosquitto("").expect("start mosquitto");
                    super::$name(broker, Protocol::V311).await
                }
            )*
        }
        mod mosquitto_v5 {
            use tars_mqtt::config::Protocol;
            use tars_mqtt::testing::BrokerProcess;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(has_mosquitto), ignore = "mosquitto is not installed: apt-get install -y mosquitto")]
                async fn $name() {
                    let broker = || BrokerProcess::mosquitto("").expect("start mosquitto");
                    super::$name(broker, Protocol::V5).await
                }
            )*
        }
    };
}

on_each_broker!(
    moves_to_the_next_broker_and_back,
    the_last_will_works_on_the_broker_it_landed_on,
    starts_on_the_first_broker_that_answers,
);
