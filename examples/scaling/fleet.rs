//! The worker processes of a run and what their logs say: who handled which job, when.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The command line of the examples that run a fleet: the coordinator's flags, or `role
/// worker key=value…` when the coordinator started this process as a worker.
pub struct Cli(Vec<String>);

impl Cli {
    pub fn from_env() -> Self {
        Self(std::env::args().collect())
    }

    /// Runs the worker and returns `true` when this process is one.
    pub async fn run_worker(&self) -> bool {
        if self.0.get(1).map(String::as_str) != Some("role") {
            return false;
        }
        crate::worker::role(&self.0[2..]).await;
        true
    }

    /// The value after `flag`, if the flag is given.
    pub fn value(&self, flag: &str) -> Option<String> {
        let i = self.0.iter().position(|a| a == flag)?;
        let value = self.0.get(i + 1);
        Some(value.unwrap_or_else(|| panic!("{flag} <value>")).clone())
    }

    pub fn has(&self, flag: &str) -> bool {
        self.0.iter().any(|a| a == flag)
    }
}

/// How the workers of a run connect and behave.
#[derive(Clone, Debug)]
pub struct Setup {
    /// `MQTT_URL` of each worker, in turn (one URL, or a list for failover).
    pub urls: Vec<String>,
    /// Iterations of the fixed CPU work per job.
    pub iterations: u64,
    /// Persistent sessions (QoS 1 acknowledged after the handler).
    pub persistent: bool,
    /// Duplicate suppression by envelope id in each worker.
    pub dedup: bool,
    /// `MQTT_PROTOCOL` of the workers.
    pub protocol: String,
}

/// Running worker processes, each logging to `{dir}/{id}.log`.
pub struct Fleet {
    setup: Setup,
    dir: PathBuf,
    run: String,
    children: HashMap<String, Child>,
    /// When each worker said `ready` (at start, and again after every reconnection).
    ready: HashMap<usize, Arc<Mutex<Vec<u128>>>>,
}

/// One handled job, from a worker's log.
#[derive(Clone, Copy, Debug)]
pub struct Handled {
    pub seq: u64,
    pub handled_ns: u128,
    pub sent_ns: u128,
}

impl Fleet {
    pub fn new(setup: Setup, run: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("tars-scaling-{}-{run}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scratch directory");
        Self {
            setup,
            dir,
            run: run.to_owned(),
            children: HashMap::new(),
            ready: HashMap::new(),
        }
    }

    /// Starts worker `index` (or starts it again, with the same client id and log) and waits
    /// until it is ready.
    pub fn spawn(&mut self, index: usize) {
        let id = self.id(index);
        let url = &self.setup.urls[index % self.setup.urls.len()];
        let mut child = Command::new(std::env::current_exe().expect("this program"))
            .args(["role", "worker"])
            .arg(format!("url={url}"))
            .arg(format!("id={id}"))
            .arg(format!("log={}", self.log(&id).display()))
            .arg(format!("iterations={}", self.setup.iterations))
            .arg(format!("persistent={}", self.setup.persistent))
            .arg(format!("dedup={}", self.setup.dedup))
            .env("MQTT_PROTOCOL", &self.setup.protocol)
            .env_remove("MQTT_URL")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a worker");
        let stdout = child.stdout.take().expect("piped");
        let (tx, rx) = std::sync::mpsc::channel();
        let ready = self.ready.entry(index).or_default().clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                if line.map(|l| l == "ready").unwrap_or(false) {
                    ready
                        .lock()
                        .expect("ready times")
                        .push(crate::jobs::now_ns());
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("worker {id} did not get ready"));
        self.children.insert(id, child);
    }

    /// When worker `index` was ready again after `after` (ns since the epoch), if it was.
    pub fn ready_after(&self, index: usize, after: u128) -> Option<u128> {
        let times = self.ready.get(&index)?.lock().expect("ready times");
        times.iter().copied().find(|&t| t > after)
    }

    /// SIGKILL: no goodbye to the broker, nothing flushed.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.children.remove(&self.id(index)) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM to every worker (a graceful shutdown), then waits for them.
    pub fn stop_all(&mut self) {
        for (_, mut child) in self.children.drain() {
            let _ = Command::new("kill").arg(child.id().to_string()).status();
            let _ = child.wait();
        }
    }

    fn id(&self, index: usize) -> String {
        format!("scale-{}-w{index}", self.run)
    }

    fn log(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.log"))
    }

    /// What each worker handled so far, by worker index.
    pub fn handled(&self, workers: usize) -> Vec<Vec<Handled>> {
        (0..workers)
            .map(|i| read_log(&self.log(&self.id(i))))
            .collect()
    }

    /// Waits until `total` distinct jobs are handled, or until nothing new was handled for
    /// `quiet` (then some are missing), or `limit` passed.
    pub fn wait_for(&self, workers: usize, total: usize, quiet: Duration, limit: Duration) {
        // `total` counts what was published: jobs are numbered from 0 in every run.
        let started = Instant::now();
        let (mut last, mut changed) = (0, Instant::now());
        while started.elapsed() < limit {
            let count: usize = self.handled(workers).iter().map(Vec::len).sum();
            if distinct(&self.handled(workers)) >= total && count >= total {
                return;
            }
            if count != last {
                (last, changed) = (count, Instant::now());
            } else if changed.elapsed() > quiet {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for (_, mut child) in self.children.drain() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_log(path: &Path) -> Vec<Handled> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split(' ');
            // A line cut short by a kill has fewer than three fields and is not counted.
            let seq = parts.next()?.parse().ok()?;
            let handled_ns = parts.next()?.parse().ok()?;
            let sent_ns = parts.next()?.parse().ok()?;
            Some(Handled {
                seq,
                handled_ns,
                sent_ns,
            })
        })
        .collect()
}

/// Jobs handled at least once, over all workers.
pub fn distinct(handled: &[Vec<Handled>]) -> usize {
    let mut seqs: Vec<u64> = handled.iter().flatten().map(|h| h.seq).collect();
    seqs.sort_unstable();
    seqs.dedup();
    seqs.len()
}

/// Jobs published (`sent`) that no worker handled.
pub fn lost(sent: &[u64], handled: &[Vec<Handled>]) -> usize {
    let seen: std::collections::HashSet<u64> = handled.iter().flatten().map(|h| h.seq).collect();
    sent.iter().filter(|seq| !seen.contains(seq)).count()
}

/// Jobs handled more than once (each extra handling counts).
pub fn duplicates(handled: &[Vec<Handled>]) -> usize {
    handled.iter().map(Vec::len).sum::<usize>() - distinct(handled)
}

/// Within each worker, jobs handled after a job with a higher sequence number.
pub fn out_of_order(handled: &[Vec<Handled>]) -> usize {
    handled
        .iter()
        .map(|jobs| {
            let mut highest = None;
            jobs.iter()
                .filter(|h| {
                    let late = highest.is_some_and(|top| h.seq < top);
                    highest = highest.max(Some(h.seq));
                    late
                })
                .count()
        })
        .sum()
}
