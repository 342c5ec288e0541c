//! Typed requests: one struct per object, holding exactly what the tail said.
//!
//! Fields left `None` were not written. The applier turns a request into a netlink message and
//! fills in iproute2's defaults through the `effective_*` methods, so the defaults live in one
//! place and `Display` can print the user's own form back.

use std::net::{IpAddr, Ipv4Addr};

pub use super::prefix::PrefixWord;
use super::{Family, Prefix};

/// Route table numbers that iproute2 names without a configuration file.
pub const TABLE_UNSPEC: u32 = 0;
pub const TABLE_DEFAULT: u32 = 253;
pub const TABLE_MAIN: u32 = 254;
pub const TABLE_LOCAL: u32 = 255;

/// Route protocol `boot` (RTPROT_BOOT), which `ip route add` sends when no `proto` is given.
pub const PROTO_BOOT: u8 = 3;

/// Route and address scopes (RT_SCOPE_*).
pub const SCOPE_UNIVERSE: u8 = 0;
pub const SCOPE_LINK: u8 = 253;
pub const SCOPE_HOST: u8 = 254;
pub const SCOPE_NOWHERE: u8 = 255;

// ---------------------------------------------------------------------------------------------
// address

/// The verb of an `ip address` tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressVerb {
    /// `add`: RTM_NEWADDR with NLM_F_CREATE | NLM_F_EXCL.
    Add,
    /// `change` or `chg`: RTM_NEWADDR with NLM_F_REPLACE.
    Change,
    /// `replace`: RTM_NEWADDR with NLM_F_CREATE | NLM_F_REPLACE.
    Replace,
    /// `delete`: RTM_DELADDR.
    Delete,
}

/// The broadcast address of an IPv4 address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broadcast {
    /// An explicit address.
    Addr(Ipv4Addr),
    /// `+`: the prefix with all host bits set.
    HostBitsSet,
    /// `-`: the prefix with all host bits cleared.
    HostBitsCleared,
}

/// A lifetime in seconds, or `forever`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Forever,
    Seconds(u32),
}

/// `ip address add|change|replace|delete [local] PREFIX … dev IFNAME …`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRequest {
    pub verb: AddressVerb,
    /// The local address. Its length is 32 or 128 when the tail gave none; `prefix_len_given`
    /// tells the two apart, because an IPv4 delete without a length matches any length.
    pub local: Prefix,
    pub prefix_len_given: bool,
    pub peer: Option<Prefix>,
    pub broadcast: Option<Broadcast>,
    pub anycast: Option<IpAddr>,
    pub dev: String,
    pub label: Option<String>,
    pub scope: Option<u8>,
    pub metric: Option<u32>,
    pub proto: Option<u8>,
    pub valid_lft: Option<Lifetime>,
    pub preferred_lft: Option<Lifetime>,
    /// IFA_F_* bits from `home`, `nodad`, `optimistic`, `mngtmpaddr`, `noprefixroute`, `autojoin`.
    pub flags: u32,
}

impl AddressRequest {
    /// Returns the family, taken from the local address.
    pub fn family(&self) -> Family {
        self.local.family()
    }

    /// Returns the scope that `ip` sends: the given one, else `host` for IPv4 loopback
    /// addresses (127.0.0.0/8) on add, change and replace, else `global`.
    pub fn effective_scope(&self) -> u8 {
        if let Some(scope) = self.scope {
            return scope;
        }
        match (self.verb, self.local.addr) {
            (AddressVerb::Delete, _) => SCOPE_UNIVERSE,
            (_, IpAddr::V4(a)) if a.octets()[0] == 127 => SCOPE_HOST,
            _ => SCOPE_UNIVERSE,
        }
    }

    /// Returns the IFA_BROADCAST address `ip` sends. An explicit address is sent as given.
    /// `+` and `-` take the peer prefix (else the local one) and set or clear its host bits,
    /// on add, change and replace only, and only for IPv4 prefixes of length 30 or less.
    pub fn effective_broadcast(&self) -> Option<Ipv4Addr> {
        let base = self.peer.unwrap_or(self.local);
        let set = match self.broadcast? {
            Broadcast::Addr(addr) => return Some(addr),
            Broadcast::HostBitsSet => true,
            Broadcast::HostBitsCleared => false,
        };
        let IpAddr::V4(addr) = base.addr else {
            return None;
        };
        if self.verb == AddressVerb::Delete || base.len > 30 {
            return None;
        }
        let host_bits = u32::MAX >> base.len;
        let bits = u32::from(addr);
        Some(Ipv4Addr::from(if set {
            bits | host_bits
        } else {
            bits & !host_bits
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// route

/// The verb of an `ip route` tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteVerb {
    /// `add`: NLM_F_CREATE | NLM_F_EXCL.
    Add,
    /// `change` or `chg`: NLM_F_REPLACE.
    Change,
    /// `replace`: NLM_F_CREATE | NLM_F_REPLACE.
    Replace,
    /// `prepend`: NLM_F_CREATE.
    Prepend,
    /// `append`: NLM_F_CREATE | NLM_F_APPEND.
    Append,
    /// `test`: NLM_F_EXCL.
    Test,
    /// `delete`: RTM_DELROUTE.
    Delete,
}

/// The destination of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destination {
    /// `default`, `all` or `any`: length 0, no RTA_DST. The word is kept for printing.
    Default(DefaultWord),
    /// A prefix; the length is 32 or 128 when the tail gave none.
    Prefix(Prefix),
}

/// The word a tail used for the zero-length destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultWord {
    Default,
    All,
    Any,
}

/// A route type (RTN_*), written before the prefix as in `blackhole 10.0.0.0/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteType(pub u8);

impl RouteType {
    pub const UNSPEC: RouteType = RouteType(0);
    pub const UNICAST: RouteType = RouteType(1);
    pub const LOCAL: RouteType = RouteType(2);
    pub const BROADCAST: RouteType = RouteType(3);
    pub const ANYCAST: RouteType = RouteType(4);
    pub const MULTICAST: RouteType = RouteType(5);
    pub const BLACKHOLE: RouteType = RouteType(6);
    pub const UNREACHABLE: RouteType = RouteType(7);
    pub const PROHIBIT: RouteType = RouteType(8);
    pub const THROW: RouteType = RouteType(9);
    pub const NAT: RouteType = RouteType(10);
    pub const XRESOLVE: RouteType = RouteType(11);
}

/// A gateway: `via ADDR`, or `via inet|inet6 ADDR` for a gateway of the other family (RTA_VIA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Via {
    pub addr: IpAddr,
    /// True when the tail named the family (`via inet6 fe80::1`).
    pub family_given: bool,
}

/// A route metric (RTAX_*) and whether `lock` was given before its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMetric {
    pub kind: RouteMetricKind,
    pub locked: bool,
}

/// The route metrics of RTA_METRICS, with the value the kernel stores.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteMetricKind {
    Mtu(u32),
    Window(u32),
    /// Round-trip time in the kernel's unit: milliseconds × 8 when a unit was given.
    Rtt(u32),
    /// Round-trip time variance in the kernel's unit: milliseconds × 4 when a unit was given.
    RttVar(u32),
    Ssthresh(u32),
    Cwnd(u32),
    Advmss(u32),
    Reordering(u32),
    Hoplimit(u32),
    Initcwnd(u32),
    /// RTAX_FEATURE_* bits; `ecn` is 1.
    Features(u32),
    /// Milliseconds. iproute2 always locks this metric.
    RtoMin(u32),
    Initrwnd(u32),
    Quickack(u32),
    Congctl(String),
    FastopenNoCookie(u32),
}

/// One `nexthop` of a multipath route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextHop {
    pub via: Option<Via>,
    pub dev: Option<String>,
    /// The weight as written, 1 to 256; the kernel stores weight − 1.
    pub weight: Option<u16>,
    pub onlink: bool,
    pub realms: Option<u32>,
}

/// `ip route VERB [to] [TYPE] PREFIX|default [options…] [nexthop …]…`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteRequest {
    pub verb: RouteVerb,
    /// The family, inferred as iproute2 does (destination, `from`, `src`, `via`, nexthop `via`;
    /// else IPv4) or set by a leading `-4` or `-6` word.
    pub family: Family,
    pub route_type: Option<RouteType>,
    pub dst: Destination,
    pub tos: Option<u8>,
    pub table: Option<u32>,
    pub protocol: Option<u8>,
    pub scope: Option<u8>,
    pub metric: Option<u32>,
    pub from: Option<Prefix>,
    pub src: Option<IpAddr>,
    pub via: Option<Via>,
    pub dev: Option<String>,
    pub onlink: bool,
    pub realms: Option<u32>,
    pub expires: Option<u32>,
    /// RTA_PREF: `low` 3, `medium` 0, `high` 1, or a number.
    pub pref: Option<u8>,
    pub metrics: Vec<RouteMetric>,
    pub nexthops: Vec<NextHop>,
}

impl RouteRequest {
    /// Returns the destination prefix length: 0 for `default`.
    pub fn dst_len(&self) -> u8 {
        match self.dst {
            Destination::Default(_) => 0,
            Destination::Prefix(p) => p.len,
        }
    }

    /// Returns the table `ip` sends: the given one, else `local` for the types local, broadcast,
    /// nat and anycast, else `main`.
    pub fn effective_table(&self) -> u32 {
        if let Some(table) = self.table {
            return table;
        }
        match self.route_type {
            Some(RouteType::LOCAL | RouteType::BROADCAST | RouteType::NAT | RouteType::ANYCAST) => {
                TABLE_LOCAL
            }
            _ => TABLE_MAIN,
        }
    }

    /// Returns the protocol `ip` sends: the given one, else `boot` on every verb but delete,
    /// where 0 matches any protocol.
    pub fn effective_protocol(&self) -> u8 {
        match (self.protocol, self.verb) {
            (Some(p), _) => p,
            (None, RouteVerb::Delete) => 0,
            (None, _) => PROTO_BOOT,
        }
    }

    /// Returns the route type `ip` sends: the given one, else unicast, or on delete 0, which
    /// matches any type.
    pub fn effective_type(&self) -> RouteType {
        match (self.route_type, self.verb) {
            (Some(t), _) => t,
            (None, RouteVerb::Delete) => RouteType::UNSPEC,
            (None, _) => RouteType::UNICAST,
        }
    }

    /// Returns the scope `ip` sends when the tail gave none (end of `iproute_modify` in
    /// iproute2's ip/iproute.c). IPv6 routes get universe, local and nat host, broadcast,
    /// multicast and anycast link, and unicast link without a gateway, else universe, or
    /// nowhere (any scope) on delete. Other types keep the starting value: universe, or
    /// nowhere on delete.
    pub fn effective_scope(&self) -> u8 {
        if let Some(scope) = self.scope {
            return scope;
        }
        if self.family == Family::Inet6 {
            return SCOPE_UNIVERSE;
        }
        let delete = self.verb == RouteVerb::Delete;
        match self.effective_type() {
            RouteType::LOCAL | RouteType::NAT => SCOPE_HOST,
            RouteType::BROADCAST | RouteType::MULTICAST | RouteType::ANYCAST => SCOPE_LINK,
            RouteType::UNICAST | RouteType::UNSPEC if delete => SCOPE_NOWHERE,
            RouteType::UNICAST | RouteType::UNSPEC
                if self.via.is_none() && self.nexthops.is_empty() =>
            {
                SCOPE_LINK
            }
            _ if delete => SCOPE_NOWHERE,
            _ => SCOPE_UNIVERSE,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// rule

/// The verb of an `ip rule` tail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleVerb {
    /// `add`: RTM_NEWRULE with NLM_F_CREATE | NLM_F_EXCL.
    Add,
    /// `delete`: RTM_DELRULE; fields not given match anything.
    Delete,
}

/// The action of a rule (FR_ACT_*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleAction {
    /// Look up a table (FR_ACT_TO_TBL), the default when a table is given or nothing is.
    Table,
    /// `goto N` (FR_ACT_GOTO).
    Goto(u32),
    /// `nop` (FR_ACT_NOP).
    Nop,
    Blackhole,
    Unreachable,
    Prohibit,
}

/// `ip rule add|delete [not] [from PREFIX] [to PREFIX] … [table TABLE] [ACTION]`
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleRequest {
    pub verb: RuleVerb,
    /// The family: from `from`/`to`, or a leading `-4`/`-6` word, else IPv4 as in iproute2.
    pub family: Family,
    pub not: bool,
    pub from: Option<Prefix>,
    pub to: Option<Prefix>,
    pub tos: Option<u8>,
    /// `fwmark MARK[/MASK]`.
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub priority: Option<u32>,
    pub table: Option<u32>,
    pub action: Option<RuleAction>,
    pub l3mdev: bool,
    pub uidrange: Option<(u32, u32)>,
    pub ipproto: Option<u8>,
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
    pub tun_id: Option<u64>,
    pub protocol: Option<u8>,
    pub realms: Option<u32>,
    pub suppress_prefixlength: Option<u32>,
    pub suppress_ifgroup: Option<u32>,
}

impl RuleRequest {
    /// Returns the action `ip` sends: the given one, else look up a table on add, or on delete
    /// 0, which matches any action (`None`).
    pub fn effective_action(&self) -> Option<RuleAction> {
        match (self.action, self.verb) {
            (Some(a), _) => Some(a),
            (None, RuleVerb::Add) => Some(RuleAction::Table),
            (None, RuleVerb::Delete) => None,
        }
    }

    /// Returns the table `ip` sends: the given one, else `main` on an add without `l3mdev`
    /// and without an action word, else 0. iproute2 skips the `main` default as soon as any
    /// action word appears, `unicast` included.
    pub fn effective_table(&self) -> u32 {
        if let Some(table) = self.table {
            return table;
        }
        if self.verb == RuleVerb::Add && self.action.is_none() && !self.l3mdev {
            TABLE_MAIN
        } else {
            TABLE_UNSPEC
        }
    }
}

// ---------------------------------------------------------------------------------------------
// flush

/// A selector that takes one value, or `all`, which matches every value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueOrAll<T> {
    Value(T),
    All,
}

/// The IFA_F_* address flags that `ip address flush` can select on, in iproute2 6.1's order
/// (`ifa_flag_data` in ip/ipaddress.c). `temporary` shares its bit with `secondary`.
pub const ADDRESS_FLAG_FILTERS: &[(&str, u32)] = &[
    ("secondary", 0x01),
    ("temporary", 0x01),
    ("nodad", 0x02),
    ("optimistic", 0x04),
    ("dadfailed", 0x08),
    ("home", 0x10),
    ("deprecated", 0x20),
    ("tentative", 0x40),
    ("permanent", 0x80),
    ("mngtmpaddr", 0x100),
    ("noprefixroute", 0x200),
    ("autojoin", 0x400),
    ("stable-privacy", 0x800),
];

/// IFA_F_SECONDARY, the flag behind `secondary`, `temporary` and `primary`.
pub const IFA_F_SECONDARY: u32 = 0x01;

/// `ip address flush SELECTOR…`: deletes every address that matches all selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressFlush {
    /// The family to dump: a leading `-4` or `-6` word, else the family of `to`, else both.
    pub family: Option<Family>,
    /// `to PREFIX`: addresses whose local address lies in the prefix.
    pub to: Option<PrefixWord>,
    pub scope: Option<ValueOrAll<u8>>,
    /// `up`, which iproute2 6.1 accepts and ignores when flushing.
    pub up: bool,
    /// The IFA_F_* bits that must be set, among those in `flag_mask`.
    pub flags: u32,
    /// The IFA_F_* bits that a flag word (`permanent`, `-secondary`, `dynamic`…) selects on.
    pub flag_mask: u32,
    /// `label PATTERN`: a shell wildcard pattern (fnmatch) on the label, which is the device
    /// name for addresses without a label of their own.
    pub label: Option<String>,
    /// `group GROUP`, which iproute2 6.1 accepts and ignores when flushing.
    pub group: Option<u32>,
    /// `nomaster`, which iproute2 6.1 accepts and ignores when flushing.
    pub nomaster: bool,
    /// `type KIND`, which iproute2 6.1 accepts and ignores when flushing.
    pub kind: Option<String>,
    /// `[dev] IFNAME`.
    pub dev: Option<String>,
}

impl AddressFlush {
    /// Returns true when only one round of deletes runs: iproute2 stops after one round
    /// when `primary` (or `-secondary`) is given, so that secondaries promoted by the
    /// deletes survive.
    pub fn single_round(&self) -> bool {
        self.flag_mask & IFA_F_SECONDARY != 0 && self.flags & IFA_F_SECONDARY == 0
    }
}

/// How a route flush compares a prefix with a route's destination or source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixMatch {
    /// `root PREFIX`: routes inside the prefix (as long or longer).
    Root,
    /// `match PREFIX`: routes that contain the prefix (as long or shorter).
    Match,
    /// `exact PREFIX`, the default: routes with exactly this prefix.
    Exact,
}

/// The destination or source selectors of a route flush. iproute2 keeps the `root` and the
/// `match` prefix apart, and `exact` sets both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PrefixSelectors {
    pub root: Option<PrefixWord>,
    pub matching: Option<PrefixWord>,
}

impl PrefixSelectors {
    /// Records one selector as iproute2 does, replacing an earlier one of the same kind.
    pub fn set(&mut self, how: PrefixMatch, prefix: PrefixWord) {
        match how {
            PrefixMatch::Root => self.root = Some(prefix),
            PrefixMatch::Match => self.matching = Some(prefix),
            PrefixMatch::Exact => {
                self.root = Some(prefix);
                self.matching = Some(prefix);
            }
        }
    }

    /// Returns true when no selector is set.
    pub fn is_empty(&self) -> bool {
        self.root.is_none() && self.matching.is_none()
    }
}

/// `realms [FROM/]TO` of a route flush: the value and the bits compared. `TO` alone leaves
/// FROM uncompared, and `FROM/` leaves TO uncompared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RealmsSelector {
    pub value: u32,
    pub mask: u32,
}

/// `via [inet|inet6] PREFIX` of a route flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ViaSelector {
    /// The family word, when given.
    pub family: Option<Family>,
    pub prefix: PrefixWord,
}

/// `ip route flush SELECTOR…`: deletes every route that matches all selectors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteFlush {
    /// The family of a leading `-4` or `-6` word. Without it, iproute2 dumps IPv4 routes
    /// only, unless `table all` asks for every table of both families.
    pub family: Option<Family>,
    /// The table; `None` is `main`, and 0 (`all`, `unspec`) is every table.
    pub table: Option<u32>,
    pub tos: Option<u8>,
    pub protocol: Option<ValueOrAll<u8>>,
    pub scope: Option<ValueOrAll<u8>>,
    pub route_type: Option<RouteType>,
    /// `dev` or `oif`: routes whose single next hop leaves through the device.
    pub dev: Option<String>,
    pub iif: Option<String>,
    pub mark: Option<u32>,
    pub metric: Option<u32>,
    pub via: Option<ViaSelector>,
    /// `src PREFIX`: the preferred source address (RTA_PREFSRC).
    pub src: Option<PrefixWord>,
    pub realms: Option<RealmsSelector>,
    /// `from [root|match|exact] PREFIX`: the source prefix (RTA_SRC).
    pub from: PrefixSelectors,
    /// `[to] [root|match|exact] PREFIX`: the destination prefix.
    pub to: PrefixSelectors,
}

impl RouteFlush {
    /// Returns the table to flush: the given one, else `main`; 0 means every table.
    pub fn effective_table(&self) -> u32 {
        self.table.unwrap_or(TABLE_MAIN)
    }

    /// Returns the families iproute2 6.1 dumps: the `-4`/`-6` family, else IPv4 when one
    /// table is flushed, else both (`table all`).
    pub fn dump_families(&self) -> &'static [Family] {
        match (self.family, self.effective_table()) {
            (Some(Family::Inet), _) => &[Family::Inet],
            (Some(Family::Inet6), _) => &[Family::Inet6],
            (None, 0) => &[Family::Inet, Family::Inet6],
            (None, _) => &[Family::Inet],
        }
    }
}

/// `ip rule flush [SELECTOR…]`: deletes every rule of the family that matches all selectors
/// and has a priority other than 0. Without selectors that includes the `main` and `default`
/// rules, as with `ip rule flush`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFlush {
    /// The family: a leading `-4`/`-6` word, else that of `from`/`to` (an extension: iproute2
    /// reads every prefix as IPv4 without `-6`), else IPv4.
    pub family: Family,
    pub priority: Option<u32>,
    pub not: bool,
    pub tos: Option<u8>,
    /// `fwmark MARK[/MASK]`. iproute2 compares a mark or mask of 0 with nothing.
    pub fwmark: Option<u32>,
    pub fwmask: Option<u32>,
    pub iif: Option<String>,
    pub oif: Option<String>,
    pub l3mdev: bool,
    pub uidrange: Option<(u32, u32)>,
    /// `tun_id N`. iproute2 compares a tunnel id of 0 with nothing.
    pub tun_id: Option<u64>,
    /// `table|lookup TABLE`. iproute2 compares a table of 0 with nothing.
    pub table: Option<u32>,
    /// `from|src PREFIX`: rules whose source prefix lies in this prefix.
    pub from: Option<PrefixWord>,
    /// `[to|dst] PREFIX`: rules whose destination prefix lies in this prefix.
    pub to: Option<PrefixWord>,
    pub protocol: Option<ValueOrAll<u8>>,
    /// `ipproto PROTO`. iproute2 compares protocol 0 with nothing.
    pub ipproto: Option<u8>,
    /// `sport START[-END]`. iproute2 compares a range that starts at 0 with nothing.
    pub sport: Option<(u16, u16)>,
    pub dport: Option<(u16, u16)>,
}
