//! One `#[subscribe]` method: its signature checked and its arguments classified.
//!
//! An argument is a topic parameter when its name matches a `{name}` of the filter, an
//! extractor when it is a reference (`ctx: &Context`), marked `#[extract]`, or of a known
//! extractor type (`Context`, `Topic`, `TopicParams`, `Raw`, `Publisher`, `State`, `Param`),
//! and otherwise the payload (at most one): `Json<T>`/`Envelope<T>` as they are,
//! any other type decoded from the envelope's `data`.

use syn::{
    Attribute, FnArg, GenericArgument, Ident, ImplItemFn, Pat, PathArguments, ReceiverKind,
    ReturnType, Type,
};

use super::args::SubscribeArgs;
use crate::ctxt::Ctxt;
use crate::topic;

const EXTRACTORS: &[&str] = &[
    "Context",
    "Topic",
    "TopicParams",
    "Raw",
    "Publisher",
    "State",
    "Param",
    "Properties",
];
const PAYLOAD_WRAPPERS: &[&str] = &["Json", "Envelope"];
/// The runtime's argument lists go up to 16 elements, one of which is the state (`&self`).
const MAX_ARGUMENTS: usize = 15;

pub(crate) enum Input {
    /// `{name}` level number `index`, parsed with `FromStr`.
    Param { index: usize, ty: Type },
    /// Built from the message; passed by reference when `by_ref`.
    Extractor { ty: Type, by_ref: bool },
    /// The decoded payload: `Json<T>`/`Envelope<T>` (`wrapped`) or a plain `T`.
    Payload { ty: Type, wrapped: bool },
}

pub(crate) enum Output {
    /// `()` or nothing.
    Unit,
    /// `Result<(), E>`.
    UnitResult(Type),
    /// `Result<T, E>`.
    Result(Type),
    /// `Option<T>`.
    Option(Type),
    /// Any other `T`.
    Value(Type),
}

pub(crate) struct Handler {
    pub(crate) ident: Ident,
    pub(crate) args: SubscribeArgs,
    pub(crate) inputs: Vec<Input>,
    pub(crate) output: Output,
    /// `#[cfg]`s of the method, forwarded onto everything generated for it.
    pub(crate) cfgs: Vec<Attribute>,
    /// The `#[subscribe]` attribute, whose position is the declared location.
    pub(crate) attr: Attribute,
}

/// The name of a path type's last segment (`Json` for `tars_mqtt::Json<T>`).
pub(crate) fn last_ident(ty: &Type) -> Option<String> {
    last_segment(ty).map(|s| s.ident.to_string())
}

fn last_segment(ty: &Type) -> Option<&syn::PathSegment> {
    match ty {
        Type::Path(p) if p.qself.is_none() => p.path.segments.last(),
        Type::Group(g) => last_segment(&g.elem),
        _ => None,
    }
}

fn generic_types(segment: &syn::PathSegment) -> Vec<&Type> {
    match &segment.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|arg| match arg {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// The `n`-th generic type argument of a path type (`Result<T, E>` → `T`, `E`).
pub(crate) fn generic_arg(ty: &Type, n: usize) -> Option<&Type> {
    last_segment(ty).and_then(|s| generic_types(s).get(n).copied())
}

fn is_unit(ty: &Type) -> bool {
    matches!(ty, Type::Tuple(t) if t.elems.is_empty())
}

impl Handler {
    /// Checks the method and builds the model; strips `#[extract]` from its arguments.
    pub(crate) fn from_fn(cx: &Ctxt, method: &mut ImplItemFn, attr: Attribute) -> Option<Self> {
        let args = SubscribeArgs::from_attr(cx, &attr);
        check_signature(cx, &method.sig);
        let names: Vec<String> = args
            .as_ref()
            .and_then(|a| a.filter.as_ref())
            .map(|f| f.param_names().map(str::to_owned).collect())
            .unwrap_or_default();
        let inputs = classify_inputs(cx, &mut method.sig, &names);
        let output = classify_output(&method.sig.output);
        let args = args?;
        check_params_bound(cx, &args, &names, &inputs);
        // Without `async`, the return type is not the handler's output (it is often the future
        // itself): the missing `async` is the one error to report.
        if method.sig.asyncness.is_some() {
            check_reply(cx, &args, &output);
        }
        let cfgs = method
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("cfg"))
            .cloned()
            .collect();
        Some(Handler {
            ident: method.sig.ident.clone(),
            args,
            inputs,
            output,
            cfgs,
            attr,
        })
    }
}

/// `async`, not generic, `&self` first.
fn check_signature(cx: &Ctxt, sig: &syn::Signature) {
    if sig.asyncness.is_none() {
        let help = match returns_future(&sig.output) {
            true => "write `async fn` returning the future's output instead of `impl Future`",
            false => "handlers are `async fn`",
        };
        cx.error_spanned_by(
            sig.fn_token,
            format!("the `async` keyword is missing from the handler declaration\nhelp: {help}"),
        );
    }
    if !sig.generics.params.is_empty() {
        cx.error_spanned_by(
            &sig.generics,
            "handlers cannot be generic: the framework calls them with concrete types",
        );
    }
    match sig.inputs.first() {
        Some(FnArg::Receiver(r)) => match &r.kind {
            ReceiverKind::Reference(_, _, None) if r.mutability.is_none() => {}
            ReceiverKind::Reference(_, _, Some(_)) => cx.error_spanned_by(
                r,
                "handlers take `&self`, not `&mut self`: messages may be handled concurrently\nhelp: keep mutable state behind a `Mutex` or an atomic",
            ),
            _ => cx.error_spanned_by(r, "handlers take `&self`: the service is shared by every handler"),
        },
        _ => cx.error_spanned_by(&sig.ident, "handlers are methods: add `&self` as the first argument"),
    }
}

/// `-> impl Future<…>` (or a boxed future): what a handler written without `async` returns.
fn returns_future(output: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = output else {
        return false;
    };
    let text = quote::ToTokens::to_token_stream(&**ty).to_string();
    text.contains("Future")
}

/// Each argument after `&self` as a topic parameter, an extractor or the payload (at most one).
fn classify_inputs(cx: &Ctxt, sig: &mut syn::Signature, names: &[String]) -> Vec<Input> {
    let mut inputs = Vec::new();
    for input in sig.inputs.iter_mut() {
        let FnArg::Typed(pat_type) = input else {
            continue;
        };
        let marked = pat_type.attrs.iter().any(|a| a.path().is_ident("extract"));
        pat_type.attrs.retain(|a| !a.path().is_ident("extract"));
        let param = match &*pat_type.pat {
            Pat::Ident(p) => names.iter().position(|n| p.ident == n),
            _ => None,
        };
        if inputs.len() == MAX_ARGUMENTS {
            cx.error_spanned_by(
                &*pat_type,
                format!("a handler takes at most {MAX_ARGUMENTS} arguments besides `&self`\nhelp: group related values in one extractor or payload type"),
            );
        }
        let payload_seen = inputs.iter().any(|i| matches!(i, Input::Payload { .. }));
        inputs.push(classify(
            cx,
            (*pat_type.ty).clone(),
            param,
            marked,
            payload_seen,
        ));
    }
    inputs
}

fn classify(cx: &Ctxt, ty: Type, param: Option<usize>, marked: bool, payload_seen: bool) -> Input {
    if let Some(index) = param {
        if matches!(ty, Type::Reference(_)) {
            cx.error_spanned_by(
                &ty,
                "a topic parameter is passed by value; use an owned type such as `String`",
            );
        }
        return Input::Param { index, ty };
    }
    if let Type::Reference(r) = &ty {
        // A borrowed string or byte slice is a payload the framework would have to own.
        if let Some(owned) = borrowed_payload(&r.elem) {
            cx.error_spanned_by(
                &ty,
                format!("the payload is decoded into a value the handler owns, so it cannot be borrowed\nhelp: take {owned} instead"),
            );
            return Input::Payload {
                ty: (*r.elem).clone(),
                wrapped: false,
            };
        }
        if r.mutability.is_some() {
            cx.error_spanned_by(
                &ty,
                "extractors are passed as `&T` or by value, not `&mut T`",
            );
        }
        return Input::Extractor {
            ty: (*r.elem).clone(),
            by_ref: true,
        };
    }
    if marked || last_segment(&ty).is_some_and(|s| EXTRACTORS.iter().any(|e| s.ident == e)) {
        return Input::Extractor { ty, by_ref: false };
    }
    if payload_seen {
        cx.error_spanned_by(
            &ty,
            "a handler takes at most one payload argument, and this would be a second one\nhelp: if this type is an extractor of your own, mark the argument `#[extract]`",
        );
    }
    let wrapped = last_segment(&ty).is_some_and(|s| PAYLOAD_WRAPPERS.iter().any(|w| s.ident == w));
    Input::Payload { ty, wrapped }
}

/// `str` and `[u8]`, the unsized payloads a handler might try to borrow, with their owned form.
fn borrowed_payload(ty: &Type) -> Option<&'static str> {
    match ty {
        Type::Path(p) if p.qself.is_none() && p.path.is_ident("str") => Some("`String`"),
        Type::Slice(s) if matches!(&*s.elem, Type::Path(p) if p.path.is_ident("u8")) => {
            Some("`Vec<u8>` or `Raw`")
        }
        _ => None,
    }
}

/// Every `{name}` of the filter needs an argument of that name.
fn check_params_bound(cx: &Ctxt, args: &SubscribeArgs, names: &[String], inputs: &[Input]) {
    for (index, name) in names.iter().enumerate() {
        let bound = inputs
            .iter()
            .any(|i| matches!(i, Input::Param { index: bound, .. } if *bound == index));
        if !bound {
            let text = args.topic.value();
            let needle = format!("{{{name}}}");
            let start = text.find(&needle).unwrap_or(0);
            cx.syn_error(topic::error_in(
                &args.topic,
                start..start + needle.len(),
                &format!("the topic parameter `{name}` has no argument of the same name\nhelp: add an argument `{name}: String` (any `FromStr` type), or write `+` for an unnamed level"),
            ));
        }
    }
}

fn classify_output(output: &ReturnType) -> Output {
    let ty = match output {
        ReturnType::Type(_, ty) if !is_unit(ty) => (**ty).clone(),
        _ => return Output::Unit,
    };
    match last_segment(&ty).map(|s| (s.ident.to_string(), generic_types(s))) {
        Some((name, inner)) if name == "Result" && !inner.is_empty() => {
            if is_unit(inner[0]) {
                Output::UnitResult(ty)
            } else {
                Output::Result(ty)
            }
        }
        Some((name, inner)) if name == "Option" && inner.len() == 1 => Output::Option(ty),
        _ => Output::Value(ty),
    }
}

/// A value needs a reply topic, and a reply topic needs a value.
fn check_reply(cx: &Ctxt, args: &SubscribeArgs, output: &Output) {
    match (output, &args.reply) {
        (Output::Unit | Output::UnitResult(_), Some(reply)) => cx.error_spanned_by(
            &reply.lit,
            "`reply` is set but the handler returns no value to publish\nhelp: return the reply's data (any `serde::Serialize` type), or remove `reply`",
        ),
        (Output::Value(ty) | Output::Result(ty) | Output::Option(ty), None) if !args.reply_given => cx.error_spanned_by(
            ty,
            "this handler returns a value but has no reply topic to publish it to\nhelp: add `reply = \"…\"` to `#[subscribe(...)]`, or return `()`",
        ),
        _ => {}
    }
}
