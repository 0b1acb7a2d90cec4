//! The worker: a tars-mqtt service in its own process, one instance of the `scalers` shared
//! group on `scale/jobs`. Its handler does a fixed amount of CPU work per job and appends
//! `seq handled_at_ns sent_at_ns` to its own log file with one unbuffered write, so what it
//! handled is known even when it is killed.

use std::fs::File;
use std::io::Write;
use std::sync::{Arc, Mutex};

use tars_mqtt::extract::State;
use tars_mqtt::{MqttConfig, QoS, Route, Router, Runtime};

use crate::jobs::{JOBS, Job, now_ns};

/// The fixed CPU work of one job: `iterations` rounds of a multiply-xorshift.
pub fn work(iterations: u64) -> u64 {
    let mut x = 0x9E37_79B9_7F4A_7C15_u64;
    for i in 0..iterations {
        x = std::hint::black_box(x.wrapping_mul(6_364_136_223_846_793_005) ^ (x >> 29) ^ i);
    }
    x
}

/// Iterations of [`work`] that take `us` microseconds here.
pub fn calibrate(us: f64) -> u64 {
    let probe = 2_000_000;
    let best = (0..5)
        .map(|_| {
            let started = std::time::Instant::now();
            std::hint::black_box(work(probe));
            started.elapsed().as_secs_f64()
        })
        .fold(f64::MAX, f64::min);
    (us * 1e-6 / (best / probe as f64)) as u64
}

struct Worker {
    iterations: u64,
    log: Mutex<File>,
}

/// `role worker key=value…`: the worker process, as the coordinator starts it.
pub async fn role(args: &[String]) {
    let arg = |key: &str| {
        args.iter()
            .find_map(|a| a.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("role argument {key}"))
            .to_owned()
    };
    let flag = |key: &str| arg(key) == "true";
    let iterations = arg("iterations").parse().expect("iterations");
    let (url, id, log) = (arg("url"), arg("id"), arg("log"));
    run(
        &url,
        &id,
        &log,
        iterations,
        flag("persistent"),
        flag("dedup"),
    )
    .await;
}

/// Runs one worker until SIGTERM (or until it is killed). `url` may list several brokers.
pub async fn run(url: &str, id: &str, log: &str, iterations: u64, persistent: bool, dedup: bool) {
    let log = File::options()
        .create(true)
        .append(true)
        .open(log)
        .expect("open the worker's log");
    let state = Arc::new(Worker {
        iterations,
        log: Mutex::new(log),
    });
    let router = Router::new().route(
        Route::new(JOBS, |State(w): State<Arc<Worker>>, job: Job| async move {
            work(w.iterations);
            let line = format!("{} {} {}\n", job.seq, now_ns(), job.sent_ns);
            w.log
                .lock()
                .expect("log lock")
                .write_all(line.as_bytes())
                .expect("write the log");
        })
        .qos(QoS::AtLeastOnce),
    );
    let mut config = MqttConfig::builder()
        .url(url)
        .client_id(id)
        .persistent_session(persistent)
        .reconnect_min_delay(std::time::Duration::from_millis(100))
        .reconnect_max_delay(std::time::Duration::from_millis(500));
    if dedup {
        config = config
            .dedupe_ttl(std::time::Duration::from_secs(60))
            .dedupe_max_entries(100_000);
    }
    let config = config
        .env(|var| std::env::var(var).ok())
        .expect("MQTT_* variables")
        .build()
        .expect("a valid configuration");
    Runtime::new(config, router, state)
        .on_ready(|_, _| async {
            println!("ready");
            Ok::<_, std::convert::Infallible>(())
        })
        .run()
        .await
        .expect("the worker runs");
}
