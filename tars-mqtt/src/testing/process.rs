//! Brokers in child processes that tests stop, freeze and restart.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{free_port, wait_until_listening};

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
    /// Starts `program <port>` (e.g. a binary whose `main` calls [`run_broker_main`](super::run_broker_main)).
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
