//! The glue: a `Service` impl whose `router()` names each handler once, and a static table of
//! the subscriptions, wrapped in `const _: () = { … };`. Conversions live in the runtime's
//! `__private` module; calls that can fail a trait bound are spanned at the user's tokens.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::ServiceArgs;
use crate::paths;
use crate::subscribe::model::{Handler, Input, Output};

pub(crate) fn glue(
    p: &TokenStream,
    self_ty: &syn::Type,
    args: &ServiceArgs,
    handlers: &[Handler],
) -> TokenStream {
    let name = quote!(#self_ty).to_string().replace(' ', "");
    let defaults = defaults(p, args);
    let consts = handlers.iter().map(|h| subscription_const(p, h));
    let table = handlers.iter().map(|h| {
        let (cfgs, ident) = (&h.cfgs, const_ident(h));
        quote!(#(#cfgs)* #ident)
    });
    let routes = handlers.iter().map(|h| route(p, h));
    quote! {
        const _: () = {
            #(#consts)*
            impl #p::Service for #self_ty {
                fn info() -> &'static #p::ServiceInfo {
                    static INFO: #p::ServiceInfo = #p::ServiceInfo {
                        name: #name,
                        defaults: #defaults,
                        subscriptions: &[#(#table),*],
                    };
                    &INFO
                }
                fn router() -> #p::Router<Self> {
                    let router = #p::Router::new();
                    #(#routes)*
                    router
                }
            }
        };
    }
}

/// `ServiceDefaults { … }` from `#[mqtt_service(…)]`.
fn defaults(p: &TokenStream, args: &ServiceArgs) -> TokenStream {
    fn some<T: quote::ToTokens>(v: Option<T>) -> TokenStream {
        match v {
            Some(v) => quote!(::core::option::Option::Some(#v)),
            None => quote!(::core::option::Option::None),
        }
    }
    let (client_id, source) = (some(args.client_id.as_ref()), some(args.source.as_ref()));
    let (health, heartbeat) = (some(args.health), some(args.heartbeat));
    let dedupe_ttl = some(args.dedupe_ttl);
    let dedupe_max_entries = some(args.dedupe_max_entries.map(|v| v as usize));
    quote! {
        #p::ServiceDefaults {
            client_id: #client_id,
            source: #source,
            health: #health,
            heartbeat: #heartbeat,
            dedupe_ttl: #dedupe_ttl,
            dedupe_max_entries: #dedupe_max_entries,
        }
    }
}

fn const_ident(h: &Handler) -> syn::Ident {
    format_ident!("__TARS_MQTT_SUBSCRIPTION_{}", h.ident)
}

fn subscription_const(p: &TokenStream, h: &Handler) -> TokenStream {
    let (cfgs, ident) = (&h.cfgs, const_ident(h));
    let filter = h.args.filter.as_ref().expect("checked").as_str();
    let qos = format_ident!(
        "{}",
        ["AtMostOnce", "AtLeastOnce", "ExactlyOnce"][h.args.qos as usize]
    );
    let handler = h.ident.to_string();
    let env = match &h.args.env {
        Some(var) => quote!(::core::option::Option::Some(#var)),
        None => quote!(::core::option::Option::None),
    };
    let location =
        quote_spanned!(h.attr.span()=> (::core::file!(), ::core::line!(), ::core::column!()));
    quote! {
        #(#cfgs)*
        #[allow(non_upper_case_globals)]
        const #ident: #p::SubscriptionInfo = #p::SubscriptionInfo {
            filter: #filter,
            qos: #p::QoS::#qos,
            handler: #handler,
            env: #env,
            location: #location,
        };
    }
}

/// `let router = router.route(__private::route(&INFO, |msg, state| …).option(…));`
///
/// The closure extracts each argument (spanned at its type, so a type that is not an extractor
/// or not deserializable is reported there), calls the method, and converts its return value
/// (spanned at the return type); `boxed_send` is spanned at the method name, where a future
/// that is not `Send` is reported.
fn route(p: &TokenStream, h: &Handler) -> TokenStream {
    let (cfgs, ident, info) = (&h.cfgs, &h.ident, const_ident(h));
    let msg = quote!(__tars_mqtt_msg);
    let state = quote!(__tars_mqtt_state);
    let mut names = Vec::new();
    let mut extractions = Vec::new();
    let mut call_args = Vec::new();
    for (i, input) in h.inputs.iter().enumerate() {
        let name = format_ident!("__tars_mqtt_arg{}", i, span = Span::mixed_site());
        let (extraction, by_ref) = extraction(p, input, &msg, &state);
        extractions.push(quote!(#extraction?));
        call_args.push(if by_ref {
            quote!(&#name)
        } else {
            quote!(#name)
        });
        names.push(name);
    }
    let convert = conversion(p, &h.output);
    let boxed = paths::respanned(&quote!(#p::boxed_send), ident.span());
    let body = quote! {
        let (#(#names,)*) = match (|| ::core::result::Result::Ok::<_, #p::ExtractError>((#(#extractions,)*)))() {
            ::core::result::Result::Ok(args) => args,
            ::core::result::Result::Err(e) => return #p::Reply::Rejected(e),
        };
        #convert(Self::#ident(&*#state, #(#call_args),*).await)
    };
    // The async block carries the method name's span: a future that is not `Send` is reported there.
    let future = quote_spanned!(ident.span()=> #boxed(async move { #body }));
    let options = route_options(p, h);
    quote! {
        #(#cfgs)*
        let router = router.route(
            #p::route(&#info, move |#msg: #p::Context, #state: #p::State<Self>| #future)
            #(#options)*
        );
    }
}

/// How one argument is built, spanned at its type; and whether the method takes it by reference.
fn extraction(
    p: &TokenStream,
    input: &Input,
    msg: &TokenStream,
    state: &TokenStream,
) -> (TokenStream, bool) {
    match input {
        Input::Param { index, ty } => (
            quote_spanned!(ty.span()=> #p::param::<#ty, #index>(&#msg)),
            false,
        ),
        Input::Extractor { ty, by_ref } => (
            quote_spanned!(ty.span()=> #p::extract::<Self, #ty>(&#msg, &#state.0)),
            *by_ref,
        ),
        Input::Payload { ty, wrapped: true } => (
            quote_spanned!(ty.span()=> #p::payload_via::<Self, #ty>(&#msg, &#state.0)),
            false,
        ),
        Input::Payload { ty, wrapped: false } => {
            (quote_spanned!(ty.span()=> #p::payload::<#ty>(&#msg)), false)
        }
    }
}

/// The function that turns the method's return value into a reply, named with the user's types
/// (`reply_value::<T>`), spanned at the return type so that an unmet bound points at it.
fn conversion(p: &TokenStream, output: &Output) -> TokenStream {
    let at = |ty: &syn::Type, f: &str, args: Vec<TokenStream>| {
        let (p, f) = (
            paths::respanned(p, ty.span()),
            format_ident!("{}", f, span = ty.span()),
        );
        quote_spanned!(ty.span()=> #p::#f::<#(#args),*>)
    };
    let generic = |ty: &syn::Type, n: usize| -> TokenStream {
        crate::subscribe::model::generic_arg(ty, n).map_or_else(|| quote!(_), |t| quote!(#t))
    };
    match output {
        Output::Unit => quote!(#p::no_reply),
        Output::UnitResult(ty) => at(ty, "no_reply_result", vec![generic(ty, 1)]),
        Output::Value(ty) => at(ty, "reply_value", vec![quote!(#ty)]),
        Output::Result(ty) => at(ty, "reply_result", vec![generic(ty, 0), generic(ty, 1)]),
        Output::Option(ty) => at(ty, "reply_option", vec![generic(ty, 0)]),
    }
}

/// `.reply(…)`, `.group(…)`, `.concurrency(…)`, … as given in `#[subscribe(…)]`.
fn route_options(p: &TokenStream, h: &Handler) -> Vec<TokenStream> {
    let mut options = Vec::new();
    if let Some(reply) = &h.args.reply {
        let (topic, event) = (&reply.topic, &reply.event);
        options.push(quote!(.reply(#topic, #event)));
    }
    if let Some(group) = &h.args.group {
        options.push(quote!(.group(#group)));
    }
    if let Some(n) = h.args.concurrency {
        let n = n as usize;
        options.push(quote!(.concurrency(#n)));
    }
    if let Some(n) = h.args.queue {
        let n = n as usize;
        options.push(quote!(.queue_capacity(#n)));
    }
    if let Some(policy) = h.args.overflow {
        let policy = format_ident!("{}", policy);
        options.push(quote!(.overflow(#p::Overflow::#policy)));
    }
    if let Some(ms) = h.args.timeout_ms {
        options.push(quote!(.timeout(#p::Duration::from_millis(#ms))));
    }
    options
}
