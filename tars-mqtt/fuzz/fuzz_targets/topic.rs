//! Any filter and topic (separated by the first newline): parsing never panics and points its
//! errors inside the input; a parsed filter round-trips, matches exactly when it captures, and
//! its broker-side filter matches whatever it matches.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tars_mqtt::{topic::{TopicFilter, validate_topic_name}};

fuzz_target!(|input: &str| {
    let (filter, topic) = input.split_once('\n').unwrap_or((input, ""));
    let topic_ok = validate_topic_name(topic).is_ok();
    let parsed = match TopicFilter::parse(filter) {
        Ok(parsed) => parsed,
        Err(error) => {
            let range = error.byte_range();
            assert!(range.start <= range.end && range.end <= filter.len());
            assert!(filter.is_char_boundary(range.start) && filter.is_char_boundary(range.end));
            assert!(!error.to_string().is_empty());
            return;
        }
    };
    let again = TopicFilter::parse(parsed.as_str()).expect("a parsed filter parses again");
    assert_eq!(again.as_str(), parsed.as_str());
    let matched = parsed.matches(topic);
    let captures = parsed.captures(topic);
    assert_eq!(matched, captures.is_some());
    if let Some(captures) = captures {
        assert_eq!(captures.len(), parsed.param_names().count());
        assert!(captures.iter().all(|(_, value)| !value.contains('/')));
    }
    if matched && topic_ok {
        let broker_side = TopicFilter::parse(&parsed.matching_filter())
            .expect("the broker-side filter is a valid filter");
        assert!(broker_side.matches(topic));
    }
});
