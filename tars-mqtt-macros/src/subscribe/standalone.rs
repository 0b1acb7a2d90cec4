//! `#[subscribe]` on its own, outside an `#[mqtt_service]` impl block: an error at the
//! attribute, and the item unchanged (so its own code still compiles).

use proc_macro2::{Span, TokenStream};
use quote::quote;

pub(crate) fn expand(_args: TokenStream, item: TokenStream) -> TokenStream {
    let error = syn::Error::new(
        Span::call_site(),
        "`#[subscribe]` only works on methods of an `impl` block marked `#[mqtt_service]`\nhelp: add `#[mqtt_service]` to the `impl` block",
    )
    .to_compile_error();
    quote!(#item #error)
}
