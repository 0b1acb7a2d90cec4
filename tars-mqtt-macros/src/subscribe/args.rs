//! `#[subscribe("filter", qos = 1, reply = "…", …)]`: parsed into the options as written, then
//! checked into `SubscribeArgs`.

use syn::{Attribute, Expr, LitStr, Meta};

use crate::attr::{self, Item};
use crate::ctxt::Ctxt;
use crate::topic::{self, TopicFilter};

pub(crate) const OPTIONS: &[&str] = &[
    "qos",
    "reply",
    "event",
    "shared",
    "group",
    "concurrency",
    "overflow",
    "queue",
    "timeout",
    "env",
    "allow_reply_loop",
];

/// Where a handler's return value goes.
pub(crate) struct ReplyTo {
    /// The `reply = "…"` literal, for errors.
    pub(crate) lit: LitStr,
    pub(crate) topic: String,
    /// `event = "…"`, or the topic with `/` replaced by `.` (`memory/results` → `memory.results`).
    pub(crate) event: String,
}

pub(crate) struct SubscribeArgs {
    /// The topic literal as written.
    pub(crate) topic: LitStr,
    /// The parsed filter (the literal, under `$share/<group>/` when `shared` is given).
    pub(crate) filter: Option<TopicFilter>,
    pub(crate) qos: u8,
    pub(crate) reply: Option<ReplyTo>,
    /// `reply = …` was written (even if invalid), so "no reply topic" is not reported again.
    pub(crate) reply_given: bool,
    /// Handlers of one group share a queue (arrival order across them).
    pub(crate) group: Option<String>,
    pub(crate) concurrency: Option<u64>,
    pub(crate) overflow: Option<&'static str>,
    pub(crate) queue: Option<u64>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) env: Option<String>,
    /// `allow_reply_loop = true`: the handler's reply topic may be one of the service's own
    /// filters (checked by `#[mqtt_service]`, which sees them all).
    pub(crate) allow_reply_loop: bool,
}

/// `#[subscribe(...)]` as written: the topic literal and the value of each option, with the
/// syntax checked (one positional topic, known and unrepeated keys) but no value checked yet.
struct Written<'a> {
    topic: Option<LitStr>,
    options: Vec<(String, &'a Expr)>,
}

impl Written<'_> {
    fn get(&self, key: &str) -> Option<&Expr> {
        self.options.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Parse pass: the attribute's items. `None` when the attribute is not a list or does not parse.
fn parse(cx: &Ctxt, attr: &Attribute) -> Option<Vec<Item>> {
    let Meta::List(list) = &attr.meta else {
        cx.error_spanned_by(attr, MISSING_TOPIC);
        return None;
    };
    attr::parse(list.tokens.clone())
        .map_err(|e| cx.syn_error(e))
        .ok()
}

const MISSING_TOPIC: &str = "`#[subscribe(...)]` requires a topic filter string as its first argument, e.g. `#[subscribe(\"memory/query\")]`";

impl SubscribeArgs {
    /// Parses and checks the attribute; `None` when there is no usable topic (the error is
    /// reported).
    pub(crate) fn from_attr(cx: &Ctxt, attr: &Attribute) -> Option<Self> {
        let items = parse(cx, attr)?;
        let written = Written {
            topic: topic(cx, attr, &items),
            options: attr::named(cx, &items, "subscribe", OPTIONS)
                .into_iter()
                .map(|(key, _, value)| (key, value))
                .collect(),
        };
        Self::check(cx, &written)
    }

    /// Check pass: every option's value, then the filter (with the share group) and the reply.
    fn check(cx: &Ctxt, written: &Written<'_>) -> Option<Self> {
        let string = |key: &str, example: &str| {
            written
                .get(key)
                .and_then(|v| attr::string(cx, key, v, example))
        };
        let bounded = |key: &str, max: u64, rule: &str| {
            written
                .get(key)
                .and_then(|v| attr::integer(cx, key, v, 1..=max, rule))
        };
        let qos = written
            .get("qos")
            .and_then(|v| attr::integer(cx, "qos", v, 0..=2, "0, 1 or 2"))
            .unwrap_or(0) as u8;
        let reply = string("reply", "\"memory/results\"").filter(|lit| valid_reply(cx, lit));
        let event = string("event", "\"memory.results\"")
            .filter(|lit| non_empty(cx, lit, "`event` must not be empty"));
        let shared = string("shared", "\"workers\"").filter(|lit| valid_share_group(cx, lit));
        let group = string("group", "\"memory\"")
            .filter(|lit| non_empty(cx, lit, "`group` must not be empty"));
        let concurrency = bounded("concurrency", 65_535, "from 1 to 65535");
        let queue = bounded("queue", 1_000_000, "from 1 to 1000000");
        let timeout_ms = written
            .get("timeout")
            .and_then(|v| attr::duration_ms(cx, "timeout", v));
        let overflow = string("overflow", "\"drop_oldest\"").and_then(|lit| overflow(cx, &lit));
        let env = string("env", "\"MEMORY_QUERY_TOPIC\"").filter(|lit| env_name(cx, lit));
        let allow_reply_loop = written
            .get("allow_reply_loop")
            .and_then(|v| attr::boolean(cx, "allow_reply_loop", v))
            .unwrap_or(false);
        let topic = written.topic.clone()?;
        let shared = shared.map(|lit| lit.value());
        let filter = filter(cx, &topic, shared.as_deref());
        let reply = reply_to(cx, reply, event);
        if let (Some(filter), Some(reply)) = (&filter, &reply) {
            reply_params(cx, filter, reply);
        }
        Some(SubscribeArgs {
            filter,
            topic,
            qos,
            reply,
            reply_given: written.get("reply").is_some(),
            group: group.map(|lit| lit.value()),
            concurrency,
            overflow,
            queue,
            timeout_ms,
            env: env.map(|lit| lit.value()),
            allow_reply_loop,
        })
    }
}

/// The positional topic literal (the first item), with misplaced or extra positionals reported.
fn topic(cx: &Ctxt, attr: &Attribute, items: &[Item]) -> Option<LitStr> {
    let mut positional = items.iter().enumerate().filter_map(|(i, item)| match item {
        Item::Positional(expr) => Some((i, expr)),
        Item::Named(..) => None,
    });
    let first = positional.next();
    for (_, extra) in positional {
        cx.error_spanned_by(
            extra,
            "unexpected argument: options are written `name = value`",
        );
    }
    match first {
        Some((
            0,
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(lit),
                ..
            }),
        )) => Some(lit.clone()),
        Some((0, expr)) => {
            cx.error_spanned_by(
                expr,
                "the topic filter must be a string literal\nhelp: to choose the topic at run time, keep a literal default and add `env = \"TOPIC_VARIABLE\"`",
            );
            None
        }
        _ => {
            cx.error_spanned_by(attr, MISSING_TOPIC);
            None
        }
    }
}

fn non_empty(cx: &Ctxt, lit: &LitStr, message: &str) -> bool {
    let ok = !lit.value().is_empty();
    if !ok {
        cx.error_spanned_by(lit, message);
    }
    ok
}

/// `env = "…"` names a variable a shell can set: ASCII letters, digits and `_`, not starting
/// with a digit.
fn env_name(cx: &Ctxt, lit: &LitStr) -> bool {
    let name = lit.value();
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !ok {
        cx.error_spanned_by(
            lit,
            "`env` must be an environment variable name: ASCII letters, digits and `_`, not starting with a digit\nhelp: e.g. `env = \"MEMORY_QUERY_TOPIC\"`",
        );
    }
    ok
}

fn valid_reply(cx: &Ctxt, lit: &LitStr) -> bool {
    match topic::validate_topic_name(&lit.value()) {
        Ok(()) => true,
        Err(e) => {
            cx.error_spanned_by(lit, format!("invalid `reply` topic: {e}"));
            false
        }
    }
}

fn valid_share_group(cx: &Ctxt, lit: &LitStr) -> bool {
    let group = lit.value();
    let ok = !group.is_empty() && !group.contains(['/', '+', '#']);
    if !ok {
        cx.error_spanned_by(
            lit,
            "`shared` must be a group name: non-empty, without `/`, `+` or `#`",
        );
    }
    ok
}

/// The `Overflow` variant named by `overflow = "…"`.
fn overflow(cx: &Ctxt, lit: &LitStr) -> Option<&'static str> {
    match lit.value().as_str() {
        "block" => Some("Block"),
        "drop_oldest" => Some("DropOldest"),
        "drop_new" => Some("DropNew"),
        _ => {
            cx.error_spanned_by(
                lit,
                "`overflow` must be \"block\", \"drop_oldest\" or \"drop_new\"",
            );
            None
        }
    }
}

/// The filter, parsed by the runtime's grammar, under `$share/<group>/` when `shared` is given.
fn filter(cx: &Ctxt, topic: &LitStr, shared: Option<&str>) -> Option<TopicFilter> {
    match (TopicFilter::parse(&topic.value()), shared) {
        (Ok(f), Some(_)) if f.share_group().is_some() => {
            cx.error_spanned_by(
                topic,
                "the filter already has a `$share/` prefix; drop the `shared` option",
            );
            None
        }
        (Ok(_), Some(group)) => {
            TopicFilter::parse(&format!("$share/{group}/{}", topic.value())).ok()
        }
        (Ok(f), None) => Some(f),
        (Err(e), _) => {
            cx.syn_error(topic::filter_error(topic, &e));
            None
        }
    }
}

/// Every `{name}` level of the reply topic must be a parameter of the filter: it is replaced by
/// that parameter of the request's topic.
fn reply_params(cx: &Ctxt, filter: &TopicFilter, reply: &ReplyTo) {
    let mut start = 0;
    for level in reply.topic.split('/') {
        let range = start..start + level.len();
        start = range.end + 1;
        let Some(name) = level.strip_prefix('{').and_then(|l| l.strip_suffix('}')) else {
            continue;
        };
        if !filter.param_names().any(|n| n == name) {
            let known: Vec<String> = filter.param_names().map(|n| format!("`{{{n}}}`")).collect();
            let help = match known.is_empty() {
                true => format!("the filter `{}` has no parameters", filter.as_str()),
                false => format!("the filter's parameters are {}", known.join(", ")),
            };
            cx.syn_error(topic::error_in(
                &reply.lit,
                range,
                &format!(
                    "the reply topic names `{{{name}}}`, which is not a parameter of the filter: a `{{name}}` level of a reply is replaced by that parameter of the request's topic\nhelp: {help}"
                ),
            ));
        }
    }
}

/// `reply` with its event type (`event`, or the topic with `/` → `.`); `event` alone is an error.
fn reply_to(cx: &Ctxt, reply: Option<LitStr>, event: Option<LitStr>) -> Option<ReplyTo> {
    match (reply, event) {
        (Some(lit), event) => Some(ReplyTo {
            topic: lit.value(),
            event: event.map_or_else(|| lit.value().replace('/', "."), |e| e.value()),
            lit,
        }),
        (None, Some(lit)) => {
            cx.error_spanned_by(
                lit,
                "`event` sets the type of replies, so it needs `reply = \"…\"` too",
            );
            None
        }
        (None, None) => None,
    }
}
