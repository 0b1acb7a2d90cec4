//! The runtime path the expansion imports as `__tm`: `::tars_mqtt::__private` by default, or
//! `<crate>::__private` with `crate = "…"`.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn private(krate: &Option<syn::Path>) -> TokenStream {
    match krate {
        Some(path) => quote!(#path::__private),
        None => quote!(::tars_mqtt::__private),
    }
}
