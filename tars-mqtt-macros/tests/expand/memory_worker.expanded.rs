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
    #[allow(non_upper_case_globals)]
    const __TARS_MQTT_SUBSCRIPTION_query: ::tars_mqtt::__private::SubscriptionInfo = ::tars_mqtt::__private::SubscriptionInfo {
        filter: "memory/query",
        qos: ::tars_mqtt::__private::QoS::AtLeastOnce,
        handler: "query",
        env: ::core::option::Option::None,
        location: (::core::file!(), ::core::line!(), ::core::column!()),
    };
    #[allow(non_upper_case_globals)]
    const __TARS_MQTT_SUBSCRIPTION_temp: ::tars_mqtt::__private::SubscriptionInfo = ::tars_mqtt::__private::SubscriptionInfo {
        filter: "sensors/{room}/temp",
        qos: ::tars_mqtt::__private::QoS::AtMostOnce,
        handler: "temp",
        env: ::core::option::Option::None,
        location: (::core::file!(), ::core::line!(), ::core::column!()),
    };
    impl ::tars_mqtt::__private::Service for MemoryWorker {
        fn info() -> &'static ::tars_mqtt::__private::ServiceInfo {
            static INFO: ::tars_mqtt::__private::ServiceInfo = ::tars_mqtt::__private::ServiceInfo {
                name: "MemoryWorker",
                defaults: ::tars_mqtt::__private::ServiceDefaults {
                    client_id: ::core::option::Option::Some("tars-memory"),
                    source: ::core::option::Option::Some("memory-worker"),
                    health: ::core::option::Option::Some(true),
                    heartbeat: ::core::option::Option::Some(5f64),
                    dedupe_ttl: ::core::option::Option::None,
                    dedupe_max_entries: ::core::option::Option::None,
                },
                subscriptions: &[
                    __TARS_MQTT_SUBSCRIPTION_query,
                    __TARS_MQTT_SUBSCRIPTION_temp,
                ],
            };
            &INFO
        }
        fn router() -> ::tars_mqtt::__private::Router<Self> {
            let router = ::tars_mqtt::__private::Router::new();
            let router = router
                .route(
                    ::tars_mqtt::__private::route(
                            &__TARS_MQTT_SUBSCRIPTION_query,
                            move |
                                __tars_mqtt_msg: ::tars_mqtt::__private::Context,
                                __tars_mqtt_state: ::tars_mqtt::__private::State<Self>|
                            ::tars_mqtt::__private::boxed_send(async move {
                                let (__tars_mqtt_arg0,) = match (|| ::core::result::Result::Ok::<
                                    _,
                                    ::tars_mqtt::__private::ExtractError,
                                >((
                                    ::tars_mqtt::__private::payload::<
                                        MemoryQuery,
                                    >(&__tars_mqtt_msg)?,
                                )))() {
                                    ::core::result::Result::Ok(args) => args,
                                    ::core::result::Result::Err(e) => {
                                        return ::tars_mqtt::__private::Reply::Rejected(e);
                                    }
                                };
                                ::tars_mqtt::__private::reply_result::<
                                    MemoryResults,
                                    MemoryError,
                                >(Self::query(&*__tars_mqtt_state, __tars_mqtt_arg0).await)
                            }),
                        )
                        .reply("memory/results", "memory.results"),
                );
            let router = router
                .route(
                    ::tars_mqtt::__private::route(
                            &__TARS_MQTT_SUBSCRIPTION_temp,
                            move |
                                __tars_mqtt_msg: ::tars_mqtt::__private::Context,
                                __tars_mqtt_state: ::tars_mqtt::__private::State<Self>|
                            ::tars_mqtt::__private::boxed_send(async move {
                                let (
                                    __tars_mqtt_arg0,
                                    __tars_mqtt_arg1,
                                    __tars_mqtt_arg2,
                                ) = match (|| ::core::result::Result::Ok::<
                                    _,
                                    ::tars_mqtt::__private::ExtractError,
                                >((
                                    ::tars_mqtt::__private::param::<
                                        String,
                                        0usize,
                                    >(&__tars_mqtt_msg)?,
                                    ::tars_mqtt::__private::payload_via::<
                                        Self,
                                        Envelope<Reading>,
                                    >(&__tars_mqtt_msg, &__tars_mqtt_state.0)?,
                                    ::tars_mqtt::__private::extract::<
                                        Self,
                                        Context,
                                    >(&__tars_mqtt_msg, &__tars_mqtt_state.0)?,
                                )))() {
                                    ::core::result::Result::Ok(args) => args,
                                    ::core::result::Result::Err(e) => {
                                        return ::tars_mqtt::__private::Reply::Rejected(e);
                                    }
                                };
                                ::tars_mqtt::__private::no_reply(
                                    Self::temp(
                                            &*__tars_mqtt_state,
                                            __tars_mqtt_arg0,
                                            __tars_mqtt_arg1,
                                            &__tars_mqtt_arg2,
                                        )
                                        .await,
                                )
                            }),
                        )
                        .concurrency(4usize)
                        .timeout(::tars_mqtt::__private::Duration::from_millis(2000u64)),
                );
            router
        }
    }
};
