//! The topic grammar: MQTT 3.1.1 §4.7 filters, `$share/<group>/` prefixes and `{name}` parameters.
//!
//! This file depends on `std` only, because the macros crate compiles the very same file (it is
//! `#[path]`-included there) to validate topic strings at compile time. Keep it that way: no
//! `crate::` paths, no external crates.

use std::fmt;
use std::ops::Range;

/// Longest topic name or filter MQTT can carry (a two-byte length prefix).
pub const MAX_TOPIC_LEN: usize = 65_535;

const SHARE_PREFIX: &str = "$share/";

/// What is wrong with a topic filter; see [`FilterError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FilterErrorKind {
    /// The filter is the empty string.
    Empty,
    /// A `#` appears in a level that is not the last one.
    MultiLevelNotLast,
    /// `+` or `#` shares a level with other characters (`a/b+`, `#x`).
    WildcardNotAlone,
    /// The filter contains a NUL character.
    NulCharacter,
    /// The filter is longer than 65 535 bytes.
    TooLong,
    /// `$share/` is not followed by a group name.
    ShareMissingGroup,
    /// The share group contains `+` or `#`.
    ShareGroupInvalid,
    /// `$share/<group>` is not followed by a filter.
    ShareMissingFilter,
    /// The filter of `$share/<group>/<filter>` is itself a shared subscription.
    ShareNested,
    /// A `{` or `}` that is not a whole `{name}` level, or a name that is not an identifier.
    InvalidParameter,
    /// The same `{name}` appears twice.
    DuplicateParameter,
}

impl FilterErrorKind {
    /// A lowercase sentence saying what is wrong, for error messages.
    pub fn message(self) -> &'static str {
        match self {
            Self::Empty => "a topic filter must not be empty",
            Self::MultiLevelNotLast => "`#` must be the last level of a topic filter",
            Self::WildcardNotAlone => "a wildcard (`+` or `#`) must occupy a whole topic level",
            Self::NulCharacter => "a topic filter must not contain a NUL character",
            Self::TooLong => "a topic filter must not be longer than 65535 bytes",
            Self::ShareMissingGroup => "`$share/` must be followed by a group name",
            Self::ShareGroupInvalid => "a share group name must not contain `+` or `#`",
            Self::ShareMissingFilter => "`$share/<group>/` must be followed by a topic filter",
            Self::ShareNested => {
                "a shared subscription's filter must not start with `$share` again"
            }
            Self::InvalidParameter => {
                "a topic parameter must be a whole level of the form `{name}` with an identifier inside"
            }
            Self::DuplicateParameter => "this topic parameter name is used twice",
        }
    }

    /// A hint on how to fix it.
    pub fn help(self) -> &'static str {
        match self {
            Self::Empty => "use a topic such as `sensors/temp`, or `#` for every topic",
            Self::MultiLevelNotLast => {
                "`#` matches every remaining level; use `+` for a single level"
            }
            Self::WildcardNotAlone => "write the wildcard as its own level, e.g. `a/+/c` or `a/#`",
            Self::NulCharacter => "remove the NUL character",
            Self::TooLong => "shorten the topic filter",
            Self::ShareMissingGroup | Self::ShareMissingFilter => {
                "shared subscriptions are written `$share/<group>/<filter>`"
            }
            Self::ShareGroupInvalid => "choose a group name without wildcards",
            Self::ShareNested => "write the `$share/<group>/` prefix once",
            Self::InvalidParameter => {
                "write a parameter as a whole level, e.g. `sensors/{room}/temp`"
            }
            Self::DuplicateParameter => "give each parameter its own name",
        }
    }
}

/// A topic filter that failed to parse: what is wrong and where (a byte range of the input).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    kind: FilterErrorKind,
    range: Range<usize>,
}

impl FilterError {
    fn new(kind: FilterErrorKind, range: Range<usize>) -> Self {
        Self { kind, range }
    }

    /// What is wrong.
    pub fn kind(&self) -> FilterErrorKind {
        self.kind
    }

    /// The byte range of the offending level (or of the whole filter) in the parsed string.
    pub fn byte_range(&self) -> Range<usize> {
        self.range.clone()
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (bytes {}..{})",
            self.kind.message(),
            self.range.start,
            self.range.end
        )
    }
}

impl std::error::Error for FilterError {}

/// One level of a parsed filter.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Level {
    /// A literal level (possibly empty).
    Exact(String),
    /// `+`: exactly one level.
    Single,
    /// `#`: this level and every level below it, including none (the parent).
    Multi,
    /// `{name}`: one level, captured under `name` (subscribed as `+`).
    Param(String),
}

/// A validated topic filter, optionally shared (`$share/<group>/…`) and with `{name}` parameters.
///
/// `TopicFilter::parse("sensors/{room}/temp")` subscribes as `sensors/+/temp` and captures the
/// second level as `room`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TopicFilter {
    source: String,
    share_group: Option<String>,
    levels: Vec<Level>,
}

impl TopicFilter {
    /// Parses and validates a filter.
    ///
    /// ```
    /// # use tars_mqtt::{topic::{FilterErrorKind, TopicFilter}};
    /// let f = TopicFilter::parse("$share/workers/jobs/{kind}/#").unwrap();
    /// assert_eq!(f.share_group(), Some("workers"));
    /// assert_eq!(f.subscription(), "$share/workers/jobs/+/#");
    /// assert!(f.matches("jobs/resize/1"));
    ///
    /// let err = TopicFilter::parse("a/#/b").unwrap_err();
    /// assert_eq!(err.kind(), FilterErrorKind::MultiLevelNotLast);
    /// assert_eq!(err.byte_range(), 2..3);
    /// ```
    pub fn parse(input: &str) -> Result<Self, FilterError> {
        if input.is_empty() {
            return Err(FilterError::new(FilterErrorKind::Empty, 0..0));
        }
        if input.len() > MAX_TOPIC_LEN {
            return Err(FilterError::new(FilterErrorKind::TooLong, 0..input.len()));
        }
        if let Some(pos) = input.find('\0') {
            return Err(FilterError::new(
                FilterErrorKind::NulCharacter,
                pos..pos + 1,
            ));
        }
        let (share_group, body_start) = parse_share(input)?;
        let body = &input[body_start..];
        let mut levels = Vec::new();
        let mut params: Vec<&str> = Vec::new();
        let mut offset = body_start;
        let count = body.split('/').count();
        for (index, level) in body.split('/').enumerate() {
            let range = offset..offset + level.len();
            offset += level.len() + 1;
            let parsed = parse_level(level, range.clone(), index + 1 == count)?;
            if let Level::Param(name) = &parsed {
                if params.contains(&name.as_str()) {
                    return Err(FilterError::new(FilterErrorKind::DuplicateParameter, range));
                }
                params.push(&level[1..level.len() - 1]);
            }
            levels.push(parsed);
        }
        Ok(Self {
            source: input.to_owned(),
            share_group,
            levels,
        })
    }

    /// The filter exactly as written, parameters included.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The filter as written after any `$share/<group>/` prefix, parameters included.
    ///
    /// ```
    /// # use tars_mqtt::topic::TopicFilter;
    /// let f = TopicFilter::parse("$share/workers/jobs/{kind}").unwrap();
    /// assert_eq!(f.body(), "jobs/{kind}");
    /// ```
    pub fn body(&self) -> &str {
        match &self.share_group {
            Some(group) => &self.source[SHARE_PREFIX.len() + group.len() + 1..],
            None => &self.source,
        }
    }

    /// The share group of a `$share/<group>/<filter>` subscription.
    pub fn share_group(&self) -> Option<&str> {
        self.share_group.as_deref()
    }

    /// The parsed levels of the filter part (after any `$share/<group>/`).
    pub fn levels(&self) -> &[Level] {
        &self.levels
    }

    /// The names of the `{name}` parameters, in level order.
    pub fn param_names(&self) -> impl Iterator<Item = &str> {
        self.levels.iter().filter_map(|level| match level {
            Level::Param(name) => Some(name.as_str()),
            _ => None,
        })
    }

    /// The string to SUBSCRIBE with: parameters become `+`, the share prefix is kept.
    pub fn subscription(&self) -> String {
        let mut out = String::with_capacity(self.source.len());
        if let Some(group) = &self.share_group {
            out.push_str(SHARE_PREFIX);
            out.push_str(group);
            out.push('/');
        }
        out.push_str(&self.matching_filter());
        out
    }

    /// The filter used for matching: share prefix stripped, parameters as `+`.
    pub fn matching_filter(&self) -> String {
        let parts: Vec<&str> = self
            .levels
            .iter()
            .map(|level| match level {
                Level::Exact(s) => s.as_str(),
                Level::Single | Level::Param(_) => "+",
                Level::Multi => "#",
            })
            .collect();
        parts.join("/")
    }

    /// Whether `topic` matches this filter (MQTT 3.1.1 §4.7, share prefix ignored).
    ///
    /// `#` also matches its parent level (`a/#` matches `a`), empty levels are levels, and a
    /// topic starting with `$` is not matched by a filter starting with a wildcard. A `topic`
    /// that is not a valid topic name (empty, or containing `+`, `#` or NUL: see
    /// [`validate_topic_name`]) matches nothing, not even `#`.
    ///
    /// ```
    /// # use tars_mqtt::topic::TopicFilter;
    /// let any = TopicFilter::parse("sensors/#").unwrap();
    /// assert!(any.matches("sensors/kitchen/temp"));
    /// assert!(!any.matches("sensors/+/temp")); // a filter, not a topic name
    /// ```
    pub fn matches(&self, topic: &str) -> bool {
        if validate_topic_name(topic).is_err() {
            return false;
        }
        if topic.starts_with('$') && !matches!(self.levels.first(), Some(Level::Exact(_))) {
            return false;
        }
        let mut topic_levels = topic.split('/');
        for level in &self.levels {
            match level {
                Level::Multi => return true,
                Level::Single | Level::Param(_) => {
                    if topic_levels.next().is_none() {
                        return false;
                    }
                }
                Level::Exact(expected) => match topic_levels.next() {
                    Some(actual) if actual == expected => {}
                    _ => return false,
                },
            }
        }
        topic_levels.next().is_none()
    }

    /// The `{name}` captures of a topic this filter matches, as `(name, value)` pairs.
    /// Returns `None` when the topic does not match.
    pub fn captures<'t>(&self, topic: &'t str) -> Option<Vec<(&str, &'t str)>> {
        self.matches(topic)
            .then(|| self.param_values(topic).collect())
    }

    /// The `{name}` parameters with the levels of `topic` at their positions, without checking
    /// that the topic matches (for topics already routed to this filter).
    pub fn param_values<'t>(&self, topic: &'t str) -> impl Iterator<Item = (&str, &'t str)> {
        self.levels
            .iter()
            .zip(topic.split('/'))
            .filter_map(|(level, value)| match level {
                Level::Param(name) => Some((name.as_str(), value)),
                _ => None,
            })
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for TopicFilter {
    type Err = FilterError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// Splits off `$share/<group>/`; returns the group and where the filter body starts.
fn parse_share(input: &str) -> Result<(Option<String>, usize), FilterError> {
    let Some(rest) = input.strip_prefix(SHARE_PREFIX) else {
        if input == "$share" {
            return Err(FilterError::new(
                FilterErrorKind::ShareMissingGroup,
                0..input.len(),
            ));
        }
        return Ok((None, 0));
    };
    let group_start = SHARE_PREFIX.len();
    let group_end = group_start + rest.find('/').unwrap_or(rest.len());
    let group = &input[group_start..group_end];
    if group.is_empty() {
        return Err(FilterError::new(
            FilterErrorKind::ShareMissingGroup,
            0..group_start,
        ));
    }
    if group.contains(['+', '#']) {
        return Err(FilterError::new(
            FilterErrorKind::ShareGroupInvalid,
            group_start..group_end,
        ));
    }
    if group_end + 1 >= input.len() {
        return Err(FilterError::new(
            FilterErrorKind::ShareMissingFilter,
            0..input.len(),
        ));
    }
    // `$share/g/$share/…` would be read as another shared subscription once the prefix is
    // stripped (for matching, and by the broker).
    let body = &input[group_end + 1..];
    if body == "$share" || body.starts_with(SHARE_PREFIX) {
        let level_end = group_end + 1 + body.find('/').unwrap_or(body.len());
        return Err(FilterError::new(
            FilterErrorKind::ShareNested,
            group_end + 1..level_end,
        ));
    }
    Ok((Some(group.to_owned()), group_end + 1))
}

fn parse_level(level: &str, range: Range<usize>, last: bool) -> Result<Level, FilterError> {
    match level {
        "+" => Ok(Level::Single),
        "#" if last => Ok(Level::Multi),
        "#" => Err(FilterError::new(FilterErrorKind::MultiLevelNotLast, range)),
        _ if level.contains(['+', '#']) => {
            Err(FilterError::new(FilterErrorKind::WildcardNotAlone, range))
        }
        _ if level.contains(['{', '}']) => {
            let name = level
                .strip_prefix('{')
                .and_then(|l| l.strip_suffix('}'))
                .filter(|name| is_identifier(name))
                .ok_or_else(|| FilterError::new(FilterErrorKind::InvalidParameter, range))?;
            Ok(Level::Param(name.to_owned()))
        }
        _ => Ok(Level::Exact(level.to_owned())),
    }
}

fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric())
}

/// What is wrong with a topic name used for publishing; see [`validate_topic_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TopicNameError {
    /// The topic is the empty string.
    Empty,
    /// The topic contains `+` or `#` (wildcards are for subscriptions only).
    Wildcard,
    /// The topic is longer than 65 535 bytes.
    TooLong,
    /// The topic contains a NUL character.
    NulCharacter,
}

impl fmt::Display for TopicNameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Empty => "a topic name must not be empty",
            Self::Wildcard => "a topic name must not contain the wildcards `+` or `#`",
            Self::TooLong => "a topic name must not be longer than 65535 bytes",
            Self::NulCharacter => "a topic name must not contain a NUL character",
        })
    }
}

impl std::error::Error for TopicNameError {}

/// Checks that `topic` can be published to: not empty, no wildcard, ≤ 65 535 bytes, no NUL.
///
/// ```
/// # use tars_mqtt::{topic::{TopicNameError, validate_topic_name}};
/// assert!(validate_topic_name("memory/results").is_ok());
/// assert_eq!(validate_topic_name("memory/+"), Err(TopicNameError::Wildcard));
/// ```
pub fn validate_topic_name(topic: &str) -> Result<(), TopicNameError> {
    if topic.is_empty() {
        Err(TopicNameError::Empty)
    } else if topic.len() > MAX_TOPIC_LEN {
        Err(TopicNameError::TooLong)
    } else if topic.bytes().any(|b| matches!(b, b'\0' | b'+' | b'#')) {
        // One pass over the bytes (every received topic is checked): these three are ASCII, so
        // no byte of another character is mistaken for them.
        match topic.contains('\0') {
            true => Err(TopicNameError::NulCharacter),
            false => Err(TopicNameError::Wildcard),
        }
    } else {
        Ok(())
    }
}
