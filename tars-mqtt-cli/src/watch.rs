//! `watch`: a live table of every service on the broker, from the retained health messages
//! (`system/health/+`, also the Python services'), the heartbeats (`system/keepalive/+`) and a
//! `stats` request to every service at each refresh. In a terminal the table is redrawn in
//! place; otherwise each frame is printed after the previous one.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use tars_mqtt::QoS;
use tars_mqtt::discovery::{Stats, Verb, reply_topic, request_topic};
use tokio::time::Instant;

use crate::Connection;
use crate::client::{Client, Received};
use crate::table::{Table, age, cut, now};

/// What is known of one client id.
#[derive(Default)]
struct Row {
    /// The latest health event (`ready`, `shutdown`, `offline`, …) with its `err` and time.
    health: Option<(String, Option<String>, f64)>,
    /// When the latest heartbeat arrived.
    beat: Option<f64>,
    /// The latest stats answer, and when it arrived.
    stats: Option<(Stats, f64)>,
}

pub(crate) async fn run(
    conn: &Connection,
    interval: Duration,
    frames: Option<u64>,
) -> Result<ExitCode, String> {
    let filters = [
        "system/health/+".to_owned(),
        "system/keepalive/+".to_owned(),
        reply_topic(Verb::Stats),
    ];
    let mut client = Client::connect(conn, &filters).await?;
    let terminal = std::io::stdout().is_terminal();
    let mut rows: BTreeMap<String, Row> = BTreeMap::new();
    let mut frame = 0;
    let mut next = Instant::now();
    loop {
        ask_for_stats(&client).await;
        // Answers to this round's request arrive well within the interval; what arrives later
        // is taken in the next round.
        next += interval;
        let ctrl_c = tokio::signal::ctrl_c();
        tokio::pin!(ctrl_c);
        loop {
            tokio::select! {
                m = client.next(next) => match m {
                    Some(message) => take(&mut rows, &message),
                    None => break,
                },
                _ = &mut ctrl_c => {
                    client.close().await;
                    return Ok(ExitCode::SUCCESS);
                }
            }
        }
        frame += 1;
        let text = render(&crate::client::shown(&conn.url), &rows, interval);
        let mut out = std::io::stdout().lock();
        let drawn = if terminal {
            write!(out, "\x1b[H\x1b[2J{text}")
        } else {
            writeln!(out, "{text}")
        };
        if drawn.and_then(|()| out.flush()).is_err() {
            break; // the reader went away (e.g. `| head`)
        }
        if frames.is_some_and(|n| frame >= n) {
            break;
        }
    }
    client.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn ask_for_stats(client: &Client) {
    let sent = client
        .publisher()
        .event(
            &request_topic(Verb::Stats, None),
            "service.stats.request",
            &serde_json::json!({}),
        )
        .qos(QoS::AtMostOnce)
        .await;
    if let Err(e) = sent {
        eprintln!("tars-mqtt watch: could not ask for stats: {e}");
    }
}

/// Files a received message under its client id.
fn take(rows: &mut BTreeMap<String, Row>, message: &Received) {
    let Some(json) = message.json() else { return };
    let last_level = message.topic.rsplit('/').next().unwrap_or_default();
    if message.topic.starts_with("system/health/") {
        let data = &json["data"];
        // A health message without an event (a service reporting a failure) reads as its `ok`.
        let event = match (data["event"].as_str(), data["ok"].as_bool()) {
            (Some(event), _) => event,
            (None, Some(true)) => "ok",
            (None, _) => "error",
        }
        .to_owned();
        let err = data["err"].as_str().map(str::to_owned);
        let at = json["ts"]
            .as_f64()
            .or(data["timestamp"].as_f64())
            .unwrap_or_else(now);
        rows.entry(last_level.to_owned()).or_default().health = Some((event, err, at));
    } else if message.topic.starts_with("system/keepalive/") {
        rows.entry(last_level.to_owned()).or_default().beat = Some(now());
    } else if let Ok(stats) = serde_json::from_value::<Stats>(json["data"].clone()) {
        let row = rows.entry(stats.service.client_id.clone()).or_default();
        row.stats = Some((stats, now()));
    }
}

fn render(url: &str, rows: &BTreeMap<String, Row>, interval: Duration) -> String {
    let mut table = Table::new(&[
        "CLIENT ID",
        "NAME",
        "STATE",
        "SINCE",
        "HEARTBEAT",
        "ANSWERED",
        "ROUTES",
        "RECEIVED",
        "FAILED",
        "QUEUED",
        "LAST ERROR",
    ]);
    let t = now();
    for (client_id, row) in rows {
        let (state, since) = match &row.health {
            Some((event, _, at)) => (event.clone(), age(t - at)),
            None => ("-".to_owned(), "-".to_owned()),
        };
        let beat = row.beat.map_or("-".to_owned(), |b| age(t - b));
        let (name, answered, routes, received, failed, queued, last_error) = match &row.stats {
            Some((stats, at)) => {
                let sum = |f: fn(&tars_mqtt::discovery::RouteStatsReport) -> u64| {
                    stats.routes.iter().map(f).sum::<u64>().to_string()
                };
                let last = stats
                    .routes
                    .iter()
                    .filter_map(|r| r.last_error.as_ref().map(|e| (r, e)))
                    .max_by(|a, b| a.1.at.total_cmp(&b.1.at))
                    .map_or("-".to_owned(), |(r, e)| {
                        format!("{} ago, {}: {}", age(t - e.at), r.name, cut(&e.message, 32))
                    });
                (
                    stats.service.name.clone(),
                    age(t - at),
                    stats.routes.len().to_string(),
                    sum(|r| r.received),
                    sum(|r| r.decode_errors + r.handler_errors + r.panics + r.timeouts + r.dropped),
                    sum(|r| r.queue_depth as u64),
                    last,
                )
            }
            None => Default::default(),
        };
        let health_err = row.health.as_ref().and_then(|h| h.1.clone());
        let last_error = match (last_error.is_empty(), health_err) {
            (true, Some(err)) => cut(&err, 50),
            (true, None) => "-".to_owned(),
            (false, _) => last_error,
        };
        let dash = |s: String| if s.is_empty() { "-".to_owned() } else { s };
        table.row(vec![
            client_id.clone(),
            dash(name),
            state,
            since,
            beat,
            dash(answered),
            dash(routes),
            dash(received),
            dash(failed),
            dash(queued),
            last_error,
        ]);
    }
    let mut text = format!(
        "tars-mqtt watch  {url}  {} services  refresh {}\n\n",
        rows.len(),
        age(interval.as_secs_f64())
    );
    if rows.is_empty() {
        text.push_str("(no service seen yet)\n");
    } else {
        text.push_str(&table.render());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn received(topic: &str, payload: Value) -> Received {
        Received {
            topic: topic.to_owned(),
            payload: serde_json::to_vec(&payload).unwrap(),
        }
    }

    #[test]
    fn rows_from_health_heartbeats_and_stats() {
        let mut rows = BTreeMap::new();
        let ts = now() - 5.0;
        take(
            &mut rows,
            &received(
                "system/health/tars-memory",
                serde_json::json!({"id":"1","type":"health.status","ts":ts,"source":"m",
                    "data":{"message_id":"1","ok":true,"event":"ready","timestamp":ts}}),
            ),
        );
        take(
            &mut rows,
            &received(
                "system/health/tars-stt",
                serde_json::json!({"id":"2","type":"health.status","ts":ts,"source":"s",
                    "data":{"message_id":"2","ok":false,"event":"offline","err":"connection lost","timestamp":ts}}),
            ),
        );
        take(
            &mut rows,
            &received(
                "system/keepalive/tars-memory",
                serde_json::json!({"ok":true,"event":"heartbeat","timestamp":ts}),
            ),
        );
        let text = render("mqtt://127.0.0.1:1883", &rows, Duration::from_secs(1));
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("2 services"), "{text}");
        assert!(lines[3].starts_with("tars-memory"), "{text}");
        assert!(lines[3].contains(" ready "), "{text}");
        assert!(lines[4].contains(" offline "), "{text}");
        assert!(lines[4].ends_with("connection lost"), "{text}");
    }
}
