//! The connection: the only module that drives rumqttc. It owns the state machine
//! (connecting → connected → backoff → …, stopping → stopped), exponential backoff with jitter,
//! TLS and socket options, and the last will. It numbers the received PUBLISHes for `ack` and
//! lets `outbox` look after what rumqttc keeps for the next connection.

use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, SubscribeReasonCode,
    Transport,
};
use tokio::sync::{mpsc, watch};

use crate::QoS;
use crate::ack::{AckMsg, Acks, Sequencer};
use crate::config::MqttConfig;
use crate::error::ConfigError;
use crate::inbound::Inbound;
use crate::outbox::Outbox;
use crate::state::{ConnectionState, Readiness};

/// The largest packet MQTT can frame: a 268 435 455-byte remaining length plus its header.
const MQTT_MAX_PACKET: usize = 268_435_460;

/// How long a graceful disconnect waits for the broker to close the connection.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

/// What the connection tells the controller.
#[derive(Debug)]
pub(crate) enum ConnEvent {
    Connected {
        session_present: bool,
        /// Publishes accepted before the connection dropped that the broker never acknowledged,
        /// when the broker kept no session (see [`Outbox`]): the controller sends them again
        /// once the subscriptions are back.
        unsent: Vec<rumqttc::Publish>,
    },
    Disconnected,
    SubscribeSent {
        pkid: u16,
    },
    SubAck {
        pkid: u16,
        granted: Vec<Option<QoS>>,
    },
}

/// Exponential backoff from `min` to `max`, doubling per failure, with jitter (each delay is
/// drawn from the upper half of the current step), reset after a successful connection.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    min: Duration,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            attempt: 0,
        }
    }

    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }

    pub(crate) fn attempt(&self) -> u32 {
        self.attempt
    }

    pub(crate) fn next_delay(&mut self) -> Duration {
        let step = self
            .min
            .saturating_mul(1u32 << self.attempt.min(16))
            .min(self.max);
        self.attempt = self.attempt.saturating_add(1);
        let half = step / 2;
        // 53 random bits as a fraction in [0, 1); without OS randomness, no jitter.
        let unit = getrandom::u64().map_or(1.0, |r| (r >> 11) as f64 / (1u64 << 53) as f64);
        half + half.mul_f64(unit)
    }
}

/// Cheap handle for sending requests to the client's outgoing queue.
#[derive(Clone)]
pub(crate) struct ClientHandle {
    client: AsyncClient,
    pub(crate) publish_timeout: Duration,
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
    pub(crate) async fn publish(
        &self,
        topic: &str,
        qos: QoS,
        retain: bool,
        payload: Bytes,
    ) -> Result<(), SendError> {
        let send = self
            .client
            .publish_bytes(topic, qos.into(), retain, payload);
        match tokio::time::timeout(self.publish_timeout, send).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendError::Closed),
            Err(_) => Err(SendError::Timeout(self.publish_timeout)),
        }
    }

    pub(crate) async fn subscribe_many(&self, filters: &[(String, QoS)]) -> Result<(), SendError> {
        let filters = filters
            .iter()
            .map(|(f, q)| rumqttc::SubscribeFilter::new(f.clone(), (*q).into()));
        self.client
            .subscribe_many(filters)
            .await
            .map_err(|_| SendError::Closed)
    }

    pub(crate) async fn disconnect(&self) {
        let _ = self.client.disconnect().await;
    }

    pub(crate) fn raw(&self) -> AsyncClient {
        self.client.clone()
    }
}

/// Builds the rumqttc client and event loop from the configuration.
pub(crate) fn build(config: &MqttConfig) -> Result<(ClientHandle, EventLoop), ConfigError> {
    let mut options = MqttOptions::new(&config.client_id, &config.broker.host, config.broker.port);
    options.set_keep_alive(config.keepalive);
    // Accept whatever the broker delivers (its own limit bounds it): rumqttc drops the whole
    // connection on an oversized incoming packet, which would lose other messages and, with a
    // persistent session, bring the same packet back after every reconnect. The configured
    // limit is enforced at intake instead, and on publish before anything reaches rumqttc.
    options.set_max_packet_size(MQTT_MAX_PACKET, config.max_packet_size);
    options.set_clean_session(!config.persistent_session);
    options.set_manual_acks(config.persistent_session);
    options.set_request_channel_capacity(config.outgoing_capacity);
    if let Some(user) = &config.broker.username {
        let password = config
            .broker
            .password
            .as_ref()
            .map(|p| p.expose())
            .unwrap_or("");
        options.set_credentials(user, password);
    }
    if config.broker.tls {
        options.set_transport(Transport::tls_with_config(
            crate::tls::client_config(config)?.into(),
        ));
    }
    if config.health {
        options.set_last_will(last_will(config));
    }
    let (client, mut eventloop) = AsyncClient::new(options, config.outgoing_capacity);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network.set_connection_timeout(10);
    eventloop.set_network_options(network);
    Ok((
        ClientHandle {
            client,
            publish_timeout: config.publish_timeout,
        },
        eventloop,
    ))
}

fn last_will(config: &MqttConfig) -> LastWill {
    let payload = crate::presence::health_payload(&config.source, false, Some("offline"), None);
    LastWill::new(
        crate::presence::health_topic(&config.client_id),
        payload,
        rumqttc::QoS::AtLeastOnce,
        true,
    )
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

/// The QoS a SUBACK granted to one filter, or `None` for a refusal.
fn granted_qos(code: &SubscribeReasonCode) -> Option<QoS> {
    match code {
        SubscribeReasonCode::Success(q) => Some((*q).into()),
        SubscribeReasonCode::Failure => None,
    }
}

/// What the poll loop keeps from one event to the next.
struct PollState {
    backoff: Backoff,
    sequencer: Sequencer,
    outbox: Outbox,
    /// The service's own presence topics (not sent again after a lost session).
    own: [String; 2],
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
        let acker = tokio::spawn(crate::ack::acker(self.client.raw(), acks, epoch.clone()));
        let mut poll = PollState {
            backoff: Backoff::new(
                self.config.reconnect_min_delay,
                self.config.reconnect_max_delay,
            ),
            sequencer: Sequencer::new(self.acks.clone(), epoch),
            outbox: Outbox::default(),
            own: [
                crate::presence::health_topic(&self.config.client_id),
                crate::presence::heartbeat_topic(&self.config.client_id),
            ],
        };
        self.set_state(ConnectionState::Connecting);
        loop {
            poll.outbox.before_poll(&eventloop);
            let event = tokio::select! {
                biased;
                event = eventloop.poll() => event,
                _ = stopped(&mut self.stop), if eventloop.network.is_none() => break,
            };
            let flow = match event {
                Ok(event) => self.on_event(event, &mut eventloop, &mut poll).await,
                Err(error) => self.on_error(&error, &mut eventloop, &mut poll).await,
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
        event: Event,
        eventloop: &mut EventLoop,
        poll: &mut PollState,
    ) -> Flow {
        match event {
            Event::Incoming(Packet::ConnAck(ack)) => {
                poll.backoff.reset();
                poll.sequencer.connected();
                tracing::info!(broker = %self.config.broker.host, port = self.config.broker.port,
                    session_present = ack.session_present, "connected");
                self.set_state(ConnectionState::Connected);
                let unsent = poll.outbox.on_connack(eventloop, ack.session_present);
                let _ = self.events.send(ConnEvent::Connected {
                    session_present: ack.session_present,
                    unsent,
                });
            }
            Event::Incoming(Packet::Publish(publish)) => {
                let mut inbound = Inbound::new(
                    publish.topic.clone(),
                    publish.payload.clone(),
                    publish.qos.into(),
                    publish.retain,
                    publish.dup,
                );
                if self.config.persistent_session && publish.qos != rumqttc::QoS::AtMostOnce {
                    inbound.ack = Some(poll.sequencer.guard(publish));
                }
                if let Some(wait) = (self.on_publish)(Arc::new(inbound)) {
                    wait.await;
                }
            }
            Event::Incoming(Packet::SubAck(ack)) => {
                let granted = ack.return_codes.iter().map(granted_qos).collect();
                let _ = self.events.send(ConnEvent::SubAck {
                    pkid: ack.pkid,
                    granted,
                });
            }
            Event::Incoming(Packet::PubAck(rumqttc::PubAck { pkid }))
            | Event::Incoming(Packet::PubComp(rumqttc::PubComp { pkid })) => {
                poll.outbox.on_ack(eventloop, pkid);
            }
            Event::Outgoing(Outgoing::Subscribe(pkid)) => {
                let _ = self.events.send(ConnEvent::SubscribeSent { pkid });
            }
            Event::Outgoing(Outgoing::Disconnect) => {
                let closed = await_close(eventloop, CLOSE_WAIT).await;
                tracing::debug!(closed, "disconnected");
                return Flow::Stop;
            }
            _ => {}
        }
        Flow::Continue
    }

    /// A failed attempt or a lost connection: back off (unless stopping), then connect again.
    async fn on_error(
        &mut self,
        error: &rumqttc::ConnectionError,
        eventloop: &mut EventLoop,
        poll: &mut PollState,
    ) -> Flow {
        if *self.stop.borrow() {
            return Flow::Stop;
        }
        let own = &poll.own;
        poll.outbox
            .on_disconnect(eventloop, |topic| own.iter().any(|o| o == topic));
        let delay = poll.backoff.next_delay();
        let error = describe(error);
        tracing::warn!(attempt = poll.backoff.attempt(), ?delay, %error, "connection lost or refused; retrying");
        self.set_state(ConnectionState::Backoff {
            attempt: poll.backoff.attempt(),
            delay,
            error,
        });
        let _ = self.events.send(ConnEvent::Disconnected);
        if self.config.health {
            // A fresh id and time for the will of the next connection.
            eventloop
                .mqtt_options
                .set_last_will(last_will(&self.config));
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

/// After DISCONNECT: reads (and discards) until the broker closes the connection, at most
/// `limit`; returns whether it did. Closing first would leave the broker's latest deliveries
/// unread, so the socket would be reset, and a broker still writing to it can drop the
/// connection before it reads the last acknowledgements, the `shutdown` status and the
/// DISCONNECT itself (it then publishes the last will, and delivers again what was handled).
/// Once the broker has closed, everything sent before is processed, also for a next instance
/// that connects with the same client id.
async fn await_close(eventloop: &mut EventLoop, limit: Duration) -> bool {
    let Some(network) = eventloop.network.as_mut() else {
        return true;
    };
    tokio::time::timeout(limit, async { while network.read().await.is_ok() {} })
        .await
        .is_ok()
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

/// A readable reason, e.g. "connection refused: bad user name or password".
fn describe(error: &rumqttc::ConnectionError) -> String {
    match error {
        rumqttc::ConnectionError::ConnectionRefused(code) => {
            format!("connection refused by the broker: {code:?}")
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_to_the_maximum_with_jitter_and_resets() {
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(800));
        let steps = [100u64, 200, 400, 800, 800, 800];
        for step in steps {
            let d = b.next_delay().as_millis() as u64;
            assert!(
                d >= step / 2 && d <= step,
                "{d} not in [{}, {step}]",
                step / 2
            );
        }
        b.reset();
        assert!(b.next_delay() <= Duration::from_millis(100));
    }
}
