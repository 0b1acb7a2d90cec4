//! Escape hatch: the underlying rumqttc client, for what tars-mqtt does not wrap.
//!
//! Requests sent here share the service's connection and outgoing queue. Do not SUBSCRIBE
//! through it: the service's subscription bookkeeping would not know about it.

pub use rumqttc;

use crate::Publisher;

/// The rumqttc client behind a publisher.
pub fn client(publisher: &Publisher) -> rumqttc::AsyncClient {
    publisher.client().raw()
}
