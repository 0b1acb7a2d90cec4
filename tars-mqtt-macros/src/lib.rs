//! Attribute macros for `tars-mqtt`.
