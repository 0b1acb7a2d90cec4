use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service(clientid = "svc")]
impl Svc {
    #[subscribe("a/b")]
    async fn a(&self) {}
}

async fn run() -> Result<(), tars_mqtt::Error> {
    Svc.run_from_env().await?;
    let _router: Router<Svc> = Svc::router();
    Ok(())
}

fn main() {
    let _ = run();
}
