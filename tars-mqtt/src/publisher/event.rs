//! `EventBuilder`: one event envelope with its options, published when awaited.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::Duration;

use serde_json::value::RawValue;

use super::Publisher;
use crate::QoS;
use crate::envelope::new_id;
use crate::error::PublishError;
use crate::properties::Properties;

/// An event being published; `.await` it. See [`Publisher::event`].
#[must_use = "an event is only published when awaited"]
pub struct EventBuilder {
    pub(super) publisher: Publisher,
    pub(super) topic: String,
    pub(super) event_type: String,
    pub(super) data: Result<Box<RawValue>, PublishError>,
    pub(super) qos: QoS,
    pub(super) retain: bool,
    pub(super) id: Option<String>,
    pub(super) properties: Option<Properties>,
}

impl EventBuilder {
    /// MQTT 5 properties to send with it (replacing any set before; not sent on 3.1.1).
    pub fn properties(mut self, properties: Properties) -> Self {
        self.properties = Some(properties);
        self
    }
    /// Adds an MQTT 5 user property (not sent on 3.1.1).
    ///
    /// ```no_run
    /// # async fn f(publisher: tars_mqtt::Publisher) -> Result<(), tars_mqtt::PublishError> {
    /// # use std::time::Duration;
    /// publisher
    ///     .event("tts/say", "tts.say", &serde_json::json!({"text": "hello"}))
    ///     .user_property("tenant", "tars")
    ///     .message_expiry(Duration::from_secs(30))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn user_property(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        let properties = self.properties.take().unwrap_or_default();
        self.properties = Some(properties.with_user_property(name, value));
        self
    }
    /// MQTT 5 content type (not sent on 3.1.1).
    pub fn content_type(mut self, content_type: impl Into<String>) -> Self {
        let properties = self.properties.take().unwrap_or_default();
        self.properties = Some(properties.with_content_type(content_type));
        self
    }
    /// MQTT 5 message expiry: the broker discards the message for subscribers that have not
    /// received it within `expiry` (not sent on 3.1.1).
    pub fn message_expiry(mut self, expiry: Duration) -> Self {
        let properties = self.properties.take().unwrap_or_default();
        self.properties = Some(properties.with_message_expiry(expiry));
        self
    }
    /// QoS (default 1).
    pub fn qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }
    /// Retain flag (default false).
    pub fn retain(mut self, retain: bool) -> Self {
        self.retain = retain;
        self
    }
    /// Uses this id instead of a fresh one: pass a request's id to correlate with it.
    pub fn correlation_id(mut self, id: impl Into<String>) -> Self {
        self.id = Some(id.into());
        self
    }
}

impl IntoFuture for EventBuilder {
    type Output = Result<String, PublishError>;
    type IntoFuture = Pin<Box<dyn Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let data = self.data?;
            let id = self.id.unwrap_or_else(new_id);
            self.publisher
                .publish_envelope(
                    &self.topic,
                    &id,
                    &self.event_type,
                    &data,
                    self.qos,
                    self.retain,
                    self.properties,
                )
                .await?;
            Ok(id)
        })
    }
}
