//! Warnings about tails that parse but probably do not say what their author meant: iproute2
//! abbreviations that resolve to a surprising keyword, numbers that C reads as octal, and
//! route prefixes with host bits set.
//!
//! The scan reads the words of a tail that parsed, with the parser's own keyword tables, so a
//! word is judged by the meaning the parser gave it.

use std::fmt;
use std::net::IpAddr;

use super::names;
use super::words::{Words, describe, family_option, lookup};
use super::{Destination, Object, Prefix, Request, RouteRequest};
use super::{address, route, rule, split_segments};

/// A form that iproute2 accepts but that is likely a mistake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// The 1-based position of the segment in the label value; 0 for a lone segment.
    pub segment_index: usize,
    /// The segment text, trimmed; empty for a lone segment.
    pub segment: String,
    /// The word the warning is about.
    pub word: String,
    /// The meaning the word has, and the fix.
    pub reason: String,
}

impl Warning {
    fn at_word(word: &str, reason: impl Into<String>) -> Self {
        Warning {
            segment_index: 0,
            segment: String::new(),
            word: word.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.segment_index > 0 {
            write!(f, "segment {} {:?}: ", self.segment_index, self.segment)?;
        }
        write!(f, "at {:?}: {}", self.word, self.reason)
    }
}

/// Returns the warnings for every segment of a label value that parses. Segments that do not
/// parse get no warnings: [`super::parse_value`] reports them as errors.
pub fn lint_value(object: Object, value: &str) -> Vec<Warning> {
    let mut warnings = Vec::new();
    for (index, segment) in split_segments(value) {
        for mut warning in lint_segment(object, segment) {
            warning.segment_index = index;
            warning.segment = segment.to_string();
            warnings.push(warning);
        }
    }
    warnings
}

/// Returns the warnings for one segment, or none when it does not parse.
pub fn lint_segment(object: Object, segment: &str) -> Vec<Warning> {
    let Ok(request) = super::parse_segment(object, segment) else {
        return Vec::new();
    };
    let all_words: Vec<&str> = segment.split_ascii_whitespace().collect();
    let (_, words) = family_option(&all_words);
    // The first word is the verb, which parsed.
    let mut words = Words::new(words.get(1..).unwrap_or(&[]));

    let mut warnings = Vec::new();
    match &request {
        Request::Address(_) => scan_address(&mut words, &mut warnings),
        Request::Route(r) => scan_route(r, &mut words, &mut warnings),
        Request::Rule(_) => scan_rule(&mut words, &mut warnings),
        // Flush selectors have their own keywords, which the scans above do not read.
        Request::AddressFlush(_) | Request::RouteFlush(_) | Request::RuleFlush(_) => {}
    }
    warnings
}

// ---------------------------------------------------------------------------------------------
// numbers

/// Warns about a word with a part that C's `strtoul` base 0 reads as octal to a value other
/// than its decimal reading: `010` is 8, and `010.1.1.1` is 8.1.1.1. IPv6 words are skipped
/// because `inet_pton` reads their groups as hex.
fn check_octal(word: &str, warnings: &mut Vec<Warning>) {
    if word.contains(':') {
        return;
    }
    let surprising = word.split(['.', '/', '-']).find(|part| {
        let octal = part.len() > 1
            && part.starts_with('0')
            && part.bytes().all(|b| (b'0'..=b'7').contains(&b));
        octal && u64::from_str_radix(part, 8).ok() != part.parse::<u64>().ok()
    });
    let Some(part) = surprising else {
        return;
    };
    let octal = u64::from_str_radix(part, 8).unwrap_or(0);
    let decimal = part.trim_start_matches('0');
    warnings.push(Warning::at_word(
        word,
        format!(
            "the leading 0 makes \"{part}\" octal, as in C: it reads as {octal}; \
             write {decimal} without the 0 for decimal, or 0x{octal:x} for hex"
        ),
    ));
}

/// Warns about the dsfield abbreviations `d` to `dsfiel`: iproute2 tests `dev` as a whole word
/// only, so `d eth0` means "tos eth0".
fn check_dsfield(typed: &str, full: &str, device_keyword: &str, warnings: &mut Vec<Warning>) {
    if typed != full && full == "dsfield" {
        warnings.push(Warning::at_word(
            typed,
            format!(
                "{} sets the TOS (DS field), not the device: write \"{device_keyword}\" for a device, or \"tos\" to keep the TOS",
                describe(typed, full)
            ),
        ));
    }
}

// ---------------------------------------------------------------------------------------------
// address

fn scan_address(words: &mut Words<'_>, warnings: &mut Vec<Warning>) {
    use address::Key;

    while let Some(word) = words.next_word() {
        match lookup(address::KEYWORDS, word) {
            Some((Key::Flag { .. } | Key::ReadOnlyFlag, _)) => {}
            Some((key, _)) => {
                let Some(value) = words.next_word() else {
                    return;
                };
                if !matches!(key, Key::Dev | Key::Label) {
                    check_octal(value, warnings);
                }
            }
            None => {
                let local = if word == "local" {
                    words.next_word()
                } else {
                    Some(word)
                };
                if let Some(local) = local {
                    check_octal(local, warnings);
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// route

fn scan_route(request: &RouteRequest, words: &mut Words<'_>, warnings: &mut Vec<Warning>) {
    use route::Key;

    while let Some(word) = words.next_word() {
        let (key, full) = match lookup(route::KEYWORDS, word) {
            Some((Key::Nexthop, _)) => return scan_nexthops(words, warnings),
            Some((Key::Onlink, _)) => continue,
            Some(found) => found,
            None => {
                scan_route_destination(request, word, words, warnings);
                continue;
            }
        };

        let Some(mut value) = words.next_word() else {
            return;
        };
        let value_follows = match key {
            Key::Via => matches!(value, "inet" | "inet6"),
            Key::Mtu
            | Key::Hoplimit
            | Key::Advmss
            | Key::Reordering
            | Key::Rtt
            | Key::Window
            | Key::Cwnd
            | Key::Initcwnd
            | Key::Initrwnd
            | Key::Rttvar
            | Key::Ssthresh
            | Key::Congctl => value == "lock",
            _ => false,
        };
        if value_follows {
            let Some(next) = words.next_word() else {
                return;
            };
            value = next;
        }

        match key {
            Key::Pref if !matches!(value, "low" | "medium" | "high") => {
                warnings.push(Warning::at_word(
                    word,
                    format!(
                        "{} sets the IPv6 router preference (RTA_PREF), not the route metric: write \"metric {value}\"",
                        describe(word, full)
                    ),
                ));
            }
            Key::Tos => check_dsfield(word, full, "dev", warnings),
            _ => {}
        }
        if !matches!(key, Key::Tos | Key::Dev | Key::Congctl | Key::Features) {
            check_octal(value, warnings);
        }
    }
}

/// Scans `[to] [TYPE] PREFIX` and warns about host bits in the prefix.
fn scan_route_destination(
    request: &RouteRequest,
    word: &str,
    words: &mut Words<'_>,
    warnings: &mut Vec<Warning>,
) {
    let mut word = Some(word);
    if word == Some("to") {
        word = words.next_word();
    }
    if let Some(type_word) = word
        && !names::starts_with_digit(type_word)
        && names::route_type(type_word).is_some()
    {
        word = words.next_word();
    }
    let Some(word) = word else {
        return;
    };

    check_octal(word, warnings);
    if let Destination::Prefix(prefix) = request.dst
        && prefix.has_host_bits()
    {
        warnings.push(Warning::at_word(word, host_bits_reason(prefix)));
    }
}

fn host_bits_reason(prefix: Prefix) -> String {
    let network = network_of(prefix);
    match prefix.addr {
        IpAddr::V4(_) => format!(
            "host bits are set beyond /{}: the kernel rejects such an IPv4 route with EINVAL \
             (invalid prefix for given prefix length); write {network}",
            prefix.len
        ),
        IpAddr::V6(_) => format!(
            "host bits are set beyond /{}: the kernel clears them and the route is {network}; \
             write that",
            prefix.len
        ),
    }
}

/// Returns the prefix with its host bits cleared.
fn network_of(prefix: Prefix) -> Prefix {
    let addr = match prefix.addr {
        IpAddr::V4(a) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix.len))
                .unwrap_or(0);
            IpAddr::V4((u32::from(a) & mask).into())
        }
        IpAddr::V6(a) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix.len))
                .unwrap_or(0);
            IpAddr::V6((u128::from(a) & mask).into())
        }
    };
    Prefix {
        addr,
        len: prefix.len,
    }
}

/// Scans the next hops after the first `nexthop`: `via [inet|inet6] ADDR`, `dev`, `weight`,
/// `onlink` and `realms`.
fn scan_nexthops(words: &mut Words<'_>, warnings: &mut Vec<Warning>) {
    while let Some(word) = words.next_word() {
        let takes_value =
            matches!(word, "via" | "weight") || (!word.is_empty() && "realms".starts_with(word));
        if word == "dev" {
            words.next_word();
            continue;
        }
        if !takes_value {
            continue;
        }
        let Some(mut value) = words.next_word() else {
            return;
        };
        if word == "via" && matches!(value, "inet" | "inet6") {
            let Some(next) = words.next_word() else {
                return;
            };
            value = next;
        }
        check_octal(value, warnings);
    }
}

// ---------------------------------------------------------------------------------------------
// rule

fn scan_rule(words: &mut Words<'_>, warnings: &mut Vec<Warning>) {
    use rule::Key;

    while let Some(word) = words.next_word() {
        let (key, full) = match lookup(rule::KEYWORDS, word) {
            Some((Key::Not | Key::L3mdev, _)) => continue,
            Some(found) => found,
            None => {
                scan_rule_action(word, words, warnings);
                continue;
            }
        };
        let Some(value) = words.next_word() else {
            return;
        };

        match key {
            Key::TunId if word != full => warnings.push(Warning::at_word(
                word,
                format!(
                    "{} matches a tunnel id, not a table: write \"table {value}\" or \"lookup {value}\"",
                    describe(word, full)
                ),
            )),
            Key::Tos => check_dsfield(word, full, "iif", warnings),
            _ => {}
        }
        // The DS field is hex, and uidrange and ipproto are decimal in iproute2.
        if !matches!(
            key,
            Key::Tos | Key::Iif | Key::Oif | Key::Uidrange | Key::Ipproto
        ) {
            check_octal(value, warnings);
        }
    }
}

/// Scans an action, `[type] goto N`, `nop` or a route type, and warns about the types that
/// make a rule that does nothing.
fn scan_rule_action(word: &str, words: &mut Words<'_>, warnings: &mut Vec<Warning>) {
    let mut word = Some(word);
    if word == Some("type") {
        word = words.next_word();
    }
    let Some(word) = word else {
        return;
    };

    if !word.is_empty() && "goto".starts_with(word) {
        if let Some(target) = words.next_word() {
            check_octal(target, warnings);
        }
        return;
    }
    if !word.is_empty() && "nop".starts_with(word) {
        return;
    }
    if names::route_type(word) == Some(3) {
        warnings.push(Warning::at_word(
            word,
            format!(
                "{} is the route type broadcast, which as a rule action is 3 (nop): the rule matches and does nothing; write \"blackhole\" to drop, or \"nop\" if a no-op is meant",
                describe(word, "broadcast")
            ),
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iproute::prefix::{PrefixWord, parse_prefix};

    fn prefix_of(word: &str) -> Prefix {
        match parse_prefix(word, None) {
            Ok(PrefixWord::Prefix { prefix, .. }) => prefix,
            other => panic!("{word:?} is not a valid prefix: {other:?}"),
        }
    }

    /// Segments with the words warned about, in order. An empty list means no warning.
    const CASES: &[(Object, &str, &[&str])] = &[
        (Object::Route, "add 10.0.5.0/24 via 172.30.0.1", &[]),
        (Object::Route, "add 10.0.0.0/8 dev eth0 pref 100", &["pref"]),
        (Object::Route, "add 10.0.0.0/8 dev eth0 pre 5", &["pre"]),
        (Object::Route, "add 2001:db8::/32 dev eth0 pref high", &[]),
        (Object::Route, "add 10.0.0.0/8 dev eth0 d 10", &["d"]),
        (Object::Route, "add 10.0.0.0/8 dev eth0 ds AF11", &["ds"]),
        (Object::Route, "add 10.0.0.0/8 dev eth0 dsfield 10", &[]),
        (Object::Route, "add 10.0.0.0/8 dev eth0 tos 10", &[]),
        (
            Object::Route,
            "add 10.0.0.0/8 dev eth0 metric 010",
            &["010"],
        ),
        (Object::Route, "add 10.0.0.0/8 dev eth0 metric 07", &[]),
        (Object::Route, "add 10.0.0.0/8 dev eth0 table 0x64", &[]),
        (
            Object::Route,
            "add 10.0.0.0/8 dev eth0 mtu lock 01400",
            &["01400"],
        ),
        (
            Object::Route,
            "add 010.1.0.0/16 dev eth0",
            &["010.1.0.0/16"],
        ),
        (
            Object::Route,
            "add 10.0.5.6/24 via 192.168.2.1",
            &["10.0.5.6/24"],
        ),
        (
            Object::Route,
            "del to blackhole 10.0.5.6/24",
            &["10.0.5.6/24"],
        ),
        (
            Object::Route,
            "add 2001:db8::1/32 dev eth0",
            &["2001:db8::1/32"],
        ),
        (Object::Route, "add 10.0.0.1 via 10.0.0.2", &[]),
        (Object::Route, "add default via inet6 fe80::1 dev eth0", &[]),
        (
            Object::Route,
            "add 10.0.0.0/8 nexthop via 10.0.0.1 weight 010 nexthop dev eth0 weight 2",
            &["010"],
        ),
        (Object::Route, "add 10.0.0.0/8 dev d", &[]),
        (Object::Rule, "add from 10.0.0.0/24 table 100", &[]),
        (Object::Rule, "add from 10.0.0.0/24 t 100", &["t"]),
        (Object::Rule, "add from 10.0.0.0/24 tu 100", &["tu"]),
        (Object::Rule, "add from 10.0.0.0/24 tun_id 100", &[]),
        (Object::Rule, "add from 10.0.0.0/24 b", &["b"]),
        (
            Object::Rule,
            "add from 10.0.0.0/24 type broadcast",
            &["broadcast"],
        ),
        (Object::Rule, "add from 10.0.0.0/24 bl", &[]),
        (Object::Rule, "add from 10.0.0.0/24 nop", &[]),
        (Object::Rule, "add fwmark 010/0xff table 5", &["010/0xff"]),
        (Object::Rule, "add from all pref 0100 table 5", &["0100"]),
        (Object::Rule, "add ds 10 table 5", &["ds"]),
        (Object::Rule, "add ipproto 010 table 5", &[]),
        (Object::Rule, "add from 10.0.0.0/24 goto 010", &["010"]),
        (Object::Address, "add 10.0.0.1/24 dev eth0", &[]),
        (
            Object::Address,
            "add 10.0.0.010/24 dev eth0",
            &["10.0.0.010/24"],
        ),
        (
            Object::Address,
            "add local 10.0.0.1/24 dev eth0 metric 010",
            &["010"],
        ),
        (Object::Address, "add 10.0.0.1/24 dev 0100 nodad", &[]),
        (Object::Route, "add 10.0.0.0/8 metric", &[]),
    ];

    #[test]
    fn lint_warns_on_likely_mistakes() {
        for (object, segment, expected) in CASES {
            let warnings = lint_segment(*object, segment);
            let words: Vec<&str> = warnings.iter().map(|w| w.word.as_str()).collect();
            assert_eq!(words, *expected, "{object} {segment:?}: {warnings:?}");
        }
    }

    #[test]
    fn lint_reasons_name_the_fix() {
        let reason = |object, segment| lint_segment(object, segment)[0].reason.clone();
        assert_eq!(
            reason(Object::Route, "add 10.0.0.0/8 dev eth0 pref 100"),
            "\"pref\" sets the IPv6 router preference (RTA_PREF), not the route metric: write \"metric 100\""
        );
        assert_eq!(
            reason(Object::Route, "add 10.0.5.6/24 via 192.168.2.1"),
            "host bits are set beyond /24: the kernel rejects such an IPv4 route with EINVAL \
             (invalid prefix for given prefix length); write 10.0.5.0/24"
        );
        assert_eq!(
            reason(Object::Route, "add 10.0.0.0/8 dev eth0 metric 010"),
            "the leading 0 makes \"010\" octal, as in C: it reads as 8; write 10 without the 0 \
             for decimal, or 0x8 for hex"
        );
        assert_eq!(
            reason(Object::Rule, "add t 5"),
            "\"t\" (read as \"tun_id\") matches a tunnel id, not a table: write \"table 5\" or \"lookup 5\""
        );
    }

    #[test]
    fn lint_value_names_segments() {
        let warnings = lint_value(
            Object::Route,
            "add 10.0.0.0/8 dev eth0;; add 10.0.0.0/8 dev eth0 d 10; add 10/33",
        );
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].segment_index, 3);
        assert_eq!(warnings[0].segment, "add 10.0.0.0/8 dev eth0 d 10");
        assert!(
            warnings[0]
                .to_string()
                .starts_with("segment 3 \"add 10.0.0.0/8 dev eth0 d 10\": at \"d\": ")
        );
    }

    #[test]
    fn network_clears_host_bits() {
        assert_eq!(
            network_of(prefix_of("10.0.5.6/24")),
            prefix_of("10.0.5.0/24")
        );
        assert_eq!(network_of(prefix_of("10.0.5.6/0")), prefix_of("0.0.0.0/0"));
        assert_eq!(
            network_of(prefix_of("2001:db8::1/32")),
            prefix_of("2001:db8::/32")
        );
    }
}
