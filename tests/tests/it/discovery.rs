//! Discovery and stats over MQTT: `ping`, `info` and `stats` answered for all services and for
//! one by name or client id, with the counters of every route; answered while the handlers are
//! saturated; off with one option.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tars_mqtt::discovery::{Info, Ping, Stats, Verb, reply_topic, request_topic};
use tars_mqtt::testing::TestClient;
use tars_mqtt::{Json, QoS, Route, Router, Runtime};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, unique};
use tokio::sync::Semaphore;

#[derive(serde::Deserialize)]
struct Work {
    n: u32,
}

/// `work` doubles `n` (and fails for 13), `slow` waits for a permit of `gate`.
fn router(p: &str, gate: Arc<Semaphore>) -> Router<()> {
    Router::new()
        .route(
            Route::new(format!("{p}/work"), |Json(w): Json<Work>| async move {
                match w.n {
                    13 => Err(std::io::Error::other("unlucky")),
                    n => Ok(Json(json!({ "n": n * 2 }))),
                }
            })
            .name("work")
            .qos(QoS::AtLeastOnce)
            .reply(format!("{p}/work/done"), "work.done"),
        )
        .route(
            Route::new(format!("$share/pool/{p}/slow"), move || {
                let gate = gate.clone();
                async move {
                    let _permit = gate.acquire().await;
                }
            })
            .name("slow")
            .queue_capacity(8)
            .overflow(tars_mqtt::Overflow::DropNew)
            .timeout(Duration::from_secs(30)),
        )
}

/// Sends a `verb` request with envelope id `id` (to `target`, or to all) and returns the `data`
/// of the answer from `client_id`.
async fn ask(
    peer: &mut TestClient,
    verb: Verb,
    target: Option<&str>,
    id: &str,
    client_id: &str,
) -> Value {
    let request = json!({"id": id, "type": format!("service.{verb}.request"), "data": {}});
    peer.publish_json(&request_topic(verb, target), &request)
        .await;
    let answer = peer
        .expect_where(&reply_topic(verb), WAIT, |m| {
            let v = m.json();
            v["id"] == id && v["data"]["client_id"] == client_id
        })
        .await
        .json();
    assert_eq!(answer["type"], verb.event_type());
    answer["data"].clone()
}

async fn ping_info_and_stats_for_all_by_name_and_by_client_id(broker: TestBroker) {
    let p = unique("disc");
    let client_id = unique("svc");
    let name = unique("Counter");
    let gate = Arc::new(Semaphore::new(0));
    let service = Runtime::new(
        config(&broker.url(), &client_id).build().unwrap(),
        router(&p, gate.clone()),
        (),
    )
    .describe(&name, "1.2.3")
    .start()
    .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("system/services/replies/+").await;
    peer.subscribe(&format!("{p}/work/done")).await;

    // Ping: to all, by name, by client id; the answers are one instance's.
    let all: Ping =
        serde_json::from_value(ask(&mut peer, Verb::Ping, None, "p-all", &client_id).await)
            .unwrap();
    assert_eq!((all.name.as_str(), all.version.as_str()), (&*name, "1.2.3"));
    assert_eq!(all.instance_id.len(), 32);
    let by_name = ask(&mut peer, Verb::Ping, Some(&name), "p-name", &client_id).await;
    let by_id = ask(&mut peer, Verb::Ping, Some(&client_id), "p-id", &client_id).await;
    assert_eq!(by_name, serde_json::to_value(&all).unwrap());
    assert_eq!(by_id, by_name);
    // Another target is not this service's business.
    peer.publish_json(
        &request_topic(Verb::Ping, Some("someone-else")),
        &json!({"id": "p-else", "type": "q", "data": {}}),
    )
    .await;
    let stray = peer.drain(Duration::from_millis(300)).await;
    assert!(
        !stray.iter().any(|m| m.json()["id"] == "p-else"),
        "{stray:?}"
    );

    // Info: the routes as declared.
    let info: Info = serde_json::from_value(
        ask(&mut peer, Verb::Info, Some(&client_id), "i-1", &client_id).await,
    )
    .unwrap();
    assert!(
        info.framework.starts_with("tars-mqtt "),
        "{}",
        info.framework
    );
    assert!(
        info.endpoint.starts_with("mqtt://127.0.0.1:"),
        "{}",
        info.endpoint
    );
    assert_eq!(info.routes.len(), 2);
    let work = &info.routes[0];
    assert_eq!((work.name.as_str(), work.qos), ("work", 1));
    assert_eq!(work.reply.as_ref().unwrap().event_type, "work.done");
    let slow = &info.routes[1];
    assert_eq!(slow.shared_group.as_deref(), Some("pool"));
    assert_eq!(
        (slow.queue_capacity, slow.overflow.as_str()),
        (8, "drop_new")
    );
    assert_eq!(slow.timeout_ms, Some(30_000.0));

    // Stats: successes, a handler error, a decode error, timings and the last error.
    for n in [1, 2, 13] {
        peer.publish_json(&format!("{p}/work"), &json!({ "n": n }))
            .await;
    }
    peer.publish(&format!("{p}/work"), "[1]", QoS::AtLeastOnce, false)
        .await;
    for _ in 0..4 {
        peer.expect(&format!("{p}/work/done"), WAIT).await;
    }
    // Ten jobs for a handler that cannot finish: one runs, eight wait, the rest are dropped.
    for _ in 0..10 {
        peer.publish(&format!("{p}/slow"), "{}", QoS::AtLeastOnce, false)
            .await;
    }
    let slow_route = service.route("slow").unwrap().stats();
    tars_mqtt_it::wait_until("ten jobs", || slow_route.received() == 10).await;
    let stats: Stats =
        serde_json::from_value(ask(&mut peer, Verb::Stats, Some(&name), "s-1", &client_id).await)
            .unwrap();
    let work = &stats.routes[0];
    assert_eq!(
        (
            work.received,
            work.handled,
            work.handler_errors,
            work.decode_errors
        ),
        (4, 2, 1, 1)
    );
    assert_eq!(work.processing_ms.samples, 4);
    assert!(work.processing_ms.max >= work.processing_ms.p50);
    let last = work.last_error.as_ref().unwrap();
    assert_eq!(last.kind, "decode error");
    let slow = &stats.routes[1];
    assert_eq!((slow.received, slow.queue_max), (10, 8), "{slow:?}");
    assert!(slow.dropped >= 1 && slow.queue_depth >= 7, "{slow:?}");
    assert_eq!(slow.last_error.as_ref().unwrap().kind, "message dropped");
    gate.add_permits(100);
    service.shutdown().await;
}

async fn discovery_can_be_turned_off(broker: TestBroker) {
    let client_id = unique("quiet");
    let service = Runtime::new(
        config(&broker.url(), &client_id)
            .discovery(false)
            .build()
            .unwrap(),
        Router::<()>::new(),
        (),
    )
    .start()
    .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("system/services/replies/+").await;
    peer.publish_json(
        &request_topic(Verb::Ping, Some(&client_id)),
        &json!({"id": "quiet-1", "type": "q", "data": {}}),
    )
    .await;
    let answers = peer.drain(Duration::from_millis(500)).await;
    assert!(
        !answers.iter().any(|m| m.json()["id"] == "quiet-1"),
        "{answers:?}"
    );
    service.shutdown().await;
}

broker_suite!(
    ping_info_and_stats_for_all_by_name_and_by_client_id,
    discovery_can_be_turned_off,
);
