//! Routing: MQTT 3.1.1 §4.7 wildcards, fan-out to every matching route, topic parameters.

use std::time::Duration;

use tars_mqtt::testing::TestClient;
use tars_mqtt::{
    Context, QoS, Router,
    extract::{Param, Raw, State, Topic, TopicParams},
};
use tars_mqtt_it::{Calls, TestBroker, broker_suite, collect, config, start, unique};
use tokio::sync::mpsc;

fn recorder(
    tag: &'static str,
) -> impl Fn(State<Calls>, Topic) -> std::future::Ready<()> + Clone + Send + Sync + 'static {
    move |calls: State<Calls>, Topic(topic): Topic| {
        let _ = calls.send((tag, topic));
        std::future::ready(())
    }
}

async fn wildcards_follow_the_spec(broker: TestBroker) {
    let p = unique("wild");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let router = Router::new()
        .subscribe(
            format!("{p}/events/#"),
            QoS::AtLeastOnce,
            recorder("events/#"),
        )
        .subscribe(format!("{p}/a/+/#"), QoS::AtLeastOnce, recorder("a/+/#"))
        .subscribe(format!("{p}/s/+"), QoS::AtLeastOnce, recorder("s/+"));
    let service = start(config(&broker.url(), &unique("svc")), router, tx).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for topic in [
        "eventsXYZ",
        "eventsXYZ/1",
        "events",
        "events/x/y",
        "a/b/c",
        "a/b",
        "a",
        "s/",
        "s/x/y",
        "s",
    ] {
        peer.publish(&format!("{p}/{topic}"), "{}", QoS::AtLeastOnce, false)
            .await;
    }
    let calls = collect(&mut rx, 5, Duration::from_millis(300)).await;
    let t = |s: &str| format!("{p}/{s}");
    let expected = [
        ("a/+/#", t("a/b")),
        ("a/+/#", t("a/b/c")),
        ("events/#", t("events")),
        ("events/#", t("events/x/y")),
        ("s/+", t("s/")),
    ];
    assert_eq!(
        calls, expected,
        "`events/#` must not match `eventsXYZ`; `a/+/#` matches `a/b/c` and `a/b`"
    );
    service.shutdown().await;
}

async fn overlapping_filters_all_run_once(broker: TestBroker) {
    let p = unique("overlap");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let router = Router::new()
        .subscribe(format!("{p}/x/#"), QoS::AtLeastOnce, recorder("x/#"))
        .subscribe(format!("{p}/x/+"), QoS::AtLeastOnce, recorder("x/+"))
        .subscribe(format!("{p}/x/y"), QoS::AtLeastOnce, recorder("x/y"))
        .subscribe(format!("{p}/#"), QoS::AtMostOnce, recorder("#"));
    let service = start(config(&broker.url(), &unique("svc")), router, tx).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.publish(&format!("{p}/x/y"), "{}", QoS::AtLeastOnce, false)
        .await;
    let calls = collect(&mut rx, 4, Duration::from_millis(300)).await;
    let tags: Vec<&str> = calls.iter().map(|c| c.0).collect();
    assert_eq!(
        tags,
        ["#", "x/#", "x/+", "x/y"],
        "every matching route once: {calls:?}"
    );
    service.shutdown().await;
}

async fn parameters_and_context(broker: TestBroker) {
    let p = unique("params");
    let (tx, mut rx) = mpsc::unbounded_channel::<(&'static str, String)>();
    let router = Router::new().subscribe(
        format!("{p}/sensors/{{room}}/temp/{{unit}}"),
        QoS::AtLeastOnce,
        |calls: State<Calls>,
         Param(room): Param<String, 0>,
         Param(unit): Param<char, 1>,
         params: TopicParams,
         ctx: Context,
         Raw(raw): Raw| async move {
            assert_eq!(params.get("room"), Some(room.as_str()));
            assert_eq!(ctx.param("unit"), Some(unit.to_string().as_str()));
            assert!(
                ctx.matched_filter()
                    .ends_with("/sensors/{room}/temp/{unit}")
            );
            assert_eq!(ctx.qos(), QoS::AtLeastOnce);
            assert_eq!(ctx.envelope_header().id.as_deref(), Some("e-1"));
            assert_eq!(
                ctx.envelope_header().event_type.as_deref(),
                Some("sensor.temp")
            );
            assert!(!raw.is_empty());
            let _ = calls.send(("temp", format!("{room}:{unit}")));
        },
    );
    let service = start(config(&broker.url(), &unique("svc")), router, tx).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    let body = r#"{"id":"e-1","type":"sensor.temp","ts":1,"source":"s","data":{"c":21.5}}"#;
    peer.publish(
        &format!("{p}/sensors/kitchen/temp/c"),
        body,
        QoS::AtLeastOnce,
        false,
    )
    .await;
    // `unit` is a `char`: "celsius" does not parse, so the handler is not called.
    peer.publish(
        &format!("{p}/sensors/hall/temp/celsius"),
        body,
        QoS::AtLeastOnce,
        false,
    )
    .await;
    peer.publish(
        &format!("{p}/sensors/attic/temp/f"),
        body,
        QoS::AtLeastOnce,
        false,
    )
    .await;
    let calls = collect(&mut rx, 2, Duration::from_millis(300)).await;
    assert_eq!(
        calls,
        [
            ("temp", "attic:f".to_owned()),
            ("temp", "kitchen:c".to_owned())
        ]
    );
    service.shutdown().await;
}

#[derive(serde::Deserialize)]
struct Reading {
    c: f64,
}

/// Hand-written handlers follow the argument rules `#[subscribe]` methods do: the payload in
/// any position, and any `Deserialize` type as the envelope's `data`. A payload that does not
/// decode is reported and the next message is handled.
async fn the_payload_can_be_any_argument_and_any_deserialize_type(broker: TestBroker) {
    let p = unique("rules");
    let (tx, mut rx) = mpsc::unbounded_channel::<(&'static str, String)>();
    let router = Router::new().subscribe(
        format!("{p}/{{room}}"),
        QoS::AtLeastOnce,
        |reading: Reading, Param(room): Param<String, 0>, calls: State<Calls>| async move {
            let _ = calls.send(("reading", format!("{room}:{}", reading.c)));
        },
    );
    let service = start(config(&broker.url(), &unique("svc")), router, tx).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for (room, data) in [("hall", r#"{"c":"warm"}"#), ("attic", r#"{"c":19.5}"#)] {
        let body = format!(r#"{{"id":"{room}","type":"sensor.temp","data":{data}}}"#);
        peer.publish(&format!("{p}/{room}"), body, QoS::AtLeastOnce, false)
            .await;
    }
    let calls = collect(&mut rx, 1, Duration::from_millis(300)).await;
    assert_eq!(calls, [("reading", "attic:19.5".to_owned())]);
    service.shutdown().await;
}

async fn shared_subscriptions_split_the_load(broker: TestBroker) {
    let p = unique("share");
    let (tx, mut rx) = mpsc::unbounded_channel();
    let instance = |tag: &'static str| {
        Router::new().subscribe(
            format!("$share/{p}/{p}/jobs/+"),
            QoS::AtLeastOnce,
            recorder(tag),
        )
    };
    let a = start(
        config(&broker.url(), &unique("a")),
        instance("a"),
        tx.clone(),
    )
    .await;
    let b = start(config(&broker.url(), &unique("b")), instance("b"), tx).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for n in 0..20 {
        peer.publish(&format!("{p}/jobs/{n}"), "{}", QoS::AtLeastOnce, false)
            .await;
    }
    let calls = collect(&mut rx, 20, Duration::from_millis(300)).await;
    let mut jobs: Vec<&str> = calls
        .iter()
        .map(|c| c.1.rsplit('/').next().unwrap())
        .collect();
    jobs.sort_by_key(|j| j.parse::<u32>().unwrap());
    assert_eq!(
        jobs,
        (0..20).map(|n| n.to_string()).collect::<Vec<_>>(),
        "each job handled exactly once"
    );
    let by_a = calls.iter().filter(|c| c.0 == "a").count();
    assert!(
        by_a > 0 && by_a < 20,
        "both instances take a share: a={by_a}"
    );
    a.shutdown().await;
    b.shutdown().await;
}

broker_suite!(
    wildcards_follow_the_spec,
    overlapping_filters_all_run_once,
    parameters_and_context,
    the_payload_can_be_any_argument_and_any_deserialize_type,
    shared_subscriptions_split_the_load,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn a_refused_subscription_is_reported_and_the_other_routes_work() {
    // Mosquitto's dynamic-security plugin refuses subscriptions (an `acl_file` only filters
    // deliveries): anonymous clients may subscribe to anything but `denied/#`.
    let plugin = "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so";
    let dir = tars_mqtt_it::TempDir::new("acl");
    let dynsec = dir.path().join("dynsec.json");
    let rules = serde_json::json!({
        "defaultACLAccess": {"publishClientSend": true, "publishClientReceive": true, "subscribe": true, "unsubscribe": true},
        "clients": [],
        "groups": [{"groupname": "anonymous", "roles": [{"rolename": "limited"}], "clients": []}],
        "roles": [{"rolename": "limited", "acls": [{"acltype": "subscribePattern", "topic": "denied/#", "priority": 0, "allow": false}]}],
        "anonymousGroup": "anonymous",
    });
    std::fs::write(&dynsec, rules.to_string()).unwrap();
    let broker = tars_mqtt::testing::BrokerProcess::mosquitto(&format!(
        "plugin {plugin}\nplugin_opt_config_file {}",
        dynsec.display()
    ))
    .unwrap();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let router = Router::new()
        .subscribe("denied/in", QoS::AtLeastOnce, recorder("denied"))
        .subscribe("allowed/in", QoS::AtLeastOnce, recorder("allowed"));
    let service = tars_mqtt::Runtime::new(
        config(&broker.url(), &unique("svc")).build().unwrap(),
        router,
        tx,
    )
    .start()
    .unwrap();
    service.wait_ready(tars_mqtt_it::WAIT).await.unwrap();
    let readiness = service.readiness().borrow().clone();
    assert_eq!(
        readiness.failed_subscriptions,
        ["denied/in"],
        "{readiness:?}"
    );
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.publish("allowed/in", "{}", QoS::AtLeastOnce, false)
        .await;
    assert_eq!(
        collect(&mut rx, 1, Duration::from_millis(200)).await,
        [("allowed", "allowed/in".to_owned())]
    );
    service.shutdown().await;
}
