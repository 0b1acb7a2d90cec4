//! Sets `cfg(has_mosquitto)` when Mosquitto is installed, so the Mosquitto suite is visibly
//! ignored (not silently passed) where it is not.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(has_mosquitto)");
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
}
