//! The one table of runtime paths the expansion names: `::tars_mqtt::__private::…` by default,
//! or `<crate>::__private::…` with `crate = "…"`.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn private(krate: &Option<syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::tars_mqtt::__private),
    }
}

/// `tokens` with every span set to `span`, so that an error about a generated call (an unmet
/// bound of a `__private` function) is reported at the user's token.
pub(crate) fn respanned(tokens: &TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .clone()
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(g) = &tree {
                let mut group =
                    proc_macro2::Group::new(g.delimiter(), respanned(&g.stream(), span));
                group.set_span(span);
                tree = group.into();
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}
