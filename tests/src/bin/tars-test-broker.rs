//! A broker process for restart tests: rumqttd on the port given as the first argument.

fn main() {
    tars_mqtt::testing::run_broker_main()
}
