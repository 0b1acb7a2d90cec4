//! The publisher: events as envelopes, raw payloads, and correlated request/reply.

mod event;

pub use event::EventBuilder;

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use tokio::sync::{mpsc, oneshot, watch};

use crate::QoS;
use crate::connection::{ClientHandle, Message, SendError};
use crate::envelope::{
    ERROR_EVENT_TYPE, Envelope, encode_raw, new_id, now, peek_id, to_raw_object,
};
use crate::error::{PublishError, RequestError};
use crate::inbound::Inbound;
use crate::properties::{Properties, traced};
use crate::state::{ConnectionState, Readiness};
use crate::topic::{TopicFilter, validate_topic_name};

/// Asks the controller to subscribe to a reply topic (and keep it across reconnects).
pub(crate) struct SubscribeReply {
    pub(crate) filter: TopicFilter,
    pub(crate) done: oneshot::Sender<Result<(), String>>,
}

struct Waiter {
    filter: TopicFilter,
    tx: oneshot::Sender<Arc<Inbound>>,
}

struct Shared {
    client: ClientHandle,
    max_packet_size: usize,
    source: String,
    request_timeout: Duration,
    waiters: Mutex<HashMap<String, Waiter>>,
    reply_topics: Mutex<HashSet<String>>,
    control: mpsc::UnboundedSender<SubscribeReply>,
    readiness: watch::Receiver<Readiness>,
}

/// Publishes events, raw payloads and requests. Cheap to clone; safe to use from handlers.
#[derive(Clone)]
pub struct Publisher {
    shared: Arc<Shared>,
}

impl fmt::Debug for Publisher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Publisher")
            .field("source", &self.shared.source)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Publisher {
    pub(crate) fn new(
        client: ClientHandle,
        max_packet_size: usize,
        source: String,
        request_timeout: Duration,
        control: mpsc::UnboundedSender<SubscribeReply>,
        readiness: watch::Receiver<Readiness>,
    ) -> Self {
        Self {
            shared: Arc::new(Shared {
                client,
                max_packet_size,
                source,
                request_timeout,
                waiters: Mutex::new(HashMap::new()),
                reply_topics: Mutex::new(HashSet::new()),
                control,
                readiness,
            }),
        }
    }

    /// The envelope `source` this publisher stamps.
    pub fn source(&self) -> &str {
        &self.shared.source
    }

    /// Publishes an event envelope; `.await` it for the envelope id.
    ///
    /// Defaults: QoS 1, not retained, a fresh id.
    ///
    /// ```no_run
    /// # async fn f(publisher: tars_mqtt::Publisher) -> Result<(), tars_mqtt::PublishError> {
    /// # use tars_mqtt::QoS;
    /// let id = publisher
    ///     .event("tts/say", "tts.say", &serde_json::json!({"text": "hello"}))
    ///     .qos(QoS::AtMostOnce)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn event<T: Serialize + ?Sized>(
        &self,
        topic: &str,
        event_type: &str,
        data: &T,
    ) -> EventBuilder {
        EventBuilder {
            publisher: self.clone(),
            topic: topic.to_owned(),
            event_type: event_type.to_owned(),
            data: to_raw_object(data).map_err(PublishError::from),
            qos: QoS::AtLeastOnce,
            retain: false,
            id: None,
            properties: None,
        }
    }

    /// Publishes a payload as is (no envelope).
    pub async fn publish_raw(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<(), PublishError> {
        self.publish_message(topic, payload.into(), qos, retain, None)
            .await
    }

    /// Publishes a payload as is, with MQTT 5 properties (not sent on 3.1.1).
    ///
    /// ```no_run
    /// # async fn f(publisher: tars_mqtt::Publisher) -> Result<(), tars_mqtt::PublishError> {
    /// use tars_mqtt::{QoS, properties::Properties};
    /// let props = Properties::default().with_content_type("text/plain");
    /// publisher.publish_with_properties("notes/raw", "hello", QoS::AtLeastOnce, false, props).await?;
    /// # Ok(()) }
    /// ```
    pub async fn publish_with_properties(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
        properties: Properties,
    ) -> Result<(), PublishError> {
        self.publish_message(topic, payload.into(), qos, retain, Some(properties))
            .await
    }

    async fn publish_message(
        &self,
        topic: &str,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        properties: Option<Properties>,
    ) -> Result<(), PublishError> {
        validate_topic_name(topic).map_err(|source| PublishError::InvalidTopic {
            topic: topic.to_owned(),
            source,
        })?;
        let properties = match self.shared.client.speaks_v5() {
            true => traced(properties).filter(|p| !p.is_empty()),
            false => None,
        };
        // Fixed header (≤ 5), topic length prefix (2), packet id (2), properties.
        let size =
            9 + topic.len() + payload.len() + properties.as_ref().map_or(0, Properties::wire_len);
        // The configured limit, or the broker's when it announced a smaller one (MQTT 5).
        let limit = match self.shared.client.broker_max_packet() {
            Some(broker) => broker.min(self.shared.max_packet_size),
            None => self.shared.max_packet_size,
        };
        if size > limit {
            return Err(PublishError::TooLarge {
                topic: topic.to_owned(),
                size,
                limit,
            });
        }
        let message = Message {
            topic: topic.to_owned(),
            qos,
            retain,
            payload,
            properties: properties.map(Box::new),
        };
        self.shared.client.send(message).await.map_err(|e| match e {
            SendError::Timeout(d) => PublishError::Timeout(d),
            SendError::Closed => PublishError::Closed,
        })
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn publish_envelope(
        &self,
        topic: &str,
        id: &str,
        event_type: &str,
        data: &RawValue,
        qos: QoS,
        retain: bool,
        properties: Option<Properties>,
    ) -> Result<(), PublishError> {
        let payload = encode_raw(id, event_type, now(), &self.shared.source, data);
        self.publish_message(topic, payload.into(), qos, retain, properties)
            .await
    }

    /// Sends a request envelope and awaits the reply whose envelope `id` equals the request's id
    /// on the reply topic given with [`RequestBuilder::reply_on`].
    ///
    /// Safe with any number of concurrent requests, and from inside handlers (also when the
    /// responder is another route of the same service).
    ///
    /// ```no_run
    /// # async fn f(publisher: tars_mqtt::Publisher) -> Result<(), tars_mqtt::RequestError> {
    /// # #[derive(serde::Deserialize)] struct MemoryResults { results: Vec<serde_json::Value> }
    /// # use std::time::Duration;
    /// use tars_mqtt::Envelope;
    /// let reply: Envelope<MemoryResults> = publisher
    ///     .request("memory/query", "memory.query", &serde_json::json!({"text": "where did we meet"}))
    ///     .reply_on("memory/results")
    ///     .timeout(Duration::from_secs(5))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn request<T: Serialize + ?Sized, R>(
        &self,
        topic: &str,
        event_type: &str,
        data: &T,
    ) -> RequestBuilder<R> {
        RequestBuilder {
            publisher: self.clone(),
            topic: topic.to_owned(),
            event_type: event_type.to_owned(),
            data: to_raw_object(data).map_err(PublishError::from),
            reply_on: None,
            timeout: self.shared.request_timeout,
            qos: QoS::AtLeastOnce,
            _reply: PhantomData,
        }
    }

    /// Hands a received message to the request waiting for it, if any. Called by the connection
    /// task for every message, before dispatch; cheap when no request is pending.
    pub(crate) fn resolve_reply(&self, inbound: &Arc<Inbound>) {
        if lock(&self.shared.waiters).is_empty() {
            return;
        }
        // MQTT 5: the correlation data a request set (its id); else the envelope id.
        let correlated = inbound
            .properties
            .as_ref()
            .and_then(|p| p.correlation_data.as_ref())
            .and_then(|d| std::str::from_utf8(d).ok())
            .map(str::to_owned);
        let Some(id) = correlated.or_else(|| peek_id(&inbound.payload)) else {
            return;
        };
        let mut waiters = lock(&self.shared.waiters);
        if waiters
            .get(&id)
            .is_some_and(|w| w.filter.matches(&inbound.topic))
        {
            let waiter = waiters.remove(&id).expect("checked above");
            let _ = waiter.tx.send(inbound.clone());
        }
    }

    async fn ensure_reply_subscription(&self, filter: &TopicFilter) -> Result<(), RequestError> {
        if lock(&self.shared.reply_topics).contains(filter.as_str()) {
            // Subscribed in an earlier session: after a reconnection it is subscribed again
            // before the service is ready, and a request sent sooner could miss its reply.
            return self.until_subscribed().await;
        }
        let (done, rx) = oneshot::channel();
        self.shared
            .control
            .send(SubscribeReply {
                filter: filter.clone(),
                done,
            })
            .map_err(|_| RequestError::Closed)?;
        match rx.await {
            Ok(Ok(())) => {
                lock(&self.shared.reply_topics).insert(filter.as_str().to_owned());
                Ok(())
            }
            Ok(Err(topic)) => Err(RequestError::SubscribeRefused(topic)),
            Err(_) => Err(RequestError::Closed),
        }
    }

    /// Waits until the current connection's subscriptions are confirmed (at once while
    /// connected and ready, or while shutting down with the connection still up).
    async fn until_subscribed(&self) -> Result<(), RequestError> {
        let mut readiness = self.shared.readiness.clone();
        let state = readiness
            .wait_for(|r| {
                r.ready
                    || matches!(
                        r.connection,
                        ConnectionState::Stopping | ConnectionState::Stopped
                    )
            })
            .await
            .map_err(|_| RequestError::Closed)?;
        match state.connection {
            ConnectionState::Stopped => Err(RequestError::Closed),
            _ => Ok(()),
        }
    }

    /// Marks reply topics the service subscribes to at start (see
    /// [`Router::expect_replies_on`](crate::Router::expect_replies_on)).
    pub(crate) fn mark_reply_topic(&self, filter: &str) {
        lock(&self.shared.reply_topics).insert(filter.to_owned());
    }

    pub(crate) fn client(&self) -> &ClientHandle {
        &self.shared.client
    }
}

/// A request being sent; `.await` it for the reply. See [`Publisher::request`].
#[must_use = "a request is only sent when awaited"]
pub struct RequestBuilder<R> {
    publisher: Publisher,
    topic: String,
    event_type: String,
    data: Result<Box<RawValue>, PublishError>,
    reply_on: Option<String>,
    timeout: Duration,
    qos: QoS,
    _reply: PhantomData<fn() -> R>,
}

impl<R> RequestBuilder<R> {
    /// The topic (or filter) the reply arrives on. Required.
    pub fn reply_on(mut self, topic: impl Into<String>) -> Self {
        self.reply_on = Some(topic.into());
        self
    }
    /// How long to wait for the reply (default: the configuration's `request_timeout`).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
    /// QoS of the request (default 1).
    pub fn qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }
}

/// Removes the waiter when the request ends, however it ends.
struct WaiterGuard<'a> {
    shared: &'a Shared,
    id: String,
}

impl Drop for WaiterGuard<'_> {
    fn drop(&mut self) {
        lock(&self.shared.waiters).remove(&self.id);
    }
}

impl<R: DeserializeOwned + Send + 'static> IntoFuture for RequestBuilder<R> {
    type Output = Result<Envelope<R>, RequestError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let reply_topic = self.reply_on.ok_or(RequestError::NoReplyTopic)?;
            let filter = TopicFilter::parse(&reply_topic)?;
            let data = self.data?;
            let publisher = self.publisher;
            let started = tokio::time::Instant::now();
            let timeout = |id: String| RequestError::Timeout {
                topic: reply_topic.clone(),
                id,
                timeout: self.timeout,
            };
            tokio::time::timeout(self.timeout, publisher.ensure_reply_subscription(&filter))
                .await
                .map_err(|_| timeout(String::new()))??;
            let id = new_id();
            let (tx, rx) = oneshot::channel();
            lock(&publisher.shared.waiters).insert(id.clone(), Waiter { filter, tx });
            let _guard = WaiterGuard {
                shared: &publisher.shared,
                id: id.clone(),
            };
            // MQTT 5: the reply topic and the id as Response Topic and Correlation Data, so a
            // responder that speaks MQTT 5 needs no envelope to answer (a filter with wildcards
            // is no topic to answer on: then only the envelope id correlates).
            let answerable =
                publisher.shared.client.speaks_v5() && validate_topic_name(&reply_topic).is_ok();
            let properties = answerable.then(|| Properties {
                response_topic: Some(reply_topic.clone()),
                correlation_data: Some(Bytes::from(id.clone())),
                ..Properties::default()
            });
            publisher
                .publish_envelope(
                    &self.topic,
                    &id,
                    &self.event_type,
                    &data,
                    self.qos,
                    false,
                    properties,
                )
                .await?;
            let inbound = match tokio::time::timeout_at(started + self.timeout, rx).await {
                Ok(Ok(inbound)) => inbound,
                Ok(Err(_)) => return Err(RequestError::Closed),
                Err(_) => return Err(timeout(id)),
            };
            if inbound.header().event_type.as_deref() == Some(ERROR_EVENT_TYPE) {
                let err: Envelope<serde_json::Value> = Envelope::decode(&inbound.payload)?;
                let message = err
                    .data
                    .get("err")
                    .and_then(|e| e.as_str())
                    .unwrap_or("unknown error");
                return Err(RequestError::Remote(message.to_owned()));
            }
            Ok(Envelope::decode(&inbound.payload)?)
        })
    }
}
