//! The runtime's topic grammar, compiled into the macro from the very same source file, and the
//! mapping of its byte ranges onto the string literal.

#[allow(dead_code, unreachable_pub, missing_docs)]
#[path = "../../tars-mqtt/src/topic/filter.rs"]
mod filter;

pub(crate) use filter::{FilterError, TopicFilter, validate_topic_name};

/// An error about part of a topic literal: spanned at that part where the compiler can
/// (nightly), else at the whole literal, naming the part in the message.
pub(crate) fn error_in(
    lit: &syn::LitStr,
    range: std::ops::Range<usize>,
    message: &str,
) -> syn::Error {
    let value = lit.value();
    // The subspan is only exact when the literal's source is the plain value (no escapes).
    let plain = lit.token().to_string() == format!("{value:?}");
    let span = plain
        .then(|| lit.token().subspan(range.start + 1..range.end + 1))
        .flatten();
    match span {
        Some(span) => syn::Error::new(span, message),
        None => {
            let part = value.get(range.clone()).unwrap_or_default();
            let at = if part.is_empty() {
                String::new()
            } else {
                format!(" (`{part}`, byte {} of `{value}`)", range.start)
            };
            syn::Error::new(lit.span(), format!("{message}{at}"))
        }
    }
}

pub(crate) fn filter_error(lit: &syn::LitStr, error: &FilterError) -> syn::Error {
    let kind = error.kind();
    error_in(
        lit,
        error.byte_range(),
        &format!("{}\nhelp: {}", kind.message(), kind.help()),
    )
}
