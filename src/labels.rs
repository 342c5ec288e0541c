//! The dehandler label keys and the plan they make for one container start.

use std::collections::HashMap;
use std::fmt;

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

/// One label of a container, parsed.
#[derive(Debug, Clone)]
pub struct LabelPlan {
    pub kind: LabelKind,
    /// The full key, as in `docker-events.route`.
    pub key: String,
    /// The requests in order, or the error that rejects the whole label.
    pub requests: Result<Vec<Request>, ParseError>,
}

/// Returns true when any of the dehandler labels is present.
pub fn has_any(labels: &HashMap<String, String>, prefix: &str) -> bool {
    LabelKind::ALL
        .iter()
        .any(|kind| labels.contains_key(&kind.key(prefix)))
}

/// Parses every dehandler label present, in the order they are applied.
///
/// Each label is parsed whole before anything is applied, so a label with a broken segment
/// is rejected whole while the other labels still go ahead.
pub fn plan(labels: &HashMap<String, String>, prefix: &str) -> Vec<LabelPlan> {
    LabelKind::ALL
        .iter()
        .filter_map(|&kind| {
            let key = kind.key(prefix);
            let value = labels.get(&key)?;
            let requests = iproute::parse_value(kind.object(), value);
            Some(LabelPlan {
                kind,
                key,
                requests,
            })
        })
        .collect()
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
        let kinds: Vec<LabelKind> = plan(&labels, "x").iter().map(|p| p.kind).collect();
        assert_eq!(kinds, LabelKind::ALL.to_vec());
    }

    #[test]
    fn plan_ignores_other_prefixes() {
        let labels = labels(&[("docker-events.route", "add default via 10.0.0.1")]);
        assert!(plan(&labels, "x").is_empty());
        assert!(!has_any(&labels, "x"));
        assert!(has_any(&labels, "docker-events"));
    }

    #[test]
    fn host_route_is_a_route_on_host() {
        assert_eq!(LabelKind::HostRoute.object(), Object::Route);
        assert!(LabelKind::HostRoute.on_host());
        assert_eq!(LabelKind::HostRoute.key("p"), "p.host-route");
    }
}
