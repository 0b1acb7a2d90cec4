//! The command's MQTT client: a tars-mqtt runtime whose routes put every message on the given
//! filters into an inbox, and which neither announces itself nor answers discovery.

use std::time::Duration;

use serde_json::Value;
use tars_mqtt::discovery::{Verb, reply_topic, request_topic};
use tars_mqtt::extract::{Raw, State, Topic};
use tars_mqtt::{MqttConfig, QoS, Route, Router, Runtime, ServiceHandle};
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::Connection;

/// A message received on one of the client's filters.
#[derive(Debug)]
pub(crate) struct Received {
    pub(crate) topic: String,
    pub(crate) payload: Vec<u8>,
}

impl Received {
    /// The payload as JSON, if it is JSON.
    pub(crate) fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.payload).ok()
    }
}

type Inbox = mpsc::UnboundedSender<Received>;

pub(crate) struct Client {
    handle: ServiceHandle,
    inbox: mpsc::UnboundedReceiver<Received>,
}

impl Client {
    /// Connects, subscribes to `filters` and waits until the broker confirmed them.
    pub(crate) async fn connect(conn: &Connection, filters: &[String]) -> Result<Self, String> {
        let config = MqttConfig::builder()
            .env(|var| std::env::var(var).ok())
            .map_err(|e| e.to_string())?
            .url(&conn.url)
            .client_id(format!(
                "tars-mqtt-cli-{}",
                &tars_mqtt::wire::new_id()[..12]
            ))
            .protocol(conn.protocol)
            .health(false)
            .heartbeat(false)
            .persistent_session(false)
            .dedupe_ttl(Duration::ZERO)
            .discovery(false)
            .build()
            .map_err(|e| e.to_string())?;
        let (tx, inbox) = mpsc::unbounded_channel();
        let router = filters.iter().fold(Router::new(), |router, filter| {
            router.route(
                Route::new(filter.clone(), forward)
                    .name(filter.clone())
                    .qos(QoS::AtLeastOnce)
                    .queue_capacity(65_536),
            )
        });
        let handle = Runtime::new(config, router, tx)
            .start()
            .map_err(|e| e.to_string())?;
        handle.wait_ready(conn.timeout).await.map_err(|_| {
            format!(
                "no connection to {} within {:?} (set --url or MQTT_URL)",
                shown(&conn.url),
                conn.timeout
            )
        })?;
        Ok(Self { handle, inbox })
    }

    pub(crate) fn publisher(&self) -> tars_mqtt::Publisher {
        self.handle.publisher()
    }

    /// The next message, or `None` once `deadline` has passed.
    pub(crate) async fn next(&mut self, deadline: Instant) -> Option<Received> {
        tokio::time::timeout_at(deadline, self.inbox.recv())
            .await
            .ok()
            .flatten()
    }

    /// The next message, waiting as long as it takes (`None` if the client stopped).
    pub(crate) async fn recv(&mut self) -> Option<Received> {
        self.inbox.recv().await
    }

    /// Sends a `verb` discovery request (to `target`, or to every service) and returns the
    /// `data` of every answer that arrives within `wait`, in arrival order, with the time it
    /// took. With a target and not `all`, it returns as soon as one answer arrived.
    pub(crate) async fn discover(
        &mut self,
        verb: Verb,
        target: Option<&str>,
        wait: Duration,
        all: bool,
    ) -> Result<Vec<(Value, Duration)>, String> {
        let id = tars_mqtt::wire::new_id();
        let sent = Instant::now();
        self.publisher()
            .event(
                &request_topic(verb, target),
                &format!("service.{verb}.request"),
                &serde_json::json!({}),
            )
            .correlation_id(id.clone())
            .qos(QoS::AtMostOnce)
            .await
            .map_err(|e| e.to_string())?;
        let deadline = Instant::now() + wait;
        let mut answers = Vec::new();
        let reply_topic = reply_topic(verb);
        while let Some(message) = self.next(deadline).await {
            let Some(envelope) = message.json() else {
                continue;
            };
            if message.topic == reply_topic && envelope["id"] == id.as_str() {
                answers.push((envelope["data"].clone(), sent.elapsed()));
                if target.is_some() && !all {
                    break;
                }
            }
        }
        Ok(answers)
    }

    /// Disconnects cleanly.
    pub(crate) async fn close(self) {
        self.handle.shutdown().await;
    }
}

/// The broker URL(s) as they may be shown: without credentials.
pub(crate) fn shown(url: &str) -> String {
    match tars_mqtt::config::BrokerAddress::parse_list(url) {
        Ok(brokers) => brokers
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        Err(_) => "the broker".to_owned(),
    }
}

/// The route handler: every message goes to the inbox.
async fn forward(State(inbox): State<Inbox>, Topic(topic): Topic, Raw(payload): Raw) {
    let _ = inbox.send(Received {
        topic,
        payload: payload.to_vec(),
    });
}
