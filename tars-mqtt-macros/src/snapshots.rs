//! Expansion snapshots on stable: each `tests/expand/*.rs` holds one `#[mqtt_service]` impl
//! block; its expansion, pretty-printed, must equal `tests/expand/*.expanded.rs`. Rewrite the
//! snapshots with `TARS_MQTT_BLESS=1 cargo test -p tars-mqtt-macros --lib` and review the diff.

use std::path::Path;

use quote::ToTokens;

fn expand_file(source: &str) -> String {
    let mut file = syn::parse_file(source).expect("the input parses");
    let mut expanded = Vec::new();
    for item in std::mem::take(&mut file.items) {
        let syn::Item::Impl(mut imp) = item else {
            expanded.push(item);
            continue;
        };
        let Some(pos) = imp
            .attrs
            .iter()
            .position(|a| a.path().is_ident("mqtt_service"))
        else {
            expanded.push(syn::Item::Impl(imp));
            continue;
        };
        let attr = imp.attrs.remove(pos);
        let args = match attr.meta {
            syn::Meta::List(list) => list.tokens,
            _ => proc_macro2::TokenStream::new(),
        };
        let out = crate::service::expand(args, imp.into_token_stream());
        let out: syn::File = syn::parse2(out).expect("the expansion parses as items");
        expanded.extend(out.items);
    }
    file.items = expanded;
    prettyplease::unparse(&file)
}

/// The generated glue (from `const _` to the end) stays within 17 + 9 pretty-printed lines per
/// handler (the ninth: the payload and reply schemas for the AsyncAPI document; two of the 17:
/// the impl's `Send + Sync` where clause).
fn check_budget(name: &str, expanded: &str) {
    let glue = expanded
        .lines()
        .skip_while(|line| !line.starts_with("const _"))
        .count();
    let handlers = expanded.matches("__tm::route(").count();
    let budget = 17 + 9 * handlers;
    assert!(
        glue <= budget,
        "{name}: {glue} lines of glue for {handlers} handlers, over the budget of {budget}"
    );
}

#[test]
fn expansions_match_their_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/expand");
    let bless = std::env::var_os("TARS_MQTT_BLESS").is_some();
    let mut checked = 0;
    for entry in std::fs::read_dir(&dir).expect("tests/expand exists") {
        let path = entry.expect("a directory entry").path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.ends_with(".rs") || name.ends_with(".expanded.rs") {
            continue;
        }
        let actual = expand_file(&std::fs::read_to_string(&path).expect("readable input"));
        check_budget(name, &actual);
        let snapshot = path.with_extension("expanded.rs");
        if bless {
            std::fs::write(&snapshot, &actual).expect("snapshot written");
        } else {
            let expected = std::fs::read_to_string(&snapshot).unwrap_or_else(|_| {
                panic!(
                    "no snapshot {}: run with TARS_MQTT_BLESS=1",
                    snapshot.display()
                )
            });
            assert_eq!(
                actual, expected,
                "{name} expands differently: rerun with TARS_MQTT_BLESS=1 and review the diff"
            );
        }
        checked += 1;
    }
    assert!(checked > 0, "no expansion inputs in {}", dir.display());
}
