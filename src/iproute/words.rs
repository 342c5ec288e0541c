//! The words of one tail: a cursor over them, keyword lookup in iproute2's order, the leading
//! `-4`/`-6` extension and interface-name checks.

use super::{Family, ParseError};

/// How iproute2 compares a word with a keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Match {
    /// `strcmp`: the whole keyword only.
    Exact,
    /// `matches`: any non-empty prefix of the keyword.
    Prefix,
}

/// One keyword of a table: its full name, how it matches and what it means.
pub(super) type Keyword<K> = (&'static str, Match, K);

/// Finds the first keyword in `table` that `word` selects, as iproute2's if/else chains do.
/// Returns the meaning and the keyword's full name.
pub(super) fn lookup<K: Copy>(table: &[Keyword<K>], word: &str) -> Option<(K, &'static str)> {
    table
        .iter()
        .find(|(name, how, _)| match how {
            Match::Exact => *name == word,
            Match::Prefix => !word.is_empty() && name.starts_with(word),
        })
        .map(|(name, _, key)| (*key, *name))
}

/// Names a keyword for messages: `"dsfield"`, or `"d" (read as "dsfield")` for an
/// abbreviation, because iproute2's abbreviations are a common surprise.
pub(super) fn describe(typed: &str, full: &str) -> String {
    if typed == full {
        format!("\"{full}\"")
    } else {
        format!("\"{typed}\" (read as \"{full}\")")
    }
}

/// A cursor over the words of one tail.
#[derive(Debug, Clone)]
pub(super) struct Words<'a> {
    words: &'a [&'a str],
    pos: usize,
}

impl<'a> Words<'a> {
    /// Starts at the first word.
    pub fn new(words: &'a [&'a str]) -> Self {
        Words { words, pos: 0 }
    }

    /// Returns the next word and moves past it.
    pub fn next_word(&mut self) -> Option<&'a str> {
        let word = self.words.get(self.pos).copied();
        if word.is_some() {
            self.pos += 1;
        }
        word
    }

    /// Returns the next word without moving.
    pub fn peek(&self) -> Option<&'a str> {
        self.words.get(self.pos).copied()
    }

    /// Returns the value after a keyword, or an error naming the keyword when the tail ended.
    pub fn value(&mut self, typed: &str, full: &str) -> Result<&'a str, ParseError> {
        self.next_word().ok_or_else(|| {
            ParseError::incomplete(format!(
                "a value is missing after {}",
                describe(typed, full)
            ))
        })
    }

    /// Returns true when every word has been read.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.words.len()
    }
}

/// Splits off a leading `-4` or `-6` word, the one extension of iproute2's tail syntax: it
/// sets the family as `ip -4` or `ip -6` would.
pub(super) fn family_option<'a>(words: &'a [&'a str]) -> (Option<Family>, &'a [&'a str]) {
    match words.split_first() {
        Some((&"-4", rest)) => (Some(Family::Inet), rest),
        Some((&"-6", rest)) => (Some(Family::Inet6), rest),
        _ => (None, words),
    }
}

/// Prints the `-4`/`-6` word for a family that the printed tail would not infer.
pub(super) fn family_prefix(family: Family, inferred: Family) -> &'static str {
    match (family == inferred, family) {
        (true, _) => "",
        (false, Family::Inet) => "-4 ",
        (false, Family::Inet6) => "-6 ",
    }
}

/// Checks an interface name the way the kernel's `dev_valid_name` and iproute2's
/// `check_ifname` do: 1 to 15 bytes, not `.` or `..`, no `/` and no whitespace.
pub(super) fn interface_name(word: &str) -> Result<String, ParseError> {
    if word.len() > 15 {
        return Err(ParseError::at_word(
            word,
            "invalid interface name: longer than 15 bytes",
        ));
    }
    device_name(word)
}

/// Checks the device of a `dev` word, which `ip` looks up by name or by alternative name: an
/// interface name, or an alternative name of up to 127 bytes (the kernel's ALTIFNAMSIZ less
/// the terminating NUL).
pub(super) fn device_name(word: &str) -> Result<String, ParseError> {
    let reason = if word.len() > 127 {
        Some("invalid device name: longer than 127 bytes")
    } else if word.is_empty() || word == "." || word == ".." {
        Some("invalid interface name")
    } else if word.contains('/') {
        Some("invalid interface name: it contains \"/\"")
    } else if word.chars().any(char::is_whitespace) {
        Some("invalid interface name: it contains whitespace")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ParseError::at_word(word, reason)),
        None => Ok(word.to_string()),
    }
}

/// Rejects a verb that `ip` has but labels do not support, or an unknown one.
pub(super) fn unsupported_verb(word: &str, known: &[&str], supported: &str) -> ParseError {
    let reason = match known
        .iter()
        .find(|v| !word.is_empty() && v.starts_with(word))
    {
        Some(verb) => format!("the verb \"{verb}\" is not supported in labels: use {supported}"),
        None => format!("unknown verb: expected {supported}"),
    };
    ParseError::at_word(word, reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Key {
        Tos,
        Table,
    }

    #[test]
    fn first_match_wins() {
        let table: &[Keyword<Key>] = &[
            ("tos", Match::Exact, Key::Tos),
            ("table", Match::Prefix, Key::Table),
        ];
        assert_eq!(lookup(table, "t"), Some((Key::Table, "table")));
        assert_eq!(lookup(table, "tos"), Some((Key::Tos, "tos")));
        assert_eq!(lookup(table, "to"), None);
        assert_eq!(lookup(table, ""), None);
        assert_eq!(lookup(table, "tables"), None);
    }

    #[test]
    fn family_option_word() {
        assert_eq!(
            family_option(&["-6", "add"]),
            (Some(Family::Inet6), &["add"][..])
        );
        assert_eq!(family_option(&["-4"]), (Some(Family::Inet), &[][..]));
        assert_eq!(family_option(&["add"]), (None, &["add"][..]));
    }

    #[test]
    fn interface_names() {
        assert!(interface_name("eth0.100").is_ok());
        assert!(interface_name("br-b2eb147102f3").is_ok());
        assert!(interface_name("veth@if5").is_ok());
        let cases = [
            (
                "abcdefghijklmnop",
                "invalid interface name: longer than 15 bytes",
            ),
            ("a/b", "invalid interface name: it contains \"/\""),
            ("..", "invalid interface name"),
        ];
        for (word, reason) in cases {
            assert_eq!(interface_name(word).unwrap_err().reason, reason, "{word:?}");
        }
    }

    #[test]
    fn device_names_include_alternative_names() {
        assert!(device_name("abcdefghijklmnop").is_ok());
        assert!(device_name(&"a".repeat(127)).is_ok());
        let cases = [
            (
                "a".repeat(128),
                "invalid device name: longer than 127 bytes",
            ),
            (
                "a/b".to_string(),
                "invalid interface name: it contains \"/\"",
            ),
            (
                "a b".to_string(),
                "invalid interface name: it contains whitespace",
            ),
        ];
        for (word, reason) in cases {
            assert_eq!(device_name(&word).unwrap_err().reason, reason, "{word:?}");
        }
    }
}
