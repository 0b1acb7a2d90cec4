//! Duplicate suppression: key (type, id, `data.seq` or a stable hash of `data`), a fixed TTL from
//! the first sighting, and a bound on entries (the oldest go first).

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    event_type: String,
    id: String,
    discriminator: Discriminator,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Discriminator {
    Seq(String),
    DataHash(u64),
}

/// Remembers envelopes seen within the TTL.
#[derive(Debug)]
pub(crate) struct Dedup {
    ttl: Duration,
    max_entries: usize,
    seen: HashMap<Key, Instant>,
    order: VecDeque<(Instant, Key)>,
}

impl Dedup {
    /// A window of `ttl` holding at most `max_entries` keys.
    pub(crate) fn new(ttl: Duration, max_entries: usize) -> Self {
        Self {
            ttl,
            max_entries: max_entries.max(1),
            seen: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    /// Whether this payload was already seen within the TTL; records it otherwise.
    /// Payloads that are not envelopes with an `id` are never duplicates.
    pub(crate) fn is_duplicate(&mut self, payload: &[u8], now: Instant) -> bool {
        let Some(key) = key(payload) else {
            return false;
        };
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < self.ttl && self.order.len() < self.max_entries {
                break;
            }
            let (_, old) = self.order.pop_front().expect("front exists");
            self.seen.remove(&old);
        }
        if self.seen.contains_key(&key) {
            return true;
        }
        self.seen.insert(key.clone(), now);
        self.order.push_back((now, key));
        false
    }

    /// Keys currently remembered.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.len()
    }
}

fn key(payload: &[u8]) -> Option<Key> {
    #[derive(Deserialize)]
    struct Head<'a> {
        id: Option<String>,
        #[serde(rename = "type")]
        event_type: Option<String>,
        #[serde(borrow)]
        data: Option<&'a RawValue>,
    }
    #[derive(Deserialize)]
    struct Seq {
        seq: Option<serde_json::Value>,
    }
    if !crate::envelope::looks_like_object(payload) {
        return None;
    }
    let head: Head<'_> = serde_json::from_slice(payload).ok()?;
    let data = head.data?;
    let discriminator = match serde_json::from_str::<Seq>(data.get())
        .ok()
        .and_then(|s| s.seq)
    {
        Some(seq) => Discriminator::Seq(seq.to_string()),
        None => {
            // Hash the canonical form (serde_json's map sorts keys) so that key order and
            // whitespace do not matter.
            let value: serde_json::Value = serde_json::from_str(data.get()).ok()?;
            let mut hasher = DefaultHasher::new();
            value.to_string().hash(&mut hasher);
            Discriminator::DataHash(hasher.finish())
        }
    };
    Some(Key {
        event_type: head.event_type?,
        id: head.id?,
        discriminator,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_key_within_ttl_is_a_duplicate_and_expires_after() {
        let mut d = Dedup::new(Duration::from_secs(10), 100);
        let t0 = Instant::now();
        let a = br#"{"id":"1","type":"t","data":{"x":1,"y":2}}"#;
        let a_reordered = br#"{"type":"t","id":"1","data":{ "y":2, "x":1 }}"#;
        assert!(!d.is_duplicate(a, t0));
        assert!(d.is_duplicate(a_reordered, t0 + Duration::from_secs(9)));
        // The TTL runs from the first sighting, not the last.
        assert!(!d.is_duplicate(a, t0 + Duration::from_secs(10)));
    }

    #[test]
    fn seq_distinguishes_stream_parts_and_other_fields_do_not_matter_with_it() {
        let mut d = Dedup::new(Duration::from_secs(10), 100);
        let t = Instant::now();
        assert!(!d.is_duplicate(br#"{"id":"s","type":"t","data":{"seq":1,"d":"a"}}"#, t));
        assert!(!d.is_duplicate(br#"{"id":"s","type":"t","data":{"seq":2,"d":"b"}}"#, t));
        assert!(d.is_duplicate(br#"{"id":"s","type":"t","data":{"seq":2,"d":"c"}}"#, t));
        assert!(!d.is_duplicate(br#"{"id":"s","type":"u","data":{"seq":2}}"#, t));
    }

    #[test]
    fn bounded_and_non_envelopes_pass() {
        let mut d = Dedup::new(Duration::from_secs(60), 2);
        let t = Instant::now();
        for i in 0..5 {
            let p = format!(r#"{{"id":"{i}","type":"t","data":{{}}}}"#);
            assert!(!d.is_duplicate(p.as_bytes(), t));
        }
        assert_eq!(d.len(), 2);
        assert!(!d.is_duplicate(br#"{"text":"no envelope"}"#, t));
        assert!(!d.is_duplicate(br#"{"text":"no envelope"}"#, t));
        assert!(!d.is_duplicate(b"plain text", t));
    }
}
