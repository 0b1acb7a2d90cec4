//! Services written with `#[mqtt_service]` / `#[subscribe]`, run against real brokers: routing
//! with parameters, typed decoding and its errors, replies with correlation, QoS, shared
//! subscriptions, concurrency and order, configuration layers, shutdown.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::json;
use tars_mqtt::prelude::*;
use tars_mqtt::testing::TestClient;
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, unique, wait_until};

#[derive(Deserialize)]
struct MemoryQuery {
    text: String,
    top_k: Option<u32>,
}

#[derive(Serialize)]
struct MemoryResults {
    query: String,
    k: u32,
}

#[derive(Deserialize, Debug)]
struct Reading {
    celsius: f64,
}

#[derive(Default)]
struct Memory {
    temps: Arc<Mutex<Vec<(String, f64, String)>>>,
}

#[mqtt_service(client_id = "tars-memory", source = "memory-worker", health = true)]
impl Memory {
    /// Replies on `memory/results` with the request's id.
    #[subscribe(
        "memory/query",
        qos = 1,
        reply = "memory/results",
        event = "memory.results"
    )]
    async fn query(&self, q: MemoryQuery) -> Result<MemoryResults, String> {
        if q.text.trim().is_empty() {
            return Err("empty query".to_owned());
        }
        Ok(MemoryResults {
            query: q.text,
            k: q.top_k.unwrap_or(5),
        })
    }

    #[subscribe("sensors/{room}/temp", qos = 1)]
    async fn temp(&self, room: String, reading: Envelope<Reading>, ctx: &Context) {
        self.record(room, reading.data.celsius, ctx.topic());
    }

    /// Not a handler: an ordinary method stays as it is.
    fn record(&self, room: String, celsius: f64, topic: &str) {
        self.temps
            .lock()
            .unwrap()
            .push((room, celsius, topic.to_owned()));
    }
}

fn config<S: Service>(broker: &TestBroker) -> MqttConfig {
    S::INFO
        .defaults
        .builder()
        .url(broker.url())
        .protocol(tars_mqtt_it::protocol_of(&broker.url()))
        .reconnect_min_delay(Duration::from_millis(100))
        .reconnect_max_delay(Duration::from_millis(500))
        .build()
        .unwrap()
}

async fn a_macro_service_routes_decodes_and_replies(broker: TestBroker) {
    let temps = Arc::new(Mutex::new(Vec::new()));
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("memory/results").await;
    peer.subscribe("system/health/tars-memory").await;
    let service = Memory {
        temps: temps.clone(),
    }
    .start(config::<Memory>(&broker))
    .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let ready = peer.expect("system/health/tars-memory", WAIT).await.json();
    assert_eq!(
        (ready["source"].clone(), ready["data"]["event"].clone()),
        (json!("memory-worker"), json!("ready"))
    );

    peer.publish_json(
        "memory/query",
        &json!({"id": "req-1", "type": "memory.query", "data": {"text": "hi", "top_k": 2}}),
    )
    .await;
    let reply = peer.expect("memory/results", WAIT).await.json();
    assert_eq!(reply["id"], "req-1");
    assert_eq!(reply["type"], "memory.results");
    assert_eq!(reply["source"], "memory-worker");
    assert_eq!(reply["data"], json!({"query": "hi", "k": 2}));

    // `Err` and undecodable data both answer with an error envelope carrying the request id.
    peer.publish_json(
        "memory/query",
        &json!({"id": "req-2", "type": "memory.query", "data": {"text": "  "}}),
    )
    .await;
    let reply = peer.expect("memory/results", WAIT).await.json();
    assert_eq!(
        (reply["id"].clone(), reply["type"].clone()),
        (json!("req-2"), json!("error"))
    );
    assert_eq!(reply["data"]["err"], "empty query");
    peer.publish_json(
        "memory/query",
        &json!({"id": "req-3", "type": "memory.query", "data": {"text": 7}}),
    )
    .await;
    let reply = peer.expect("memory/results", WAIT).await.json();
    assert_eq!(
        (reply["id"].clone(), reply["type"].clone()),
        (json!("req-3"), json!("error"))
    );

    // `{room}` binds the level to the argument of the same name.
    peer.publish_json(
        "sensors/kitchen/temp",
        &json!({"id": "t1", "type": "sensor.temp", "data": {"celsius": 21.5}}),
    )
    .await;
    peer.publish_json("sensors/hall/temp", &json!({"celsius": 19.0}))
        .await;
    wait_until("two readings", || temps.lock().unwrap().len() == 2).await;
    let mut seen = temps.lock().unwrap().clone();
    seen.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        seen,
        [
            ("hall".to_owned(), 19.0, "sensors/hall/temp".to_owned()),
            (
                "kitchen".to_owned(),
                21.5,
                "sensors/kitchen/temp".to_owned()
            )
        ]
    );

    assert_eq!(Memory::INFO.name, "Memory");
    let router = Memory::router();
    let routes: Vec<_> = router.routes().collect();
    assert_eq!(routes.len(), 2);
    assert_eq!(
        (routes[1].filter, routes[1].name),
        ("sensors/{room}/temp", "temp")
    );
    assert_eq!(routes[0].qos, QoS::AtLeastOnce);
    let origin = routes[0].origin.expect("declared routes know where");
    assert!(origin.contains("macros.rs:"), "{origin}");
    service.shutdown().await;
    let bye = peer.expect("system/health/tars-memory", WAIT).await.json();
    assert_eq!(bye["data"]["event"], "shutdown");
}

type Done = Arc<Mutex<Vec<(&'static str, u64, usize)>>>;

/// Records each job as (service, job number, runs in progress when it started).
struct Jobs {
    tag: &'static str,
    now: AtomicUsize,
    done: Done,
}

impl Jobs {
    fn new(tag: &'static str, done: &Done) -> Self {
        Self {
            tag,
            now: AtomicUsize::new(0),
            done: done.clone(),
        }
    }

    async fn work(&self, n: u64) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        tokio::time::sleep(Duration::from_millis(10)).await;
        self.done.lock().unwrap().push((self.tag, n, now));
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}

#[derive(Deserialize)]
struct Job {
    n: u64,
}

struct Serial(Jobs);

#[mqtt_service(client_id = "serial")]
impl Serial {
    #[subscribe("serial/jobs", qos = 1)]
    async fn job(&self, job: Job) {
        self.0.work(job.n).await
    }
}

struct Parallel(Jobs);

#[mqtt_service(client_id = "parallel")]
impl Parallel {
    #[subscribe(
        "parallel/jobs",
        qos = 1,
        concurrency = 4,
        queue = 64,
        overflow = "block"
    )]
    async fn job(&self, Json(job): Json<Job>) {
        self.0.work(job.n).await
    }
}

async fn ordering_by_default_and_concurrency_on_request(broker: TestBroker) {
    let done = Arc::new(Mutex::new(Vec::new()));
    let serial = Serial(Jobs::new("serial", &done));
    let parallel = Parallel(Jobs::new("parallel", &done));
    let serial = serial.start(config::<Serial>(&broker)).unwrap();
    let parallel = parallel.start(config::<Parallel>(&broker)).unwrap();
    serial.wait_ready(WAIT).await.unwrap();
    parallel.wait_ready(WAIT).await.unwrap();
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for n in 0..30 {
        peer.publish_json("serial/jobs", &json!({"n": n})).await;
        peer.publish_json("parallel/jobs", &json!({"n": n})).await;
    }
    wait_until("60 jobs", || done.lock().unwrap().len() == 60).await;
    let done = done.lock().unwrap().clone();
    let serial_order: Vec<u64> = done
        .iter()
        .filter(|d| d.0 == "serial")
        .map(|d| d.1)
        .collect();
    assert_eq!(
        serial_order,
        (0..30).collect::<Vec<_>>(),
        "arrival order by default"
    );
    let max = |tag| {
        done.iter()
            .filter(|d| d.0 == tag)
            .map(|d| d.2)
            .max()
            .unwrap()
    };
    assert_eq!(max("serial"), 1, "one at a time by default");
    assert!(
        (2..=4).contains(&max("parallel")),
        "`concurrency = 4` runs up to 4 at once: {}",
        max("parallel")
    );
    serial.shutdown().await;
    parallel.shutdown().await;
}

struct Worker {
    tag: &'static str,
    done: Done,
}

#[mqtt_service(source = "workers")]
impl Worker {
    #[subscribe("work/{kind}", qos = 1, shared = "pool")]
    async fn work(&self, kind: String, job: Job) {
        assert_eq!(kind, "resize");
        self.done.lock().unwrap().push((self.tag, job.n, 0));
    }
}

async fn shared_handlers_split_the_load(broker: TestBroker) {
    assert_eq!(
        Worker::router().routes().next().unwrap().filter,
        "$share/pool/work/{kind}"
    );
    let done = Arc::new(Mutex::new(Vec::new()));
    let start = |tag| {
        let config = Worker::INFO
            .defaults
            .builder()
            .url(broker.url())
            .protocol(tars_mqtt_it::protocol_of(&broker.url()))
            .client_id(unique(tag))
            .build()
            .unwrap();
        Worker {
            tag,
            done: done.clone(),
        }
        .start(config)
        .unwrap()
    };
    let (a, b) = (start("a"), start("b"));
    a.wait_ready(WAIT).await.unwrap();
    b.wait_ready(WAIT).await.unwrap();
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for n in 0..20 {
        peer.publish_json("work/resize", &json!({"n": n})).await;
    }
    wait_until("20 jobs", || done.lock().unwrap().len() == 20).await;
    let done = done.lock().unwrap().clone();
    let mut jobs: Vec<u64> = done.iter().map(|d| d.1).collect();
    jobs.sort();
    assert_eq!(jobs, (0..20).collect::<Vec<_>>(), "each job once");
    let by_a = done.iter().filter(|d| d.0 == "a").count();
    assert!(by_a > 0 && by_a < 20, "both instances get a share: {by_a}");
    a.shutdown().await;
    b.shutdown().await;
}

struct Slow;

#[mqtt_service(client_id = "slow")]
impl Slow {
    #[subscribe("slow/run", qos = 1, timeout = "200ms")]
    async fn run(&self, _: serde_json::Value) {
        tokio::time::sleep(Duration::from_secs(30)).await;
    }

    #[subscribe("slow/fail", qos = 1)]
    async fn fail(&self, _: serde_json::Value) -> Result<(), std::io::Error> {
        Err(std::io::Error::other("disk on fire"))
    }
}

async fn timeouts_and_errors_are_reported(broker: TestBroker) {
    let reports = Arc::new(Mutex::new(Vec::new()));
    let sink = reports.clone();
    let service = Runtime::service(config::<Slow>(&broker), Slow)
        .on_error(move |r| sink.lock().unwrap().push((r.kind, r.route.clone())))
        .start()
        .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.publish_json("slow/run", &json!({})).await;
    peer.publish_json("slow/fail", &json!({})).await;
    wait_until("two reports", || reports.lock().unwrap().len() == 2).await;
    let mut got = reports.lock().unwrap().clone();
    got.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        got,
        [
            (tars_mqtt::runtime::ErrorKind::Handler, "fail".to_owned()),
            (tars_mqtt::runtime::ErrorKind::Timeout, "run".to_owned())
        ]
    );
    service.shutdown().await;
}

async fn topics_can_be_overridden_from_the_environment(broker: TestBroker) {
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe("macro/echoed").await;
    peer.subscribe("system/health/+").await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tars-test-macro-service"))
        .env("MQTT_URL", broker.url())
        .env(
            "MQTT_PROTOCOL",
            tars_mqtt_it::protocol_of(&broker.url()).to_string(),
        )
        .env("ECHO_TOPIC", "custom/echo")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // The client id comes from the macro (`MQTT_CLIENT_ID` is not set).
    let ready = peer.expect("system/health/macro-echo", WAIT).await.json();
    assert_eq!(ready["data"]["event"], "ready");
    peer.publish_json(
        "custom/echo",
        &json!({"id": "e1", "type": "t", "data": {"x": 1}}),
    )
    .await;
    let reply = peer.expect("macro/echoed", WAIT).await.json();
    assert_eq!(
        (reply["id"].clone(), reply["data"].clone()),
        (json!("e1"), json!({"x": 1}))
    );
    child.kill().unwrap();
    child.wait().unwrap();

    // An invalid override is refused at start-up, naming the handler, its location and the variable.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tars-test-macro-service"))
        .env("MQTT_URL", broker.url())
        .env(
            "MQTT_PROTOCOL",
            tars_mqtt_it::protocol_of(&broker.url()).to_string(),
        )
        .env("MQTT_CLIENT_ID", unique("env"))
        .env("ECHO_TOPIC", "bad/#/topic")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    for needle in [
        "echo",
        "bad/#/topic",
        "ECHO_TOPIC",
        "tars-test-macro-service.rs",
        "MultiLevelNotLast",
    ] {
        assert!(stderr.contains(needle), "{needle:?} missing from: {stderr}");
    }
}

#[derive(Default)]
struct Store {
    docs: Mutex<Vec<String>>,
    seen_by_queries: Arc<Mutex<Vec<usize>>>,
}

#[derive(Deserialize)]
struct Doc {
    text: String,
}

#[mqtt_service(client_id = "store")]
impl Store {
    /// Slow on purpose: without the shared group, the query below would overtake it.
    #[subscribe("store/put", qos = 1, group = "memory")]
    async fn put(&self, doc: Doc) {
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.docs.lock().unwrap().push(doc.text);
    }

    #[subscribe("store/query", qos = 1, group = "memory")]
    async fn query(&self, _: serde_json::Value) {
        let count = self.docs.lock().unwrap().len();
        self.seen_by_queries.lock().unwrap().push(count);
    }
}

async fn a_group_keeps_arrival_order_across_handlers(broker: TestBroker) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let store = Store {
        seen_by_queries: seen.clone(),
        ..Store::default()
    };
    let service = store.start(config::<Store>(&broker)).unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    let stats = service.route("put").unwrap().stats();
    for n in 0..5 {
        peer.publish_json("store/put", &json!({"text": format!("doc {n}")}))
            .await;
        // The put has arrived and its (slow) handler is running or queued: the query arrives
        // after it and must see it.
        wait_until("the put to arrive", || stats.received() == n + 1).await;
        peer.publish_json("store/query", &json!({})).await;
    }
    wait_until("5 queries", || seen.lock().unwrap().len() == 5).await;
    assert_eq!(
        *seen.lock().unwrap(),
        [1, 2, 3, 4, 5],
        "each query sees every document stored before it"
    );
    service.shutdown().await;
}

#[test]
fn configuration_layers_macro_defaults_then_env_then_builder() {
    let env: std::collections::HashMap<&str, &str> = [
        ("MQTT_URL", "mqtt://from-env"),
        ("MQTT_SOURCE_NAME", "env-source"),
    ]
    .into();
    let config = Memory::INFO
        .defaults
        .builder()
        .env(|k| env.get(k).map(|v| v.to_string()))
        .unwrap()
        .health(false)
        .build()
        .unwrap();
    assert_eq!(
        config.client_id, "tars-memory",
        "macro default, not overridden"
    );
    assert_eq!(
        config.source, "env-source",
        "the environment overrides the macro"
    );
    assert!(!config.health, "the builder overrides both");
    assert_eq!(config.brokers[0].host, "from-env");
}

broker_suite!(
    fresh: a_macro_service_routes_decodes_and_replies,
    ordering_by_default_and_concurrency_on_request,
    shared_handlers_split_the_load,
    timeouts_and_errors_are_reported,
    topics_can_be_overridden_from_the_environment,
    a_group_keeps_arrival_order_across_handlers,
);
