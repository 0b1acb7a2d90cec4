//! Reconnection: the broker stopped and restarted under a running service, publishing and
//! requests during an outage, credentials, refused logins.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use tars_mqtt::testing::{BrokerProcess, EmbeddedBroker, TestClient};
use tars_mqtt::{ConnectionState, Json, QoS, Route, Router, ServiceHandle};
use tars_mqtt_it::{WAIT, config, restart_suite, start, unique};

/// A broker process that tests can stop and restart: this crate's rumqttd binary.
fn restartable_embedded() -> BrokerProcess {
    BrokerProcess::program(env!("CARGO_BIN_EXE_tars-test-broker")).expect("start the broker binary")
}

/// The echo router on `{p}/echo` → `{p}/echoed`.
pub(crate) fn echo(p: &str) -> Router<()> {
    tars_mqtt_it::echo(format!("{p}/echo"), format!("{p}/echoed"))
}

async fn survives_three_broker_restarts(mut broker: BrokerProcess) {
    let p = unique("restart");
    let id = unique("svc");
    let service = start(config(&broker.url(), &id), echo(&p), ()).await;
    let mut readiness = service.readiness();
    for round in 0..3 {
        broker.restart().expect("broker restarts");
        let restarted = tokio::time::Instant::now();
        // The same service instance must answer within 10 s of the restart. Requests are
        // repeated until answered (the service needs a moment to notice the restart); replies
        // are matched by id, as at-least-once delivery may bring a duplicate of an older one.
        let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
        peer.subscribe(&format!("{p}/echoed")).await;
        let id = format!("r{round}");
        let request = json!({"id": id, "type": "t", "data": {"round": round}});
        let reply = loop {
            assert!(
                restarted.elapsed() < WAIT,
                "no answer within 10 s of restart {round}"
            );
            peer.publish_json(&format!("{p}/echo"), &request).await;
            let answered = tokio::time::timeout(
                Duration::from_secs(1),
                peer.expect_where(&format!("{p}/echoed"), WAIT, |m| m.json()["id"] == id),
            )
            .await;
            if let Ok(m) = answered {
                break m.json();
            }
        };
        assert_eq!(reply["data"]["round"], round);
        tokio::time::timeout(
            WAIT,
            readiness.wait_for(|r| r.ready && r.connection == ConnectionState::Connected),
        )
        .await
        .expect("readiness reports the reconnection")
        .unwrap();
    }
    service.shutdown().await;
}

/// The on-ready hook runs after the first connection and again after every reconnection,
/// after `ready`: retained state published there survives broker restarts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ready_hook_republishes_after_every_reconnection() {
    let mut broker = restartable_embedded();
    let p = unique("hook");
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let counter = runs.clone();
    let cfg = config(&broker.url(), &unique("svc")).build().unwrap();
    let topic = format!("{p}/state");
    let service = tars_mqtt::Runtime::new(cfg, Router::<()>::new(), ())
        .on_ready(move |_, publisher| {
            let (counter, topic) = (counter.clone(), topic.clone());
            async move {
                let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                publisher
                    .event(&topic, "state", &json!({"connection": n}))
                    .retain(true)
                    .await?;
                Ok::<_, tars_mqtt::PublishError>(())
            }
        })
        .start()
        .unwrap();
    for connection in 1..=2u32 {
        let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
        peer.subscribe(&format!("{p}/state")).await;
        peer.expect_where(&format!("{p}/state"), WAIT, |m| {
            m.json()["data"]["connection"] == connection
        })
        .await;
        drop(peer);
        if connection == 1 {
            broker.restart().unwrap();
        }
    }
    assert_eq!(runs.load(std::sync::atomic::Ordering::SeqCst), 2);
    service.shutdown().await;
}

/// Stops the broker and waits until the service has noticed (it is no longer ready).
async fn stop_and_wait_until_noticed(broker: &mut BrokerProcess, service: &ServiceHandle) {
    broker.stop();
    let mut readiness = service.readiness();
    tokio::time::timeout(WAIT, readiness.wait_for(|r| !r.ready))
        .await
        .unwrap()
        .unwrap();
}

/// While the broker is down, publishes fill a bounded queue and then fail after
/// `publish_timeout`; requests fail after their own timeout; nothing waits longer; publishing
/// works again once the broker is back.
async fn publishing_while_the_broker_is_down_is_bounded(mut broker: BrokerProcess) {
    let p = unique("down");
    let cfg = config(&broker.url(), &unique("svc"))
        .outgoing_capacity(8)
        .publish_timeout(Duration::from_millis(300))
        .request_timeout(Duration::from_millis(500));
    let service = start(cfg, Router::<()>::new(), ()).await;
    let publisher = service.publisher();
    stop_and_wait_until_noticed(&mut broker, &service).await;
    let (mut queued, mut refused) = (0, 0);
    for n in 0..20 {
        // The bound under test is the publish timeout; WAIT only keeps a hang from hanging the test.
        let outcome = tokio::time::timeout(
            WAIT,
            publisher.event(&format!("{p}/out"), "t", &json!({"n": n})),
        )
        .await;
        match outcome.expect("a publish never waits past its timeout") {
            Ok(_) => queued += 1,
            Err(tars_mqtt::PublishError::Timeout(d)) => {
                assert_eq!(d, Duration::from_millis(300));
                refused += 1;
            }
            Err(other) => panic!("unexpected error: {other}"),
        }
    }
    assert!(
        (1..=16).contains(&queued),
        "the outgoing queue is bounded: {queued} queued"
    );
    assert_eq!(queued + refused, 20);
    let request = publisher
        .request::<_, serde_json::Value>(&format!("{p}/req"), "q", &json!({}))
        .reply_on(format!("{p}/rep"));
    let err = tokio::time::timeout(WAIT, request)
        .await
        .expect("a request never waits past its timeout")
        .unwrap_err();
    assert!(
        matches!(
            err,
            tars_mqtt::RequestError::Timeout { .. } | tars_mqtt::RequestError::Publish(_)
        ),
        "{err}"
    );

    broker.start().unwrap();
    let mut peer = TestClient::connect(&broker.url(), &unique("peer")).await;
    peer.subscribe(&format!("{p}/out")).await;
    service.wait_ready(WAIT).await.unwrap();
    publisher
        .event(&format!("{p}/out"), "t", &json!({"n": "after"}))
        .await
        .unwrap();
    let after = peer
        .expect_where(&format!("{p}/out"), WAIT, |m| {
            m.json()["data"]["n"] == "after"
        })
        .await;
    assert_eq!(after.json()["type"], "t");
    service.shutdown().await;
}

/// Freezes the broker, publishes `n` QoS 1 events to the service's own route, kills and
/// restarts the broker, and returns what the route received (waiting until all `n` arrived, or
/// 10 s).
async fn publish_through_a_crash(
    broker: &mut BrokerProcess,
    cfg: tars_mqtt::config::ConfigBuilder,
    n: u64,
) -> Vec<u64> {
    let p = unique("unacked");
    let received: Arc<Mutex<Vec<u64>>> = Arc::default();
    let record = received.clone();
    let router = Router::new().route(
        Route::new(
            format!("{p}/out"),
            move |Json(v): Json<serde_json::Value>| {
                let record = record.clone();
                async move { record.lock().unwrap().push(v["n"].as_u64().unwrap()) }
            },
        )
        .qos(QoS::AtLeastOnce),
    );
    let service = start(cfg, router, ()).await;
    let publisher = service.publisher();
    // The broker has saved the session (if it persists anything) by now.
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.freeze();
    for n in 0..n {
        publisher
            .event(&format!("{p}/out"), "t", &json!({"n": n}))
            .qos(QoS::AtLeastOnce)
            .await
            .unwrap();
    }
    // Written to the frozen broker's socket (up to the in-flight window), unacknowledged, the
    // rest queued; then the broker dies.
    tokio::time::sleep(Duration::from_millis(200)).await;
    broker.restart().unwrap();
    let deadline = tokio::time::Instant::now() + WAIT;
    while received
        .lock()
        .unwrap()
        .iter()
        .collect::<std::collections::BTreeSet<_>>()
        .len()
        < n as usize
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    service.shutdown().await;
    received.lock().unwrap().clone()
}

/// Publishes the broker took but never acknowledged (it hung, then died) are sent again once
/// the service is back, though the restarted broker kept no session for it, and only after
/// the service's own subscriptions are in place: the service, listening to what it publishes,
/// gets each of them once and in order.
async fn unacknowledged_publishes_are_sent_again_after_a_restart(mut broker: BrokerProcess) {
    let cfg = config(&broker.url(), &unique("svc"));
    let received = publish_through_a_crash(&mut broker, cfg, 5).await;
    assert_eq!(received, [0, 1, 2, 3, 4]);
}

/// With a session the broker kept, more publishes than the in-flight window (100) at the
/// crash: the window is sent again with its packet ids and the queued rest gets free ones, so
/// none of the 300 is lost (a queued publish given the id of one still in flight is lost
/// otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn a_full_inflight_window_survives_a_crash_with_a_kept_session() {
    let mut broker =
        BrokerProcess::mosquitto("persistence true\nautosave_interval 1\nautosave_on_changes true")
            .unwrap();
    let cfg = config(&broker.url(), &unique("svc")).persistent_session(true);
    let received = publish_through_a_crash(&mut broker, cfg, 300).await;
    let distinct: std::collections::BTreeSet<u64> = received.iter().copied().collect();
    let lost: Vec<u64> = (0..300).filter(|n| !distinct.contains(n)).collect();
    assert_eq!(lost, [0u64; 0], "received {} of 300", distinct.len());
}

/// A request made while the broker is down goes out only once the service has subscribed
/// again to its reply topic. The request and reply topic are the same here, so the request
/// answers itself exactly when the subscription was in place before it was published.
async fn a_request_made_during_an_outage_waits_for_its_reply_subscription(
    mut broker: BrokerProcess,
) {
    let topic = format!("{}/loop", unique("outage"));
    let service = start(
        config(&broker.url(), &unique("svc")),
        Router::<()>::new(),
        (),
    )
    .await;
    let publisher = service.publisher();
    let ask = || {
        publisher
            .request::<_, serde_json::Value>(&topic, "loop", &json!({"n": 1}))
            .reply_on(topic.clone())
            .timeout(WAIT)
    };
    ask().await.expect("answered by itself while connected");
    stop_and_wait_until_noticed(&mut broker, &service).await;
    let during = tokio::spawn(ask().into_future());
    tokio::time::sleep(Duration::from_millis(300)).await;
    broker.start().unwrap();
    let reply = during
        .await
        .unwrap()
        .expect("the request made during the outage");
    assert_eq!(reply.data["n"], 1);
    service.shutdown().await;
}

restart_suite!(
    a_request_made_during_an_outage_waits_for_its_reply_subscription,
    unacknowledged_publishes_are_sent_again_after_a_restart,
    publishing_while_the_broker_is_down_is_bounded,
    survives_three_broker_restarts
);

/// `refusal` is what the broker's answer to a wrong password says: Mosquitto answers with a
/// CONNACK refusal, rumqttd closes the connection.
async fn login_with_percent_encoded_credentials(url_for: impl Fn(&str) -> String, refusal: &str) {
    let id = unique("auth");
    let good = url_for("svc%40tars:p%40ss%3Aw%2Frd%25");
    let service = start(config(&good, &id), Router::<()>::new(), ()).await;
    service.shutdown().await;
    let error = tars_mqtt_it::refusal(config(&url_for("svc%40tars:wrong"), &unique("auth"))).await;
    assert!(error.contains(refusal), "{error}");
    assert!(!error.contains("wrong"), "the password is not in the error");
}

/// A Mosquitto that admits only `user` with `password`, and the folder of its password file
/// (made by `mosquitto_passwd`, installed with Mosquitto), removed when dropped.
fn mosquitto_with_password(user: &str, password: &str) -> (BrokerProcess, tars_mqtt_it::TempDir) {
    let dir = tars_mqtt_it::TempDir::new("passwd");
    let passwd = dir.path().join("passwd");
    let made = std::process::Command::new("mosquitto_passwd")
        .args(["-b", "-c"])
        .arg(&passwd)
        .args([user, password])
        .status()
        .expect("mosquitto_passwd is installed with mosquitto");
    assert!(made.success());
    let broker = BrokerProcess::mosquitto(&format!("password_file {}", passwd.display())).unwrap();
    (broker, dir)
}

/// A wrong password is refused with one clear reason and retried with backoff, not in a tight
/// loop; neither the right nor the wrong password appears anywhere in the logs, at any level.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn credentials_never_reach_the_logs_and_refusals_back_off() {
    let secret = "Sup3r-S3cret-pw";
    let (broker, _dir) = mosquitto_with_password("svc", secret);
    let run = |password: &str, for_ms: u64| {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tars-test-service"))
            .env(
                "MQTT_URL",
                format!("mqtt://svc:{password}@127.0.0.1:{}", broker.port()),
            )
            .env("MQTT_CLIENT_ID", unique("secret"))
            .env("MQTT_RECONNECT_MIN_DELAY", "0.5")
            .env("MQTT_RECONNECT_MAX_DELAY", "2")
            .env("RUST_LOG", "trace")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(for_ms));
        child.kill().unwrap();
        let out = child.wait_with_output().unwrap();
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let good = run(secret, 1500);
    assert!(good.contains("connected"), "{good}");
    assert!(
        !good.contains(secret),
        "the password appears in the trace output"
    );
    let wrong = "Wr0ng-Pa55word";
    let bad = run(wrong, 3000);
    assert!(
        !bad.contains(wrong) && !bad.contains(secret),
        "a password appears in the trace output"
    );
    let refusals = bad.matches("connection refused by the broker").count();
    eprintln!(
        "wrong password: {refusals} attempts in 3 s; trace output {} bytes, no password in it",
        bad.len()
    );
    assert!(refusals >= 1, "the refusal is reported: {bad}");
    // 0.5 s doubling to 2 s (with jitter from half of each step): at most ~6 attempts in 3 s.
    assert!(refusals <= 8, "{refusals} attempts in 3 s: no backoff");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_accepts_percent_encoded_credentials() {
    let broker = EmbeddedBroker::start_with_users(&[("svc@tars", "p@ss:w/rd%")]);
    let port = broker.port();
    login_with_percent_encoded_credentials(
        |creds| format!("mqtt://{creds}@127.0.0.1:{port}"),
        "closed",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn mosquitto_accepts_percent_encoded_credentials() {
    let (broker, _dir) = mosquitto_with_password("svc@tars", "p@ss:w/rd%");
    let port = broker.port();
    login_with_percent_encoded_credentials(
        |creds| format!("mqtt://{creds}@127.0.0.1:{port}"),
        "refused",
    )
    .await;
}
