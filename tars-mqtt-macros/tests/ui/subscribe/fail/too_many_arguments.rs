use tars_mqtt::prelude::*;

struct Svc;

#[mqtt_service]
impl Svc {
    #[subscribe("a/b")]
    #[allow(clippy::too_many_arguments)]
    async fn a(
        &self,
        t1: Topic, t2: Topic, t3: Topic, t4: Topic, t5: Topic,
        t6: Topic, t7: Topic, t8: Topic, t9: Topic, t10: Topic,
        t11: Topic, t12: Topic, t13: Topic, t14: Topic, t15: Topic,
        t16: Topic,
    ) {
        let _ = (t1, t2, t3, t4, t5, t6, t7, t8, t9, t10, t11, t12, t13, t14, t15, t16);
    }
}

fn main() {}
