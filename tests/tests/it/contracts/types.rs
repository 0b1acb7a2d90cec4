//! Every typed contract of `tars_mqtt_examples::contracts` against the schema of its Python
//! model: the example decodes and encodes back unchanged, and payloads around each example
//! (every field left out, set to `null`, to a value of every JSON type, to each bound and just
//! past it, an unknown field added) are accepted by the Rust type exactly when the schema
//! accepts them. What the type encodes always validates.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use tars_mqtt_examples::contracts::{
    CharacterGetRequest, CharacterResetTraits, CharacterSection, CharacterSnapshot,
    CharacterTraitUpdate, CharacterUpdate, FinalTranscript, HealthPing, LlmRequest, LlmResponse,
    MemoryQuery, MemoryResult, MemoryResults, TtsSay,
};

use super::{assert_valid, example, schema};

/// Decodes `value` as `T`, then encodes it again.
type Roundtrip = fn(&Value) -> Result<Value, String>;

fn roundtrip<T: DeserializeOwned + Serialize>(value: &Value) -> Result<Value, String> {
    let decoded: T = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(decoded).map_err(|e| e.to_string())
}

/// A Rust type, the schema it stands for, and payloads it must accept.
struct Contract {
    name: &'static str,
    schema: Value,
    roundtrip: Roundtrip,
    seeds: Vec<Value>,
}

fn contract(name: &'static str, model: &str, roundtrip: Roundtrip, seeds: Vec<Value>) -> Contract {
    Contract {
        name,
        schema: schema(model),
        roundtrip,
        seeds,
    }
}

fn data(example_name: &str) -> Value {
    example(example_name).payload["data"].clone()
}

fn contracts() -> Vec<Contract> {
    let update = json!({"anyOf": [schema("memory.CharacterTraitUpdate"), schema("memory.CharacterResetTraits")]});
    vec![
        contract(
            "MemoryQuery",
            "memory.MemoryQuery",
            roundtrip::<MemoryQuery>,
            vec![
                data("memory.query.hybrid"),
                data("memory.query.recent"),
                json!({"text": "only the text"}),
            ],
        ),
        contract(
            "MemoryResults",
            "memory.MemoryResults",
            roundtrip::<MemoryResults>,
            vec![
                data("memory.results"),
                json!({"query": "q", "k": 0, "results": [{"document": "plain text", "score": null, "timestamp": "2026-01-01T00:00:00", "token_count": null, "context_type": "context"}], "total_tokens": null}),
            ],
        ),
        contract(
            "MemoryResult",
            "memory.MemoryResult",
            roundtrip::<MemoryResult>,
            vec![data("memory.results")["results"][0].clone()],
        ),
        contract(
            "CharacterSnapshot",
            "memory.CharacterSnapshot",
            roundtrip::<CharacterSnapshot>,
            vec![data("character.current")],
        ),
        contract(
            "CharacterGetRequest",
            "memory.CharacterGetRequest",
            roundtrip::<CharacterGetRequest>,
            vec![data("character.get"), json!({"section": null})],
        ),
        contract(
            "CharacterSection",
            "memory.CharacterSection",
            roundtrip::<CharacterSection>,
            vec![
                data("character.result"),
                json!({"section": "name", "value": "TARS"}),
                json!({"section": "systemprompt", "value": null}),
            ],
        ),
        contract(
            "CharacterTraitUpdate",
            "memory.CharacterTraitUpdate",
            roundtrip::<CharacterTraitUpdate>,
            vec![data("character.update.trait")],
        ),
        contract(
            "CharacterResetTraits",
            "memory.CharacterResetTraits",
            roundtrip::<CharacterResetTraits>,
            vec![data("character.update.reset")],
        ),
        Contract {
            name: "CharacterUpdate",
            schema: update,
            roundtrip: roundtrip::<CharacterUpdate>,
            seeds: vec![
                data("character.update.trait"),
                data("character.update.reset"),
                json!({"trait": "wit", "value": 0}),
            ],
        },
        contract(
            "HealthPing",
            "health.HealthPing",
            roundtrip::<HealthPing>,
            vec![data("health.ready"), data("health.error")],
        ),
        contract(
            "FinalTranscript",
            "stt.FinalTranscript",
            roundtrip::<FinalTranscript>,
            vec![data("stt.final")],
        ),
        contract(
            "TtsSay",
            "tts.TtsSay",
            roundtrip::<TtsSay>,
            vec![data("tts.say")],
        ),
        contract(
            "LlmRequest",
            "llm.LLMRequest",
            roundtrip::<LlmRequest>,
            vec![
                data("llm.request"),
                json!({"id": "llm-7", "text": "hi", "stream": true, "use_rag": false, "rag_k": 3, "system": "be brief",
                   "params": {"temperature": 0.2},
                   "conversation_history": [{"role": "user", "content": "hello", "timestamp": null}, {"role": "assistant", "content": "hi", "timestamp": 1.5}]}),
            ],
        ),
        contract(
            "LlmResponse",
            "llm.LLMResponse",
            roundtrip::<LlmResponse>,
            vec![
                data("llm.response"),
                json!({"id": "llm-7", "error": "no model", "tokens": {"prompt": 3}}),
            ],
        ),
    ]
}

/// The example messages decode into their Rust type with every field, and encode back to the
/// very same data.
#[test]
fn each_example_decodes_into_its_type_and_back_unchanged() {
    let cases: [(&str, Roundtrip); 13] = [
        ("memory.query.hybrid", roundtrip::<MemoryQuery>),
        ("memory.query.recent", roundtrip::<MemoryQuery>),
        ("memory.results", roundtrip::<MemoryResults>),
        ("character.current", roundtrip::<CharacterSnapshot>),
        ("character.get", roundtrip::<CharacterGetRequest>),
        ("character.result", roundtrip::<CharacterSection>),
        ("character.update.trait", roundtrip::<CharacterUpdate>),
        ("character.update.reset", roundtrip::<CharacterUpdate>),
        ("health.ready", roundtrip::<HealthPing>),
        ("health.error", roundtrip::<HealthPing>),
        ("stt.final", roundtrip::<FinalTranscript>),
        ("tts.say", roundtrip::<TtsSay>),
        ("llm.request", roundtrip::<LlmRequest>),
    ];
    for (name, roundtrip) in cases
        .into_iter()
        .chain([("llm.response", roundtrip::<LlmResponse> as Roundtrip)])
    {
        let data = data(name);
        let back = roundtrip(&data).unwrap_or_else(|e| panic!("{name} does not decode: {e}"));
        assert_eq!(back, data, "{name} changed in the round trip");
    }
}

/// Where the schema of a property allows them: a value of each JSON type, and each bound of a
/// number with its neighbour outside.
fn probes(root: &Value, property: &Value) -> Vec<Value> {
    let mut out = vec![
        Value::Null,
        json!(true),
        json!(0),
        json!(-1),
        json!(7),
        json!(1.5),
        json!(""),
        json!("x"),
        json!([]),
        json!(["x"]),
        json!({}),
        json!({"a": 1}),
    ];
    for branch in branches(root, property) {
        let step = if branch["type"] == "integer" {
            1.0
        } else {
            0.5
        };
        let as_json = |n: f64| {
            if step == 1.0 {
                json!(n as i64)
            } else {
                json!(n)
            }
        };
        if let Some(min) = branch["minimum"].as_f64() {
            out.extend([as_json(min - step), as_json(min)]);
        }
        if let Some(max) = branch["maximum"].as_f64() {
            out.extend([as_json(max), as_json(max + step)]);
        }
        if let Some(values) = branch["enum"].as_array() {
            out.extend(values.iter().cloned().chain([json!("other")]));
        }
    }
    out
}

/// `schema` itself, or through its `$ref` into the root's `$defs`.
fn resolve<'a>(root: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => root
            .pointer(reference.trim_start_matches('#'))
            .unwrap_or_else(|| panic!("unresolved {reference}")),
        None => schema,
    }
}

/// The alternatives of an `anyOf`, or the schema itself.
fn branches<'a>(root: &'a Value, schema: &'a Value) -> Vec<&'a Value> {
    let schema = resolve(root, schema);
    match schema["anyOf"].as_array() {
        Some(alternatives) => alternatives.iter().map(|b| resolve(root, b)).collect(),
        None => vec![schema],
    }
}

/// The objects inside `value` that `schema` describes with properties, as (JSON pointer,
/// object schema): the value itself, nested objects, and the first item of arrays of objects.
fn locations(
    root: &Value,
    schema: &Value,
    value: &Value,
    pointer: String,
    out: &mut Vec<(String, Value)>,
) {
    for branch in branches(root, schema) {
        if let (Some(properties), Some(object)) =
            (branch["properties"].as_object(), value.as_object())
        {
            out.push((pointer.clone(), branch.clone()));
            for (key, property) in properties {
                if let Some(inner) = object.get(key) {
                    locations(root, property, inner, format!("{pointer}/{key}"), out);
                }
            }
        }
        if let (Some(items), Some(first)) = (branch.get("items"), value.get(0)) {
            locations(root, items, first, format!("{pointer}/0"), out);
        }
    }
}

fn edited(seed: &Value, pointer: &str, edit: impl FnOnce(&mut Map<String, Value>)) -> Value {
    let mut value = seed.clone();
    edit(
        value
            .pointer_mut(pointer)
            .and_then(Value::as_object_mut)
            .unwrap(),
    );
    value
}

/// Payloads around `seed`, each with a label saying what was changed.
pub(super) fn variants(root: &Value, seed: &Value) -> Vec<(String, Value)> {
    let mut found = Vec::new();
    locations(root, root, seed, String::new(), &mut found);
    let mut out = vec![("as is".to_owned(), seed.clone())];
    for (pointer, schema) in found {
        out.push((
            format!("{pointer} emptied"),
            edited(seed, &pointer, Map::clear),
        ));
        out.push((
            format!("{pointer} with an unknown field"),
            edited(seed, &pointer, |m| {
                drop(m.insert("unexpected_field".into(), json!(1)))
            }),
        ));
        for (key, property) in schema["properties"].as_object().unwrap() {
            out.push((
                format!("{pointer}/{key} left out"),
                edited(seed, &pointer, |m| drop(m.remove(key))),
            ));
            for probe in probes(root, property) {
                let label = format!("{pointer}/{key} = {probe}");
                out.push((
                    label,
                    edited(seed, &pointer, |m| drop(m.insert(key.clone(), probe))),
                ));
            }
        }
    }
    out
}

#[test]
fn each_type_accepts_exactly_what_its_model_accepts() {
    let mut mismatches = Vec::new();
    let mut checked = 0;
    for contract in contracts() {
        let validator = jsonschema::draft202012::new(&contract.schema).unwrap();
        let mut per_contract = 0;
        for seed in &contract.seeds {
            assert_valid(&validator, seed, &format!("a seed of {}", contract.name));
            for (label, payload) in variants(&contract.schema, seed) {
                per_contract += 1;
                let valid = validator.is_valid(&payload);
                match ((contract.roundtrip)(&payload), valid) {
                    (Ok(encoded), true) => assert_valid(
                        &validator,
                        &encoded,
                        &format!("{} encoded from `{label}`", contract.name),
                    ),
                    (Err(_), false) => {}
                    (Ok(_), false) => mismatches.push(format!(
                        "{} accepts `{label}`, its model refuses it: {payload}",
                        contract.name
                    )),
                    (Err(e), true) => mismatches.push(format!(
                        "{} refuses `{label}` ({e}), its model accepts it: {payload}",
                        contract.name
                    )),
                }
            }
        }
        assert!(
            per_contract >= 20,
            "only {per_contract} payloads for {}",
            contract.name
        );
        checked += per_contract;
    }
    println!("{checked} payloads checked against the schemas");
    assert!(
        mismatches.is_empty(),
        "{} disagreements:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
}

/// The validator itself enforces what the comparison relies on.
#[test]
fn the_validator_refuses_unknown_fields_and_wrong_types() {
    let query = super::validator("memory.MemoryQuery");
    assert!(query.is_valid(&json!({"text": "x", "message_id": "m"})));
    assert!(!query.is_valid(&json!({"text": "x", "unexpected": 1})));
    assert!(!query.is_valid(&json!({"text": "x", "top_k": 51})));
    assert!(!query.is_valid(&json!({"text": 5})));
}

/// pydantic's lax mode would also take `"5"` for an integer and `"yes"` for a boolean, and the
/// schema (like pydantic) takes `5.0` for an integer; the Rust types take only JSON integers and
/// booleans. Deliberate: Python senders serialise typed models, which never produce those.
#[test]
fn lax_coercions_are_refused_deliberately() {
    let query = super::validator("memory.MemoryQuery");
    let decode = roundtrip::<MemoryQuery>;
    let integral_float = json!({"text": "x", "top_k": 5.0});
    assert!(query.is_valid(&integral_float));
    assert!(decode(&integral_float).is_err());
    for lax in [
        json!({"text": "x", "top_k": "5"}),
        json!({"text": "x", "include_context": "yes"}),
        json!({"text": "x", "include_context": 1}),
    ] {
        assert!(!query.is_valid(&lax), "{lax}");
        assert!(decode(&lax).is_err(), "{lax}");
    }
}
