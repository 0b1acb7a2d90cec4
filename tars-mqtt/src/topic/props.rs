//! Property tests of the topic grammar: no input makes it panic, errors point inside the input,
//! and the matcher and the trie agree with a plain reference reading of MQTT 3.1.1 §4.7.

use proptest::prelude::*;

use super::*;

/// §4.7 read literally, level by level. A topic name holds no wildcards and is never empty
/// (§4.7.1, §4.7.3), so such a "name" matches nothing.
fn reference_matches(filter: &str, topic: &str) -> bool {
    if topic.is_empty() || topic.contains(['+', '#', '\0']) {
        return false;
    }
    let f: Vec<&str> = filter.split('/').collect();
    let t: Vec<&str> = topic.split('/').collect();
    if topic.starts_with('$') && (f[0] == "+" || f[0] == "#") {
        return false;
    }
    let mut i = 0;
    loop {
        match (f.get(i), t.get(i)) {
            (Some(&"#"), _) => return true,
            (None, None) => return true,
            (Some(&"+"), Some(_)) => {}
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
        i += 1;
    }
}

fn level() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("a".to_owned()),
        Just("b".to_owned()),
        Just("$s".to_owned()),
        "[a-c]{1,3}"
    ]
}

fn filter_level() -> impl Strategy<Value = String> {
    prop_oneof![level(), Just("+".to_owned())]
}

prop_compose! {
    fn valid_filter()(levels in prop::collection::vec(filter_level(), 1..5), hash in any::<bool>()) -> String {
        let mut f = levels.join("/");
        if hash { f.push_str(if f.is_empty() { "#" } else { "/#" }); }
        if f.is_empty() { "a".to_owned() } else { f }
    }
}

/// A topic level as it may arrive: mostly valid, sometimes a wildcard or a NUL (which no valid
/// topic name holds, but a faulty peer or broker may send).
fn name_level() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => level(),
        1 => Just("+".to_owned()),
        1 => Just("#".to_owned()),
        1 => Just("a+".to_owned()),
        1 => Just("b#c".to_owned()),
        1 => Just("\0".to_owned()),
    ]
}

prop_compose! {
    fn topic()(levels in prop::collection::vec(name_level(), 1..6)) -> String {
        levels.join("/")
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn parsing_never_panics_and_errors_point_inside_the_input(input in "\\PC{0,40}|[a+#/{}$share]{0,20}") {
        if let Err(e) = TopicFilter::parse(&input) {
            let r = e.byte_range();
            prop_assert!(r.start <= r.end && r.end <= input.len(), "{r:?} outside {input:?}");
            prop_assert!(input.is_char_boundary(r.start) && input.is_char_boundary(r.end));
        }
        let _ = validate_topic_name(&input);
    }

    #[test]
    fn the_matcher_agrees_with_the_reference(filter in valid_filter(), topic in topic()) {
        let parsed = TopicFilter::parse(&filter).unwrap();
        prop_assert_eq!(parsed.matches(&topic), reference_matches(&filter, &topic), "filter {} topic {}", filter, topic);
    }

    #[test]
    fn the_trie_finds_exactly_the_matching_filters(filters in prop::collection::vec(valid_filter(), 1..12), topic in topic()) {
        let mut trie = FilterTrie::default();
        for (i, f) in filters.iter().enumerate() {
            trie.insert(&TopicFilter::parse(f).unwrap(), i);
        }
        let mut found = Vec::new();
        let _ = trie.matches(&topic, |i| found.push(*i));
        found.sort();
        let expected: Vec<usize> = (0..filters.len()).filter(|&i| reference_matches(&filters[i], &topic)).collect();
        prop_assert_eq!(found, expected);
    }

    #[test]
    fn the_subscription_plan_covers_every_filter_without_overlap(filters in prop::collection::vec(valid_filter(), 1..8), topic in topic()) {
        let parsed: Vec<TopicFilter> = filters.iter().map(|f| TopicFilter::parse(f).unwrap()).collect();
        let plan = subscription_plan(parsed.iter().map(|f| (f, crate::QoS::AtMostOnce)));
        let delivering = plan.iter().filter(|(f, _)| reference_matches(f, &topic)).count();
        let wanted = filters.iter().any(|f| reference_matches(f, &topic));
        // Every wanted message is delivered by exactly one planned subscription.
        prop_assert!(delivering <= 1, "{} subscriptions of {:?} deliver {}", delivering, plan, topic);
        prop_assert!(!wanted || delivering == 1, "{:?} misses {}", plan, topic);
    }
}
