//! Any payload: the envelope decoder never panics, agrees with the header reader, and what it
//! decodes encodes and decodes again to the same envelope.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tars_mqtt::{Envelope, wire::EnvelopeHeader};

fuzz_target!(|payload: &[u8]| {
    let header = EnvelopeHeader::read(payload);
    let Ok(envelope) = Envelope::<serde_json::Value>::decode(payload) else {
        return;
    };
    if let Some(event_type) = &header.event_type {
        assert_eq!(&envelope.event_type, event_type);
    }
    if let Some(id) = &header.id {
        assert_eq!(&envelope.id, id, "an id on the wire is kept");
    }
    let bytes = envelope.encode().expect("a decoded envelope encodes");
    let again = Envelope::<serde_json::Value>::decode(&bytes).expect("an encoded envelope decodes");
    assert_eq!(again.id, envelope.id);
    assert_eq!(again.event_type, envelope.event_type);
    assert_eq!(again.source, envelope.source);
    assert_eq!(again.data, envelope.data);
    assert_eq!(again.ts.to_bits(), envelope.ts.to_bits());
});
