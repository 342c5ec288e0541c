//! `ip address` tails:
//! `[-4|-6] add|change|replace|delete [local] PREFIX [peer PREFIX] [broadcast ADDR|+|-]
//! [anycast ADDR] dev IFNAME [label NAME] [scope SCOPE] [metric N] [proto P]
//! [valid_lft LFT] [preferred_lft LFT] [FLAG…]`, read in the order of iproute2's
//! `ipaddr_modify` (ip/ipaddress.c).

use std::fmt;
use std::net::IpAddr;

use super::names;
use super::number;
use super::prefix::{PrefixWord, looks_like_address, parse_address, parse_prefix};
use super::words::{
    Keyword, Match, Words, describe, device_name, family_option, lookup, unsupported_verb,
};
use super::{AddressRequest, AddressVerb, Broadcast, Family, Lifetime, ParseError, Prefix};

/// IFA_F_* flag bits that a tail can set.
const IFA_F_NODAD: u32 = 0x02;
const IFA_F_OPTIMISTIC: u32 = 0x04;
const IFA_F_HOMEADDRESS: u32 = 0x10;
const IFA_F_MANAGETEMPADDR: u32 = 0x100;
const IFA_F_NOPREFIXROUTE: u32 = 0x200;
const IFA_F_MCAUTOJOIN: u32 = 0x400;

/// The flags in the order they print.
const FLAG_NAMES: &[(&str, u32)] = &[
    ("home", IFA_F_HOMEADDRESS),
    ("nodad", IFA_F_NODAD),
    ("optimistic", IFA_F_OPTIMISTIC),
    ("mngtmpaddr", IFA_F_MANAGETEMPADDR),
    ("noprefixroute", IFA_F_NOPREFIXROUTE),
    ("autojoin", IFA_F_MCAUTOJOIN),
];

/// The meaning of an address keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Peer,
    Broadcast,
    Anycast,
    Scope,
    Dev,
    Label,
    Metric,
    ValidLft,
    PreferredLft,
    Proto,
    /// A flag that can be set, and whether iproute2 keeps it only on IPv6 addresses.
    Flag {
        bit: u32,
        ipv6_only: bool,
    },
    /// A flag that only the kernel sets: iproute2 warns and ignores it.
    ReadOnlyFlag,
}

/// The address keywords in the order iproute2 tests them: `b` is `broadcast`, `p` to
/// `prefer` are the metric, and `preferred_lft` needs at least `preferr`.
pub(super) const KEYWORDS: &[Keyword<Key>] = &[
    ("peer", Match::Exact, Key::Peer),
    ("remote", Match::Exact, Key::Peer),
    ("broadcast", Match::Prefix, Key::Broadcast),
    ("brd", Match::Exact, Key::Broadcast),
    ("anycast", Match::Exact, Key::Anycast),
    ("scope", Match::Exact, Key::Scope),
    ("dev", Match::Exact, Key::Dev),
    ("label", Match::Exact, Key::Label),
    ("metric", Match::Prefix, Key::Metric),
    ("priority", Match::Prefix, Key::Metric),
    ("preference", Match::Prefix, Key::Metric),
    ("valid_lft", Match::Prefix, Key::ValidLft),
    ("preferred_lft", Match::Prefix, Key::PreferredLft),
    ("proto", Match::Exact, Key::Proto),
    ("secondary", Match::Exact, Key::ReadOnlyFlag),
    ("temporary", Match::Exact, Key::ReadOnlyFlag),
    (
        "nodad",
        Match::Exact,
        Key::Flag {
            bit: IFA_F_NODAD,
            ipv6_only: true,
        },
    ),
    (
        "optimistic",
        Match::Exact,
        Key::Flag {
            bit: IFA_F_OPTIMISTIC,
            ipv6_only: true,
        },
    ),
    ("dadfailed", Match::Exact, Key::ReadOnlyFlag),
    (
        "home",
        Match::Exact,
        Key::Flag {
            bit: IFA_F_HOMEADDRESS,
            ipv6_only: true,
        },
    ),
    ("deprecated", Match::Exact, Key::ReadOnlyFlag),
    ("tentative", Match::Exact, Key::ReadOnlyFlag),
    ("permanent", Match::Exact, Key::ReadOnlyFlag),
    (
        "mngtmpaddr",
        Match::Exact,
        Key::Flag {
            bit: IFA_F_MANAGETEMPADDR,
            ipv6_only: true,
        },
    ),
    (
        "noprefixroute",
        Match::Exact,
        Key::Flag {
            bit: IFA_F_NOPREFIXROUTE,
            ipv6_only: false,
        },
    ),
    (
        "autojoin",
        Match::Exact,
        Key::Flag {
            bit: IFA_F_MCAUTOJOIN,
            ipv6_only: false,
        },
    ),
    ("stable-privacy", Match::Exact, Key::ReadOnlyFlag),
];

/// The verbs of `ip address` in the order iproute2's `do_ipaddr` tests them. `None` marks
/// the verbs that this parser does not read: `flush` has its own parser, and labels do not
/// support the others.
const VERBS: &[Keyword<Option<AddressVerb>>] = &[
    ("add", Match::Prefix, Some(AddressVerb::Add)),
    ("change", Match::Prefix, Some(AddressVerb::Change)),
    ("chg", Match::Exact, Some(AddressVerb::Change)),
    ("replace", Match::Prefix, Some(AddressVerb::Replace)),
    ("delete", Match::Prefix, Some(AddressVerb::Delete)),
    ("list", Match::Prefix, None),
    ("show", Match::Prefix, None),
    ("lst", Match::Prefix, None),
    ("flush", Match::Prefix, None),
    ("save", Match::Prefix, None),
    ("showdump", Match::Prefix, None),
    ("restore", Match::Prefix, None),
    ("help", Match::Prefix, None),
];

const SUPPORTED_VERBS: &str = "add, change, replace, delete or flush";

/// Parses the words of one `ip address` tail.
pub(super) fn parse(words: &[&str]) -> Result<AddressRequest, ParseError> {
    let (family, words) = family_option(words);
    let mut words = Words::new(words);
    let verb_word = words
        .next_word()
        .ok_or_else(|| ParseError::incomplete(format!("the verb is missing: {SUPPORTED_VERBS}")))?;
    let verb = match lookup(VERBS, verb_word) {
        Some((Some(verb), _)) => verb,
        _ => {
            let known: Vec<&str> = VERBS.iter().map(|(name, _, _)| *name).collect();
            return Err(unsupported_verb(verb_word, &known, SUPPORTED_VERBS));
        }
    };

    let mut parser = AddressParser::new(verb, family);
    while let Some(word) = words.next_word() {
        match lookup(KEYWORDS, word) {
            Some((key, full)) => parser.option(key, word, full, &mut words)?,
            None => parser.local(word, &mut words)?,
        }
    }
    parser.finish()
}

/// The state of one address tail while its words are read. The `*_word` fields keep the
/// words that checks at the end may need to name.
struct AddressParser<'a> {
    verb: AddressVerb,
    family: Option<Family>,
    local: Option<(Prefix, bool)>,
    peer: Option<Prefix>,
    broadcast: Option<Broadcast>,
    broadcast_word: Option<&'a str>,
    anycast: Option<IpAddr>,
    dev: Option<String>,
    label: Option<String>,
    scope: Option<u8>,
    metric: Option<u32>,
    proto: Option<u8>,
    valid_lft: Option<(Lifetime, &'a str)>,
    preferred_lft: Option<(Lifetime, &'a str)>,
    flags: u32,
}

impl<'a> AddressParser<'a> {
    fn new(verb: AddressVerb, family: Option<Family>) -> Self {
        AddressParser {
            verb,
            family,
            local: None,
            peer: None,
            broadcast: None,
            broadcast_word: None,
            anycast: None,
            dev: None,
            label: None,
            scope: None,
            metric: None,
            proto: None,
            valid_lft: None,
            preferred_lft: None,
            flags: 0,
        }
    }

    fn option(
        &mut self,
        key: Key,
        typed: &'a str,
        full: &str,
        words: &mut Words<'a>,
    ) -> Result<(), ParseError> {
        match key {
            Key::Flag { bit, ipv6_only } => {
                // iproute2 drops an IPv6-only flag with a warning unless the family is
                // already IPv6 at this word.
                if !ipv6_only || self.family == Some(Family::Inet6) {
                    self.flags |= bit;
                }
                return Ok(());
            }
            Key::ReadOnlyFlag => return Ok(()),
            _ => {}
        }

        let what = describe(typed, full);
        let duplicate = match key {
            Key::Peer => self.peer.is_some(),
            Key::Broadcast => self.broadcast_word.is_some(),
            Key::Anycast => self.anycast.is_some(),
            Key::ValidLft => self.valid_lft.is_some(),
            Key::PreferredLft => self.preferred_lft.is_some(),
            _ => false,
        };
        if duplicate {
            return Err(ParseError::at_word(
                typed,
                format!("duplicate {what}: it is already given"),
            ));
        }

        let value = words.value(typed, full)?;
        match key {
            Key::Peer => self.peer = Some(self.prefix(value)?.0),
            Key::Broadcast => self.broadcast(value)?,
            Key::Anycast => {
                let addr = parse_address(value, self.family)?;
                self.family.get_or_insert(Family::of(&addr));
                self.anycast = Some(addr);
            }
            Key::Scope => {
                self.scope = Some(names::scope(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected global, site, link, host, nowhere or a number from 0 to 255"),
                    )
                })?)
            }
            Key::Dev => self.dev = Some(device_name(value)?),
            Key::Label => self.label = Some(label(value)?),
            Key::Metric => self.metric = Some(number::value(value, &what)?),
            Key::ValidLft => self.valid_lft = Some((lifetime(value, &what)?, value)),
            Key::PreferredLft => self.preferred_lft = Some((lifetime(value, &what)?, value)),
            _ => {
                self.proto = Some(names::address_protocol(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected kernel_lo, kernel_ra, kernel_ll or a number from 0 to 255"),
                    )
                })?)
            }
        }
        Ok(())
    }

    /// Reads a prefix that names an address, and fixes the family when no word did yet.
    fn prefix(&mut self, word: &str) -> Result<(Prefix, bool), ParseError> {
        match parse_prefix(word, self.family)? {
            PrefixWord::Zero(_) => Err(ParseError::at_word(
                word,
                "expected an address, not a zero-length prefix",
            )),
            PrefixWord::Prefix { prefix, len_given } => {
                self.family.get_or_insert(prefix.family());
                Ok((prefix, len_given))
            }
        }
    }

    fn broadcast(&mut self, value: &'a str) -> Result<(), ParseError> {
        self.broadcast_word = Some(value);
        self.broadcast = match value {
            "+" => Some(Broadcast::HostBitsSet),
            "-" => Some(Broadcast::HostBitsCleared),
            _ => {
                let addr = parse_address(value, self.family)?;
                self.family.get_or_insert(Family::of(&addr));
                match addr {
                    IpAddr::V4(v4) => Some(Broadcast::Addr(v4)),
                    // NOTE: iproute2 sends an IPv6 broadcast address, and the kernel ignores
                    // IFA_BROADCAST on IPv6, so it is dropped here with the same effect.
                    IpAddr::V6(_) => None,
                }
            }
        };
        Ok(())
    }

    /// Reads the local address: `[local] PREFIX`, the branch iproute2 takes for any word that
    /// is no keyword.
    fn local(&mut self, word: &'a str, words: &mut Words<'a>) -> Result<(), ParseError> {
        let mut word = word;
        if word == "local" {
            word = words.value("local", "local")?;
        }
        if !word.is_empty() && "help".starts_with(word) {
            return Err(ParseError::at_word(
                word,
                "\"help\" is not supported in labels",
            ));
        }
        if self.local.is_some() {
            let reason = if looks_like_address(word) {
                "unexpected second address: the local address is already given"
            } else {
                "unknown keyword"
            };
            return Err(ParseError::at_word(word, reason));
        }
        let local = self.prefix(word).map_err(|e| {
            if looks_like_address(word) || word == "default" || word == "all" || word == "any" {
                e
            } else {
                ParseError::at_word(word, "unknown keyword")
            }
        })?;
        self.local = Some(local);
        Ok(())
    }

    fn finish(self) -> Result<AddressRequest, ParseError> {
        let (local, prefix_len_given) = self
            .local
            .ok_or_else(|| ParseError::incomplete("the address is missing"))?;
        let dev = self.dev.ok_or_else(|| {
            ParseError::incomplete("the interface is missing: add \"dev IFNAME\"")
        })?;

        if let (Some(word), Some(Broadcast::HostBitsSet | Broadcast::HostBitsCleared)) =
            (self.broadcast_word, self.broadcast)
            && self.verb != AddressVerb::Delete
            && local.family() != Family::Inet
        {
            return Err(ParseError::at_word(
                word,
                "a broadcast address can be set only for IPv4 addresses",
            ));
        }
        check_lifetimes(self.valid_lft, self.preferred_lft)?;

        let is_multicast = match local.addr {
            IpAddr::V4(a) => a.is_multicast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        if self.flags & IFA_F_MCAUTOJOIN != 0 && !is_multicast {
            return Err(ParseError::at_word(
                "autojoin",
                "\"autojoin\" needs a multicast address",
            ));
        }

        Ok(AddressRequest {
            verb: self.verb,
            local,
            prefix_len_given,
            peer: self.peer,
            broadcast: self.broadcast,
            anycast: self.anycast,
            dev,
            label: self.label,
            scope: self.scope,
            metric: self.metric,
            proto: self.proto,
            valid_lft: self.valid_lft.map(|(l, _)| l),
            preferred_lft: self.preferred_lft.map(|(l, _)| l),
            flags: self.flags,
        })
    }
}

/// Checks the lifetimes as iproute2 does once either is given: the valid lifetime must not be
/// zero, nor shorter than the preferred one, where a lifetime not given is forever. So a
/// finite `valid_lft` needs a `preferred_lft` too (iproute2 6.1 `ipaddr_modify`).
fn check_lifetimes(
    valid: Option<(Lifetime, &str)>,
    preferred: Option<(Lifetime, &str)>,
) -> Result<(), ParseError> {
    let seconds = |l: Lifetime| match l {
        Lifetime::Forever => u32::MAX,
        Lifetime::Seconds(s) => s,
    };
    if let Some((lifetime, word)) = valid
        && seconds(lifetime) == 0
    {
        return Err(ParseError::at_word(
            word,
            "invalid \"valid_lft\": it must not be zero",
        ));
    }
    let valid_seconds = valid.map_or(u32::MAX, |(l, _)| seconds(l));
    match (preferred, valid) {
        (Some((preferred, word)), _) if seconds(preferred) > valid_seconds => {
            Err(ParseError::at_word(
                word,
                "invalid \"preferred_lft\": it is greater than valid_lft",
            ))
        }
        (None, Some((_, word))) if valid_seconds < u32::MAX => Err(ParseError::at_word(
            word,
            "invalid \"valid_lft\": it is less than preferred_lft, which is forever when not given",
        )),
        _ => Ok(()),
    }
}

fn lifetime(value: &str, what: &str) -> Result<Lifetime, ParseError> {
    if value == "forever" {
        return Ok(Lifetime::Forever);
    }
    number::get::<u32>(value)
        .map(Lifetime::Seconds)
        .ok_or_else(|| {
            ParseError::at_word(
                value,
                format!("invalid {what}: expected forever or seconds from 0 to 4294967295"),
            )
        })
}

/// Checks a label: the kernel limits IFA_LABEL to 15 bytes.
fn label(value: &str) -> Result<String, ParseError> {
    if value.len() > 15 {
        return Err(ParseError::at_word(
            value,
            "invalid \"label\": longer than 15 bytes",
        ));
    }
    Ok(value.to_string())
}

// ---------------------------------------------------------------------------------------------
// printing

fn verb_name(verb: AddressVerb) -> &'static str {
    match verb {
        AddressVerb::Add => "add",
        AddressVerb::Change => "change",
        AddressVerb::Replace => "replace",
        AddressVerb::Delete => "delete",
    }
}

fn lifetime_text(lifetime: Lifetime) -> String {
    match lifetime {
        Lifetime::Forever => "forever".to_string(),
        Lifetime::Seconds(s) => s.to_string(),
    }
}

/// Prints the tail in `ip` syntax with full keywords, without the leading `ip address`.
impl fmt::Display for AddressRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", verb_name(self.verb), self.local.addr)?;
        if self.prefix_len_given {
            write!(f, "/{}", self.local.len)?;
        }
        if let Some(peer) = self.peer {
            write!(f, " peer {peer}")?;
        }
        match self.broadcast {
            None => {}
            Some(Broadcast::Addr(addr)) => write!(f, " broadcast {addr}")?,
            Some(Broadcast::HostBitsSet) => f.write_str(" broadcast +")?,
            Some(Broadcast::HostBitsCleared) => f.write_str(" broadcast -")?,
        }
        if let Some(anycast) = self.anycast {
            write!(f, " anycast {anycast}")?;
        }
        write!(f, " dev {}", self.dev)?;
        if let Some(label) = &self.label {
            write!(f, " label {label}")?;
        }
        if let Some(scope) = self.scope {
            match names::scope_name(scope) {
                Some(name) => write!(f, " scope {name}")?,
                None => write!(f, " scope {scope}")?,
            }
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        if let Some(proto) = self.proto {
            match names::address_protocol_name(proto) {
                Some(name) => write!(f, " proto {name}")?,
                None => write!(f, " proto {proto}")?,
            }
        }
        if let Some(valid) = self.valid_lft {
            write!(f, " valid_lft {}", lifetime_text(valid))?;
        }
        if let Some(preferred) = self.preferred_lft {
            write!(f, " preferred_lft {}", lifetime_text(preferred))?;
        }
        for (name, bit) in FLAG_NAMES {
            if self.flags & bit != 0 {
                write!(f, " {name}")?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::iproute::{SCOPE_HOST, SCOPE_UNIVERSE};

    fn parse_text(text: &str) -> Result<AddressRequest, ParseError> {
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        parse(&words)
    }

    /// Tails that parse, with the canonical form they print.
    const ACCEPTED: &[(&str, &str)] = &[
        (
            "add 192.168.1.10/24 brd 192.168.1.255 dev eth1",
            "add 192.168.1.10/24 broadcast 192.168.1.255 dev eth1",
        ),
        (
            "del 198.51.100.10/24 dev eth1",
            "delete 198.51.100.10/24 dev eth1",
        ),
        ("d 198.51.100.10 dev eth1", "delete 198.51.100.10 dev eth1"),
        ("a 10.0.0.1/8 dev eth0", "add 10.0.0.1/8 dev eth0"),
        ("c 10.0.0.1/8 dev eth0", "change 10.0.0.1/8 dev eth0"),
        ("chg 10.0.0.1/8 dev eth0", "change 10.0.0.1/8 dev eth0"),
        ("r 10.0.0.1/8 dev eth0", "replace 10.0.0.1/8 dev eth0"),
        ("add dev eth0 local 10.0.0.1/8", "add 10.0.0.1/8 dev eth0"),
        ("add 10/8 dev eth0", "add 10.0.0.0/8 dev eth0"),
        (
            "add 203.0.113.10/32 dev wg0 brd 203.0.113.10",
            "add 203.0.113.10/32 broadcast 203.0.113.10 dev wg0",
        ),
        (
            "add 10.0.0.1/24 dev eth0 b +",
            "add 10.0.0.1/24 broadcast + dev eth0",
        ),
        (
            "add 10.0.0.1/24 dev eth0 broadcast -",
            "add 10.0.0.1/24 broadcast - dev eth0",
        ),
        (
            "add 2001:db8:7::1/64 dev eth1",
            "add 2001:db8:7::1/64 dev eth1",
        ),
        (
            "add 2001:db8:5::20/64 dev eth1 nodad noprefixroute",
            "add 2001:db8:5::20/64 dev eth1 nodad noprefixroute",
        ),
        (
            "add 2001:db8::1/64 dev eth0 home optimistic mngtmpaddr",
            "add 2001:db8::1/64 dev eth0 home optimistic mngtmpaddr",
        ),
        (
            "add nodad 2001:db8::1/64 dev eth0",
            "add 2001:db8::1/64 dev eth0",
        ),
        (
            "-6 add nodad 2001:db8::1/64 dev eth0",
            "add 2001:db8::1/64 dev eth0 nodad",
        ),
        (
            "add 10.0.0.1/8 dev eth0 nodad noprefixroute",
            "add 10.0.0.1/8 dev eth0 noprefixroute",
        ),
        (
            "add 10.0.0.1/8 dev eth0 secondary permanent",
            "add 10.0.0.1/8 dev eth0",
        ),
        (
            "add 224.1.1.1/32 dev eth0 autojoin",
            "add 224.1.1.1/32 dev eth0 autojoin",
        ),
        (
            "add 198.51.100.20/24 dev eth1 label eth1:vip",
            "add 198.51.100.20/24 dev eth1 label eth1:vip",
        ),
        (
            "add 198.51.100.21/24 dev eth1 valid_lft 3600 preferred_lft 1800",
            "add 198.51.100.21/24 dev eth1 valid_lft 3600 preferred_lft 1800",
        ),
        (
            "add 10.0.0.1/8 dev eth0 v forever preferr 0",
            "add 10.0.0.1/8 dev eth0 valid_lft forever preferred_lft 0",
        ),
        (
            "add 10.0.0.1/8 dev eth0 preferred_lft 60",
            "add 10.0.0.1/8 dev eth0 preferred_lft 60",
        ),
        (
            "replace 198.51.100.10/24 dev eth1 metric 50",
            "replace 198.51.100.10/24 dev eth1 metric 50",
        ),
        (
            "add 10.0.0.1/8 dev eth0 p 010",
            "add 10.0.0.1/8 dev eth0 metric 8",
        ),
        (
            "add 10.0.0.1/8 dev eth0 prefer 7",
            "add 10.0.0.1/8 dev eth0 metric 7",
        ),
        (
            "add 10.0.0.1/8 dev eth0 m 7",
            "add 10.0.0.1/8 dev eth0 metric 7",
        ),
        (
            "add 10.0.0.1/8 dev eth0 scope link",
            "add 10.0.0.1/8 dev eth0 scope link",
        ),
        (
            "add 10.0.0.1/8 dev eth0 scope 0x10",
            "add 10.0.0.1/8 dev eth0 scope 16",
        ),
        (
            "add 10.0.0.1/8 dev eth0 proto kernel_ll",
            "add 10.0.0.1/8 dev eth0 proto kernel_ll",
        ),
        (
            "add 10.0.0.1/8 dev eth0 proto 99",
            "add 10.0.0.1/8 dev eth0 proto 99",
        ),
        (
            "add 10.0.0.1 peer 10.0.0.2/24 dev tun0",
            "add 10.0.0.1 peer 10.0.0.2/24 dev tun0",
        ),
        (
            "add 10.0.0.1 remote 10.0.0.2 dev tun0",
            "add 10.0.0.1 peer 10.0.0.2/32 dev tun0",
        ),
        (
            "add 10.0.0.1/8 anycast 10.0.0.9 dev eth0",
            "add 10.0.0.1/8 anycast 10.0.0.9 dev eth0",
        ),
        (
            "add 2001:db8::1/64 brd 2001:db8::ff dev eth0",
            "add 2001:db8::1/64 dev eth0",
        ),
        (
            "del 2001:db8::1/64 broadcast + dev eth0",
            "delete 2001:db8::1/64 broadcast + dev eth0",
        ),
        (
            "add 10.0.0.1/8 dev eth0 dev eth1",
            "add 10.0.0.1/8 dev eth1",
        ),
        ("-4 add 10.0.0.1/8 dev eth0", "add 10.0.0.1/8 dev eth0"),
    ];

    /// Tails that iproute2 or dehandler rejects: the word at fault (`None` when the tail ended
    /// early) and the reason.
    const REJECTED: &[(&str, Option<&str>, &str)] = &[
        (
            "",
            None,
            "the verb is missing: add, change, replace, delete or flush",
        ),
        (
            "ADD 10.0.0.1/8 dev eth0",
            Some("ADD"),
            "unknown verb: expected add, change, replace, delete or flush",
        ),
        (
            "add 10.0.0.1/8",
            None,
            "the interface is missing: add \"dev IFNAME\"",
        ),
        ("add dev eth0", None, "the address is missing"),
        (
            "add 10.0.0.1/8 dev",
            None,
            "a value is missing after \"dev\"",
        ),
        ("add local", None, "a value is missing after \"local\""),
        (
            "add fe80::1%eth0/64 dev eth0",
            Some("fe80::1%eth0/64"),
            "invalid IPv6 address: a zone index is not accepted, name the interface with \"dev\"",
        ),
        (
            "add 10.0.0.1/33 dev eth0",
            Some("10.0.0.1/33"),
            "invalid prefix length \"33\": the maximum is 32",
        ),
        ("add foo dev eth0", Some("foo"), "unknown keyword"),
        (
            "add 10.0.0.1/8 dev eth0 foo",
            Some("foo"),
            "unknown keyword",
        ),
        (
            "add 10.0.0.1/8 10.0.0.2/8 dev eth0",
            Some("10.0.0.2/8"),
            "unexpected second address: the local address is already given",
        ),
        (
            "add default dev eth0",
            Some("default"),
            "expected an address, not a zero-length prefix",
        ),
        (
            "add 10.0.0.1/8 peer 2001:db8::1 dev eth0",
            Some("2001:db8::1"),
            "family mismatch: expected an IPv4 prefix",
        ),
        (
            "-6 add 10.0.0.1/8 dev eth0",
            Some("10.0.0.1/8"),
            "family mismatch: expected an IPv6 prefix",
        ),
        (
            "add 10.0.0.1/8 peer 10.0.0.2 peer 10.0.0.3 dev eth0",
            Some("peer"),
            "duplicate \"peer\": it is already given",
        ),
        (
            "add 10.0.0.1/8 brd + brd - dev eth0",
            Some("brd"),
            "duplicate \"brd\": it is already given",
        ),
        (
            "add 10.0.0.1/8 anycast 10.0.0.2 anycast 10.0.0.3 dev eth0",
            Some("anycast"),
            "duplicate \"anycast\": it is already given",
        ),
        (
            "add 10.0.0.1/8 dev eth0 valid_lft 5 valid_lft 6",
            Some("valid_lft"),
            "duplicate \"valid_lft\": it is already given",
        ),
        (
            "add 10.0.0.1/8 dev eth0 valid_lft 0",
            Some("0"),
            "invalid \"valid_lft\": it must not be zero",
        ),
        (
            "add 10.0.0.1/8 dev eth0 valid_lft 10 preferred_lft 20",
            Some("20"),
            "invalid \"preferred_lft\": it is greater than valid_lft",
        ),
        (
            "add 10.0.0.1/8 dev eth0 valid_lft 10 preferred_lft forever",
            Some("forever"),
            "invalid \"preferred_lft\": it is greater than valid_lft",
        ),
        (
            "add 10.0.0.1/8 dev eth0 valid_lft 100",
            Some("100"),
            "invalid \"valid_lft\": it is less than preferred_lft, which is forever when not given",
        ),
        (
            "add 10.0.0.1/8 dev eth0 valid_lft never",
            Some("never"),
            "invalid \"valid_lft\": expected forever or seconds from 0 to 4294967295",
        ),
        (
            "add 10.0.0.1/8 dev eth0 pref x",
            Some("x"),
            "invalid \"pref\" (read as \"preference\"): expected a number from 0 to 4294967295",
        ),
        (
            "add 10.0.0.1/8 dev eth0 scope foo",
            Some("foo"),
            "invalid \"scope\": expected global, site, link, host, nowhere or a number from 0 to 255",
        ),
        (
            "add 10.0.0.1/8 dev eth0 proto 256",
            Some("256"),
            "invalid \"proto\": expected kernel_lo, kernel_ra, kernel_ll or a number from 0 to 255",
        ),
        (
            "add 10.0.0.1/8 dev eth0 label abcdefghijklmnop",
            Some("abcdefghijklmnop"),
            "invalid \"label\": longer than 15 bytes",
        ),
        (
            "add 10.0.0.1/8 dev eth0/1",
            Some("eth0/1"),
            "invalid interface name: it contains \"/\"",
        ),
        (
            "add 2001:db8::1/64 broadcast + dev eth0",
            Some("+"),
            "a broadcast address can be set only for IPv4 addresses",
        ),
        (
            "add 10.0.0.1/8 dev eth0 autojoin",
            Some("autojoin"),
            "\"autojoin\" needs a multicast address",
        ),
        (
            "add 10.0.0.1/8 dev eth0 h",
            Some("h"),
            "\"help\" is not supported in labels",
        ),
    ];

    #[test]
    fn address_accepted_tails_print_canonically() {
        for (text, printed) in ACCEPTED {
            let request = parse_text(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(request.to_string(), *printed, "{text:?}");
        }
    }

    #[test]
    fn address_rejected_tails_name_word_and_reason() {
        for (text, word, reason) in REJECTED {
            let err = parse_text(text).expect_err(text);
            assert_eq!(err.word.as_deref(), *word, "{text:?}");
            assert_eq!(err.reason, *reason, "{text:?}");
        }
    }

    #[test]
    fn address_round_trip() {
        for (text, _) in ACCEPTED {
            let request = parse_text(text).unwrap();
            let printed = request.to_string();
            let again = parse_text(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e}"));
            assert_eq!(again, request, "{text:?} printed as {printed:?}");
        }
    }

    #[test]
    fn address_fields_keep_iproute2_meaning() {
        let r = parse_text("del 198.51.100.10 dev eth1").unwrap();
        assert!(!r.prefix_len_given);
        assert_eq!(r.local.len, 32);

        let r = parse_text("add 2001:db8::1/64 dev eth0 nodad noprefixroute").unwrap();
        assert_eq!(r.flags, IFA_F_NODAD | IFA_F_NOPREFIXROUTE);
        assert_eq!(r.family(), Family::Inet6);

        let r = parse_text("add 127.0.0.2/8 dev lo").unwrap();
        assert_eq!(r.effective_scope(), SCOPE_HOST);
        let r = parse_text("del 127.0.0.2/8 dev lo").unwrap();
        assert_eq!(r.effective_scope(), SCOPE_UNIVERSE);
    }

    #[test]
    fn address_effective_broadcast() {
        let cases: &[(&str, Option<Ipv4Addr>)] = &[
            (
                "add 10.0.0.1/24 brd + dev eth0",
                Some(Ipv4Addr::new(10, 0, 0, 255)),
            ),
            (
                "add 10.0.0.1/24 brd - dev eth0",
                Some(Ipv4Addr::new(10, 0, 0, 0)),
            ),
            ("add 10.0.0.1/31 brd + dev eth0", None),
            (
                "add 10.0.0.1 peer 10.0.0.2/30 brd + dev eth0",
                Some(Ipv4Addr::new(10, 0, 0, 3)),
            ),
            ("del 10.0.0.1/24 brd + dev eth0", None),
            (
                "add 10.0.0.1/24 brd 10.0.0.7 dev eth0",
                Some(Ipv4Addr::new(10, 0, 0, 7)),
            ),
            ("add 10.0.0.1/24 dev eth0", None),
        ];
        for (text, expected) in cases {
            let r = parse_text(text).unwrap();
            assert_eq!(r.effective_broadcast(), *expected, "{text:?}");
        }
    }
}
