//! Sets `cfg(has_mosquitto)` when Mosquitto is installed, so the Mosquitto suite is visibly
//! ignored (not silently passed) where it is not; and `cfg(has_shared_contracts)` when the
//! Python services' contracts are published beside the repository (`../shared/contracts/py-tars`),
//! so the check that `tests/contracts/py-tars` is an exact copy of them runs; and
//! `cfg(has_python_peer)` when `python3` can import paho-mqtt and jsonschema, so the Python
//! peer test runs (and is ignored with the install command otherwise); and
//! `cfg(has_mosquitto_clients)` when `mosquitto_rr` is on the `PATH`, for the MQTT 5 peer tests;
//! and `cfg(has_asyncapi_parser)` when `node` runs and the official AsyncAPI parser is installed
//! in `tests/asyncapi/node_modules`.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_mosquitto)");
    println!("cargo::rustc-check-cfg=cfg(has_shared_contracts)");
    println!("cargo::rustc-check-cfg=cfg(has_python_peer)");
    println!("cargo::rustc-check-cfg=cfg(has_mosquitto_clients)");
    println!("cargo::rustc-check-cfg=cfg(has_asyncapi_parser)");
    // The official AsyncAPI parser, installed by `npm ci --prefix tests/asyncapi`.
    let parser = std::path::Path::new("asyncapi/node_modules/@asyncapi/parser/package.json");
    println!("cargo::rerun-if-changed=asyncapi/node_modules/@asyncapi/parser/package.json");
    let node = std::process::Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|out| out.status.success());
    if parser.is_file() && node {
        println!("cargo::rustc-cfg=has_asyncapi_parser");
    }
    let python_peer = std::process::Command::new("python3")
        .args(["-c", "import paho.mqtt.client, jsonschema"])
        .output()
        .is_ok_and(|out| out.status.success());
    if python_peer {
        println!("cargo::rustc-cfg=has_python_peer");
    }
    let shared = std::path::Path::new("../../shared/contracts/py-tars");
    println!("cargo::rerun-if-changed={}", shared.display());
    if shared.is_dir() {
        println!("cargo::rustc-cfg=has_shared_contracts");
    }
    println!("cargo::rerun-if-env-changed=MOSQUITTO");
    println!("cargo::rerun-if-env-changed=PATH");
    let candidates = [
        "/usr/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
        "/usr/bin/mosquitto",
    ];
    for path in candidates {
        println!("cargo::rerun-if-changed={path}");
    }
    let found = std::env::var_os("MOSQUITTO").is_some()
        || candidates.iter().any(|p| std::path::Path::new(p).is_file())
        || std::env::var_os("PATH").is_some_and(|paths| {
            std::env::split_paths(&paths).any(|d| d.join("mosquitto").is_file())
        });
    if found {
        println!("cargo::rustc-cfg=has_mosquitto");
    }
    let clients = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|d| d.join("mosquitto_rr").is_file())
    });
    if clients {
        println!("cargo::rustc-cfg=has_mosquitto_clients");
    }
}
