//! `ip rule add|delete` as RTM_NEWRULE and RTM_DELRULE messages, built field by field as
//! iproute2's `iprule_modify` builds them.
//!
//! rtnetlink's rule builder is not used: its default action is FR_ACT_UNSPEC, where `ip`
//! sends FR_ACT_TO_TBL.

use netlink_packet_core::{NLM_F_CREATE, NLM_F_EXCL, NetlinkMessage};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::route::{RouteProtocol, RouteRealm};
use netlink_packet_route::rule::{
    RuleAction as Action, RuleAttribute, RuleFlags, RuleMessage, RulePortRange, RuleUidRange,
};

use super::address::address_family;
use super::header_table;
use crate::iproute::{RuleAction, RuleRequest, RuleVerb};

/// Builds the message for a rule request. `iif` and `oif` go out as names, so a rule may name
/// a device that does not exist yet, as with `ip rule`.
pub(super) fn message(request: &RuleRequest) -> NetlinkMessage<RouteNetlinkMessage> {
    let mut rule = RuleMessage::default();

    let table = request.effective_table();
    let (header_table, table_attribute) = header_table(table);
    rule.header.family = address_family(request.family);
    rule.header.tos = request.tos.unwrap_or(0);
    rule.header.table = header_table;
    rule.header.action = action(request.effective_action());
    if request.not {
        rule.header.flags = RuleFlags::Invert;
    }

    if let Some(from) = request.from {
        rule.header.src_len = from.len;
        rule.attributes.push(RuleAttribute::Source(from.addr));
    }
    if let Some(to) = request.to {
        rule.header.dst_len = to.len;
        rule.attributes.push(RuleAttribute::Destination(to.addr));
    }
    if let Some(priority) = request.priority {
        rule.attributes.push(RuleAttribute::Priority(priority));
    }
    if let Some(fwmark) = request.fwmark {
        rule.attributes.push(RuleAttribute::FwMark(fwmark));
    }
    if let Some(fwmask) = request.fwmask {
        rule.attributes.push(RuleAttribute::FwMask(fwmask));
    }
    if let Some(realms) = request.realms {
        rule.attributes.push(RuleAttribute::Realm(RouteRealm {
            source: (realms >> 16) as u16,
            destination: (realms & 0xffff) as u16,
        }));
    }
    if table_attribute {
        rule.attributes.push(RuleAttribute::Table(table));
    }
    if let Some(prefix_len) = request.suppress_prefixlength {
        rule.attributes
            .push(RuleAttribute::SuppressPrefixLen(prefix_len));
    }
    if let Some(group) = request.suppress_ifgroup {
        rule.attributes.push(RuleAttribute::SuppressIfGroup(group));
    }
    if let Some(iif) = &request.iif {
        rule.attributes.push(RuleAttribute::Iifname(iif.clone()));
    }
    if let Some(oif) = &request.oif {
        rule.attributes.push(RuleAttribute::Oifname(oif.clone()));
    }
    if request.l3mdev {
        rule.attributes.push(RuleAttribute::L3MDev(true));
    }
    if let Some((start, end)) = request.uidrange {
        rule.attributes
            .push(RuleAttribute::UidRange(RuleUidRange { start, end }));
    }
    if let Some(ipproto) = request.ipproto {
        rule.attributes
            .push(RuleAttribute::IpProtocol(ipproto.into()));
    }
    if let Some((start, end)) = request.sport {
        rule.attributes
            .push(RuleAttribute::SourcePortRange(RulePortRange { start, end }));
    }
    if let Some((start, end)) = request.dport {
        rule.attributes
            .push(RuleAttribute::DestinationPortRange(RulePortRange {
                start,
                end,
            }));
    }
    if let Some(tun_id) = request.tun_id {
        // netlink-packet-route 0.34 emits FRA_TUN_ID big-endian, as the kernel expects.
        rule.attributes.push(RuleAttribute::TunId(tun_id));
    }
    if let Some(protocol) = request.protocol {
        rule.attributes
            .push(RuleAttribute::Protocol(RouteProtocol::from(protocol)));
    }
    if let Some(RuleAction::Goto(target)) = request.action {
        rule.attributes.push(RuleAttribute::Goto(target));
    }

    let (message, flags) = match request.verb {
        RuleVerb::Add => (
            RouteNetlinkMessage::NewRule(rule),
            NLM_F_CREATE | NLM_F_EXCL,
        ),
        RuleVerb::Delete => (RouteNetlinkMessage::DelRule(rule), 0),
    };
    let mut message = NetlinkMessage::from(message);
    message.header.flags = flags;
    message
}

/// Maps the request's action to FR_ACT_*. No action (a delete without one) is 0, which
/// matches any action.
fn action(action: Option<RuleAction>) -> Action {
    match action {
        None => Action::Unspec,
        Some(RuleAction::Table) => Action::ToTable,
        Some(RuleAction::Goto(_)) => Action::Goto,
        Some(RuleAction::Nop) => Action::Nop,
        Some(RuleAction::Blackhole) => Action::Blackhole,
        Some(RuleAction::Unreachable) => Action::Unreachable,
        Some(RuleAction::Prohibit) => Action::Prohibit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iproute::{Family, Prefix};

    fn request(verb: RuleVerb) -> RuleRequest {
        RuleRequest {
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
        }
    }

    fn rule_message(message: &NetlinkMessage<RouteNetlinkMessage>) -> &RuleMessage {
        match &message.payload {
            netlink_packet_core::NetlinkPayload::InnerMessage(
                RouteNetlinkMessage::NewRule(rule) | RouteNetlinkMessage::DelRule(rule),
            ) => rule,
            other => panic!("expected a rule message, got {other:?}"),
        }
    }

    #[test]
    fn add_looks_up_main_by_default() {
        let mut add = request(RuleVerb::Add);
        add.from = Some(Prefix {
            addr: "192.0.2.10".parse().unwrap(),
            len: 32,
        });
        let message = message(&add);
        let rule = rule_message(&message);

        assert_eq!(message.header.flags, NLM_F_CREATE | NLM_F_EXCL);
        assert_eq!(rule.header.action, Action::ToTable);
        assert_eq!(rule.header.table, 254);
        assert_eq!(rule.header.src_len, 32);
    }

    #[test]
    fn delete_matches_any_action_and_table() {
        let mut delete = request(RuleVerb::Delete);
        delete.priority = Some(100);
        let message = message(&delete);
        let rule = rule_message(&message);

        assert_eq!(message.header.flags, 0);
        assert_eq!(rule.header.action, Action::Unspec);
        assert_eq!(rule.header.table, 0);
    }

    #[test]
    fn table_above_255_goes_to_attribute() {
        let mut add = request(RuleVerb::Add);
        add.not = true;
        add.fwmark = Some(51820);
        add.table = Some(51820);
        let message = message(&add);
        let rule = rule_message(&message);

        assert_eq!(rule.header.table, 0);
        assert_eq!(rule.header.flags, RuleFlags::Invert);
        assert!(rule.attributes.contains(&RuleAttribute::Table(51820)));
    }

    #[test]
    fn goto_sends_target() {
        let mut add = request(RuleVerb::Add);
        add.action = Some(RuleAction::Goto(32000));
        let message = message(&add);
        let rule = rule_message(&message);

        assert_eq!(rule.header.action, Action::Goto);
        assert_eq!(rule.header.table, 0);
        assert!(rule.attributes.contains(&RuleAttribute::Goto(32000)));
    }
}
