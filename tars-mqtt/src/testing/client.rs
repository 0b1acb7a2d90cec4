//! A plain rumqttc peer for tests.

use std::time::Duration;

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use tokio::sync::mpsc;

use crate::QoS;
use crate::topic::TopicFilter;

/// A message received by a [`TestClient`].
#[derive(Debug, Clone)]
pub struct Received {
    /// Topic.
    pub topic: String,
    /// Payload.
    pub payload: Bytes,
    /// QoS it was delivered with.
    pub qos: QoS,
    /// Retained flag.
    pub retain: bool,
}

impl Received {
    /// The payload as JSON (panics with the payload when it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or_else(|e| {
            panic!(
                "payload on {} is not JSON ({e}): {:?}",
                self.topic, self.payload
            )
        })
    }
}

enum PeerEvent {
    Message(Received),
    SubAck(Vec<bool>),
}

/// A plain MQTT peer (no tars-mqtt types on the wire) for driving services in tests.
pub struct TestClient {
    client: AsyncClient,
    rx: mpsc::UnboundedReceiver<PeerEvent>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for TestClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TestClient")
    }
}

impl TestClient {
    /// Connects (clean session) and waits for CONNACK; panics after 10 s.
    pub async fn connect(url: &str, client_id: &str) -> Self {
        let address = crate::config::BrokerAddress::parse(url).expect("a valid broker URL");
        let mut options = MqttOptions::new(client_id, address.host, address.port);
        options.set_keep_alive(Duration::from_secs(30));
        options.set_max_packet_size(8 * 1024 * 1024, 8 * 1024 * 1024);
        if let Some(user) = address.username {
            options.set_credentials(
                user,
                address
                    .password
                    .map(|p| p.expose().to_owned())
                    .unwrap_or_default(),
            );
        }
        let (client, mut eventloop) = AsyncClient::new(options, 1000);
        let mut network = rumqttc::NetworkOptions::new();
        network.set_tcp_nodelay(true);
        eventloop.set_network_options(network);
        let (tx, rx) = mpsc::unbounded_channel();
        let (connected_tx, connected_rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(async move {
            let mut connected = Some(connected_tx);
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        if let Some(tx) = connected.take() {
                            let _ = tx.send(());
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send(PeerEvent::Message(Received {
                            topic: p.topic.clone(),
                            payload: p.payload.clone(),
                            qos: p.qos.into(),
                            retain: p.retain,
                        }));
                    }
                    Ok(Event::Incoming(Packet::SubAck(ack))) => {
                        let codes = ack
                            .return_codes
                            .iter()
                            .map(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)))
                            .collect();
                        let _ = tx.send(PeerEvent::SubAck(codes));
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        tokio::time::timeout(Duration::from_secs(10), connected_rx)
            .await
            .expect("the test client did not connect within 10 s")
            .expect("the test client's event loop ended");
        Self { client, rx, task }
    }

    /// Subscribes at QoS 1 and waits for the SUBACK; panics if refused.
    pub async fn subscribe(&mut self, filter: &str) {
        assert!(
            self.try_subscribe(filter, QoS::AtLeastOnce).await,
            "subscription to {filter} refused"
        );
    }

    /// Subscribes and returns whether the broker granted it.
    pub async fn try_subscribe(&mut self, filter: &str, qos: QoS) -> bool {
        self.client
            .subscribe(filter, qos.into())
            .await
            .expect("client alive");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(PeerEvent::SubAck(codes))) => return codes.iter().all(|ok| *ok),
                Ok(Some(PeerEvent::Message(_))) => continue,
                _ => panic!("no SUBACK for {filter} within 10 s"),
            }
        }
    }

    /// Publishes bytes.
    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>, qos: QoS, retain: bool) {
        self.client
            .publish(topic, qos.into(), retain, payload.into())
            .await
            .expect("client alive");
    }

    /// Publishes JSON at QoS 1.
    pub async fn publish_json(&self, topic: &str, value: &serde_json::Value) {
        self.publish(topic, value.to_string(), QoS::AtLeastOnce, false)
            .await;
    }

    /// The next message on any subscribed topic, or `None` after `timeout`.
    pub async fn next(&mut self, timeout: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Ok(Some(PeerEvent::Message(m))) => return Some(m),
                Ok(Some(PeerEvent::SubAck(_))) => continue,
                _ => return None,
            }
        }
    }

    /// The next message matching `filter` (others are skipped); panics after `timeout`.
    pub async fn expect(&mut self, filter: &str, timeout: Duration) -> Received {
        self.expect_where(filter, timeout, |_| true).await
    }

    /// The next message matching `filter` and `pred` (others are skipped); panics after `timeout`.
    pub async fn expect_where(
        &mut self,
        filter: &str,
        timeout: Duration,
        pred: impl Fn(&Received) -> bool,
    ) -> Received {
        let f = TopicFilter::parse(filter).expect("a valid filter");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self.next(left).await {
                Some(m) if f.matches(&m.topic) && pred(&m) => return m,
                Some(_) => continue,
                None => panic!("no message on {filter} within {timeout:?}"),
            }
        }
    }

    /// Collects every message arriving within `window`.
    pub async fn drain(&mut self, window: Duration) -> Vec<Received> {
        let mut out = Vec::new();
        let deadline = tokio::time::Instant::now() + window;
        while let Some(m) = self
            .next(deadline.saturating_duration_since(tokio::time::Instant::now()))
            .await
        {
            out.push(m);
        }
        out
    }

    /// The underlying client.
    pub fn client(&self) -> &AsyncClient {
        &self.client
    }
}

impl Drop for TestClient {
    fn drop(&mut self) {
        self.task.abort();
    }
}
