//! The extension examples: a typed domain wrapper, a batching publisher, raw client access.

use std::time::Duration;

use serde_json::json;
use tars_mqtt::testing::TestClient;
use tars_mqtt::{Router, Runtime, ServiceHandle};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, unique};

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/typed_events.rs"]
mod typed_events;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/batching.rs"]
mod batching;

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/raw_client.rs"]
mod raw_client;

async fn service(broker: &TestBroker) -> ServiceHandle {
    let handle = Runtime::new(
        config(&broker.url(), &unique("ext")).build().unwrap(),
        Router::<()>::new(),
        (),
    )
    .start()
    .unwrap();
    handle.wait_ready(WAIT).await.unwrap();
    handle
}

async fn typed_helpers_publish_the_right_envelopes(broker: TestBroker) {
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for topic in ["stt/final", "tts/say"] {
        peer.subscribe(topic).await;
    }
    // At QoS 0, so that the delivered QoS says what the helper published with on every broker
    // (rumqttd delivers at the subscription's QoS).
    assert!(
        peer.try_subscribe("stt/partial", tars_mqtt::QoS::AtMostOnce)
            .await
    );
    let service = service(&broker).await;
    let events = typed_events::VoiceEvents::new(service.publisher());
    let id = events.stt_final("hello world", 0.95).await.unwrap();
    let m = peer.expect("stt/final", WAIT).await;
    assert_eq!(
        (m.qos, m.json()["id"].clone()),
        (tars_mqtt::QoS::AtLeastOnce, json!(id))
    );
    assert_eq!(
        m.json()["data"],
        json!({"text": "hello world", "confidence": 0.95, "is_final": true})
    );
    events.tts_say("hi", None, "req-7").await.unwrap();
    let m = peer.expect("tts/say", WAIT).await.json();
    assert_eq!(
        (m["id"].clone(), m["type"].clone(), m["data"].clone()),
        (
            json!("req-7"),
            json!("tts.say"),
            json!({"text": "hi", "voice": null})
        )
    );
    events.stt_partial("hel").await.unwrap();
    assert_eq!(
        peer.expect("stt/partial", WAIT).await.qos,
        tars_mqtt::QoS::AtMostOnce
    );
    service.shutdown().await;
}

async fn batches_flush_by_size_by_interval_and_on_close(broker: TestBroker) {
    let topic = unique("batch");
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&topic).await;
    let service = service(&broker).await;
    let batcher = batching::BatchPublisher::new(
        service.publisher(),
        &topic,
        "metrics.batch",
        3,
        Duration::from_millis(300),
    );
    let sizes = |msgs: &[tars_mqtt::testing::Received]| -> Vec<usize> {
        msgs.iter()
            .map(|m| m.json()["data"]["items"].as_array().unwrap().len())
            .collect()
    };
    // Size: 7 items → two full batches at once.
    for n in 0..7 {
        batcher.push(&json!({"n": n})).await.unwrap();
    }
    let full = vec![
        peer.expect(&topic, WAIT).await,
        peer.expect(&topic, WAIT).await,
    ];
    assert_eq!(sizes(&full), [3, 3]);
    // Interval: the 7th item follows on its own within the interval.
    let late = peer.expect(&topic, WAIT).await;
    assert_eq!(late.json()["data"]["items"], json!([{"n": 6}]));
    // Close: what is left is published before `close` returns.
    batcher.push(&json!({"n": 7})).await.unwrap();
    batcher.push(&json!({"n": 8})).await.unwrap();
    batcher.close().await;
    let last = peer.expect(&topic, WAIT).await;
    assert_eq!(last.json()["data"]["items"], json!([{"n": 7}, {"n": 8}]));
    service.shutdown().await;
}

async fn the_raw_client_reaches_what_is_not_wrapped(broker: TestBroker) {
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("audio/level").await;
    let service = service(&broker).await;
    assert_eq!(
        raw_client::stream_levels(&service.publisher(), &[0.25, 0.5]),
        0
    );
    let levels: Vec<f64> = [
        peer.expect("audio/level", WAIT).await,
        peer.expect("audio/level", WAIT).await,
    ]
    .iter()
    .map(|m| m.json()["level"].as_f64().unwrap())
    .collect();
    assert_eq!(levels, [0.25, 0.5]);
    service.shutdown().await;
}

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/echo.rs"]
mod echo;

/// The first-day example answers on `echo/out` with the request's id and data.
async fn the_echo_example_echoes(broker: TestBroker) {
    use tars_mqtt::Service;
    let config = echo::Echo::INFO
        .defaults
        .builder()
        .url(broker.url())
        .protocol(tars_mqtt_it::protocol_of(&broker.url()))
        .build()
        .unwrap();
    let service = echo::Echo.start(config).unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("echo/out").await;
    let data = json!({"hi": 1, "list": [1, "two"]});
    peer.publish_json(
        "echo/in",
        &json!({"id": "e-1", "type": "echo", "data": data}),
    )
    .await;
    let reply = peer.expect("echo/out", WAIT).await.json();
    assert_eq!(
        (&reply["id"], &reply["type"], &reply["data"]),
        (&json!("e-1"), &json!("echo"), &data)
    );
    service.shutdown().await;
}

broker_suite!(
    fresh: typed_helpers_publish_the_right_envelopes,
    batches_flush_by_size_by_interval_and_on_close,
    the_raw_client_reaches_what_is_not_wrapped,
    the_echo_example_echoes,
);

#[allow(dead_code, unreachable_pub)]
#[path = "../../../examples/request_reply.rs"]
mod request_reply;

/// The demos' own `main`s, each on an embedded broker of its own: they run to the end.
#[test]
fn the_demo_programs_run_to_completion() {
    request_reply::main().expect("request_reply demo");
    typed_events::main().expect("typed_events demo");
    batching::main().expect("batching demo");
    raw_client::main().expect("raw_client demo");
}
