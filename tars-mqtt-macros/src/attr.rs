//! Attribute arguments: an optional positional literal followed by `key = value` options.
//! Unknown keys get a "did you mean"; a repeated key is an error at its second use; values are
//! checked for their literal kind and spanned at the literal.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Lit, Token};

use crate::ctxt::Ctxt;
use crate::suggest;

pub(crate) enum Item {
    Positional(Expr),
    Named(Ident, Expr),
}

fn item(input: ParseStream<'_>) -> syn::Result<Item> {
    if input.peek(Ident::peek_any) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
        let key = input.call(Ident::parse_any)?;
        input.parse::<Token![=]>()?;
        Ok(Item::Named(key, input.parse()?))
    } else {
        Ok(Item::Positional(input.parse()?))
    }
}

/// Parses `a, key = value, …`.
pub(crate) fn parse(tokens: TokenStream) -> syn::Result<Vec<Item>> {
    let parser =
        |input: ParseStream<'_>| Punctuated::<Item, Token![,]>::parse_terminated_with(input, item);
    Ok(parser.parse2(tokens)?.into_iter().collect())
}

/// The named options in order, with unknown and repeated keys reported (and skipped).
pub(crate) fn named<'a>(
    cx: &Ctxt,
    items: &'a [Item],
    attribute: &str,
    known: &[&str],
) -> Vec<(String, &'a Ident, &'a Expr)> {
    let mut seen: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for item in items {
        let Item::Named(key, value) = item else {
            continue;
        };
        let name = key.unraw().to_string();
        if !known.contains(&name.as_str()) {
            let hint = match suggest::closest(&name, known) {
                Some(near) => format!("; did you mean `{near}`?"),
                None => String::new(),
            };
            cx.error_spanned_by(
                key,
                format!(
                    "unknown option `{name}` for `#[{attribute}]`{hint}\nhelp: the options are {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        } else if seen.contains(&name) {
            cx.error_spanned_by(
                key,
                format!("duplicate option `{name}`; give each option once"),
            );
        } else {
            seen.push(name.clone());
            out.push((name, key, value));
        }
    }
    out
}

fn literal(expr: &Expr) -> Option<&Lit> {
    match expr {
        Expr::Lit(lit) => Some(&lit.lit),
        Expr::Group(group) => literal(&group.expr),
        _ => None,
    }
}

/// A string literal, or an error at the value saying what was expected.
pub(crate) fn string(cx: &Ctxt, key: &str, value: &Expr, example: &str) -> Option<syn::LitStr> {
    match literal(value) {
        Some(Lit::Str(s)) => Some(s.clone()),
        _ => {
            cx.error_spanned_by(
                value,
                format!("`{key}` expects a string literal, e.g. `{key} = {example}`"),
            );
            None
        }
    }
}

/// A boolean literal.
pub(crate) fn boolean(cx: &Ctxt, key: &str, value: &Expr) -> Option<bool> {
    match literal(value) {
        Some(Lit::Bool(b)) => Some(b.value),
        _ => {
            cx.error_spanned_by(value, format!("`{key}` expects `true` or `false`"));
            None
        }
    }
}

/// An integer literal within `range`.
pub(crate) fn integer(
    cx: &Ctxt,
    key: &str,
    value: &Expr,
    range: std::ops::RangeInclusive<u64>,
    rule: &str,
) -> Option<u64> {
    let parsed = match literal(value) {
        Some(Lit::Int(i)) => i.base10_parse::<u64>().ok(),
        _ => None,
    };
    match parsed {
        Some(n) if range.contains(&n) => Some(n),
        Some(_) => {
            cx.error_spanned_by(value, format!("`{key}` must be {rule}"));
            None
        }
        None => {
            cx.error_spanned_by(value, format!("`{key}` expects an integer literal: {rule}"));
            None
        }
    }
}

/// A number of seconds (integer or float literal) of at least `min`.
pub(crate) fn seconds(cx: &Ctxt, key: &str, value: &Expr, min: f64) -> Option<f64> {
    let parsed = match literal(value) {
        Some(Lit::Int(i)) => i.base10_parse::<f64>().ok(),
        Some(Lit::Float(f)) => f.base10_parse::<f64>().ok(),
        _ => None,
    };
    match parsed {
        Some(s) if s.is_finite() && s >= min => Some(s),
        Some(_) => {
            cx.error_spanned_by(value, format!("`{key}` must be at least {min} seconds"));
            None
        }
        None => {
            cx.error_spanned_by(
                value,
                format!("`{key}` expects a number of seconds, e.g. `{key} = 5`"),
            );
            None
        }
    }
}

/// A client id: non-empty, without `+`, `#` or `/` (the rule of `MQTT_CLIENT_ID`).
pub(crate) fn client_id(cx: &Ctxt, lit: &syn::LitStr) -> Option<String> {
    let id = lit.value();
    if id.is_empty() || id.contains(['+', '#', '/']) {
        cx.error_spanned_by(
            lit,
            "`client_id` must be non-empty and must not contain `+`, `#` or `/`",
        );
        return None;
    }
    Some(id)
}

/// A duration literal: `"250ms"`, `"5s"`, `"2m"`, or an integer number of seconds.
pub(crate) fn duration_ms(cx: &Ctxt, key: &str, value: &Expr) -> Option<u64> {
    let parsed = match literal(value) {
        Some(Lit::Int(i)) => i.base10_parse::<u64>().ok().map(|s| s * 1000),
        Some(Lit::Str(s)) => {
            let text = s.value();
            let (digits, unit) = text.split_at(
                text.find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(text.len()),
            );
            let n = digits.parse::<u64>().ok();
            match unit {
                "ms" => n,
                "s" => n.map(|n| n * 1000),
                "m" => n.map(|n| n * 60_000),
                _ => None,
            }
        }
        _ => None,
    };
    match parsed {
        Some(ms) if ms > 0 => Some(ms),
        _ => {
            cx.error_spanned_by(
                value,
                format!("`{key}` expects a duration such as `\"500ms\"`, `\"5s\"` or `\"2m\"`"),
            );
            None
        }
    }
}
