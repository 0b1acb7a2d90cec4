//! The one-shot commands: discovery (`ls`, `ping`, `info`, `stats`, `asyncapi`) and messaging
//! (`request`, `publish`, `subscribe`).

use std::process::ExitCode;
use std::time::Duration;

use serde_json::Value;
use tars_mqtt::discovery::{Info, Ping, Stats, Verb, reply_topic};
use tars_mqtt::{Envelope, QoS, RequestError};

use crate::client::{Client, Received};
use crate::table::{Table, age, cut, millis, now};
use crate::{Cli, Command, Connection};

pub(crate) async fn run(cli: Cli) -> Result<ExitCode, String> {
    let conn = cli.connection;
    let json = cli.json;
    match cli.command {
        Command::Ls => ls(&conn, json).await,
        Command::Ping { target } => ping(&conn, target.as_deref(), json).await,
        Command::Info { target, all } => info(&conn, &target, all, json).await,
        Command::Stats { target, all } => stats(&conn, &target, all, json).await,
        Command::Asyncapi { target } => asyncapi(&conn, &target).await,
        Command::Request {
            topic,
            data,
            reply_on,
            event_type,
        } => request(&conn, &topic, &data, reply_on, &event_type).await,
        Command::Publish {
            topic,
            data,
            event_type,
            qos,
            retain,
            raw,
        } => {
            let qos = QoS::from_u8(qos).expect("clap checks the range");
            publish(&conn, &topic, &data, &event_type, qos, retain, raw).await
        }
        Command::Subscribe { filters, count } => subscribe(&conn, &filters, count, json).await,
        Command::Watch { interval, frames } => crate::watch::run(&conn, interval, frames).await,
    }
}

/// Asks every service, or `target`, and returns the answers decoded as `T`.
async fn discover<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    verb: Verb,
    target: Option<&str>,
    all: bool,
) -> Result<Vec<(T, Duration, Value)>, String> {
    let mut client = Client::connect(conn, &[reply_topic(verb)]).await?;
    let answers = client.discover(verb, target, conn.timeout, all).await;
    client.close().await;
    let answers = answers?;
    if let (Some(target), true) = (target, answers.is_empty()) {
        return Err(format!(
            "no service named `{target}` (or with that client id) answered within {:?}",
            conn.timeout
        ));
    }
    answers
        .into_iter()
        .map(|(data, took)| {
            serde_json::from_value(data.clone())
                .map(|decoded| (decoded, took, data))
                .map_err(|e| format!("an answer to {verb} did not decode: {e}"))
        })
        .collect()
}

fn print_json(values: impl IntoIterator<Item = Value>) -> Result<ExitCode, String> {
    let values: Vec<Value> = values.into_iter().collect();
    println!("{}", serde_json::to_string_pretty(&values).expect("JSON"));
    Ok(ExitCode::SUCCESS)
}

async fn ls(conn: &Connection, json: bool) -> Result<ExitCode, String> {
    let mut services = discover::<Ping>(conn, Verb::Ping, None, true).await?;
    services.sort_by(|a, b| (&a.0.name, &a.0.client_id).cmp(&(&b.0.name, &b.0.client_id)));
    if json {
        return print_json(services.into_iter().map(|(_, _, raw)| raw));
    }
    if services.is_empty() {
        eprintln!("no service answered within {:?}", conn.timeout);
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&["NAME", "CLIENT ID", "VERSION", "INSTANCE", "UP"]);
    for (s, _, _) in &services {
        table.row(vec![
            s.name.clone(),
            s.client_id.clone(),
            s.version.clone(),
            cut(&s.instance_id, 8),
            age(now() - s.started_at),
        ]);
    }
    print!("{}", table.render());
    Ok(ExitCode::SUCCESS)
}

async fn ping(conn: &Connection, target: Option<&str>, json: bool) -> Result<ExitCode, String> {
    let answers = discover::<Ping>(conn, Verb::Ping, target, true).await?;
    if json {
        return print_json(answers.into_iter().map(|(_, _, raw)| raw));
    }
    for (p, took, _) in &answers {
        println!(
            "pong from {} ({}) in {} ms",
            p.name,
            p.client_id,
            millis(took.as_secs_f64() * 1e3)
        );
    }
    if answers.is_empty() {
        eprintln!("no service answered within {:?}", conn.timeout);
    }
    Ok(ExitCode::SUCCESS)
}

async fn info(conn: &Connection, target: &str, all: bool, json: bool) -> Result<ExitCode, String> {
    let answers = discover::<Info>(conn, Verb::Info, Some(target), all).await?;
    if json {
        return print_json(answers.into_iter().map(|(_, _, raw)| raw));
    }
    for (info, _, _) in &answers {
        let s = &info.service;
        println!("{} {} ({})", s.name, s.version, s.client_id);
        println!("  instance  {}", s.instance_id);
        println!("  up        {}", age(now() - s.started_at));
        println!("  broker    {} (MQTT {})", info.endpoint, info.protocol);
        println!("  source    {}", info.source);
        println!("  runtime   {}", info.framework);
        let mut table = Table::new(&[
            "ROUTE", "FILTER", "QOS", "REPLY", "EVENT", "WORKERS", "QUEUE", "OVERFLOW", "TIMEOUT",
        ]);
        for r in &info.routes {
            let queue = match &r.queue_group {
                Some(group) => format!("{} ({group})", r.queue_capacity),
                None => r.queue_capacity.to_string(),
            };
            table.row(vec![
                r.name.clone(),
                r.filter.clone(),
                r.qos.to_string(),
                r.reply.as_ref().map_or("-".into(), |x| x.topic.clone()),
                r.reply
                    .as_ref()
                    .map_or("-".into(), |x| x.event_type.clone()),
                r.concurrency.to_string(),
                queue,
                r.overflow.clone(),
                r.timeout_ms
                    .map_or("-".into(), |ms| format!("{}ms", millis(ms))),
            ]);
        }
        print!("\n{}", indent(&table.render()));
    }
    Ok(ExitCode::SUCCESS)
}

async fn stats(conn: &Connection, target: &str, all: bool, json: bool) -> Result<ExitCode, String> {
    let answers = discover::<Stats>(conn, Verb::Stats, Some(target), all).await?;
    if json {
        return print_json(answers.into_iter().map(|(_, _, raw)| raw));
    }
    for (stats, _, _) in &answers {
        let s = &stats.service;
        println!(
            "{} ({}), up {}",
            s.name,
            s.client_id,
            age(stats.ts - s.started_at)
        );
        let mut table = Table::new(&[
            "ROUTE", "RECEIVED", "HANDLED", "DECODE", "ERRORS", "PANICS", "TIMEOUTS", "DROPPED",
            "QUEUE", "P50 MS", "P99 MS", "MAX MS",
        ]);
        let mut failures = Vec::new();
        for r in &stats.routes {
            table.row(vec![
                r.name.clone(),
                r.received.to_string(),
                r.handled.to_string(),
                r.decode_errors.to_string(),
                r.handler_errors.to_string(),
                r.panics.to_string(),
                r.timeouts.to_string(),
                r.dropped.to_string(),
                format!("{}/{}", r.queue_depth, r.queue_max),
                millis(r.processing_ms.p50),
                millis(r.processing_ms.p99),
                millis(r.processing_ms.max),
            ]);
            if let Some(e) = &r.last_error {
                failures.push(format!(
                    "  last error of {}, {} ago: {}: {}",
                    r.name,
                    age(stats.ts - e.at),
                    e.kind,
                    cut(&e.message, 160)
                ));
            }
        }
        print!("{}", indent(&table.render()));
        for line in failures {
            println!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn asyncapi(conn: &Connection, target: &str) -> Result<ExitCode, String> {
    let answers = discover::<Value>(conn, Verb::AsyncApi, Some(target), false).await?;
    let (document, _, _) = answers.into_iter().next().expect("one answer or an error");
    println!("{}", serde_json::to_string_pretty(&document).expect("JSON"));
    Ok(ExitCode::SUCCESS)
}

/// The JSON object given on the command line.
fn object(data: &str) -> Result<Value, String> {
    match serde_json::from_str(data) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) => Err("the data must be a JSON object, e.g. '{\"text\":\"hi\"}'".to_owned()),
        Err(e) => Err(format!("the data is not JSON: {e}")),
    }
}

async fn request(
    conn: &Connection,
    topic: &str,
    data: &str,
    reply_on: Option<String>,
    event_type: &str,
) -> Result<ExitCode, String> {
    let data = object(data)?;
    let reply_on = match (reply_on, conn.protocol) {
        (Some(topic), _) => topic,
        (None, tars_mqtt::config::Protocol::V5) => {
            format!("tars-mqtt-cli/{}/reply", &tars_mqtt::wire::new_id()[..12])
        }
        (None, _) => {
            return Err(
                "--reply-on is needed on MQTT 3.1.1 (it has no Response Topic); \
                        with --protocol 5 it is optional"
                    .to_owned(),
            );
        }
    };
    let client = Client::connect(conn, &[]).await?;
    let reply = client
        .publisher()
        .request::<_, Value>(topic, event_type, &data)
        .reply_on(reply_on)
        .timeout(conn.timeout)
        .await;
    client.close().await;
    match reply {
        Ok(envelope) => {
            println!("{}", pretty_envelope(&envelope));
            Ok(ExitCode::SUCCESS)
        }
        Err(RequestError::Remote(message)) => {
            Err(format!("the service answered with an error: {message}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

fn pretty_envelope(envelope: &Envelope<Value>) -> String {
    pretty(&serde_json::json!({
        "id": envelope.id,
        "type": envelope.event_type,
        "ts": envelope.ts,
        "source": envelope.source,
        "data": envelope.data,
    }))
}

/// A JSON value pretty-printed; an envelope with its keys in the wire order
/// (`id`, `type`, `ts`, `source`, `data`).
fn pretty(value: &Value) -> String {
    #[derive(serde::Serialize)]
    struct InOrder<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<&'a Value>,
        #[serde(rename = "type")]
        event_type: &'a Value,
        #[serde(skip_serializing_if = "Option::is_none")]
        ts: Option<&'a Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        source: Option<&'a Value>,
        data: &'a Value,
    }
    let envelope = value.as_object().and_then(|o| {
        let known = ["id", "type", "ts", "source", "data"];
        o.keys()
            .all(|k| known.contains(&k.as_str()))
            .then_some(InOrder {
                id: o.get("id"),
                event_type: o.get("type")?,
                ts: o.get("ts"),
                source: o.get("source"),
                data: o.get("data")?,
            })
    });
    match envelope {
        Some(envelope) => serde_json::to_string_pretty(&envelope),
        None => serde_json::to_string_pretty(value),
    }
    .expect("JSON")
}

#[allow(clippy::too_many_arguments)]
async fn publish(
    conn: &Connection,
    topic: &str,
    data: &str,
    event_type: &str,
    qos: QoS,
    retain: bool,
    raw: bool,
) -> Result<ExitCode, String> {
    let payload = if raw { None } else { Some(object(data)?) };
    let client = Client::connect(conn, &[]).await?;
    let publisher = client.publisher();
    let sent = match payload {
        Some(data) => publisher
            .event(topic, event_type, &data)
            .qos(qos)
            .retain(retain)
            .await
            .map(drop)
            .map_err(|e| e.to_string()),
        None => publisher
            .publish_raw(topic, data.as_bytes().to_vec(), qos, retain)
            .await
            .map_err(|e| e.to_string()),
    };
    client.close().await;
    sent?;
    Ok(ExitCode::SUCCESS)
}

async fn subscribe(
    conn: &Connection,
    filters: &[String],
    count: Option<usize>,
    json: bool,
) -> Result<ExitCode, String> {
    let mut client = Client::connect(conn, filters).await?;
    eprintln!("subscribed to {}", filters.join(", "));
    let mut seen = 0;
    while count.is_none_or(|n| seen < n) {
        let message = tokio::select! {
            m = client.recv() => m,
            _ = tokio::signal::ctrl_c() => None,
        };
        let Some(message) = message else { break };
        print!("{}", describe(&message, json));
        seen += 1;
    }
    client.close().await;
    Ok(ExitCode::SUCCESS)
}

/// A received message for `subscribe`: the topic, then the envelope (or payload) pretty-printed;
/// with `json`, one compact line `{"topic":…,"payload":…}`.
fn describe(message: &Received, json: bool) -> String {
    let payload = message
        .json()
        .unwrap_or_else(|| Value::String(String::from_utf8_lossy(&message.payload).into_owned()));
    if json {
        let line = serde_json::json!({"topic": message.topic, "payload": payload});
        return format!("{line}\n");
    }
    let body = match &payload {
        Value::String(text) => text.clone(),
        value => pretty(value),
    };
    format!("{}\n{}\n\n", message.topic, indent(&body))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}
