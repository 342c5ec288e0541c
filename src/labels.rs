//! The dehandler label keys and the plan they make for one container start.

use std::collections::HashMap;
use std::fmt;

use thiserror::Error;

use crate::iproute::{self, Object, ParseError, Request};

/// One of the four dehandler labels, in the order they are applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LabelKind {
    /// `PREFIX.address`: `ip address` tails, in the container's network namespace.
    Address,
    /// `PREFIX.route`: `ip route` tails, in the container's network namespace.
    Route,
    /// `PREFIX.rule`: `ip rule` tails, in the container's network namespace.
    Rule,
    /// `PREFIX.host-route`: `ip route` tails, in the host's network namespace.
    HostRoute,
}

impl LabelKind {
    /// All kinds, in the order they are applied.
    pub const ALL: [LabelKind; 4] = [
        LabelKind::Address,
        LabelKind::Route,
        LabelKind::Rule,
        LabelKind::HostRoute,
    ];

    /// Returns the key suffix after the prefix and the dot.
    pub fn suffix(self) -> &'static str {
        match self {
            LabelKind::Address => "address",
            LabelKind::Route => "route",
            LabelKind::Rule => "rule",
            LabelKind::HostRoute => "host-route",
        }
    }

    /// Returns the `ip` object the label's tails belong to.
    pub fn object(self) -> Object {
        match self {
            LabelKind::Address => Object::Address,
            LabelKind::Route | LabelKind::HostRoute => Object::Route,
            LabelKind::Rule => Object::Rule,
        }
    }

    /// Returns true for the label applied in the host's network namespace.
    pub fn on_host(self) -> bool {
        self == LabelKind::HostRoute
    }

    /// Returns the full label key for a prefix, as in `docker-events.route`.
    pub fn key(self, prefix: &str) -> String {
        format!("{prefix}.{}", self.suffix())
    }
}

impl fmt::Display for LabelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.suffix())
    }
}

/// Limits on one label value, so that a hostile label cannot make dehandler do unbounded work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The maximum size of a value in bytes.
    pub max_bytes: usize,
    /// The maximum number of non-empty segments in a value.
    pub max_segments: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 16 * 1024,
            max_segments: 64,
        }
    }
}

/// The reason a label is rejected whole.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LabelError {
    #[error("{0}")]
    Parse(#[from] ParseError),
    #[error("the value is {bytes} bytes, more than the maximum of {max} (MAX_LABEL_BYTES)")]
    TooLarge { bytes: usize, max: usize },
    #[error("the value has {count} segments, more than the maximum of {max} (MAX_SEGMENTS)")]
    TooManySegments { count: usize, max: usize },
}

/// One segment of a label: its 1-based position in the value, counting empty segments, and
/// its request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub position: usize,
    pub request: Request,
}

/// One label of a container, parsed.
#[derive(Debug, Clone)]
pub struct LabelPlan {
    pub kind: LabelKind,
    /// The full key, as in `docker-events.route`.
    pub key: String,
    /// The segments in order, or the error that rejects the whole label.
    pub segments: Result<Vec<Segment>, LabelError>,
}

impl LabelPlan {
    /// Returns the journal step name of a segment, such as `route:2`.
    pub fn step(&self, position: usize) -> String {
        format!("{}:{position}", self.kind)
    }
}

/// Returns true when any of the dehandler labels is present.
pub fn has_any(labels: &HashMap<String, String>, prefix: &str) -> bool {
    LabelKind::ALL
        .iter()
        .any(|kind| labels.contains_key(&kind.key(prefix)))
}

/// Returns the keys that start with the prefix and a dot but name no dehandler label, such as
/// a mistyped `docker-events.routes`, sorted.
pub fn unknown_keys<'a>(labels: &'a HashMap<String, String>, prefix: &str) -> Vec<&'a str> {
    let known: Vec<String> = LabelKind::ALL.iter().map(|kind| kind.key(prefix)).collect();
    let start = format!("{prefix}.");
    let mut unknown: Vec<&str> = labels
        .keys()
        .filter(|key| key.starts_with(&start) && !known.contains(key))
        .map(String::as_str)
        .collect();
    unknown.sort_unstable();
    unknown
}

/// Parses every dehandler label present, in the order they are applied.
///
/// Each label is parsed whole before anything is applied, so a label with a broken segment
/// is rejected whole while the other labels still go ahead.
pub fn plan(labels: &HashMap<String, String>, prefix: &str, limits: Limits) -> Vec<LabelPlan> {
    LabelKind::ALL
        .iter()
        .filter_map(|&kind| {
            let key = kind.key(prefix);
            let value = labels.get(&key)?;
            Some(LabelPlan {
                kind,
                key,
                segments: parse_label(kind.object(), value, limits),
            })
        })
        .collect()
}

/// Parses one label value within the limits.
pub fn parse_label(
    object: Object,
    value: &str,
    limits: Limits,
) -> Result<Vec<Segment>, LabelError> {
    if value.len() > limits.max_bytes {
        return Err(LabelError::TooLarge {
            bytes: value.len(),
            max: limits.max_bytes,
        });
    }
    let count = iproute::split_segments(value).count();
    if count > limits.max_segments {
        return Err(LabelError::TooManySegments {
            count,
            max: limits.max_segments,
        });
    }
    let requests = iproute::parse_value(object, value)?;
    let segments = iproute::split_segments(value)
        .zip(requests)
        .map(|((position, _), request)| Segment { position, request })
        .collect();
    Ok(segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn plan_orders_labels() {
        let labels = labels(&[
            ("x.host-route", "add 192.0.2.0/24 via 10.0.0.2"),
            ("x.rule", "add from 10.0.0.2 table 100"),
            ("x.route", "add default via 10.0.0.1"),
            ("x.address", "add 10.0.0.2/24 dev eth0"),
            ("other.route", "add default via 10.0.0.1"),
        ]);
        let kinds: Vec<LabelKind> = plan(&labels, "x", Limits::default())
            .iter()
            .map(|p| p.kind)
            .collect();
        assert_eq!(kinds, LabelKind::ALL.to_vec());
    }

    #[test]
    fn plan_ignores_other_prefixes() {
        let labels = labels(&[("docker-events.route", "add default via 10.0.0.1")]);
        assert!(plan(&labels, "x", Limits::default()).is_empty());
        assert!(!has_any(&labels, "x"));
        assert!(has_any(&labels, "docker-events"));
    }

    #[test]
    fn segments_keep_positions_of_value() {
        let value = ";add default via 10.0.0.1;; del 10.1.0.0/16\n";
        let segments = parse_label(Object::Route, value, Limits::default()).unwrap();
        let positions: Vec<usize> = segments.iter().map(|s| s.position).collect();
        assert_eq!(positions, [2, 4]);
    }

    #[test]
    fn limits_reject_large_values() {
        let limits = Limits {
            max_bytes: 40,
            max_segments: 2,
        };
        let long = "add 10.0.0.0/8 via 10.0.0.1; add 10.1.0.0/16 via 10.0.0.1";
        assert_eq!(
            parse_label(Object::Route, long, limits),
            Err(LabelError::TooLarge {
                bytes: long.len(),
                max: 40
            })
        );
        let many = "del 1.0.0.0/8;del 2.0.0.0/8;del 3/8";
        assert_eq!(
            parse_label(Object::Route, many, limits),
            Err(LabelError::TooManySegments { count: 3, max: 2 })
        );
    }

    #[test]
    fn unknown_keys_with_prefix_are_listed() {
        let labels = labels(&[
            ("x.route", "add default via 10.0.0.1"),
            ("x.routes", "add default via 10.0.0.1"),
            ("x.roue", "del default"),
            ("xy.route", "del default"),
            ("other", "x"),
        ]);
        assert_eq!(unknown_keys(&labels, "x"), ["x.roue", "x.routes"]);
    }

    #[test]
    fn host_route_is_a_route_on_host() {
        assert_eq!(LabelKind::HostRoute.object(), Object::Route);
        assert!(LabelKind::HostRoute.on_host());
        assert_eq!(LabelKind::HostRoute.key("p"), "p.host-route");
    }
}
