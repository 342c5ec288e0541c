//! `ip address|route|rule flush` tails: `[-4|-6] flush SELECTOR…`, with the selectors of
//! iproute2 6.1 read in its order (`ipaddr_list_flush_or_save` in ip/ipaddress.c,
//! `iproute_list_flush_or_save` in ip/iproute.c, `iprule_list_flush_or_save` in ip/iprule.c).
//!
//! Flush selectors differ from the keywords of `add` and `delete` of the same object: other
//! abbreviations, `all` for scope, protocol and table, and prefix matching by `root`, `match`
//! and `exact`.

use std::fmt;

use super::names;
use super::number;
use super::prefix::{default_word_str, parse_prefix};
use super::rule::{fwmark, uid_range};
use super::words::Words;
use super::words::{describe, device_name, family_option, family_prefix, interface_name};
use super::{
    ADDRESS_FLAG_FILTERS, AddressFlush, Family, ParseError, PrefixMatch, PrefixSelectors,
    PrefixWord, RealmsSelector, RouteFlush, RouteType, RuleFlush, ValueOrAll, ViaSelector,
};

/// Returns true when the verb of a tail, after an optional `-4`/`-6`, is `flush`. No verb
/// that iproute2 tests before `flush` for address, route or rule starts with `f`, so every
/// non-empty prefix of `flush` selects it for all three objects.
pub(super) fn is_flush(words: &[&str]) -> bool {
    let (_, words) = family_option(words);
    words
        .first()
        .is_some_and(|verb| !verb.is_empty() && "flush".starts_with(verb))
}

/// iproute2's `matches`: the word is a non-empty prefix of the keyword.
fn matches(word: &str, keyword: &str) -> bool {
    !word.is_empty() && keyword.starts_with(word)
}

/// Returns the words after the verb, and the family of a leading `-4`/`-6`.
fn selector_words<'a>(words: &'a [&'a str]) -> (Option<Family>, &'a [&'a str]) {
    let (family, words) = family_option(words);
    (family, words.get(1..).unwrap_or(&[]))
}

/// Reads a scope name or number, or `all`.
fn scope_or_all(value: &str, what: &str) -> Result<ValueOrAll<u8>, ParseError> {
    match names::scope(value) {
        Some(scope) => Ok(ValueOrAll::Value(scope)),
        None if value == "all" => Ok(ValueOrAll::All),
        None => Err(ParseError::at_word(
            value,
            format!(
                "invalid {what}: expected all, global, site, link, host, nowhere or a number from 0 to 255"
            ),
        )),
    }
}

/// Reads a route protocol name or number, or `all`.
fn protocol_or_all(value: &str, what: &str) -> Result<ValueOrAll<u8>, ParseError> {
    match names::route_protocol(value) {
        Some(protocol) => Ok(ValueOrAll::Value(protocol)),
        None if value == "all" => Ok(ValueOrAll::All),
        None => Err(ParseError::at_word(
            value,
            format!(
                "invalid {what}: expected all, a name such as boot, static, kernel, dhcp, or a number from 0 to 255"
            ),
        )),
    }
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
    names::table(value).ok_or_else(|| table_error(value, what))
}

fn table_error(value: &str, what: &str) -> ParseError {
    ParseError::at_word(
        value,
        format!("invalid {what}: expected main, local, default, a name from rt_tables or a number"),
    )
}

/// Returns the family that a prefix word fixes: its address's, or none for `default`, `all`
/// and `any`.
fn prefix_family(prefix: &PrefixWord) -> Option<Family> {
    match prefix {
        PrefixWord::Zero(_) => None,
        PrefixWord::Prefix { prefix, .. } => Some(prefix.family()),
    }
}

// ---------------------------------------------------------------------------------------------
// address

/// Parses `[-4|-6] flush [to PREFIX] [scope SCOPE|all] [up] [[-]FLAG…] [label PATTERN]
/// [group GROUP] [nomaster] [type KIND] [[dev] IFNAME]`.
pub(super) fn parse_address(words: &[&str]) -> Result<AddressFlush, ParseError> {
    let (family, selectors) = selector_words(words);
    if selectors.is_empty() {
        return Err(ParseError::incomplete(
            "\"flush\" needs at least one selector: iproute2 rejects a flush of every address",
        ));
    }

    let mut flush = AddressFlush {
        family,
        to: None,
        scope: None,
        up: false,
        flags: 0,
        flag_mask: 0,
        label: None,
        group: None,
        nomaster: false,
        kind: None,
        dev: None,
    };
    let mut words = Words::new(selectors);
    while let Some(word) = words.next_word() {
        match word {
            "to" => {
                let value = words.value("to", "to")?;
                let prefix = parse_prefix(value, flush.family)?;
                if flush.family.is_none() {
                    flush.family = prefix_family(&prefix);
                }
                flush.to = Some(prefix);
            }
            "scope" => {
                let value = words.value("scope", "scope")?;
                flush.scope = Some(scope_or_all(value, "\"scope\"")?);
            }
            "up" => flush.up = true,
            _ if address_flag(word, &mut flush) => {}
            "label" => flush.label = Some(words.value("label", "label")?.to_string()),
            "group" => {
                let value = words.value("group", "group")?;
                flush.group = Some(names::interface_group(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        "invalid \"group\": expected default or a number from 0 to 2147483647",
                    )
                })?);
            }
            "master" | "vrf" => {
                return Err(ParseError::at_word(
                    word,
                    format!("\"{word}\" is not supported in labels"),
                ));
            }
            "nomaster" => flush.nomaster = true,
            "type" => flush.kind = Some(words.value("type", "type")?.to_string()),
            _ => address_device(word, &mut words, &mut flush)?,
        }
    }
    Ok(flush)
}

/// Reads a flag selector as iproute2's `get_filter` does: a flag name selects addresses with
/// the flag, `-NAME` those without, `dynamic` is `-permanent` and `primary` is `-secondary`.
/// Returns false when the word is no flag.
fn address_flag(word: &str, flush: &mut AddressFlush) -> bool {
    let (mut inverted, mut name) = match word.strip_prefix('-') {
        Some(name) => (true, name),
        None => (false, word),
    };
    match name {
        "dynamic" => {
            inverted = !inverted;
            name = "permanent";
        }
        "primary" => {
            inverted = !inverted;
            name = "secondary";
        }
        _ => {}
    }
    let Some((_, bit)) = ADDRESS_FLAG_FILTERS.iter().find(|(n, _)| *n == name) else {
        return false;
    };
    if inverted {
        flush.flags &= !bit;
    } else {
        flush.flags |= bit;
    }
    flush.flag_mask |= bit;
    true
}

/// Reads `dev IFNAME`, or a bare IFNAME: iproute2 takes any word it does not know as the
/// device.
fn address_device(
    word: &str,
    words: &mut Words<'_>,
    flush: &mut AddressFlush,
) -> Result<(), ParseError> {
    let name = if word == "dev" {
        words.value("dev", "dev")?
    } else if matches(word, "help") {
        return Err(ParseError::at_word(
            word,
            "\"help\" is not supported in labels",
        ));
    } else {
        word
    };
    if flush.dev.is_some() {
        return Err(ParseError::at_word(
            name,
            "duplicate device: \"dev\" is already given (a word that is no selector is read as the device)",
        ));
    }
    flush.dev = Some(device_name(name)?);
    Ok(())
}

fn write_value_or_all(
    f: &mut fmt::Formatter<'_>,
    keyword: &str,
    value: Option<ValueOrAll<u8>>,
    name: impl Fn(u8) -> Option<&'static str>,
) -> fmt::Result {
    match value {
        None => Ok(()),
        Some(ValueOrAll::All) => write!(f, " {keyword} all"),
        Some(ValueOrAll::Value(v)) => match name(v) {
            Some(n) => write!(f, " {keyword} {n}"),
            None => write!(f, " {keyword} {v}"),
        },
    }
}

fn write_prefix_word(f: &mut fmt::Formatter<'_>, prefix: &PrefixWord) -> fmt::Result {
    match prefix {
        PrefixWord::Zero(word) => f.write_str(default_word_str(*word)),
        PrefixWord::Prefix {
            prefix,
            len_given: true,
        } => write!(f, "{prefix}"),
        PrefixWord::Prefix {
            prefix,
            len_given: false,
        } => write!(f, "{}", prefix.addr),
    }
}

/// Prints the tail in `ip` syntax, without the leading `ip address`.
impl fmt::Display for AddressFlush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let implied = self.to.as_ref().and_then(prefix_family);
        if let Some(family) = self.family
            && implied != Some(family)
        {
            write!(f, "{} ", family.option())?;
        }
        f.write_str("flush")?;

        if let Some(to) = &self.to {
            f.write_str(" to ")?;
            write_prefix_word(f, to)?;
        }
        write_value_or_all(f, "scope", self.scope, names::scope_name)?;
        if self.up {
            f.write_str(" up")?;
        }
        let mut printed = 0;
        for (name, bit) in ADDRESS_FLAG_FILTERS {
            if self.flag_mask & bit == 0 || printed & bit != 0 {
                continue;
            }
            printed |= bit;
            let sign = if self.flags & bit != 0 { "" } else { "-" };
            write!(f, " {sign}{name}")?;
        }
        if let Some(label) = &self.label {
            write!(f, " label {label}")?;
        }
        if let Some(group) = self.group {
            write!(f, " group {group}")?;
        }
        if self.nomaster {
            f.write_str(" nomaster")?;
        }
        if let Some(kind) = &self.kind {
            write!(f, " type {kind}")?;
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// route

/// Parses `[-4|-6] flush SELECTOR…` of `ip route`: `table TABLE|all`, `tos`, `protocol`,
/// `scope`, `type`, `dev`/`oif`, `iif`, `mark`, `metric`, `via`, `src`, `realms`,
/// `from [root|match|exact] PREFIX` and `[to] [root|match|exact] PREFIX`.
pub(super) fn parse_route(words: &[&str]) -> Result<RouteFlush, ParseError> {
    let (family, selectors) = selector_words(words);
    if selectors.is_empty() {
        return Err(ParseError::incomplete(
            "\"flush\" needs at least one selector, as in iproute2",
        ));
    }

    let mut flush = RouteFlush {
        family,
        table: None,
        tos: None,
        protocol: None,
        scope: None,
        route_type: None,
        dev: None,
        iif: None,
        mark: None,
        metric: None,
        via: None,
        src: None,
        realms: None,
        from: PrefixSelectors::default(),
        to: PrefixSelectors::default(),
    };
    let mut words = Words::new(selectors);
    while let Some(word) = words.next_word() {
        route_selector(word, &mut words, &mut flush)?;
    }
    Ok(flush)
}

/// Reads one route selector; the keyword order and the kind of match (`matches` or
/// `strcmp`) are those of iproute2 6.1, so `t` is `table`, `s` is `scope`, `p` is
/// `protocol`, `m` is `metric`, `r` is `realms` and `f` is `from`.
fn route_selector(
    word: &str,
    words: &mut Words<'_>,
    flush: &mut RouteFlush,
) -> Result<(), ParseError> {
    let family = flush.family;
    let keyword = |full: &'static str| (describe(word, full), full);

    if matches(word, "table") {
        let (what, full) = keyword("table");
        let value = words.value(word, full)?;
        flush.table = Some(match names::table(value) {
            Some(id) => id,
            None if value == "all" => 0,
            None if value == "cache" => {
                return Err(ParseError::at_word(
                    value,
                    "the routing cache is not supported in labels",
                ));
            }
            None => return Err(table_error(value, &what)),
        });
    } else if matches(word, "vrf") {
        return Err(ParseError::at_word(
            word,
            format!("{} is not supported in labels", describe(word, "vrf")),
        ));
    } else if matches(word, "cached") || matches(word, "cloned") {
        return Err(ParseError::at_word(
            word,
            "the routing cache is not supported in labels",
        ));
    } else if word == "tos" || matches(word, "dsfield") {
        let (what, full) = keyword(if word == "tos" { "tos" } else { "dsfield" });
        flush.tos = Some(tos(words.value(word, full)?, &what)?);
    } else if matches(word, "protocol") {
        let (what, full) = keyword("protocol");
        flush.protocol = Some(protocol_or_all(words.value(word, full)?, &what)?);
    } else if matches(word, "scope") {
        let (what, full) = keyword("scope");
        flush.scope = Some(scope_or_all(words.value(word, full)?, &what)?);
    } else if matches(word, "type") {
        let (what, full) = keyword("type");
        let value = words.value(word, full)?;
        let route_type = names::route_type(value).ok_or_else(|| {
            ParseError::at_word(
                value,
                format!("invalid {what}: expected a route type such as unicast, local, blackhole, or a number from 0 to 255"),
            )
        })?;
        flush.route_type = Some(RouteType(route_type));
    } else if word == "dev" || word == "oif" {
        flush.dev = Some(device_name(words.value(word, word)?)?);
    } else if word == "iif" {
        flush.iif = Some(interface_name(words.value(word, word)?)?);
    } else if word == "mark" {
        flush.mark = Some(number::value(words.value(word, word)?, "\"mark\"")?);
    } else if matches(word, "metric") || matches(word, "priority") || word == "preference" {
        let full = if matches(word, "metric") {
            "metric"
        } else if matches(word, "priority") {
            "priority"
        } else {
            "preference"
        };
        let (what, full) = keyword(full);
        flush.metric = Some(number::value(words.value(word, full)?, &what)?);
    } else if word == "via" {
        flush.via = Some(via_selector(words, family)?);
    } else if word == "src" {
        flush.src = Some(parse_prefix(words.value(word, word)?, family)?);
    } else if matches(word, "realms") {
        let (what, full) = keyword("realms");
        flush.realms = Some(realms_selector(words.value(word, full)?, &what)?);
    } else if matches(word, "from") {
        let value = words.value(word, "from")?;
        let (how, prefix) = prefix_selector(value, words, family)?;
        flush.from.set(how, prefix);
    } else {
        let mut value = word;
        if matches(word, "to") {
            value = words.value(word, "to")?;
        }
        let (how, prefix) = prefix_selector(value, words, family).map_err(|e| {
            if super::prefix::looks_like_address(value) || e.word.as_deref() != Some(value) {
                e
            } else {
                ParseError::at_word(value, "unknown keyword")
            }
        })?;
        flush.to.set(how, prefix);
    }
    Ok(())
}

/// Reads `[root|match|exact] PREFIX`, where `word` is the first word.
fn prefix_selector(
    word: &str,
    words: &mut Words<'_>,
    family: Option<Family>,
) -> Result<(PrefixMatch, PrefixWord), ParseError> {
    let (how, prefix_word) = if matches(word, "root") {
        (PrefixMatch::Root, words.value(word, "root")?)
    } else if matches(word, "match") {
        (PrefixMatch::Match, words.value(word, "match")?)
    } else if matches(word, "exact") {
        (PrefixMatch::Exact, words.value(word, "exact")?)
    } else {
        (PrefixMatch::Exact, word)
    };
    Ok((how, parse_prefix(prefix_word, family)?))
}

/// Reads `via [inet|inet6] PREFIX` after `via`.
fn via_selector(words: &mut Words<'_>, family: Option<Family>) -> Result<ViaSelector, ParseError> {
    let value = words.value("via", "via")?;
    let (given, prefix_word) = match value {
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
    Ok(ViaSelector {
        family: given,
        prefix: parse_prefix(prefix_word, given.or(family))?,
    })
}

/// Reads `realms [FROM/]TO` and the bits it compares, as iproute2 6.1 does: a zero TO after
/// a `/` at the end is not compared, nor is a zero FROM without a `/` before TO.
fn realms_selector(value: &str, what: &str) -> Result<RealmsSelector, ParseError> {
    let realms = names::realms(value).ok_or_else(|| {
        ParseError::at_word(
            value,
            format!("invalid {what}: expected [FROM/]TO realms from 0 to 255, or a 32-bit number"),
        )
    })?;
    let mut mask = u32::MAX;
    if realms & 0xffff == 0 && value.ends_with('/') {
        mask &= !0xffff;
    }
    if realms & 0xffff_0000 == 0 && (!value.contains('/') || value.starts_with('/')) {
        mask &= !0xffff_0000;
    }
    Ok(RealmsSelector {
        value: realms,
        mask,
    })
}

fn write_prefix_selectors(
    f: &mut fmt::Formatter<'_>,
    keyword: &str,
    selectors: &PrefixSelectors,
) -> fmt::Result {
    let mut write_one = |how: &str, prefix: &PrefixWord| -> fmt::Result {
        write!(f, " {keyword}{how} ")?;
        write_prefix_word(f, prefix)
    };
    match (&selectors.root, &selectors.matching) {
        (Some(root), Some(matching)) if root == matching => write_one("exact", root),
        (root, matching) => {
            if let Some(root) = root {
                write_one("root", root)?;
            }
            if let Some(matching) = matching {
                write_one("match", matching)?;
            }
            Ok(())
        }
    }
}

/// Prints the tail in `ip` syntax, without the leading `ip route`.
impl fmt::Display for RouteFlush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(family) = self.family {
            write!(f, "{} ", family.option())?;
        }
        f.write_str("flush")?;

        match self.table {
            None => {}
            Some(0) => f.write_str(" table all")?,
            Some(id) => match names::table_name(id) {
                Some(name) => write!(f, " table {name}")?,
                None => write!(f, " table {id}")?,
            },
        }
        if let Some(tos) = self.tos {
            write!(f, " tos {tos:#04x}")?;
        }
        write_value_or_all(f, "protocol", self.protocol, names::route_protocol_name)?;
        write_value_or_all(f, "scope", self.scope, names::scope_name)?;
        if let Some(RouteType(t)) = self.route_type {
            match names::route_type_name(t) {
                Some(name) => write!(f, " type {name}")?,
                None => write!(f, " type {t}")?,
            }
        }
        if let Some(dev) = &self.dev {
            write!(f, " dev {dev}")?;
        }
        if let Some(iif) = &self.iif {
            write!(f, " iif {iif}")?;
        }
        if let Some(mark) = self.mark {
            write!(f, " mark {mark}")?;
        }
        if let Some(metric) = self.metric {
            write!(f, " metric {metric}")?;
        }
        if let Some(via) = &self.via {
            f.write_str(" via ")?;
            match via.family {
                Some(Family::Inet) => f.write_str("inet ")?,
                Some(Family::Inet6) => f.write_str("inet6 ")?,
                None => {}
            }
            write_prefix_word(f, &via.prefix)?;
        }
        if let Some(src) = &self.src {
            f.write_str(" src ")?;
            write_prefix_word(f, src)?;
        }
        if let Some(realms) = self.realms {
            let (from, to) = (realms.value >> 16, realms.value & 0xffff);
            match realms.mask {
                0xffff => write!(f, " realms {to}")?,
                0xffff_0000 => write!(f, " realms {from}/")?,
                _ if from <= 255 && to <= 255 => write!(f, " realms {from}/{to}")?,
                _ => write!(f, " realms {}", realms.value)?,
            }
        }
        write_prefix_selectors(f, "from ", &self.from)?;
        write_prefix_selectors(f, "", &self.to)?;
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// rule

/// Parses `[-4|-6] flush [SELECTOR…]` of `ip rule`. Unlike address and route, iproute2
/// accepts a rule flush without selectors.
pub(super) fn parse_rule(words: &[&str]) -> Result<RuleFlush, ParseError> {
    let (family, selectors) = selector_words(words);
    let mut parser = RuleFlushParser {
        family,
        flush: RuleFlush {
            family: Family::Inet,
            priority: None,
            not: false,
            tos: None,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            l3mdev: false,
            uidrange: None,
            tun_id: None,
            table: None,
            from: None,
            to: None,
            protocol: None,
            ipproto: None,
            sport: None,
            dport: None,
        },
    };
    let mut words = Words::new(selectors);
    while let Some(word) = words.next_word() {
        parser.selector(word, &mut words)?;
    }
    parser.flush.family = parser.family.unwrap_or(Family::Inet);
    Ok(parser.flush)
}

struct RuleFlushParser {
    family: Option<Family>,
    flush: RuleFlush,
}

impl RuleFlushParser {
    /// Reads one rule selector in iproute2 6.1's order: `p` is `preference`, `t` is
    /// `tun_id`, `l` is `lookup`, `f` and `s` are `from`, and `d` is `dst`. `tos` and
    /// `dsfield` match whole words only.
    fn selector(&mut self, word: &str, words: &mut Words<'_>) -> Result<(), ParseError> {
        let flush = &mut self.flush;
        let keyword = |full: &'static str| (describe(word, full), full);

        if matches(word, "preference") || matches(word, "order") || matches(word, "priority") {
            let full = if matches(word, "preference") {
                "preference"
            } else if matches(word, "order") {
                "order"
            } else {
                "priority"
            };
            let (what, full) = keyword(full);
            flush.priority = Some(number::value(words.value(word, full)?, &what)?);
        } else if word == "not" {
            flush.not = true;
        } else if word == "tos" || word == "dsfield" {
            let what = describe(word, word);
            flush.tos = Some(tos(words.value(word, word)?, &what)?);
        } else if word == "fwmark" {
            (flush.fwmark, flush.fwmask) = fwmark(words.value(word, word)?)?;
        } else if word == "dev" || word == "iif" {
            flush.iif = Some(interface_name(words.value(word, word)?)?);
        } else if word == "oif" {
            flush.oif = Some(interface_name(words.value(word, word)?)?);
        } else if word == "l3mdev" {
            flush.l3mdev = true;
        } else if word == "uidrange" {
            flush.uidrange = Some(uid_range(words.value(word, word)?)?);
        } else if matches(word, "tun_id") {
            let (what, full) = keyword("tun_id");
            flush.tun_id = Some(number::value(words.value(word, full)?, &what)?);
        } else if matches(word, "lookup") || matches(word, "table") {
            let full = if matches(word, "lookup") {
                "lookup"
            } else {
                "table"
            };
            let (what, full) = keyword(full);
            flush.table = Some(table(words.value(word, full)?, &what)?);
        } else if matches(word, "from") || matches(word, "src") {
            let full = if matches(word, "from") { "from" } else { "src" };
            let value = words.value(word, full)?;
            let prefix = self.prefix(value)?;
            self.flush.from = Some(prefix);
        } else if matches(word, "protocol") {
            let (what, full) = keyword("protocol");
            flush.protocol = Some(protocol_or_all(words.value(word, full)?, &what)?);
        } else if word == "ipproto" {
            let value = words.value(word, word)?;
            flush.ipproto = Some(names::ip_protocol(value).ok_or_else(|| {
                ParseError::at_word(
                    value,
                    "invalid \"ipproto\": expected a protocol name such as tcp, or a decimal number from 0 to 255",
                )
            })?);
        } else if word == "sport" {
            flush.sport = Some(scanf_port_range(words.value(word, word)?, "\"sport\"")?);
        } else if word == "dport" {
            flush.dport = Some(scanf_port_range(words.value(word, word)?, "\"dport\"")?);
        } else {
            let mut value = word;
            if matches(word, "dst") || matches(word, "to") {
                value = words.value(word, if matches(word, "dst") { "dst" } else { "to" })?;
            }
            let prefix = self.prefix(value).map_err(|e| {
                if super::prefix::looks_like_address(value) || value != word {
                    e
                } else {
                    ParseError::at_word(value, "unknown keyword")
                }
            })?;
            self.flush.to = Some(prefix);
        }
        Ok(())
    }

    /// Reads a `from` or `to` prefix. As an extension the first address fixes the family,
    /// where iproute2 reads every prefix as IPv4 unless `-6` is given.
    fn prefix(&mut self, value: &str) -> Result<PrefixWord, ParseError> {
        let prefix = parse_prefix(value, self.family)?;
        if self.family.is_none() {
            self.family = prefix_family(&prefix);
        }
        Ok(prefix)
    }
}

/// Reads `START[-END]` as iproute2's `sscanf("%hu-%hu")` does: decimal numbers truncated to
/// 16 bits, and a range of one port when the second number is missing.
fn scanf_port_range(value: &str, what: &str) -> Result<(u16, u16), ParseError> {
    let invalid = || {
        ParseError::at_word(
            value,
            format!("invalid {what}: expected PORT or START-END, decimal numbers"),
        )
    };
    let (start, read) = names::scanf_u32(value).ok_or_else(invalid)?;
    let start = start as u16;
    let end = value
        .get(read..)
        .and_then(|rest| rest.strip_prefix('-'))
        .and_then(names::scanf_u32)
        .map_or(start, |(end, _)| end as u16);
    Ok((start, end))
}

/// Prints the tail in `ip` syntax, without the leading `ip rule`. A leading `-4` or `-6`
/// appears when `from` and `to` would not give the family.
impl fmt::Display for RuleFlush {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let implied = self
            .from
            .as_ref()
            .and_then(prefix_family)
            .or(self.to.as_ref().and_then(prefix_family))
            .unwrap_or(Family::Inet);
        write!(f, "{}flush", family_prefix(self.family, implied))?;

        if let Some(priority) = self.priority {
            write!(f, " priority {priority}")?;
        }
        if self.not {
            f.write_str(" not")?;
        }
        if let Some(tos) = self.tos {
            write!(f, " tos {tos:#04x}")?;
        }
        match (self.fwmark, self.fwmask) {
            (Some(mark), Some(mask)) => write!(f, " fwmark {mark:#x}/{mask:#x}")?,
            (Some(mark), None) => write!(f, " fwmark {mark:#x}")?,
            _ => {}
        }
        if let Some(iif) = &self.iif {
            write!(f, " iif {iif}")?;
        }
        if let Some(oif) = &self.oif {
            write!(f, " oif {oif}")?;
        }
        if self.l3mdev {
            f.write_str(" l3mdev")?;
        }
        if let Some((start, end)) = self.uidrange {
            write!(f, " uidrange {start}-{end}")?;
        }
        if let Some(tun_id) = self.tun_id {
            write!(f, " tun_id {tun_id}")?;
        }
        match self.table.map(|t| (t, names::table_name(t))) {
            Some((_, Some(name))) => write!(f, " table {name}")?,
            Some((table, None)) => write!(f, " table {table}")?,
            None => {}
        }
        if let Some(from) = &self.from {
            f.write_str(" from ")?;
            write_prefix_word(f, from)?;
        }
        write_value_or_all(f, "protocol", self.protocol, names::route_protocol_name)?;
        if let Some(ipproto) = self.ipproto {
            match names::ip_protocol_name(ipproto) {
                Some(name) => write!(f, " ipproto {name}")?,
                None => write!(f, " ipproto {ipproto}")?,
            }
        }
        for (keyword, ports) in [("sport", self.sport), ("dport", self.dport)] {
            match ports {
                None => {}
                Some((start, end)) if start == end => write!(f, " {keyword} {start}")?,
                Some((start, end)) => write!(f, " {keyword} {start}-{end}")?,
            }
        }
        if let Some(to) = &self.to {
            f.write_str(" to ")?;
            write_prefix_word(f, to)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iproute::{Object, Request, parse_segment};

    /// Flush tails that parse, with the canonical form they print.
    const ACCEPTED: &[(Object, &str, &str)] = &[
        (Object::Address, "flush dev eth1", "flush dev eth1"),
        (Object::Address, "f eth1", "flush dev eth1"),
        (
            Object::Address,
            "flush to 10/8 scope global label eth1:* dev eth1",
            "flush to 10.0.0.0/8 scope global label eth1:* dev eth1",
        ),
        (Object::Address, "flush scope all", "flush scope all"),
        (
            Object::Address,
            "flush dynamic primary nodad",
            "flush -secondary nodad -permanent",
        ),
        (Object::Address, "flush temporary", "flush secondary"),
        (
            Object::Address,
            "flush up group default",
            "flush up group 0",
        ),
        (
            Object::Address,
            "-6 flush scope link",
            "-6 flush scope link",
        ),
        (
            Object::Address,
            "-6 flush to 2001:db8::/32",
            "flush to 2001:db8::/32",
        ),
        (
            Object::Address,
            "-4 flush to default",
            "-4 flush to default",
        ),
        (Object::Route, "flush dev net1", "flush dev net1"),
        (Object::Route, "flush t all", "flush table all"),
        (Object::Route, "flush table unspec", "flush table all"),
        (
            Object::Route,
            "flush p static s link ty blackhole m 010",
            "flush protocol static scope link type blackhole metric 8",
        ),
        (Object::Route, "flush proto all", "flush protocol all"),
        (Object::Route, "flush 10.0.0.0/8", "flush exact 10.0.0.0/8"),
        (
            Object::Route,
            "flush root 10/8 match 10.1.2.3",
            "flush root 10.0.0.0/8 match 10.1.2.3",
        ),
        (
            Object::Route,
            "flush to r 10/8 from m 10.1.0.0/16",
            "flush from match 10.1.0.0/16 root 10.0.0.0/8",
        ),
        (Object::Route, "flush default", "flush exact default"),
        (
            Object::Route,
            "flush via inet6 2001:db8::1 src 10.0.0.1",
            "flush via inet6 2001:db8::1 src 10.0.0.1",
        ),
        (Object::Route, "flush realms 5", "flush realms 5"),
        (Object::Route, "flush realms 5/", "flush realms 5/"),
        (Object::Route, "flush realms 1/2", "flush realms 1/2"),
        (Object::Route, "flush d 0x10", "flush tos 0x10"),
        (Object::Route, "-6 flush dev eth1", "-6 flush dev eth1"),
        (Object::Rule, "flush", "flush"),
        (Object::Rule, "flush table 100", "flush table 100"),
        (Object::Rule, "flush l 100", "flush table 100"),
        (Object::Rule, "flush p 100", "flush priority 100"),
        (Object::Rule, "flush t 7", "flush tun_id 7"),
        (
            Object::Rule,
            "flush not fwmark 0x10/0xff iif eth0 oif eth1",
            "flush not fwmark 0x10/0xff iif eth0 oif eth1",
        ),
        (
            Object::Rule,
            "flush s 10/8 d 10.1.0.0/16",
            "flush from 10.0.0.0/8 to 10.1.0.0/16",
        ),
        (
            Object::Rule,
            "flush ipproto tcp sport 80 dport 1000-2000 uidrange 1-2",
            "flush uidrange 1-2 ipproto tcp sport 80 dport 1000-2000",
        ),
        (Object::Rule, "flush protocol all", "flush protocol all"),
        (
            Object::Rule,
            "flush from 2001:db8::/32",
            "flush from 2001:db8::/32",
        ),
        (Object::Rule, "-6 flush table 5", "-6 flush table 5"),
    ];

    /// Flush tails that iproute2 or dehandler rejects: the word at fault (`None` when the
    /// tail ended early) and the reason.
    const REJECTED: &[(Object, &str, Option<&str>, &str)] = &[
        (
            Object::Address,
            "flush",
            None,
            "\"flush\" needs at least one selector: iproute2 rejects a flush of every address",
        ),
        (
            Object::Address,
            "flush dev eth1 dev eth0",
            Some("eth0"),
            "duplicate device: \"dev\" is already given (a word that is no selector is read as the device)",
        ),
        (
            Object::Address,
            "flush scope foo",
            Some("foo"),
            "invalid \"scope\": expected all, global, site, link, host, nowhere or a number from 0 to 255",
        ),
        (
            Object::Address,
            "flush he",
            Some("he"),
            "\"help\" is not supported in labels",
        ),
        (
            Object::Address,
            "flush master br0",
            Some("master"),
            "\"master\" is not supported in labels",
        ),
        (
            Object::Address,
            "-4 flush to 2001:db8::/32",
            Some("2001:db8::/32"),
            "family mismatch: expected an IPv4 prefix",
        ),
        (
            Object::Route,
            "flush",
            None,
            "\"flush\" needs at least one selector, as in iproute2",
        ),
        (Object::Route, "flush foo", Some("foo"), "unknown keyword"),
        (
            Object::Route,
            "flush table cache",
            Some("cache"),
            "the routing cache is not supported in labels",
        ),
        (
            Object::Route,
            "flush cached",
            Some("cached"),
            "the routing cache is not supported in labels",
        ),
        (
            Object::Route,
            "flush table foo",
            Some("foo"),
            "invalid \"table\": expected main, local, default, a name from rt_tables or a number",
        ),
        (
            Object::Route,
            "flush via mpls 100",
            Some("mpls"),
            "only inet and inet6 gateways are supported in labels",
        ),
        (
            Object::Route,
            "flush root",
            None,
            "a value is missing after \"root\"",
        ),
        (
            Object::Rule,
            "flush goto 5",
            Some("goto"),
            "unknown keyword",
        ),
        (
            Object::Rule,
            "flush dsf 0x10",
            Some("dsf"),
            "unknown keyword",
        ),
        (
            Object::Rule,
            "flush sport x",
            Some("x"),
            "invalid \"sport\": expected PORT or START-END, decimal numbers",
        ),
        (
            Object::Rule,
            "flush from 10/8 to 2001:db8::/32",
            Some("2001:db8::/32"),
            "family mismatch: expected an IPv4 prefix",
        ),
    ];

    #[test]
    fn flush_accepted_tails_print_canonically() {
        for (object, text, printed) in ACCEPTED {
            let request = parse_segment(*object, text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(request.tail(), *printed, "{text:?}");
        }
    }

    #[test]
    fn flush_round_trip() {
        for (object, text, _) in ACCEPTED {
            let request = parse_segment(*object, text).unwrap();
            let printed = request.tail();
            let again =
                parse_segment(*object, &printed).unwrap_or_else(|e| panic!("{printed:?}: {e}"));
            assert_eq!(again, request, "{text:?} printed as {printed:?}");
        }
    }

    #[test]
    fn flush_rejected_tails_name_word_and_reason() {
        for (object, text, word, reason) in REJECTED {
            let err = parse_segment(*object, text).expect_err(text);
            assert_eq!(err.word.as_deref(), *word, "{text:?}");
            assert_eq!(err.reason, *reason, "{text:?}");
        }
    }

    #[test]
    fn flush_selectors_keep_iproute2_meaning() {
        let Ok(Request::RouteFlush(r)) = parse_segment(Object::Route, "flush dev eth1") else {
            panic!("route flush expected");
        };
        assert_eq!(r.effective_table(), 254);
        assert_eq!(r.dump_families(), &[Family::Inet]);

        let Ok(Request::RouteFlush(r)) = parse_segment(Object::Route, "flush table all") else {
            panic!("route flush expected");
        };
        assert_eq!(r.dump_families(), &[Family::Inet, Family::Inet6]);

        let Ok(Request::RouteFlush(r)) = parse_segment(Object::Route, "flush realms 0/5") else {
            panic!("route flush expected");
        };
        assert_eq!(r.realms.map(|s| s.mask), Some(u32::MAX));

        let Ok(Request::AddressFlush(a)) = parse_segment(Object::Address, "flush primary") else {
            panic!("address flush expected");
        };
        assert!(a.single_round());

        let Ok(Request::RuleFlush(r)) = parse_segment(Object::Rule, "flush from 2001:db8::/32")
        else {
            panic!("rule flush expected");
        };
        assert_eq!(r.family, Family::Inet6);
    }
}
