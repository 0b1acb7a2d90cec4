//! Dispatch: handler isolation (errors, panics, timeouts), per-route order, opt-in concurrency,
//! overflow policies, slow routes not delaying others, dedup.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tars_mqtt::testing::TestClient;
use tars_mqtt::{
    Json, Overflow, QoS, Route, Router, Runtime, ServiceHandle, extract::State, runtime::ErrorKind,
};
use tars_mqtt_it::{TestBroker, WAIT, broker_suite, config, unique, wait_until};
use tokio::sync::{Semaphore, mpsc};

type Reports = Arc<Mutex<Vec<(ErrorKind, String)>>>;

/// Handler state for overflow tests: runs wait at the gate and report on `tx`.
struct Gate<T> {
    gate: Arc<Semaphore>,
    tx: mpsc::UnboundedSender<T>,
}

async fn start_reporting<S: Send + Sync + 'static>(
    cfg: tars_mqtt::config::ConfigBuilder,
    router: Router<S>,
    state: S,
) -> (ServiceHandle, Reports) {
    let reports: Reports = Arc::default();
    let sink = reports.clone();
    let handle = Runtime::new(cfg.build().unwrap(), router, state)
        .on_error(move |r| sink.lock().unwrap().push((r.kind, r.route.clone())))
        .start()
        .unwrap();
    handle.wait_ready(WAIT).await.unwrap();
    (handle, reports)
}

/// [`start_reporting`] with a [`Gate`] as the state, and a peer to publish with.
async fn start_gated<T: Send + 'static>(
    broker: &TestBroker,
    router: Router<Gate<T>>,
    gate: &Arc<Semaphore>,
    tx: mpsc::UnboundedSender<T>,
) -> (ServiceHandle, Reports, TestClient) {
    let gate = Gate {
        gate: gate.clone(),
        tx,
    };
    let (service, reports) =
        start_reporting(config(&broker.url(), &unique("svc")), router, gate).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    (service, reports, peer)
}

async fn failures_are_isolated_and_reported(broker: TestBroker) {
    let p = unique("iso");
    let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
    let router = Router::new()
        .route(
            Route::new(format!("{p}/work"), |calls: State<mpsc::UnboundedSender<u64>>, Json(n): Json<serde_json::Value>| async move {
                match n["n"].as_u64().unwrap() {
                    1 => panic!("handler bug on purpose"),
                    2 => Err("refused on purpose".to_owned()),
                    3 => {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Ok(())
                    }
                    n => {
                        let _ = calls.send(n);
                        Ok(())
                    }
                }
            })
            .name("work")
            .qos(QoS::AtLeastOnce)
            .timeout(Duration::from_millis(300)),
        );
    let (service, reports) =
        start_reporting(config(&broker.url(), &unique("svc")), router, tx).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for n in [1, 4, 2, 5, 3, 6] {
        peer.publish_json(&format!("{p}/work"), &json!({"n": n}))
            .await;
    }
    for expected in [4, 5, 6] {
        assert_eq!(
            tokio::time::timeout(WAIT, rx.recv()).await.unwrap(),
            Some(expected)
        );
    }
    let reports = reports.lock().unwrap().clone();
    let kinds: Vec<ErrorKind> = reports.iter().map(|r| r.0).collect();
    assert_eq!(
        kinds,
        [ErrorKind::Panic, ErrorKind::Handler, ErrorKind::Timeout]
    );
    assert!(reports.iter().all(|r| r.1 == "work"));
    let stats = service.route("work").unwrap().stats();
    wait_until("3 successes and 3 failures counted", || {
        (stats.succeeded(), stats.failed()) == (3, 3)
    })
    .await;
    service.shutdown().await;
}

/// Records the largest number of handler runs in progress at once, and the order of runs.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
    order: Mutex<Vec<u64>>,
}

async fn tracked(state: State<Arc<InFlight>>, Json(v): Json<serde_json::Value>) {
    let now = state.now.fetch_add(1, Ordering::SeqCst) + 1;
    state.max.fetch_max(now, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(10)).await;
    state.order.lock().unwrap().push(v["n"].as_u64().unwrap());
    state.now.fetch_sub(1, Ordering::SeqCst);
}

async fn run_tracked(broker: &TestBroker, concurrency: usize) -> Arc<InFlight> {
    let p = unique("order");
    let state = Arc::new(InFlight::default());
    let router = Router::new().route(
        Route::new(format!("{p}/in"), tracked)
            .qos(QoS::AtLeastOnce)
            .concurrency(concurrency),
    );
    let (handle, _) =
        start_reporting(config(&broker.url(), &unique("svc")), router, state.clone()).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for n in 0..40 {
        peer.publish_json(&format!("{p}/in"), &json!({"n": n}))
            .await;
    }
    wait_until("40 handled", || state.order.lock().unwrap().len() == 40).await;
    handle.shutdown().await;
    state
}

async fn order_is_kept_per_route_and_concurrency_is_opt_in(broker: TestBroker) {
    let serial = run_tracked(&broker, 1).await;
    assert_eq!(
        serial.max.load(Ordering::SeqCst),
        1,
        "one run at a time by default"
    );
    assert_eq!(
        *serial.order.lock().unwrap(),
        (0..40).collect::<Vec<u64>>(),
        "arrival order kept"
    );
    let parallel = run_tracked(&broker, 4).await;
    assert!(
        parallel.max.load(Ordering::SeqCst) > 1,
        "concurrency(4) runs handlers in parallel"
    );
    assert!(parallel.max.load(Ordering::SeqCst) <= 4);
}

async fn overflow_drops_are_reported_and_slow_routes_do_not_block_others(broker: TestBroker) {
    let p = unique("overflow");
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
    let router = Router::new()
        .route(
            Route::new(
                format!("{p}/slow"),
                |s: State<Gate<_>>, _: Json<serde_json::Value>| async move {
                    let _ = s.tx.send("slow started");
                    s.gate.acquire().await.unwrap().forget();
                    let _ = s.tx.send("slow");
                },
            )
            .name("slow")
            .qos(QoS::AtLeastOnce)
            .queue_capacity(2)
            .overflow(Overflow::DropNew),
        )
        .route(
            Route::new(
                format!("{p}/fast"),
                |s: State<Gate<_>>, _: Json<serde_json::Value>| async move {
                    let _ = s.tx.send("fast");
                },
            )
            .qos(QoS::AtLeastOnce),
        );
    let (service, reports, peer) = start_gated(&broker, router, &gate, tx).await;
    peer.publish_json(&format!("{p}/slow"), &json!({})).await;
    assert_eq!(
        tokio::time::timeout(WAIT, rx.recv()).await.unwrap(),
        Some("slow started")
    );
    for _ in 0..5 {
        peer.publish_json(&format!("{p}/slow"), &json!({})).await;
    }
    // One handler run blocked, two queued, three dropped; the other route still answers at once.
    peer.publish_json(&format!("{p}/fast"), &json!({})).await;
    assert_eq!(
        tokio::time::timeout(WAIT, rx.recv()).await.unwrap(),
        Some("fast")
    );
    let slow = service.route("slow").unwrap().stats();
    wait_until("3 drops", || slow.dropped() == 3).await;
    gate.add_permits(10);
    let mut finished = Vec::new();
    for _ in 0..5 {
        finished.push(
            tokio::time::timeout(WAIT, rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    finished.sort();
    assert_eq!(
        finished,
        ["slow", "slow", "slow", "slow started", "slow started"]
    );
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err()
    );
    let reports = reports.lock().unwrap().clone();
    assert_eq!(
        reports,
        vec![(ErrorKind::Dropped, "slow".to_owned()); 3],
        "QoS 1 drops are reported"
    );
    service.shutdown().await;
}

/// With one handler run blocked and a queue of 2, five more messages arrive: `DropOldest` keeps
/// the newest two, `Block` keeps all of them (the connection waits), and only drops are reported.
async fn overflow_policies_keep_what_they_promise(broker: TestBroker) {
    for (policy, expected, dropped) in [
        (Overflow::DropOldest, vec![0, 4, 5], 3),
        (Overflow::Block, vec![0, 1, 2, 3, 4, 5], 0),
    ] {
        let p = unique("policy");
        let gate = Arc::new(Semaphore::new(0));
        let (tx, mut rx) = mpsc::unbounded_channel::<u64>();
        let router = Router::new().route(
            Route::new(
                format!("{p}/in"),
                |s: State<Gate<_>>, Json(v): Json<serde_json::Value>| async move {
                    let n = v["n"].as_u64().unwrap();
                    let _ = s.tx.send(1000 + n);
                    s.gate.acquire().await.unwrap().forget();
                    let _ = s.tx.send(n);
                },
            )
            .name("in")
            .qos(QoS::AtLeastOnce)
            .queue_capacity(2)
            .overflow(policy),
        );
        let (service, reports, peer) = start_gated(&broker, router, &gate, tx).await;
        peer.publish_json(&format!("{p}/in"), &json!({"n": 0}))
            .await;
        assert_eq!(
            tokio::time::timeout(WAIT, rx.recv()).await.unwrap(),
            Some(1000),
            "the first run is blocked"
        );
        for n in 1..=5 {
            peer.publish_json(&format!("{p}/in"), &json!({"n": n}))
                .await;
        }
        let route = service.route("in").unwrap().stats();
        wait_until("all arrivals", || route.received() >= 3).await;
        if dropped > 0 {
            wait_until("the drops", || route.dropped() == dropped).await;
        }
        gate.add_permits(100);
        let mut done = Vec::new();
        while done.len() < expected.len() {
            match tokio::time::timeout(WAIT, rx.recv())
                .await
                .unwrap()
                .unwrap()
            {
                n if n < 1000 => done.push(n),
                _ => {}
            }
        }
        assert_eq!(done, expected, "{policy:?}");
        assert!(
            tokio::time::timeout(Duration::from_millis(300), async {
                loop {
                    if let Some(n) = rx.recv().await
                        && n < 1000
                    {
                        return n;
                    }
                }
            })
            .await
            .is_err()
        );
        assert_eq!(route.dropped(), dropped, "{policy:?}");
        assert_eq!(
            reports.lock().unwrap().len(),
            dropped as usize,
            "{policy:?}: only drops are reported"
        );
        service.shutdown().await;
    }
}

/// A message for two routes, the first of which blocks on its full queue: the second route gets
/// it only once the first has room, and then in order, with nothing lost on either.
async fn a_blocking_route_holds_back_the_next_routes_of_the_message(broker: TestBroker) {
    let p = unique("blockfan");
    let gate = Arc::new(Semaphore::new(0));
    let (tx, mut rx) = mpsc::unbounded_channel::<(&'static str, u64)>();
    let router = Router::new()
        .route(
            Route::new(
                format!("{p}/in"),
                |s: State<Gate<_>>, Json(v): Json<serde_json::Value>| async move {
                    let n = v["n"].as_u64().unwrap();
                    s.gate.acquire().await.unwrap().forget();
                    let _ = s.tx.send(("blocking", n));
                },
            )
            .qos(QoS::AtLeastOnce)
            .queue_capacity(1)
            .overflow(Overflow::Block),
        )
        .route(
            Route::new(
                format!("{p}/+"),
                |s: State<Gate<_>>, Json(v): Json<serde_json::Value>| async move {
                    let _ = s.tx.send(("next", v["n"].as_u64().unwrap()));
                },
            )
            .qos(QoS::AtLeastOnce),
        );
    let (service, reports, peer) = start_gated(&broker, router, &gate, tx).await;
    // 0 runs (held at the gate), 1 waits in the queue, 2 finds the queue full.
    for n in 0..3 {
        peer.publish_json(&format!("{p}/in"), &json!({"n": n}))
            .await;
    }
    let mut next = Vec::new();
    while next.len() < 2 {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .unwrap()
            .unwrap()
        {
            ("next", n) => next.push(n),
            other => panic!("the blocking route ran before its gate opened: {other:?}"),
        }
    }
    assert_eq!(next, [0, 1]);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), rx.recv())
            .await
            .is_err(),
        "message 2 waits for room on the blocking route before it reaches the next route"
    );
    gate.add_permits(3);
    let (mut blocking, mut next) = (Vec::new(), vec![0, 1]);
    while blocking.len() < 3 || next.len() < 3 {
        match tokio::time::timeout(WAIT, rx.recv())
            .await
            .unwrap()
            .unwrap()
        {
            ("blocking", n) => blocking.push(n),
            (_, n) => next.push(n),
        }
    }
    assert_eq!((blocking, next), (vec![0, 1, 2], vec![0, 1, 2]));
    assert!(reports.lock().unwrap().is_empty(), "nothing was dropped");
    service.shutdown().await;
}

async fn duplicates_are_dropped_when_dedup_is_on(broker: TestBroker) {
    let p = unique("dedup");
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    let router = Router::new().subscribe(format!("{p}/in"), QoS::AtLeastOnce, |s: State<mpsc::UnboundedSender<String>>, e: tars_mqtt::Envelope<serde_json::Value>| async move {
        let _ = s.send(e.id);
    });
    let cfg = config(&broker.url(), &unique("svc"))
        .dedupe_ttl(Duration::from_secs(60))
        .dedupe_max_entries(100);
    let (service, _) = start_reporting(cfg, router, tx).await;
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    for id in ["a", "a", "b", "a", "b", "c"] {
        peer.publish_json(
            &format!("{p}/in"),
            &json!({"id": id, "type": "t", "data": {"v": 1}}),
        )
        .await;
    }
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(
            tokio::time::timeout(WAIT, rx.recv())
                .await
                .unwrap()
                .unwrap(),
        );
    }
    while let Ok(Some(id)) = tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
        seen.push(id);
    }
    assert_eq!(seen, ["a", "b", "c"]);
    service.shutdown().await;
}

async fn oversized_payloads_are_reported_and_the_service_goes_on(broker: TestBroker) {
    let p = unique("big");
    let router = tars_mqtt_it::echo(format!("{p}/in"), format!("{p}/out"));
    let cfg = config(&broker.url(), &unique("svc")).max_packet_size(4096);
    let (service, reports) = start_reporting(cfg, router, ()).await;
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/out")).await;
    let big = format!(
        r#"{{"id":"big","type":"t","data":{{"blob":"{}"}}}}"#,
        "x".repeat(100_000)
    );
    peer.publish(&format!("{p}/in"), big, QoS::AtLeastOnce, false)
        .await;
    peer.publish_json(
        &format!("{p}/in"),
        &json!({"id": "small", "type": "t", "data": {"n": 1}}),
    )
    .await;
    let reply = peer.expect(&format!("{p}/out"), WAIT).await.json();
    assert_eq!(
        reply["id"], "small",
        "the next message is handled on the same connection"
    );
    assert_eq!(
        reports.lock().unwrap().clone(),
        [(ErrorKind::TooLarge, "(intake)".to_owned())]
    );
    let readiness = service.readiness().borrow().clone();
    assert!(
        readiness.ready,
        "the connection was not dropped: {readiness:?}"
    );
    // Publishing more than the limit is refused before it reaches the connection.
    let err = service
        .publisher()
        .event(
            &format!("{p}/in"),
            "t",
            &json!({"blob": "y".repeat(10_000)}),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, tars_mqtt::PublishError::TooLarge { limit: 4096, .. }),
        "{err}"
    );
    peer.publish_json(
        &format!("{p}/in"),
        &json!({"id": "after", "type": "t", "data": {}}),
    )
    .await;
    assert_eq!(
        peer.expect(&format!("{p}/out"), WAIT).await.json()["id"],
        "after"
    );
    service.shutdown().await;
}

/// The error a handler returns reaches the error hook as itself: the hook can downcast it to the
/// handler's own error type; a payload that did not decode comes with its `ExtractError`.
async fn error_hooks_can_downcast_the_handlers_error(broker: TestBroker) {
    #[derive(Debug, PartialEq)]
    struct OutOfStock {
        item: String,
    }
    impl std::fmt::Display for OutOfStock {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "{} is out of stock", self.item)
        }
    }
    impl std::error::Error for OutOfStock {}

    #[derive(serde::Deserialize)]
    struct Order {
        item: String,
    }
    let p = unique("order");
    let router = Router::new().route(
        Route::new(
            format!("{p}/place"),
            |Json(order): Json<Order>| async move { Err::<(), _>(OutOfStock { item: order.item }) },
        )
        .qos(QoS::AtLeastOnce),
    );
    let (tx, mut rx) = mpsc::unbounded_channel();
    let service = Runtime::new(
        config(&broker.url(), &unique("svc")).build().unwrap(),
        router,
        (),
    )
    .on_error(move |report| {
        let source = report.source.as_deref();
        let _ = tx.send((
            report.kind,
            source
                .and_then(|e| e.downcast_ref::<OutOfStock>())
                .map(|e| e.item.clone()),
            source.is_some_and(|e| e.is::<tars_mqtt::extract::ExtractError>()),
        ));
    })
    .start()
    .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.publish_json(&format!("{p}/place"), &json!({"item": "tea"}))
        .await;
    peer.publish_json(&format!("{p}/place"), &json!({"item": 7}))
        .await;
    for expected in [
        (ErrorKind::Handler, Some("tea".to_owned()), false),
        (ErrorKind::Decode, None, true),
    ] {
        let report = tokio::time::timeout(WAIT, rx.recv()).await.unwrap();
        assert_eq!(report, Some(expected));
    }
    service.shutdown().await;
}

broker_suite!(
    error_hooks_can_downcast_the_handlers_error,
    oversized_payloads_are_reported_and_the_service_goes_on,
    failures_are_isolated_and_reported,
    order_is_kept_per_route_and_concurrency_is_opt_in,
    overflow_drops_are_reported_and_slow_routes_do_not_block_others,
    duplicates_are_dropped_when_dedup_is_on,
    overflow_policies_keep_what_they_promise,
    a_blocking_route_holds_back_the_next_routes_of_the_message,
);
