//! `#[mqtt_service(client_id = "…", source = "…", health = true, heartbeat = 5, …)]`: parsed into
//! the options as written, then checked into `ServiceArgs`.

use proc_macro2::TokenStream;

use syn::Expr;

use crate::attr::{self, Item};
use crate::ctxt::Ctxt;

pub(crate) const OPTIONS: &[&str] = &[
    "client_id",
    "source",
    "health",
    "heartbeat",
    "dedupe_ttl",
    "dedupe_max_entries",
    "protocol",
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
    /// `true` for MQTT 5, `false` for 3.1.1.
    pub(crate) mqtt5: Option<bool>,
    pub(crate) krate: Option<syn::Path>,
}

impl ServiceArgs {
    /// Parses the options as written, then checks each value.
    pub(crate) fn from_tokens(cx: &Ctxt, tokens: TokenStream) -> Self {
        match parse(cx, tokens) {
            Some(items) => {
                let written = attr::named(cx, &items, "mqtt_service", OPTIONS);
                Self::check(cx, |key| {
                    written.iter().find(|(k, ..)| k == key).map(|(_, _, v)| *v)
                })
            }
            None => Self::default(),
        }
    }

    /// Check pass: each option's value by its rule; a dedup window needs a capacity.
    fn check<'a>(cx: &Ctxt, get: impl Fn(&str) -> Option<&'a Expr>) -> Self {
        let string =
            |key: &str, example: &str| get(key).and_then(|v| attr::string(cx, key, v, example));
        let source = string("source", "\"memory-worker\"").filter(|lit| {
            let ok = !lit.value().is_empty();
            if !ok {
                cx.error_spanned_by(lit, "`source` must not be empty");
            }
            ok
        });
        let args = Self {
            client_id: string("client_id", "\"tars-memory\"").and_then(|l| attr::client_id(cx, &l)),
            source: source.map(|lit| lit.value()),
            health: get("health").and_then(|v| attr::boolean(cx, "health", v)),
            heartbeat: get("heartbeat").and_then(|v| attr::seconds(cx, "heartbeat", v, 1.0)),
            dedupe_ttl: get("dedupe_ttl").and_then(|v| attr::seconds(cx, "dedupe_ttl", v, 0.0)),
            dedupe_max_entries: get("dedupe_max_entries").and_then(|v| {
                attr::integer(
                    cx,
                    "dedupe_max_entries",
                    v,
                    1..=u32::MAX as u64,
                    "greater than 0",
                )
            }),
            mqtt5: get("protocol").and_then(|v| protocol(cx, v)),
            krate: string("crate", "\"tars_mqtt\"").and_then(|lit| crate_path(cx, &lit)),
        };
        if let (Some(ttl), None, Some(value)) =
            (args.dedupe_ttl, args.dedupe_max_entries, get("dedupe_ttl"))
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

/// Parse pass: `name = value` items; a positional argument is reported.
fn parse(cx: &Ctxt, tokens: TokenStream) -> Option<Vec<Item>> {
    let items = attr::parse(tokens).map_err(|e| cx.syn_error(e)).ok()?;
    for item in &items {
        if let Item::Positional(expr) = item {
            cx.error_spanned_by(
                expr,
                "unexpected argument: `#[mqtt_service]` options are written `name = value`",
            );
        }
    }
    Some(items)
}

/// `protocol = 5` or `protocol = "3.1.1"` (also `"5"`): whether the service speaks MQTT 5.
fn protocol(cx: &Ctxt, value: &Expr) -> Option<bool> {
    let written = match value {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(i),
            ..
        }) => i.base10_digits().to_owned(),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(s),
            ..
        }) => s.value(),
        _ => String::new(),
    };
    match written.as_str() {
        "5" => Some(true),
        "3.1.1" => Some(false),
        _ => {
            cx.error_spanned_by(
                value,
                "`protocol` must be `5` (MQTT 5) or `\"3.1.1\"` (the default)",
            );
            None
        }
    }
}

fn crate_path(cx: &Ctxt, lit: &syn::LitStr) -> Option<syn::Path> {
    lit.parse::<syn::Path>()
        .map_err(|_| {
            cx.error_spanned_by(
                lit,
                format!(
                    "`crate` must be a path such as `tars_mqtt` or `::my::reexport`, not `{}`",
                    lit.value()
                ),
            )
        })
        .ok()
}
