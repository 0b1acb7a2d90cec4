use tars_mqtt::prelude::*;
impl MemoryWorker {
    /// The reply is published to memory/results as a `memory.results` envelope whose id is the request's id.
    async fn query(&self, q: MemoryQuery) -> Result<MemoryResults, MemoryError> {
        self.store.search(&q)
    }
    /// `{room}` binds one topic level to the argument of the same name (parsed with FromStr).
    async fn temp(&self, room: String, reading: Envelope<Reading>, ctx: &Context) {
        self.store.record(room, reading.data, ctx.topic());
    }
}
const _: () = {
    use ::tars_mqtt::__private as __tm;
    impl __tm::Service for MemoryWorker
    where
        MemoryWorker: ::core::marker::Send + ::core::marker::Sync,
    {
        const INFO: __tm::ServiceInfo = __tm::ServiceInfo::new("MemoryWorker")
            .version_of(::core::option_env!("CARGO_PKG_VERSION"))
            .client_id("tars-memory")
            .source("memory-worker")
            .health(true)
            .heartbeat(5f64);
        fn router() -> __tm::Router<Self> {
            __tm::router([
                __tm::route("query", "memory/query", __tm::QoS::AtLeastOnce)
                    .args((__tm::state(), __tm::data()))
                    .to(async move |(s, a0)| __tm::result(Self::query(&s, a0).await))
                    .reply("memory/results", "memory.results")
                    .schemas(__tm::schemas!(MemoryQuery, MemoryResults)),
                __tm::route("temp", "sensors/{room}/temp", __tm::QoS::AtMostOnce)
                    .args((
                        __tm::state(),
                        __tm::param::<0, _>(),
                        __tm::payload(),
                        __tm::arg(),
                    ))
                    .to(async move |(s, a0, a1, a2)| Self::temp(&s, a0.0, a1, &a2).await)
                    .concurrency(4)
                    .timeout(__tm::Duration::from_millis(2000))
                    .schemas(__tm::schemas!(Reading, _)),
            ])
        }
    }
};
