//! The Python services' own contracts as the ground truth: the JSON Schemas that pydantic writes
//! for their v1 models, and real envelopes as their client serialises them
//! (`tests/contracts/py-tars`, an exact copy of the published `shared/contracts/py-tars`).
//!
//! - `types`: every typed contract of the examples accepts and refuses the same payloads as the
//!   schema of its model, and what it serialises validates;
//! - `wire`: the framework's envelope, health, heartbeat and error replies validate, and every
//!   example envelope decodes;
//! - `peer`: the memory-worker port answers the 19 example envelopes, sent verbatim, as documented,
//!   and everything it publishes validates against the model its Python consumer uses.

mod peer;
mod python;
mod types;
mod wire;

use std::path::PathBuf;

use jsonschema::Validator;
use serde_json::Value;

/// `tests/contracts/py-tars`.
fn contracts_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("contracts/py-tars")
}

fn read_json(path: PathBuf) -> Value {
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// The schema of a model, e.g. `memory.MemoryQuery`.
fn schema(model: &str) -> Value {
    read_json(contracts_dir().join(format!("schemas/{model}.json")))
}

/// A JSON Schema 2020-12 validator (pydantic's dialect) for a model.
pub(crate) fn validator(model: &str) -> Validator {
    jsonschema::draft202012::new(&schema(model))
        .unwrap_or_else(|e| panic!("the schema of {model} does not compile: {e}"))
}

/// Panics with every violation when `value` does not validate.
#[track_caller]
pub(crate) fn assert_valid(validator: &Validator, value: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(value)
        .map(|e| format!("{} at `{}`", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what} does not validate: {errors:#?}\n{value:#}"
    );
}

/// One of the example messages of `envelopes/`.
#[derive(Clone, Debug)]
struct Example {
    /// The file name without `.json`, e.g. `memory.query.hybrid`.
    name: String,
    topic: String,
    qos: u8,
    retain: bool,
    /// The envelope.
    payload: Value,
}

/// Every example, sorted by name.
fn examples() -> Vec<Example> {
    let mut out: Vec<Example> = std::fs::read_dir(contracts_dir().join("envelopes"))
        .expect("the envelopes directory")
        .map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            let file = read_json(path);
            Example {
                name,
                topic: file["topic"].as_str().unwrap().to_owned(),
                qos: file["qos"].as_u64().unwrap() as u8,
                retain: file["retain"].as_bool().unwrap(),
                payload: file["payload"].clone(),
            }
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

/// The example named `name`.
fn example(name: &str) -> Example {
    examples()
        .into_iter()
        .find(|e| e.name == name)
        .unwrap_or_else(|| panic!("no example {name}"))
}

#[test]
fn the_contracts_are_all_there() {
    assert_eq!(examples().len(), 19);
    let schemas = std::fs::read_dir(contracts_dir().join("schemas"))
        .unwrap()
        .count();
    assert_eq!(schemas, 47);
}

/// The copy in this repository is the published contracts, byte for byte.
#[test]
#[cfg_attr(
    not(has_shared_contracts),
    ignore = "../shared/contracts/py-tars is not beside this repository: nothing to compare the copy with"
)]
fn the_copy_matches_the_published_contracts() {
    let published =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/contracts/py-tars");
    let listing = |root: &PathBuf| {
        let mut files = Vec::new();
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    let relative = path.strip_prefix(root).unwrap().to_path_buf();
                    files.push((relative, std::fs::read(&path).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    let (copy, original) = (listing(&contracts_dir()), listing(&published));
    let names =
        |files: &[(PathBuf, Vec<u8>)]| files.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&copy), names(&original), "the same files");
    for ((name, ours), (_, theirs)) in copy.iter().zip(&original) {
        assert!(
            ours == theirs,
            "{} differs: copy it again with `cp -r ../shared/contracts/py-tars tests/contracts/`",
            name.display()
        );
    }
}
