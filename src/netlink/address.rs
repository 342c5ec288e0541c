//! `ip address add|change|replace|delete` as RTM_NEWADDR and RTM_DELADDR messages, built
//! field by field as iproute2's `ipaddr_modify` builds them.

use std::net::IpAddr;

use netlink_packet_core::{DefaultNla, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, NetlinkMessage};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressProtocol,
    AddressScope, CacheInfo,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::iproute::{AddressRequest, AddressVerb, Family, Lifetime};

const IFA_ANYCAST: u16 = 5;
/// The lifetime the kernel reads as "forever" (INFINITY_LIFE_TIME).
const INFINITY_LIFE_TIME: u32 = u32::MAX;

/// Builds the message for an address request on the device with interface index `index`.
pub(super) fn message(request: &AddressRequest, index: u32) -> NetlinkMessage<RouteNetlinkMessage> {
    let mut address = AddressMessage::default();
    address.header.family = address_family(request.family());
    address.header.index = index;
    address.header.scope = AddressScope::from(request.effective_scope());
    // The length is the peer's when there is a peer, unless that is 0 (iproute2 then falls
    // back to the local length).
    address.header.prefix_len = match request.peer {
        Some(peer) if peer.len != 0 => peer.len,
        _ => request.local.len,
    };

    // iproute2 puts flags that fit into the header's u8 there, and all of them into IFA_FLAGS
    // otherwise.
    match u8::try_from(request.flags) {
        Ok(flags) => address.header.flags = AddressHeaderFlags::from_bits_retain(flags),
        Err(_) => address
            .attributes
            .push(AddressAttribute::Flags(AddressFlags::from_bits_retain(
                request.flags,
            ))),
    }

    address.attributes.extend(attributes(request));

    let (message, flags) = match request.verb {
        AddressVerb::Add => (
            RouteNetlinkMessage::NewAddress(address),
            NLM_F_CREATE | NLM_F_EXCL,
        ),
        AddressVerb::Change => (RouteNetlinkMessage::NewAddress(address), NLM_F_REPLACE),
        AddressVerb::Replace => (
            RouteNetlinkMessage::NewAddress(address),
            NLM_F_CREATE | NLM_F_REPLACE,
        ),
        AddressVerb::Delete => (RouteNetlinkMessage::DelAddress(address), 0),
    };
    let mut message = NetlinkMessage::from(message);
    message.header.flags = flags;
    message
}

/// Builds the attributes after the header. The kernel ignores their order.
fn attributes(request: &AddressRequest) -> Vec<AddressAttribute> {
    let mut attributes = vec![AddressAttribute::Local(request.local.addr)];

    // IFA_ADDRESS is the peer, else the local address again. An IPv4 delete without a length
    // leaves it out: the kernel then deletes the address whatever its length.
    let ipv4_wildcard_delete = request.verb == AddressVerb::Delete
        && request.family() == Family::Inet
        && !request.prefix_len_given
        && request.peer.is_none();
    if !ipv4_wildcard_delete {
        let address = request.peer.unwrap_or(request.local).addr;
        attributes.push(AddressAttribute::Address(address));
    }

    // Without `broadcast` nothing is sent: unlike rtnetlink's address builder, `ip` adds no
    // broadcast address by itself.
    if let Some(broadcast) = request.effective_broadcast() {
        attributes.push(AddressAttribute::Broadcast(broadcast));
    }
    if let Some(anycast) = request.anycast {
        attributes.push(anycast_attribute(anycast));
    }
    if let Some(label) = &request.label {
        attributes.push(AddressAttribute::Label(label.clone()));
    }
    if let Some(metric) = request.metric {
        attributes.push(AddressAttribute::RoutePriority(metric));
    }
    if let Some(proto) = request.proto {
        attributes.push(AddressAttribute::Protocol(AddressProtocol::from(proto)));
    }
    if request.valid_lft.is_some() || request.preferred_lft.is_some() {
        let mut cache_info = CacheInfo::default();
        cache_info.ifa_preferred = lifetime_seconds(request.preferred_lft);
        cache_info.ifa_valid = lifetime_seconds(request.valid_lft);
        attributes.push(AddressAttribute::CacheInfo(cache_info));
    }
    attributes
}

/// netlink-packet-route 0.34 models IFA_ANYCAST as IPv6 only; iproute2 sends it for either
/// family, so an IPv4 one goes out as a raw attribute.
fn anycast_attribute(addr: IpAddr) -> AddressAttribute {
    match addr {
        IpAddr::V6(addr) => AddressAttribute::Anycast(addr),
        IpAddr::V4(addr) => {
            AddressAttribute::Other(DefaultNla::new(IFA_ANYCAST, addr.octets().to_vec()))
        }
    }
}

/// Returns a lifetime in seconds for IFA_CACHEINFO. A lifetime not given is forever, as in
/// iproute2.
fn lifetime_seconds(lifetime: Option<Lifetime>) -> u32 {
    match lifetime {
        None | Some(Lifetime::Forever) => INFINITY_LIFE_TIME,
        Some(Lifetime::Seconds(seconds)) => seconds,
    }
}

pub(super) fn address_family(family: Family) -> AddressFamily {
    match family {
        Family::Inet => AddressFamily::Inet,
        Family::Inet6 => AddressFamily::Inet6,
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;
    use crate::iproute::{Broadcast, Prefix};

    fn request(verb: AddressVerb, local: &str, len: u8) -> AddressRequest {
        AddressRequest {
            verb,
            local: Prefix {
                addr: local.parse().unwrap(),
                len,
            },
            prefix_len_given: true,
            peer: None,
            broadcast: None,
            anycast: None,
            dev: "eth0".to_string(),
            label: None,
            scope: None,
            metric: None,
            proto: None,
            valid_lft: None,
            preferred_lft: None,
            flags: 0,
        }
    }

    fn address_message(message: &NetlinkMessage<RouteNetlinkMessage>) -> &AddressMessage {
        match &message.payload {
            netlink_packet_core::NetlinkPayload::InnerMessage(
                RouteNetlinkMessage::NewAddress(address) | RouteNetlinkMessage::DelAddress(address),
            ) => address,
            other => panic!("expected an address message, got {other:?}"),
        }
    }

    #[test]
    fn add_sends_no_broadcast_by_default() {
        let message = message(&request(AddressVerb::Add, "192.0.2.10", 24), 7);
        let address = address_message(&message);

        assert_eq!(message.header.flags, NLM_F_CREATE | NLM_F_EXCL);
        assert_eq!(address.header.index, 7);
        assert_eq!(address.header.prefix_len, 24);
        assert!(
            !address
                .attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Broadcast(_)))
        );
    }

    #[test]
    fn broadcast_plus_sends_host_bits_set() {
        let mut add = request(AddressVerb::Add, "192.0.2.10", 24);
        add.broadcast = Some(Broadcast::HostBitsSet);
        let message = message(&add, 1);
        let address = address_message(&message);

        assert!(
            address
                .attributes
                .contains(&AddressAttribute::Broadcast(Ipv4Addr::new(192, 0, 2, 255)))
        );
    }

    #[test]
    fn flags_above_0xff_go_to_ifa_flags() {
        let mut add = request(AddressVerb::Add, "2001:db8::1", 64);
        add.flags = 0x02 | 0x200;
        let message = message(&add, 1);
        let address = address_message(&message);

        assert!(address.header.flags.is_empty());
        assert!(address.attributes.contains(&AddressAttribute::Flags(
            AddressFlags::from_bits_retain(0x202)
        )));
    }

    #[test]
    fn small_flags_go_to_header() {
        let mut add = request(AddressVerb::Add, "2001:db8::1", 64);
        add.flags = 0x02;
        let message = message(&add, 1);
        let address = address_message(&message);

        assert_eq!(address.header.flags.bits(), 0x02);
        assert!(
            !address
                .attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Flags(_)))
        );
    }

    #[test]
    fn ipv4_delete_without_length_is_wildcard() {
        let mut delete = request(AddressVerb::Delete, "192.0.2.10", 32);
        delete.prefix_len_given = false;
        let message = message(&delete, 1);
        let address = address_message(&message);

        assert_eq!(message.header.flags, 0);
        assert!(
            !address
                .attributes
                .iter()
                .any(|a| matches!(a, AddressAttribute::Address(_)))
        );
    }

    #[test]
    fn peer_sets_address_and_length() {
        let mut add = request(AddressVerb::Add, "10.0.0.1", 32);
        add.peer = Some(Prefix {
            addr: "10.0.0.2".parse().unwrap(),
            len: 30,
        });
        let message = message(&add, 1);
        let address = address_message(&message);

        assert_eq!(address.header.prefix_len, 30);
        assert!(
            address
                .attributes
                .contains(&AddressAttribute::Address("10.0.0.2".parse().unwrap()))
        );
    }

    #[test]
    fn one_lifetime_leaves_the_other_forever() {
        let mut add = request(AddressVerb::Add, "2001:db8::1", 64);
        add.valid_lft = Some(Lifetime::Seconds(300));
        let message = message(&add, 1);
        let address = address_message(&message);

        let cache_info = address.attributes.iter().find_map(|a| match a {
            AddressAttribute::CacheInfo(c) => Some(*c),
            _ => None,
        });
        let cache_info = cache_info.expect("IFA_CACHEINFO is sent");
        assert_eq!(cache_info.ifa_valid, 300);
        assert_eq!(cache_info.ifa_preferred, INFINITY_LIFE_TIME);
    }
}
