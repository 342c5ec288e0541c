//! `ip rule` tails.

use super::{ParseError, RuleRequest};

/// Parses the words of one `ip rule` tail.
pub(super) fn parse(words: &[&str]) -> Result<RuleRequest, ParseError> {
    let _ = words;
    Err(ParseError::incomplete("not implemented yet"))
}

/// Prints the tail in `ip` syntax, without the leading `ip rule`.
impl std::fmt::Display for RuleRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self)
    }
}
