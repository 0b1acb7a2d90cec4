//! `#[mqtt_service]`: parse → check → expand. The impl block is always re-emitted (with the
//! helper attributes removed); on error it is followed by a stand-in `Service` impl and the
//! errors, so one mistake gives one error.

mod args;
mod expand;

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Attribute, ImplItem, ItemImpl};

use crate::ctxt::Ctxt;
use crate::subscribe::model::Handler;
use crate::{fallback, paths};
pub(crate) use args::ServiceArgs;

/// Whether `attr` is `#[subscribe]`, spelled in any way (`subscribe`, `tars_mqtt::subscribe`, …).
fn is_subscribe(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|s| s.ident == "subscribe")
}

pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut imp: ItemImpl = match syn::parse2(item.clone()) {
        Ok(imp) => imp,
        Err(_) => {
            let first = item
                .clone()
                .into_iter()
                .find(|t| !matches!(t, proc_macro2::TokenTree::Punct(p) if p.as_char() == '#'));
            let error = syn::Error::new(
                first.map_or_else(proc_macro2::Span::call_site, |t| t.span()),
                "`#[mqtt_service]` expected an inherent `impl` block, e.g. `impl MyService { … }`",
            )
            .to_compile_error();
            return quote!(#item #error);
        }
    };
    let cx = Ctxt::new();
    let args = ServiceArgs::from_tokens(&cx, args);
    let private = paths::private(&args.krate);
    let mut can_stand_in = true;
    if let Some((path, _)) = &imp.trait_ {
        cx.error_spanned_by(
            path,
            "`#[mqtt_service]` goes on an inherent `impl` block, not on a trait implementation",
        );
        can_stand_in = false;
    }
    if !imp.generics.params.is_empty() {
        cx.error_spanned_by(&imp.generics, "`#[mqtt_service]` does not support generic impl blocks yet: implement it for a concrete type");
        can_stand_in = false;
    }
    let handlers = collect(&cx, &mut imp);
    check_duplicates(&cx, &handlers);
    check_reply_loops(&cx, &handlers);
    if cx.has_errors() {
        let errors = cx
            .check()
            .expect_err("errors were collected")
            .to_compile_error();
        let stand_in = can_stand_in.then(|| fallback::dummy_service(&private, &imp.self_ty));
        return quote!(#imp #stand_in #errors);
    }
    cx.check().expect("no errors were collected");
    let glue = expand::glue(&private, &imp.self_ty, &args, &handlers);
    let out = quote!(#imp #glue);
    if std::env::var_os("TARS_MQTT_MACROS_DEBUG").is_some() {
        eprintln!("{out}");
    }
    out
}

/// Takes the `#[subscribe]` attributes off the impl's items and models each handler.
fn collect(cx: &Ctxt, imp: &mut ItemImpl) -> Vec<Handler> {
    let mut handlers = Vec::new();
    for item in &mut imp.items {
        let attrs = match item {
            ImplItem::Fn(f) => &mut f.attrs,
            ImplItem::Const(c) => &mut c.attrs,
            ImplItem::Type(t) => &mut t.attrs,
            ImplItem::Macro(m) => &mut m.attrs,
            _ => continue,
        };
        let mut subscribes: Vec<Attribute> = Vec::new();
        attrs.retain(|a| {
            let hit = is_subscribe(a);
            if hit {
                subscribes.push(a.clone());
            }
            !hit
        });
        let mut subscribes = subscribes.into_iter();
        let Some(attr) = subscribes.next() else {
            continue;
        };
        for extra in subscribes {
            cx.error_spanned_by(
                &extra,
                "a handler subscribes to one filter; write another method for another topic",
            );
        }
        match item {
            ImplItem::Fn(method) => {
                if let Some(handler) = Handler::from_fn(cx, method, attr) {
                    handlers.push(handler);
                }
            }
            other => cx.error_spanned_by(
                &*other,
                "`#[subscribe]` goes on an `async fn` handler, not on this item",
            ),
        }
    }
    handlers
}

fn check_duplicates(cx: &Ctxt, handlers: &[Handler]) {
    for (i, later) in handlers.iter().enumerate() {
        let Some(filter) = &later.args.filter else {
            continue;
        };
        let first = handlers[..i].iter().find(|h| {
            h.args
                .filter
                .as_ref()
                .is_some_and(|f| f.as_str() == filter.as_str())
                && h.cfgs.is_empty()
                && later.cfgs.is_empty()
        });
        if let Some(first) = first {
            cx.error_spanned_by(
                &later.args.topic,
                format!(
                    "the topic filter `{}` is already handled by `{}`\nhelp: every handler of a filter runs for each message; put both in one handler",
                    filter.as_str(),
                    first.ident
                ),
            );
        }
    }
}

/// A reply topic that one of the service's own filters matches: every reply would come back to
/// the service as a new message, which replies again (a reply storm).
fn check_reply_loops(cx: &Ctxt, handlers: &[Handler]) {
    for handler in handlers {
        let Some(reply) = &handler.args.reply else {
            continue;
        };
        if handler.args.allow_reply_loop {
            continue;
        }
        let looped = handlers.iter().find_map(|other| {
            let filter = other.args.filter.as_ref()?;
            filter.matches(&reply.topic).then_some((other, filter))
        });
        if let Some((other, filter)) = looped {
            let whose = if other.ident == handler.ident {
                "its own filter".to_owned()
            } else {
                format!("the filter of `{}`", other.ident)
            };
            cx.error_spanned_by(
                &reply.lit,
                format!(
                    "the reply topic `{}` is matched by `{}`, {whose}: every reply would be handled again as a new message, a reply storm\nhelp: reply on a topic outside this service's filters, or add `allow_reply_loop = true` if the replies are meant to come back",
                    reply.topic,
                    filter.as_str(),
                ),
            );
        }
    }
}
