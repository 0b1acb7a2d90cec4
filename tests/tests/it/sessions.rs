//! Persistent sessions: QoS 1 messages kept for a service that is down, redelivered after a
//! crash, and acknowledged after their handlers, in arrival order.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tars_mqtt::testing::TestClient;
use tars_mqtt::{ConnectionState, Json, QoS, Route, Router};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, start, unique, wait_until};

use crate::reconnect::echo;

async fn qos1_requests_wait_for_a_persistent_session(broker: TestBroker) {
    let p = unique("persist");
    let id = unique("svc");
    let cfg = || config(&broker.url(), &id).persistent_session(true);
    let first = start(cfg(), echo(&p), ()).await;
    first.shutdown().await;
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/echoed")).await;
    for n in 0..3 {
        peer.publish_json(
            &format!("{p}/echo"),
            &json!({"id": format!("while-down-{n}"), "type": "t", "data": {}}),
        )
        .await;
    }
    let second = start(cfg(), echo(&p), ()).await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(
            peer.expect(&format!("{p}/echoed"), WAIT).await.json()["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    ids.sort();
    assert_eq!(ids, ["while-down-0", "while-down-1", "while-down-2"]);
    second.shutdown().await;
}

/// A service killed with SIGKILL in the middle of a handler, with a persistent session and
/// acknowledge-after-handler: the broker redelivers the unacknowledged message when the service
/// comes back, and it is processed.
async fn a_message_interrupted_by_a_crash_is_redelivered(broker: TestBroker) {
    let p = unique("crash");
    let id = unique("svc");
    let spawn = |delay_ms: &str| {
        crate::echo_process(&broker.url(), &id, &p)
            .env("MQTT_PERSISTENT_SESSION", "true")
            .env("TEST_HANDLER_DELAY_MS", delay_ms)
            .spawn()
            .expect("start the service process")
    };
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for topic in [
        format!("{p}/started"),
        format!("{p}/echoed"),
        format!("system/health/{id}"),
    ] {
        peer.subscribe(&topic).await;
    }
    let mut first = spawn("60000");
    peer.expect_where(&format!("system/health/{id}"), WAIT, |m| {
        m.json()["data"]["event"] == "ready"
    })
    .await;
    peer.publish_json(
        &format!("{p}/echo"),
        &json!({"id": "interrupted", "type": "t", "data": {"n": 1}}),
    )
    .await;
    let started = peer.expect(&format!("{p}/started"), WAIT).await;
    assert_eq!(started.json()["data"]["n"], 1, "the handler is running");
    first.kill().expect("SIGKILL");
    first.wait().unwrap();
    peer.expect_where(&format!("system/health/{id}"), WAIT, |m| {
        m.json()["data"]["event"] == "offline"
    })
    .await;

    let mut second = spawn("10");
    let reply = peer.expect(&format!("{p}/echoed"), WAIT).await.json();
    assert_eq!(
        (reply["id"].clone(), reply["data"]["n"].clone()),
        (json!("interrupted"), json!(1))
    );
    second.kill().unwrap();
    second.wait().unwrap();
}

/// Handlers finish in another order than their messages arrived (a slow route's message first,
/// then a fast route's): the acknowledgements still go out in arrival order, as MQTT 3.1.1
/// requires, so the connection stays up and nothing is delivered twice. (rumqttd drops a client
/// that acknowledges out of order; it then delivered the fast route's messages again.)
async fn acknowledgements_follow_arrival_order(broker: TestBroker) {
    let p = unique("order");
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let gate = Arc::new(tokio::sync::Semaphore::new(0));
    let record = |name: &'static str, gate: Option<Arc<tokio::sync::Semaphore>>| {
        let seen = seen.clone();
        move |Json(v): Json<serde_json::Value>| {
            let (seen, gate) = (seen.clone(), gate.clone());
            async move {
                if let Some(gate) = gate {
                    let _pass = gate.acquire().await.unwrap();
                }
                seen.lock().unwrap().push(format!("{name}{}", v["n"]));
            }
        }
    };
    let router = Router::new()
        .route(
            Route::new(format!("{p}/slow"), record("slow", Some(gate.clone())))
                .qos(QoS::AtLeastOnce),
        )
        .route(Route::new(format!("{p}/fast"), record("fast", None)).qos(QoS::AtLeastOnce));
    let service = start(
        config(&broker.url(), &unique("svc")).persistent_session(true),
        router,
        (),
    )
    .await;
    let states: Arc<Mutex<Vec<ConnectionState>>> = Arc::default();
    let mut readiness = service.readiness();
    let watcher = tokio::spawn({
        let states = states.clone();
        async move {
            while readiness.changed().await.is_ok() {
                let state = readiness.borrow_and_update().connection.clone();
                states.lock().unwrap().push(state);
            }
        }
    });
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.publish_json(&format!("{p}/slow"), &json!({"n": 0}))
        .await;
    for n in 1..=5 {
        peer.publish_json(&format!("{p}/fast"), &json!({"n": n}))
            .await;
    }
    let count = |prefix: &str| {
        let seen = seen.lock().unwrap();
        seen.iter().filter(|s| s.starts_with(prefix)).count()
    };
    wait_until("the fast route's five", || count("fast") >= 5).await;
    gate.add_permits(10);
    wait_until("the slow route's one", || count("slow") >= 1).await;
    peer.publish_json(&format!("{p}/fast"), &json!({"n": 6}))
        .await;
    wait_until("one more", || count("fast6") >= 1).await;
    watcher.abort();
    let states = states.lock().unwrap().clone();
    assert!(
        !states
            .iter()
            .any(|s| matches!(s, ConnectionState::Backoff { .. })),
        "the connection stayed up: {states:?}"
    );
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    assert_eq!(
        seen,
        [
            "fast1", "fast2", "fast3", "fast4", "fast5", "fast6", "slow0"
        ]
    );
    service.shutdown().await;
}

broker_suite!(
    qos1_requests_wait_for_a_persistent_session,
    a_message_interrupted_by_a_crash_is_redelivered,
    acknowledgements_follow_arrival_order,
);
