//! The discovery responder: recognises requests at intake (before the routes' queues, so that a
//! service whose handlers are saturated still answers) and publishes the answers off the
//! connection task.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::watch;

use super::{
    Info, LastErrorReport, Ping, ProcessingReport, RouteStatsReport, Stats, TOPIC_PREFIX, Verb,
    reply_topic, request_topic,
};
use crate::QoS;
use crate::config::MqttConfig;
use crate::dispatch::Dispatcher;
use crate::inbound::Inbound;
use crate::publisher::Publisher;
use crate::state::Readiness;
use crate::stats::Processing;

use super::payload::RouteDescription;

/// Answers the discovery requests meant for one service instance.
pub(crate) struct Responder {
    ping: Ping,
    info: Info,
    asyncapi: Value,
    dispatcher: Arc<Dispatcher>,
    publisher: Publisher,
    readiness: watch::Receiver<Readiness>,
}

impl Responder {
    pub(crate) fn new(
        config: &MqttConfig,
        (name, version): (String, String),
        routes: Vec<RouteDescription>,
        asyncapi: Value,
        dispatcher: Arc<Dispatcher>,
        publisher: Publisher,
        readiness: watch::Receiver<Readiness>,
    ) -> Self {
        let ping = Ping {
            name,
            client_id: config.client_id.clone(),
            instance_id: crate::envelope::new_id(),
            version,
            started_at: crate::envelope::now(),
        };
        let info = Info {
            service: ping.clone(),
            framework: concat!("tars-mqtt ", env!("CARGO_PKG_VERSION")).to_owned(),
            protocol: config.protocol.to_string(),
            source: config.source.clone(),
            endpoint: String::new(),
            routes,
        };
        Self {
            ping,
            info,
            asyncapi,
            dispatcher,
            publisher,
            readiness,
        }
    }

    /// The topics to subscribe to: every verb, for all services and for this one by name and
    /// by client id.
    pub(crate) fn filters(&self) -> Vec<String> {
        let mut targets = vec![None, Some(self.ping.client_id.as_str())];
        let name = self.ping.name.as_str();
        if name.is_empty() || name.contains(['+', '#', '/']) {
            tracing::warn!(
                name,
                "a service name with `+`, `#` or `/` is not a discovery target"
            );
        } else if name != self.ping.client_id {
            targets.push(Some(name));
        }
        Verb::ALL
            .into_iter()
            .flat_map(|verb| targets.iter().map(move |t| request_topic(verb, *t)))
            .collect()
    }

    /// The verb of a request for this instance on `topic`, if it is one.
    pub(crate) fn request(&self, topic: &str) -> Option<Verb> {
        request_for(topic, &self.ping.name, &self.ping.client_id)
    }

    /// Publishes the answer to `inbound`, in a task of its own.
    pub(crate) fn answer(self: &Arc<Self>, verb: Verb, inbound: &Arc<Inbound>) {
        let (this, inbound) = (self.clone(), inbound.clone());
        tokio::spawn(async move {
            let data = match verb {
                Verb::Ping => serde_json::value::to_raw_value(&this.ping),
                Verb::Info => serde_json::value::to_raw_value(&this.info()),
                Verb::Stats => serde_json::value::to_raw_value(&this.stats()),
                Verb::AsyncApi => serde_json::value::to_raw_value(&this.asyncapi),
            }
            .expect("discovery answers serialize");
            let reply = reply_topic(verb);
            let (topic, properties) = inbound
                .reply_target(Some(Cow::Owned(reply)), None)
                .expect("a fallback topic is given");
            let id = inbound.reply_id();
            if let Err(e) = this
                .publisher
                .publish_envelope(
                    &topic,
                    &id,
                    verb.event_type(),
                    &data,
                    QoS::AtMostOnce,
                    false,
                    properties,
                )
                .await
            {
                tracing::warn!(%topic, error = %e, "could not answer a discovery request");
            }
        });
    }

    fn info(&self) -> Info {
        let mut info = self.info.clone();
        info.endpoint = self.readiness.borrow().endpoint.clone();
        info
    }

    fn stats(&self) -> Stats {
        let routes = self
            .dispatcher
            .routes_with_depth()
            .map(|(meta, (queue_depth, queue_max))| {
                let stats = meta.stats();
                RouteStatsReport {
                    name: meta.name().to_owned(),
                    filter: meta.filter().as_str().to_owned(),
                    received: stats.received(),
                    handled: stats.succeeded(),
                    decode_errors: stats.decode_errors(),
                    handler_errors: stats.handler_errors(),
                    panics: stats.panics(),
                    timeouts: stats.timeouts(),
                    dropped: stats.dropped(),
                    reply_errors: stats.reply_errors(),
                    queue_depth,
                    queue_max,
                    processing_ms: millis(stats.processing()),
                    last_error: stats.last_error().map(|e| LastErrorReport {
                        kind: e.kind.to_string(),
                        message: e.message,
                        at: e.at,
                    }),
                }
            })
            .collect();
        Stats {
            service: self.ping.clone(),
            ts: crate::envelope::now(),
            routes,
        }
    }
}

fn millis(p: Processing) -> ProcessingReport {
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    ProcessingReport {
        samples: p.samples,
        p50: ms(p.p50),
        p99: ms(p.p99),
        max: ms(p.max),
    }
}

/// The verb of a request on `topic` for the service `name` with `client_id`, if it is one.
fn request_for(topic: &str, name: &str, client_id: &str) -> Option<Verb> {
    let rest = topic.strip_prefix(TOPIC_PREFIX)?.strip_prefix('/')?;
    let (verb, target) = match rest.split_once('/') {
        Some((verb, target)) => (verb, Some(target)),
        None => (rest, None),
    };
    let verb = verb.parse().ok()?;
    match target {
        None => Some(verb),
        Some(t) if t == client_id || t == name => Some(verb),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_for_all_by_name_and_by_client_id() {
        let request = |topic| request_for(topic, "MemoryWorker", "tars-memory");
        assert_eq!(request("system/services/ping"), Some(Verb::Ping));
        assert_eq!(
            request("system/services/info/MemoryWorker"),
            Some(Verb::Info)
        );
        assert_eq!(
            request("system/services/stats/tars-memory"),
            Some(Verb::Stats)
        );
        assert_eq!(request("system/services/stats/other"), None);
        assert_eq!(request("system/services/pong"), None);
        assert_eq!(request("system/services/replies/ping"), None);
        assert_eq!(request("system/servicesping"), None);
        assert_eq!(request("memory/query"), None);
        for verb in Verb::ALL {
            assert_eq!(verb.as_str().parse::<Verb>(), Ok(verb));
        }
    }
}
