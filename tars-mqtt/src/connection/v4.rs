//! MQTT 3.1.1 through rumqttc's client: options, requests, and its events in the connection's
//! own terms.

use std::collections::VecDeque;
use std::time::Duration;

use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, Publish, Request,
    SubscribeReasonCode, TlsConfiguration, Transport,
};

use super::endpoints::Endpoints;
use super::outbox::{Outbox, Pending, Queue};
use super::{Incoming, Message, Polled, SubscribeOptions};
use crate::QoS;
use crate::ack::Ack;
use crate::config::{BrokerAddress, MqttConfig};
use crate::error::ConfigError;

/// The largest packet MQTT can frame: a 268 435 455-byte remaining length plus its header.
const MQTT_MAX_PACKET: usize = 268_435_460;

/// The 3.1.1 client and event loop, set up from the configuration.
pub(super) fn build(config: &MqttConfig) -> Result<(AsyncClient, Loop), ConfigError> {
    let endpoints = Endpoints::new(config, |broker, tls| options(config, broker, tls))?;
    let (client, mut eventloop) = AsyncClient::new(endpoints.first(), config.outgoing_capacity);
    eventloop.set_network_options(super::options::network_options());
    Ok((
        client,
        Loop {
            eventloop,
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
    // Accept whatever the broker delivers (its own limit bounds it): rumqttc drops the whole
    // connection on an oversized incoming packet, which would lose other messages and, with a
    // persistent session, bring the same packet back after every reconnect. The configured
    // limit is enforced at intake instead, and on publish before anything reaches rumqttc.
    options.set_max_packet_size(MQTT_MAX_PACKET, config.max_packet_size);
    options.set_clean_session(!config.persistent_session);
    options.set_manual_acks(config.persistent_session);
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
    options
}

fn last_will(config: &MqttConfig) -> LastWill {
    let (topic, payload) = super::options::last_will(config);
    LastWill::new(topic, payload, rumqttc::QoS::AtLeastOnce, true)
}

/// Requests through the 3.1.1 client.
pub(super) async fn publish(client: &AsyncClient, message: Message) -> Result<(), ()> {
    // 3.1.1 has no properties: they are not sent.
    client
        .publish_bytes(
            message.topic,
            message.qos.into(),
            message.retain,
            message.payload,
        )
        .await
        .map_err(drop)
}

pub(super) async fn subscribe(
    client: &AsyncClient,
    filters: &[(String, QoS)],
    _options: SubscribeOptions,
) -> Result<(), ()> {
    let filters = filters
        .iter()
        .map(|(f, q)| rumqttc::SubscribeFilter::new(f.clone(), (*q).into()));
    client.subscribe_many(filters).await.map_err(drop)
}

pub(super) async fn ack(client: &AsyncClient, ack: Ack) -> Result<(), ()> {
    let mut publish = Publish::new("", ack.qos.into(), Vec::<u8>::new());
    publish.pkid = ack.pkid;
    client.ack(&publish).await.map_err(drop)
}

/// The 3.1.1 event loop with the outbox that looks after what it keeps for the next connection.
pub(crate) struct Loop {
    eventloop: EventLoop,
    outbox: Outbox<Publish>,
    endpoints: Endpoints<MqttOptions>,
}

impl Loop {
    pub(super) fn connected(&self) -> bool {
        self.eventloop.network.is_some()
    }

    /// The next event, with the outbox kept up to date.
    pub(super) async fn poll(&mut self) -> Result<Polled, String> {
        self.outbox.before_poll(&mut self.eventloop);
        let event = self.eventloop.poll().await.map_err(|e| describe(&e))?;
        Ok(match event {
            Event::Incoming(Packet::ConnAck(ack)) => {
                let unsent = self
                    .outbox
                    .on_connack(&mut self.eventloop, ack.session_present);
                Polled::ConnAck {
                    session_present: ack.session_present,
                    unsent: unsent.into_iter().map(message).collect(),
                    max_packet_size: None,
                }
            }
            Event::Incoming(Packet::Publish(p)) => Polled::Publish(Incoming {
                ack: Ack {
                    qos: p.qos.into(),
                    pkid: p.pkid,
                },
                topic: p.topic,
                payload: p.payload,
                retain: p.retain,
                dup: p.dup,
                properties: None,
            }),
            Event::Incoming(Packet::SubAck(ack)) => Polled::SubAck {
                pkid: ack.pkid,
                granted: ack.return_codes.iter().map(granted).collect(),
            },
            Event::Incoming(Packet::PubAck(rumqttc::PubAck { pkid }))
            | Event::Incoming(Packet::PubComp(rumqttc::PubComp { pkid })) => {
                self.outbox.on_ack(&mut self.eventloop, pkid);
                Polled::Acked {
                    pkid,
                    refused: None,
                }
            }
            Event::Outgoing(Outgoing::Subscribe(pkid)) => Polled::SubscribeSent(pkid),
            Event::Outgoing(Outgoing::Disconnect) => Polled::DisconnectSent,
            _ => Polled::Other,
        })
    }

    /// After a connection error (see [`Outbox::on_disconnect`]).
    pub(super) fn on_disconnect(&mut self, skip: impl Fn(&[u8]) -> bool) {
        self.outbox.on_disconnect(&mut self.eventloop, skip);
    }

    /// Points the next connection at the next endpoint (see [`Endpoints`]); returns its index,
    /// or `None` when there is only one.
    pub(super) fn next_endpoint(&mut self) -> Option<usize> {
        let (index, options) = self.endpoints.advance()?;
        self.eventloop.mqtt_options = options;
        Some(index)
    }

    /// A fresh id and time for the will of the next connection.
    pub(super) fn renew_will(&mut self, config: &MqttConfig) {
        self.eventloop.mqtt_options.set_last_will(last_will(config));
    }

    /// After DISCONNECT: reads (and discards) until the broker closes the connection, at most
    /// `limit`; returns whether it did.
    pub(super) async fn await_close(&mut self, limit: Duration) -> bool {
        let Some(network) = self.eventloop.network.as_mut() else {
            return true;
        };
        tokio::time::timeout(limit, async { while network.read().await.is_ok() {} })
            .await
            .is_ok()
    }
}

fn message(p: Publish) -> Message {
    Message {
        topic: p.topic,
        qos: p.qos.into(),
        retain: p.retain,
        payload: p.payload,
        properties: None,
    }
}

/// The QoS a SUBACK granted to one filter, or the refusal.
fn granted(code: &SubscribeReasonCode) -> Result<QoS, String> {
    match code {
        SubscribeReasonCode::Success(q) => Ok((*q).into()),
        SubscribeReasonCode::Failure => Err("Failure".to_owned()),
    }
}

/// A readable reason, e.g. "connection refused by the broker: BadUserNamePassword".
fn describe(error: &rumqttc::ConnectionError) -> String {
    match error {
        rumqttc::ConnectionError::ConnectionRefused(code) => {
            format!("connection refused by the broker: {code:?}")
        }
        other => other.to_string(),
    }
}

impl Queue for EventLoop {
    type Publish = Publish;
    type Request = Request;

    fn pending(&mut self) -> &mut VecDeque<Request> {
        &mut self.pending
    }
    fn collision(&mut self) -> &mut Option<Publish> {
        &mut self.state.collision
    }
    fn window(&self) -> u16 {
        self.mqtt_options.inflight()
    }
    fn sort(request: Request) -> Pending<Publish, Request> {
        match request {
            Request::Publish(p) if p.qos != rumqttc::QoS::AtMostOnce && p.pkid == 0 => {
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
        publish.topic.as_bytes()
    }
}
