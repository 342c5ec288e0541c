//! `ip route` tails:
//! `[-4|-6] add|change|replace|prepend|append|test|delete [to] [TYPE] PREFIX|default [OPTION…]
//! [nexthop NH]…`, read in the order of iproute2's `iproute_modify` (ip/iproute.c).

use std::fmt;
use std::mem::discriminant;

use super::names;
use super::number::{self, rtt_time};
use super::prefix::{
    PrefixWord, default_word_str, looks_like_address, parse_address, parse_prefix,
};
use super::words::{
    Keyword, Match, Words, describe, device_name, family_option, family_prefix, lookup,
    unsupported_verb,
};
use super::{
    Destination, Family, NextHop, ParseError, Prefix, RouteMetric, RouteMetricKind, RouteRequest,
    RouteType, RouteVerb, Via,
};

/// The meaning of a route keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Src,
    Via,
    From,
    Tos,
    Expires,
    Metric,
    Scope,
    Mtu,
    Hoplimit,
    Advmss,
    Reordering,
    Rtt,
    RtoMin,
    Window,
    Cwnd,
    Initcwnd,
    Initrwnd,
    Features,
    Quickack,
    Congctl,
    Rttvar,
    Ssthresh,
    Realms,
    Onlink,
    Nexthop,
    Protocol,
    Table,
    Dev,
    Pref,
    FastopenNoCookie,
    /// A keyword of `ip route` that labels do not support.
    Unsupported,
}

/// The route keywords in the order iproute2 tests them, so an abbreviation resolves as in
/// `ip`: `t` is `table` because `tos` is exact only, `d` is `dsfield` because `dev` is exact
/// only, `p` is `priority` (the metric) and `pre` is `pref` (RTA_PREF).
pub(super) const KEYWORDS: &[Keyword<Key>] = &[
    ("src", Match::Exact, Key::Src),
    ("as", Match::Exact, Key::Unsupported),
    ("via", Match::Exact, Key::Via),
    ("from", Match::Exact, Key::From),
    ("tos", Match::Exact, Key::Tos),
    ("dsfield", Match::Prefix, Key::Tos),
    ("expires", Match::Exact, Key::Expires),
    ("metric", Match::Prefix, Key::Metric),
    ("priority", Match::Prefix, Key::Metric),
    ("preference", Match::Exact, Key::Metric),
    ("scope", Match::Exact, Key::Scope),
    ("mtu", Match::Exact, Key::Mtu),
    ("hoplimit", Match::Exact, Key::Hoplimit),
    ("advmss", Match::Exact, Key::Advmss),
    ("reordering", Match::Prefix, Key::Reordering),
    ("rtt", Match::Exact, Key::Rtt),
    ("rto_min", Match::Exact, Key::RtoMin),
    ("window", Match::Prefix, Key::Window),
    ("cwnd", Match::Prefix, Key::Cwnd),
    ("initcwnd", Match::Prefix, Key::Initcwnd),
    ("initrwnd", Match::Prefix, Key::Initrwnd),
    ("features", Match::Prefix, Key::Features),
    ("quickack", Match::Prefix, Key::Quickack),
    ("congctl", Match::Prefix, Key::Congctl),
    ("rttvar", Match::Prefix, Key::Rttvar),
    ("ssthresh", Match::Prefix, Key::Ssthresh),
    ("realms", Match::Prefix, Key::Realms),
    ("onlink", Match::Exact, Key::Onlink),
    ("nexthop", Match::Exact, Key::Nexthop),
    ("nhid", Match::Exact, Key::Unsupported),
    ("protocol", Match::Prefix, Key::Protocol),
    ("table", Match::Prefix, Key::Table),
    ("vrf", Match::Prefix, Key::Unsupported),
    ("dev", Match::Exact, Key::Dev),
    ("oif", Match::Exact, Key::Dev),
    ("pref", Match::Prefix, Key::Pref),
    ("encap", Match::Exact, Key::Unsupported),
    ("ttl-propagate", Match::Exact, Key::Unsupported),
    ("fastopen_no_cookie", Match::Prefix, Key::FastopenNoCookie),
];

/// The verbs of `ip route` in the order iproute2's `do_iproute` tests them. `None` marks the
/// verbs that this parser does not read: `flush` has its own parser, and labels do not
/// support the others.
const VERBS: &[Keyword<Option<RouteVerb>>] = &[
    ("add", Match::Prefix, Some(RouteVerb::Add)),
    ("change", Match::Prefix, Some(RouteVerb::Change)),
    ("chg", Match::Exact, Some(RouteVerb::Change)),
    ("replace", Match::Prefix, Some(RouteVerb::Replace)),
    ("prepend", Match::Prefix, Some(RouteVerb::Prepend)),
    ("append", Match::Prefix, Some(RouteVerb::Append)),
    ("test", Match::Prefix, Some(RouteVerb::Test)),
    ("delete", Match::Prefix, Some(RouteVerb::Delete)),
    ("list", Match::Prefix, None),
    ("show", Match::Prefix, None),
    ("lst", Match::Prefix, None),
    ("get", Match::Prefix, None),
    ("flush", Match::Prefix, None),
    ("save", Match::Prefix, None),
    ("restore", Match::Prefix, None),
    ("showdump", Match::Prefix, None),
    ("help", Match::Prefix, None),
];

const SUPPORTED_VERBS: &str = "add, change, replace, prepend, append, test, delete or flush";

/// Parses the words of one `ip route` tail.
pub(super) fn parse(words: &[&str]) -> Result<RouteRequest, ParseError> {
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

    let mut parser = RouteParser::new(verb, family);
    parser.options(&mut words)?;
    parser.finish()
}

/// The state of one route tail while its words are read.
struct RouteParser {
    request: RouteRequest,
    family: Option<Family>,
    dst: Option<Destination>,
}

impl RouteParser {
    fn new(verb: RouteVerb, family: Option<Family>) -> Self {
        let request = RouteRequest {
            verb,
            family: Family::Inet,
            route_type: None,
            dst: Destination::Default(super::DefaultWord::Default),
            tos: None,
            table: None,
            protocol: None,
            scope: None,
            metric: None,
            from: None,
            src: None,
            via: None,
            dev: None,
            onlink: false,
            realms: None,
            expires: None,
            pref: None,
            metrics: Vec::new(),
            nexthops: Vec::new(),
        };
        RouteParser {
            request,
            family,
            dst: None,
        }
    }

    /// Reads options until the tail ends or reaches the first `nexthop`.
    fn options(&mut self, words: &mut Words<'_>) -> Result<(), ParseError> {
        while let Some(word) = words.next_word() {
            match lookup(KEYWORDS, word) {
                Some((Key::Nexthop, _)) => return self.nexthops(words),
                Some((key, full)) => self.option(key, word, full, words)?,
                None => self.destination(word, words)?,
            }
        }
        Ok(())
    }

    fn finish(mut self) -> Result<RouteRequest, ParseError> {
        self.request.dst = self
            .dst
            .ok_or_else(|| ParseError::incomplete("the destination prefix is missing"))?;
        self.request.family = self.family.unwrap_or(Family::Inet);
        Ok(self.request)
    }

    /// Records the family of an address when no earlier word fixed it, as iproute2 does.
    fn note_family(&mut self, family: Family) {
        self.family.get_or_insert(family);
    }

    fn option(
        &mut self,
        key: Key,
        typed: &str,
        full: &str,
        words: &mut Words<'_>,
    ) -> Result<(), ParseError> {
        if key == Key::Onlink {
            self.request.onlink = true;
            return Ok(());
        }
        if key == Key::Unsupported {
            return Err(ParseError::at_word(
                typed,
                format!("{} is not supported in labels", describe(typed, full)),
            ));
        }

        let value = words.value(typed, full)?;
        let what = describe(typed, full);
        let r = &mut self.request;
        match key {
            Key::Src => {
                let addr = parse_address(value, self.family)?;
                self.request.src = Some(addr);
                self.note_family(Family::of(&addr));
            }
            Key::Via => self.via(typed, value, words)?,
            Key::From => self.from(value)?,
            Key::Tos => r.tos = Some(tos(value, &what)?),
            Key::Expires => r.expires = Some(number::value(value, &what)?),
            Key::Metric => r.metric = Some(number::value(value, &what)?),
            Key::Scope => {
                r.scope = Some(names::scope(value).ok_or_else(|| {
                    named_value_error(value, &what, "global, site, link, host, nowhere")
                })?)
            }
            Key::Realms => {
                r.realms = Some(names::realms(value).ok_or_else(|| realms_error(value, &what))?)
            }
            Key::Protocol => {
                r.protocol =
                    Some(names::route_protocol(value).ok_or_else(|| {
                        named_value_error(value, &what, "boot, static, kernel, dhcp")
                    })?)
            }
            Key::Table => r.table = Some(table(value, &what)?),
            Key::Dev => r.dev = Some(device_name(value)?),
            Key::Pref => r.pref = Some(pref(value, &what)?),
            _ => self.metric(key, typed, full, value, words)?,
        }
        Ok(())
    }

    fn via(&mut self, typed: &str, value: &str, words: &mut Words<'_>) -> Result<(), ParseError> {
        if self.request.via.is_some() {
            return Err(ParseError::at_word(
                typed,
                "a second \"via\": give several gateways with \"nexthop\"",
            ));
        }
        let via = gateway(value, self.family, words)?;
        self.note_family(Family::of(&via.addr));
        self.request.via = Some(via);
        Ok(())
    }

    fn from(&mut self, value: &str) -> Result<(), ParseError> {
        // `from all` sends no RTA_SRC and a source length of 0, the same as no `from`.
        self.request.from = match parse_prefix(value, self.family)? {
            PrefixWord::Zero(_) => None,
            PrefixWord::Prefix { prefix, .. } => {
                self.note_family(prefix.family());
                Some(prefix)
            }
        };
        Ok(())
    }

    /// Reads the destination: `[to] [TYPE] PREFIX`. iproute2 tries a route type only for a
    /// word that does not start with a digit.
    fn destination(&mut self, word: &str, words: &mut Words<'_>) -> Result<(), ParseError> {
        let mut word = word;
        if word == "to" {
            word = words.value("to", "to")?;
        }
        let mut type_word = None;
        if !names::starts_with_digit(word)
            && let Some(route_type) = names::route_type(word)
        {
            self.request.route_type = Some(RouteType(route_type));
            let full = names::route_type_name(route_type).unwrap_or(word);
            type_word = Some(describe(word, full));
            word = words.next_word().ok_or_else(|| {
                ParseError::incomplete(format!(
                    "the destination prefix is missing after the route type {}",
                    describe(word, full)
                ))
            })?;
        }
        if !word.is_empty() && "help".starts_with(word) {
            return Err(ParseError::at_word(
                word,
                "\"help\" is not supported in labels",
            ));
        }

        if self.dst.is_some() {
            let reason = if looks_like_address(word) {
                "unexpected second destination: the destination is already given"
            } else {
                "unknown keyword"
            };
            return Err(ParseError::at_word(word, reason));
        }
        let parsed = parse_prefix(word, self.family).map_err(|e| match &type_word {
            _ if looks_like_address(word) => e,
            // `any` abbreviates the route type `anycast`, so the word after it is read as the
            // destination, as iproute2 does.
            Some(type_word) => ParseError::at_word(
                word,
                format!("expected a destination prefix after the route type {type_word}"),
            ),
            None => ParseError::at_word(word, "unknown keyword"),
        })?;
        self.dst = Some(match parsed {
            PrefixWord::Zero(zero) => Destination::Default(zero),
            PrefixWord::Prefix { prefix, .. } => {
                self.note_family(prefix.family());
                Destination::Prefix(prefix)
            }
        });
        Ok(())
    }

    /// Reads a route metric (RTA_METRICS): an optional `lock`, then the value.
    fn metric(
        &mut self,
        key: Key,
        typed: &str,
        full: &str,
        value: &str,
        words: &mut Words<'_>,
    ) -> Result<(), ParseError> {
        let what = describe(typed, full);
        let lockable = !matches!(
            key,
            Key::RtoMin | Key::Features | Key::Quickack | Key::FastopenNoCookie
        );
        let (locked, value) = if lockable && value == "lock" {
            (
                true,
                words.value(&format!("{typed} lock"), &format!("{full} lock"))?,
            )
        } else {
            (false, value)
        };

        let number = |value: &str| number::value::<u32>(value, &what);
        let kind = match key {
            Key::Mtu => RouteMetricKind::Mtu(number(value)?),
            Key::Hoplimit => {
                RouteMetricKind::Hoplimit(u32::from(number::value::<u8>(value, &what)?))
            }
            Key::Advmss => RouteMetricKind::Advmss(number(value)?),
            Key::Reordering => RouteMetricKind::Reordering(number(value)?),
            Key::Window => RouteMetricKind::Window(number(value)?),
            Key::Cwnd => RouteMetricKind::Cwnd(number(value)?),
            Key::Initcwnd => RouteMetricKind::Initcwnd(number(value)?),
            Key::Initrwnd => RouteMetricKind::Initrwnd(number(value)?),
            Key::Ssthresh => RouteMetricKind::Ssthresh(number(value)?),
            Key::Rtt => RouteMetricKind::Rtt(scaled_time(value, &what, 8)?),
            Key::Rttvar => RouteMetricKind::RttVar(scaled_time(value, &what, 4)?),
            Key::RtoMin => RouteMetricKind::RtoMin(rtt_time(value, &what)?.millis),
            Key::Features => RouteMetricKind::Features(features(value, &what)?),
            Key::Quickack => RouteMetricKind::Quickack(zero_or_one(value, &what)?),
            Key::FastopenNoCookie => RouteMetricKind::FastopenNoCookie(zero_or_one(value, &what)?),
            _ => RouteMetricKind::Congctl(value.to_string()),
        };
        // iproute2 always sets the lock bit of rto_min.
        let locked = locked || key == Key::RtoMin;
        self.set_metric(RouteMetric { kind, locked });
        Ok(())
    }

    /// Adds a metric. A repeated metric keeps one entry: the kernel uses the last value, and
    /// the lock bits of both are combined, as iproute2 ORs them into one RTAX_LOCK.
    fn set_metric(&mut self, metric: RouteMetric) {
        let metrics = &mut self.request.metrics;
        match metrics
            .iter_mut()
            .find(|m| discriminant(&m.kind) == discriminant(&metric.kind))
        {
            Some(existing) => {
                existing.locked |= metric.locked;
                existing.kind = metric.kind;
            }
            None => metrics.push(metric),
        }
    }

    /// Reads the next hops. iproute2 treats every word after the first `nexthop` as part of a
    /// next hop, so no route option may follow.
    fn nexthops(&mut self, words: &mut Words<'_>) -> Result<(), ParseError> {
        loop {
            if words.is_empty() {
                return Err(ParseError::incomplete(
                    "a next hop is missing after \"nexthop\"",
                ));
            }
            let hop = self.nexthop(words)?;
            self.request.nexthops.push(hop);

            match words.next_word() {
                None => return Ok(()),
                Some("nexthop") => {}
                Some(other) => {
                    return Err(ParseError::at_word(
                        other,
                        "expected \"nexthop\" or the end of the tail: everything after the first \"nexthop\" belongs to the next hops",
                    ));
                }
            }
        }
    }

    fn nexthop(&mut self, words: &mut Words<'_>) -> Result<NextHop, ParseError> {
        let mut hop = NextHop {
            via: None,
            dev: None,
            weight: None,
            onlink: false,
            realms: None,
        };
        while let Some(word) = words.peek() {
            let is_realms = !word.is_empty() && "realms".starts_with(word);
            if !matches!(word, "via" | "dev" | "weight" | "onlink" | "encap" | "as") && !is_realms {
                break;
            }
            words.next_word();
            if word == "onlink" {
                hop.onlink = true;
                continue;
            }
            if word == "encap" || word == "as" {
                return Err(ParseError::at_word(
                    word,
                    format!("\"{word}\" is not supported in labels"),
                ));
            }

            let full = if is_realms { "realms" } else { word };
            let value = words.value(word, full)?;
            let what = describe(word, full);
            match full {
                "via" => {
                    let via = gateway(value, self.family, words)?;
                    self.note_family(Family::of(&via.addr));
                    // The kernel reads a next hop's attributes with nla_find, so the first
                    // gateway and the first realms of a next hop count.
                    hop.via.get_or_insert(via);
                }
                "dev" => hop.dev = Some(device_name(value)?),
                "weight" => hop.weight = Some(weight(value)?),
                _ => {
                    let realms = names::realms(value).ok_or_else(|| realms_error(value, &what))?;
                    hop.realms.get_or_insert(realms);
                }
            }
        }
        Ok(hop)
    }
}

/// Reads `via [inet|inet6] ADDR` after the `via` keyword; `value` is the first word.
fn gateway(value: &str, family: Option<Family>, words: &mut Words<'_>) -> Result<Via, ParseError> {
    let (family_word, addr_word) = match value {
        "inet" => (Some(Family::Inet), words.value("via inet", "via inet")?),
        "inet6" => (Some(Family::Inet6), words.value("via inet6", "via inet6")?),
        "link" | "ipx" | "mpls" | "bridge" => {
            return Err(ParseError::at_word(
                value,
                "only inet and inet6 gateways are supported in labels",
            ));
        }
        _ => (None, value),
    };
    let addr = parse_address(addr_word, family_word.or(family))?;
    Ok(Via {
        addr,
        family_given: family_word.is_some(),
    })
}

fn tos(value: &str, what: &str) -> Result<u8, ParseError> {
    names::dsfield(value).ok_or_else(|| {
        ParseError::at_word(
            value,
            format!(
                "invalid {what}: expected a DS field name such as AF11, or a hex number up to ff"
            ),
        )
    })
}

fn table(value: &str, what: &str) -> Result<u32, ParseError> {
    names::table(value).ok_or_else(|| {
        ParseError::at_word(
            value,
            format!(
                "invalid {what}: expected main, local, default, a name from rt_tables or a number"
            ),
        )
    })
}

fn pref(value: &str, what: &str) -> Result<u8, ParseError> {
    match value {
        "low" => Ok(3),
        "medium" => Ok(0),
        "high" => Ok(1),
        _ => number::get::<u8>(value).ok_or_else(|| {
            ParseError::at_word(
                value,
                format!("invalid {what}: expected low, medium, high or a number from 0 to 255"),
            )
        }),
    }
}

fn weight(value: &str) -> Result<u16, ParseError> {
    number::get::<u16>(value)
        .filter(|w| (1..=256).contains(w))
        .ok_or_else(|| {
            ParseError::at_word(value, "invalid \"weight\": expected a number from 1 to 256")
        })
}

fn features(value: &str, what: &str) -> Result<u32, ParseError> {
    match value {
        "ecn" => Ok(1),
        "tcp_usec_ts" => Ok(1 << 4),
        _ => Err(ParseError::at_word(
            value,
            format!("invalid {what}: expected ecn or tcp_usec_ts"),
        )),
    }
}

fn zero_or_one(value: &str, what: &str) -> Result<u32, ParseError> {
    number::get::<u32>(value)
        .filter(|v| *v <= 1)
        .ok_or_else(|| ParseError::at_word(value, format!("invalid {what}: expected 0 or 1")))
}

/// Reads a time and scales it as iproute2 does: a bare number goes to the kernel as is, a
/// time with a unit is multiplied by `factor` (8 for rtt, 4 for rttvar), wrapping like C.
fn scaled_time(value: &str, what: &str, factor: u32) -> Result<u32, ParseError> {
    let time = rtt_time(value, what)?;
    Ok(if time.raw {
        time.millis
    } else {
        time.millis.wrapping_mul(factor)
    })
}

fn named_value_error(value: &str, what: &str, examples: &str) -> ParseError {
    ParseError::at_word(
        value,
        format!("invalid {what}: expected a name such as {examples}, or a number from 0 to 255"),
    )
}

fn realms_error(value: &str, what: &str) -> ParseError {
    ParseError::at_word(
        value,
        format!("invalid {what}: expected [FROM/]TO realms from 0 to 255, or a 32-bit number"),
    )
}

// ---------------------------------------------------------------------------------------------
// printing

fn verb_name(verb: RouteVerb) -> &'static str {
    match verb {
        RouteVerb::Add => "add",
        RouteVerb::Change => "change",
        RouteVerb::Replace => "replace",
        RouteVerb::Prepend => "prepend",
        RouteVerb::Append => "append",
        RouteVerb::Test => "test",
        RouteVerb::Delete => "delete",
    }
}

/// Returns the family that iproute2 would infer from the tail as [`RouteRequest`]'s `Display`
/// prints it: destination, `from`, `via`, `src`, then next-hop gateways, else IPv4.
fn printed_family(r: &RouteRequest) -> Family {
    let dst = match r.dst {
        Destination::Prefix(p) => Some(p.family()),
        Destination::Default(_) => None,
    };
    dst.or(r.from.map(|p| p.family()))
        .or(r.via.map(|v| Family::of(&v.addr)))
        .or(r.src.as_ref().map(Family::of))
        .or(r
            .nexthops
            .iter()
            .find_map(|h| h.via.map(|v| Family::of(&v.addr))))
        .unwrap_or(Family::Inet)
}

fn write_via(f: &mut fmt::Formatter<'_>, via: &Via) -> fmt::Result {
    match (via.family_given, Family::of(&via.addr)) {
        (false, _) => write!(f, " via {}", via.addr),
        (true, Family::Inet) => write!(f, " via inet {}", via.addr),
        (true, Family::Inet6) => write!(f, " via inet6 {}", via.addr),
    }
}

fn write_named<T: fmt::Display + Copy>(
    f: &mut fmt::Formatter<'_>,
    keyword: &str,
    value: Option<T>,
    name: impl Fn(T) -> Option<&'static str>,
) -> fmt::Result {
    match value {
        None => Ok(()),
        Some(v) => match name(v) {
            Some(n) => write!(f, " {keyword} {n}"),
            None => write!(f, " {keyword} {v}"),
        },
    }
}

fn write_metric(f: &mut fmt::Formatter<'_>, metric: &RouteMetric) -> fmt::Result {
    let lock = if metric.locked { "lock " } else { "" };
    match &metric.kind {
        RouteMetricKind::Mtu(v) => write!(f, " mtu {lock}{v}"),
        RouteMetricKind::Window(v) => write!(f, " window {lock}{v}"),
        RouteMetricKind::Rtt(v) => write!(f, " rtt {lock}{v}"),
        RouteMetricKind::RttVar(v) => write!(f, " rttvar {lock}{v}"),
        RouteMetricKind::Ssthresh(v) => write!(f, " ssthresh {lock}{v}"),
        RouteMetricKind::Cwnd(v) => write!(f, " cwnd {lock}{v}"),
        RouteMetricKind::Advmss(v) => write!(f, " advmss {lock}{v}"),
        RouteMetricKind::Reordering(v) => write!(f, " reordering {lock}{v}"),
        RouteMetricKind::Hoplimit(v) => write!(f, " hoplimit {lock}{v}"),
        RouteMetricKind::Initcwnd(v) => write!(f, " initcwnd {lock}{v}"),
        RouteMetricKind::Initrwnd(v) => write!(f, " initrwnd {lock}{v}"),
        RouteMetricKind::Features(1) => write!(f, " features ecn"),
        RouteMetricKind::Features(16) => write!(f, " features tcp_usec_ts"),
        // No other value can be written in ip syntax; the number shows what is set.
        RouteMetricKind::Features(v) => write!(f, " features {v:#x}"),
        RouteMetricKind::RtoMin(v) => write!(f, " rto_min {v}"),
        RouteMetricKind::Quickack(v) => write!(f, " quickack {v}"),
        RouteMetricKind::Congctl(name) => write!(f, " congctl {lock}{name}"),
        RouteMetricKind::FastopenNoCookie(v) => write!(f, " fastopen_no_cookie {v}"),
    }
}

fn write_nexthop(f: &mut fmt::Formatter<'_>, hop: &NextHop) -> fmt::Result {
    f.write_str(" nexthop")?;
    if let Some(via) = &hop.via {
        write_via(f, via)?;
    }
    if let Some(dev) = &hop.dev {
        write!(f, " dev {dev}")?;
    }
    if let Some(weight) = hop.weight {
        write!(f, " weight {weight}")?;
    }
    if hop.onlink {
        f.write_str(" onlink")?;
    }
    if let Some(realms) = hop.realms {
        write!(f, " realms {}", names::realms_text(realms))?;
    }
    Ok(())
}

fn write_destination(f: &mut fmt::Formatter<'_>, r: &RouteRequest) -> fmt::Result {
    match r.route_type {
        None => {}
        Some(RouteType(t)) => match names::route_type_name(t) {
            Some(name) => write!(f, " {name}")?,
            // iproute2 reads a number as a route type only when the word does not start
            // with a digit, so an unnamed type prints with a sign.
            None => write!(f, " +{t}")?,
        },
    }
    match r.dst {
        Destination::Default(word) => write!(f, " {}", default_word_str(word)),
        Destination::Prefix(Prefix { addr, len }) => write!(f, " {addr}/{len}"),
    }
}

/// Prints the tail in `ip` syntax with full keywords, without the leading `ip route`. A
/// leading `-4` or `-6` appears when the printed addresses would not give the family.
impl fmt::Display for RouteRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        write!(
            f,
            "{}{}",
            family_prefix(r.family, printed_family(r)),
            verb_name(r.verb)
        )?;
        write_destination(f, r)?;

        if let Some(from) = r.from {
            write!(f, " from {from}")?;
        }
        if let Some(tos) = r.tos {
            write!(f, " tos {tos:#04x}")?;
        }
        if let Some(via) = &r.via {
            write_via(f, via)?;
        }
        if let Some(dev) = &r.dev {
            write!(f, " dev {dev}")?;
        }
        write_named(f, "table", r.table, names::table_name)?;
        write_named(f, "proto", r.protocol, names::route_protocol_name)?;
        write_named(f, "scope", r.scope, names::scope_name)?;
        if let Some(src) = r.src {
            write!(f, " src {src}")?;
        }
        if let Some(metric) = r.metric {
            write!(f, " metric {metric}")?;
        }
        if r.onlink {
            f.write_str(" onlink")?;
        }
        if let Some(realms) = r.realms {
            write!(f, " realms {}", names::realms_text(realms))?;
        }
        if let Some(expires) = r.expires {
            write!(f, " expires {expires}")?;
        }
        let pref_name = |p: u8| match p {
            3 => Some("low"),
            0 => Some("medium"),
            1 => Some("high"),
            _ => None,
        };
        write_named(f, "pref", r.pref, pref_name)?;
        for metric in &r.metrics {
            write_metric(f, metric)?;
        }
        for hop in &r.nexthops {
            write_nexthop(f, hop)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::iproute::{
        DefaultWord, PROTO_BOOT, SCOPE_HOST, SCOPE_LINK, SCOPE_NOWHERE, SCOPE_UNIVERSE,
        TABLE_LOCAL, TABLE_MAIN,
    };

    fn parse_text(text: &str) -> Result<RouteRequest, ParseError> {
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        parse(&words)
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    /// Tails that parse, with the canonical form they print.
    const ACCEPTED: &[(&str, &str)] = &[
        (
            "add 10.0.5.0/24 via 172.30.0.1",
            "add 10.0.5.0/24 via 172.30.0.1",
        ),
        ("delete default", "delete default"),
        ("del default", "delete default"),
        ("d default", "delete default"),
        ("a default via 172.30.0.1", "add default via 172.30.0.1"),
        ("c default via 172.30.0.9", "change default via 172.30.0.9"),
        (
            "chg default via 172.30.0.9",
            "change default via 172.30.0.9",
        ),
        ("r default via 172.30.0.9", "replace default via 172.30.0.9"),
        (
            "p 10.78.0.0/16 via 172.30.0.1",
            "prepend 10.78.0.0/16 via 172.30.0.1",
        ),
        (
            "ap 10.77.0.0/16 via 172.30.0.1",
            "append 10.77.0.0/16 via 172.30.0.1",
        ),
        (
            "t 10.79.0.0/16 via 172.30.0.1",
            "test 10.79.0.0/16 via 172.30.0.1",
        ),
        (
            "add table 3 default via 172.30.0.3",
            "add default via 172.30.0.3 table 3",
        ),
        (
            "add 192.168.1.1 via 172.30.0.3",
            "add 192.168.1.1/32 via 172.30.0.3",
        ),
        ("add 10/8 dev eth0", "add 10.0.0.0/8 dev eth0"),
        ("add 010.1.1.1 dev eth0", "add 8.1.1.1/32 dev eth0"),
        (
            "add 10.0.0.0/255.255.0.0 dev eth0",
            "add 10.0.0.0/16 dev eth0",
        ),
        (
            "add 10.0.5.6/24 via 172.30.0.1",
            "add 10.0.5.6/24 via 172.30.0.1",
        ),
        ("add to 10.0.0.0/8 dev eth0", "add 10.0.0.0/8 dev eth0"),
        ("add all dev eth0", "add all dev eth0"),
        (
            "add 10.0.0.0/24 dev eth0 metric 5 via 172.30.0.1 table 100",
            "add 10.0.0.0/24 via 172.30.0.1 dev eth0 table 100 metric 5",
        ),
        (
            "add 10.9.0.0/16 via 172.30.0.1 metric 010",
            "add 10.9.0.0/16 via 172.30.0.1 metric 8",
        ),
        (
            "add 10.9.0.0/16 via 172.30.0.1 table 0x64",
            "add 10.9.0.0/16 via 172.30.0.1 table 100",
        ),
        (
            "add 10.9.0.0/16 dev eth0 table main",
            "add 10.9.0.0/16 dev eth0 table main",
        ),
        (
            "add 10.9.0.0/16 dev eth0 table unspec",
            "add 10.9.0.0/16 dev eth0 table 0",
        ),
        (
            "add 10.9.0.0/16 dev eth0 priority 7",
            "add 10.9.0.0/16 dev eth0 metric 7",
        ),
        (
            "add 10.9.0.0/16 dev eth0 preference 7",
            "add 10.9.0.0/16 dev eth0 metric 7",
        ),
        (
            "add blackhole 169.254.169.254/32",
            "add blackhole 169.254.169.254/32",
        ),
        (
            "add to unreachable 10.1.1.0/31",
            "add unreachable 10.1.1.0/31",
        ),
        ("add prohibit 10.1.2.0/24", "add prohibit 10.1.2.0/24"),
        (
            "add throw 10.85.0.0/16 table 100",
            "add throw 10.85.0.0/16 table 100",
        ),
        (
            "add local 10.84.0.1 dev eth1",
            "add local 10.84.0.1/32 dev eth1",
        ),
        (
            "add b 10.0.0.255 dev eth0",
            "add broadcast 10.0.0.255/32 dev eth0",
        ),
        (
            "add brd 10.0.0.255 dev eth0",
            "add broadcast 10.0.0.255/32 dev eth0",
        ),
        ("add u 10.0.0.0/8", "add unreachable 10.0.0.0/8"),
        (
            "add uni 10.0.0.0/8 dev eth0",
            "add unicast 10.0.0.0/8 dev eth0",
        ),
        ("add +12 10.0.0.0/8", "add +12 10.0.0.0/8"),
        (
            "add 2001:db8:99::/48 via 2001:db8:5::1",
            "add 2001:db8:99::/48 via 2001:db8:5::1",
        ),
        (
            "add default via 2001:db8:1::2",
            "add default via 2001:db8:1::2",
        ),
        ("-6 del default", "-6 delete default"),
        ("-4 del default", "delete default"),
        (
            "-4 add default via inet6 fe80::1 dev eth0",
            "-4 add default via inet6 fe80::1 dev eth0",
        ),
        (
            "add 10.0.0.0/8 via inet6 fe80::1 dev eth0",
            "add 10.0.0.0/8 via inet6 fe80::1 dev eth0",
        ),
        (
            "add default via inet6 fe80::1 dev eth0",
            "add default via inet6 fe80::1 dev eth0",
        ),
        (
            "add default via inet 10.0.0.1",
            "add default via inet 10.0.0.1",
        ),
        (
            "add default src 10.0.0.1 via inet6 fe80::1",
            "-4 add default via inet6 fe80::1 src 10.0.0.1",
        ),
        (
            "add 10.88.0.0/16 via 198.51.100.1 src 198.51.100.10",
            "add 10.88.0.0/16 via 198.51.100.1 src 198.51.100.10",
        ),
        (
            "add 10.89.0.0/16 from 198.51.100.0/24 via 198.51.100.1",
            "add 10.89.0.0/16 from 198.51.100.0/24 via 198.51.100.1",
        ),
        (
            "add 10.0.0.0/8 from all via 10.0.0.1",
            "add 10.0.0.0/8 via 10.0.0.1",
        ),
        (
            "add 10.80.0.0/16 via 172.30.0.1 onlink",
            "add 10.80.0.0/16 via 172.30.0.1 onlink",
        ),
        (
            "add 10.81.0.0/16 dev eth1 realm 5",
            "add 10.81.0.0/16 dev eth1 realms 5",
        ),
        (
            "add 10.81.0.0/16 dev eth1 realms 1/2",
            "add 10.81.0.0/16 dev eth1 realms 1/2",
        ),
        (
            "add 10.81.0.0/16 dev eth1 rea 1000",
            "add 10.81.0.0/16 dev eth1 realms 1000",
        ),
        (
            "add 2001:db8:86::/64 dev eth1 pref high",
            "add 2001:db8:86::/64 dev eth1 pref high",
        ),
        (
            "add 2001:db8:86::/64 dev eth1 pre low",
            "add 2001:db8:86::/64 dev eth1 pref low",
        ),
        (
            "add 10.0.0.0/8 dev eth1 pref 100",
            "add 10.0.0.0/8 dev eth1 pref 100",
        ),
        (
            "add 10.0.0.0/8 dev eth1 pref 0",
            "add 10.0.0.0/8 dev eth1 pref medium",
        ),
        (
            "add 2001:db8:87::/64 dev eth1 expires 300",
            "add 2001:db8:87::/64 dev eth1 expires 300",
        ),
        (
            "add 10.0.0.0/8 dev eth0 tos 10",
            "add 10.0.0.0/8 tos 0x10 dev eth0",
        ),
        (
            "add 10.0.0.0/8 dev eth0 d 0x10",
            "add 10.0.0.0/8 tos 0x10 dev eth0",
        ),
        (
            "add 10.0.0.0/8 dev eth0 dsfield AF11",
            "add 10.0.0.0/8 tos 0x28 dev eth0",
        ),
        (
            "add 10.0.0.0/8 dev eth0 t 5",
            "add 10.0.0.0/8 dev eth0 table 5",
        ),
        (
            "add 10.0.0.0/8 dev eth0 p 5",
            "add 10.0.0.0/8 dev eth0 metric 5",
        ),
        (
            "add 10.0.0.0/8 dev eth0 m 5",
            "add 10.0.0.0/8 dev eth0 metric 5",
        ),
        (
            "add 10.0.0.0/8 dev eth0 pro static",
            "add 10.0.0.0/8 dev eth0 proto static",
        ),
        (
            "add 10.0.0.0/8 dev eth0 proto 0x10",
            "add 10.0.0.0/8 dev eth0 proto dhcp",
        ),
        (
            "add 10.0.0.0/8 dev eth0 proto 200",
            "add 10.0.0.0/8 dev eth0 proto 200",
        ),
        (
            "add 10.0.0.0/8 dev eth0 scope link",
            "add 10.0.0.0/8 dev eth0 scope link",
        ),
        (
            "add 10.0.0.0/8 dev eth0 scope 7",
            "add 10.0.0.0/8 dev eth0 scope 7",
        ),
        ("add 10.0.0.0/8 oif eth0", "add 10.0.0.0/8 dev eth0"),
        (
            "add 10.9.0.0/16 via 172.30.0.1 mtu 1400 advmss 1360",
            "add 10.9.0.0/16 via 172.30.0.1 mtu 1400 advmss 1360",
        ),
        (
            "add 10.9.0.0/16 via 172.30.0.1 mtu lock 1400",
            "add 10.9.0.0/16 via 172.30.0.1 mtu lock 1400",
        ),
        (
            "add 10.9.0.0/16 dev eth0 mtu lock 1400 mtu 1500",
            "add 10.9.0.0/16 dev eth0 mtu lock 1500",
        ),
        (
            "add 10.82.0.0/16 via 172.30.0.1 rtt 100ms rttvar 50ms",
            "add 10.82.0.0/16 via 172.30.0.1 rtt 800 rttvar 200",
        ),
        (
            "add 10.0.0.0/8 dev eth0 rtt 1.5s",
            "add 10.0.0.0/8 dev eth0 rtt 12000",
        ),
        (
            "add 10.0.0.0/8 dev eth0 rtt 100",
            "add 10.0.0.0/8 dev eth0 rtt 100",
        ),
        (
            "add 10.0.0.0/8 dev eth0 rt lock 3ms",
            "add 10.0.0.0/8 dev eth0 rttvar lock 12",
        ),
        (
            "add 10.0.0.0/8 dev eth0 rto_min 1s",
            "add 10.0.0.0/8 dev eth0 rto_min 1000",
        ),
        (
            "add 10.83.0.0/16 via 172.30.0.1 initcwnd 10 initrwnd 20 quickack 1",
            "add 10.83.0.0/16 via 172.30.0.1 initcwnd 10 initrwnd 20 quickack 1",
        ),
        (
            "add 10.0.0.0/8 dev eth0 i 3 initr 4 w 5 c 6 s 7 r 8",
            "add 10.0.0.0/8 dev eth0 initcwnd 3 initrwnd 4 window 5 cwnd 6 ssthresh 7 reordering 8",
        ),
        (
            "add 10.0.0.0/8 dev eth0 hoplimit 64 f ecn fa 1 q 0 co lock reno",
            "add 10.0.0.0/8 dev eth0 hoplimit 64 features ecn fastopen_no_cookie 1 quickack 0 congctl lock reno",
        ),
        (
            "add 10.0.0.0/8 dev eth0 features tcp_usec_ts",
            "add 10.0.0.0/8 dev eth0 features tcp_usec_ts",
        ),
        (
            "add 198.51.100.31 table 1 nexthop via 198.51.100.50 weight 1 nexthop via 198.51.100.40 weight 2 nexthop via 198.51.100.30 weight 3",
            "add 198.51.100.31/32 table 1 nexthop via 198.51.100.50 weight 1 nexthop via 198.51.100.40 weight 2 nexthop via 198.51.100.30 weight 3",
        ),
        (
            "add default proto static metric 100 nexthop via 2001:db8:1::1 dev eth0 weight 1 nexthop via 2001:db8:5::1 dev eth1 weight 1",
            "add default proto static metric 100 nexthop via 2001:db8:1::1 dev eth0 weight 1 nexthop via 2001:db8:5::1 dev eth1 weight 1",
        ),
        (
            "add default scope global nexthop via 10.0.1.1 dev host0-eth0",
            "add default scope global nexthop via 10.0.1.1 dev host0-eth0",
        ),
        (
            "add default nexthop dev eth0 onlink realms 1/2 weight 0x100 nexthop nexthop via 10.0.0.1",
            "add default nexthop dev eth0 weight 256 onlink realms 1/2 nexthop nexthop via 10.0.0.1",
        ),
        (
            "add 10.0.0.0/8 nexthop via 10.0.0.1 via 10.0.0.2",
            "add 10.0.0.0/8 nexthop via 10.0.0.1",
        ),
        (
            "add 10.45.0.0/16 via 10.53.1.2 dev br-b2eb147102f3",
            "add 10.45.0.0/16 via 10.53.1.2 dev br-b2eb147102f3",
        ),
        (
            "add 10.0.0.0/8 via 10.0.0.1 dev eth0 dev eth1",
            "add 10.0.0.0/8 via 10.0.0.1 dev eth1",
        ),
    ];

    /// Tails that iproute2 or dehandler rejects: the word at fault (`None` when the tail ended
    /// early) and the reason.
    const REJECTED: &[(&str, Option<&str>, &str)] = &[
        (
            "",
            None,
            "the verb is missing: add, change, replace, prepend, append, test, delete or flush",
        ),
        (
            "ADD 10.9.0.0/16 via 172.30.0.1",
            Some("ADD"),
            "unknown verb: expected add, change, replace, prepend, append, test, delete or flush",
        ),
        (
            "show",
            Some("show"),
            "the verb \"show\" is not supported in labels: use add, change, replace, prepend, append, test, delete or flush",
        ),
        ("add", None, "the destination prefix is missing"),
        (
            "add via 10.0.0.1",
            None,
            "the destination prefix is missing",
        ),
        ("add to", None, "a value is missing after \"to\""),
        (
            "add blackhole",
            None,
            "the destination prefix is missing after the route type \"blackhole\"",
        ),
        (
            "add 10.9.0.0/33 via 172.30.0.1",
            Some("10.9.0.0/33"),
            "invalid prefix length \"33\": the maximum is 32",
        ),
        (
            "replace default via 10.2.3.5.78",
            Some("10.2.3.5.78"),
            "invalid IPv4 address: more than 4 parts",
        ),
        (
            "add 10.9.0.0/16 via 172.30.0.1 foo",
            Some("foo"),
            "unknown keyword",
        ),
        ("add foo via 172.30.0.1", Some("foo"), "unknown keyword"),
        (
            "add Default via 172.30.0.1",
            Some("Default"),
            "unknown keyword",
        ),
        (
            "add 10.0.0.0/8 Via 172.30.0.1",
            Some("Via"),
            "unknown keyword",
        ),
        (
            "add 10.0.0.0/8 pervasive",
            Some("pervasive"),
            "unknown keyword",
        ),
        (
            "add 10.0.0.0/8 10.1.0.0/16",
            Some("10.1.0.0/16"),
            "unexpected second destination: the destination is already given",
        ),
        ("add h", Some("h"), "\"help\" is not supported in labels"),
        (
            "add default/0 via 10.0.0.1",
            Some("default/0"),
            "\"default\" takes no prefix length",
        ),
        (
            "add 10.90.0.0/16 via 172.30.0.1 d eth0",
            Some("eth0"),
            "invalid \"d\" (read as \"dsfield\"): expected a DS field name such as AF11, or a hex number up to ff",
        ),
        (
            "add 10.0.0.0/8 tos 100",
            Some("100"),
            "invalid \"tos\": expected a DS field name such as AF11, or a hex number up to ff",
        ),
        (
            "add 10.0.0.0/8 via",
            None,
            "a value is missing after \"via\"",
        ),
        (
            "add 10.0.0.0/8 t",
            None,
            "a value is missing after \"t\" (read as \"table\")",
        ),
        (
            "add 10.0.0.0/8 via inet6",
            None,
            "a value is missing after \"via inet6\"",
        ),
        (
            "add 10.0.0.0/8 mtu lock",
            None,
            "a value is missing after \"mtu lock\"",
        ),
        (
            "add 10.0.0.0/8 metric abc",
            Some("abc"),
            "invalid \"metric\": expected a number from 0 to 4294967295",
        ),
        (
            "add 10.0.0.0/8 metric 4294967296",
            Some("4294967296"),
            "invalid \"metric\": expected a number from 0 to 4294967295",
        ),
        (
            "add 10.0.0.0/8 metric -1",
            Some("-1"),
            "invalid \"metric\": expected a number from 0 to 4294967295",
        ),
        (
            "add 10.0.0.0/8 metric 08",
            Some("08"),
            "invalid \"metric\": expected a number from 0 to 4294967295",
        ),
        (
            "add 10.0.0.0/8 via 10.0.0.1 via 10.0.0.2",
            Some("via"),
            "a second \"via\": give several gateways with \"nexthop\"",
        ),
        (
            "add 10.0.0.0/8 via 2001:db8::1",
            Some("2001:db8::1"),
            "family mismatch: expected an IPv4 address",
        ),
        (
            "add 2001:db8::/32 via 10.0.0.1",
            Some("10.0.0.1"),
            "family mismatch: expected an IPv6 address",
        ),
        (
            "add via 10.0.0.1 2001:db8::/32",
            Some("2001:db8::/32"),
            "family mismatch: expected an IPv4 prefix",
        ),
        (
            "-6 add 10.0.0.0/8 dev eth0",
            Some("10.0.0.0/8"),
            "family mismatch: expected an IPv6 prefix",
        ),
        (
            "add 10.0.0.0/8 via inet 2001:db8::1",
            Some("2001:db8::1"),
            "family mismatch: expected an IPv4 address",
        ),
        (
            "add fe80::/64 via fe80::1%eth0",
            Some("fe80::1%eth0"),
            "invalid IPv6 address: a zone index is not accepted, name the interface with \"dev\"",
        ),
        (
            "add 10.0.0.0/8 via default",
            Some("default"),
            "expected an address, not a zero-length prefix",
        ),
        (
            "add 10.0.0.0/8 via mpls 100",
            Some("mpls"),
            "only inet and inet6 gateways are supported in labels",
        ),
        (
            "add 10.0.0.0/8 nexthop via 10.0.0.1 metric 5",
            Some("metric"),
            "expected \"nexthop\" or the end of the tail: everything after the first \"nexthop\" belongs to the next hops",
        ),
        (
            "add 10.0.0.0/8 nexthop",
            None,
            "a next hop is missing after \"nexthop\"",
        ),
        (
            "add 10.0.0.0/8 nexthop via 10.0.0.1 nexthop",
            None,
            "a next hop is missing after \"nexthop\"",
        ),
        (
            "add 10.0.0.0/8 nexthop via 10.0.0.1 weight 0",
            Some("0"),
            "invalid \"weight\": expected a number from 1 to 256",
        ),
        (
            "add 10.0.0.0/8 nexthop via 10.0.0.1 weight 257",
            Some("257"),
            "invalid \"weight\": expected a number from 1 to 256",
        ),
        (
            "add 10.0.0.0/8 nexthop via 10.0.0.1 weight",
            None,
            "a value is missing after \"weight\"",
        ),
        (
            "add 10.0.0.0/8 nexthop encap mpls 100",
            Some("encap"),
            "\"encap\" is not supported in labels",
        ),
        (
            "add 10.0.0.0/8 table foo",
            Some("foo"),
            "invalid \"table\": expected main, local, default, a name from rt_tables or a number",
        ),
        (
            "add 10.0.0.0/8 table Main",
            Some("Main"),
            "invalid \"table\": expected main, local, default, a name from rt_tables or a number",
        ),
        (
            "add 10.0.0.0/8 scope 256",
            Some("256"),
            "invalid \"scope\": expected a name such as global, site, link, host, nowhere, or a number from 0 to 255",
        ),
        (
            "add 10.0.0.0/8 proto foo",
            Some("foo"),
            "invalid \"proto\" (read as \"protocol\"): expected a name such as boot, static, kernel, dhcp, or a number from 0 to 255",
        ),
        (
            "add 10.0.0.0/8 hoplimit 256",
            Some("256"),
            "invalid \"hoplimit\": expected a number from 0 to 255",
        ),
        (
            "add 10.0.0.0/8 quickack 2",
            Some("2"),
            "invalid \"quickack\": expected 0 or 1",
        ),
        (
            "add 10.0.0.0/8 fastopen_no_cookie 2",
            Some("2"),
            "invalid \"fastopen_no_cookie\": expected 0 or 1",
        ),
        (
            "add 10.0.0.0/8 features foo",
            Some("foo"),
            "invalid \"features\": expected ecn or tcp_usec_ts",
        ),
        (
            "add 10.0.0.0/8 rtt 10min",
            Some("10min"),
            "invalid \"rtt\": expected milliseconds, or a time with a unit such as 100ms or 1.5s",
        ),
        (
            "add 10.0.0.0/8 rto_min lock 5",
            Some("lock"),
            "invalid \"rto_min\": expected milliseconds, or a time with a unit such as 100ms or 1.5s",
        ),
        (
            "add 10.0.0.0/8 pref 256",
            Some("256"),
            "invalid \"pref\": expected low, medium, high or a number from 0 to 255",
        ),
        (
            "add 10.0.0.0/8 expires x",
            Some("x"),
            "invalid \"expires\": expected a number from 0 to 4294967295",
        ),
        (
            "add 10.0.0.0/8 realms 1/300",
            Some("1/300"),
            "invalid \"realms\": expected [FROM/]TO realms from 0 to 255, or a 32-bit number",
        ),
        (
            "add 10.0.0.0/8 dev a/b",
            Some("a/b"),
            "invalid interface name: it contains \"/\"",
        ),
        (
            "add 10.0.0.0/8 nhid 5",
            Some("nhid"),
            "\"nhid\" is not supported in labels",
        ),
        (
            "add 10.0.0.0/8 v red",
            Some("v"),
            "\"v\" (read as \"vrf\") is not supported in labels",
        ),
        (
            "add 10.0.0.0/8 encap mpls 100",
            Some("encap"),
            "\"encap\" is not supported in labels",
        ),
        (
            "add 10.0.0.0/8 as to 10.0.0.1",
            Some("as"),
            "\"as\" is not supported in labels",
        ),
    ];

    #[test]
    fn route_accepted_tails_print_canonically() {
        for (text, printed) in ACCEPTED {
            let request = parse_text(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(request.to_string(), *printed, "{text:?}");
        }
    }

    #[test]
    fn route_rejected_tails_name_word_and_reason() {
        for (text, word, reason) in REJECTED {
            let err = parse_text(text).expect_err(text);
            assert_eq!(err.word.as_deref(), *word, "{text:?}");
            assert_eq!(err.reason, *reason, "{text:?}");
        }
    }

    #[test]
    fn route_round_trip() {
        for (text, _) in ACCEPTED {
            let request = parse_text(text).unwrap();
            let printed = request.to_string();
            let again = parse_text(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e}"));
            assert_eq!(again, request, "{text:?} printed as {printed:?}");
        }
    }

    #[test]
    fn route_fields_keep_iproute2_meaning() {
        let r = parse_text("add 10.9.0.0/16 via 172.30.0.1 metric 010 table 0x64").unwrap();
        assert_eq!(r.metric, Some(8));
        assert_eq!(r.table, Some(100));
        assert_eq!(r.family, Family::Inet);

        let r = parse_text("add 10.0.0.0/8 dev eth0 pref 100").unwrap();
        assert_eq!(r.pref, Some(100));
        assert_eq!(r.metric, None);

        let r = parse_text("add 10.0.0.0/8 dev eth0 d 10").unwrap();
        assert_eq!(r.tos, Some(0x10));
        assert_eq!(r.dev.as_deref(), Some("eth0"));

        let r = parse_text("add default via 2001:db8:1::2").unwrap();
        assert_eq!(r.family, Family::Inet6);
        assert_eq!(r.dst, Destination::Default(DefaultWord::Default));

        let r = parse_text("add 10.0.0.0/8 via inet6 fe80::1 dev eth0").unwrap();
        assert_eq!(r.family, Family::Inet);
        assert_eq!(
            r.via,
            Some(Via {
                addr: ip("fe80::1"),
                family_given: true
            })
        );

        let r = parse_text("add 10.0.0.0/8 nexthop via 10.0.0.1 weight 256").unwrap();
        assert_eq!(r.nexthops[0].weight, Some(256));

        let r = parse_text("add 10.0.0.0/8 dev eth0 rto_min 200ms").unwrap();
        assert_eq!(
            r.metrics,
            vec![RouteMetric {
                kind: RouteMetricKind::RtoMin(200),
                locked: true
            }]
        );
    }

    #[test]
    fn route_effective_defaults() {
        let r = parse_text("add 10.0.0.0/8 dev eth0").unwrap();
        assert_eq!(r.effective_protocol(), PROTO_BOOT);
        assert_eq!(r.effective_scope(), SCOPE_LINK);
        assert_eq!(r.effective_table(), TABLE_MAIN);
        assert_eq!(r.effective_type(), RouteType::UNICAST);

        let r = parse_text("add 10.0.0.0/8 via 10.0.0.1").unwrap();
        assert_eq!(r.effective_scope(), SCOPE_UNIVERSE);

        let r = parse_text("add local 10.0.0.1 dev eth0").unwrap();
        assert_eq!(r.effective_table(), TABLE_LOCAL);
        assert_eq!(r.effective_scope(), SCOPE_HOST);

        let r = parse_text("del 10.0.0.0/8").unwrap();
        assert_eq!(r.effective_protocol(), 0);
        assert_eq!(r.effective_type(), RouteType::UNSPEC);
        assert_eq!(r.effective_scope(), SCOPE_NOWHERE);

        let r = parse_text("del blackhole 10.0.0.0/8").unwrap();
        assert_eq!(r.effective_scope(), SCOPE_NOWHERE);

        let r = parse_text("-6 del default").unwrap();
        assert_eq!(r.effective_scope(), SCOPE_UNIVERSE);

        let r = parse_text("add 2001:db8::/32 dev eth0").unwrap();
        assert_eq!(r.effective_scope(), SCOPE_UNIVERSE);
    }
}
