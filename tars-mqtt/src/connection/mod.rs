//! The connection: the only module that drives rumqttc, through its 3.1.1 client ([`v4`]) or
//! its MQTT 5 client ([`v5`]), chosen by the configuration. It owns the state machine
//! (connecting → connected → backoff → …, stopping → stopped), exponential backoff with jitter,
//! TLS and socket options, and the last will. It numbers the received PUBLISHes for `ack` and
//! lets the outbox look after what rumqttc keeps for the next connection. Everything above it
//! sees one protocol-neutral message type in each direction.

mod backoff;
mod endpoints;
mod options;
mod outbox;
mod v4;
mod v5;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};

use crate::QoS;
use crate::ack::{Ack, AckMsg, AckSender, Acks, Sequencer};
use crate::config::{MqttConfig, Protocol};
use crate::error::ConfigError;
use crate::inbound::Inbound;
use crate::properties::Properties;
use crate::state::{ConnectionState, Readiness};
use backoff::Backoff;

/// How long a graceful disconnect waits for the broker to close the connection.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// A PUBLISH to send, in either protocol.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) topic: String,
    pub(crate) qos: QoS,
    pub(crate) retain: bool,
    pub(crate) payload: Bytes,
    /// MQTT 5 properties (not sent on 3.1.1).
    pub(crate) properties: Option<Box<Properties>>,
}

/// Options of one SUBSCRIBE (MQTT 5 only; ignored on 3.1.1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct SubscribeOptions {
    /// The broker does not deliver this client's own publishes.
    pub(crate) no_local: bool,
}

/// A received PUBLISH, in either protocol.
pub(super) struct Incoming {
    ack: Ack,
    topic: String,
    payload: Bytes,
    retain: bool,
    dup: bool,
    properties: Option<Box<Properties>>,
}

/// An event of either protocol's event loop, in the connection's terms.
pub(super) enum Polled {
    ConnAck {
        session_present: bool,
        /// See [`ConnEvent::Connected`].
        unsent: Vec<Message>,
        /// The broker's Maximum Packet Size (MQTT 5).
        max_packet_size: Option<u32>,
    },
    Publish(Incoming),
    SubAck {
        pkid: u16,
        granted: Vec<Result<QoS, String>>,
    },
    /// A PUBACK or PUBCOMP; `refused` names an MQTT 5 failure reason code.
    Acked {
        pkid: u16,
        refused: Option<String>,
    },
    SubscribeSent(u16),
    DisconnectSent,
    Other,
}

/// What the connection tells the controller.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    Connected {
        session_present: bool,
        /// Publishes accepted before the connection dropped that the broker never acknowledged,
        /// when the broker kept no session (see [`Outbox`]): the controller sends them again
        /// once the subscriptions are back.
        unsent: Vec<Message>,
    },
    Disconnected,
    SubscribeSent {
        pkid: u16,
    },
    SubAck {
        pkid: u16,
        /// Per filter: the QoS granted, or the name of the refusal's reason code.
        granted: Vec<Result<QoS, String>>,
    },
    /// The broker refused a QoS ≥ 1 publish (an MQTT 5 PUBACK/PUBCOMP reason code).
    PublishRefused {
        pkid: u16,
        reason: String,
    },
}

/// The client of the protocol in use.
#[derive(Clone)]
enum Client {
    V4(rumqttc::AsyncClient),
    V5(rumqttc::v5::AsyncClient),
}

/// Cheap handle for sending requests to the client's outgoing queue.
#[derive(Clone)]
pub(crate) struct ClientHandle {
    client: Client,
    pub(crate) publish_timeout: Duration,
    /// The largest packet the broker accepts (MQTT 5 CONNACK; 0: no limit given). rumqttc
    /// drops the connection rather than send a larger one, so publishes are checked first.
    broker_max: Arc<AtomicU32>,
}

impl std::fmt::Debug for ClientHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ClientHandle")
    }
}

/// The outgoing queue did not take the request (full for the whole timeout, or closed).
#[derive(Debug)]
pub(crate) enum SendError {
    Timeout(Duration),
    Closed,
}

impl ClientHandle {
    /// Queues a PUBLISH, waiting at most the publish timeout for room.
    pub(crate) async fn send(&self, message: Message) -> Result<(), SendError> {
        let send = async {
            match &self.client {
                Client::V4(c) => v4::publish(c, message).await,
                Client::V5(c) => v5::publish(c, message).await,
            }
        };
        match tokio::time::timeout(self.publish_timeout, send).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(())) => Err(SendError::Closed),
            Err(_) => Err(SendError::Timeout(self.publish_timeout)),
        }
    }

    /// Queues a PUBLISH without properties.
    pub(crate) async fn publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: Bytes,
    ) -> Result<(), SendError> {
        self.send(Message {
            topic: topic.to_owned(),
            qos,
            retain,
            payload,
            properties: None,
        })
        .await
    }

    pub(crate) async fn subscribe_many(
        &self,
        filters: &[(String, QoS)],
        options: SubscribeOptions,
    ) -> Result<(), SendError> {
        let sent = match &self.client {
            Client::V4(c) => v4::subscribe(c, filters, options).await,
            Client::V5(c) => v5::subscribe(c, filters, options).await,
        };
        sent.map_err(|()| SendError::Closed)
    }

    pub(crate) async fn disconnect(&self) {
        let _ = match &self.client {
            Client::V4(c) => c.disconnect().await.map_err(drop),
            Client::V5(c) => c.disconnect().await.map_err(drop),
        };
    }

    /// The largest packet the broker of the current connection accepts, if it said.
    pub(crate) fn broker_max_packet(&self) -> Option<usize> {
        match self.broker_max.load(Ordering::Relaxed) {
            0 => None,
            max => Some(max as usize),
        }
    }

    /// Whether the connection speaks MQTT 5.
    pub(crate) fn speaks_v5(&self) -> bool {
        matches!(self.client, Client::V5(_))
    }

    /// The 3.1.1 client, when that is the protocol in use.
    pub(crate) fn raw(&self) -> Option<rumqttc::AsyncClient> {
        match &self.client {
            Client::V4(c) => Some(c.clone()),
            Client::V5(_) => None,
        }
    }

    /// The MQTT 5 client, when that is the protocol in use.
    pub(crate) fn raw_v5(&self) -> Option<rumqttc::v5::AsyncClient> {
        match &self.client {
            Client::V5(c) => Some(c.clone()),
            Client::V4(_) => None,
        }
    }
}

/// Acknowledgements of received PUBLISHes (persistent sessions, where they are manual).
impl AckSender for ClientHandle {
    async fn ack(&self, ack: Ack) -> Result<(), ()> {
        match &self.client {
            Client::V4(c) => v4::ack(c, ack).await,
            Client::V5(c) => v5::ack(c, ack).await,
        }
    }
}

/// The event loop of the protocol in use.
// One per service, moved once into its task: the size difference costs nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum EventLoop {
    V4(v4::Loop),
    V5(v5::Loop),
}

impl EventLoop {
    fn connected(&self) -> bool {
        match self {
            Self::V4(l) => l.connected(),
            Self::V5(l) => l.connected(),
        }
    }

    async fn poll(&mut self) -> Result<Polled, String> {
        match self {
            Self::V4(l) => l.poll().await,
            Self::V5(l) => l.poll().await,
        }
    }

    fn on_disconnect(&mut self, skip: impl Fn(&[u8]) -> bool) {
        match self {
            Self::V4(l) => l.on_disconnect(skip),
            Self::V5(l) => l.on_disconnect(skip),
        }
    }

    /// See [`Endpoints::advance`].
    fn next_endpoint(&mut self) -> Option<usize> {
        match self {
            Self::V4(l) => l.next_endpoint(),
            Self::V5(l) => l.next_endpoint(),
        }
    }

    fn renew_will(&mut self, config: &MqttConfig) {
        match self {
            Self::V4(l) => l.renew_will(config),
            Self::V5(l) => l.renew_will(config),
        }
    }

    async fn await_close(&mut self, limit: Duration) -> bool {
        match self {
            Self::V4(l) => l.await_close(limit).await,
            Self::V5(l) => l.await_close(limit).await,
        }
    }
}

/// Builds the client and event loop of the configured protocol.
pub(crate) fn build(config: &MqttConfig) -> Result<(ClientHandle, EventLoop), ConfigError> {
    let (client, eventloop) = match config.protocol {
        Protocol::V5 => {
            let (client, eventloop) = v5::build(config)?;
            (Client::V5(client), EventLoop::V5(eventloop))
        }
        _ => {
            let (client, eventloop) = v4::build(config)?;
            (Client::V4(client), EventLoop::V4(eventloop))
        }
    };
    Ok((
        ClientHandle {
            client,
            publish_timeout: config.publish_timeout,
            broker_max: Arc::new(AtomicU32::new(0)),
        },
        eventloop,
    ))
}

/// Everything the connection task needs besides the event loop.
pub(crate) struct Driver {
    pub(crate) config: Arc<MqttConfig>,
    pub(crate) client: ClientHandle,
    pub(crate) events: mpsc::UnboundedSender<ConnEvent>,
    pub(crate) state: watch::Sender<Readiness>,
    pub(crate) stop: watch::Receiver<bool>,
    /// Where the guards of received PUBLISHes send their acknowledgements.
    pub(crate) acks: Acks,
    /// Called for every received PUBLISH; returns what is left to wait for (backpressure), if
    /// anything.
    pub(crate) on_publish:
        Arc<dyn Fn(Arc<Inbound>) -> Option<BoxFuture<'static, ()>> + Send + Sync>,
}

/// What the poll loop keeps from one event to the next.
struct PollState {
    backoff: Backoff,
    sequencer: Sequencer,
    /// The service's own presence topics (not sent again after a lost session).
    own: [String; 2],
    /// The index of the broker endpoint in use.
    endpoint: usize,
}

/// Whether the poll loop goes on.
enum Flow {
    Continue,
    Stop,
}

impl Driver {
    /// Polls the event loop until a graceful disconnect; never returns on connection errors.
    pub(crate) async fn run(
        mut self,
        mut eventloop: EventLoop,
        acks: mpsc::UnboundedReceiver<AckMsg>,
    ) {
        let epoch = Arc::new(AtomicU64::new(0));
        let acker = tokio::spawn(crate::ack::acker(self.client.clone(), acks, epoch.clone()));
        let mut poll = PollState {
            backoff: Backoff::new(
                self.config.reconnect_min_delay,
                self.config.reconnect_max_delay,
            ),
            sequencer: Sequencer::new(self.acks.clone(), epoch),
            own: [
                crate::presence::health_topic(&self.config.client_id),
                crate::presence::heartbeat_topic(&self.config.client_id),
            ],
            endpoint: 0,
        };
        self.set_state(ConnectionState::Connecting);
        loop {
            // Connected, a stop goes through a DISCONNECT, which the event loop reports.
            let event = match eventloop.connected() {
                true => eventloop.poll().await,
                false => tokio::select! {
                    biased;
                    event = eventloop.poll() => event,
                    _ = stopped(&mut self.stop) => break,
                },
            };
            let flow = match event {
                Ok(event) => self.on_event(event, &mut eventloop, &mut poll).await,
                Err(error) => self.on_error(error, &mut eventloop, &mut poll).await,
            };
            if let Flow::Stop = flow {
                break;
            }
        }
        acker.abort();
        self.set_state(ConnectionState::Stopped);
    }

    async fn on_event(
        &mut self,
        event: Polled,
        eventloop: &mut EventLoop,
        poll: &mut PollState,
    ) -> Flow {
        match event {
            Polled::ConnAck {
                session_present,
                unsent,
                max_packet_size,
            } => {
                self.client
                    .broker_max
                    .store(max_packet_size.unwrap_or(0), Ordering::Relaxed);
                poll.backoff.reset();
                poll.sequencer.connected();
                tracing::info!(broker = %self.config.brokers[poll.endpoint],
                    protocol = %self.config.protocol, session_present, "connected");
                self.set_state(ConnectionState::Connected);
                let _ = self.events.send(ConnEvent::Connected {
                    session_present,
                    unsent,
                });
            }
            Polled::Publish(p) => {
                let mut inbound = Inbound::new(p.topic, p.payload, p.ack.qos, p.retain, p.dup);
                inbound.properties = p.properties;
                if self.config.persistent_session && p.ack.qos != QoS::AtMostOnce {
                    inbound.ack = Some(poll.sequencer.guard(p.ack));
                }
                if let Some(wait) = (self.on_publish)(Arc::new(inbound)) {
                    wait.await;
                }
            }
            Polled::SubAck { pkid, granted } => {
                let _ = self.events.send(ConnEvent::SubAck { pkid, granted });
            }
            Polled::Acked { pkid, refused } => {
                if let Some(reason) = refused {
                    let _ = self.events.send(ConnEvent::PublishRefused { pkid, reason });
                }
            }
            Polled::SubscribeSent(pkid) => {
                let _ = self.events.send(ConnEvent::SubscribeSent { pkid });
            }
            Polled::DisconnectSent => {
                let closed = eventloop.await_close(CLOSE_WAIT).await;
                tracing::debug!(closed, "disconnected");
                return Flow::Stop;
            }
            Polled::Other => {}
        }
        Flow::Continue
    }

    /// A failed attempt or a lost connection: back off (unless stopping), then connect again.
    async fn on_error(
        &mut self,
        error: String,
        eventloop: &mut EventLoop,
        poll: &mut PollState,
    ) -> Flow {
        if *self.stop.borrow() {
            return Flow::Stop;
        }
        let own = &poll.own;
        eventloop.on_disconnect(|topic| own.iter().any(|o| o.as_bytes() == topic));
        let delay = poll.backoff.next_delay();
        let failed = poll.endpoint;
        if let Some(next) = eventloop.next_endpoint() {
            poll.endpoint = next;
            let endpoint = self.config.brokers[next].to_string();
            self.state.send_modify(|r| r.endpoint = endpoint);
        }
        tracing::warn!(broker = %self.config.brokers[failed], attempt = poll.backoff.attempt(), ?delay,
            %error, next = %self.config.brokers[poll.endpoint], "connection lost or refused; retrying");
        self.set_state(ConnectionState::Backoff {
            attempt: poll.backoff.attempt(),
            delay,
            error,
        });
        let _ = self.events.send(ConnEvent::Disconnected);
        if self.config.health {
            // A fresh id and time for the will of the next connection.
            eventloop.renew_will(&self.config);
        }
        tokio::select! {
            _ = tokio::time::sleep(delay) => {}
            _ = stopped(&mut self.stop) => return Flow::Stop,
        }
        self.set_state(ConnectionState::Connecting);
        Flow::Continue
    }

    fn set_state(&self, state: ConnectionState) {
        self.state.send_modify(|r| {
            if state != ConnectionState::Connected {
                r.ready = false;
            }
            r.connection = state;
        });
    }
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
