//! A route worker: takes messages from the route's queue and runs the handler with its timeout,
//! turning panics, errors and timeouts into reports (and error replies on reply routes).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use super::queue::BoundedQueue;
use super::report::{ErrorHook, ErrorKind, ErrorReport, report};
use crate::handler::{ErasedHandler, Reply};
use crate::inbound::Inbound;
use crate::message::Message;
use crate::publisher::Publisher;
use crate::route::{RouteMeta, RouteStats};

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
        let msg = Message {
            inbound: inbound.clone(),
            route: meta.clone(),
            publisher: self.publisher.clone(),
        };
        let call =
            std::panic::catch_unwind(AssertUnwindSafe(|| handler.call(msg, self.state.clone())));
        let outcome = match call {
            Err(panic) => Err((ErrorKind::Panic, panic_message(&*panic))),
            Ok(fut) => {
                let fut = AssertUnwindSafe(fut).catch_unwind();
                let result = match meta.timeout {
                    Some(limit) => tokio::time::timeout(limit, fut)
                        .await
                        .map_err(|_| (ErrorKind::Timeout, format!("no result within {limit:?}"))),
                    None => Ok(fut.await),
                };
                match result {
                    Err(e) => Err(e),
                    Ok(Err(panic)) => Err((ErrorKind::Panic, panic_message(&*panic))),
                    Ok(Ok(Err(extract))) => Err((ErrorKind::Decode, extract.to_string())),
                    Ok(Ok(Ok(Reply::Error(e)))) => Err((ErrorKind::Handler, e)),
                    Ok(Ok(Ok(Reply::Rejected(e)))) => Err((ErrorKind::Decode, e.to_string())),
                    Ok(Ok(Ok(reply))) => Ok(reply),
                }
            }
        };
        match outcome {
            Ok(reply) => {
                RouteStats::bump(&meta.stats.succeeded);
                if let Reply::Data(data) = reply {
                    self.reply(meta, &inbound, &meta.reply_event(), &data).await;
                }
            }
            Err((kind, message)) => {
                RouteStats::bump(&meta.stats.failed);
                self.report(meta, &inbound, kind, message.clone());
                if meta.reply.is_some() {
                    let data = serde_json::value::to_raw_value(&serde_json::json!({
                        "ok": false,
                        "err": message,
                    }))
                    .expect("a JSON object serializes");
                    self.reply(meta, &inbound, crate::ERROR_EVENT_TYPE, &data)
                        .await;
                }
            }
        }
    }

    async fn reply(
        &self,
        meta: &RouteMeta,
        inbound: &Inbound,
        event_type: &str,
        data: &serde_json::value::RawValue,
    ) {
        let Some(reply) = &meta.reply else {
            tracing::warn!(
                route = %meta.name,
                "the handler returned a reply but the route has no reply topic; nothing published"
            );
            return;
        };
        let id = inbound
            .header()
            .id
            .clone()
            .unwrap_or_else(crate::envelope::new_id);
        if let Err(e) = self
            .publisher
            .publish_envelope(&reply.topic, &id, event_type, data, meta.qos, false)
            .await
        {
            self.report(meta, inbound, ErrorKind::Reply, e.to_string());
        }
    }

    fn report(&self, meta: &RouteMeta, inbound: &Inbound, kind: ErrorKind, message: String) {
        report(
            self.hook.as_ref(),
            ErrorReport {
                kind,
                route: meta.name.clone(),
                topic: inbound.topic.clone(),
                qos: inbound.qos,
                message,
                excerpt: inbound.excerpt(),
            },
        );
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic payload".to_owned())
}
