//! A route worker: takes messages from the route's queue and runs the handler with its timeout,
//! turning panics, errors and timeouts into reports (and error replies on reply routes).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;

use super::queue::BoundedQueue;
use super::report::{ErrorHook, ErrorKind, ErrorReport, report};
use crate::handler::{ErasedHandler, Reply};
use crate::message::{Inbound, Message};
use crate::publisher::Publisher;
use crate::router::{RouteMeta, RouteStats};

pub(super) struct Worker<S> {
    pub(super) meta: Arc<RouteMeta>,
    pub(super) handler: Arc<dyn ErasedHandler<S>>,
    pub(super) queue: Arc<BoundedQueue<Arc<Inbound>>>,
    pub(super) state: Arc<S>,
    pub(super) publisher: Publisher,
    pub(super) hook: Option<ErrorHook>,
}

impl<S: Send + Sync + 'static> Worker<S> {
    pub(super) async fn run(self) {
        while let Some(inbound) = self.queue.pop().await {
            self.handle(inbound).await;
        }
    }

    async fn handle(&self, inbound: Arc<Inbound>) {
        let msg = Message {
            inbound: inbound.clone(),
            route: self.meta.clone(),
            publisher: self.publisher.clone(),
        };
        let call = std::panic::catch_unwind(AssertUnwindSafe(|| {
            self.handler.call(msg, self.state.clone())
        }));
        let outcome = match call {
            Err(panic) => Err((ErrorKind::Panic, panic_message(&*panic))),
            Ok(fut) => {
                let fut = AssertUnwindSafe(fut).catch_unwind();
                let result = match self.meta.timeout {
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
                RouteStats::bump(&self.meta.stats.succeeded);
                if let Reply::Data(data) = reply {
                    self.reply(&inbound, &self.meta.reply_event(), &data).await;
                }
            }
            Err((kind, message)) => {
                RouteStats::bump(&self.meta.stats.failed);
                self.report(&inbound, kind, message.clone());
                if self.meta.reply.is_some() {
                    let data = serde_json::value::to_raw_value(&serde_json::json!({
                        "ok": false,
                        "err": message,
                    }))
                    .expect("a JSON object serializes");
                    self.reply(&inbound, crate::ERROR_EVENT_TYPE, &data).await;
                }
            }
        }
    }

    async fn reply(&self, inbound: &Inbound, event_type: &str, data: &serde_json::value::RawValue) {
        let Some(reply) = &self.meta.reply else {
            tracing::warn!(
                route = %self.meta.name,
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
            .publish_envelope(&reply.topic, &id, event_type, data, self.meta.qos, false)
            .await
        {
            self.report(inbound, ErrorKind::Reply, e.to_string());
        }
    }

    fn report(&self, inbound: &Inbound, kind: ErrorKind, message: String) {
        report(
            self.hook.as_ref(),
            ErrorReport {
                kind,
                route: self.meta.name.clone(),
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
