//! Not public API; may change in any release. What `#[mqtt_service]` expansions name.

pub use crate::service::{Service, ServiceInfo, SubscriptionInfo};
