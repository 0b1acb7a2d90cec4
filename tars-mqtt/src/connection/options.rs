//! What the client options of both protocol versions share: credentials, socket options and
//! the last will.

use crate::config::{BrokerAddress, MqttConfig};

/// The user name and password of an endpoint, if any.
pub(super) fn credentials(broker: &BrokerAddress) -> Option<(&str, &str)> {
    let user = broker.username.as_deref()?;
    let password = broker.password.as_ref().map_or("", |p| p.expose());
    Some((user, password))
}

/// TCP_NODELAY (a request/reply must not wait for a delayed ACK) and a connection timeout.
pub(super) fn network_options() -> rumqttc::NetworkOptions {
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network.set_connection_timeout(10);
    network
}

/// The last will's topic and payload: `offline` on the health topic (retained, QoS 1).
pub(super) fn last_will(config: &MqttConfig) -> (String, Vec<u8>) {
    let payload = crate::presence::health_payload(&config.source, false, Some("offline"), None);
    (crate::presence::health_topic(&config.client_id), payload)
}
