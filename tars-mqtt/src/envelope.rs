//! The JSON envelope `{id,type,ts,source,data}` of the wire format: encoding, the lenient decode
//! rules of the Python services, and the correlation rule (a reply's `id` is the request's `id`).

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// A decoded or outgoing envelope.
///
/// ```
/// # use tars_mqtt::Envelope;
/// # use serde_json::json;
/// let env: Envelope<serde_json::Value> =
///     Envelope::decode(br#"{"id":"req-1","type":"memory.query","ts":1,"data":{"text":"hi"}}"#).unwrap();
/// assert_eq!(env.correlation_id(), Some("req-1"));
/// assert_eq!(env.source, "router"); // the wire format's default
/// assert_eq!(env.data, json!({"text": "hi"}));
///
/// // Not an envelope but a JSON object: the object is the data, and there is no correlation id.
/// let env: Envelope<serde_json::Value> = Envelope::decode(br#"{"text":"hi","extra":1}"#).unwrap();
/// assert_eq!(env.correlation_id(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope<T> {
    /// Envelope id; the correlation id of an exchange.
    pub id: String,
    /// Event type, e.g. `memory.results`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// Seconds since the Unix epoch.
    pub ts: f64,
    /// The publisher's source name.
    pub source: String,
    /// The payload.
    pub data: T,
    #[serde(skip)]
    id_on_wire: bool,
}

/// Why a payload did not decode.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The payload is not UTF-8.
    #[error("the payload is not valid UTF-8")]
    NotUtf8,
    /// The payload is JSON but not an object (and so neither an envelope nor envelope data).
    #[error("the payload is JSON but not an object")]
    NotObject,
    /// The envelope's `data` does not match the expected type.
    #[error("the data does not match the expected type: {0}")]
    Data(#[source] serde_json::Error),
}

/// The envelope fields other than `data`, read without decoding the data.
#[derive(Debug, Clone, PartialEq)]
pub struct EnvelopeHeader {
    /// The envelope `id` if the payload was an envelope with one.
    pub id: Option<String>,
    /// The event type, if the payload was an envelope.
    pub event_type: Option<String>,
    /// The timestamp, if the payload was an envelope with one.
    pub ts: Option<f64>,
    /// The source, if the payload was an envelope with one.
    pub source: Option<String>,
}

/// The envelope as the Python `Envelope` model accepts it: `id`, `ts` and `source` may be absent
/// (they get defaults) but not `null`, and no other key is allowed. `D` is the data as read:
/// `&RawValue` on the lenient path, `ObjectData<T>` on the one-pass path.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Wire<D> {
    #[serde(default, deserialize_with = "present")]
    id: Option<String>,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default, deserialize_with = "present")]
    ts: Option<f64>,
    #[serde(default, deserialize_with = "present")]
    source: Option<String>,
    data: D,
}

/// A `T` read from a JSON object only (an envelope's `data` must be an object).
struct ObjectData<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectData<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Object<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> serde::de::Visitor<'de> for Object<T> {
            type Value = T;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(serde::de::value::MapAccessDeserializer::new(map))
            }
        }
        deserializer
            .deserialize_map(Object(std::marker::PhantomData))
            .map(ObjectData)
    }
}

/// For a field that may be left out but not sent as `null`, as pydantic reads a field with a
/// default that is not `Optional`: with `#[serde(default, deserialize_with = "present")]` an
/// `Option<T>` is `None` when the field is absent and an error when it is `null`.
///
/// ```
/// #[derive(serde::Deserialize)]
/// struct Query {
///     #[serde(default, deserialize_with = "tars_mqtt::wire::present")]
///     top_k: Option<u32>,
/// }
/// assert_eq!(serde_json::from_str::<Query>("{}").unwrap().top_k, None);
/// assert!(serde_json::from_str::<Query>(r#"{"top_k": null}"#).is_err());
/// ```
pub fn present<'de, D: serde::Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(deserializer).map(Some)
}

/// The three shapes a payload can have under the lenient rules.
enum Shape<'a> {
    Envelope(Wire<&'a RawValue>),
    /// A JSON object that is not a valid envelope: it is the data.
    Object(&'a str),
    /// Non-JSON text: the data is `{"text": …}`.
    Text(&'a str),
}

fn shape(payload: &[u8]) -> Result<Shape<'_>, DecodeError> {
    let text = std::str::from_utf8(payload).map_err(|_| DecodeError::NotUtf8)?;
    match serde_json::from_str::<&RawValue>(text) {
        // Only an object can be an envelope: serde would also read a struct from an array.
        Ok(raw) if raw.get().starts_with('{') => {
            match serde_json::from_str::<Wire<&RawValue>>(text) {
                Ok(wire) if wire.data.get().starts_with('{') => Ok(Shape::Envelope(wire)),
                _ => Ok(Shape::Object(text)),
            }
        }
        Ok(_) => Err(DecodeError::NotObject),
        Err(_) => Ok(Shape::Text(text)),
    }
}

impl EnvelopeHeader {
    /// Reads the header of a payload (an all-`None` header for non-envelope payloads).
    pub fn read(payload: &[u8]) -> Self {
        match shape(payload) {
            Ok(Shape::Envelope(w)) => Self {
                id: w.id,
                event_type: Some(w.event_type),
                ts: w.ts,
                source: w.source,
            },
            _ => Self {
                id: None,
                event_type: None,
                ts: None,
                source: None,
            },
        }
    }
}

/// Reads just the `id` of an envelope payload (fast path for reply correlation).
pub(crate) fn peek_id(payload: &[u8]) -> Option<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: Option<String>,
    }
    if !looks_like_object(payload) {
        return None;
    }
    serde_json::from_slice::<IdOnly>(payload).ok()?.id
}

/// Whether the payload starts (after white space) like a JSON object. Structs are read with
/// serde, which would also accept an array of their fields; envelopes are objects only.
pub(crate) fn looks_like_object(payload: &[u8]) -> bool {
    payload.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{')
}

impl<T: DeserializeOwned> Envelope<T> {
    /// Decodes a payload with the wire format's lenient rules.
    pub fn decode(payload: &[u8]) -> Result<Self, DecodeError> {
        if let Some(envelope) = Self::decode_common(payload) {
            return Ok(envelope);
        }
        match shape(payload)? {
            Shape::Envelope(w) => Self::from_wire(w, |data| {
                serde_json::from_str(data.get()).map_err(DecodeError::Data)
            }),
            Shape::Object(text) => Ok(Self::lenient(
                serde_json::from_str(text).map_err(DecodeError::Data)?,
            )),
            Shape::Text(text) => Ok(Self::lenient(
                T::deserialize(serde_json::json!({ "text": text })).map_err(DecodeError::Data)?,
            )),
        }
    }

    /// The common case in one pass: a well-formed envelope whose `data` is an object that
    /// decodes into `T`. Anything else (or any error) returns `None` and takes the lenient
    /// path, which gives the same envelope for every payload this accepts (the rules are the
    /// same: `Wire`'s fields, `data` an object), only after three passes.
    fn decode_common(payload: &[u8]) -> Option<Self> {
        // serde would also read a struct from an array: only an object can be an envelope.
        if !looks_like_object(payload) {
            return None;
        }
        let text = std::str::from_utf8(payload).ok()?;
        let w: Wire<ObjectData<T>> = serde_json::from_str(text).ok()?;
        Self::from_wire(w, |data| Ok::<_, ()>(data.0)).ok()
    }

    /// The envelope read from the wire, its data turned into `T` by `data`, with the defaults
    /// for what the header left out.
    fn from_wire<D, E>(w: Wire<D>, data: impl FnOnce(D) -> Result<T, E>) -> Result<Self, E> {
        Ok(Self {
            data: data(w.data)?,
            id_on_wire: w.id.is_some(),
            id: w.id.unwrap_or_else(new_id),
            event_type: w.event_type,
            ts: w.ts.unwrap_or_else(now),
            source: w.source.unwrap_or_else(|| "router".to_owned()),
        })
    }

    fn lenient(data: T) -> Self {
        Self {
            id: new_id(),
            event_type: String::new(),
            ts: now(),
            source: "router".to_owned(),
            data,
            id_on_wire: false,
        }
    }
}

impl<T> Envelope<T> {
    /// A new envelope with a fresh id and the current time.
    pub fn new(event_type: impl Into<String>, source: impl Into<String>, data: T) -> Self {
        Self {
            id: new_id(),
            event_type: event_type.into(),
            ts: now(),
            source: source.into(),
            data,
            id_on_wire: true,
        }
    }

    /// The id a reply must carry to correlate with this envelope: the `id` it arrived with.
    /// `None` when the payload carried no id (a plain JSON object, text, or an envelope without `id`).
    pub fn correlation_id(&self) -> Option<&str> {
        self.id_on_wire.then_some(self.id.as_str())
    }

    /// Sets the id, e.g. to the request's id for a reply.
    #[must_use]
    pub fn with_id(mut self, id: impl Into<String>) -> Self {
        self.id = id.into();
        self.id_on_wire = true;
        self
    }
}

impl<T: Serialize> Envelope<T> {
    /// Encodes as compact JSON in the order `id,type,ts,source,data`.
    ///
    /// Fails when `data` does not serialize to a JSON object.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        let data = to_raw_object(&self.data)?;
        Ok(encode_raw(
            &self.id,
            &self.event_type,
            self.ts,
            &self.source,
            &data,
        ))
    }
}

/// Why envelope data could not be encoded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// Serialization failed (a map with non-string keys, a failing `Serialize` impl, …).
    #[error("cannot encode the envelope data: {0}")]
    Serialize(#[source] serde_json::Error),
    /// The data serialized to something other than a JSON object.
    #[error("cannot encode the envelope data: it must serialize to a JSON object")]
    NotObject,
}

/// Serializes envelope data, which must be a JSON object.
pub(crate) fn to_raw_object<T: Serialize + ?Sized>(data: &T) -> Result<Box<RawValue>, EncodeError> {
    let raw = serde_json::value::to_raw_value(data).map_err(EncodeError::Serialize)?;
    if raw.get().starts_with('{') {
        Ok(raw)
    } else {
        Err(EncodeError::NotObject)
    }
}

pub(crate) fn encode_raw(
    id: &str,
    event_type: &str,
    ts: f64,
    source: &str,
    data: &RawValue,
) -> Vec<u8> {
    #[derive(Serialize)]
    struct Out<'a> {
        id: &'a str,
        #[serde(rename = "type")]
        event_type: &'a str,
        ts: f64,
        source: &'a str,
        data: &'a RawValue,
    }
    serde_json::to_vec(&Out {
        id,
        event_type,
        ts,
        source,
        data,
    })
    .expect("strings, a finite float and raw JSON always serialize")
}

/// Envelope type of error replies: `{"ok": false, "err": "…"}` with the request's id.
pub const ERROR_EVENT_TYPE: &str = "error";

/// A fresh envelope id: a uuid4 as 32 lowercase hex characters.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// Seconds since the Unix epoch, as the wire format's `ts`.
pub fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

#[cfg(test)]
mod props {
    use proptest::prelude::*;
    use serde_json::Value;

    use super::*;

    fn json_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(6, 64, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
                prop::collection::btree_map(
                    prop_oneof![
                        Just("id".to_owned()),
                        Just("type".to_owned()),
                        Just("data".to_owned()),
                        Just("ts".to_owned()),
                        "[a-z]{1,5}"
                    ],
                    inner,
                    0..6
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

        #[test]
        fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Envelope::<Value>::decode(&bytes);
            let _ = EnvelopeHeader::read(&bytes);
            let _ = peek_id(&bytes);
        }

        /// Any JSON object decodes (as an envelope or as the data itself); anything else that is
        /// JSON is `NotObject`; the decoded data of an object is always an object.
        #[test]
        fn json_decodes_by_the_lenient_rules(value in json_value()) {
            let bytes = serde_json::to_vec(&value).unwrap();
            match (value.is_object(), Envelope::<Value>::decode(&bytes)) {
                (true, Ok(env)) => prop_assert!(env.data.is_object(), "{}", env.data),
                (false, Err(DecodeError::NotObject)) => {}
                (is_object, other) => prop_assert!(false, "object: {is_object}, decoded: {other:?}"),
            }
        }

        /// What we encode decodes back to the same envelope, floats bit for bit (serde_json's
        /// default float parser can be one unit in the last place off: found by `cargo fuzz`).
        #[test]
        fn encode_then_decode_round_trips(id in "[a-f0-9]{1,32}", event in "[a-z.]{1,12}", source in "\\PC{0,12}", n in any::<i64>(), ts in 0.0..4e9f64, x in any::<f64>().prop_filter("finite", |x| x.is_finite())) {
            let data = serde_json::json!({"n": n, "x": x});
            let mut env = Envelope::new(event.clone(), source.clone(), data.clone()).with_id(id.clone());
            env.ts = ts;
            let back: Envelope<Value> = Envelope::decode(&env.encode().unwrap()).unwrap();
            prop_assert_eq!(back.correlation_id(), Some(id.as_str()));
            prop_assert_eq!(back.ts.to_bits(), ts.to_bits());
            prop_assert_eq!(back.data["x"].as_f64().map(f64::to_bits), Some(x.to_bits()));
            prop_assert_eq!((back.event_type, back.source, back.data), (event, source, data));
        }
    }
}
