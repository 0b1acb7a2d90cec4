//! `#[mqtt_service(client_id = "…", source = "…", health = true, heartbeat = 5, …)]`.

use proc_macro2::TokenStream;

use crate::attr::{self, Item};
use crate::ctxt::Ctxt;

pub(crate) const OPTIONS: &[&str] = &[
    "client_id",
    "source",
    "health",
    "heartbeat",
    "dedupe_ttl",
    "dedupe_max_entries",
    "crate",
];

#[derive(Default)]
pub(crate) struct ServiceArgs {
    pub(crate) client_id: Option<String>,
    pub(crate) source: Option<String>,
    pub(crate) health: Option<bool>,
    pub(crate) heartbeat: Option<f64>,
    pub(crate) dedupe_ttl: Option<f64>,
    pub(crate) dedupe_max_entries: Option<u64>,
    pub(crate) krate: Option<syn::Path>,
}

impl ServiceArgs {
    pub(crate) fn from_tokens(cx: &Ctxt, tokens: TokenStream) -> Self {
        let mut args = Self::default();
        let items = match attr::parse(tokens) {
            Ok(items) => items,
            Err(e) => {
                cx.syn_error(e);
                return args;
            }
        };
        for item in &items {
            if let Item::Positional(expr) = item {
                cx.error_spanned_by(
                    expr,
                    "unexpected argument: `#[mqtt_service]` options are written `name = value`",
                );
            }
        }
        let mut ttl_value = None;
        for (key, _, value) in attr::named(cx, &items, "mqtt_service", OPTIONS) {
            match key.as_str() {
                "client_id" => {
                    args.client_id = attr::string(cx, "client_id", value, "\"tars-memory\"")
                        .and_then(|l| attr::client_id(cx, &l))
                }
                "source" => {
                    if let Some(lit) = attr::string(cx, "source", value, "\"memory-worker\"") {
                        if lit.value().is_empty() {
                            cx.error_spanned_by(&lit, "`source` must not be empty");
                        } else {
                            args.source = Some(lit.value());
                        }
                    }
                }
                "health" => args.health = attr::boolean(cx, "health", value),
                "heartbeat" => args.heartbeat = attr::seconds(cx, "heartbeat", value, 1.0),
                "dedupe_ttl" => {
                    args.dedupe_ttl = attr::seconds(cx, "dedupe_ttl", value, 0.0);
                    ttl_value = Some(value);
                }
                "dedupe_max_entries" => {
                    args.dedupe_max_entries = attr::integer(
                        cx,
                        "dedupe_max_entries",
                        value,
                        1..=u32::MAX as u64,
                        "greater than 0",
                    )
                }
                "crate" => {
                    if let Some(lit) = attr::string(cx, "crate", value, "\"tars_mqtt\"") {
                        match lit.parse::<syn::Path>() {
                            Ok(path) => args.krate = Some(path),
                            Err(_) => cx.error_spanned_by(&lit, format!("`crate` must be a path such as `tars_mqtt` or `::my::reexport`, not `{}`", lit.value())),
                        }
                    }
                }
                _ => unreachable!("`named` only yields known options"),
            }
        }
        if let (Some(ttl), None, Some(value)) =
            (args.dedupe_ttl, args.dedupe_max_entries, ttl_value)
            && ttl > 0.0
        {
            cx.error_spanned_by(
                value,
                "`dedupe_ttl` needs `dedupe_max_entries = N` too (the dedup memory is bounded)",
            );
        }
        args
    }
}
