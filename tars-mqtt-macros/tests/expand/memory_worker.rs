use tars_mqtt::prelude::*;

#[mqtt_service(client_id = "tars-memory", source = "memory-worker", health = true, heartbeat = 5)]
impl MemoryWorker {
    /// The reply is published to memory/results as a `memory.results` envelope whose id is the request's id.
    #[subscribe("memory/query", qos = 1, reply = "memory/results", event = "memory.results")]
    async fn query(&self, q: MemoryQuery) -> Result<MemoryResults, MemoryError> {
        self.store.search(&q)
    }

    /// `{room}` binds one topic level to the argument of the same name (parsed with FromStr).
    #[subscribe("sensors/{room}/temp", concurrency = 4, timeout = "2s")]
    async fn temp(&self, room: String, reading: Envelope<Reading>, ctx: &Context) {
        self.store.record(room, reading.data, ctx.topic());
    }
}
