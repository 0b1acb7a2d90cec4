//! Broker restarts under load: a service with a persistent session handles 5 000 uniquely
//! numbered QoS 1 messages from a publisher with a persistent session while Mosquitto (with
//! persistence, saving on every change) is stopped — with SIGTERM, or killed with SIGKILL — and
//! restarted three times. Reported: sent, processed, lost, processed twice, longest gap between
//! two processed messages.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use serde_json::json;
use tars_mqtt::testing::BrokerProcess;
use tars_mqtt::{Json, QoS, Route, Router, Runtime};
use tars_mqtt_it::{WAIT, config, unique};

const N: u64 = 5000;

struct Report {
    processed: usize,
    lost: usize,
    twice: usize,
    longest_gap: Duration,
}

/// A raw rumqttc publisher with a persistent session that keeps polling through restarts;
/// returns once the broker acknowledged every message (or after 30 s).
async fn publish(port: u16, topic: String) {
    let mut options = MqttOptions::new(unique("chaos-pub"), "127.0.0.1", port);
    options.set_clean_session(false);
    options.set_inflight(100);
    let (client, mut eventloop) = AsyncClient::new(options, 100);
    let acked = Arc::new(Mutex::new(0u64));
    let counter = acked.clone();
    let poll = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => *counter.lock().unwrap() += 1,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    for seq in 0..N {
        let payload =
            json!({"id": format!("m{seq}"), "type": "chaos", "data": {"seq": seq}}).to_string();
        client
            .publish(&topic, rumqttc::QoS::AtLeastOnce, false, payload)
            .await
            .unwrap();
        if seq % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while *acked.lock().unwrap() < N && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    poll.abort();
}

async fn restarts_under_load(sigkill: bool, dedup: bool) -> Report {
    let persistence = "persistence true\nautosave_interval 1\nautosave_on_changes true";
    let mut broker = BrokerProcess::mosquitto(persistence).unwrap();
    let p = unique("chaos");
    let seen: Arc<Mutex<Vec<(u64, Instant)>>> = Arc::default();
    let record = seen.clone();
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
    let mut cfg = config(&broker.url(), &unique("svc")).persistent_session(true);
    if dedup {
        cfg = cfg
            .dedupe_ttl(Duration::from_secs(300))
            .dedupe_max_entries(100_000);
    }
    let service = Runtime::new(cfg.build().unwrap(), router, ())
        .start()
        .unwrap();
    service.wait_ready(WAIT).await.unwrap();
    let publisher = tokio::spawn(publish(broker.port(), format!("{p}/work")));
    let mut handled_at_restarts = Vec::new();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        handled_at_restarts.push(seen.lock().unwrap().len());
        if sigkill {
            broker.restart().unwrap();
        } else {
            broker.restart_gracefully().unwrap();
        }
    }
    assert!(
        handled_at_restarts[0] > 0 && handled_at_restarts[0] < N as usize,
        "the first restart lands in the middle of the load: {handled_at_restarts:?}"
    );
    publisher.await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while (seen
        .lock()
        .unwrap()
        .iter()
        .map(|s| s.0)
        .collect::<BTreeSet<_>>()
        .len() as u64)
        < N
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    service.shutdown().await;
    let seen = seen.lock().unwrap().clone();
    let unique_seen: BTreeSet<u64> = seen.iter().map(|s| s.0).collect();
    Report {
        processed: seen.len(),
        lost: (0..N).filter(|s| !unique_seen.contains(s)).count(),
        twice: seen.len() - unique_seen.len(),
        longest_gap: seen
            .windows(2)
            .map(|w| w[1].1 - w[0].1)
            .max()
            .unwrap_or_default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(has_mosquitto),
    ignore = "mosquitto is not installed: apt-get install -y mosquitto"
)]
async fn mosquitto_restarts_under_load_lose_no_qos1_message() {
    for (sigkill, dedup) in [(false, false), (false, true), (true, false), (true, true)] {
        let r = restarts_under_load(sigkill, dedup).await;
        eprintln!(
            "mosquitto {} and restarted 3 times under load, dedup {}: sent {N}, processed {}, lost {}, processed twice {}, longest gap {:?}",
            if sigkill {
                "killed (SIGKILL)"
            } else {
                "stopped (SIGTERM)"
            },
            if dedup { "on" } else { "off" },
            r.processed,
            r.lost,
            r.twice,
            r.longest_gap
        );
        assert_eq!(r.lost, 0, "no QoS 1 message is lost");
        if dedup {
            assert_eq!(r.twice, 0, "dedup removes redeliveries");
        }
    }
}
