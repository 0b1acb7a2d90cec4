//! Poison input: generated payloads (arbitrary bytes, arbitrary JSON, wrong types, huge
//! numbers, deep nesting, invalid UTF-8, oversized) sent to every route of a real service. Each
//! bad message is reported exactly once, nothing else is lost, and the service answers the next
//! valid request.

use std::sync::{Arc, Mutex};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde::Deserialize;
use serde_json::{Value, json};
use tars_mqtt::testing::TestClient;
use tars_mqtt::{Envelope, Json, QoS, Route, Router, Runtime, extract::Raw, runtime::ErrorKind};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, unique};

const LIMIT: usize = 16 * 1024;

#[derive(Deserialize)]
#[allow(dead_code)]
struct Query {
    text: String,
    top_k: Option<u32>,
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u32>().prop_map(Value::from),
        "\\PC{0,8}".prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(
                prop_oneof![
                    Just("text".to_owned()),
                    Just("top_k".to_owned()),
                    Just("data".to_owned()),
                    Just("type".to_owned()),
                    Just("id".to_owned())
                ],
                inner,
                0..4
            )
            .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A fixed, reproducible corpus of payloads.
fn corpus() -> Vec<Vec<u8>> {
    let mut runner = TestRunner::deterministic();
    let mut sample = |strategy: BoxedStrategy<Vec<u8>>, n: usize| -> Vec<Vec<u8>> {
        (0..n)
            .map(|_| strategy.new_tree(&mut runner).unwrap().current())
            .collect()
    };
    let mut payloads = Vec::new();
    payloads.extend(sample(
        prop::collection::vec(any::<u8>(), 0..200).boxed(),
        40,
    ));
    payloads.extend(sample(
        json_value()
            .prop_map(|v| serde_json::to_vec(&v).unwrap())
            .boxed(),
        60,
    ));
    payloads.extend(sample(
        json_value()
            .prop_map(|v| {
                serde_json::to_vec(&json!({"id": "p", "type": "memory.query", "data": v})).unwrap()
            })
            .boxed(),
        60,
    ));
    payloads.extend([
        br#"{"type":"q","data":{"text":"x","top_k":1e400}}"#.to_vec(),
        br#"{"type":"q","data":{"text":"x","top_k":99999999999999999999999}}"#.to_vec(),
        br#"{"type":"q","data":{"text":"x","top_k":-1}}"#.to_vec(),
        br#"{"type":"q","data":{"text":["not","a","string"]}}"#.to_vec(),
        format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        format!(
            r#"{{"type":"q","data":{{"text":{}"x"{}}}}}"#,
            "[".repeat(300),
            "]".repeat(300)
        )
        .into_bytes(),
        vec![0xc3, 0x28, 0xa0, 0xa1],
        b"\xff\xfe{\"text\":\"x\"}".to_vec(),
        format!(
            r#"{{"type":"q","data":{{"text":"{}"}}}}"#,
            "x".repeat(LIMIT * 2)
        )
        .into_bytes(),
        Vec::new(),
    ]);
    payloads
}

#[derive(Default)]
struct Counts {
    reports: Mutex<Vec<(ErrorKind, String)>>,
}

async fn every_bad_message_is_reported_once_and_nothing_else_is_lost(broker: TestBroker) {
    let p = unique("poison");
    let counts = Arc::new(Counts::default());
    let sink = counts.clone();
    let router = Router::new()
        .route(
            Route::new(format!("{p}/typed"), |Json(q): Json<Query>| async move {
                Json(json!({"text": q.text}))
            })
            .name("typed")
            .qos(QoS::AtLeastOnce)
            .reply(format!("{p}/typed/out"), "out"),
        )
        .route(
            Route::new(format!("{p}/envelope"), |e: Envelope<Value>| async move {
                Json(json!({"type": e.event_type}))
            })
            .name("envelope")
            .qos(QoS::AtLeastOnce)
            .reply(format!("{p}/envelope/out"), "out"),
        )
        .route(
            Route::new(format!("{p}/raw"), |Raw(bytes): Raw| async move {
                Json(json!({"len": bytes.len()}))
            })
            .name("raw")
            .qos(QoS::AtLeastOnce)
            .reply(format!("{p}/raw/out"), "out"),
        );
    let cfg = config(&broker.url(), &unique("svc"))
        .max_packet_size(LIMIT)
        .build()
        .unwrap();
    let service = Runtime::new(cfg, router, ())
        .on_error(move |r| sink.reports.lock().unwrap().push((r.kind, r.route.clone())))
        .start()
        .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for route in ["typed", "envelope", "raw"] {
        peer.subscribe(&format!("{p}/{route}/out")).await;
    }

    let corpus = corpus();
    let oversized = corpus.iter().filter(|c| c.len() > LIMIT).count();
    let bad_typed = corpus
        .iter()
        .filter(|c| c.len() <= LIMIT && Envelope::<Query>::decode(c).is_err())
        .count();
    let bad_envelope = corpus
        .iter()
        .filter(|c| c.len() <= LIMIT && Envelope::<Value>::decode(c).is_err())
        .count();
    assert!(
        bad_typed > 50 && bad_envelope > 20 && oversized == 1,
        "the corpus exercises the decoders"
    );
    for payload in &corpus {
        for route in ["typed", "envelope", "raw"] {
            peer.publish(
                &format!("{p}/{route}"),
                payload.clone(),
                QoS::AtLeastOnce,
                false,
            )
            .await;
        }
    }
    // The next valid request on every route is answered; per-route order means everything sent
    // before it on that route was handled first.
    for route in ["typed", "envelope", "raw"] {
        peer.publish_json(
            &format!("{p}/{route}"),
            &json!({"id": format!("valid-{route}"), "type": "q", "data": {"text": "fine"}}),
        )
        .await;
        peer.expect_where(&format!("{p}/{route}/out"), WAIT, |m| {
            m.json()["id"] == format!("valid-{route}")
        })
        .await;
    }
    let reports = counts.reports.lock().unwrap().clone();
    let count = |kind: ErrorKind, route: &str| {
        reports
            .iter()
            .filter(|r| r.0 == kind && r.1 == route)
            .count()
    };
    assert_eq!(
        count(ErrorKind::Decode, "typed"),
        bad_typed,
        "each undecodable message reported once"
    );
    assert_eq!(count(ErrorKind::Decode, "envelope"), bad_envelope);
    assert_eq!(
        count(ErrorKind::Decode, "raw"),
        0,
        "raw bytes always extract"
    );
    assert_eq!(
        count(ErrorKind::TooLarge, "(intake)"),
        3 * oversized,
        "one report per oversized message"
    );
    assert_eq!(
        reports.len(),
        bad_typed + bad_envelope + 3 * oversized,
        "nothing else reported: {reports:?}"
    );
    let typed = service.route("typed").unwrap().stats();
    assert_eq!(
        typed.succeeded() as usize,
        corpus.len() - oversized - bad_typed + 1,
        "every decodable message (and the valid one) was handled"
    );
    service.shutdown().await;
}

broker_suite!(every_bad_message_is_reported_once_and_nothing_else_is_lost);

/// Resident memory of a process, from `/proc/{pid}/status`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("process status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in the status")
}

const ROUNDS: usize = 20;

/// Memory stays bounded: the echo service runs as a child process (dedup on, capped at 2 000
/// keys; 16 KiB packet limit) and gets the poison corpus plus 300 valid envelopes with fresh ids
/// per round, 20 rounds (9 420 messages). Its resident memory after the last round may not
/// exceed what it was after the tenth (the dedup cache is full by then) by more than 1 MiB: a
/// leak of 250 bytes per message would.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_bounded_under_poison_input() {
    let broker = TestBroker::embedded();
    let prefix = unique("rss");
    let mut child = crate::echo_process(&broker.url(), &unique("svc"), &prefix)
        .env("MQTT_MAX_PACKET_SIZE", LIMIT.to_string())
        .env("MQTT_DEDUPE_TTL", "3600")
        .env("MQTT_DEDUPE_MAX_ENTRIES", "2000")
        .env("RUST_LOG", "off")
        .spawn()
        .expect("start the service process");
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{prefix}/echoed")).await;
    let echo = format!("{prefix}/echo");
    // Wait until the process is subscribed: it answers.
    loop {
        peer.publish_json(&echo, &json!({"id": "hello", "type": "q", "data": {}}))
            .await;
        if tokio::time::timeout(
            std::time::Duration::from_millis(500),
            peer.expect_where(&format!("{prefix}/echoed"), WAIT, |m| {
                m.json()["id"] == "hello"
            }),
        )
        .await
        .is_ok()
        {
            break;
        }
        assert!(child.try_wait().unwrap().is_none(), "the service runs");
    }
    let corpus = corpus();
    let mut rss = Vec::new();
    for round in 0..ROUNDS {
        for payload in &corpus {
            peer.publish(&echo, payload.clone(), QoS::AtLeastOnce, false)
                .await;
        }
        for n in 0..300 {
            let id = format!("r{round}-{n}");
            peer.publish_json(&echo, &json!({"id": id, "type": "q", "data": {"n": n}}))
                .await;
        }
        // Per-route order: once this is answered, the round was handled.
        let id = format!("end-{round}");
        peer.publish_json(&echo, &json!({"id": id, "type": "q", "data": {}}))
            .await;
        peer.expect_where(&format!("{prefix}/echoed"), WAIT, |m| m.json()["id"] == id)
            .await;
        peer.drain(std::time::Duration::ZERO).await;
        rss.push(rss_kib(child.id()));
    }
    let _ = child.kill();
    let _ = child.wait();
    eprintln!(
        "resident memory after each round of {} messages (KiB): {rss:?}",
        corpus.len() + 301
    );
    assert!(
        rss[ROUNDS - 1] <= rss[9] + 1024,
        "memory grows with the input: {rss:?}"
    );
}
