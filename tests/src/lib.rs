//! Helpers shared by the end-to-end suites.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use std::collections::HashMap;
use std::sync::Mutex;

use tars_mqtt::config::Protocol;
use tars_mqtt::testing::{BrokerProcess, EmbeddedBroker};
use tars_mqtt::{MqttConfig, Router, Runtime, ServiceHandle, config::ConfigBuilder};

/// Generous bound for anything that should happen "at once" on loopback.
pub const WAIT: Duration = Duration::from_secs(10);

/// A broker for one test: the shared in-process one, or a Mosquitto process of its own.
pub enum TestBroker {
    /// The process-wide embedded rumqttd.
    Embedded(&'static EmbeddedBroker),
    /// A Mosquitto child process.
    Process(BrokerProcess),
}

impl TestBroker {
    /// The shared embedded broker.
    pub fn embedded() -> Self {
        static BROKER: OnceLock<EmbeddedBroker> = OnceLock::new();
        Self::Embedded(BROKER.get_or_init(EmbeddedBroker::start))
    }

    /// An embedded broker of this test's own, for services with fixed topics and client ids.
    pub fn fresh_embedded() -> Self {
        Self::Embedded(Box::leak(Box::new(EmbeddedBroker::start())))
    }

    /// A fresh Mosquitto with the test configuration.
    pub fn mosquitto() -> Self {
        Self::Process(BrokerProcess::mosquitto("").expect("start mosquitto"))
    }

    /// A fresh Mosquitto whose services speak MQTT 5 (see [`speak`]).
    pub fn mosquitto_v5() -> Self {
        let broker = BrokerProcess::mosquitto("").expect("start mosquitto");
        speak(&broker.url(), Protocol::V5);
        Self::Process(broker)
    }

    /// Its URL.
    pub fn url(&self) -> String {
        match self {
            Self::Embedded(b) => b.url(),
            Self::Process(p) => p.url(),
        }
    }
}

/// A unique name per test (topics, client ids), so tests sharing a broker never interfere.
pub fn unique(what: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{what}{}x{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

fn protocols() -> std::sync::MutexGuard<'static, HashMap<String, Protocol>> {
    static PROTOCOLS: OnceLock<Mutex<HashMap<String, Protocol>>> = OnceLock::new();
    PROTOCOLS
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Makes the services of a test's broker speak `protocol`: [`config`] and [`protocol_of`] look
/// it up by the broker's URL, so that a scenario written once runs on 3.1.1 and on MQTT 5.
pub fn speak(url: &str, protocol: Protocol) {
    protocols().insert(url.to_owned(), protocol);
}

/// The protocol the services of the broker at `url` speak (3.1.1 unless [`speak`] said so).
pub fn protocol_of(url: &str) -> Protocol {
    protocols().get(url).copied().unwrap_or_default()
}

/// A configuration for tests: health on, fast reconnects, the broker's protocol.
pub fn config(url: &str, client_id: &str) -> ConfigBuilder {
    init_tracing();
    MqttConfig::builder()
        .protocol(protocol_of(url))
        .url(url)
        .client_id(client_id)
        .health(true)
        .reconnect_min_delay(Duration::from_millis(100))
        .reconnect_max_delay(Duration::from_millis(500))
}

/// Starts a service and waits until it is ready.
pub async fn start<S: Send + Sync + 'static>(
    config: ConfigBuilder,
    router: Router<S>,
    state: S,
) -> ServiceHandle {
    let handle = Runtime::new(config.build().expect("valid test config"), router, state)
        .start()
        .expect("service starts");
    handle.wait_ready(WAIT).await.expect("service ready");
    handle
}

/// Starts a service that cannot connect and returns the error its first backoff reports.
pub async fn refusal(config: ConfigBuilder) -> String {
    let service = Runtime::new(
        config.build().expect("valid test config"),
        Router::<()>::new(),
        (),
    )
    .start()
    .expect("service starts");
    let mut readiness = service.readiness();
    let state = tokio::time::timeout(
        WAIT,
        readiness.wait_for(|r| matches!(r.connection, tars_mqtt::ConnectionState::Backoff { .. })),
    )
    .await
    .expect("the connection is refused and backs off")
    .expect("the service is running")
    .clone();
    service.shutdown().await;
    match state.connection {
        tars_mqtt::ConnectionState::Backoff { error, .. } => error,
        other => panic!("expected a backoff, got {other:?}"),
    }
}

/// Polls `done` until it holds; panics after [`WAIT`].
pub async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A router whose one QoS 1 route replies on `output` with the data it got on `input`.
pub fn echo(input: String, output: String) -> Router<()> {
    Router::new().route(
        tars_mqtt::Route::new(input, |tars_mqtt::Json(v): tars_mqtt::Json<serde_json::Value>| async move {
            tars_mqtt::Json(v)
        })
        .qos(tars_mqtt::QoS::AtLeastOnce)
        .reply(output, "echo"),
    )
}

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    if std::env::var_os("RUST_LOG").is_some() {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
    }
}

/// Declares each scenario `async fn name(broker: TestBroker)` once per broker: `embedded::name`,
/// `mosquitto::name` and `mosquitto_v5::name`, the services speaking MQTT 5 (the Mosquitto ones
/// ignored, visibly, where Mosquitto is not installed). The embedded broker (rumqttd) is 3.1.1.
///
/// `broker_suite!(fresh: …)` gives each embedded test a broker of its own (the shared one
/// would mix up services with fixed topics and client ids).
#[macro_export]
macro_rules! broker_suite {
    (fresh: $($name:ident),* $(,)?) => {
        $crate::broker_suite!(@ fresh_embedded, $($name),*);
    };
    ($($name:ident),* $(,)?) => {
        $crate::broker_suite!(@ embedded, $($name),*);
    };
    (@ $embedded:ident, $($name:ident),*) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::TestBroker::$embedded()).await
                }
            )*
        }
        mod mosquitto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(has_mosquitto), ignore = "mosquitto is not installed: apt-get install -y mosquitto")]
                async fn $name() {
                    super::$name($crate::TestBroker::mosquitto()).await
                }
            )*
        }
        mod mosquitto_v5 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(has_mosquitto), ignore = "mosquitto is not installed: apt-get install -y mosquitto")]
                async fn $name() {
                    super::$name($crate::TestBroker::mosquitto_v5()).await
                }
            )*
        }
    };
}

/// Declares each scenario `async fn name(broker: BrokerProcess)` once per broker that a test
/// can stop and restart: `restarted_embedded::name` (this crate's rumqttd binary),
/// `restarted_mosquitto::name` and `restarted_mosquitto_v5::name` (services on MQTT 5; both
/// ignored, visibly, where Mosquitto is not installed).
#[macro_export]
macro_rules! restart_suite {
    ($($name:ident),* $(,)?) => {
        mod restarted_embedded {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let broker = tars_mqtt::testing::BrokerProcess::program(env!("CARGO_BIN_EXE_tars-test-broker"));
                    super::$name(broker.expect("start the broker binary")).await
                }
            )*
        }
        mod restarted_mosquitto {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(has_mosquitto), ignore = "mosquitto is not installed: apt-get install -y mosquitto")]
                async fn $name() {
                    super::$name(tars_mqtt::testing::BrokerProcess::mosquitto("").expect("start mosquitto")).await
                }
            )*
        }
        mod restarted_mosquitto_v5 {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(has_mosquitto), ignore = "mosquitto is not installed: apt-get install -y mosquitto")]
                async fn $name() {
                    let broker = tars_mqtt::testing::BrokerProcess::mosquitto("").expect("start mosquitto");
                    $crate::speak(&broker.url(), tars_mqtt::config::Protocol::V5);
                    super::$name(broker).await
                }
            )*
        }
    };
}

/// What handlers record in tests: `(route tag, topic)`.
pub type Calls = tokio::sync::mpsc::UnboundedSender<(&'static str, String)>;

/// Receives recorded calls until `count` arrived (panics after [`WAIT`]), then waits `quiet`
/// to make sure nothing else arrives, and returns them sorted.
pub async fn collect(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(&'static str, String)>,
    count: usize,
    quiet: Duration,
) -> Vec<(&'static str, String)> {
    let mut out = Vec::new();
    while out.len() < count {
        match tokio::time::timeout(WAIT, rx.recv()).await {
            Ok(Some(call)) => out.push(call),
            _ => panic!("expected {count} calls, got {out:?}"),
        }
    }
    while let Ok(Some(extra)) = tokio::time::timeout(quiet, rx.recv()).await {
        out.push(extra);
    }
    out.sort();
    out
}

/// A folder of its own under the system's temporary directory, removed with everything in it
/// when the guard is dropped (also when the test fails).
#[derive(Debug)]
pub struct TempDir(std::path::PathBuf);

impl TempDir {
    /// Creates `<tmp>/<prefix><unique suffix>`.
    pub fn new(prefix: &str) -> Self {
        let path = std::env::temp_dir().join(unique(prefix));
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self(path)
    }

    /// Its path.
    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
