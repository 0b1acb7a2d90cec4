//! End-to-end tests of tars-mqtt. Scenarios run against the embedded broker and against
//! Mosquitto (started by the tests on a free loopback port with their own configuration).

mod chaos;
mod config;
mod dispatch;
mod envelope;
mod extensions;
mod llm_worker;
mod macros;
mod memory_worker;
mod poison;
mod presence;
mod reconnect;
mod replies;
mod routing;
mod tls;
