use tars_mqtt::prelude::*;

#[subscribe("a/b")]
async fn handler() {}

fn main() {}
