//! A cluster of rmqtt broker nodes on loopback, each a child process with a configuration
//! written here: an MQTT listener, the gRPC address its peers reach it on, and the
//! `rmqtt-cluster-broadcast`, `rmqtt-shared-subscription` and `rmqtt-retainer` plugins.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tars_mqtt::testing::free_port;

/// How long a node waits for another node's answer (the plugin's default is 60 s). A publish
/// to a shared group waits for every node's answer, so a dead node delays each one this long.
pub const GRPC_TIMEOUT: &str = "1s";

/// One broker node.
pub struct Node {
    pub id: usize,
    pub mqtt_port: u16,
    dir: PathBuf,
    child: Option<Child>,
}

/// The nodes of one cluster.
pub struct Cluster {
    pub nodes: Vec<Node>,
    binary: PathBuf,
}

impl Cluster {
    /// Writes the configuration of `count` nodes and starts them.
    pub fn start(binary: &Path, count: usize) -> Self {
        let root = std::env::temp_dir().join(format!("tars-cluster-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let ports: Vec<(u16, u16)> = (0..count).map(|_| (free_port(), free_port())).collect();
        let peers: Vec<String> = ports
            .iter()
            .enumerate()
            .map(|(i, (_, rpc))| format!("\"{}@127.0.0.1:{rpc}\"", i + 1))
            .collect();
        let nodes = ports
            .iter()
            .enumerate()
            .map(|(i, &(mqtt_port, rpc_port))| {
                let dir = root.join(format!("node{}", i + 1));
                write_config(&dir, i + 1, mqtt_port, rpc_port, &peers);
                Node {
                    id: i + 1,
                    mqtt_port,
                    dir,
                    child: None,
                }
            })
            .collect();
        let mut cluster = Self {
            nodes,
            binary: binary.to_owned(),
        };
        (0..count).for_each(|i| cluster.start_node(i));
        cluster
    }

    /// Starts node `index` (again) and waits until it listens.
    pub fn start_node(&mut self, index: usize) {
        let node = &mut self.nodes[index];
        let log = std::fs::File::create(node.dir.join("stdout.log")).expect("node log");
        let child = Command::new(&self.binary)
            .arg("-f")
            .arg(node.dir.join("rmqtt.toml"))
            .current_dir(&node.dir)
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start an rmqtt node");
        node.child = Some(child);
        let started = Instant::now();
        while TcpStream::connect(("127.0.0.1", node.mqtt_port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "rmqtt node {} does not listen; see {}",
                node.id,
                node.dir.join("stdout.log").display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: the node vanishes with its sessions.
    pub fn kill(&mut self, index: usize) {
        if let Some(mut child) = self.nodes[index].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// `mqtt://127.0.0.1:{port}` of node `index`.
    pub fn url(&self, index: usize) -> String {
        format!("mqtt://127.0.0.1:{}", self.nodes[index].mqtt_port)
    }

    /// Every node's URL, starting with node `first`: a failover list.
    pub fn urls_from(&self, first: usize) -> String {
        (0..self.nodes.len())
            .map(|k| self.url((first + k) % self.nodes.len()))
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for index in 0..self.nodes.len() {
            self.kill(index);
        }
    }
}

fn write_config(dir: &Path, id: usize, mqtt_port: u16, rpc_port: u16, peers: &[String]) {
    let plugins = dir.join("plugins");
    std::fs::create_dir_all(&plugins).expect("create the node's directory");
    let config = format!(
        r#"node.id = {id}
rpc.server_addr = "127.0.0.1:{rpc_port}"
rpc.client_timeout = "1s"
log.to = "file"
log.level = "warn"
log.dir = "{dir}"
log.file = "rmqtt.log"
plugins.dir = "{plugins}"
plugins.default_startups = ["rmqtt-retainer", "rmqtt-cluster-broadcast", "rmqtt-shared-subscription"]
plugins.disabled_default_startups = ["rmqtt-http-api"]
listener.tcp.external.addr = "127.0.0.1:{mqtt_port}"
listener.tcp.external.allow_anonymous = true
listener.tcp.external.nodelay = true
listener.tcp.external.max_inflight = 1000
listener.tcp.external.max_mqueue_len = 1000000
listener.tcp.external.retain_available = true
listener.tcp.external.shared_subscription = true
listener.tcp.external.session_expiry_interval = "2h"
listener.tcp.external.message_retry_interval = "20s"
listener.tcp.external.message_expiry_interval = "0s"
"#,
        dir = dir.display(),
        plugins = plugins.display(),
    );
    std::fs::write(dir.join("rmqtt.toml"), config).expect("write rmqtt.toml");
    std::fs::write(
        plugins.join("rmqtt-cluster-broadcast.toml"),
        format!(
            "node_grpc_addrs = [{}]\nnode_grpc_client_timeout = \"{}\"\n",
            peers.join(", "),
            GRPC_TIMEOUT
        ),
    )
    .expect("write the cluster plugin's configuration");
}
