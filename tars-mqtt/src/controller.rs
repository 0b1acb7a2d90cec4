//! The controller: reacts to connection events off the network task. It (re)subscribes every
//! route and reply topic after each CONNACK (unless the broker kept the session), matches
//! SUBACKs to what was asked, reports refused filters, publishes `ready` after the SUBACKs, and
//! sends heartbeats.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, oneshot, watch};

use crate::QoS;
use crate::config::MqttConfig;
use crate::connection::{ClientHandle, ConnEvent, Message, SubscribeOptions};
use crate::presence;
use crate::publisher::SubscribeReply;
use crate::state::Readiness;
use crate::topic::covers;

/// What runs after every (re)connection once its subscriptions are confirmed.
pub(crate) type ReadyHook = Arc<dyn Fn() -> BoxFuture<'static, ()> + Send + Sync>;

/// Where the broker's refusals are reported: `(filter or empty, what was refused and why)`.
pub(crate) type RefusalHook = Arc<dyn Fn(&str, String) + Send + Sync>;

/// One SUBSCRIBE packet the controller asked for, until its SUBACK.
struct Batch {
    filters: Vec<(String, QoS)>,
    pkid: Option<u16>,
    /// The batch of a (re)connection: its SUBACK makes the service ready.
    initial: bool,
    waiters: Vec<(String, oneshot::Sender<Result<(), String>>)>,
}

pub(crate) struct Controller {
    pub(crate) config: Arc<MqttConfig>,
    pub(crate) on_ready: Option<ReadyHook>,
    pub(crate) client: ClientHandle,
    pub(crate) readiness: watch::Sender<Readiness>,
    /// Route subscriptions (deduplicated, highest QoS) and reply topics.
    pub(crate) wanted: Vec<(String, QoS)>,
    pub(crate) events: mpsc::UnboundedReceiver<ConnEvent>,
    pub(crate) reply_requests: mpsc::UnboundedReceiver<SubscribeReply>,
    /// Options of every SUBSCRIBE (MQTT 5).
    pub(crate) subscribe_options: SubscribeOptions,
    pub(crate) on_refusal: RefusalHook,
}

struct Session {
    connected: bool,
    /// Filters the broker confirmed in the current session.
    confirmed: HashSet<String>,
    batches: VecDeque<Batch>,
    /// Reply-topic waiters to serve with the next subscription.
    waiting: Vec<(String, oneshot::Sender<Result<(), String>>)>,
    /// Publishes of an earlier connection to send again once the service is ready.
    unsent: Vec<Message>,
}

impl Session {
    /// Answers the queued reply-topic waiters whose filter is now confirmed (`Ok`) or was
    /// refused (`Err`); the others keep waiting.
    fn answer_waiting(&mut self, refused: &[(String, String)]) {
        let (answered, waiting): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|(f, _)| self.confirmed.contains(f) || refused.iter().any(|(r, _)| r == f));
        self.waiting = waiting;
        for (filter, done) in answered {
            let _ = done.send(match refused.iter().find(|(r, _)| *r == filter) {
                Some((_, reason)) => Err(format!("{filter} ({reason})")),
                None => Ok(()),
            });
        }
    }
}

impl Controller {
    pub(crate) async fn run(mut self) {
        let mut session = Session {
            connected: false,
            confirmed: HashSet::new(),
            batches: VecDeque::new(),
            waiting: Vec::new(),
            unsent: Vec::new(),
        };
        let mut heartbeat = tokio::time::interval(self.config.heartbeat_interval);
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(event) => self.on_event(&mut session, event, &mut heartbeat).await,
                    None => return,
                },
                Some(request) = self.reply_requests.recv() => self.on_reply_topic(&mut session, request).await,
                _ = heartbeat.tick(), if self.config.heartbeat && session.connected => {
                    let topic = presence::heartbeat_topic(&self.config.client_id);
                    let _ = self.client.publish(&topic, QoS::AtMostOnce, false, presence::heartbeat_payload().into()).await;
                }
            }
        }
    }

    async fn on_event(
        &mut self,
        session: &mut Session,
        event: ConnEvent,
        heartbeat: &mut tokio::time::Interval,
    ) {
        match event {
            ConnEvent::Connected {
                session_present,
                unsent,
            } => {
                session.connected = true;
                session.unsent.extend(unsent);
                heartbeat.reset_immediately();
                self.on_connected(session, session_present).await;
            }
            ConnEvent::Disconnected => session.connected = false,
            ConnEvent::SubscribeSent { pkid } => {
                if let Some(batch) = session.batches.iter_mut().find(|b| b.pkid.is_none()) {
                    batch.pkid = Some(pkid);
                }
            }
            ConnEvent::SubAck { pkid, granted } => self.on_suback(session, pkid, granted).await,
            ConnEvent::PublishRefused { pkid, reason } => {
                let refusal = format!("publish (packet {pkid}): {reason}");
                // Reported first: whoever sees the readiness change finds the report made.
                (self.on_refusal)("", refusal.clone());
                self.readiness.send_modify(|r| {
                    r.refused_publishes += 1;
                    r.last_refusal = Some(refusal);
                });
            }
        }
    }

    /// After a CONNACK: subscribe what the broker does not hold, or announce `ready` at once.
    async fn on_connected(&mut self, session: &mut Session, session_present: bool) {
        // SUBSCRIBEs of the previous connection are dead: serve their waiters anew.
        for batch in session.batches.drain(..) {
            session.waiting.extend(batch.waiters);
        }
        if !session_present {
            session.confirmed.clear();
        }
        session.answer_waiting(&[]);
        let missing: Vec<(String, QoS)> = self
            .wanted
            .iter()
            .filter(|(f, _)| !session.confirmed.contains(f))
            .cloned()
            .collect();
        if missing.is_empty() {
            self.ready(session, Vec::new()).await;
        } else {
            let waiters = std::mem::take(&mut session.waiting);
            self.send(session, missing, true, waiters).await;
        }
    }

    /// A SUBACK: record what was granted and refused, answer waiters, announce `ready`.
    async fn on_suback(
        &mut self,
        session: &mut Session,
        pkid: u16,
        granted: Vec<Result<QoS, String>>,
    ) {
        let Some(pos) = session.batches.iter().position(|b| b.pkid == Some(pkid)) else {
            return;
        };
        let batch = session.batches.remove(pos).expect("position is valid");
        let mut refused = Vec::new();
        for ((filter, _), granted) in batch.filters.iter().zip(granted) {
            match granted {
                Ok(_) => {
                    session.confirmed.insert(filter.clone());
                }
                Err(reason) => {
                    let refusal = format!("subscription to {filter}: {reason}");
                    (self.on_refusal)(filter, refusal.clone());
                    self.readiness
                        .send_modify(|r| r.last_refusal = Some(refusal));
                    refused.push((filter.clone(), reason));
                }
            }
        }
        // The batch's waiters, and any that queued up for the same filters meanwhile.
        session.waiting.extend(batch.waiters);
        session.answer_waiting(&refused);
        if batch.initial {
            self.ready(session, refused).await;
        }
    }

    async fn on_reply_topic(&mut self, session: &mut Session, request: SubscribeReply) {
        // A planned subscription may already deliver the reply topic; then wait for that one.
        let covering = self
            .wanted
            .iter()
            .find(|(f, _)| covers(f, &request.filter))
            .map(|(f, _)| f.clone());
        if let Some(filter) = covering {
            // Confirmed in the current connection; during an outage, wait for the next one.
            if session.connected && session.confirmed.contains(&filter) {
                let _ = request.done.send(Ok(()));
            } else {
                session.waiting.push((filter, request.done));
            }
            return;
        }
        let filter = request.filter.subscription();
        self.wanted.push((filter.clone(), QoS::AtLeastOnce));
        if session.connected {
            self.send(
                session,
                vec![(filter.clone(), QoS::AtLeastOnce)],
                false,
                vec![(filter, request.done)],
            )
            .await;
        } else {
            session.waiting.push((filter, request.done));
        }
    }

    async fn send(
        &self,
        session: &mut Session,
        filters: Vec<(String, QoS)>,
        initial: bool,
        mut waiters: Vec<(String, oneshot::Sender<Result<(), String>>)>,
    ) {
        // Waiters for filters outside this batch wait for the next one.
        let (mine, others): (Vec<_>, Vec<_>) = waiters
            .drain(..)
            .partition(|(f, _)| filters.iter().any(|(g, _)| g == f));
        session.waiting.extend(others);
        tracing::debug!(?filters, "subscribing");
        if self
            .client
            .subscribe_many(&filters, self.subscribe_options)
            .await
            .is_ok()
        {
            session.batches.push_back(Batch {
                filters,
                pkid: None,
                initial,
                waiters: mine,
            });
        }
    }

    async fn ready(&self, session: &mut Session, refused: Vec<(String, String)>) {
        self.readiness.send_modify(|r| {
            r.ready = true;
            r.failed_subscriptions = refused.iter().map(|(f, _)| f.clone()).collect();
        });
        tracing::info!(
            refused = refused.len(),
            "subscriptions confirmed; service ready"
        );
        if self.config.health {
            let payload = presence::health_payload(&self.config.source, true, Some("ready"), None);
            let topic = presence::health_topic(&self.config.client_id);
            if let Err(e) = self
                .client
                .publish(&topic, QoS::AtLeastOnce, true, payload.into())
                .await
            {
                tracing::warn!(?e, "could not publish the ready status");
            }
        }
        if !session.unsent.is_empty() {
            tokio::spawn(send_again(
                self.client.clone(),
                std::mem::take(&mut session.unsent),
            ));
        }
        if let Some(hook) = &self.on_ready {
            tokio::spawn(hook());
        }
    }
}

/// Sends the publishes the broker lost with the previous connection again, in their order,
/// now that the service's own subscriptions are back (a request it sent before the outage
/// finds its reply subscription in place). Waits for room in the outgoing queue; if the
/// connection drops meanwhile, what was queued is carried over once more.
async fn send_again(client: ClientHandle, unsent: Vec<Message>) {
    tracing::info!(
        count = unsent.len(),
        "sending again what the broker did not acknowledge before the connection dropped"
    );
    for message in unsent {
        if client.send(message).await.is_err() {
            return;
        }
    }
}
