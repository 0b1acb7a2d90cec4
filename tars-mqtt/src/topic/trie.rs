//! A level trie of filters: a lookup walks the topic's levels once, so its cost depends on the
//! topic's depth and the wildcards present, not on the number of filters.
//!
//! Levels are hashed with foldhash rather than SipHash: every received message is looked up, and
//! SipHash made the lookup the largest cost of routing a message. Only the service's own
//! filters are inserted, so topics from the network cannot grow the tables.

use foldhash::HashMap;

use super::{Level, TopicFilter, TopicNameError, validate_topic_name};

/// Maps filters to values; [`FilterTrie::matches`] returns every value whose filter matches.
#[derive(Debug)]
pub(crate) struct FilterTrie<T> {
    root: Node<T>,
}

#[derive(Debug)]
struct Node<T> {
    exact: HashMap<String, Node<T>>,
    single: Option<Box<Node<T>>>,
    /// Values whose filter ends in `#` right below this node.
    multi: Vec<T>,
    /// Values whose filter ends at this node.
    here: Vec<T>,
}

impl<T> Default for Node<T> {
    fn default() -> Self {
        Self {
            exact: HashMap::default(),
            single: None,
            multi: Vec::new(),
            here: Vec::new(),
        }
    }
}

impl<T> Default for FilterTrie<T> {
    fn default() -> Self {
        Self {
            root: Node::default(),
        }
    }
}

impl<T> FilterTrie<T> {
    pub(crate) fn insert(&mut self, filter: &TopicFilter, value: T) {
        let mut node = &mut self.root;
        for level in filter.levels() {
            node = match level {
                Level::Exact(s) => node.exact.entry(s.clone()).or_default(),
                Level::Single | Level::Param(_) => node.single.get_or_insert_with(Default::default),
                Level::Multi => {
                    node.multi.push(value);
                    return;
                }
            };
        }
        node.here.push(value);
    }

    /// Calls `found` once for every value whose filter matches `topic` (MQTT 3.1.1 §4.7); never
    /// for a `topic` that is not a valid topic name (see [`TopicFilter::matches`]), which is
    /// returned as the error.
    pub(crate) fn matches<'a>(
        &'a self,
        topic: &str,
        mut found: impl FnMut(&'a T),
    ) -> Result<(), TopicNameError> {
        validate_topic_name(topic)?;
        // A topic starting with `$` is not matched by a filter starting with a wildcard.
        let wildcards_at_root = !topic.starts_with('$');
        walk(&self.root, Some(topic), wildcards_at_root, &mut found);
        Ok(())
    }
}

/// `levels` is what is left of the topic (its levels still joined by `/`, so that matching
/// allocates nothing), `None` once every level is consumed.
fn walk<'a, T>(
    node: &'a Node<T>,
    levels: Option<&str>,
    wildcards: bool,
    found: &mut impl FnMut(&'a T),
) {
    if wildcards {
        node.multi.iter().for_each(&mut *found);
    }
    let Some(levels) = levels else {
        node.here.iter().for_each(found);
        return;
    };
    let (first, rest) = match levels.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (levels, None),
    };
    if let Some(child) = node.exact.get(first) {
        walk(child, rest, true, found);
    }
    if wildcards && let Some(child) = &node.single {
        walk(child, rest, true, found);
    }
}
