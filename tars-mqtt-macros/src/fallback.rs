//! After an error, a stand-in `Service` impl, so that code using the service elsewhere adds no
//! errors of its own (thiserror's fallback): one mistake, one error.

use proc_macro2::TokenStream;
use quote::quote;

pub(crate) fn dummy_service(private: &TokenStream, self_ty: &syn::Type) -> TokenStream {
    quote! {
        impl #private::Service for #self_ty {
            const INFO: #private::ServiceInfo = #private::ServiceInfo::new("");
            fn router() -> #private::Router<Self> {
                ::core::unimplemented!()
            }
        }
    }
}
