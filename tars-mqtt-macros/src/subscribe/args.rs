//! `#[subscribe("filter", qos = 1, reply = "…", …)]`: its arguments, checked.

use syn::{Attribute, LitStr, Meta};

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
    pub(crate) shared: Option<String>,
    /// Handlers of one group share a queue (arrival order across them).
    pub(crate) group: Option<String>,
    pub(crate) concurrency: Option<u64>,
    pub(crate) overflow: Option<&'static str>,
    pub(crate) queue: Option<u64>,
    pub(crate) timeout_ms: Option<u64>,
    pub(crate) env: Option<String>,
}

impl SubscribeArgs {
    /// Reads the attribute; `None` when there is no usable topic (the error is reported).
    pub(crate) fn from_attr(cx: &Ctxt, attr: &Attribute) -> Option<Self> {
        let list = match &attr.meta {
            Meta::List(list) => list,
            _ => {
                cx.error_spanned_by(
                    attr,
                    "`#[subscribe(...)]` requires a topic filter string as its first argument, e.g. `#[subscribe(\"memory/query\")]`",
                );
                return None;
            }
        };
        let items = match attr::parse(list.tokens.clone()) {
            Ok(items) => items,
            Err(e) => {
                cx.syn_error(e);
                return None;
            }
        };
        let topic = Self::topic(cx, attr, &items);
        let mut args = SubscribeArgs {
            topic: topic
                .clone()
                .unwrap_or_else(|| LitStr::new("", proc_macro2::Span::call_site())),
            filter: None,
            qos: 0,
            reply: None,
            reply_given: false,
            shared: None,
            group: None,
            concurrency: None,
            overflow: None,
            queue: None,
            timeout_ms: None,
            env: None,
        };
        let mut reply: Option<LitStr> = None;
        let mut event: Option<LitStr> = None;
        for (key, ident, value) in attr::named(cx, &items, "subscribe", OPTIONS) {
            match key.as_str() {
                "qos" => {
                    if let Some(q) = attr::integer(cx, "qos", value, 0..=2, "0, 1 or 2") {
                        args.qos = q as u8;
                    }
                }
                "reply" => {
                    args.reply_given = true;
                    if let Some(lit) = attr::string(cx, "reply", value, "\"memory/results\"") {
                        match topic::validate_topic_name(&lit.value()) {
                            Ok(()) => reply = Some(lit),
                            Err(e) => {
                                cx.error_spanned_by(&lit, format!("invalid `reply` topic: {e}"))
                            }
                        }
                    }
                }
                "event" => {
                    if let Some(lit) = attr::string(cx, "event", value, "\"memory.results\"") {
                        if lit.value().is_empty() {
                            cx.error_spanned_by(&lit, "`event` must not be empty");
                        } else {
                            event = Some(lit);
                        }
                    }
                }
                "shared" => {
                    if let Some(lit) = attr::string(cx, "shared", value, "\"workers\"") {
                        let group = lit.value();
                        if group.is_empty() || group.contains(['/', '+', '#']) {
                            cx.error_spanned_by(
                                &lit,
                                "`shared` must be a group name: non-empty, without `/`, `+` or `#`",
                            );
                        } else {
                            args.shared = Some(group);
                        }
                    }
                }
                "group" => {
                    if let Some(lit) = attr::string(cx, "group", value, "\"memory\"") {
                        if lit.value().is_empty() {
                            cx.error_spanned_by(&lit, "`group` must not be empty");
                        } else {
                            args.group = Some(lit.value());
                        }
                    }
                }
                "concurrency" => {
                    args.concurrency =
                        attr::integer(cx, "concurrency", value, 1..=65_535, "from 1 to 65535")
                }
                "queue" => {
                    args.queue =
                        attr::integer(cx, "queue", value, 1..=1_000_000, "from 1 to 1000000")
                }
                "timeout" => args.timeout_ms = attr::duration_ms(cx, "timeout", value),
                "overflow" => {
                    if let Some(lit) = attr::string(cx, "overflow", value, "\"drop_oldest\"") {
                        args.overflow = match lit.value().as_str() {
                            "block" => Some("Block"),
                            "drop_oldest" => Some("DropOldest"),
                            "drop_new" => Some("DropNew"),
                            _ => {
                                cx.error_spanned_by(
                                    &lit,
                                    "`overflow` must be \"block\", \"drop_oldest\" or \"drop_new\"",
                                );
                                None
                            }
                        };
                    }
                }
                "env" => {
                    if let Some(lit) = attr::string(cx, "env", value, "\"MEMORY_QUERY_TOPIC\"") {
                        if lit.value().is_empty() {
                            cx.error_spanned_by(&lit, "`env` must name an environment variable");
                        } else {
                            args.env = Some(lit.value());
                        }
                    }
                }
                _ => unreachable!("`named` only yields known options: {ident}"),
            }
        }
        let topic = topic?;
        args.filter = match TopicFilter::parse(&topic.value()) {
            Ok(f) if args.shared.is_some() && f.share_group().is_some() => {
                cx.error_spanned_by(
                    &topic,
                    "the filter already has a `$share/` prefix; drop the `shared` option",
                );
                None
            }
            Ok(f) => match &args.shared {
                Some(group) => {
                    TopicFilter::parse(&format!("$share/{group}/{}", topic.value())).ok()
                }
                None => Some(f),
            },
            Err(e) => {
                cx.syn_error(topic::filter_error(&topic, &e));
                None
            }
        };
        args.reply = match (reply, event) {
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
        };
        Some(args)
    }

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
                syn::Expr::Lit(syn::ExprLit {
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
                cx.error_spanned_by(
                    attr,
                    "`#[subscribe(...)]` requires a topic filter string as its first argument, e.g. `#[subscribe(\"memory/query\")]`",
                );
                None
            }
        }
    }
}
