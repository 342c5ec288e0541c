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
mod request;
mod route;
mod rule;

use std::fmt;
use std::net::IpAddr;

pub use error::ParseError;

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
}

impl Request {
    /// Returns the object the request configures.
    pub fn object(&self) -> Object {
        match self {
            Request::Address(_) => Object::Address,
            Request::Route(_) => Object::Route,
            Request::Rule(_) => Object::Rule,
        }
    }
}

/// Prints the request as the `ip` command that does the same, for example
/// `ip route add 10.0.0.0/8 via 192.0.2.1`.
impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Address(r) => write!(f, "ip address {r}"),
            Request::Route(r) => write!(f, "ip route {r}"),
            Request::Rule(r) => write!(f, "ip rule {r}"),
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
    match object {
        Object::Address => address::parse(&words).map(Request::Address),
        Object::Route => route::parse(&words).map(Request::Route),
        Object::Rule => rule::parse(&words).map(Request::Rule),
    }
}

pub use request::*;
