//! Broker restarts under load: a service with a persistent session handles 5 000 uniquely
//! numbered QoS 1 messages, published by a second tars-mqtt service with a persistent session,
//! while the broker is stopped and restarted three times. Reported: sent, processed, lost,
//! processed twice, longest gap between two processed messages.
//!
//! Mosquitto (persistence on, saving on every change) keeps both sessions: stopped with
//! SIGTERM, nothing may be lost; killed with SIGKILL, only what it acknowledged but had not
//! saved yet may be (none was in any run so far). The embedded broker (rumqttd, a child
//! process killed with SIGKILL) keeps nothing across a restart, so what it held when it died and
//! what arrived before the service had subscribed again is gone; there the test checks that the
//! losses stay inside the restart windows and that everything published while the broker was
//! up is processed.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use tars_mqtt::testing::BrokerProcess;
use tars_mqtt::{Json, QoS, Route, Router, Runtime, ServiceHandle};
use tars_mqtt_it::{WAIT, config, unique};

const N: u64 = 5000;

/// How the load and the restarts are paced.
struct Pace {
    /// The publisher pauses 5 ms after every `burst` messages.
    burst: u64,
    /// Time between the start of the load (or the previous restart) and the next restart.
    restart_every: Duration,
}

/// One run: when each message was accepted by the publisher, when each was processed, when
/// the broker went down and when the service was ready again.
struct Run {
    accepted: Vec<Instant>,
    processed: Vec<(u64, Instant)>,
    /// (broker stopped, service ready again)
    restarts: Vec<(Instant, Instant)>,
}

impl Run {
    fn lost(&self) -> Vec<u64> {
        let seen: BTreeSet<u64> = self.processed.iter().map(|p| p.0).collect();
        (0..N).filter(|s| !seen.contains(s)).collect()
    }

    fn twice(&self) -> usize {
        let seen: BTreeSet<u64> = self.processed.iter().map(|p| p.0).collect();
        self.processed.len() - seen.len()
    }

    fn longest_gap(&self) -> Duration {
        self.processed
            .windows(2)
            .map(|w| w[1].1 - w[0].1)
            .max()
            .unwrap_or_default()
    }

    /// The messages at risk: the broker may have held them when it died, or received them
    /// before the service had subscribed again. Such a message comes after every message
    /// processed before the restart (one publisher, one topic: the broker delivers in order),
    /// and the publisher accepted it before the service was ready again.
    fn at_risk(&self) -> BTreeSet<u64> {
        let mut at_risk = BTreeSet::new();
        for (down, up) in &self.restarts {
            let after = self
                .processed
                .iter()
                .filter(|(_, at)| at < down)
                .map(|(s, _)| s + 1)
                .max()
                .unwrap_or(0);
            at_risk.extend((after..N).filter(|s| self.accepted[*s as usize] <= *up));
        }
        at_risk
    }

    fn report(&self, broker: &str, dedup: bool) -> String {
        format!(
            "{broker} restarted 3 times under load, dedup {}: sent {N}, processed {}, lost {}, processed twice {}, longest gap {:?}",
            if dedup { "on" } else { "off" },
            self.processed.len(),
            self.lost().len(),
            self.twice(),
            self.longest_gap()
        )
    }
}

fn persistent(url: &str, what: &str, dedup: bool) -> tars_mqtt::config::ConfigBuilder {
    let cfg = config(url, &unique(what)).persistent_session(true);
    if dedup {
        cfg.dedupe_ttl(Duration::from_secs(300))
            .dedupe_max_entries(100_000)
    } else {
        cfg
    }
}

async fn start(cfg: tars_mqtt::config::ConfigBuilder, router: Router<()>) -> ServiceHandle {
    let service = Runtime::new(cfg.build().unwrap(), router, ())
        .start()
        .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    service
}

/// Publishes the numbered messages with the given pace; returns when each was accepted.
async fn publish(publisher: tars_mqtt::Publisher, topic: String, burst: u64) -> Vec<Instant> {
    let mut accepted = Vec::with_capacity(N as usize);
    for seq in 0..N {
        publisher
            .event(&topic, "chaos", &json!({"seq": seq}))
            .correlation_id(format!("m{seq}"))
            .await
            .expect("the outgoing queue takes the message");
        accepted.push(Instant::now());
        if seq % burst == burst - 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    accepted
}

async fn restarts_under_load(
    mut broker: BrokerProcess,
    pace: Pace,
    mut restart: impl FnMut(&mut BrokerProcess),
    dedup: bool,
) -> Run {
    let p = unique("chaos");
    let processed: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let record = processed.clone();
    let router = Router::new().route(
        Route::new(
            format!("{p}/work"),
            move |Json(v): Json<serde_json::Value>| {
                let record = record.clone();
                async move {
                    record
                        .lock()
                        .unwrap()
                        .push((v["seq"].as_u64().unwrap(), Instant::now()))
                }
            },
        )
        .qos(QoS::AtLeastOnce)
        .queue_capacity(10_000),
    );
    let service = start(persistent(&broker.url(), "svc", dedup), router).await;
    let sender = start(persistent(&broker.url(), "pub", false), Router::new()).await;
    let load = tokio::spawn(publish(sender.publisher(), format!("{p}/work"), pace.burst));
    let mut readiness = service.readiness();
    let mut restarts = Vec::new();
    let mut processed_at_restarts = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(pace.restart_every).await;
        processed_at_restarts.push(processed.lock().unwrap().len());
        let down = Instant::now();
        restart(&mut broker);
        tokio::time::timeout(WAIT, readiness.wait_for(|r| !r.ready))
            .await
            .expect("the service notices the restart")
            .unwrap();
        tokio::time::timeout(WAIT, readiness.wait_for(|r| r.ready))
            .await
            .expect("the service is ready again")
            .unwrap();
        restarts.push((down, Instant::now()));
    }
    assert!(
        processed_at_restarts[0] > 0 && processed_at_restarts[0] < N as usize,
        "the first restart lands in the middle of the load: {processed_at_restarts:?}"
    );
    let accepted = load.await.unwrap();
    // Until everything arrived, or nothing new did for 3 s (the embedded broker loses some).
    let mut last = (0, Instant::now());
    loop {
        let (count, unique_count) = {
            let processed = processed.lock().unwrap();
            let unique = processed.iter().map(|s| s.0).collect::<BTreeSet<_>>();
            (processed.len(), unique.len())
        };
        if unique_count as u64 == N || last.1.elapsed() > Duration::from_secs(3) {
            break;
        }
        if count != last.0 {
            last = (count, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    sender.shutdown().await;
    service.shutdown().await;
    let processed = processed.lock().unwrap().clone();
    Run {
        accepted,
        processed,
        restarts,
    }
}

const MOSQUITTO_PERSISTENCE: &str =
    "persistence true\nautosave_interval 1\nautosave_on_changes true";

fn mosquitto_pace() -> Pace {
    Pace {
        burst: 50,
        restart_every: Duration::from_millis(250),
    }
}

/// Stopped with SIGTERM, Mosquitto saves its state: nothing may be lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn mosquitto_stopped_under_load_loses_no_qos1_message() {
    for dedup in [false, true] {
        let broker = BrokerProcess::mosquitto(MOSQUITTO_PERSISTENCE).unwrap();
        let restart = |b: &mut BrokerProcess| b.restart_gracefully().unwrap();
        let run = restarts_under_load(broker, mosquitto_pace(), restart, dedup).await;
        eprintln!("{}", run.report("mosquitto stopped (SIGTERM) and", dedup));
        assert_eq!(run.lost(), [0u64; 0], "no QoS 1 message is lost");
        if dedup {
            assert_eq!(run.twice(), 0, "dedup removes redeliveries");
        }
    }
}

/// Killed with SIGKILL, Mosquitto can lose what it acknowledged since its last save (it saves
/// after acknowledging, not before): any loss must stay inside the restart windows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn mosquitto_killed_under_load_loses_only_what_it_had_not_saved() {
    for dedup in [false, true] {
        let broker = BrokerProcess::mosquitto(MOSQUITTO_PERSISTENCE).unwrap();
        let restart = |b: &mut BrokerProcess| b.restart().unwrap();
        let run = restarts_under_load(broker, mosquitto_pace(), restart, dedup).await;
        check_losses(&run, "mosquitto killed (SIGKILL) and", dedup);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_broker_restarts_lose_only_what_the_broker_held() {
    for dedup in [false, true] {
        let pace = Pace {
            burst: 5,
            restart_every: Duration::from_millis(1200),
        };
        let broker = BrokerProcess::program(env!("CARGO_BIN_EXE_tars-test-broker")).unwrap();
        let run = restarts_under_load(broker, pace, |b| b.restart().unwrap(), dedup).await;
        check_losses(
            &run,
            "embedded broker (rumqttd) killed (SIGKILL) and",
            dedup,
        );
    }
}

/// Reports a run and checks that every lost message was at risk, that messages were processed
/// after each restart, and that dedup left no duplicate.
fn check_losses(run: &Run, broker: &str, dedup: bool) {
    let lost = run.lost();
    let at_risk = run.at_risk();
    let outside: Vec<u64> = lost
        .iter()
        .copied()
        .filter(|s| !at_risk.contains(s))
        .collect();
    eprintln!(
        "{}; at risk {}; lost {lost:?}; windows (stopped → ready again) {:?}",
        run.report(broker, dedup),
        at_risk.len(),
        run.restarts
            .iter()
            .map(|(down, up)| *up - *down)
            .collect::<Vec<_>>()
    );
    assert_eq!(outside, [0u64; 0], "lost outside the restart windows");
    for (_, up) in &run.restarts {
        assert!(
            run.processed.iter().any(|(_, at)| at > up),
            "messages are processed after each restart"
        );
    }
    if dedup {
        assert_eq!(run.twice(), 0, "dedup removes redeliveries");
    }
}
