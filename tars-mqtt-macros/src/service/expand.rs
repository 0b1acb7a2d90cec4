//! The glue: a `Service` impl with the service's name and defaults (`INFO`) and a `router()`
//! that declares each handler's route, wrapped in `const _: () = { … };` with the runtime's
//! `__private` module imported as `__tm`.
//!
//! Each route hands the method to the runtime's `Handler` machinery, the one hand-written
//! routes use: `.args((…))` is the argument list as a tuple of markers, one per argument and
//! spanned at its type, so an argument that cannot be extracted is reported there; `.to(…)`
//! is a closure that takes the argument values as one tuple (their types inferred from the
//! method) and calls the method. A future that is not `Send` is reported at `.to`, spanned at
//! the method name; a return type that cannot be converted at the conversion, spanned at it.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

use super::ServiceArgs;
use crate::subscribe::model::{Handler, Input, Output, generic_arg};

pub(crate) fn glue(
    p: &TokenStream,
    self_ty: &syn::Type,
    args: &ServiceArgs,
    handlers: &[Handler],
) -> TokenStream {
    let name = quote!(#self_ty).to_string().replace(' ', "");
    let defaults = defaults(args);
    let routes = handlers.iter().map(route);
    // `Service` needs `Send + Sync`. Said again as the impl's where clause, spanned at the type,
    // a type that is not reports it once, there; the routes inside then assume it, instead of
    // each handler's future reporting it again.
    let thread_safe = quote_spanned!(self_ty.span()=>
        #self_ty: ::core::marker::Send + ::core::marker::Sync);
    quote! {
        const _: () = {
            use #p as __tm;
            impl __tm::Service for #self_ty where #thread_safe {
                const INFO: __tm::ServiceInfo = __tm::ServiceInfo::new(#name) #(#defaults)*;
                fn router() -> __tm::Router<Self> {
                    __tm::router([#(#routes),*])
                }
            }
        };
    }
}

/// `.version(…)`, then `.client_id(…)`, `.heartbeat(…)`, … for the defaults given in
/// `#[mqtt_service(…)]`.
fn defaults(args: &ServiceArgs) -> Vec<TokenStream> {
    // The version of the crate the service is in.
    let mut out = vec![quote!(.version_of(::core::option_env!("CARGO_PKG_VERSION")))];
    if let Some(v) = &args.client_id {
        out.push(quote!(.client_id(#v)));
    }
    if let Some(v) = &args.source {
        out.push(quote!(.source(#v)));
    }
    if let Some(v) = args.health {
        out.push(quote!(.health(#v)));
    }
    if let Some(v) = args.heartbeat {
        out.push(quote!(.heartbeat(#v)));
    }
    if let Some(v) = args.dedupe_ttl {
        out.push(quote!(.dedupe_ttl(#v)));
    }
    if let Some(v) = args.dedupe_max_entries {
        let v = v as usize;
        out.push(quote!(.dedupe_max_entries(#v)));
    }
    match args.mqtt5 {
        Some(true) => out.push(quote!(.protocol(__tm::Protocol::V5))),
        Some(false) => out.push(quote!(.protocol(__tm::Protocol::V311))),
        None => {}
    }
    out
}

/// `#[cfg]… __tm::route("name", "filter", QoS).args((markers)).to(|(s, …)| …).options…`.
///
/// `route` is spanned at the `#[subscribe]` attribute: it records its caller's location as the
/// route's origin.
fn route(h: &Handler) -> TokenStream {
    let (cfgs, ident) = (&h.cfgs, &h.ident);
    let filter = h.args.filter.as_ref().expect("checked").as_str();
    let qos = format_ident!(
        "{}",
        ["AtMostOnce", "AtLeastOnce", "ExactlyOnce"][h.args.qos as usize]
    );
    let declare = quote_spanned!(h.attr.span()=> __tm::route);
    let name = ident.to_string();
    let options = route_options(h);
    let state = format_ident!("s", span = Span::mixed_site());
    let mut markers = vec![quote!(__tm::state())];
    let mut names = vec![state.clone()];
    let mut call_args = Vec::new();
    for (i, input) in h.inputs.iter().enumerate() {
        let name = format_ident!("a{}", i, span = Span::mixed_site());
        let (marker, arg) = argument(input, &name);
        markers.push(marker);
        call_args.push(arg);
        names.push(name);
    }
    let call = conversion(&h.output, |first, last| {
        let method = syn::Ident::new(&ident.to_string(), first);
        let awaited = quote_spanned!(last=> .await);
        quote_spanned!(first=> Self::#method(&#state, #(#call_args),*) #awaited)
    });
    // `args` is spanned at the method name (the user's context): the compiler blames an
    // argument that cannot be extracted on its marker only within the same context.
    let args = quote_spanned!(ident.span()=> .args((#(#markers,)*)));
    let to = format_ident!("to", span = ident.span());
    let env = h.args.env.as_ref().map(|var| quote!(.env(#var)));
    let schemas = schemas(h);
    quote! {
        #(#cfgs)*
        #declare(#name, #filter, __tm::QoS::#qos)
            #env
            #args
            .#to(async move |(#(#names,)*)| #call)
            #(#options)*
            #schemas
    }
}

/// `.schemas(…)`: the JSON Schemas of the payload's and the reply's data, for the AsyncAPI
/// document (each `None` unless the type implements `JsonSchema` and the feature is on).
fn schemas(h: &Handler) -> Option<TokenStream> {
    let json_inner = |ty: &syn::Type| -> syn::Type {
        match crate::subscribe::model::last_ident(ty) {
            Some(name) if name == "Json" || name == "Envelope" => {
                generic_arg(ty, 0).cloned().unwrap_or_else(|| ty.clone())
            }
            _ => ty.clone(),
        }
    };
    let payload = h.inputs.iter().find_map(|input| match input {
        Input::Payload { ty, .. } => Some(json_inner(ty)),
        _ => None,
    });
    let reply = match &h.output {
        Output::Value(ty) => Some(json_inner(ty)),
        Output::Result(ty) | Output::Option(ty) => generic_arg(ty, 0).map(json_inner),
        Output::Unit | Output::UnitResult(_) => None,
    };
    if payload.is_none() && reply.is_none() {
        return None;
    }
    let schema = |ty: Option<syn::Type>| ty.map_or_else(|| quote!(_), |ty| quote!(#ty));
    let (payload, reply) = (schema(payload), schema(reply));
    Some(quote!(.schemas(__tm::schemas!(#payload, #reply))))
}

/// One argument's marker, spanned at its type, and how the method is passed its value.
fn argument(input: &Input, name: &syn::Ident) -> (TokenStream, TokenStream) {
    match input {
        Input::Param { index, ty } => (
            {
                let index = proc_macro2::Literal::usize_unsuffixed(*index);
                quote_spanned!(ty.span()=> __tm::param::<#index, _>())
            },
            quote!(#name.0),
        ),
        Input::Extractor { ty, by_ref } => (
            quote_spanned!(ty.span()=> __tm::arg()),
            if *by_ref {
                quote!(&#name)
            } else {
                quote!(#name)
            },
        ),
        Input::Payload { ty, wrapped: true } => {
            (quote_spanned!(ty.span()=> __tm::payload()), quote!(#name))
        }
        Input::Payload { ty, wrapped: false } => {
            (quote_spanned!(ty.span()=> __tm::data()), quote!(#name))
        }
    }
}

/// The method's return value turned into a reply, spanned at the part of the return type that
/// must satisfy a bound, so that an unmet one points at it: the reply type (`T`, `Option<T>`),
/// the error type (`Result<(), E>`), or both (`Result<T, E>`: from `T` to `E`). `()` needs no
/// conversion. `call(first, last)` is the method call with its first and last tokens spanned
/// there (the compiler's span of an expression runs from its first token to its last).
fn conversion(output: &Output, call: impl Fn(Span, Span) -> TokenStream) -> TokenStream {
    let at = |ty: &syn::Type, n: usize| generic_arg(ty, n).unwrap_or(ty).span();
    let (f, first, last) = match output {
        Output::Unit => return call(Span::call_site(), Span::call_site()),
        Output::UnitResult(ty) => ("unit_result", at(ty, 1), at(ty, 1)),
        Output::Value(ty) => ("value", ty.span(), ty.span()),
        Output::Result(ty) => ("result", at(ty, 0), at(ty, 1)),
        Output::Option(ty) => ("option", at(ty, 0), at(ty, 0)),
    };
    let f = format_ident!("{}", f, span = first);
    let call = call(first, last);
    let close = quote_spanned!(last=> (#call));
    quote_spanned!(first=> __tm::#f #close)
}

/// `.reply(…)`, `.group(…)`, `.concurrency(…)`, … as given in `#[subscribe(…)]`: the builder
/// methods of `Route`, as a hand-written route calls them.
fn route_options(h: &Handler) -> Vec<TokenStream> {
    let a = &h.args;
    let mut options = Vec::new();
    if let Some(reply) = &a.reply {
        let (topic, event) = (&reply.topic, &reply.event);
        options.push(quote!(.reply(#topic, #event)));
    }
    if let Some(group) = &a.group {
        options.push(quote!(.group(#group)));
    }
    if let Some(n) = a.concurrency {
        let n = proc_macro2::Literal::usize_unsuffixed(n as usize);
        options.push(quote!(.concurrency(#n)));
    }
    if let Some(n) = a.queue {
        let n = proc_macro2::Literal::usize_unsuffixed(n as usize);
        options.push(quote!(.queue_capacity(#n)));
    }
    if let Some(policy) = a.overflow {
        let policy = format_ident!("{}", policy);
        options.push(quote!(.overflow(__tm::Overflow::#policy)));
    }
    if let Some(ms) = a.timeout_ms {
        let ms = proc_macro2::Literal::u64_unsuffixed(ms);
        options.push(quote!(.timeout(__tm::Duration::from_millis(#ms))));
    }
    options
}
