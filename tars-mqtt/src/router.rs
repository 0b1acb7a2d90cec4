//! `Router`: routes (filter + handler + options) and the fan-out rule: a message goes to every
//! route whose filter matches it, once per route.

use std::sync::Arc;
use std::time::Duration;

use crate::QoS;
use crate::error::Error;
use crate::handler::{Erased, ErasedHandler, Handler};
use crate::properties::Properties;
use crate::route::{Overflow, ReplyTo, RouteInfo, RouteMeta, SchemaFn};
use crate::stats::RouteStats;
use crate::topic::{FilterTrie, TopicFilter};

/// One subscription and its handler, with options.
///
/// ```
/// # use tars_mqtt::{Route, QoS, Overflow, Json};
/// # use std::time::Duration;
/// # #[derive(serde::Deserialize)] struct Query { text: String }
/// # #[derive(serde::Serialize)] struct Results { query: String }
/// async fn query(Json(q): Json<Query>) -> Json<Results> { Json(Results { query: q.text }) }
///
/// let route = Route::new("memory/query", query)
///     .qos(QoS::AtLeastOnce)
///     .reply("memory/results", "memory.results")
///     .concurrency(4)
///     .overflow(Overflow::Block)
///     .timeout(Duration::from_secs(5));
/// # let _: Route<()> = route;
/// ```
#[must_use]
pub struct Route<S> {
    filter: String,
    name: Option<String>,
    qos: QoS,
    reply: Option<ReplyTo>,
    queue_capacity: usize,
    concurrency: usize,
    overflow: Overflow,
    timeout: Option<Duration>,
    group: Option<String>,
    origin: Option<String>,
    reply_properties: Option<Properties>,
    payload_schema: Option<SchemaFn>,
    reply_schema: Option<SchemaFn>,
    handler: Arc<dyn ErasedHandler<S>>,
}

impl<S: Send + Sync + 'static> Route<S> {
    /// A route for `filter` (with optional `{name}` parameters and `$share/<group>/` prefix).
    pub fn new<H, T>(filter: impl Into<String>, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        Self {
            filter: filter.into(),
            name: None,
            qos: QoS::AtMostOnce,
            reply: None,
            queue_capacity: 1024,
            concurrency: 1,
            overflow: Overflow::Block,
            timeout: None,
            group: None,
            origin: None,
            reply_properties: None,
            payload_schema: None,
            reply_schema: None,
            handler: Arc::new(Erased::new(handler)),
        }
    }
}

impl<S> Route<S> {
    /// The route's name, or its filter when it has none.
    fn name_or_filter(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.filter)
    }
    /// Subscription QoS (default 0).
    pub fn qos(mut self, qos: QoS) -> Self {
        self.qos = qos;
        self
    }
    /// A name for logs and error reports (default: the filter).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }
    /// Publish the handler's return value to `topic` as an envelope of type `event_type`
    /// whose `id` is the request's `id`. A `{name}` level of `topic` is replaced by the
    /// `{name}` parameter of the request's topic (a name the filter lacks is an error at start).
    pub fn reply(mut self, topic: impl Into<String>, event_type: impl Into<String>) -> Self {
        self.reply = Some(ReplyTo {
            topic: topic.into(),
            event_type: event_type.into(),
        });
        self
    }
    /// The JSON Schema of the payload's `data`, for the service's AsyncAPI document
    /// (`#[subscribe]` records it for every type that derives `JsonSchema`).
    #[cfg(feature = "asyncapi")]
    pub fn payload_schema<T: schemars::JsonSchema>(mut self) -> Self {
        self.payload_schema = Some(crate::asyncapi::schema_of::<T>);
        self
    }
    /// The JSON Schema of the reply's `data`, for the service's AsyncAPI document.
    #[cfg(feature = "asyncapi")]
    pub fn reply_schema<T: schemars::JsonSchema>(mut self) -> Self {
        self.reply_schema = Some(crate::asyncapi::schema_of::<T>);
        self
    }
    /// The payload's and the reply's schemas as `#[subscribe]` found them.
    #[doc(hidden)]
    pub fn schemas(mut self, (payload, reply): (Option<SchemaFn>, Option<SchemaFn>)) -> Self {
        self.payload_schema = payload.or(self.payload_schema);
        self.reply_schema = reply.or(self.reply_schema);
        self
    }
    /// Where the route was declared (e.g. `src/main.rs:12:5`), for error messages.
    pub fn origin(mut self, origin: impl Into<String>) -> Self {
        self.origin = Some(origin.into());
        self
    }
    /// Replace the filter (for run-time topic overrides).
    pub fn filter(mut self, filter: impl Into<String>) -> Self {
        self.filter = filter.into();
        self
    }
    /// Queue capacity (default 1024, at least 1).
    pub fn queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }
    /// Handler runs in parallel (default 1: messages are handled in arrival order).
    pub fn concurrency(mut self, concurrency: usize) -> Self {
        self.concurrency = concurrency.max(1);
        self
    }
    /// Overflow policy (default [`Overflow::Block`]).
    pub fn overflow(mut self, overflow: Overflow) -> Self {
        self.overflow = overflow;
        self
    }
    /// Shares one queue with every route of the same group: their messages are handled in
    /// arrival order across the group (e.g. a store route and the query route that must see
    /// what was stored before it). The group's queue capacity and concurrency are those of its
    /// first route.
    pub fn group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }
    /// Handler timeout (default none).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }
    /// MQTT 5 properties sent with every reply of the route, e.g. a message expiry or a
    /// content type (not sent on 3.1.1). A request's Correlation Data is echoed in any case.
    ///
    /// ```
    /// # use tars_mqtt::{Route, Json, properties::Properties};
    /// # use std::time::Duration;
    /// # async fn query(Json(q): Json<serde_json::Value>) -> Json<serde_json::Value> { Json(q) }
    /// let route: Route<()> = Route::new("memory/query", query)
    ///     .reply("memory/results", "memory.results")
    ///     .reply_properties(Properties::default().with_message_expiry(Duration::from_secs(60)));
    /// ```
    pub fn reply_properties(mut self, properties: Properties) -> Self {
        self.reply_properties = Some(properties);
        self
    }
}

/// The routes of a service with state `S`.
///
/// ```
/// # use tars_mqtt::{Router, QoS, Json, extract::Topic};
/// async fn log(Topic(t): Topic) { println!("{t}") }
/// async fn temp(Json(v): Json<serde_json::Value>) {}
/// let router: Router<()> = Router::new()
///     .subscribe("events/#", QoS::AtMostOnce, log)
///     .subscribe("sensors/{room}/temp", QoS::AtLeastOnce, temp);
/// ```
#[must_use]
pub struct Router<S> {
    routes: Vec<Route<S>>,
    reply_topics: Vec<(String, QoS)>,
}

impl<S> Default for Router<S> {
    fn default() -> Self {
        Self {
            routes: Vec::new(),
            reply_topics: Vec::new(),
        }
    }
}

impl<S: Send + Sync + 'static> Router<S> {
    /// An empty router.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a route with default options.
    pub fn subscribe<H, T>(self, filter: impl Into<String>, qos: QoS, handler: H) -> Self
    where
        H: Handler<T, S>,
        T: 'static,
    {
        self.route(Route::new(filter, handler).qos(qos))
    }

    /// Adds a route.
    pub fn route(mut self, route: Route<S>) -> Self {
        self.routes.push(route);
        self
    }

    /// Subscribes to a reply topic before the service reports ready, so the first
    /// [`request`](crate::Publisher::request) awaiting replies there needs no extra round trip.
    ///
    /// The subscription's QoS is 1: on a broker that follows the standard, a reply arrives with
    /// the QoS its responder sent it with, at most 1.
    pub fn expect_replies_on(self, filter: impl Into<String>) -> Self {
        self.expect_replies_on_qos(filter, QoS::AtLeastOnce)
    }

    /// [`expect_replies_on`](Self::expect_replies_on) with the subscription's QoS, the most a
    /// reply is delivered with. `QoS::AtMostOnce` suits requests that are sent again on a
    /// timeout: no reply is then acknowledged, also from a broker that delivers every message
    /// with the subscription's QoS (rumqttd does) rather than the lower of the two.
    ///
    /// ```
    /// use tars_mqtt::{QoS, Router};
    /// let router: Router<()> = Router::new().expect_replies_on_qos("memory/results", QoS::AtMostOnce);
    /// ```
    pub fn expect_replies_on_qos(mut self, filter: impl Into<String>, qos: QoS) -> Self {
        self.reply_topics.push((filter.into(), qos));
        self
    }

    /// Changes every route with this name (e.g. to override its filter from the environment).
    pub fn map_route(mut self, name: &str, f: impl Fn(Route<S>) -> Route<S>) -> Self {
        self.routes = self
            .routes
            .into_iter()
            .map(|r| if r.name_or_filter() == name { f(r) } else { r })
            .collect();
        self
    }

    /// The routes in the order they were added.
    ///
    /// ```
    /// # use tars_mqtt::{Router, QoS, extract::Topic};
    /// async fn log(Topic(t): Topic) { println!("{t}") }
    /// let router: Router<()> = Router::new().subscribe("events/#", QoS::AtLeastOnce, log);
    /// let route = router.routes().next().unwrap();
    /// assert_eq!((route.name, route.filter, route.qos), ("events/#", "events/#", QoS::AtLeastOnce));
    /// ```
    pub fn routes(&self) -> impl Iterator<Item = RouteInfo<'_>> {
        self.routes.iter().map(|r| RouteInfo {
            name: r.name_or_filter(),
            filter: &r.filter,
            qos: r.qos,
            reply: r.reply.as_ref(),
            group: r.group.as_deref(),
            concurrency: r.concurrency,
            queue_capacity: r.queue_capacity,
            overflow: r.overflow,
            timeout: r.timeout,
            origin: r.origin.as_deref(),
            payload_schema: r.payload_schema,
            reply_schema: r.reply_schema,
        })
    }

    /// Validates every filter and reply topic and builds the lookup structure.
    pub(crate) fn compile(self) -> Result<CompiledRouter<S>, Error> {
        let mut trie = FilterTrie::default();
        let mut routes = Vec::with_capacity(self.routes.len());
        for (index, route) in self.routes.into_iter().enumerate() {
            let name = route.name_or_filter().to_owned();
            let origin = route
                .origin
                .as_ref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default();
            let filter = TopicFilter::parse(&route.filter).map_err(|source| Error::Route {
                route: name.clone(),
                origin: origin.clone(),
                filter: route.filter.clone(),
                source,
            })?;
            if let Some(reply) = &route.reply
                && let Err(source) = crate::topic::validate_topic_name(&reply.topic)
            {
                return Err(Error::ReplyTopic {
                    route: name,
                    origin,
                    topic: reply.topic.clone(),
                    source,
                });
            }
            if let Some(reply) = &route.reply
                && let Some(param) = reply
                    .params()
                    .find(|p| !filter.param_names().any(|n| n == *p))
            {
                return Err(Error::ReplyParam {
                    route: name,
                    origin,
                    topic: reply.topic.clone(),
                    param: param.to_owned(),
                });
            }
            trie.insert(&filter, index);
            routes.push((
                Arc::new(RouteMeta {
                    stats: RouteStats::new(&name),
                    name,
                    filter,
                    qos: route.qos,
                    reply: route.reply,
                    queue_capacity: route.queue_capacity,
                    concurrency: route.concurrency,
                    overflow: route.overflow,
                    timeout: route.timeout,
                    group: route.group,
                    reply_properties: route.reply_properties,
                }),
                route.handler,
            ));
        }
        let reply_topics = self
            .reply_topics
            .iter()
            .map(|(f, qos)| {
                let filter = TopicFilter::parse(f).map_err(|source| Error::Route {
                    route: "expect_replies_on".to_owned(),
                    origin: String::new(),
                    filter: f.clone(),
                    source,
                })?;
                Ok::<_, Error>((filter, *qos))
            })
            .collect::<Result<_, _>>()?;
        Ok(CompiledRouter {
            trie,
            routes,
            reply_topics,
        })
    }
}

pub(crate) struct CompiledRouter<S> {
    pub(crate) trie: FilterTrie<usize>,
    pub(crate) routes: Vec<(Arc<RouteMeta>, Arc<dyn ErasedHandler<S>>)>,
    /// Reply topics to subscribe to at start, with the subscription's QoS.
    pub(crate) reply_topics: Vec<(TopicFilter, QoS)>,
}

impl RouteMeta {
    /// The envelope type of a reply: the route's, or `reply` for a route without a reply topic
    /// (answering an MQTT 5 request on its Response Topic).
    pub(crate) fn reply_event(&self) -> &str {
        self.reply
            .as_ref()
            .map_or("reply", |r| r.event_type.as_str())
    }
}
