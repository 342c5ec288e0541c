//! Addresses and prefixes in iproute2's own forms (`get_addr_1`, `get_prefix_1` in its
//! lib/utils.c): IPv4 with one to four parts, each a C number no greater than 255, so that
//! `10/8` is 10.0.0.0/8 and `010.1.1.1` is 8.1.1.1; IPv6 as `inet_pton` reads it, without a
//! zone index; `default`, `all` and `any` for the zero-length prefix; and a length that is a
//! number or a dotted IPv4 netmask.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::number::{get_unsigned, strtoul};
use super::{DefaultWord, Family, ParseError, Prefix};

/// A word read as a prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixWord {
    /// `default`, `all` or `any`: length 0, and no family of its own.
    Zero(DefaultWord),
    /// An address with a length, where `len_given` is false when the word had no `/`.
    Prefix { prefix: Prefix, len_given: bool },
}

/// An address word before its length is read.
enum AddrWord {
    Zero(DefaultWord),
    Addr(IpAddr),
}

/// Parses `ADDR[/LEN]` where the family, when known, must match.
pub(super) fn parse_prefix(word: &str, family: Option<Family>) -> Result<PrefixWord, ParseError> {
    let (addr_text, len_text) = match word.split_once('/') {
        Some((addr, len)) => (addr, Some(len)),
        None => (word, None),
    };

    let addr =
        match get_addr(addr_text, family, "prefix").map_err(|r| ParseError::at_word(word, r))? {
            AddrWord::Zero(zero) if len_text.is_some() => {
                return Err(ParseError::at_word(
                    word,
                    format!("\"{}\" takes no prefix length", default_word_str(zero)),
                ));
            }
            AddrWord::Zero(zero) => return Ok(PrefixWord::Zero(zero)),
            AddrWord::Addr(addr) => addr,
        };

    let max = Family::of(&addr).max_prefix_len();
    let Some(len_text) = len_text else {
        return Ok(PrefixWord::Prefix {
            prefix: Prefix { addr, len: max },
            len_given: false,
        });
    };
    let len = prefix_len(len_text, max).map_err(|r| ParseError::at_word(word, r))?;
    Ok(PrefixWord::Prefix {
        prefix: Prefix { addr, len },
        len_given: true,
    })
}

/// Parses a single address. `default`, `all` and `any` are rejected because they name no
/// address of their own.
pub(super) fn parse_address(word: &str, family: Option<Family>) -> Result<IpAddr, ParseError> {
    match get_addr(word, family, "address").map_err(|r| ParseError::at_word(word, r))? {
        AddrWord::Addr(addr) => Ok(addr),
        AddrWord::Zero(_) => Err(ParseError::at_word(
            word,
            "expected an address, not a zero-length prefix",
        )),
    }
}

/// Returns true when the word looks like an address or prefix (a leading digit, an IPv6
/// colon or a `/`), so that an error about it can speak of an address rather than of an
/// unknown keyword.
pub(super) fn looks_like_address(word: &str) -> bool {
    word.starts_with(|c: char| c.is_ascii_digit()) || word.contains([':', '/'])
}

/// Returns the word that `DefaultWord` stands for.
pub(super) fn default_word_str(word: DefaultWord) -> &'static str {
    match word {
        DefaultWord::Default => "default",
        DefaultWord::All => "all",
        DefaultWord::Any => "any",
    }
}

/// Reads an address word as iproute2's `__get_addr_1` does, returning the reason on failure.
fn get_addr(text: &str, family: Option<Family>, noun: &str) -> Result<AddrWord, String> {
    match text {
        "default" => return Ok(AddrWord::Zero(DefaultWord::Default)),
        "all" => return Ok(AddrWord::Zero(DefaultWord::All)),
        "any" => return Ok(AddrWord::Zero(DefaultWord::Any)),
        _ => {}
    }

    // iproute2 decides the family by the presence of a colon, then checks it against the
    // family already fixed by earlier words.
    if text.contains(':') {
        if family == Some(Family::Inet) {
            return Err(format!("family mismatch: expected an IPv4 {noun}"));
        }
        return parse_ipv6(text).map(|a| AddrWord::Addr(IpAddr::V6(a)));
    }
    if family == Some(Family::Inet6) {
        return Err(format!("family mismatch: expected an IPv6 {noun}"));
    }
    parse_ipv4(text).map(|a| AddrWord::Addr(IpAddr::V4(a)))
}

fn parse_ipv6(text: &str) -> Result<Ipv6Addr, String> {
    if text.contains('%') {
        return Err(
            "invalid IPv6 address: a zone index is not accepted, name the interface with \"dev\""
                .to_string(),
        );
    }
    if text.starts_with('[') {
        return Err("invalid IPv6 address: brackets are not accepted".to_string());
    }
    text.parse().map_err(|_| "invalid IPv6 address".to_string())
}

/// Reads one to four parts, each a C number (hex, octal or decimal) no greater than 255, with
/// the missing parts zero, as iproute2's `get_addr_ipv4` does.
fn parse_ipv4(text: &str) -> Result<Ipv4Addr, String> {
    let mut octets = [0u8; 4];
    let mut rest = text;
    for (i, octet) in octets.iter_mut().enumerate() {
        let read = strtoul(rest, 0);
        if read.consumed == 0 {
            return Err("invalid IPv4 address".to_string());
        }
        let part = rest.get(..read.consumed).unwrap_or(rest);
        *octet = read
            .value
            .and_then(|v| u8::try_from(v).ok())
            .ok_or_else(|| format!("invalid IPv4 address: part \"{part}\" is greater than 255"))?;

        let after = rest.get(read.consumed..).unwrap_or("");
        if after.is_empty() {
            return Ok(Ipv4Addr::from(octets));
        }
        match after.strip_prefix('.') {
            Some(next) if i < 3 => rest = next,
            Some(_) => return Err("invalid IPv4 address: more than 4 parts".to_string()),
            None => return Err("invalid IPv4 address".to_string()),
        }
    }
    Err("invalid IPv4 address".to_string())
}

/// Reads a prefix length: a base-0 number, or a dotted IPv4 netmask with contiguous bits.
fn prefix_len(text: &str, max: u8) -> Result<u8, String> {
    let len = match get_unsigned(text, 0, u64::from(u32::MAX)) {
        Some(len) => len,
        None => netmask_len(text)?,
    };
    u8::try_from(len)
        .ok()
        .filter(|len| *len <= max)
        .ok_or_else(|| format!("invalid prefix length \"{text}\": the maximum is {max}"))
}

/// Reads a dotted netmask such as `255.255.0.0`. iproute2 reads it with the same address
/// parser, so `default` (and `all`, `any`) count as the mask 0.0.0.0.
fn netmask_len(text: &str) -> Result<u64, String> {
    let mask = match get_addr(text, Some(Family::Inet), "netmask") {
        Ok(AddrWord::Addr(IpAddr::V4(mask))) => u32::from(mask),
        Ok(AddrWord::Zero(_)) => 0,
        _ => return Err(format!("invalid prefix length \"{text}\"")),
    };
    let host = !mask;
    if host & host.wrapping_add(1) != 0 {
        return Err(format!(
            "invalid netmask \"{text}\": the mask bits are not contiguous"
        ));
    }
    Ok(u64::from(mask.count_ones()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(word: &str) -> Result<(String, bool), String> {
        match parse_prefix(word, None) {
            Ok(PrefixWord::Prefix { prefix, len_given }) => Ok((prefix.to_string(), len_given)),
            Ok(PrefixWord::Zero(zero)) => Ok((default_word_str(zero).to_string(), false)),
            Err(e) => Err(e.reason),
        }
    }

    /// A word and what it parses to: the prefix and whether it had a length, or the reason.
    type Case = (&'static str, Result<(&'static str, bool), &'static str>);

    #[test]
    fn prefix_forms() {
        let cases: &[Case] = &[
            ("10.0.0.0/8", Ok(("10.0.0.0/8", true))),
            ("10/8", Ok(("10.0.0.0/8", true))),
            ("10.1", Ok(("10.1.0.0/32", false))),
            ("010.1.1.1", Ok(("8.1.1.1/32", false))),
            ("0x0a.0.0.1", Ok(("10.0.0.1/32", false))),
            ("0x7f.1", Ok(("127.1.0.0/32", false))),
            ("10.0.0.0/255.255.0.0", Ok(("10.0.0.0/16", true))),
            ("10.0.0.0/0x10", Ok(("10.0.0.0/16", true))),
            ("10.0.0.0/010", Ok(("10.0.0.0/8", true))),
            ("10.0.0.0/default", Ok(("10.0.0.0/0", true))),
            ("2001:db8::/32", Ok(("2001:db8::/32", true))),
            ("2001:db8::1", Ok(("2001:db8::1/128", false))),
            ("2001:db8::/255.255.0.0", Ok(("2001:db8::/16", true))),
            ("default", Ok(("default", false))),
            ("all", Ok(("all", false))),
            ("any", Ok(("any", false))),
            (
                "10.2.3.5.78",
                Err("invalid IPv4 address: more than 4 parts"),
            ),
            (
                "10.0.0.256",
                Err("invalid IPv4 address: part \"256\" is greater than 255"),
            ),
            ("10..1", Err("invalid IPv4 address")),
            ("10.", Err("invalid IPv4 address")),
            ("08.1.1.1", Err("invalid IPv4 address")),
            (
                "10.0.0.0/33",
                Err("invalid prefix length \"33\": the maximum is 32"),
            ),
            (
                "2001:db8::/129",
                Err("invalid prefix length \"129\": the maximum is 128"),
            ),
            ("10.0.0.0/abc", Err("invalid prefix length \"abc\"")),
            ("10.0.0.0/", Err("invalid prefix length \"\"")),
            (
                "10.0.0.0/255.0.255.0",
                Err("invalid netmask \"255.0.255.0\": the mask bits are not contiguous"),
            ),
            ("default/0", Err("\"default\" takes no prefix length")),
            (
                "fe80::1%eth0/64",
                Err(
                    "invalid IPv6 address: a zone index is not accepted, name the interface with \"dev\"",
                ),
            ),
            (
                "[2001:db8::1]",
                Err("invalid IPv6 address: brackets are not accepted"),
            ),
            ("2001:db8:::1", Err("invalid IPv6 address")),
            ("Default", Err("invalid IPv4 address")),
        ];
        for (word, expected) in cases {
            let expected = expected
                .map(|(p, given)| (p.to_string(), given))
                .map_err(str::to_string);
            assert_eq!(prefix(word), expected, "{word:?}");
        }
    }

    #[test]
    fn prefix_family_mismatch() {
        let err = parse_prefix("2001:db8::/32", Some(Family::Inet)).unwrap_err();
        assert_eq!(err.reason, "family mismatch: expected an IPv4 prefix");
        let err = parse_address("10.0.0.1", Some(Family::Inet6)).unwrap_err();
        assert_eq!(err.reason, "family mismatch: expected an IPv6 address");
        assert!(parse_prefix("default", Some(Family::Inet6)).is_ok());
    }

    #[test]
    fn address_rejects_zero_prefix() {
        let err = parse_address("default", None).unwrap_err();
        assert_eq!(err.word.as_deref(), Some("default"));
        assert_eq!(err.reason, "expected an address, not a zero-length prefix");
    }
}
