//! Escape hatch: the underlying rumqttc client, for what tars-mqtt does not wrap.
//!
//! Requests sent here share the service's connection and outgoing queue. Do not SUBSCRIBE
//! through it: the service's subscription bookkeeping would not know about it.

pub use rumqttc;

use crate::Publisher;

/// The rumqttc 3.1.1 client behind a publisher; `None` when the service speaks MQTT 5 (see
/// [`client_v5`]).
pub fn client(publisher: &Publisher) -> Option<rumqttc::AsyncClient> {
    publisher.client().raw()
}

/// The rumqttc MQTT 5 client behind a publisher; `None` when the service speaks 3.1.1.
pub fn client_v5(publisher: &Publisher) -> Option<rumqttc::v5::AsyncClient> {
    publisher.client().raw_v5()
}
