//! Attribute macros for [`tars-mqtt`](https://docs.rs/tars-mqtt): `#[mqtt_service]` on an
//! inherent `impl` block and `#[subscribe("topic/filter", …)]` on its `async fn` handlers.
//! Use them through `tars_mqtt` (feature `macros`, on by default).

mod attr;
mod ctxt;
mod fallback;
mod paths;
mod service;
mod subscribe;
mod suggest;
mod topic;

#[cfg(test)]
mod snapshots;

use proc_macro::TokenStream;

/// Turns an inherent `impl` block into a tars-mqtt service; see the `tars_mqtt` docs.
#[proc_macro_attribute]
pub fn mqtt_service(args: TokenStream, item: TokenStream) -> TokenStream {
    service::expand(args.into(), item.into()).into()
}

/// Marks a handler of an `#[mqtt_service]` impl block; see the `tars_mqtt` docs.
#[proc_macro_attribute]
pub fn subscribe(args: TokenStream, item: TokenStream) -> TokenStream {
    subscribe::standalone::expand(args.into(), item.into()).into()
}
