//! `ip address|route|rule flush` run as iproute2 6.1 runs it: dump the objects, keep those
//! that match every selector (the filters of `print_addrinfo` in ip/ipaddress.c,
//! `filter_nlmsg` in ip/iproute.c and ip/iprule.c), and send each back unchanged as a delete.
//! Addresses and routes repeat in rounds until a dump matches nothing; rules take one pass.
//!
//! The filters run here, on the dumped messages, because the connection does not ask the
//! kernel for strict dump checking, so the kernel ignores the filters of a dump request.
//!
//! NOTE: with strict checking, `ip route flush table N` of a table that does not exist fails
//! with "FIB table does not exist"; here it deletes nothing and returns `AlreadyAbsent`. Both
//! leave the same kernel state.

use std::collections::HashMap;
use std::ffi::CString;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::TryStreamExt;
use netlink_packet_core::NetlinkMessage;
use netlink_packet_route::address::{AddressAttribute, AddressMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteMessage, RouteType as KernelRouteType, RouteVia,
};
use netlink_packet_route::rule::{RuleAttribute, RuleFlags, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use nix::errno::Errno;
use rtnetlink::IpVersion;

use super::address::address_family;
use super::{ApplyError, Netlink, Outcome, SendError, link_index, send};
use crate::iproute::{
    AddressFlush, Family, PrefixSelectors, PrefixWord, Request, RouteFlush, RuleFlush, TABLE_MAIN,
    ValueOrAll,
};

/// The rounds of deletes after which iproute2 6.1 gives up an address flush
/// (`max_flush_loops`, the default of `ip -loops`).
const ADDRESS_FLUSH_ROUNDS: usize = 10;

/// The time after which iproute2 6.1 gives up a route flush that still finds routes.
const ROUTE_FLUSH_TIME: Duration = Duration::from_secs(30);

/// RTM_F_CLONED: a cached route, which a flush of the route tables leaves alone.
const RTM_F_CLONED: u32 = 0x200;

/// The metric of the kernel's IPv6 null route (`ip6_null_entry`), which iproute2 never
/// flushes.
const IPV6_NULL_ROUTE_METRIC: u32 = u32::MAX;

fn outcome(deleted: usize) -> Outcome {
    if deleted == 0 {
        Outcome::AlreadyAbsent
    } else {
        Outcome::Applied
    }
}

fn dump_error(request: &Request, error: rtnetlink::Error) -> ApplyError {
    match error {
        rtnetlink::Error::NetlinkError(message) => ApplyError::Kernel {
            request: request.to_string(),
            errno: Errno::from_raw(-message.raw_code()),
            kernel_message: None,
        },
        source => ApplyError::Connection {
            request: request.to_string(),
            source,
        },
    }
}

fn send_error(request: &Request, error: SendError) -> ApplyError {
    match error {
        SendError::Kernel {
            errno,
            kernel_message,
        } => ApplyError::Kernel {
            request: request.to_string(),
            errno,
            kernel_message,
        },
        SendError::Socket(source) => ApplyError::Socket {
            request: request.to_string(),
            source,
        },
    }
}

/// Sends a dumped message back as a delete, as iproute2 does.
async fn delete(handle: &Netlink, message: RouteNetlinkMessage) -> Result<(), SendError> {
    let mut message = NetlinkMessage::from(message);
    message.header.flags = 0;
    send(handle, message).await
}

/// Returns the address bytes of an IP address, IPv4 in the first four.
fn address_bytes(addr: IpAddr) -> [u8; 16] {
    let mut bytes = [0; 16];
    match addr {
        IpAddr::V4(a) => bytes[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => bytes = a.octets(),
    }
    bytes
}

/// Compares the first `bits` bits of two addresses, as iproute2's `inet_addr_match`.
fn same_bits(a: &[u8; 16], b: &[u8; 16], bits: u8) -> bool {
    let bits = usize::from(bits).min(128);
    let (bytes, rest) = (bits / 8, bits % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[bytes] ^ b[bytes]) & mask == 0
}

/// A prefix selector in the form that iproute2's `get_prefix` gives it: a family (none
/// for `default`, `all` and `any` without `-4`/`-6`), a length, whether a length counts as
/// given (`default` or a `/`), and the address bytes (zero for `default`, `all` and `any`).
struct Selector {
    family: Option<Family>,
    len: u8,
    len_given: bool,
    bytes: [u8; 16],
}

impl Selector {
    fn new(word: &PrefixWord, family: Option<Family>) -> Selector {
        match word {
            PrefixWord::Zero(zero) => Selector {
                family,
                len: 0,
                len_given: *zero == crate::iproute::DefaultWord::Default,
                bytes: [0; 16],
            },
            PrefixWord::Prefix { prefix, len_given } => Selector {
                family: Some(prefix.family()),
                len: prefix.len,
                len_given: *len_given,
                bytes: address_bytes(prefix.addr),
            },
        }
    }

    /// Returns true when iproute2 compares addresses with this selector at all.
    fn active(&self) -> bool {
        self.family.is_some() || self.len_given
    }
}

// ---------------------------------------------------------------------------------------------
// address

/// Runs `ip address flush`: up to ten rounds of deletes, one with `primary`, because deleting
/// a primary IPv4 address promotes or deletes its secondaries.
pub(super) async fn addresses(
    handle: &Netlink,
    request: &Request,
    flush: &AddressFlush,
) -> Result<Outcome, ApplyError> {
    let index = match &flush.dev {
        Some(dev) => Some(link_index(handle, request, dev).await?),
        None => None,
    };
    let names = match flush.label {
        Some(_) => link_names(handle, request).await?,
        None => HashMap::new(),
    };
    let filter = AddressFilter {
        flush,
        index,
        names,
    };

    let mut deleted = 0;
    for _ in 0..ADDRESS_FLUSH_ROUNDS {
        let mut dump = handle.address().get();
        dump.message_mut().header.family = match flush.family {
            Some(family) => address_family(family),
            None => AddressFamily::Unspec,
        };
        let dumped: Vec<AddressMessage> = dump
            .execute()
            .try_collect()
            .await
            .map_err(|e| dump_error(request, e))?;
        let matched: Vec<AddressMessage> =
            dumped.into_iter().filter(|a| filter.matches(a)).collect();
        if matched.is_empty() {
            return Ok(outcome(deleted));
        }

        // The kernel may delete several addresses for one request (the secondaries of a
        // primary when promote_secondaries is off), so iproute2 ignores EADDRNOTAVAIL. It
        // sends a round's deletes together and stops after the round when one failed.
        let mut first_error = None;
        for address in matched {
            match delete(handle, RouteNetlinkMessage::DelAddress(address)).await {
                Ok(()) => deleted += 1,
                Err(SendError::Kernel {
                    errno: Errno::EADDRNOTAVAIL,
                    ..
                }) => {}
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            return Err(send_error(request, error));
        }
        if flush.single_round() {
            return Ok(outcome(deleted));
        }
    }
    Err(ApplyError::FlushIncomplete {
        request: request.to_string(),
        reason: format!("addresses still match after {ADDRESS_FLUSH_ROUNDS} rounds of deletes"),
    })
}

/// Returns the name of every device by interface index.
async fn link_names(
    handle: &Netlink,
    request: &Request,
) -> Result<HashMap<u32, String>, ApplyError> {
    use netlink_packet_route::link::LinkAttribute;

    let links: Vec<_> = handle
        .link()
        .get()
        .execute()
        .try_collect()
        .await
        .map_err(|e| dump_error(request, e))?;
    Ok(links
        .into_iter()
        .filter_map(|link| {
            link.attributes.iter().find_map(|a| match a {
                LinkAttribute::IfName(name) => Some((link.header.index, name.clone())),
                _ => None,
            })
        })
        .collect())
}

/// The selectors of an address flush with the devices resolved.
struct AddressFilter<'a> {
    flush: &'a AddressFlush,
    index: Option<u32>,
    names: HashMap<u32, String>,
}

impl AddressFilter<'_> {
    fn matches(&self, address: &AddressMessage) -> bool {
        let flush = self.flush;
        if self
            .index
            .is_some_and(|index| index != address.header.index)
        {
            return false;
        }
        if let Some(ValueOrAll::Value(scope)) = flush.scope
            && u8::from(address.header.scope) != scope
        {
            return false;
        }
        let flags = address
            .attributes
            .iter()
            .find_map(|a| match a {
                AddressAttribute::Flags(flags) => Some(flags.bits()),
                _ => None,
            })
            .unwrap_or(u32::from(address.header.flags.bits()));
        if (flush.flags ^ flags) & flush.flag_mask != 0 {
            return false;
        }
        if let Some(family) = flush.family
            && address.header.family != address_family(family)
        {
            return false;
        }
        if let Some(pattern) = &flush.label
            && !self.label_matches(pattern, address)
        {
            return false;
        }
        match &flush.to {
            Some(to) => local_matches(to, address),
            None => true,
        }
    }

    /// Matches the label, or the device name when the address has no label (IPv6), with
    /// fnmatch(3) and no flags, as iproute2 does.
    fn label_matches(&self, pattern: &str, address: &AddressMessage) -> bool {
        let label = address.attributes.iter().find_map(|a| match a {
            AddressAttribute::Label(label) => Some(label.clone()),
            _ => None,
        });
        // iproute2's ll_index_to_name names an unknown index "if<index>".
        let label = label.unwrap_or_else(|| match self.names.get(&address.header.index) {
            Some(name) => name.clone(),
            None => format!("if{}", address.header.index),
        });
        let (Ok(pattern), Ok(label)) = (CString::new(pattern), CString::new(label)) else {
            return false;
        };
        // SAFETY: both arguments are NUL-terminated strings that live across the call.
        unsafe { nix::libc::fnmatch(pattern.as_ptr(), label.as_ptr(), 0) == 0 }
    }
}

/// Matches `to PREFIX` against the local address (IFA_LOCAL, else IFA_ADDRESS), as
/// iproute2's `inet_addr_match_rta`: a zero-length selector matches everything, and an
/// address of the other family nothing.
fn local_matches(to: &PrefixWord, address: &AddressMessage) -> bool {
    let PrefixWord::Prefix { prefix, .. } = to else {
        return true;
    };
    if prefix.len == 0 {
        return true;
    }
    let local = address
        .attributes
        .iter()
        .find_map(|a| match a {
            AddressAttribute::Local(addr) => Some(*addr),
            _ => None,
        })
        .or_else(|| {
            address.attributes.iter().find_map(|a| match a {
                AddressAttribute::Address(addr) => Some(*addr),
                _ => None,
            })
        });
    let Some(local) = local else {
        return true;
    };
    if Family::of(&local) != prefix.family() {
        return false;
    }
    same_bits(
        &address_bytes(local),
        &address_bytes(prefix.addr),
        prefix.len,
    )
}

// ---------------------------------------------------------------------------------------------
// route

/// Runs `ip route flush`: rounds of deletes until a dump matches nothing, for at most 30
/// seconds.
pub(super) async fn routes(
    handle: &Netlink,
    request: &Request,
    flush: &RouteFlush,
) -> Result<Outcome, ApplyError> {
    let oif = match &flush.dev {
        Some(dev) => Some(link_index(handle, request, dev).await?),
        None => None,
    };
    let iif = match &flush.iif {
        Some(dev) => Some(link_index(handle, request, dev).await?),
        None => None,
    };
    let filter = RouteFilter { flush, oif, iif };

    let start = Instant::now();
    let mut deleted = 0;
    loop {
        let mut matched = Vec::new();
        for family in flush.dump_families() {
            let mut message = RouteMessage::default();
            message.header.address_family = address_family(*family);
            let dumped: Vec<RouteMessage> = handle
                .route()
                .get(message)
                .execute()
                .try_collect()
                .await
                .map_err(|e| dump_error(request, e))?;
            matched.extend(dumped.into_iter().filter(|r| filter.matches(r)));
        }
        if matched.is_empty() {
            return Ok(outcome(deleted));
        }

        // iproute2 sends a round's deletes together and stops after the round when one
        // failed.
        let mut first_error = None;
        for route in matched {
            match delete(handle, RouteNetlinkMessage::DelRoute(route)).await {
                Ok(()) => deleted += 1,
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        if let Some(error) = first_error {
            return Err(send_error(request, error));
        }
        if start.elapsed() > ROUTE_FLUSH_TIME {
            return Err(ApplyError::FlushIncomplete {
                request: request.to_string(),
                reason: format!(
                    "routes still match after {} seconds",
                    ROUTE_FLUSH_TIME.as_secs()
                ),
            });
        }
    }
}

/// The selectors of a route flush with the devices resolved.
struct RouteFilter<'a> {
    flush: &'a RouteFlush,
    oif: Option<u32>,
    iif: Option<u32>,
}

/// The attributes of a route that a flush compares.
#[derive(Default)]
struct RouteFields {
    table: Option<u32>,
    dst: Option<IpAddr>,
    src: Option<IpAddr>,
    gateway: Option<IpAddr>,
    via: Option<(Family, IpAddr)>,
    pref_source: Option<IpAddr>,
    realms: u32,
    iif: u32,
    oif: u32,
    mark: u32,
    metric: u32,
}

fn route_address(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(a) => Some(IpAddr::V4(*a)),
        RouteAddress::Inet6(a) => Some(IpAddr::V6(*a)),
        _ => None,
    }
}

impl RouteFields {
    fn of(route: &RouteMessage) -> RouteFields {
        let mut fields = RouteFields::default();
        for attribute in &route.attributes {
            match attribute {
                RouteAttribute::Table(table) => fields.table = Some(*table),
                RouteAttribute::Destination(a) => fields.dst = route_address(a),
                RouteAttribute::Source(a) => fields.src = route_address(a),
                RouteAttribute::Gateway(a) => fields.gateway = route_address(a),
                RouteAttribute::Via(RouteVia::Inet(a)) => {
                    fields.via = Some((Family::Inet, IpAddr::V4(*a)));
                }
                RouteAttribute::Via(RouteVia::Inet6(a)) => {
                    fields.via = Some((Family::Inet6, IpAddr::V6(*a)));
                }
                RouteAttribute::PrefSource(a) => fields.pref_source = route_address(a),
                RouteAttribute::Realm(realm) => {
                    fields.realms = (u32::from(realm.source) << 16) | u32::from(realm.destination);
                }
                RouteAttribute::Iif(index) => fields.iif = *index,
                RouteAttribute::Oif(index) => fields.oif = *index,
                RouteAttribute::Mark(mark) => fields.mark = *mark,
                RouteAttribute::Priority(metric) => fields.metric = *metric,
                _ => {}
            }
        }
        fields
    }
}

fn family_of(family: AddressFamily) -> Option<Family> {
    match family {
        AddressFamily::Inet => Some(Family::Inet),
        AddressFamily::Inet6 => Some(Family::Inet6),
        _ => None,
    }
}

impl RouteFilter<'_> {
    fn matches(&self, route: &RouteMessage) -> bool {
        let flush = self.flush;
        let header = &route.header;
        let fields = RouteFields::of(route);
        let Some(family) = family_of(header.address_family) else {
            return false;
        };

        if header.flags.bits() & RTM_F_CLONED != 0 {
            return false;
        }
        let table = fields.table.unwrap_or(u32::from(header.table));
        let selected_table = flush.effective_table();
        if selected_table != 0 {
            // iproute2 6.1 skips local routes in an IPv6 flush of table main, because the
            // kernel's strict dump returned no route of another table that would tell it
            // that IPv6 has several tables.
            if family == Family::Inet6
                && selected_table == TABLE_MAIN
                && header.kind == KernelRouteType::Local
            {
                return false;
            }
            if table != selected_table {
                return false;
            }
        }
        if let Some(ValueOrAll::Value(protocol)) = flush.protocol
            && u8::from(header.protocol) != protocol
        {
            return false;
        }
        if let Some(ValueOrAll::Value(scope)) = flush.scope
            && u8::from(header.scope) != scope
        {
            return false;
        }
        if flush
            .route_type
            .is_some_and(|t| u8::from(header.kind) != t.0)
        {
            return false;
        }
        if flush.tos.is_some_and(|tos| tos != header.tos) {
            return false;
        }

        let dst = fields.dst.map_or([0; 16], address_bytes);
        if !prefixes_match(
            &flush.to,
            flush.family,
            family,
            header.destination_prefix_length,
            &dst,
        ) {
            return false;
        }
        let src = fields.src.map_or([0; 16], address_bytes);
        if !prefixes_match(
            &flush.from,
            flush.family,
            family,
            header.source_prefix_length,
            &src,
        ) {
            return false;
        }
        if !self.via_matches(family, &fields) || !self.pref_source_matches(family, &fields) {
            return false;
        }

        if let Some(realms) = flush.realms
            && (fields.realms ^ realms.value) & realms.mask != 0
        {
            return false;
        }
        if self.iif.is_some_and(|iif| iif != fields.iif)
            || self.oif.is_some_and(|oif| oif != fields.oif)
            || flush.mark.is_some_and(|mark| mark != fields.mark)
            || flush.metric.is_some_and(|metric| metric != fields.metric)
        {
            return false;
        }

        let ipv6_null_route = family == Family::Inet6
            && header.destination_prefix_length == 0
            && header.kind == KernelRouteType::Unreachable
            && fields.metric == IPV6_NULL_ROUTE_METRIC
            && route
                .attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Priority(_)));
        !ipv6_null_route
    }

    /// Matches `via`: the gateway family (RTA_VIA's, else the route's) and the gateway
    /// address (RTA_GATEWAY or RTA_VIA, zero for a route without one).
    fn via_matches(&self, family: Family, fields: &RouteFields) -> bool {
        let Some(via) = &self.flush.via else {
            return true;
        };
        let selector = Selector::new(&via.prefix, via.family.or(self.flush.family));
        let Some(wanted) = selector.family else {
            return true;
        };
        let gateway_family = fields.via.map_or(family, |(f, _)| f);
        if gateway_family != wanted {
            return false;
        }
        let gateway = fields
            .via
            .map(|(_, addr)| addr)
            .or(fields.gateway)
            .map_or([0; 16], address_bytes);
        same_bits(&gateway, &selector.bytes, selector.len)
    }

    /// Matches `src` against the preferred source address (RTA_PREFSRC).
    fn pref_source_matches(&self, family: Family, fields: &RouteFields) -> bool {
        let Some(src) = &self.flush.src else {
            return true;
        };
        let selector = Selector::new(src, self.flush.family);
        let Some(wanted) = selector.family else {
            return true;
        };
        if family != wanted {
            return false;
        }
        let pref_source = fields.pref_source.map_or([0; 16], address_bytes);
        same_bits(&pref_source, &selector.bytes, selector.len)
    }
}

/// Matches the `root` and `match` selectors of a destination or source against a route's
/// prefix (`len`, `addr`), as iproute2 6.1's `filter_nlmsg`: `root` wants a prefix inside
/// the selector, `match` one that contains it.
fn prefixes_match(
    selectors: &PrefixSelectors,
    preferred: Option<Family>,
    family: Family,
    len: u8,
    addr: &[u8; 16],
) -> bool {
    if let Some(root) = &selectors.root {
        let root = Selector::new(root, preferred);
        if root.family.is_some_and(|f| f != family) || (root.active() && root.len > len) {
            return false;
        }
        if root.active() && !same_bits(addr, &root.bytes, root.len) {
            return false;
        }
    }
    if let Some(matching) = &selectors.matching {
        let matching = Selector::new(matching, preferred);
        if matching.family.is_some_and(|f| f != family) || (matching.active() && matching.len < len)
        {
            return false;
        }
        if matching.active() && !same_bits(addr, &matching.bytes, len) {
            return false;
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// rule

/// Runs `ip rule flush`: one pass over the dump, deleting each matching rule that has a
/// priority other than 0 in dump order, and stopping at the first error.
///
/// NOTE: iproute2 deletes while it reads the dump, and this reads the whole dump first. The
/// two can differ only when the dump spans several netlink reads (hundreds of rules), which the
/// differential test does not cover.
pub(super) async fn rules(
    handle: &Netlink,
    request: &Request,
    flush: &RuleFlush,
) -> Result<Outcome, ApplyError> {
    let version = match flush.family {
        Family::Inet => IpVersion::V4,
        Family::Inet6 => IpVersion::V6,
    };
    let dumped: Vec<RuleMessage> = handle
        .rule()
        .get(version)
        .execute()
        .try_collect()
        .await
        .map_err(|e| dump_error(request, e))?;

    let mut deleted = 0;
    for rule in dumped {
        // The kernel dumps FRA_PRIORITY only for priorities other than 0, and iproute2
        // deletes only rules that have it.
        let has_priority = rule
            .attributes
            .iter()
            .any(|a| matches!(a, RuleAttribute::Priority(_)));
        if !rule_matches(flush, &rule) || !has_priority {
            continue;
        }
        delete(handle, RouteNetlinkMessage::DelRule(rule))
            .await
            .map_err(|e| send_error(request, e))?;
        deleted += 1;
    }
    Ok(outcome(deleted))
}

/// Matches a `from` or `to` selector of a rule flush: rules of the family whose prefix lies
/// inside the selector's.
fn rule_prefix_matches(
    selector: &Option<PrefixWord>,
    flush_family: Family,
    rule_family: Option<Family>,
    len: u8,
    addr: Option<IpAddr>,
) -> bool {
    let Some(word) = selector else {
        return true;
    };
    let selector = Selector::new(word, Some(flush_family));
    if selector.family != rule_family || selector.len > len {
        return false;
    }
    match addr {
        Some(addr) if selector.len > 0 => {
            Family::of(&addr) == flush_family
                && same_bits(&address_bytes(addr), &selector.bytes, selector.len)
        }
        _ => true,
    }
}

/// Matches a dumped rule against the selectors, as iproute2 6.1's `filter_nlmsg` in
/// ip/iprule.c and the protocol check of its `flush_rule`. A fwmark, mask, tunnel id, table,
/// IP protocol or port range of 0 selects nothing there.
fn rule_matches(flush: &RuleFlush, rule: &RuleMessage) -> bool {
    let header = &rule.header;
    let mut priority = 0;
    let (mut src, mut dst) = (None, None);
    let (mut fwmark, mut fwmask, mut tun_id) = (0, 0, None);
    let (mut iif, mut oif) = (None, None);
    let (mut l3mdev, mut uidrange, mut ipproto) = (false, None, 0);
    let (mut sport, mut dport, mut protocol) = (None, None, None);
    let mut table = u32::from(header.table);
    for attribute in &rule.attributes {
        match attribute {
            RuleAttribute::Priority(p) => priority = *p,
            RuleAttribute::Source(a) => src = Some(*a),
            RuleAttribute::Destination(a) => dst = Some(*a),
            RuleAttribute::FwMark(m) => fwmark = *m,
            RuleAttribute::FwMask(m) => fwmask = *m,
            RuleAttribute::TunId(t) => tun_id = Some(*t),
            RuleAttribute::Iifname(name) => iif = Some(name.as_str()),
            RuleAttribute::Oifname(name) => oif = Some(name.as_str()),
            RuleAttribute::L3MDev(on) => l3mdev = *on,
            RuleAttribute::UidRange(range) => uidrange = Some((range.start, range.end)),
            RuleAttribute::IpProtocol(p) => ipproto = u8::from(*p),
            RuleAttribute::SourcePortRange(r) => sport = Some((r.start, r.end)),
            RuleAttribute::DestinationPortRange(r) => dport = Some((r.start, r.end)),
            RuleAttribute::Table(t) => table = *t,
            RuleAttribute::Protocol(p) => protocol = Some(u8::from(*p)),
            _ => {}
        }
    }
    let family = family_of(header.family);

    let checks = [
        flush.priority.is_none_or(|p| p == priority),
        !flush.not || header.flags.contains(RuleFlags::Invert),
        rule_prefix_matches(&flush.from, flush.family, family, header.src_len, src),
        rule_prefix_matches(&flush.to, flush.family, family, header.dst_len, dst),
        flush.tos.is_none_or(|tos| tos == header.tos),
        flush.fwmark.is_none_or(|m| m == 0 || m == fwmark),
        flush.fwmask.is_none_or(|m| m == 0 || m == fwmask),
        flush.iif.as_deref().is_none_or(|name| iif == Some(name)),
        flush.oif.as_deref().is_none_or(|name| oif == Some(name)),
        !flush.l3mdev || l3mdev,
        flush.uidrange.is_none_or(|range| uidrange == Some(range)),
        flush.ipproto.is_none_or(|p| p == 0 || p == ipproto),
        flush
            .sport
            .is_none_or(|range| range.0 == 0 || sport == Some(range)),
        flush
            .dport
            .is_none_or(|range| range.0 == 0 || dport == Some(range)),
        flush.tun_id.is_none_or(|t| t == 0 || tun_id == Some(t)),
        flush.table.is_none_or(|t| t == 0 || t == table),
        match (flush.protocol, protocol) {
            (Some(ValueOrAll::Value(wanted)), Some(protocol)) => wanted == protocol,
            _ => true,
        },
    ];
    checks.into_iter().all(|check| check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_bits_compares_prefix_only() {
        let a = address_bytes("10.1.2.3".parse().unwrap());
        let b = address_bytes("10.1.3.0".parse().unwrap());

        assert!(same_bits(&a, &b, 16));
        assert!(same_bits(&a, &b, 23));
        assert!(!same_bits(&a, &b, 24));
        assert!(same_bits(&a, &b, 0));
    }
}
