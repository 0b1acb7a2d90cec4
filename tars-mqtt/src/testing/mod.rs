//! Test support (feature `testing`): real brokers on loopback and a raw MQTT peer.
//!
//! - [`EmbeddedBroker`]: the `rumqttd` broker in-process on a free port. It cannot be stopped
//!   (rumqttd has no shutdown), so it lives until the test process exits. Clients reach it
//!   through a relay that sets `TCP_NODELAY` and acknowledges at once, which rumqttd does not do
//!   itself (without it every round trip waits ~40 ms per hop for a delayed ACK).
//! - [`BrokerProcess`]: a broker in a child process that a test can stop (SIGKILL) and start
//!   again on the same port: Mosquitto, or any program that embeds [`run_broker_main`].
//! - [`TestClient`]: a plain rumqttc peer to publish, subscribe and await messages with timeouts.
//!
//! ```no_run
//! # async fn f() {
//! use tars_mqtt::testing::{EmbeddedBroker, TestClient};
//! use std::time::Duration;
//! let broker = EmbeddedBroker::start();
//! let mut peer = TestClient::connect(&broker.url(), "peer").await;
//! peer.subscribe("memory/results").await;
//! peer.publish_json("memory/query", &serde_json::json!({"text": "hi"})).await;
//! let reply = peer.expect("memory/results", Duration::from_secs(5)).await;
//! # }
//! ```

use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

mod client;
mod process;
mod relay;

pub use client::{Received, TestClient};
pub use process::{BrokerProcess, mosquitto_path};

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
}

fn loopback(port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}

fn wait_until_listening(port: u16, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

fn rumqttd_config(port: u16, users: &[(&str, &str)]) -> rumqttd::Config {
    let auth: serde_json::Map<String, serde_json::Value> = users
        .iter()
        .map(|(u, p)| ((*u).to_owned(), (*p).into()))
        .collect();
    let mut connections = serde_json::json!({
        "connection_timeout_ms": 60000,
        "max_payload_size": 4 * 1024 * 1024,
        "max_inflight_count": 500,
        "dynamic_filters": true,
    });
    if !users.is_empty() {
        connections["auth"] = auth.into();
    }
    serde_json::from_value(serde_json::json!({
        "id": 0,
        "router": {
            "id": 0,
            "max_connections": 10010,
            "max_outgoing_packet_count": 200,
            "max_segment_size": 104857600,
            "max_segment_count": 10,
        },
        "v4": { "1": {
            "name": "v4-1",
            "listen": format!("127.0.0.1:{port}"),
            "next_connection_delay_ms": 1,
            "connections": connections,
        }},
    }))
    .expect("a valid rumqttd configuration")
}

/// The rumqttd broker, in-process on a free loopback port (MQTT 3.1.1).
#[derive(Debug)]
pub struct EmbeddedBroker {
    port: u16,
}

impl EmbeddedBroker {
    /// Starts a broker that allows anonymous clients.
    pub fn start() -> Self {
        Self::start_with_users(&[])
    }

    /// Starts a broker that requires one of these user name / password pairs.
    pub fn start_with_users(users: &[(&str, &str)]) -> Self {
        let port = free_port();
        start_relayed_rumqttd(port, users).expect("the embedded broker starts");
        Self { port }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `mqtt://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }
}

/// rumqttd on a private loopback port, and the relay to it on `port`; returns once `port`
/// accepts connections. rumqttd's `start` runs its servers until the process exits, so it gets a
/// thread of its own.
fn start_relayed_rumqttd(port: u16, users: &[(&str, &str)]) -> std::io::Result<()> {
    let inner = free_port();
    let mut broker = rumqttd::Broker::new(rumqttd_config(inner, users));
    std::thread::Builder::new()
        .name(format!("rumqttd-{port}"))
        .spawn(move || {
            if let Err(e) = broker.start() {
                tracing::error!(?e, "embedded broker stopped");
            }
        })?;
    if !wait_until_listening(inner, Duration::from_secs(10)) {
        return Err(std::io::Error::other(format!(
            "rumqttd did not listen on port {inner}"
        )));
    }
    relay::spawn(loopback(port), loopback(inner))
}

/// Runs rumqttd in the foreground on the port given as the first argument: the `main` of a small
/// broker binary that [`BrokerProcess::program`] can start and stop.
pub fn run_broker_main() -> ! {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: <broker> <port>");
    if let Err(e) = start_relayed_rumqttd(port, &[]) {
        eprintln!("broker failed on port {port}: {e}");
        std::process::exit(1);
    }
    loop {
        std::thread::park();
    }
}
