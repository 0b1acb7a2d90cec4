//! Compile-fail and pass cases of `#[mqtt_service]` / `#[subscribe]`, one file per mistake.
//! The `.stderr` snapshots are pinned to rustc 1.95: regenerate with
//! `TRYBUILD=overwrite cargo test -p tars-mqtt-macros --test ui` and review the diff.

#[rustversion::attr(not(stable(1.95)), ignore = "ui snapshots are pinned to rustc 1.95")]
#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/*/fail/*.rs");
    t.pass("tests/ui/*/pass/*.rs");
}

/// `docs/diagnostics.md` lists every compile-fail case.
#[test]
fn the_catalogue_lists_every_case() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let catalogue =
        std::fs::read_to_string(root.join("../docs/diagnostics.md")).expect("docs/diagnostics.md");
    for group in ["service", "subscribe"] {
        for entry in std::fs::read_dir(root.join("tests/ui").join(group).join("fail")).unwrap() {
            let name = entry.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".rs") {
                let cell = format!("{group}/fail/{name}");
                assert!(
                    catalogue.contains(&cell),
                    "docs/diagnostics.md does not list {cell}"
                );
            }
        }
    }
}
