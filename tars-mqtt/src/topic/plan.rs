//! The subscription plan: the filters actually sent in SUBSCRIBE.
//!
//! A broker may deliver one copy of a message per matching subscription (rumqttd does; MQTT
//! 3.1.1 §3.3.5 allows it). Routing happens locally, so the service subscribes to a set of
//! filters no two of which can match the same topic, covering every route: overlapping filters
//! are replaced by their join (`a/+/c` and `a/b/+` → `a/+/+`, `a/b` and `a/#` → `a/#`). Messages
//! the join lets through that no route wants are dropped at intake.

use std::collections::BTreeMap;

use super::{Level, TopicFilter};
use crate::QoS;

#[derive(Debug, Clone, PartialEq, Eq)]
enum L {
    Exact(String),
    Plus,
    Hash,
}

fn levels(filter: &TopicFilter) -> Vec<L> {
    filter
        .levels()
        .iter()
        .map(|l| match l {
            Level::Exact(s) => L::Exact(s.clone()),
            Level::Single | Level::Param(_) => L::Plus,
            Level::Multi => L::Hash,
        })
        .collect()
}

fn is_dollar(level: Option<&L>) -> bool {
    matches!(level, Some(L::Exact(s)) if s.starts_with('$'))
}

/// Whether some topic matches both filters.
fn intersect(a: &[L], b: &[L]) -> bool {
    // A leading wildcard never matches a `$` topic.
    if (is_dollar(a.first()) && matches!(b.first(), Some(L::Plus | L::Hash)))
        || (is_dollar(b.first()) && matches!(a.first(), Some(L::Plus | L::Hash)))
    {
        return false;
    }
    for i in 0.. {
        match (a.get(i), b.get(i)) {
            (Some(L::Hash), _) | (_, Some(L::Hash)) => return true,
            (None, None) => return true,
            (None, _) | (_, None) => return false,
            (Some(L::Exact(x)), Some(L::Exact(y))) if x != y => return false,
            _ => {}
        }
    }
    unreachable!("the loop returns")
}

/// The most specific filter matching every topic either filter matches.
fn join(a: &[L], b: &[L]) -> Vec<L> {
    let mut out = Vec::new();
    for i in 0.. {
        match (a.get(i), b.get(i)) {
            (None, None) => break,
            (Some(L::Hash), _) | (_, Some(L::Hash)) | (None, _) | (_, None) => {
                out.push(L::Hash);
                break;
            }
            (Some(x), Some(y)) if x == y => out.push(x.clone()),
            _ => out.push(L::Plus),
        }
    }
    out
}

fn render(group: &Option<String>, levels: &[L]) -> String {
    let body: Vec<&str> = levels
        .iter()
        .map(|l| match l {
            L::Exact(s) => s.as_str(),
            L::Plus => "+",
            L::Hash => "#",
        })
        .collect();
    match group {
        Some(g) => format!("$share/{g}/{}", body.join("/")),
        None => body.join("/"),
    }
}

/// Non-overlapping filters (per share group) covering all of `wanted`, each with the highest
/// QoS of what it covers.
pub(crate) fn subscription_plan<'a>(
    wanted: impl IntoIterator<Item = (&'a TopicFilter, QoS)>,
) -> Vec<(String, QoS)> {
    let mut groups: BTreeMap<Option<String>, Vec<(Vec<L>, QoS)>> = BTreeMap::new();
    for (filter, qos) in wanted {
        groups
            .entry(filter.share_group().map(str::to_owned))
            .or_default()
            .push((levels(filter), qos));
    }
    let mut plan = Vec::new();
    for (group, mut filters) in groups {
        'merge: loop {
            for i in 0..filters.len() {
                for j in i + 1..filters.len() {
                    if intersect(&filters[i].0, &filters[j].0) {
                        let (b, qb) = filters.remove(j);
                        let (a, qa) = &mut filters[i];
                        *a = join(a, &b);
                        *qa = (*qa).max(qb);
                        continue 'merge;
                    }
                }
            }
            break;
        }
        plan.extend(filters.iter().map(|(l, q)| (render(&group, l), *q)));
    }
    plan
}

/// Whether the planned subscription `general` already delivers everything `specific` matches.
pub(crate) fn covers(general: &str, specific: &TopicFilter) -> bool {
    let Ok(general) = TopicFilter::parse(general) else {
        return false;
    };
    if general.share_group() != specific.share_group() {
        return false;
    }
    let (g, s) = (levels(&general), levels(specific));
    intersect(&g, &s) && join(&g, &s) == g
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(filters: &[(&str, u8)]) -> Vec<(String, u8)> {
        let parsed: Vec<(TopicFilter, QoS)> = filters
            .iter()
            .map(|(f, q)| (TopicFilter::parse(f).unwrap(), QoS::from_u8(*q).unwrap()))
            .collect();
        let mut out: Vec<(String, u8)> = subscription_plan(parsed.iter().map(|(f, q)| (f, *q)))
            .into_iter()
            .map(|(f, q)| (f, q as u8))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn disjoint_filters_are_kept() {
        assert_eq!(
            plan(&[
                ("a/b", 1),
                ("a/c", 0),
                ("a/b/c", 0),
                ("$SYS/#", 0),
                ("#", 0)
            ]),
            [("#".to_owned(), 1), ("$SYS/#".to_owned(), 0)]
        );
        assert_eq!(
            plan(&[("a/b", 1), ("a/c", 0)]),
            [("a/b".to_owned(), 1), ("a/c".to_owned(), 0)]
        );
    }

    #[test]
    fn overlapping_filters_merge_into_their_join() {
        assert_eq!(
            plan(&[("a/+/c", 0), ("a/b/+", 1)]),
            [("a/+/+".to_owned(), 1)]
        );
        assert_eq!(
            plan(&[("a/b", 0), ("a/#", 0), ("a/x/y", 1)]),
            [("a/#".to_owned(), 1)]
        );
        assert_eq!(
            plan(&[("a/{room}/t", 0), ("a/k/t", 0)]),
            [("a/+/t".to_owned(), 0)]
        );
        assert_eq!(
            plan(&[
                ("$share/g/a/+", 1),
                ("$share/g/a/b", 0),
                ("$share/h/a/b", 0),
                ("a/b", 0)
            ]),
            [
                ("$share/g/a/+".to_owned(), 1),
                ("$share/h/a/b".to_owned(), 0),
                ("a/b".to_owned(), 0)
            ]
        );
    }

    #[test]
    fn covering_is_detected() {
        let f = |s: &str| TopicFilter::parse(s).unwrap();
        assert!(covers("a/#", &f("a/b/c")));
        assert!(covers("a/+", &f("a/b")));
        assert!(!covers("a/b", &f("a/+")));
        assert!(!covers("a/+/c", &f("a/b/+")));
        assert!(!covers("#", &f("$SYS/x")));
    }
}
