//! `Runtime`: wires configuration, router, connection, controller, dispatch, dedup and presence
//! together; `ServiceHandle`: readiness, the publisher, graceful shutdown.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::future::BoxFuture;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::QoS;
use crate::ack::Acks;
use crate::config::MqttConfig;
use crate::connection::{self, Driver, SubscribeOptions};
use crate::controller::{Controller, ReadyHook, RefusalHook};
use crate::dedup::Dedup;
use crate::discovery::Responder;
use crate::dispatch::Dispatcher;
pub use crate::dispatch::{ErrorHook, ErrorKind, ErrorReport, SharedError};
use crate::error::Error;
use crate::inbound::Inbound;
use crate::presence;
use crate::publisher::Publisher;
use crate::route::RouteMeta;
use crate::router::{CompiledRouter, Router};
use crate::state::{ConnectionState, Readiness};
use crate::topic::subscription_plan;

/// Runs one service: a router with its state, under a configuration.
///
/// ```no_run
/// use tars_mqtt::{Json, MqttConfig, QoS, Route, Router, Runtime};
///
/// #[derive(serde::Deserialize)] struct Ping { n: u32 }
/// #[derive(serde::Serialize)] struct Pong { n: u32 }
///
/// async fn ping(Json(p): Json<Ping>) -> Json<Pong> { Json(Pong { n: p.n + 1 }) }
///
/// # async fn main_() -> Result<(), tars_mqtt::Error> {
/// let router = Router::new().route(Route::new("demo/ping", ping).qos(QoS::AtLeastOnce).reply("demo/pong", "demo.pong"));
/// Runtime::new(MqttConfig::from_env()?, router, ()).run().await // until SIGTERM or Ctrl-C
/// # }
/// ```
#[must_use]
pub struct Runtime<S> {
    config: MqttConfig,
    router: Router<S>,
    state: Arc<S>,
    hook: Option<ErrorHook>,
    on_ready: Option<OnReady>,
    /// Name and version, as discovery reports them.
    identity: Option<(String, String)>,
}

/// The `on_ready` hook as given, before it is bound to the publisher.
type OnReady = Arc<dyn Fn(Publisher) -> BoxFuture<'static, ()> + Send + Sync>;

impl<S: Send + Sync + 'static> Runtime<S> {
    /// A runtime for `router` with shared `state`.
    pub fn new(config: MqttConfig, router: Router<S>, state: S) -> Self {
        Self {
            config,
            router,
            state: Arc::new(state),
            hook: None,
            on_ready: None,
            identity: None,
        }
    }

    /// The service's name and version, as discovery reports them (the default name is the
    /// envelope source, the default version empty). [`Runtime::service`] takes them from the
    /// [`Service`](crate::Service).
    pub fn describe(mut self, name: impl Into<String>, version: impl Into<String>) -> Self {
        self.identity = Some((name.into(), version.into()));
        self
    }

    /// Runs `hook` after every (re)connection, once the subscriptions are confirmed and `ready`
    /// is published: the place to (re)publish retained state. It runs off the connection task;
    /// a failure is logged and does not affect the service.
    ///
    /// ```no_run
    /// # use tars_mqtt::{MqttConfig, Router, Runtime};
    /// # struct Worker { name: String }
    /// # async fn f(config: MqttConfig, router: Router<Worker>) -> Result<(), tars_mqtt::Error> {
    /// Runtime::new(config, router, Worker { name: "TARS".into() })
    ///     .on_ready(|worker, publisher| async move {
    ///         let snapshot = serde_json::json!({ "name": worker.name });
    ///         publisher.event("system/character/current", "system.character.current", &snapshot).retain(true).await?;
    ///         Ok::<_, tars_mqtt::PublishError>(())
    ///     })
    ///     .run()
    ///     .await
    /// # }
    /// ```
    pub fn on_ready<F, Fut, E>(mut self, hook: F) -> Self
    where
        F: Fn(Arc<S>, Publisher) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let state = self.state.clone();
        self.on_ready = Some(Arc::new(move |publisher| {
            let run = hook(state.clone(), publisher);
            Box::pin(async move {
                if let Err(e) = run.await {
                    tracing::error!(error = %e, "the on-ready hook failed");
                }
            })
        }));
        self
    }

    /// Called for every message that fails (decode, handler error, panic, timeout) or is dropped.
    pub fn on_error(mut self, hook: impl Fn(&ErrorReport) + Send + Sync + 'static) -> Self {
        self.hook = Some(Arc::new(hook));
        self
    }

    /// Starts the service in the background and returns at once; see [`ServiceHandle`].
    pub fn start(self) -> Result<ServiceHandle, Error> {
        let config = Arc::new(self.config);
        // What discovery answers with, from the routes as declared (before they are compiled).
        let described = config.discovery.then(|| {
            let identity = self
                .identity
                .unwrap_or_else(|| (config.source.clone(), String::new()));
            let routes = crate::discovery::describe_routes(&self.router);
            let asyncapi = crate::asyncapi::document(
                &identity.0,
                &identity.1,
                self.router.routes(),
                Some(&config),
            );
            (identity, routes, asyncapi)
        });
        let router = self.router.compile()?;
        let (client, eventloop) = connection::build(&config)?;
        let (ready_tx, ready_rx) =
            watch::channel(Readiness::starting(config.brokers[0].to_string()));
        let (reply_tx, reply_rx) = mpsc::unbounded_channel();
        let publisher = Publisher::new(
            client.clone(),
            config.max_packet_size,
            config.source.clone(),
            config.request_timeout,
            reply_tx,
            ready_rx.clone(),
        );
        for (filter, _) in &router.reply_topics {
            publisher.mark_reply_topic(filter.as_str());
        }
        let mut wanted = planned_subscriptions(&router);
        let on_refusal = refusal_hook(self.hook.clone());
        let mut workers = JoinSet::new();
        let dispatcher = Dispatcher::start(
            router,
            self.state,
            publisher.clone(),
            self.hook,
            &mut workers,
        );
        let discovery = described.map(|(identity, routes, asyncapi)| {
            let responder = Responder::new(
                &config,
                identity,
                routes,
                asyncapi,
                dispatcher.clone(),
                publisher.clone(),
                ready_rx.clone(),
            );
            wanted.extend(
                responder
                    .filters()
                    .into_iter()
                    .map(|f| (f, QoS::AtMostOnce)),
            );
            Arc::new(responder)
        });
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let controller = Controller {
            on_ready: ready_hook(self.on_ready, &publisher),
            config: config.clone(),
            client: client.clone(),
            readiness: ready_tx.clone(),
            wanted,
            events: event_rx,
            reply_requests: reply_rx,
            subscribe_options: SubscribeOptions {
                no_local: config.no_local,
            },
            on_refusal,
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let (acks, acks_rx) = Acks::channel();
        let driver = Driver {
            config: config.clone(),
            client,
            events: event_tx,
            state: ready_tx.clone(),
            stop: stop_rx,
            acks: acks.clone(),
            on_publish: intake(&config, publisher.clone(), dispatcher.clone(), discovery),
        };
        let routes = dispatcher.routes().cloned().collect();
        let shutdown = Shutdown {
            config,
            dispatcher,
            workers,
            controller: tokio::spawn(controller.run()),
            driver: tokio::spawn(driver.run(eventloop, acks_rx)),
            stop: stop_tx,
            acks,
            readiness: ready_tx,
            publisher: publisher.clone(),
        };
        Ok(ServiceHandle::spawn(shutdown, publisher, ready_rx, routes))
    }

    /// Starts the service and runs it until SIGTERM or Ctrl-C, then shuts down gracefully.
    pub async fn run(self) -> Result<(), Error> {
        let handle = self.start()?;
        let signal = shutdown_signal()?;
        let trigger = handle.shutdown_handle();
        tokio::select! {
            _ = signal => tracing::info!("shutdown signal received"),
            _ = trigger.requested() => {}
        }
        handle.shutdown().await;
        Ok(())
    }
}

/// Every route's filter and every reply topic, as the subscriptions to make.
fn planned_subscriptions<S>(router: &CompiledRouter<S>) -> Vec<(String, QoS)> {
    subscription_plan(
        router
            .routes
            .iter()
            .map(|(meta, _)| (&meta.filter, meta.qos))
            .chain(router.reply_topics.iter().map(|(f, qos)| (f, *qos))),
    )
}

/// Reports a refusal by the broker (SUBACK, or an MQTT 5 PUBACK/PUBCOMP) like a failed message:
/// to `tracing` and the error hook.
fn refusal_hook(hook: Option<ErrorHook>) -> RefusalHook {
    Arc::new(move |filter: &str, message: String| {
        crate::dispatch::report(
            hook.as_ref(),
            ErrorReport {
                kind: ErrorKind::Refused,
                route: String::new(),
                topic: filter.to_owned(),
                qos: QoS::AtLeastOnce,
                message,
                source: None,
                excerpt: String::new(),
            },
        )
    })
}

/// The `on_ready` hook bound to the service's publisher.
fn ready_hook(hook: Option<OnReady>, publisher: &Publisher) -> Option<ReadyHook> {
    hook.map(|hook| {
        let publisher = publisher.clone();
        Arc::new(move || hook(publisher.clone())) as ReadyHook
    })
}

/// What the connection task does with each received message: dedup, replies, dispatch.
fn intake(
    config: &MqttConfig,
    publisher: Publisher,
    dispatcher: Arc<Dispatcher>,
    discovery: Option<Arc<Responder>>,
) -> Arc<dyn Fn(Arc<Inbound>) -> Option<BoxFuture<'static, ()>> + Send + Sync> {
    let dedup = config
        .dedupe_ttl
        .map(|ttl| Arc::new(Mutex::new(Dedup::new(ttl, config.dedupe_max_entries))));
    let limit = config.max_packet_size;
    Arc::new(move |inbound: Arc<Inbound>| {
        if inbound.payload.len() > limit {
            dispatcher.too_large(&inbound, limit);
            return None;
        }
        let duplicate = dedup.as_ref().is_some_and(|d| {
            d.lock()
                .unwrap_or_else(|e| e.into_inner())
                .is_duplicate(&inbound.payload, Instant::now())
        });
        if duplicate {
            tracing::debug!(topic = %inbound.topic, "duplicate envelope dropped");
            return None;
        }
        publisher.resolve_reply(&inbound);
        if let Some(discovery) = &discovery
            && let Some(verb) = discovery.request(&inbound.topic)
        {
            discovery.answer(verb, &inbound);
        }
        dispatcher.dispatch_now(inbound)
    })
}

/// Waits for the first SIGTERM or Ctrl-C.
fn shutdown_signal() -> Result<impl std::future::Future<Output = ()>, Error> {
    #[cfg(unix)]
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Starts a graceful shutdown of a running service. Cheap to clone.
#[derive(Clone, Debug)]
pub struct ShutdownHandle {
    tx: Arc<watch::Sender<bool>>,
}

impl ShutdownHandle {
    /// Requests a graceful shutdown (returns at once).
    pub fn shutdown(&self) {
        self.tx.send_replace(true);
    }

    async fn requested(&self) {
        let _ = self.tx.subscribe().wait_for(|v| *v).await;
    }
}

/// A running service.
#[derive(Debug)]
pub struct ServiceHandle {
    publisher: Publisher,
    readiness: watch::Receiver<Readiness>,
    trigger: ShutdownHandle,
    done: watch::Receiver<bool>,
    routes: Vec<Arc<RouteMeta>>,
}

impl ServiceHandle {
    /// Spawns the task that shuts `shutdown` down when asked, and returns the handle to ask it.
    fn spawn(
        shutdown: Shutdown,
        publisher: Publisher,
        readiness: watch::Receiver<Readiness>,
        routes: Vec<Arc<RouteMeta>>,
    ) -> Self {
        let (trigger_tx, trigger_rx) = watch::channel(false);
        let (done_tx, done_rx) = watch::channel(false);
        tokio::spawn(shutdown.run(trigger_rx, done_tx));
        Self {
            publisher,
            readiness,
            trigger: ShutdownHandle {
                tx: Arc::new(trigger_tx),
            },
            done: done_rx,
            routes,
        }
    }

    /// The service's publisher.
    pub fn publisher(&self) -> Publisher {
        self.publisher.clone()
    }

    /// A watch of the connection state and readiness.
    pub fn readiness(&self) -> watch::Receiver<Readiness> {
        self.readiness.clone()
    }

    /// Waits until the service is connected and its subscriptions are confirmed.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<(), Error> {
        let mut rx = self.readiness.clone();
        tokio::time::timeout(timeout, rx.wait_for(|r| r.ready))
            .await
            .map_err(|_| Error::NotReady(timeout))?
            .map_err(|_| Error::NotReady(timeout))?;
        Ok(())
    }

    /// A handle that can start the shutdown from elsewhere.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        self.trigger.clone()
    }

    /// A route's counters, by route name.
    pub fn route(&self, name: &str) -> Option<&RouteMeta> {
        self.routes.iter().find(|r| r.name == name).map(|r| &**r)
    }

    /// Shuts down gracefully and waits until it is done.
    pub async fn shutdown(self) {
        self.trigger.shutdown();
        self.stopped().await;
    }

    /// Waits until the service has stopped (after a shutdown was requested).
    pub async fn stopped(mut self) {
        let _ = self.done.wait_for(|d| *d).await;
    }
}

struct Shutdown {
    config: Arc<MqttConfig>,
    dispatcher: Arc<Dispatcher>,
    workers: JoinSet<()>,
    controller: tokio::task::JoinHandle<()>,
    driver: tokio::task::JoinHandle<()>,
    stop: watch::Sender<bool>,
    acks: Acks,
    readiness: watch::Sender<Readiness>,
    publisher: Publisher,
}

impl Shutdown {
    async fn run(mut self, mut trigger: watch::Receiver<bool>, done: watch::Sender<bool>) {
        let _ = trigger.wait_for(|v| *v).await;
        self.dispatcher.close();
        tracing::info!("shutting down: intake stopped, draining handlers");
        self.readiness.send_modify(|r| {
            r.ready = false;
            r.connection = ConnectionState::Stopping;
        });
        let drained = tokio::time::timeout(self.config.drain_timeout, async {
            while self.workers.join_next().await.is_some() {}
        })
        .await;
        if drained.is_err() {
            tracing::warn!(
                queued = self.dispatcher.queued(),
                timeout = ?self.config.drain_timeout,
                "handlers still running after the drain timeout; cancelling them"
            );
            self.acks.close();
            self.workers.abort_all();
        }
        // What was handled is acknowledged before `shutdown` and the DISCONNECT, so the broker
        // does not deliver it again to the next instance.
        self.acks.flush(self.config.publish_timeout).await;
        let client = self.publisher.client().clone();
        if self.config.health {
            let payload =
                presence::health_payload(&self.config.source, false, Some("shutdown"), None);
            let topic = presence::health_topic(&self.config.client_id);
            let _ = client
                .publish(&topic, QoS::AtLeastOnce, true, payload.into())
                .await;
        }
        self.stop.send_replace(true);
        self.controller.abort();
        client.disconnect().await;
        if tokio::time::timeout(Duration::from_secs(5), &mut self.driver)
            .await
            .is_err()
        {
            self.driver.abort();
        }
        self.readiness.send_modify(|r| {
            r.ready = false;
            r.connection = ConnectionState::Stopped;
        });
        tracing::info!("service stopped");
        done.send_replace(true);
    }
}
