//! `ip route` tails.

use super::{ParseError, RouteRequest};

/// Parses the words of one `ip route` tail.
pub(super) fn parse(words: &[&str]) -> Result<RouteRequest, ParseError> {
    let _ = words;
    Err(ParseError::incomplete("not implemented yet"))
}

/// Prints the tail in `ip` syntax, without the leading `ip route`.
impl std::fmt::Display for RouteRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self)
    }
}
