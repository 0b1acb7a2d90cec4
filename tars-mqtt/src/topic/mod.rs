//! Topic filters and names: parsing with positioned errors, §4.7 matching, a level trie for lookup.

mod filter;
mod plan;
mod trie;

pub use filter::{
    FilterError, FilterErrorKind, Level, MAX_TOPIC_LEN, TopicFilter, TopicNameError,
    validate_topic_name,
};
pub(crate) use plan::{covers, subscription_plan};
pub(crate) use trie::FilterTrie;

#[cfg(test)]
mod props;
#[cfg(test)]
mod tests;
