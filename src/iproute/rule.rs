//! `ip rule` tails:
//! `[-4|-6] add|delete [not] [from PREFIX] [to PREFIX] [SELECTOR…] [table TABLE] [ACTION]`,
//! read in the order of iproute2's `iprule_modify` (ip/iprule.c).

use std::fmt;

use super::names;
use super::number;
use super::prefix::{PrefixWord, parse_prefix};
use super::words::{
    Keyword, Match, Words, describe, family_option, family_prefix, interface_name, lookup,
    unsupported_verb,
};
use super::{Family, ParseError, Prefix, RuleAction, RuleRequest, RuleVerb};

/// The meaning of a rule keyword.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Key {
    Not,
    From,
    To,
    Priority,
    Tos,
    Fwmark,
    Realms,
    Protocol,
    TunId,
    Table,
    SuppressPrefixlength,
    SuppressIfgroup,
    Iif,
    Oif,
    L3mdev,
    Uidrange,
    Nat,
    Ipproto,
    Sport,
    Dport,
    /// A keyword of `ip rule` that labels do not support.
    Unsupported,
}

/// The rule keywords in the order iproute2 tests them: `p` is `preference`, `t` is `tun_id`
/// (before `table`), `d` is `dsfield`, `s` is `suppress_prefixlength` and `m` is `map-to`.
pub(super) const KEYWORDS: &[Keyword<Key>] = &[
    ("not", Match::Exact, Key::Not),
    ("from", Match::Exact, Key::From),
    ("to", Match::Exact, Key::To),
    ("preference", Match::Prefix, Key::Priority),
    ("order", Match::Prefix, Key::Priority),
    ("priority", Match::Prefix, Key::Priority),
    ("tos", Match::Exact, Key::Tos),
    ("dsfield", Match::Prefix, Key::Tos),
    ("fwmark", Match::Exact, Key::Fwmark),
    ("realms", Match::Prefix, Key::Realms),
    ("protocol", Match::Prefix, Key::Protocol),
    ("tun_id", Match::Prefix, Key::TunId),
    ("table", Match::Prefix, Key::Table),
    ("lookup", Match::Exact, Key::Table),
    (
        "suppress_prefixlength",
        Match::Prefix,
        Key::SuppressPrefixlength,
    ),
    ("sup_pl", Match::Exact, Key::SuppressPrefixlength),
    ("suppress_ifgroup", Match::Prefix, Key::SuppressIfgroup),
    ("sup_group", Match::Exact, Key::SuppressIfgroup),
    ("dev", Match::Exact, Key::Iif),
    ("iif", Match::Exact, Key::Iif),
    ("oif", Match::Exact, Key::Oif),
    ("l3mdev", Match::Exact, Key::L3mdev),
    ("uidrange", Match::Exact, Key::Uidrange),
    ("nat", Match::Exact, Key::Nat),
    ("map-to", Match::Prefix, Key::Nat),
    ("ipproto", Match::Exact, Key::Ipproto),
    ("sport", Match::Exact, Key::Sport),
    ("dport", Match::Exact, Key::Dport),
    ("dscp", Match::Exact, Key::Unsupported),
    ("flowlabel", Match::Exact, Key::Unsupported),
];

/// The verbs of `ip rule` in the order iproute2's `do_iprule` tests them. `None` marks the
/// verbs that this parser does not read: `flush` has its own parser, and labels do not
/// support the others.
const VERBS: &[Keyword<Option<RuleVerb>>] = &[
    ("list", Match::Prefix, None),
    ("lst", Match::Prefix, None),
    ("show", Match::Prefix, None),
    ("save", Match::Prefix, None),
    ("restore", Match::Prefix, None),
    ("add", Match::Prefix, Some(RuleVerb::Add)),
    ("delete", Match::Prefix, Some(RuleVerb::Delete)),
    ("flush", Match::Prefix, None),
    ("help", Match::Prefix, None),
];

const SUPPORTED_VERBS: &str = "add, delete or flush";

/// Parses the words of one `ip rule` tail.
pub(super) fn parse(words: &[&str]) -> Result<RuleRequest, ParseError> {
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
    if words.is_empty() {
        return Err(ParseError::incomplete(format!(
            "\"{}\" needs at least one selector or action",
            verb_name(verb)
        )));
    }

    let mut parser = RuleParser::new(verb, family);
    while let Some(word) = words.next_word() {
        match lookup(KEYWORDS, word) {
            Some((key, full)) => parser.option(key, word, full, &mut words)?,
            None => parser.action(word, &mut words)?,
        }
    }
    parser.finish()
}

/// The state of one rule tail while its words are read.
struct RuleParser<'a> {
    request: RuleRequest,
    family: Option<Family>,
    /// The `goto` word, kept because a later action word would leave its target unused.
    goto_word: Option<&'a str>,
    /// The value of the last `table`, kept for the check against `l3mdev`.
    table_word: Option<&'a str>,
}

impl<'a> RuleParser<'a> {
    fn new(verb: RuleVerb, family: Option<Family>) -> Self {
        let request = RuleRequest {
            verb,
            family: Family::Inet,
            not: false,
            from: None,
            to: None,
            tos: None,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            priority: None,
            table: None,
            action: None,
            l3mdev: false,
            uidrange: None,
            ipproto: None,
            sport: None,
            dport: None,
            tun_id: None,
            protocol: None,
            realms: None,
            suppress_prefixlength: None,
            suppress_ifgroup: None,
        };
        RuleParser {
            request,
            family,
            goto_word: None,
            table_word: None,
        }
    }

    fn option(
        &mut self,
        key: Key,
        typed: &'a str,
        full: &str,
        words: &mut Words<'a>,
    ) -> Result<(), ParseError> {
        let what = describe(typed, full);
        match key {
            Key::Not => {
                self.request.not = true;
                return Ok(());
            }
            Key::L3mdev => {
                self.request.l3mdev = true;
                return Ok(());
            }
            Key::Unsupported => {
                return Err(ParseError::at_word(
                    typed,
                    format!("{what} is not supported in labels"),
                ));
            }
            Key::Nat => {
                return Err(ParseError::at_word(
                    typed,
                    "route NAT (\"nat\", \"map-to\") is deprecated in iproute2 and not supported in labels",
                ));
            }
            _ => {}
        }

        let value = words.value(typed, full)?;
        let r = &mut self.request;
        match key {
            Key::From => self.request.from = self.selector(value)?,
            Key::To => self.request.to = self.selector(value)?,
            Key::Priority => r.priority = Some(number::value(value, &what)?),
            Key::Tos => {
                r.tos = Some(names::dsfield(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected a DS field name such as AF11, or a hex number up to ff"),
                    )
                })?)
            }
            Key::Fwmark => (r.fwmark, r.fwmask) = fwmark(value)?,
            Key::Realms => {
                r.realms = Some(names::realms(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected [FROM/]TO realms from 0 to 255, or a 32-bit number"),
                    )
                })?)
            }
            Key::Protocol => {
                r.protocol = Some(names::route_protocol(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected a name such as boot, static, kernel, dhcp, or a number from 0 to 255"),
                    )
                })?)
            }
            Key::TunId => r.tun_id = Some(number::value(value, &what)?),
            Key::Table => {
                r.table = Some(names::table(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected main, local, default, a name from rt_tables or a number"),
                    )
                })?);
                self.table_word = Some(value);
            }
            Key::SuppressPrefixlength => {
                r.suppress_prefixlength = Some(number::non_negative_i32(value, &what)?)
            }
            Key::SuppressIfgroup => {
                r.suppress_ifgroup = Some(names::interface_group(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected default or a number from 0 to 2147483647"),
                    )
                })?)
            }
            Key::Iif => r.iif = Some(interface_name(value)?),
            Key::Oif => r.oif = Some(interface_name(value)?),
            Key::Uidrange => r.uidrange = Some(uid_range(value)?),
            Key::Ipproto => {
                r.ipproto = Some(names::ip_protocol(value).ok_or_else(|| {
                    ParseError::at_word(
                        value,
                        format!("invalid {what}: expected a protocol name such as tcp, or a decimal number from 0 to 255"),
                    )
                })?)
            }
            Key::Sport => r.sport = Some(port_range(value, &what)?),
            _ => r.dport = Some(port_range(value, &what)?),
        }
        Ok(())
    }

    /// Reads a `from` or `to` prefix. `all` (and `default`, `any`) matches everything and
    /// sends the same as no selector. As an extension, the first address fixes the family,
    /// because iproute2 sends every rule without `-6` as IPv4.
    fn selector(&mut self, value: &str) -> Result<Option<Prefix>, ParseError> {
        match parse_prefix(value, self.family)? {
            PrefixWord::Zero(_) => Ok(None),
            PrefixWord::Prefix { prefix, .. } => {
                self.family.get_or_insert(prefix.family());
                Ok(Some(prefix))
            }
        }
    }

    /// Reads the action, the branch iproute2 takes for any word that is no keyword:
    /// `[type] goto N`, `nop`, or a route type whose number is the FR_ACT_* action.
    fn action(&mut self, word: &'a str, words: &mut Words<'a>) -> Result<(), ParseError> {
        let mut word = word;
        if word == "type" {
            word = words.value("type", "type")?;
        }
        if !word.is_empty() && "help".starts_with(word) {
            return Err(ParseError::at_word(
                word,
                "\"help\" is not supported in labels",
            ));
        }

        let action = if !word.is_empty() && "goto".starts_with(word) {
            let target = words.value(word, "goto")?;
            self.goto_word = Some(word);
            RuleAction::Goto(number::value(target, &describe(word, "goto"))?)
        } else if !word.is_empty() && "nop".starts_with(word) {
            RuleAction::Nop
        } else {
            let number = names::route_type(word)
                .ok_or_else(|| ParseError::at_word(word, "unknown keyword or rule action"))?;
            rule_action(word, number)?
        };
        self.request.action = Some(action);
        Ok(())
    }

    fn finish(mut self) -> Result<RuleRequest, ParseError> {
        if self.request.l3mdev
            && let Some(word) = self.table_word
            && self.request.table != Some(0)
        {
            return Err(ParseError::at_word(
                word,
                "a table cannot be given with \"l3mdev\"",
            ));
        }
        if let Some(word) = self.goto_word
            && !matches!(self.request.action, Some(RuleAction::Goto(_)))
        {
            return Err(ParseError::at_word(
                word,
                "the goto target is unused because a later word sets another action",
            ));
        }
        self.request.family = self.family.unwrap_or(Family::Inet);
        Ok(self.request)
    }
}

/// Maps a route type to the rule action of the same number, as iproute2 does (RTN_* and
/// FR_ACT_* numbers agree on purpose), keeping the actions that [`RuleAction`] holds.
fn rule_action(word: &str, number: u8) -> Result<RuleAction, ParseError> {
    match number {
        1 => Ok(RuleAction::Table),
        3 => Ok(RuleAction::Nop),
        6 => Ok(RuleAction::Blackhole),
        7 => Ok(RuleAction::Unreachable),
        8 => Ok(RuleAction::Prohibit),
        2 => Err(ParseError::at_word(
            word,
            "this rule type is action 2 (goto) without a target: write \"goto N\"",
        )),
        n => Err(ParseError::at_word(
            word,
            format!(
                "this rule type is rule action {n}, which labels do not support: use unicast, goto, nop, blackhole, unreachable or prohibit"
            ),
        )),
    }
}

/// Reads `MARK[/MASK]`, both base-0 numbers up to 2^32 − 1.
pub(super) fn fwmark(value: &str) -> Result<(Option<u32>, Option<u32>), ParseError> {
    let (mark, mask) = match value.split_once('/') {
        Some((mark, mask)) => (mark, Some(mask)),
        None => (value, None),
    };
    let invalid = || {
        ParseError::at_word(
            value,
            "invalid \"fwmark\": expected MARK or MARK/MASK, numbers from 0 to 4294967295",
        )
    };
    let mark = number::get::<u32>(mark).ok_or_else(invalid)?;
    let mask = match mask {
        Some(mask) => Some(number::get::<u32>(mask).ok_or_else(invalid)?),
        None => None,
    };
    Ok((Some(mark), mask))
}

/// Reads `START-END` as iproute2's `sscanf("%u-%u")` does: decimal numbers, and characters
/// after the second number are ignored.
pub(super) fn uid_range(value: &str) -> Result<(u32, u32), ParseError> {
    let invalid = || ParseError::at_word(value, "invalid \"uidrange\": expected START-END");
    let (start, read) = names::scanf_u32(value).ok_or_else(invalid)?;
    let rest = value
        .get(read..)
        .and_then(|r| r.strip_prefix('-'))
        .ok_or_else(invalid)?;
    let (end, _) = names::scanf_u32(rest).ok_or_else(invalid)?;
    Ok((start, end))
}

/// Reads `PORT` or `START-END`, base-0 numbers up to 65535.
fn port_range(value: &str, what: &str) -> Result<(u16, u16), ParseError> {
    if value.contains('/') && !value.contains('-') {
        return Err(ParseError::at_word(
            value,
            format!("{what} with a mask is not supported in labels"),
        ));
    }
    let invalid = || {
        ParseError::at_word(
            value,
            format!("invalid {what}: expected PORT or START-END, numbers from 0 to 65535"),
        )
    };
    match value.split_once('-') {
        Some((start, end)) => Ok((
            number::get::<u16>(start).ok_or_else(invalid)?,
            number::get::<u16>(end).ok_or_else(invalid)?,
        )),
        None => {
            let port = number::get::<u16>(value).ok_or_else(invalid)?;
            Ok((port, port))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// printing

fn verb_name(verb: RuleVerb) -> &'static str {
    match verb {
        RuleVerb::Add => "add",
        RuleVerb::Delete => "delete",
    }
}

fn action_text(action: RuleAction) -> String {
    match action {
        RuleAction::Table => "unicast".to_string(),
        RuleAction::Goto(target) => format!("goto {target}"),
        RuleAction::Nop => "nop".to_string(),
        RuleAction::Blackhole => "blackhole".to_string(),
        RuleAction::Unreachable => "unreachable".to_string(),
        RuleAction::Prohibit => "prohibit".to_string(),
    }
}

fn write_ports(
    f: &mut fmt::Formatter<'_>,
    keyword: &str,
    ports: Option<(u16, u16)>,
) -> fmt::Result {
    match ports {
        None => Ok(()),
        Some((start, end)) if start == end => write!(f, " {keyword} {start}"),
        Some((start, end)) => write!(f, " {keyword} {start}-{end}"),
    }
}

/// Returns true when the request sets nothing but its verb and family.
fn is_bare(r: &RuleRequest) -> bool {
    let mut bare = RuleParser::new(r.verb, None).request;
    bare.family = r.family;
    *r == bare
}

/// Prints the tail in `ip` syntax with full keywords, without the leading `ip rule`. A
/// leading `-4` or `-6` appears when `from` and `to` would not give the family.
impl fmt::Display for RuleRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self;
        let printed_family = r.from.or(r.to).map_or(Family::Inet, |p| p.family());
        write!(
            f,
            "{}{}",
            family_prefix(r.family, printed_family),
            verb_name(r.verb)
        )?;

        if r.not {
            f.write_str(" not")?;
        }
        if let Some(from) = r.from {
            write!(f, " from {from}")?;
        }
        // A bare verb does not parse, so a rule that matches everything with the default
        // action, as `add from all` parses to, prints its `from all`.
        if is_bare(r) {
            f.write_str(" from all")?;
        }
        if let Some(to) = r.to {
            write!(f, " to {to}")?;
        }
        if let Some(tos) = r.tos {
            write!(f, " tos {tos:#04x}")?;
        }
        match (r.fwmark, r.fwmask) {
            (Some(mark), Some(mask)) => write!(f, " fwmark {mark:#x}/{mask:#x}")?,
            (Some(mark), None) => write!(f, " fwmark {mark:#x}")?,
            _ => {}
        }
        if let Some(iif) = &r.iif {
            write!(f, " iif {iif}")?;
        }
        if let Some(oif) = &r.oif {
            write!(f, " oif {oif}")?;
        }
        if let Some(priority) = r.priority {
            write!(f, " priority {priority}")?;
        }
        match r.table.map(|t| (t, names::table_name(t))) {
            Some((_, Some(name))) => write!(f, " table {name}")?,
            Some((table, None)) => write!(f, " table {table}")?,
            None => {}
        }
        if r.l3mdev {
            f.write_str(" l3mdev")?;
        }
        if let Some((start, end)) = r.uidrange {
            write!(f, " uidrange {start}-{end}")?;
        }
        match r.ipproto.map(|p| (p, names::ip_protocol_name(p))) {
            Some((_, Some(name))) => write!(f, " ipproto {name}")?,
            Some((proto, None)) => write!(f, " ipproto {proto}")?,
            None => {}
        }
        write_ports(f, "sport", r.sport)?;
        write_ports(f, "dport", r.dport)?;
        if let Some(tun_id) = r.tun_id {
            write!(f, " tun_id {tun_id}")?;
        }
        match r.protocol.map(|p| (p, names::route_protocol_name(p))) {
            Some((_, Some(name))) => write!(f, " protocol {name}")?,
            Some((proto, None)) => write!(f, " protocol {proto}")?,
            None => {}
        }
        if let Some(realms) = r.realms {
            write!(f, " realms {}", names::realms_text(realms))?;
        }
        if let Some(length) = r.suppress_prefixlength {
            write!(f, " suppress_prefixlength {length}")?;
        }
        if let Some(group) = r.suppress_ifgroup {
            write!(f, " suppress_ifgroup {group}")?;
        }
        if let Some(action) = r.action {
            write!(f, " {}", action_text(action))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iproute::{TABLE_MAIN, TABLE_UNSPEC};

    fn parse_text(text: &str) -> Result<RuleRequest, ParseError> {
        let words: Vec<&str> = text.split_ascii_whitespace().collect();
        parse(&words)
    }

    /// Tails that parse, with the canonical form they print.
    const ACCEPTED: &[(&str, &str)] = &[
        ("add from all", "add from all"),
        ("-6 del from all to all", "-6 delete from all"),
        (
            "add from 172.19.0.2/32 table 1",
            "add from 172.19.0.2/32 table 1",
        ),
        (
            "add to 172.19.0.2/32 table 1",
            "add to 172.19.0.2/32 table 1",
        ),
        ("a from 10.0.0.1 table 1", "add from 10.0.0.1/32 table 1"),
        ("d from 10.0.0.1 table 1", "delete from 10.0.0.1/32 table 1"),
        (
            "add from 10.0.0.0/24 fwmark 3 lookup 3 prio 32700",
            "add from 10.0.0.0/24 fwmark 0x3 priority 32700 table 3",
        ),
        (
            "add not fwmark 51820 table 51820",
            "add not fwmark 0xca6c table 51820",
        ),
        (
            "add table main suppress_prefixlength 0",
            "add table main suppress_prefixlength 0",
        ),
        (
            "add table main sup_pl 0",
            "add table main suppress_prefixlength 0",
        ),
        (
            "add table main s 0",
            "add table main suppress_prefixlength 0",
        ),
        ("add suppress_i 5 table 7", "add table 7 suppress_ifgroup 5"),
        (
            "add sup_group default table 7",
            "add table 7 suppress_ifgroup 0",
        ),
        (
            "add prio 100 from 198.51.100.40 table 1",
            "add from 198.51.100.40/32 priority 100 table 1",
        ),
        ("add p 5 table 1", "add priority 5 table 1"),
        ("add pref 5 table 1", "add priority 5 table 1"),
        ("add o 5 table 1", "add priority 5 table 1"),
        ("add order 5 table 1", "add priority 5 table 1"),
        (
            "add fwmark 0x10/0xff table 200 priority 500",
            "add fwmark 0x10/0xff priority 500 table 200",
        ),
        (
            "add iif eth1 table 300 pref 600",
            "add iif eth1 priority 600 table 300",
        ),
        ("add dev eth1 table 300", "add iif eth1 table 300"),
        (
            "add oif eth1 lookup 300 priority 601",
            "add oif eth1 priority 601 table 300",
        ),
        (
            "add from all to 198.51.100.0/24 tos 0x10 table 400 priority 700",
            "add to 198.51.100.0/24 tos 0x10 priority 700 table 400",
        ),
        ("add d 10 table 1", "add tos 0x10 table 1"),
        ("add dsfield EF table 1", "add tos 0xb8 table 1"),
        (
            "add uidrange 1000-2000 table 500 priority 800",
            "add priority 800 table 500 uidrange 1000-2000",
        ),
        (
            "add uidrange 1000-2000x table 5",
            "add table 5 uidrange 1000-2000",
        ),
        (
            "add ipproto tcp dport 443 table 501 priority 801",
            "add priority 801 table 501 ipproto tcp dport 443",
        ),
        ("add ipproto 132 table 5", "add table 5 ipproto sctp"),
        ("add ipproto 200 table 5", "add table 5 ipproto 200"),
        (
            "add sport 1000-2000 table 502 priority 802",
            "add priority 802 table 502 sport 1000-2000",
        ),
        ("add sport 0x10 table 5", "add table 5 sport 16"),
        (
            "add from 198.51.100.0/24 goto 32766 priority 100",
            "add from 198.51.100.0/24 priority 100 goto 32766",
        ),
        (
            "add from 10.0.0.0/8 g 40000 priority 100",
            "add from 10.0.0.0/8 priority 100 goto 40000",
        ),
        (
            "add from 10.0.0.0/8 type goto 40000",
            "add from 10.0.0.0/8 goto 40000",
        ),
        (
            "add from 198.51.100.0/24 blackhole priority 101",
            "add from 198.51.100.0/24 priority 101 blackhole",
        ),
        ("add from 10.0.0.0/8 bl", "add from 10.0.0.0/8 blackhole"),
        ("add from 10.0.0.0/8 u", "add from 10.0.0.0/8 unreachable"),
        ("add from 10.0.0.0/8 proh", "add from 10.0.0.0/8 prohibit"),
        ("add from 10.0.0.0/8 n", "add from 10.0.0.0/8 nop"),
        ("add from 10.0.0.0/8 b", "add from 10.0.0.0/8 nop"),
        ("add from 10.0.0.0/8 uni", "add from 10.0.0.0/8 unicast"),
        (
            "add from 10.0.0.0/8 type 6",
            "add from 10.0.0.0/8 blackhole",
        ),
        (
            "add from 198.51.100.0/24 t 100",
            "add from 198.51.100.0/24 tun_id 100",
        ),
        (
            "add from 10.0.0.0/8 ta 100",
            "add from 10.0.0.0/8 table 100",
        ),
        (
            "add tun_id 0xffffffffffffffff table 5",
            "add table 5 tun_id 18446744073709551615",
        ),
        (
            "add from 10.0.0.0/8 pro static table 5",
            "add from 10.0.0.0/8 table 5 protocol static",
        ),
        (
            "add from 10.0.0.0/8 r 1/2 table 5",
            "add from 10.0.0.0/8 table 5 realms 1/2",
        ),
        ("add l3mdev priority 1000", "add priority 1000 l3mdev"),
        ("add l3mdev table 0", "add table 0 l3mdev"),
        (
            "add from 2001:db8:5::/64 table 100 priority 1000",
            "add from 2001:db8:5::/64 priority 1000 table 100",
        ),
        ("-6 add fwmark 1 table 100", "-6 add fwmark 0x1 table 100"),
        ("-6 add from all table 100", "-6 add table 100"),
        (
            "add from 10.0.0.0/8 from 10.1.0.0/16 table 5",
            "add from 10.1.0.0/16 table 5",
        ),
        (
            "add from 10.0.0.0/8 blackhole unreachable",
            "add from 10.0.0.0/8 unreachable",
        ),
        ("del priority 32765", "delete priority 32765"),
    ];

    /// Tails that iproute2 or dehandler rejects: the word at fault (`None` when the tail ended
    /// early) and the reason.
    const REJECTED: &[(&str, Option<&str>, &str)] = &[
        ("", None, "the verb is missing: add, delete or flush"),
        ("add", None, "\"add\" needs at least one selector or action"),
        (
            "del",
            None,
            "\"delete\" needs at least one selector or action",
        ),
        (
            "Add from 10.0.0.0/8",
            Some("Add"),
            "unknown verb: expected add, delete or flush",
        ),
        (
            "replace from 10.0.0.0/8",
            Some("replace"),
            "unknown verb: expected add, delete or flush",
        ),
        ("add from", None, "a value is missing after \"from\""),
        (
            "add t",
            None,
            "a value is missing after \"t\" (read as \"tun_id\")",
        ),
        ("add foo", Some("foo"), "unknown keyword or rule action"),
        (
            "add from 10.0.0.0/8 l",
            Some("l"),
            "unknown keyword or rule action",
        ),
        (
            "add from 10.0.0.0/8 h",
            Some("h"),
            "\"help\" is not supported in labels",
        ),
        (
            "add from 10.0.0.0/33",
            Some("10.0.0.0/33"),
            "invalid prefix length \"33\": the maximum is 32",
        ),
        (
            "add from 10.0.0.0/8 to 2001:db8::/64",
            Some("2001:db8::/64"),
            "family mismatch: expected an IPv4 prefix",
        ),
        (
            "-4 add from 2001:db8::/64",
            Some("2001:db8::/64"),
            "family mismatch: expected an IPv4 prefix",
        ),
        (
            "add from 10.0.0.0/8 t eth0",
            Some("eth0"),
            "invalid \"t\" (read as \"tun_id\"): expected a number from 0 to 18446744073709551615",
        ),
        (
            "add priority -1 table 5",
            Some("-1"),
            "invalid \"priority\": expected a number from 0 to 4294967295",
        ),
        (
            "add fwmark 0x10/x table 5",
            Some("0x10/x"),
            "invalid \"fwmark\": expected MARK or MARK/MASK, numbers from 0 to 4294967295",
        ),
        (
            "add table vpn-does-not-exist",
            Some("vpn-does-not-exist"),
            "invalid \"table\": expected main, local, default, a name from rt_tables or a number",
        ),
        (
            "add uidrange 1000 table 5",
            Some("1000"),
            "invalid \"uidrange\": expected START-END",
        ),
        (
            "add ipproto foo table 5",
            Some("foo"),
            "invalid \"ipproto\": expected a protocol name such as tcp, or a decimal number from 0 to 255",
        ),
        (
            "add ipproto 0x6 table 5",
            Some("0x6"),
            "invalid \"ipproto\": expected a protocol name such as tcp, or a decimal number from 0 to 255",
        ),
        (
            "add dport 70000 table 5",
            Some("70000"),
            "invalid \"dport\": expected PORT or START-END, numbers from 0 to 65535",
        ),
        (
            "add dport 443/0xff table 5",
            Some("443/0xff"),
            "\"dport\" with a mask is not supported in labels",
        ),
        (
            "add suppress_prefixlength -1 table 5",
            Some("-1"),
            "invalid \"suppress_prefixlength\": expected a number from 0 to 2147483647",
        ),
        (
            "add sup_group 2147483648 table 5",
            Some("2147483648"),
            "invalid \"sup_group\": expected default or a number from 0 to 2147483647",
        ),
        (
            "add l3mdev table 5",
            Some("5"),
            "a table cannot be given with \"l3mdev\"",
        ),
        (
            "add from 10.0.0.0/8 goto 5 blackhole",
            Some("goto"),
            "the goto target is unused because a later word sets another action",
        ),
        (
            "add from 10.0.0.0/8 goto x",
            Some("x"),
            "invalid \"goto\": expected a number from 0 to 4294967295",
        ),
        (
            "add from 10.0.0.0/8 goto",
            None,
            "a value is missing after \"goto\"",
        ),
        (
            "add from 10.0.0.0/8 local",
            Some("local"),
            "this rule type is action 2 (goto) without a target: write \"goto N\"",
        ),
        (
            "add from 10.0.0.0/8 throw",
            Some("throw"),
            "this rule type is rule action 9, which labels do not support: use unicast, goto, nop, blackhole, unreachable or prohibit",
        ),
        (
            "add from 10.0.0.0/8 nat 10.0.0.1",
            Some("nat"),
            "route NAT (\"nat\", \"map-to\") is deprecated in iproute2 and not supported in labels",
        ),
        (
            "add dscp 10 table 5",
            Some("dscp"),
            "\"dscp\" is not supported in labels",
        ),
        (
            "add iif abcdefghijklmnop table 5",
            Some("abcdefghijklmnop"),
            "invalid interface name: longer than 15 bytes",
        ),
    ];

    #[test]
    fn rule_accepted_tails_print_canonically() {
        for (text, printed) in ACCEPTED {
            let request = parse_text(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(request.to_string(), *printed, "{text:?}");
        }
    }

    #[test]
    fn rule_rejected_tails_name_word_and_reason() {
        for (text, word, reason) in REJECTED {
            let err = parse_text(text).expect_err(text);
            assert_eq!(err.word.as_deref(), *word, "{text:?}");
            assert_eq!(err.reason, *reason, "{text:?}");
        }
    }

    #[test]
    fn rule_round_trip() {
        for (text, _) in ACCEPTED {
            let request = parse_text(text).unwrap();
            let printed = request.to_string();
            let again = parse_text(&printed).unwrap_or_else(|e| panic!("{printed:?}: {e}"));
            assert_eq!(again, request, "{text:?} printed as {printed:?}");
        }
    }

    #[test]
    fn rule_family_and_defaults() {
        let r = parse_text("add from 2001:db8:5::/64 table 100").unwrap();
        assert_eq!(r.family, Family::Inet6);

        let r = parse_text("add fwmark 1 table 100").unwrap();
        assert_eq!(r.family, Family::Inet);

        let r = parse_text("add from 10.0.0.0/8").unwrap();
        assert_eq!(r.effective_table(), TABLE_MAIN);
        assert_eq!(r.effective_action(), Some(RuleAction::Table));

        let r = parse_text("add from 10.0.0.0/8 unicast").unwrap();
        assert_eq!(r.effective_table(), TABLE_UNSPEC);

        let r = parse_text("add from 10.0.0.0/8 blackhole").unwrap();
        assert_eq!(r.effective_table(), TABLE_UNSPEC);

        let r = parse_text("add l3mdev").unwrap();
        assert_eq!(r.effective_table(), TABLE_UNSPEC);

        let r = parse_text("del from 10.0.0.0/8").unwrap();
        assert_eq!(r.effective_table(), TABLE_UNSPEC);
        assert_eq!(r.effective_action(), None);

        let r = parse_text("add not fwmark 51820 table 51820").unwrap();
        assert!(r.not);
        assert_eq!(r.fwmark, Some(51820));
        assert_eq!(r.fwmask, None);
    }
}
