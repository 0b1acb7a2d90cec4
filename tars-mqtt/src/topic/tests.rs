use super::*;

fn parse(s: &str) -> TopicFilter {
    TopicFilter::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
}

fn err(s: &str) -> (FilterErrorKind, std::ops::Range<usize>) {
    let e = TopicFilter::parse(s).expect_err(s);
    (e.kind(), e.byte_range())
}

#[test]
fn multi_level_does_not_match_by_prefix() {
    let f = parse("events/#");
    assert!(f.matches("events"));
    assert!(f.matches("events/a"));
    assert!(f.matches("events/a/b/c"));
    assert!(!f.matches("eventsXYZ"));
    assert!(!f.matches("eventsXYZ/a"));
}

#[test]
fn single_then_multi() {
    let f = parse("a/+/#");
    assert!(f.matches("a/b/c"));
    assert!(f.matches("a/b"));
    assert!(f.matches("a/b/c/d"));
    assert!(!f.matches("a"));
    assert!(!f.matches("b/b/c"));
}

#[test]
fn empty_levels_are_levels() {
    assert!(parse("a/+/c").matches("a//c"));
    assert!(parse("+/a").matches("/a"));
    assert!(!parse("a/+").matches("a"));
    assert!(parse("a/+").matches("a/"));
    assert!(parse("#").matches("/"));
}

#[test]
fn dollar_topics_need_an_explicit_first_level() {
    assert!(!parse("#").matches("$SYS/broker"));
    assert!(!parse("+/broker").matches("$SYS/broker"));
    assert!(parse("$SYS/#").matches("$SYS/broker/load"));
    assert!(parse("$SYS/+/load").matches("$SYS/broker/load"));
}

#[test]
fn shared_subscriptions_are_stripped_for_matching() {
    let f = parse("$share/workers/jobs/+");
    assert_eq!(f.share_group(), Some("workers"));
    assert_eq!(f.matching_filter(), "jobs/+");
    assert_eq!(f.subscription(), "$share/workers/jobs/+");
    assert!(f.matches("jobs/1"));
    assert!(!f.matches("$share/workers/jobs/1"));
}

#[test]
fn parameters_subscribe_as_single_level_wildcards_and_capture() {
    let f = parse("sensors/{room}/temp/{unit}");
    assert_eq!(f.subscription(), "sensors/+/temp/+");
    assert_eq!(f.param_names().collect::<Vec<_>>(), ["room", "unit"]);
    assert_eq!(
        f.captures("sensors/kitchen/temp/c"),
        Some(vec![("room", "kitchen"), ("unit", "c")])
    );
    assert_eq!(f.captures("sensors/kitchen/hum/c"), None);
}

#[test]
fn errors_point_at_the_offending_level() {
    assert_eq!(err(""), (FilterErrorKind::Empty, 0..0));
    assert_eq!(err("a/#/b"), (FilterErrorKind::MultiLevelNotLast, 2..3));
    assert_eq!(err("a/b+"), (FilterErrorKind::WildcardNotAlone, 2..4));
    assert_eq!(err("#x"), (FilterErrorKind::WildcardNotAlone, 0..2));
    assert_eq!(err("a/\0"), (FilterErrorKind::NulCharacter, 2..3));
    assert_eq!(err("$share//a"), (FilterErrorKind::ShareMissingGroup, 0..7));
    assert_eq!(
        err("$share/g+/a"),
        (FilterErrorKind::ShareGroupInvalid, 7..9)
    );
    assert_eq!(err("$share/g"), (FilterErrorKind::ShareMissingFilter, 0..8));
    assert_eq!(
        err("$share/g/"),
        (FilterErrorKind::ShareMissingFilter, 0..9)
    );
    // Found by the fuzz target: the inner filter would be read as a shared subscription again.
    assert_eq!(
        err("$share/pool,events/$share/#"),
        (FilterErrorKind::ShareNested, 19..25)
    );
    assert_eq!(
        err("$share/g/$share"),
        (FilterErrorKind::ShareNested, 9..15)
    );
    assert!(TopicFilter::parse("$share/g/$shared/x").is_ok());
    assert_eq!(err("a/{1x}"), (FilterErrorKind::InvalidParameter, 2..6));
    assert_eq!(err("a/x{y}"), (FilterErrorKind::InvalidParameter, 2..6));
    assert_eq!(err("a/{}"), (FilterErrorKind::InvalidParameter, 2..4));
    assert_eq!(
        err("{a}/b/{a}"),
        (FilterErrorKind::DuplicateParameter, 6..9)
    );
    assert_eq!(
        err("$share/g/a/#/b"),
        (FilterErrorKind::MultiLevelNotLast, 11..12)
    );
    let long = "a".repeat(MAX_TOPIC_LEN + 1);
    assert_eq!(err(&long).0, FilterErrorKind::TooLong);
}

#[test]
fn topic_names_for_publishing() {
    assert_eq!(validate_topic_name(""), Err(TopicNameError::Empty));
    assert_eq!(validate_topic_name("a/#"), Err(TopicNameError::Wildcard));
    assert_eq!(validate_topic_name("a/+/b"), Err(TopicNameError::Wildcard));
    assert_eq!(
        validate_topic_name("a\0"),
        Err(TopicNameError::NulCharacter)
    );
    assert_eq!(
        validate_topic_name(&"a".repeat(MAX_TOPIC_LEN + 1)),
        Err(TopicNameError::TooLong)
    );
    assert_eq!(validate_topic_name(&"a".repeat(MAX_TOPIC_LEN)), Ok(()));
    assert_eq!(validate_topic_name("/"), Ok(()));
}

/// A topic name with a wildcard is not a name (MQTT 3.1.1 §4.7.1): no filter matches it, not
/// even `#` or the filter spelled the same way, in the matcher and in the trie alike.
#[test]
fn invalid_topic_names_match_nothing() {
    let filters = ["#", "+", "a/+", "a/#", "+/+", "a/+/b", "{x}/#"];
    for name in ["a/+", "a/#", "+", "#", "a/+/b", "a/b+", "c#", "", "a\0b"] {
        for filter in filters {
            assert!(!parse(filter).matches(name), "{filter} matched {name:?}");
        }
        assert_eq!(trie_matches(&filters, name), [0usize; 0], "{name:?}");
    }
    assert!(parse("a/+").matches("a/b"));
}

fn trie_matches(filters: &[&str], topic: &str) -> Vec<usize> {
    let mut trie = FilterTrie::default();
    for (i, f) in filters.iter().enumerate() {
        trie.insert(&parse(f), i);
    }
    let mut out = Vec::new();
    let valid = trie.matches(topic, |i| out.push(*i));
    assert_eq!(
        valid.is_ok(),
        validate_topic_name(topic).is_ok(),
        "{topic:?}"
    );
    out.sort();
    out
}

#[test]
fn trie_agrees_with_the_filter_matcher() {
    let filters = [
        "#", "+", "a", "a/#", "a/+", "a/+/#", "+/b", "a/b", "a//c", "+/+/+", "$SYS/#", "{x}/b/#",
        "/#", "a/b/c/#",
    ];
    let topics = [
        "a", "a/b", "a/b/c", "a//c", "/", "", "b", "$SYS/x", "$SYS", "x/b", "a/b/c/d", "/a", "a/+",
        "#",
    ];
    for topic in topics {
        let expected: Vec<usize> = (0..filters.len())
            .filter(|&i| parse(filters[i]).matches(topic))
            .collect();
        assert_eq!(trie_matches(&filters, topic), expected, "topic {topic:?}");
    }
}

#[test]
fn overlapping_filters_each_match_once() {
    assert_eq!(
        trie_matches(&["a/#", "a/+", "a/b", "#", "a/b"], "a/b"),
        [0, 1, 2, 3, 4]
    );
}
