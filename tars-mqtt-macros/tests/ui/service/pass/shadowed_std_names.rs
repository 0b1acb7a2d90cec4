//! User types named like the prelude's must not confuse the expansion.
#![allow(dead_code)]

use tars_mqtt::prelude::*;

struct Result;
struct Option;
struct Box;
struct Ok;
struct Err;
struct Some;
struct None;
struct Send;

struct Svc;

#[derive(serde::Serialize)]
struct Out {
    n: u32,
}

#[mqtt_service]
impl Svc {
    #[subscribe("a/b", reply = "a/c")]
    async fn a(&self, n: u32) -> std::result::Result<Out, String> {
        std::result::Result::Ok(Out { n })
    }

    #[subscribe("a/d")]
    async fn d(&self, _: Option) {}
}

impl<'de> serde::Deserialize<'de> for Option {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        <() as serde::Deserialize>::deserialize(d).map(|_| Option)
    }
}

fn main() {}
