use tars_mqtt::prelude::*;

struct Svc;
#[derive(Debug)]
struct Oops;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    async fn a(&self) -> Result<(), Oops> {
        Err(Oops)
    }
}

fn main() {}
