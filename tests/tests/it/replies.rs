//! Replies and requests: correlation by envelope id, concurrency, no deadlock inside handlers,
//! decode errors answered with error replies.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tars_mqtt::testing::TestClient;
use tars_mqtt::{
    Envelope, Json, Publisher, QoS, RequestError, Route, Router, Runtime, runtime::ErrorKind,
};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, start, unique};

#[derive(Deserialize)]
struct Query {
    text: String,
    top_k: Option<u32>,
}

#[derive(Serialize, Deserialize, Debug, PartialEq)]
struct Results {
    query: String,
    k: u32,
}

async fn query(Json(q): Json<Query>) -> Json<Results> {
    Json(Results {
        query: q.text,
        k: q.top_k.unwrap_or(5),
    })
}

fn memory_router(p: &str) -> Router<()> {
    Router::new().route(
        Route::new(format!("{p}/memory/query"), query)
            .qos(QoS::AtLeastOnce)
            .reply(format!("{p}/memory/results"), "memory.results"),
    )
}

async fn reply_carries_the_request_id(broker: TestBroker) {
    let p = unique("rr");
    let service = start(
        config(&broker.url(), &unique("svc")).source("memory-worker"),
        memory_router(&p),
        (),
    )
    .await;
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/memory/results")).await;
    let request = json!({"id": "req-0001", "type": "memory.query", "ts": 1729123457.0, "source": "router",
                         "data": {"text": "where did we meet", "top_k": 3}});
    peer.publish_json(&format!("{p}/memory/query"), &request)
        .await;
    let reply = peer
        .expect(&format!("{p}/memory/results"), WAIT)
        .await
        .json();
    assert_eq!(reply["id"], "req-0001");
    assert_eq!(reply["type"], "memory.results");
    assert_eq!(reply["source"], "memory-worker");
    assert!(reply["ts"].is_f64());
    assert_eq!(reply["data"], json!({"query": "where did we meet", "k": 3}));
    // A plain JSON object (no envelope) is accepted as data; the reply gets a fresh id.
    peer.publish_json(&format!("{p}/memory/query"), &json!({"text": "plain"}))
        .await;
    let reply = peer
        .expect(&format!("{p}/memory/results"), WAIT)
        .await
        .json();
    assert_eq!(reply["data"]["query"], "plain");
    assert_eq!(reply["id"].as_str().unwrap().len(), 32);
    service.shutdown().await;
}

async fn concurrent_requests_are_correlated(broker: TestBroker) {
    let p = unique("conc");
    let responder = start(config(&broker.url(), &unique("svc")), memory_router(&p), ()).await;
    let requester = start(
        config(&broker.url(), &unique("req")),
        Router::<()>::new(),
        (),
    )
    .await;
    let publisher = requester.publisher();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..50u32 {
        let publisher = publisher.clone();
        let p = p.clone();
        tasks.spawn(async move {
            let reply: Envelope<Results> = publisher
                .request(
                    &format!("{p}/memory/query"),
                    "memory.query",
                    &json!({"text": format!("q{i}"), "top_k": i}),
                )
                .reply_on(format!("{p}/memory/results"))
                .timeout(WAIT)
                .await
                .expect("reply");
            assert_eq!(
                reply.data,
                Results {
                    query: format!("q{i}"),
                    k: i
                }
            );
            assert_eq!(reply.event_type, "memory.results");
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("request task");
    }
    let err = publisher
        .request::<_, Results>(&format!("{p}/nobody/home"), "x", &json!({}))
        .reply_on(format!("{p}/nobody/answers"))
        .timeout(Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(matches!(err, RequestError::Timeout { .. }), "{err}");
    responder.shutdown().await;
    requester.shutdown().await;
}

async fn a_handler_awaiting_another_routes_reply_does_not_deadlock(broker: TestBroker) {
    let p = unique("nested");
    let inner = format!("{p}/inner");
    let inner_reply = format!("{p}/inner/reply");
    let outer = {
        let (inner, inner_reply) = (inner.clone(), inner_reply.clone());
        move |publisher: Publisher, Json(q): Json<Query>| {
            let (inner, inner_reply) = (inner.clone(), inner_reply.clone());
            async move {
                let r: Envelope<Results> = publisher
                    .request(&inner, "inner.query", &json!({"text": q.text}))
                    .reply_on(inner_reply)
                    .timeout(WAIT)
                    .await?;
                Ok::<_, RequestError>(Json(json!({"outer": r.data.query})))
            }
        }
    };
    let router = Router::new()
        .route(
            Route::new(format!("{p}/outer"), outer)
                .qos(QoS::AtLeastOnce)
                .reply(format!("{p}/outer/reply"), "outer.reply"),
        )
        .route(
            Route::new(inner.clone(), query)
                .qos(QoS::AtLeastOnce)
                .reply(inner_reply.clone(), "inner.reply"),
        );
    let service = start(config(&broker.url(), &unique("svc")), router, ()).await;
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/outer/reply")).await;
    for i in 0..3 {
        peer.publish_json(
            &format!("{p}/outer"),
            &json!({"id": format!("o{i}"), "type": "q", "data": {"text": format!("t{i}")}}),
        )
        .await;
        let reply = peer.expect(&format!("{p}/outer/reply"), WAIT).await.json();
        assert_eq!(reply["id"], format!("o{i}"));
        assert_eq!(reply["data"], json!({"outer": format!("t{i}")}));
    }
    service.shutdown().await;
}

async fn bad_payloads_are_reported_and_answered_with_errors(broker: TestBroker) {
    let p = unique("bad");
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    let cfg = config(&broker.url(), &unique("svc")).build().unwrap();
    let service = Runtime::new(cfg, memory_router(&p), ())
        .on_error(move |r| {
            sink.lock()
                .unwrap()
                .push((r.kind, r.topic.clone(), r.excerpt.clone()))
        })
        .start()
        .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/memory/results")).await;
    let topic = format!("{p}/memory/query");
    peer.publish(
        &topic,
        r#"{"id":"bad-1","type":"q","data":{"text":42}}"#,
        QoS::AtLeastOnce,
        false,
    )
    .await;
    peer.publish(&topic, "[1,2,3]", QoS::AtLeastOnce, false)
        .await;
    peer.publish(&topic, vec![0xff, 0xfe, 0x00], QoS::AtLeastOnce, false)
        .await;
    peer.publish(
        &topic,
        r#"{"id":"good-1","type":"q","data":{"text":"fine"}}"#,
        QoS::AtLeastOnce,
        false,
    )
    .await;
    let mut error_ids = Vec::new();
    loop {
        let reply = peer
            .expect(&format!("{p}/memory/results"), WAIT)
            .await
            .json();
        if reply["type"] == "error" {
            assert_eq!(reply["data"]["ok"], false);
            assert!(reply["data"]["err"].as_str().unwrap().len() > 5);
            error_ids.push(reply["id"].as_str().unwrap().to_owned());
        } else {
            assert_eq!(
                (reply["id"].clone(), reply["data"]["query"].clone()),
                (json!("good-1"), json!("fine"))
            );
            break;
        }
    }
    assert_eq!(error_ids.len(), 3);
    assert_eq!(
        error_ids[0], "bad-1",
        "the error reply correlates with the request"
    );
    let reports = reports.lock().unwrap().clone();
    assert_eq!(
        reports.len(),
        3,
        "each bad message reported once: {reports:?}"
    );
    assert!(
        reports
            .iter()
            .all(|(kind, t, _)| *kind == ErrorKind::Decode && *t == topic)
    );
    assert!(
        reports[0].2.contains("bad-1"),
        "the report carries a payload excerpt"
    );
    service.shutdown().await;
}

async fn invalid_topics_are_rejected(broker: TestBroker) {
    let service = start(
        config(&broker.url(), &unique("svc")),
        Router::<()>::new(),
        (),
    )
    .await;
    let publisher = service.publisher();
    for topic in ["", "a/+/b", "a/#", "nul\0"] {
        let err = publisher.event(topic, "t", &json!({})).await.unwrap_err();
        assert!(
            matches!(err, tars_mqtt::PublishError::InvalidTopic { .. }),
            "{topic:?}: {err}"
        );
    }
    let err = publisher
        .event("ok/topic", "t", &json!([1]))
        .await
        .unwrap_err();
    assert!(matches!(err, tars_mqtt::PublishError::Encode(_)), "{err}");
    service.shutdown().await;
}

async fn handler_errors_reach_the_requester(broker: TestBroker) {
    let p = unique("remote");
    let router = Router::new().route(
        Route::new(
            format!("{p}/divide"),
            |Json(v): Json<serde_json::Value>| async move {
                let (a, b) = (v["a"].as_i64().unwrap(), v["b"].as_i64().unwrap());
                if b == 0 {
                    Err("division by zero".to_owned())
                } else {
                    Ok(Json(json!({"q": a / b})))
                }
            },
        )
        .qos(QoS::AtLeastOnce)
        .reply(format!("{p}/quotient"), "math.quotient"),
    );
    let service = start(config(&broker.url(), &unique("svc")), router, ()).await;
    let publisher = service.publisher();
    let ok: Envelope<serde_json::Value> = publisher
        .request(
            &format!("{p}/divide"),
            "math.divide",
            &json!({"a": 7, "b": 2}),
        )
        .reply_on(format!("{p}/quotient"))
        .await
        .unwrap();
    assert_eq!(ok.data, json!({"q": 3}));
    let err = publisher
        .request::<_, serde_json::Value>(
            &format!("{p}/divide"),
            "math.divide",
            &json!({"a": 7, "b": 0}),
        )
        .reply_on(format!("{p}/quotient"))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, RequestError::Remote(m) if m == "division by zero"),
        "{err}"
    );
    // The raw client is there for what the framework does not wrap.
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/raw")).await;
    match tars_mqtt::raw::client(&publisher) {
        Some(client) => client
            .publish(
                format!("{p}/raw"),
                tars_mqtt::raw::rumqttc::QoS::AtLeastOnce,
                false,
                "raw bytes",
            )
            .await
            .unwrap(),
        None => tars_mqtt::raw::client_v5(&publisher)
            .expect("a client of one version or the other")
            .publish(
                format!("{p}/raw"),
                tars_mqtt::raw::rumqttc::v5::mqttbytes::QoS::AtLeastOnce,
                false,
                "raw bytes",
            )
            .await
            .unwrap(),
    }
    assert_eq!(
        &peer.expect(&format!("{p}/raw"), WAIT).await.payload[..],
        b"raw bytes"
    );
    service.shutdown().await;
}

/// `{room}` in a reply topic is the request topic's `room`: each room's request is answered on
/// that room's topic; an error reply follows the same rule.
async fn reply_topics_take_the_request_topics_parameters(broker: TestBroker) {
    let p = unique("param");
    let router = Router::new().route(
        Route::new(
            format!("{p}/home/{{room}}/cmd"),
            |Json(v): Json<serde_json::Value>| async move {
                match v["fail"].as_bool() {
                    Some(true) => Err(std::io::Error::other("refused")),
                    _ => Ok(Json(v)),
                }
            },
        )
        .qos(QoS::AtLeastOnce)
        .reply(format!("{p}/home/{{room}}/ack"), "home.ack"),
    );
    let service = start(config(&broker.url(), &unique("svc")), router, ()).await;
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/home/+/ack")).await;
    for (room, id) in [("kitchen", "a"), ("hall", "b")] {
        let request = json!({"id": id, "type": "home.cmd", "data": {"room": room}});
        peer.publish_json(&format!("{p}/home/{room}/cmd"), &request)
            .await;
        let reply = peer.expect(&format!("{p}/home/+/ack"), WAIT).await;
        assert_eq!(reply.topic, format!("{p}/home/{room}/ack"));
        assert_eq!(reply.json()["id"], id);
    }
    let request = json!({"id": "c", "type": "home.cmd", "data": {"fail": true}});
    peer.publish_json(&format!("{p}/home/cellar/cmd"), &request)
        .await;
    let reply = peer.expect(&format!("{p}/home/+/ack"), WAIT).await;
    assert_eq!(reply.topic, format!("{p}/home/cellar/ack"));
    assert_eq!(reply.json()["type"], "error");
    service.shutdown().await;
}

#[test]
fn a_reply_parameter_the_filter_lacks_is_refused_at_start() {
    let router = Router::<()>::new()
        .route(Route::new("home/{room}/cmd", || async {}).reply("home/{floor}/ack", "home.ack"));
    let config = tars_mqtt::MqttConfig::builder()
        .url("mqtt://127.0.0.1:1")
        .client_id("x")
        .build()
        .unwrap();
    let err = Runtime::new(config, router, ()).start().unwrap_err();
    assert!(
        matches!(&err, tars_mqtt::Error::ReplyParam { param, .. } if param == "floor"),
        "{err}"
    );
    assert!(err.to_string().contains("`{floor}`"), "{err}");
}

broker_suite!(
    reply_topics_take_the_request_topics_parameters,
    handler_errors_reach_the_requester,
    reply_carries_the_request_id,
    concurrent_requests_are_correlated,
    a_handler_awaiting_another_routes_reply_does_not_deadlock,
    bad_payloads_are_reported_and_answered_with_errors,
    invalid_topics_are_rejected,
);

/// `expect_replies_on` subscribes at QoS 1 and `expect_replies_on_qos` at the QoS given, before
/// the service is ready; a reply sent at QoS 1 is then delivered at QoS 1 or 0. Mosquitto's own
/// log says what it was asked and what it delivered.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn the_reply_subscription_takes_the_qos_asked_for() {
    let broker = tars_mqtt::testing::BrokerProcess::mosquitto(
        "log_dest file {dir}/broker.log\nlog_type all",
    )
    .expect("start mosquitto");
    let p = unique("rqos");
    let responder = start(config(&broker.url(), &unique("svc")), memory_router(&p), ()).await;
    let results = format!("{p}/memory/results");
    for (qos, id) in [(None, "rq-default"), (Some(QoS::AtMostOnce), "rq-q0")] {
        let client_id = unique(id);
        let router = match qos {
            None => Router::<()>::new().expect_replies_on(&results),
            Some(qos) => Router::new().expect_replies_on_qos(&results, qos),
        };
        let requester = start(config(&broker.url(), &client_id), router, ()).await;
        let reply: Envelope<Results> = requester
            .publisher()
            .request(
                &format!("{p}/memory/query"),
                "memory.query",
                &json!({"text": "hi"}),
            )
            .reply_on(&results)
            .timeout(WAIT)
            .await
            .expect("a reply");
        assert_eq!(reply.data.query, "hi");
        requester.shutdown().await;
        let log = std::fs::read_to_string(broker.dir().join("broker.log")).expect("the log");
        let want = qos.unwrap_or(QoS::AtLeastOnce) as u8;
        let subscribed = log
            .lines()
            .skip_while(|l| !l.contains(&format!("Received SUBSCRIBE from {client_id}")))
            .take_while(|l| !l.contains("Sending SUBACK"))
            .any(|l| l.trim_end().ends_with(&format!("{results} (QoS {want})")));
        assert!(subscribed, "{client_id} subscribed at QoS {want}:\n{log}");
        let delivered = format!("Sending PUBLISH to {client_id} (d0, q{want}, r0,");
        assert!(
            log.lines()
                .any(|l| l.contains(&delivered) && l.contains(&results)),
            "the reply was delivered at QoS {want}:\n{log}"
        );
    }
    responder.shutdown().await;
}
