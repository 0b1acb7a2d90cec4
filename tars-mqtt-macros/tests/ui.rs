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
