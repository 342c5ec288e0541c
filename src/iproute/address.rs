//! `ip address` tails.

use super::{ParseError, AddressRequest};

/// Parses the words of one `ip address` tail.
pub(super) fn parse(words: &[&str]) -> Result<AddressRequest, ParseError> {
    let _ = words;
    Err(ParseError::incomplete("not implemented yet"))
}

/// Prints the tail in `ip` syntax, without the leading `ip address`.
impl std::fmt::Display for AddressRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self)
    }
}
