//! MQTT 5 through rumqttc's `v5` client: options, requests with properties, and its events
//! (with their reason codes and properties) in the connection's own terms.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use rumqttc::Outgoing;
use rumqttc::v5::mqttbytes::QoS as V5QoS;
use rumqttc::v5::mqttbytes::v5::{
    Filter, LastWill, Packet, PubAckReason, PubCompReason, Publish, PublishProperties,
    SubscribeReasonCode,
};
use rumqttc::v5::{
    AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Request, StateError,
};
use rumqttc::{TlsConfiguration, Transport};

use super::endpoints::Endpoints;
use super::outbox::{Outbox, Pending, Queue};
use super::{Incoming, Message, Polled, SubscribeOptions};
use crate::QoS;
use crate::ack::Ack;
use crate::config::{BrokerAddress, MqttConfig};
use crate::error::ConfigError;
use crate::properties::Properties;

/// The largest packet MQTT 5 can frame, as the Maximum Packet Size property.
const MQTT_MAX_PACKET: u32 = 268_435_460;

/// Publishes in flight to the broker at once, at most (the broker's Receive Maximum may lower
/// it; rumqttc honours the smaller).
const OUTGOING_INFLIGHT: u16 = 100;

/// The MQTT 5 client and event loop, set up from the configuration.
pub(super) fn build(config: &MqttConfig) -> Result<(AsyncClient, Loop), ConfigError> {
    let endpoints = Endpoints::new(config, |broker, tls| options(config, broker, tls))?;
    let (client, eventloop) = AsyncClient::new(endpoints.first(), config.outgoing_capacity);
    Ok((
        client,
        Loop {
            inner: Session {
                eventloop,
                window: OUTGOING_INFLIGHT,
            },
            connected: false,
            outbox: Outbox::default(),
            endpoints,
        },
    ))
}

/// The client options for one broker endpoint.
fn options(
    config: &MqttConfig,
    broker: &BrokerAddress,
    tls: Option<TlsConfiguration>,
) -> MqttOptions {
    let mut options = MqttOptions::new(&config.client_id, &broker.host, broker.port);
    options.set_keep_alive(config.keepalive);
    // As on 3.1.1, everything the broker delivers is accepted and the configured limit is
    // enforced at intake (an MQTT 5 broker silently drops what exceeds the client's maximum).
    options.set_max_packet_size(Some(MQTT_MAX_PACKET));
    options.set_clean_start(!config.persistent_session);
    if config.persistent_session {
        // 3.1.1's persistent session lasts for ever; MQTT 5 ends it with the connection
        // unless an expiry is given.
        let expiry = config
            .session_expiry
            .map_or(u32::MAX, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        options.set_session_expiry_interval(Some(expiry));
    }
    options.set_manual_acks(config.persistent_session);
    options.set_outgoing_inflight_upper_limit(OUTGOING_INFLIGHT);
    options.set_request_channel_capacity(config.outgoing_capacity);
    if let Some((user, password)) = super::options::credentials(broker) {
        options.set_credentials(user, password);
    }
    if let Some(tls) = tls {
        options.set_transport(Transport::tls_with_config(tls));
    }
    if config.health {
        options.set_last_will(last_will(config));
    }
    options.set_network_options(super::options::network_options());
    options
}

fn last_will(config: &MqttConfig) -> LastWill {
    let (topic, payload) = super::options::last_will(config);
    LastWill::new(topic, payload, V5QoS::AtLeastOnce, true, None)
}

fn qos(q: QoS) -> V5QoS {
    match q {
        QoS::AtMostOnce => V5QoS::AtMostOnce,
        QoS::AtLeastOnce => V5QoS::AtLeastOnce,
        QoS::ExactlyOnce => V5QoS::ExactlyOnce,
    }
}

fn from_qos(q: V5QoS) -> QoS {
    match q {
        V5QoS::AtMostOnce => QoS::AtMostOnce,
        V5QoS::AtLeastOnce => QoS::AtLeastOnce,
        V5QoS::ExactlyOnce => QoS::ExactlyOnce,
    }
}

/// Requests through the MQTT 5 client.
pub(super) async fn publish(client: &AsyncClient, message: Message) -> Result<(), ()> {
    let properties = message.properties.map(|p| to_wire(&p)).unwrap_or_default();
    client
        .publish_bytes_with_properties(
            message.topic,
            qos(message.qos),
            message.retain,
            message.payload,
            properties,
        )
        .await
        .map_err(drop)
}

pub(super) async fn subscribe(
    client: &AsyncClient,
    filters: &[(String, QoS)],
    options: SubscribeOptions,
) -> Result<(), ()> {
    let filters = filters.iter().map(|(f, q)| {
        let mut filter = Filter::new(f.clone(), qos(*q));
        filter.nolocal = options.no_local;
        filter
    });
    client.subscribe_many(filters).await.map_err(drop)
}

pub(super) async fn ack(client: &AsyncClient, ack: Ack) -> Result<(), ()> {
    let mut publish = Publish::new("", qos(ack.qos), Bytes::new(), None);
    publish.pkid = ack.pkid;
    client.ack(&publish).await.map_err(drop)
}

/// Properties as MQTT 5 sends them.
fn to_wire(p: &Properties) -> PublishProperties {
    PublishProperties {
        payload_format_indicator: p.utf8_payload.then_some(1),
        message_expiry_interval: p.expiry_secs(),
        response_topic: p.response_topic.clone(),
        correlation_data: p.correlation_data.clone(),
        user_properties: p.user.clone(),
        content_type: p.content_type.clone(),
        ..PublishProperties::default()
    }
}

fn from_wire(p: PublishProperties) -> Properties {
    Properties {
        user: p.user_properties,
        content_type: p.content_type,
        response_topic: p.response_topic,
        correlation_data: p.correlation_data,
        message_expiry: p
            .message_expiry_interval
            .map(|s| Duration::from_secs(u64::from(s))),
        utf8_payload: p.payload_format_indicator == Some(1),
    }
}

/// The event loop and the packet-id window the broker allows.
pub(super) struct Session {
    eventloop: EventLoop,
    /// min(our upper limit, the broker's Receive Maximum).
    window: u16,
}

/// The MQTT 5 event loop with the outbox that looks after what it keeps for the next connection.
pub(crate) struct Loop {
    inner: Session,
    /// rumqttc's v5 loop does not tell whether it has a network connection.
    connected: bool,
    outbox: Outbox<Publish>,
    endpoints: Endpoints<MqttOptions>,
}

impl Loop {
    pub(super) fn connected(&self) -> bool {
        self.connected
    }

    /// The next event, with the outbox kept up to date.
    pub(super) async fn poll(&mut self) -> Result<Polled, String> {
        self.outbox.before_poll(&mut self.inner);
        let event = match self.inner.eventloop.poll().await {
            Ok(event) => event,
            Err(e) => {
                self.connected = false;
                return Err(describe(&e));
            }
        };
        Ok(match event {
            Event::Incoming(Packet::ConnAck(ack)) => {
                self.connected = true;
                let receive_max = ack.properties.as_ref().and_then(|p| p.receive_max);
                self.inner.window =
                    receive_max.map_or(OUTGOING_INFLIGHT, |r| r.min(OUTGOING_INFLIGHT));
                let unsent = self.outbox.on_connack(&mut self.inner, ack.session_present);
                Polled::ConnAck {
                    session_present: ack.session_present,
                    unsent: unsent.into_iter().map(message).collect(),
                    max_packet_size: ack.properties.as_ref().and_then(|p| p.max_packet_size),
                }
            }
            Event::Incoming(Packet::Publish(p)) => Polled::Publish(incoming(p)),
            Event::Incoming(Packet::SubAck(ack)) => Polled::SubAck {
                pkid: ack.pkid,
                granted: ack.return_codes.iter().map(granted).collect(),
            },
            Event::Incoming(Packet::PubAck(ack)) => {
                self.outbox.on_ack(&mut self.inner, ack.pkid);
                let ok = matches!(
                    ack.reason,
                    PubAckReason::Success | PubAckReason::NoMatchingSubscribers
                );
                Polled::Acked {
                    pkid: ack.pkid,
                    refused: (!ok).then(|| format!("{:?}", ack.reason)),
                }
            }
            Event::Incoming(Packet::PubComp(comp)) => {
                self.outbox.on_ack(&mut self.inner, comp.pkid);
                Polled::Acked {
                    pkid: comp.pkid,
                    refused: (comp.reason != PubCompReason::Success)
                        .then(|| format!("{:?}", comp.reason)),
                }
            }
            Event::Outgoing(Outgoing::Subscribe(pkid)) => Polled::SubscribeSent(pkid),
            Event::Outgoing(Outgoing::Disconnect) => Polled::DisconnectSent,
            _ => Polled::Other,
        })
    }

    /// After a connection error (see [`Outbox::on_disconnect`]).
    pub(super) fn on_disconnect(&mut self, skip: impl Fn(&[u8]) -> bool) {
        self.outbox.on_disconnect(&mut self.inner, skip);
    }

    /// Points the next connection at the next endpoint (see [`Endpoints`]); returns its index,
    /// or `None` when there is only one.
    pub(super) fn next_endpoint(&mut self) -> Option<usize> {
        let (index, options) = self.endpoints.advance()?;
        self.inner.eventloop.options = options;
        Some(index)
    }

    /// A fresh id and time for the will of the next connection.
    pub(super) fn renew_will(&mut self, config: &MqttConfig) {
        self.inner
            .eventloop
            .options
            .set_last_will(last_will(config));
    }

    /// After DISCONNECT: reads (and discards) until the broker closes the connection, at most
    /// `limit`; returns whether it did.
    pub(super) async fn await_close(&mut self, limit: Duration) -> bool {
        if !self.connected {
            return true;
        }
        let eventloop = &mut self.inner.eventloop;
        tokio::time::timeout(limit, async { while eventloop.poll().await.is_ok() {} })
            .await
            .is_ok()
    }
}

fn incoming(p: Publish) -> Incoming {
    let properties = p.properties.map(from_wire).filter(|p| !p.is_empty());
    Incoming {
        ack: Ack {
            qos: from_qos(p.qos),
            pkid: p.pkid,
        },
        topic: String::from_utf8_lossy(&p.topic).into_owned(),
        payload: p.payload,
        retain: p.retain,
        dup: p.dup,
        properties: properties.map(Box::new),
    }
}

fn message(p: Publish) -> Message {
    Message {
        topic: String::from_utf8_lossy(&p.topic).into_owned(),
        qos: from_qos(p.qos),
        retain: p.retain,
        payload: p.payload,
        properties: p.properties.map(|p| Box::new(from_wire(p))),
    }
}

/// The QoS a SUBACK granted to one filter, or the reason code of the refusal.
fn granted(code: &SubscribeReasonCode) -> Result<QoS, String> {
    match code {
        SubscribeReasonCode::Success(q) => Ok(from_qos(*q)),
        refused => Err(format!("{refused:?}")),
    }
}

/// A readable reason with the reason code's name, e.g. "connection refused by the broker:
/// NotAuthorized" or "the broker disconnected: SessionTakenOver".
fn describe(error: &ConnectionError) -> String {
    match error {
        ConnectionError::ConnectionRefused(code)
        | ConnectionError::MqttState(StateError::ConnFail { reason: code }) => {
            format!("connection refused by the broker: {code:?}")
        }
        ConnectionError::MqttState(StateError::ServerDisconnect {
            reason_code,
            reason_string,
        }) => match reason_string {
            Some(text) => format!("the broker disconnected: {reason_code:?} ({text})"),
            None => format!("the broker disconnected: {reason_code:?}"),
        },
        other => other.to_string(),
    }
}

impl Queue for Session {
    type Publish = Publish;
    type Request = Request;

    fn pending(&mut self) -> &mut VecDeque<Request> {
        &mut self.eventloop.pending
    }
    fn collision(&mut self) -> &mut Option<Publish> {
        &mut self.eventloop.state.collision
    }
    fn window(&self) -> u16 {
        self.window
    }
    fn sort(request: Request) -> Pending<Publish, Request> {
        match request {
            Request::Publish(p) if p.qos != V5QoS::AtMostOnce && p.pkid == 0 => {
                Pending::Unnumbered(p)
            }
            Request::Subscribe(_) => Pending::Subscribe,
            other => Pending::Keep(other),
        }
    }
    fn publish(request: &Request) -> Option<&Publish> {
        match request {
            Request::Publish(p) => Some(p),
            _ => None,
        }
    }
    fn holds(request: &Request) -> Option<u16> {
        match request {
            Request::Publish(p) if p.pkid != 0 => Some(p.pkid),
            Request::PubRel(r) => Some(r.pkid),
            _ => None,
        }
    }
    fn numbered(mut publish: Publish, pkid: u16) -> Request {
        publish.pkid = pkid;
        Request::Publish(publish)
    }
    fn pkid(publish: &Publish) -> u16 {
        publish.pkid
    }
    fn topic(publish: &Publish) -> &[u8] {
        &publish.topic
    }
}

#[cfg(test)]
mod tests {
    use rumqttc::v5::mqttbytes::v5::{ConnectReturnCode, DisconnectReasonCode};

    use super::*;

    /// Refusals and DISCONNECT reasons are reported with their reason code's name.
    #[test]
    fn reasons_are_named() {
        let disconnect = ConnectionError::MqttState(StateError::ServerDisconnect {
            reason_code: DisconnectReasonCode::SessionTakenOver,
            reason_string: None,
        });
        assert_eq!(
            describe(&disconnect),
            "the broker disconnected: SessionTakenOver"
        );
        let quota = ConnectionError::MqttState(StateError::ServerDisconnect {
            reason_code: DisconnectReasonCode::QuotaExceeded,
            reason_string: Some("too many".into()),
        });
        assert_eq!(
            describe(&quota),
            "the broker disconnected: QuotaExceeded (too many)"
        );
        let refused = ConnectionError::ConnectionRefused(ConnectReturnCode::NotAuthorized);
        assert_eq!(
            describe(&refused),
            "connection refused by the broker: NotAuthorized"
        );
        assert_eq!(
            granted(&SubscribeReasonCode::QuotaExceeded),
            Err("QuotaExceeded".to_owned())
        );
    }
}
