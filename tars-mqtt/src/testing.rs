//! Test support (feature `testing`): real brokers on loopback and a raw MQTT peer.
//!
//! - [`EmbeddedBroker`]: the `rumqttd` broker in-process on a free port. It cannot be stopped
//!   (rumqttd has no shutdown), so it lives until the test process exits.
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

use std::io;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet};
use tokio::sync::mpsc;

use crate::QoS;
use crate::topic::TopicFilter;

/// A free TCP port on 127.0.0.1 (bound, read, released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free loopback port")
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
        let mut broker = rumqttd::Broker::new(rumqttd_config(port, users));
        std::thread::Builder::new()
            .name(format!("rumqttd-{port}"))
            .spawn(move || {
                if let Err(e) = broker.start() {
                    tracing::error!(?e, "embedded broker stopped");
                }
            })
            .expect("spawn the broker thread");
        assert!(
            wait_until_listening(port, Duration::from_secs(10)),
            "the embedded broker did not listen on port {port}"
        );
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

/// Runs rumqttd in the foreground on the port given as the first argument: the `main` of a small
/// broker binary that [`BrokerProcess::program`] can start and stop.
pub fn run_broker_main() -> ! {
    let port: u16 = std::env::args()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .expect("usage: <broker> <port>");
    let mut broker = rumqttd::Broker::new(rumqttd_config(port, &[]));
    if let Err(e) = broker.start() {
        eprintln!("broker failed: {e:?}");
        std::process::exit(1);
    }
    // rumqttd's start returns once its server threads run; keep the process alive.
    loop {
        std::thread::park();
    }
}

/// Where Mosquitto is installed, if it is (`MOSQUITTO` overrides the search).
pub fn mosquitto_path() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("MOSQUITTO") {
        return Some(PathBuf::from(path));
    }
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    dirs.extend(["/usr/sbin", "/usr/local/sbin", "/usr/bin"].map(PathBuf::from));
    dirs.into_iter()
        .map(|d| d.join("mosquitto"))
        .find(|p| p.is_file())
}

enum Program {
    Command(PathBuf),
    Mosquitto { binary: PathBuf, config: PathBuf },
}

/// A broker in a child process that can be stopped and started again on the same port.
pub struct BrokerProcess {
    program: Program,
    port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

impl std::fmt::Debug for BrokerProcess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrokerProcess")
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

fn scratch_dir(port: u16) -> io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tars-mqtt-test-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

impl BrokerProcess {
    /// Starts `program <port>` (e.g. a binary whose `main` calls [`run_broker_main`]).
    pub fn program(program: impl Into<PathBuf>) -> io::Result<Self> {
        let port = free_port();
        Self::launch(Program::Command(program.into()), port, scratch_dir(port)?)
    }

    /// Starts Mosquitto with a configuration written for the test: a loopback listener, anonymous
    /// access, TCP_NODELAY, raised queue limits, and `extra` lines appended (which may mention
    /// files in [`BrokerProcess::dir`] via the `{dir}` placeholder). It keeps the user it was
    /// started as (`user root`: Mosquitto started as root otherwise switches to the `mosquitto`
    /// user, which cannot write the scratch directory, and persistence silently fails).
    pub fn mosquitto(extra: &str) -> io::Result<Self> {
        let binary = mosquitto_path().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::NotFound,
                "mosquitto is not installed (apt-get install mosquitto)",
            )
        })?;
        let port = free_port();
        let dir = scratch_dir(port)?;
        let extra = extra.replace("{dir}", &dir.display().to_string());
        let has_auth = extra.contains("password_file");
        let config = dir.join("mosquitto.conf");
        std::fs::write(
            &config,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous {}\nset_tcp_nodelay true\n\
                 user root\n\
                 max_queued_messages 1000000\nmax_inflight_messages 1000\n\
                 persistence_location {}/\n{extra}\n",
                !has_auth,
                dir.display()
            ),
        )?;
        Self::launch(Program::Mosquitto { binary, config }, port, dir)
    }

    fn launch(program: Program, port: u16, dir: PathBuf) -> io::Result<Self> {
        let mut this = Self {
            program,
            port,
            dir,
            child: None,
        };
        this.start()?;
        Ok(this)
    }

    /// The scratch directory of this broker (config, password file, persistence).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `mqtt://127.0.0.1:{port}`.
    pub fn url(&self) -> String {
        format!("mqtt://127.0.0.1:{}", self.port)
    }

    /// Its port (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Starts the broker if it is stopped, and waits until it listens.
    pub fn start(&mut self) -> io::Result<()> {
        if self.child.is_some() {
            return Ok(());
        }
        let mut command = match &self.program {
            Program::Command(path) => {
                let mut c = Command::new(path);
                c.arg(self.port.to_string());
                c
            }
            Program::Mosquitto { binary, config } => {
                let mut c = Command::new(binary);
                c.arg("-c").arg(config);
                c
            }
        };
        let log = std::fs::File::create(self.dir.join("broker.log"))?;
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.child = Some(child);
        if wait_until_listening(self.port, Duration::from_secs(15)) {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default();
            self.stop();
            Err(io::Error::other(format!(
                "the broker did not listen on {}: {log}",
                self.port
            )))
        }
    }

    /// Kills the broker (SIGKILL: no goodbye to its clients) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops and starts again on the same port.
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.start()
    }

    /// Stops the broker with SIGTERM (a broker with persistence saves its state first; its
    /// clients still lose their connections) and starts it again on the same port.
    pub fn restart_gracefully(&mut self) -> io::Result<()> {
        self.signal("TERM");
        if let Some(mut child) = self.child.take() {
            let _ = child.wait();
        }
        self.start()
    }

    /// Freezes the broker (SIGSTOP), as a broker that hangs: its connections stay open and
    /// take what clients send, but nothing is answered or acknowledged. End it with
    /// [`BrokerProcess::restart`] or [`BrokerProcess::stop`].
    pub fn freeze(&self) {
        self.signal("STOP");
    }

    fn signal(&self, name: &str) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{name}"))
                .arg(child.id().to_string())
                .status();
        }
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

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
        let address = crate::BrokerAddress::parse(url).expect("a valid broker URL");
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
