//! The bench's set-up step for the Python stack: paho-mqtt, orjson and pydantic from the
//! package registry. Without `python3`, or when they cannot be installed, the Python measures
//! are skipped with a message (and absent from the figures).

use std::process::{Command, Stdio};

const PACKAGES: [&str; 3] = ["paho-mqtt>=2,<3", "orjson>=3,<4", "pydantic>=2,<3"];

fn importable() -> bool {
    Command::new("python3")
        .args(["-c", "import paho.mqtt.client, orjson, pydantic"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn pip_install(extra: &[&str]) -> bool {
    Command::new("python3")
        .args(["-m", "pip", "install", "--quiet"])
        .args(extra)
        .args(PACKAGES)
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether the Python subscriber can run, installing its packages when they are missing.
pub fn ready() -> bool {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("bench: python3 is not installed: the Python stack is not measured");
        return false;
    }
    if importable() {
        return true;
    }
    eprintln!(
        "bench: installing {} for the Python stack",
        PACKAGES.join(", ")
    );
    if (pip_install(&[]) || pip_install(&["--break-system-packages"])) && importable() {
        return true;
    }
    eprintln!("bench: could not install the Python packages: the Python stack is not measured");
    false
}
