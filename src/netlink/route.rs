//! `ip route add|change|replace|prepend|append|test|delete` as RTM_NEWROUTE and RTM_DELROUTE
//! messages, built field by field as iproute2's `iproute_modify` builds them.
//!
//! rtnetlink's `RouteMessageBuilder` is not used: it defaults to protocol `static` and scope
//! `universe`, always sends RTA_DST, and offers no change, append, prepend or test.

use std::collections::HashMap;

use netlink_packet_core::{
    DefaultNla, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NetlinkMessage,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteMetric as Metric, RouteNextHop,
    RouteNextHopFlags, RoutePreference, RouteProtocol, RouteRealm, RouteScope, RouteType, RouteVia,
};

use super::address::address_family;
use super::header_table;
use crate::iproute::{
    Destination, Family, NextHop, RouteMetric, RouteMetricKind, RouteRequest, RouteVerb, Via,
};

/// RTAX_CC_ALGO, sent as raw bytes so that the name goes out without a NUL as in iproute2.
const RTAX_CC_ALGO: u16 = 16;

/// Returns the device names the request needs as interface indexes: `dev` and each nexthop's.
pub(super) fn device_names(request: &RouteRequest) -> impl Iterator<Item = &str> {
    let nexthop_devs = request.nexthops.iter().filter_map(|n| n.dev.as_deref());
    request.dev.as_deref().into_iter().chain(nexthop_devs)
}

/// Builds the message for a route request. `indexes` maps every name of [`device_names`] to
/// its interface index.
pub(super) fn message(
    request: &RouteRequest,
    indexes: &HashMap<String, u32>,
) -> NetlinkMessage<RouteNetlinkMessage> {
    let index_of = |name: &str| indexes.get(name).copied().unwrap_or(0);
    let mut route = RouteMessage::default();

    let (table, table_attribute) = header_table(request.effective_table());
    route.header.address_family = address_family(request.family);
    route.header.destination_prefix_length = request.dst_len();
    route.header.source_prefix_length = request.from.map_or(0, |from| from.len);
    route.header.tos = request.tos.unwrap_or(0);
    route.header.table = table;
    route.header.protocol = RouteProtocol::from(request.effective_protocol());
    route.header.scope = RouteScope::from(request.effective_scope());
    route.header.kind = RouteType::from(request.effective_type().0);
    if request.onlink {
        route.header.flags = RouteFlags::Onlink;
    }

    // RTA_DST is left out for `default`, `all` and `any`, as iproute2 does; a prefix of
    // length 0 written out (0.0.0.0/0) is sent.
    if let Destination::Prefix(prefix) = request.dst {
        route
            .attributes
            .push(RouteAttribute::Destination(prefix.addr.into()));
    }
    if table_attribute {
        route
            .attributes
            .push(RouteAttribute::Table(request.effective_table()));
    }
    if let Some(metric) = request.metric {
        route.attributes.push(RouteAttribute::Priority(metric));
    }
    if let Some(from) = request.from {
        route
            .attributes
            .push(RouteAttribute::Source(from.addr.into()));
    }
    if let Some(src) = request.src {
        route
            .attributes
            .push(RouteAttribute::PrefSource(src.into()));
    }
    if let Some(via) = request.via {
        route.attributes.push(gateway(request.family, via));
    }
    if let Some(dev) = &request.dev {
        route.attributes.push(RouteAttribute::Oif(index_of(dev)));
    }
    if let Some(realms) = request.realms {
        route.attributes.push(RouteAttribute::Realm(realm(realms)));
    }
    if let Some(expires) = request.expires {
        route.attributes.push(RouteAttribute::Expires(expires));
    }
    if let Some(pref) = request.pref {
        route
            .attributes
            .push(RouteAttribute::Preference(RoutePreference::from(pref)));
    }
    if !request.metrics.is_empty() {
        route
            .attributes
            .push(RouteAttribute::Metrics(metrics(&request.metrics)));
    }
    if !request.nexthops.is_empty() {
        let nexthops = request
            .nexthops
            .iter()
            .map(|nexthop| next_hop(request.family, nexthop, &index_of))
            .collect();
        route.attributes.push(RouteAttribute::MultiPath(nexthops));
    }

    let (message, flags) = match request.verb {
        RouteVerb::Add => (
            RouteNetlinkMessage::NewRoute(route),
            NLM_F_CREATE | NLM_F_EXCL,
        ),
        RouteVerb::Change => (RouteNetlinkMessage::NewRoute(route), NLM_F_REPLACE),
        RouteVerb::Replace => (
            RouteNetlinkMessage::NewRoute(route),
            NLM_F_CREATE | NLM_F_REPLACE,
        ),
        RouteVerb::Prepend => (RouteNetlinkMessage::NewRoute(route), NLM_F_CREATE),
        RouteVerb::Append => (
            RouteNetlinkMessage::NewRoute(route),
            NLM_F_CREATE | NLM_F_APPEND,
        ),
        RouteVerb::Test => (RouteNetlinkMessage::NewRoute(route), NLM_F_EXCL),
        RouteVerb::Delete => (RouteNetlinkMessage::DelRoute(route), 0),
    };
    let mut message = NetlinkMessage::from(message);
    message.header.flags = flags;
    message
}

/// Returns RTA_GATEWAY for a gateway of the route's own family, else RTA_VIA (an IPv6 gateway
/// for an IPv4 route, which the kernel accepts since Linux 5.2).
fn gateway(family: Family, via: Via) -> RouteAttribute {
    if Family::of(&via.addr) == family {
        RouteAttribute::Gateway(RouteAddress::from(via.addr))
    } else {
        RouteAttribute::Via(RouteVia::from(via.addr))
    }
}

/// Realms `FROM/TO` as one u32: FROM in the high 16 bits.
fn realm(realms: u32) -> RouteRealm {
    RouteRealm {
        source: (realms >> 16) as u16,
        destination: (realms & 0xffff) as u16,
    }
}

/// Builds one `rtnexthop`. The kernel stores weight − 1 in `rtnh_hops`, and a nexthop without
/// `weight` has weight 1.
fn next_hop(family: Family, nexthop: &NextHop, index_of: &dyn Fn(&str) -> u32) -> RouteNextHop {
    let mut next_hop = RouteNextHop::default();
    next_hop.hops = nexthop
        .weight
        .map_or(0, |weight| weight.saturating_sub(1) as u8);
    next_hop.interface_index = nexthop.dev.as_deref().map_or(0, index_of);
    if nexthop.onlink {
        next_hop.flags = RouteNextHopFlags::Onlink;
    }
    if let Some(via) = nexthop.via {
        next_hop.attributes.push(gateway(family, via));
    }
    if let Some(realms) = nexthop.realms {
        next_hop
            .attributes
            .push(RouteAttribute::Realm(realm(realms)));
    }
    next_hop
}

/// Builds the nested RTA_METRICS attributes, with RTAX_LOCK last holding one bit per locked
/// metric. iproute2 always locks `rto_min`.
fn metrics(metrics: &[RouteMetric]) -> Vec<Metric> {
    let mut lock = 0u32;
    let mut attributes = Vec::with_capacity(metrics.len() + 1);
    for metric in metrics {
        let (rtax, attribute) = match &metric.kind {
            RouteMetricKind::Mtu(v) => (2, Metric::Mtu(*v)),
            RouteMetricKind::Window(v) => (3, Metric::Window(*v)),
            RouteMetricKind::Rtt(v) => (4, Metric::Rtt(*v)),
            RouteMetricKind::RttVar(v) => (5, Metric::RttVar(*v)),
            RouteMetricKind::Ssthresh(v) => (6, Metric::SsThresh(*v)),
            RouteMetricKind::Cwnd(v) => (7, Metric::Cwnd(*v)),
            RouteMetricKind::Advmss(v) => (8, Metric::Advmss(*v)),
            RouteMetricKind::Reordering(v) => (9, Metric::Reordering(*v)),
            RouteMetricKind::Hoplimit(v) => (10, Metric::Hoplimit(*v)),
            RouteMetricKind::Initcwnd(v) => (11, Metric::InitCwnd(*v)),
            RouteMetricKind::Features(v) => (12, Metric::Features(*v)),
            RouteMetricKind::RtoMin(v) => (13, Metric::RtoMin(*v)),
            RouteMetricKind::Initrwnd(v) => (14, Metric::InitRwnd(*v)),
            RouteMetricKind::Quickack(v) => (15, Metric::QuickAck(*v)),
            RouteMetricKind::Congctl(name) => (
                RTAX_CC_ALGO,
                Metric::Other(DefaultNla::new(RTAX_CC_ALGO, name.as_bytes().to_vec())),
            ),
            RouteMetricKind::FastopenNoCookie(v) => (17, Metric::FastopenNoCookie(*v)),
        };
        if metric.locked || matches!(metric.kind, RouteMetricKind::RtoMin(_)) {
            lock |= 1 << rtax;
        }
        attributes.push(attribute);
    }
    if lock != 0 {
        attributes.push(Metric::Lock(lock));
    }
    attributes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iproute::{DefaultWord, Prefix, RouteType as RequestRouteType};

    fn request(verb: RouteVerb, dst: Destination) -> RouteRequest {
        RouteRequest {
            verb,
            family: Family::Inet,
            route_type: None,
            dst,
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
        }
    }

    fn via(addr: &str) -> Via {
        Via {
            addr: addr.parse().unwrap(),
            family_given: false,
        }
    }

    fn route_message(message: &NetlinkMessage<RouteNetlinkMessage>) -> &RouteMessage {
        match &message.payload {
            netlink_packet_core::NetlinkPayload::InnerMessage(
                RouteNetlinkMessage::NewRoute(route) | RouteNetlinkMessage::DelRoute(route),
            ) => route,
            other => panic!("expected a route message, got {other:?}"),
        }
    }

    #[test]
    fn default_route_has_no_destination() {
        let mut add = request(RouteVerb::Add, Destination::Default(DefaultWord::Default));
        add.via = Some(via("192.0.2.1"));
        let message = message(&add, &HashMap::new());
        let route = route_message(&message);

        assert_eq!(route.header.destination_prefix_length, 0);
        assert_eq!(route.header.protocol, RouteProtocol::Boot);
        assert_eq!(route.header.scope, RouteScope::Universe);
        assert_eq!(route.header.table, 254);
        assert!(
            !route
                .attributes
                .iter()
                .any(|a| matches!(a, RouteAttribute::Destination(_)))
        );
    }

    #[test]
    fn delete_matches_any_protocol_scope_and_type() {
        let delete = request(
            RouteVerb::Delete,
            Destination::Default(DefaultWord::Default),
        );
        let message = message(&delete, &HashMap::new());
        let route = route_message(&message);

        assert_eq!(message.header.flags, 0);
        assert_eq!(route.header.protocol, RouteProtocol::Unspec);
        assert_eq!(route.header.scope, RouteScope::NoWhere);
        assert_eq!(route.header.kind, RouteType::Unspec);
    }

    #[test]
    fn table_above_255_goes_to_attribute() {
        let mut add = request(
            RouteVerb::Add,
            Destination::Prefix(Prefix {
                addr: "0.0.0.0".parse().unwrap(),
                len: 0,
            }),
        );
        add.table = Some(51820);
        let message = message(&add, &HashMap::new());
        let route = route_message(&message);

        assert_eq!(route.header.table, 0);
        assert!(route.attributes.contains(&RouteAttribute::Table(51820)));
        assert!(
            route
                .attributes
                .contains(&RouteAttribute::Destination(RouteAddress::Inet(
                    "0.0.0.0".parse().unwrap()
                )))
        );
    }

    #[test]
    fn ipv6_gateway_on_ipv4_route_is_via() {
        assert_eq!(
            gateway(Family::Inet, via("fe80::1")),
            RouteAttribute::Via(RouteVia::Inet6("fe80::1".parse().unwrap()))
        );
        assert_eq!(
            gateway(Family::Inet, via("192.0.2.1")),
            RouteAttribute::Gateway(RouteAddress::Inet("192.0.2.1".parse().unwrap()))
        );
    }

    #[test]
    fn locked_metrics_set_lock_bits_last() {
        let attributes = metrics(&[
            RouteMetric {
                kind: RouteMetricKind::Mtu(1400),
                locked: true,
            },
            RouteMetric {
                kind: RouteMetricKind::Advmss(1360),
                locked: false,
            },
            RouteMetric {
                kind: RouteMetricKind::RtoMin(200),
                locked: false,
            },
        ]);

        assert_eq!(
            attributes,
            vec![
                Metric::Mtu(1400),
                Metric::Advmss(1360),
                Metric::RtoMin(200),
                Metric::Lock((1 << 2) | (1 << 13)),
            ]
        );
    }

    #[test]
    fn nexthop_weight_is_stored_minus_one() {
        let nexthop = NextHop {
            via: Some(via("192.0.2.1")),
            dev: Some("eth0".to_string()),
            weight: Some(3),
            onlink: true,
            realms: None,
        };
        let index_of = |_: &str| 5;
        let next_hop = next_hop(Family::Inet, &nexthop, &index_of);

        assert_eq!(next_hop.hops, 2);
        assert_eq!(next_hop.interface_index, 5);
        assert_eq!(next_hop.flags, RouteNextHopFlags::Onlink);
    }

    #[test]
    fn blackhole_has_universe_scope() {
        let mut add = request(
            RouteVerb::Add,
            Destination::Prefix(Prefix {
                addr: "169.254.169.254".parse().unwrap(),
                len: 32,
            }),
        );
        add.route_type = Some(RequestRouteType::BLACKHOLE);
        let message = message(&add, &HashMap::new());
        let route = route_message(&message);

        assert_eq!(route.header.kind, RouteType::BlackHole);
        assert_eq!(route.header.scope, RouteScope::Universe);
    }

    #[test]
    fn verbs_send_iproute2_flags() {
        let cases = [
            (RouteVerb::Add, NLM_F_CREATE | NLM_F_EXCL),
            (RouteVerb::Change, NLM_F_REPLACE),
            (RouteVerb::Replace, NLM_F_CREATE | NLM_F_REPLACE),
            (RouteVerb::Prepend, NLM_F_CREATE),
            (RouteVerb::Append, NLM_F_CREATE | NLM_F_APPEND),
            (RouteVerb::Test, NLM_F_EXCL),
            (RouteVerb::Delete, 0),
        ];
        for (verb, flags) in cases {
            let route = request(verb, Destination::Default(DefaultWord::Default));
            assert_eq!(
                message(&route, &HashMap::new()).header.flags,
                flags,
                "{verb:?}"
            );
        }
    }
}
