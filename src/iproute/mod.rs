//! The `ip address|route|rule` argument-tail parser and the typed requests it produces.
//!
//! A label value is a list of tails separated by `;` or newlines. Each tail becomes one
//! [`Request`], which carries only what the user wrote; the defaults that iproute2 fills in
//! (protocol `boot`, scope `link` for a route without a gateway, table `main`) are decided by the
//! `effective_*` methods, so that a request prints back exactly as it was written.
//!
//! Keywords are case-sensitive and abbreviate as in iproute2: the first keyword in iproute2's own
//! order that the word is a prefix of wins.

mod address;
mod error;
mod flush;
mod lint;
mod names;
mod number;
mod prefix;
mod request;
mod route;
mod rule;
mod words;

use std::fmt;
use std::net::IpAddr;

pub use error::ParseError;
pub use lint::{Warning, lint_segment, lint_value};

/// The object a label configures, as the `ip` subcommand of the same name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Object {
    Address,
    Route,
    Rule,
}

impl Object {
    /// Returns the `ip` subcommand name.
    pub fn as_str(self) -> &'static str {
        match self {
            Object::Address => "address",
            Object::Route => "route",
            Object::Rule => "rule",
        }
    }
}

impl fmt::Display for Object {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Object {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "address" => Ok(Object::Address),
            "route" => Ok(Object::Route),
            "rule" => Ok(Object::Rule),
            other => Err(format!(
                "invalid object {other:?}: expected address, route or rule"
            )),
        }
    }
}

/// An address family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Inet,
    Inet6,
}

impl Family {
    /// Returns the family of an address.
    pub fn of(addr: &IpAddr) -> Family {
        match addr {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }

    /// Returns the maximum prefix length of the family.
    pub fn max_prefix_len(self) -> u8 {
        match self {
            Family::Inet => 32,
            Family::Inet6 => 128,
        }
    }

    /// Returns the `ip` option that selects the family: `-4` or `-6`.
    pub fn option(self) -> &'static str {
        match self {
            Family::Inet => "-4",
            Family::Inet6 => "-6",
        }
    }
}

/// An address with a prefix length, as in `192.0.2.1/24` or `2001:db8::/32`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// Returns the family of the address.
    pub fn family(&self) -> Family {
        Family::of(&self.addr)
    }

    /// Returns true when bits beyond the prefix length are set.
    pub fn has_host_bits(&self) -> bool {
        match self.addr {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                self.len < 32 && bits & (u32::MAX >> self.len) != 0
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                self.len < 128 && bits & (u128::MAX >> self.len) != 0
            }
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

/// One parsed argument tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Address(AddressRequest),
    Route(RouteRequest),
    Rule(RuleRequest),
    AddressFlush(AddressFlush),
    RouteFlush(RouteFlush),
    RuleFlush(RuleFlush),
}

impl Request {
    /// Returns the object the request configures.
    pub fn object(&self) -> Object {
        match self {
            Request::Address(_) | Request::AddressFlush(_) => Object::Address,
            Request::Route(_) | Request::RouteFlush(_) => Object::Route,
            Request::Rule(_) | Request::RuleFlush(_) => Object::Rule,
        }
    }

    /// Returns the argument tail in `ip` syntax, without `ip` and the object.
    pub fn tail(&self) -> String {
        match self {
            Request::Address(r) => r.to_string(),
            Request::Route(r) => r.to_string(),
            Request::Rule(r) => r.to_string(),
            Request::AddressFlush(r) => r.to_string(),
            Request::RouteFlush(r) => r.to_string(),
            Request::RuleFlush(r) => r.to_string(),
        }
    }
}

/// Prints the request as the `ip` command that does the same, for example
/// `ip route add 10.0.0.0/8 via 192.0.2.1`, or `ip -6 route delete default` when the tail
/// starts with the `-6` extension.
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let tail = self.tail();
        let object = self.object();
        match tail.split_once(' ') {
            Some((option @ ("-4" | "-6"), rest)) => write!(f, "ip {option} {object} {rest}"),
            _ => write!(f, "ip {object} {tail}"),
        }
    }
}

/// Parses one label value: tails separated by `;` or newlines, empty segments skipped.
///
/// Every segment is parsed before the result is returned, so a value with one broken segment
/// yields an error and no requests.
pub fn parse_value(object: Object, value: &str) -> Result<Vec<Request>, ParseError> {
    let mut requests = Vec::new();
    for (index, segment) in split_segments(value) {
        let request = parse_segment(object, segment).map_err(|e| e.in_segment(index, segment))?;
        requests.push(request);
    }
    Ok(requests)
}

/// Splits a label value into its non-empty segments, each with its 1-based position among
/// all segments, empty ones included, so that an error points at the segment the user counts.
pub fn split_segments(value: &str) -> impl Iterator<Item = (usize, &str)> {
    value
        .split([';', '\n'])
        .enumerate()
        .map(|(i, s)| (i + 1, s.trim()))
        .filter(|(_, s)| !s.is_empty())
}

/// Parses one segment (a single argument tail) of the given object.
pub fn parse_segment(object: Object, segment: &str) -> Result<Request, ParseError> {
    let words: Vec<&str> = segment.split_ascii_whitespace().collect();
    if flush::is_flush(&words) {
        return match object {
            Object::Address => flush::parse_address(&words).map(Request::AddressFlush),
            Object::Route => flush::parse_route(&words).map(Request::RouteFlush),
            Object::Rule => flush::parse_rule(&words).map(Request::RuleFlush),
        };
    }
    match object {
        Object::Address => address::parse(&words).map(Request::Address),
        Object::Route => route::parse(&words).map(Request::Route),
        Object::Rule => rule::parse(&words).map(Request::Rule),
    }
}

pub use request::*;

#[cfg(test)]
mod tests {
    use super::*;

    /// Real label values: id, object, value, and where the form comes from.
    const CORPUS: &str = include_str!("../../tests/data/ip-tails.tsv");

    /// The corpus rows that must be rejected, with the word at fault.
    const CORPUS_REJECTED: &[(&str, Option<&str>)] = &[
        ("p02", Some("10.2.3.5.78")),
        ("p37", Some("ADD")),
        ("p38", Some("fe80::1%eth0/64")),
        ("p39", Some("10.9.0.0/33")),
        ("p40", Some("foo")),
        ("p78", Some("eth0")),
    ];

    fn corpus_rows() -> impl Iterator<Item = (&'static str, Object, &'static str)> {
        CORPUS
            .lines()
            .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
            .map(|line| {
                let mut fields = line.split('\t');
                let id = fields.next().unwrap();
                let object = fields.next().unwrap().parse().unwrap();
                let value = fields.next().unwrap();
                (id, object, value)
            })
    }

    #[test]
    fn corpus_parses_except_rejected_rows() {
        let mut rows = 0;
        for (id, object, value) in corpus_rows() {
            rows += 1;
            let expected = CORPUS_REJECTED.iter().find(|(rejected, _)| *rejected == id);
            match (parse_value(object, value), expected) {
                (Ok(requests), None) => assert!(!requests.is_empty(), "{id}"),
                (Err(err), Some((_, word))) => assert_eq!(err.word.as_deref(), *word, "{id}"),
                (Ok(requests), Some(_)) => panic!("{id} parsed but must be rejected: {requests:?}"),
                (Err(err), None) => panic!("{id} must parse: {err}"),
            }
        }
        assert_eq!(rows, 80);
    }

    #[test]
    fn corpus_round_trip() {
        for (id, object, value) in corpus_rows() {
            let Ok(requests) = parse_value(object, value) else {
                continue;
            };
            for request in requests {
                let tail = request.tail();
                let again = parse_segment(object, &tail).unwrap_or_else(|e| panic!("{id}: {e}"));
                assert_eq!(again, request, "{id} printed as {tail:?}");
            }
        }
    }

    #[test]
    fn value_errors_name_the_segment() {
        let err =
            parse_value(Object::Route, "add 10.0.0.0/8 dev eth0;; add 10.0.0.0/33").unwrap_err();
        assert_eq!(err.segment_index, 3);
        assert_eq!(err.segment, "add 10.0.0.0/33");
        assert_eq!(err.word.as_deref(), Some("10.0.0.0/33"));
        assert_eq!(
            err.to_string(),
            "segment 3 \"add 10.0.0.0/33\": at \"10.0.0.0/33\": invalid prefix length \"33\": the maximum is 32"
        );
    }

    #[test]
    fn value_skips_empty_segments() {
        let requests = parse_value(Object::Route, " ; add 10.9.0.0/16 via 172.30.0.1;;\n").unwrap();
        assert_eq!(requests.len(), 1);
    }

    #[test]
    fn request_prints_ip_command() {
        let cases = [
            (
                Object::Route,
                "-6 del default",
                "ip -6 route delete default",
            ),
            (
                Object::Route,
                "add 10/8 dev eth0",
                "ip route add 10.0.0.0/8 dev eth0",
            ),
            (
                Object::Address,
                "add 10.0.0.1/8 dev eth0",
                "ip address add 10.0.0.1/8 dev eth0",
            ),
            (
                Object::Rule,
                "-6 add fwmark 1 table 5",
                "ip -6 rule add fwmark 0x1 table 5",
            ),
        ];
        for (object, tail, command) in cases {
            let request = parse_segment(object, tail).unwrap();
            assert_eq!(request.to_string(), command, "{tail:?}");
        }
    }

    /// Words that reach every branch of the parsers: keywords, their abbreviations, values
    /// of each kind and the edge cases of C number parsing.
    const VOCABULARY: &[&str] = &[
        "-6",
        "add",
        "del",
        "to",
        "via",
        "inet6",
        "dev",
        "eth0",
        "lock",
        "nexthop",
        "weight",
        "0",
        "256",
        "-1",
        "0x",
        "10/8",
        "default",
        "any",
        "2001:db8::1/64",
        "fe80::1%x",
        "/",
        "+",
        "1.5s",
        "4294967295.9",
        "t",
        "d",
        "p",
        "s",
        "b",
        "u",
        "goto",
        "from",
        "uidrange",
        "1-",
        "brd",
        "peer",
        "valid_lft",
        "",
        "rtt",
        "table",
    ];

    #[test]
    fn parsers_never_panic() {
        for a in VOCABULARY {
            for b in VOCABULARY {
                for c in VOCABULARY {
                    let words = ["add", a, b, c];
                    let _ = address::parse(&words);
                    let _ = route::parse(&words);
                    let _ = rule::parse(&words);
                    let words = [*a, b, c];
                    let _ = address::parse(&words);
                    let _ = route::parse(&words);
                    let _ = rule::parse(&words);
                }
            }
        }
    }
}
