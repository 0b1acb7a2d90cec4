//! A route worker: takes messages from the route's queue and runs the handler with its timeout,
//! turning panics, errors and timeouts into reports (and error replies on reply routes).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;
use tracing::Instrument;

use super::queue::BoundedQueue;
use super::report::{ErrorHook, ErrorKind, ErrorReport, SharedError, report};
use crate::handler::{ErasedHandler, Reply};
use crate::inbound::Inbound;
use crate::message::Context;
use crate::properties::in_trace;
use crate::publisher::Publisher;
use crate::route::RouteMeta;

pub(super) struct Worker<S> {
    /// Every route of the service, indexed like the jobs in the queue.
    pub(super) routes: super::RouteTable<S>,
    pub(super) queue: Arc<BoundedQueue<super::Job>>,
    pub(super) state: Arc<S>,
    pub(super) publisher: Publisher,
    pub(super) hook: Option<ErrorHook>,
}

impl<S: Send + Sync + 'static> Worker<S> {
    pub(super) async fn run(self) {
        while let Some((route, inbound)) = self.queue.pop().await {
            let (meta, handler) = &self.routes[route];
            self.handle(meta, handler, inbound).await;
        }
    }

    async fn handle(
        &self,
        meta: &Arc<RouteMeta>,
        handler: &Arc<dyn ErasedHandler<S>>,
        inbound: Arc<Inbound>,
    ) {
        // MQTT 5 trace context: the handler's span continues the message's trace, and what it
        // publishes (its reply included) carries the trace on.
        let trace = inbound.properties.as_ref().and_then(|p| p.traceparent());
        let span = match &trace {
            Some(t) => tracing::info_span!("handle", route = %meta.name,
                trace_id = %t.trace_id(), parent_id = %t.parent_id()),
            None => tracing::info_span!("handle", route = %meta.name),
        };
        let work = in_trace(trace, self.handle_traced(meta, handler, inbound));
        // Without a subscriber that wants the span, entering and leaving it at every poll is
        // work for nothing.
        if span.is_disabled() {
            work.await
        } else {
            work.instrument(span).await
        }
    }

    async fn handle_traced(
        &self,
        meta: &Arc<RouteMeta>,
        handler: &Arc<dyn ErasedHandler<S>>,
        inbound: Arc<Inbound>,
    ) {
        let ctx = Context {
            inbound: inbound.clone(),
            route: meta.clone(),
            publisher: self.publisher.clone(),
        };
        let started = std::time::Instant::now();
        let outcome = self.run_handler(meta, handler, ctx).await;
        let elapsed = started.elapsed();
        match outcome {
            Ok(reply) => {
                meta.stats.on_handled(elapsed, Ok(()));
                if let Reply::Data(data) = reply {
                    self.reply(meta, &inbound, meta.reply_event(), &data).await;
                }
            }
            Err(failure) => {
                let message = failure.message.clone();
                meta.stats
                    .on_handled(elapsed, Err((failure.kind, &message)));
                self.report(meta, &inbound, failure);
                if meta.reply.is_some() || inbound.response_topic().is_some() {
                    let data = serde_json::value::to_raw_value(&serde_json::json!({
                        "ok": false,
                        "err": message,
                    }))
                    .expect("a JSON object serializes");
                    self.reply(meta, &inbound, crate::envelope::ERROR_EVENT_TYPE, &data)
                        .await;
                }
            }
        }
    }

    /// Runs the handler under its timeout, with panics caught.
    async fn run_handler(
        &self,
        meta: &RouteMeta,
        handler: &Arc<dyn ErasedHandler<S>>,
        ctx: Context,
    ) -> Result<Reply, Failure> {
        let call =
            std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(ctx, self.state.clone())));
        let future = AssertUnwindSafe(call.map_err(Failure::panic)?).catch_unwind();
        let finished = match meta.timeout {
            Some(limit) => tokio::time::timeout(limit, future)
                .await
                .map_err(|_| Failure {
                    kind: ErrorKind::Timeout,
                    message: format!("no result within {limit:?}"),
                    source: None,
                })?,
            None => future.await,
        };
        match finished.map_err(Failure::panic)? {
            Ok(Reply::Error(error)) => Err(Failure::new(ErrorKind::Handler, error.into())),
            Err(error) => Err(Failure::new(ErrorKind::Decode, Arc::new(error))),
            Ok(reply) => Ok(reply),
        }
    }

    /// Publishes the reply. Boxed: publishing is the largest part of a handler run's state, which
    /// is moved at every message, also on routes that never reply.
    fn reply<'a>(
        &'a self,
        meta: &'a RouteMeta,
        inbound: &'a Inbound,
        event_type: &'a str,
        data: &'a serde_json::value::RawValue,
    ) -> BoxFuture<'a, ()> {
        Box::pin(self.publish_reply(meta, inbound, event_type, data))
    }

    async fn publish_reply(
        &self,
        meta: &RouteMeta,
        inbound: &Inbound,
        event_type: &str,
        data: &serde_json::value::RawValue,
    ) {
        // MQTT 5: a request's Response Topic comes first, with its Correlation Data echoed.
        let fallback = meta
            .reply
            .as_ref()
            .map(|reply| reply.topic_for(&meta.filter, &inbound.topic));
        let Some((topic, properties)) =
            inbound.reply_target(fallback, meta.reply_properties.clone())
        else {
            tracing::warn!(
                route = %meta.name,
                "the handler returned a reply but the route has no reply topic; nothing published"
            );
            return;
        };
        let id = inbound.reply_id();
        if let Err(e) = self
            .publisher
            .publish_envelope(&topic, &id, event_type, data, meta.qos, false, properties)
            .await
        {
            let failure = Failure::new(ErrorKind::Reply, Arc::new(e));
            meta.stats.on_failure(failure.kind, &failure.message);
            self.report(meta, inbound, failure);
        }
    }

    fn report(&self, meta: &RouteMeta, inbound: &Inbound, failure: Failure) {
        report(
            self.hook.as_ref(),
            ErrorReport {
                kind: failure.kind,
                route: meta.name.clone(),
                topic: inbound.topic.clone(),
                qos: inbound.qos,
                message: failure.message,
                source: failure.source,
                excerpt: inbound.excerpt(),
            },
        );
    }
}

/// Why a run did not succeed.
struct Failure {
    kind: ErrorKind,
    message: String,
    source: Option<SharedError>,
}

impl Failure {
    fn new(kind: ErrorKind, source: SharedError) -> Self {
        Self {
            kind,
            message: source.to_string(),
            source: Some(source),
        }
    }

    fn panic(payload: Box<dyn std::any::Any + Send>) -> Self {
        Self {
            kind: ErrorKind::Panic,
            message: panic_message(&*payload),
            source: None,
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}
