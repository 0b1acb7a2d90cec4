//! The AsyncAPI 3.0 document of a service, built from its routes: a channel per filter and per
//! reply topic (with their `{name}` parameters), a `receive` operation per route with its
//! reply, and messages in the envelope with the payload's JSON Schema.
//!
//! The payload and reply schemas come from [`schemars`](https://docs.rs/schemars) (feature
//! `asyncapi`): `#[subscribe]` records them for every type that derives `JsonSchema`, and a
//! hand-written route gives them with `Route::payload_schema` and `Route::reply_schema` (both
//! with the feature). Without them, `data` is described as any JSON object.
//!
//! A service's document is [`Service::asyncapi`](crate::Service::asyncapi), and a running
//! service answers the discovery request `system/services/asyncapi/{name or client id}` with it.

use serde_json::{Map, Value, json};

use crate::config::{MqttConfig, Protocol};
use crate::route::RouteInfo;
use crate::topic::TopicFilter;

pub use crate::route::SchemaFn;

/// The AsyncAPI version of the documents.
pub const ASYNCAPI_VERSION: &str = "3.0.0";

/// The AsyncAPI 3.0 document of a service named `name` at `version` with `routes`, and its
/// broker when `config` is given.
///
/// ```
/// use tars_mqtt::{Json, Route, Router, asyncapi};
///
/// let router: Router<()> = Router::new().route(
///     Route::new("home/{room}/cmd", |Json(v): Json<serde_json::Value>| async move { Json(v) })
///         .name("command")
///         .reply("home/{room}/ack", "home.ack"),
/// );
/// let doc = asyncapi::document("Home", "1.0.0", router.routes(), None);
/// assert_eq!(doc["asyncapi"], "3.0.0");
/// assert_eq!(doc["channels"]["command"]["address"], "home/{room}/cmd");
/// assert_eq!(doc["operations"]["command"]["action"], "receive");
/// assert_eq!(doc["operations"]["command"]["reply"]["channel"]["$ref"], "#/channels/command_reply");
/// ```
pub fn document<'a>(
    name: &str,
    version: &str,
    routes: impl IntoIterator<Item = RouteInfo<'a>>,
    config: Option<&MqttConfig>,
) -> Value {
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    for route in routes {
        let id = identifier(route.name);
        let filter = TopicFilter::parse(route.filter).ok();
        let address = filter
            .as_ref()
            .map_or(route.filter, TopicFilter::body)
            .to_owned();
        let request = format!("{id}_request");
        messages.insert(
            request.clone(),
            message(
                &format!("What `{}` handles", route.name),
                None,
                route.payload_schema,
            ),
        );
        let mut channel = json!({
            "address": address,
            "messages": { &request: { "$ref": format!("#/components/messages/{request}") } },
        });
        let mut description = format!("The filter `{}`", route.filter);
        if let Some(group) = filter.as_ref().and_then(|f| f.share_group()) {
            description.push_str(&format!(
                ", shared by the instances of the group `{group}` (each message goes to one of them)"
            ));
        }
        channel["description"] = json!(description + ".");
        if let Some(parameters) = parameters(&address) {
            channel["parameters"] = parameters;
        }
        channels.insert(id.clone(), channel);
        let mut operation = json!({
            "action": "receive",
            "channel": { "$ref": format!("#/channels/{id}") },
            "messages": [ { "$ref": format!("#/channels/{id}/messages/{request}") } ],
            "summary": format!("`{}`: {} worker(s), a queue of {} ({:?} when full)",
                route.name, route.concurrency, route.queue_capacity, route.overflow),
            "bindings": { "mqtt": { "qos": route.qos as u8, "bindingVersion": "0.2.0" } },
        });
        if let Some(reply) = route.reply {
            let reply_id = format!("{id}_reply");
            let answer = format!("{id}_answer");
            messages.insert(
                answer.clone(),
                message(
                    &format!("The reply of `{}`", route.name),
                    Some(&reply.event_type),
                    route.reply_schema,
                ),
            );
            messages.entry("error").or_insert_with(error_message);
            let mut channel = json!({
                "address": reply.topic,
                "description": format!("Replies of `{}`, with the request's envelope id.", route.name),
                "messages": {
                    &answer: { "$ref": format!("#/components/messages/{answer}") },
                    "error": { "$ref": "#/components/messages/error" },
                },
            });
            if let Some(parameters) = parameters(&reply.topic) {
                channel["parameters"] = parameters;
            }
            channels.insert(reply_id.clone(), channel);
            operation["reply"] = json!({
                "channel": { "$ref": format!("#/channels/{reply_id}") },
                "messages": [
                    { "$ref": format!("#/channels/{reply_id}/messages/{answer}") },
                    { "$ref": format!("#/channels/{reply_id}/messages/error") },
                ],
            });
        }
        operations.insert(id, operation);
    }
    let mut doc = json!({
        "asyncapi": ASYNCAPI_VERSION,
        "info": {
            "title": name,
            "version": if version.is_empty() { "0.0.0" } else { version },
            "description": "A tars-mqtt service. Every message is a JSON envelope \
                (`{\"id\",\"type\",\"ts\",\"source\",\"data\"}`); a bare JSON object is also \
                accepted as the data. A reply carries the request's envelope id.",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": { "messages": messages },
    });
    if let Some(config) = config {
        doc["servers"] = servers(config);
    }
    doc
}

/// One server per broker endpoint of the configuration.
fn servers(config: &MqttConfig) -> Value {
    let version = match config.protocol {
        Protocol::V5 => "5",
        _ => "3.1.1",
    };
    let servers: Map<String, Value> = config
        .brokers
        .iter()
        .enumerate()
        .map(|(i, broker)| {
            let key = if i == 0 {
                "broker".to_owned()
            } else {
                format!("broker{}", i + 1)
            };
            let protocol = if broker.tls { "secure-mqtt" } else { "mqtt" };
            (
                key,
                json!({
                    "host": format!("{}:{}", broker.host, broker.port),
                    "protocol": protocol,
                    "protocolVersion": version,
                    "bindings": { "mqtt": {
                        "clientId": config.client_id,
                        "cleanSession": !config.persistent_session,
                        "keepAlive": config.keepalive.as_secs(),
                        "bindingVersion": "0.2.0",
                    } },
                }),
            )
        })
        .collect();
    Value::Object(servers)
}

/// The message of an envelope whose `data` is described by `schema` (any object without one).
fn message(title: &str, event_type: Option<&str>, schema: Option<SchemaFn>) -> Value {
    let data = schema.map_or_else(|| json!({ "type": "object" }), |f| f());
    let event = match event_type {
        Some(t) => json!({ "type": "string", "const": t }),
        None => json!({ "type": "string" }),
    };
    json!({
        "title": title,
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": ["type", "data"],
            "properties": {
                "id": { "type": "string", "description": "Correlation id; a reply carries the request's." },
                "type": event,
                "ts": { "type": "number", "description": "Seconds since the Unix epoch." },
                "source": { "type": "string" },
                "data": data,
            },
        },
    })
}

/// The `error` envelope a failed request is answered with.
fn error_message() -> Value {
    json!({
        "title": "An error reply",
        "contentType": "application/json",
        "payload": {
            "type": "object",
            "required": ["type", "data"],
            "properties": {
                "id": { "type": "string" },
                "type": { "type": "string", "const": "error" },
                "ts": { "type": "number" },
                "source": { "type": "string" },
                "data": {
                    "type": "object",
                    "required": ["ok", "err"],
                    "properties": { "ok": { "const": false }, "err": { "type": "string" } },
                },
            },
        },
    })
}

/// The `parameters` of an address with `{name}` levels.
fn parameters(address: &str) -> Option<Value> {
    let names: Map<String, Value> = address
        .split('/')
        .filter_map(|level| level.strip_prefix('{')?.strip_suffix('}'))
        .map(|name| {
            (
                name.to_owned(),
                json!({ "description": format!("The topic level `{{{name}}}`.") }),
            )
        })
        .collect();
    (!names.is_empty()).then_some(Value::Object(names))
}

/// A component key (letters, digits, `.`, `-`, `_`) for a route name.
fn identifier(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The JSON Schema (draft-07, every subschema inline) of `T`.
#[cfg(feature = "asyncapi")]
pub fn schema_of<T: schemars::JsonSchema>() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft07()
        .with(|s| s.inline_subschemas = true)
        .into_generator();
    let mut schema: Value = generator.root_schema_for::<T>().into();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
    }
    schema
}
