//! The netlink applier: turns typed requests into rtnetlink messages built as `ip` builds them,
//! sends them, and decides in [`apply`] which kernel errors mean "already done".
//!
//! One module per object builds the message: [`address`], [`route`] and [`rule`]. Devices
//! named by `dev` are resolved to interface indexes in the namespace of the handle. [`flush`]
//! runs the flush verbs, which dump, filter and delete.

mod address;
mod error;
mod flush;
mod requests;
mod route;
mod rule;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::Arc;

use netlink_packet_core::{
    DefaultNla, NLM_F_ACK, NLM_F_REQUEST, NetlinkMessage, NetlinkPayload, NlasIterator,
};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use nix::errno::Errno;
use rtnetlink::Handle;

use crate::iproute::{AddressVerb, Request, RouteRequest, RouteVerb, RuleVerb};

pub use error::ApplyError;
pub(crate) use requests::Requests;

/// A netlink connection to one network namespace: rtnetlink's handle, for the dumps of the
/// flush verbs, and a socket of dehandler's own for device lookups and the requests that the
/// kernel replies to with one message. It dereferences to the rtnetlink handle.
#[derive(Debug, Clone)]
pub struct Netlink {
    handle: Handle,
    requests: Arc<Requests>,
}

impl Netlink {
    /// Joins an rtnetlink handle and a request socket opened in the same namespace.
    pub(crate) fn new(handle: Handle, requests: Requests) -> Netlink {
        Netlink {
            handle,
            requests: Arc::new(requests),
        }
    }
}

impl Deref for Netlink {
    type Target = Handle;

    fn deref(&self) -> &Handle {
        &self.handle
    }
}

/// The result of applying a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The kernel accepted the change.
    Applied,
    /// An `add` found the same object already there (EEXIST).
    AlreadyPresent,
    /// A `delete` found nothing to delete.
    AlreadyAbsent,
}

impl Outcome {
    /// Returns what a log line adds after the request: nothing for a change made, else
    /// " (already present)" or " (already absent)".
    pub fn note(self) -> &'static str {
        match self {
            Outcome::Applied => "",
            Outcome::AlreadyPresent => " (already present)",
            Outcome::AlreadyAbsent => " (already absent)",
        }
    }
}

/// Interface indexes by device name in one network namespace, kept so that the requests that
/// follow do not look the same device up again. Only devices that were found are kept: one
/// that is missing may appear later, when a network is connected.
#[derive(Debug, Default)]
pub struct LinkCache {
    indexes: HashMap<String, u32>,
}

impl LinkCache {
    /// Returns the index of a device, looking it up with RTM_GETLINK the first time.
    async fn index(
        &mut self,
        handle: &Netlink,
        request: &Request,
        name: &str,
    ) -> Result<u32, ApplyError> {
        if let Some(index) = self.indexes.get(name) {
            return Ok(*index);
        }
        let index = link_index(handle, request, name).await?;
        self.indexes.insert(name.to_string(), index);
        Ok(index)
    }
}

/// Applies one request in the network namespace of `handle`, looking up every device it
/// names. See [`apply_cached`].
pub async fn apply(handle: &Netlink, request: &Request) -> Result<Outcome, ApplyError> {
    apply_cached(handle, &mut LinkCache::default(), request).await
}

/// Applies one request in the network namespace of `handle`. Devices named by `dev` are
/// resolved through `links`, which must belong to the same namespace. A flush looks its
/// devices up anew.
///
/// An `add` of an address, route or rule that already exists returns
/// [`Outcome::AlreadyPresent`], and a `delete` of a missing object returns
/// [`Outcome::AlreadyAbsent`]. A flush returns [`Outcome::Applied`] when it deleted
/// something, else [`Outcome::AlreadyAbsent`]. Every other kernel error is an [`ApplyError`].
pub async fn apply_cached(
    handle: &Netlink,
    links: &mut LinkCache,
    request: &Request,
) -> Result<Outcome, ApplyError> {
    let message = match request {
        Request::Address(address) => {
            let index = links.index(handle, request, &address.dev).await?;
            address::message(address, index)
        }
        Request::Route(route) => route_message(handle, links, request, route).await?,
        // Rules carry device names (FRA_IIFNAME, FRA_OIFNAME), which may name devices that do
        // not exist yet.
        Request::Rule(rule) => rule::message(rule),
        Request::AddressFlush(addresses) => {
            return flush::addresses(handle, request, addresses).await;
        }
        Request::RouteFlush(routes) => return flush::routes(handle, request, routes).await,
        Request::RuleFlush(rules) => return flush::rules(handle, request, rules).await,
    };

    let result = send(handle, message).await;

    match result {
        Ok(()) => Ok(Outcome::Applied),
        Err(SendError::Kernel {
            errno,
            kernel_message,
        }) => match outcome_of_error(request, errno) {
            Some(outcome) => {
                tracing::debug!(%request, %errno, ?outcome, "kernel error means the request is done");
                Ok(outcome)
            }
            None => Err(ApplyError::Kernel {
                request: request.to_string(),
                errno,
                kernel_message,
            }),
        },
        Err(SendError::Socket(source)) => Err(ApplyError::Socket {
            request: request.to_string(),
            source,
        }),
    }
}

/// Decides which errors mean that the request's goal already holds. The errno for a missing
/// object differs per object: the kernel returns EADDRNOTAVAIL for an address
/// (`inet_rtm_deladdr`, `inet6_addr_del`), ESRCH for a route (`fib_table_delete`,
/// `ip6_route_del`, also when the table does not exist) and ENOENT for a rule (`fib_nl_delrule`).
fn outcome_of_error(request: &Request, errno: Errno) -> Option<Outcome> {
    match (request, errno) {
        (Request::Address(r), Errno::EEXIST) if r.verb == AddressVerb::Add => {
            Some(Outcome::AlreadyPresent)
        }
        (Request::Route(r), Errno::EEXIST) if r.verb == RouteVerb::Add => {
            Some(Outcome::AlreadyPresent)
        }
        (Request::Rule(r), Errno::EEXIST) if r.verb == RuleVerb::Add => {
            Some(Outcome::AlreadyPresent)
        }
        (Request::Address(r), Errno::EADDRNOTAVAIL) if r.verb == AddressVerb::Delete => {
            Some(Outcome::AlreadyAbsent)
        }
        (Request::Route(r), Errno::ESRCH) if r.verb == RouteVerb::Delete => {
            Some(Outcome::AlreadyAbsent)
        }
        (Request::Rule(r), Errno::ENOENT) if r.verb == RuleVerb::Delete => {
            Some(Outcome::AlreadyAbsent)
        }
        _ => None,
    }
}

/// Resolves the devices of a route request and builds its netlink message.
async fn route_message(
    handle: &Netlink,
    links: &mut LinkCache,
    request: &Request,
    route: &RouteRequest,
) -> Result<NetlinkMessage<RouteNetlinkMessage>, ApplyError> {
    for name in route::device_names(route) {
        links.index(handle, request, name).await?;
    }
    Ok(route::message(route, &links.indexes))
}

/// Looks up the interface index of a device by name or alternative name (Linux 5.5 and later)
/// with the SIOCGIFINDEX ioctl. A name of 16 bytes or more can only be an alternative name,
/// and is looked up with RTM_GETLINK and IFLA_ALT_IFNAME, as `ip` does.
async fn link_index(handle: &Netlink, request: &Request, name: &str) -> Result<u32, ApplyError> {
    let not_found = || ApplyError::DeviceNotFound {
        request: request.to_string(),
        name: name.to_string(),
    };
    let lookup_error = |errno| ApplyError::DeviceLookup {
        request: request.to_string(),
        name: name.to_string(),
        errno,
    };

    if let Some(result) = handle.requests.interface_index(name) {
        return match result {
            Ok(index) => Ok(index),
            Err(error) => match Errno::from_raw(error.raw_os_error().unwrap_or(0)) {
                Errno::ENODEV => Err(not_found()),
                Errno::UnknownErrno => Err(ApplyError::Socket {
                    request: request.to_string(),
                    source: error,
                }),
                errno => Err(lookup_error(errno)),
            },
        };
    }

    let mut link = LinkMessage::default();
    let mut alternative_name = name.as_bytes().to_vec();
    alternative_name.push(0);
    link.attributes.push(LinkAttribute::Other(DefaultNla::new(
        IFLA_ALT_IFNAME,
        alternative_name,
    )));
    // Only the index is read, so the kernel may leave out the counters: 1136 bytes instead of
    // 1504 for a veth.
    link.attributes
        .push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
    let mut message = NetlinkMessage::from(RouteNetlinkMessage::GetLink(link));
    message.header.flags = NLM_F_REQUEST;
    tracing::trace!(?message, "netlink request");

    match handle.requests.exchange(message).await {
        Ok(reply) => match reply.payload {
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)) => {
                Ok(link.header.index)
            }
            _ => Err(not_found()),
        },
        Err(SendError::Kernel {
            errno: Errno::ENODEV,
            ..
        }) => Err(not_found()),
        Err(SendError::Kernel { errno, .. }) => Err(lookup_error(errno)),
        Err(SendError::Socket(source)) => Err(ApplyError::Socket {
            request: request.to_string(),
            source,
        }),
    }
}

/// Failures of [`send`], before they are matched to a request.
enum SendError {
    Kernel {
        errno: Errno,
        kernel_message: Option<String>,
    },
    Socket(std::io::Error),
}

/// Sends a message with NLM_F_ACK and waits for the kernel's acknowledgement.
async fn send(
    netlink: &Netlink,
    mut message: NetlinkMessage<RouteNetlinkMessage>,
) -> Result<(), SendError> {
    message.header.flags |= NLM_F_REQUEST | NLM_F_ACK;
    tracing::trace!(?message, "netlink request");
    netlink.requests.exchange(message).await.map(|_| ())
}

/// IFLA_ALT_IFNAME, from linux/if_link.h; netlink-packet-route has no variant for it.
const IFLA_ALT_IFNAME: u16 = 53;

/// NLM_F_CAPPED and NLM_F_ACK_TLVS share their values with other flags, so netlink-packet-core
/// names them only as aliases. The values are from linux/netlink.h.
const NLM_F_CAPPED: u16 = 0x100;
const NLM_F_ACK_TLVS: u16 = 0x200;
const NLMSGERR_ATTR_MSG: u16 = 1;
const NETLINK_HEADER_LEN: usize = 16;

/// Returns the text of NLMSGERR_ATTR_MSG from an error message's payload (after the error
/// code): the request's netlink header, then the rest of the request unless the kernel capped
/// it, then attributes when NLM_F_ACK_TLVS is set.
fn extended_ack_message(flags: u16, payload: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let echoed_len = if flags & NLM_F_CAPPED != 0 {
        NETLINK_HEADER_LEN
    } else {
        u32::from_ne_bytes(payload.get(..4)?.try_into().ok()?) as usize
    };
    let attributes = payload.get(echoed_len.next_multiple_of(4)..)?;

    for attribute in NlasIterator::new(attributes) {
        let attribute = attribute.ok()?;
        if attribute.kind() == NLMSGERR_ATTR_MSG {
            let text = attribute.value().split(|&b| b == 0).next()?;
            let text = String::from_utf8_lossy(text).trim_end().to_string();
            return (!text.is_empty()).then_some(text);
        }
    }
    None
}

/// Returns the u8 table number for a message header and whether the id needs the 32-bit table
/// attribute instead (ids of 256 and above, which the header's u8 cannot hold).
fn header_table(table: u32) -> (u8, bool) {
    match u8::try_from(table) {
        Ok(table) => (table, false),
        Err(_) => (0, true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extended_ack_message_after_uncapped_request() {
        // A 20-byte request echoed whole, then NLMSGERR_ATTR_MSG "bad gw\0" padded to 4.
        let mut payload = vec![0u8; 20];
        payload[..4].copy_from_slice(&20u32.to_ne_bytes());
        payload.extend_from_slice(&11u16.to_ne_bytes());
        payload.extend_from_slice(&1u16.to_ne_bytes());
        payload.extend_from_slice(b"bad gw\0\0");

        let text = extended_ack_message(NLM_F_ACK_TLVS, &payload);

        assert_eq!(text.as_deref(), Some("bad gw"));
    }

    #[test]
    fn extended_ack_message_after_capped_request() {
        let mut payload = vec![0u8; 16];
        payload[..4].copy_from_slice(&64u32.to_ne_bytes());
        payload.extend_from_slice(&8u16.to_ne_bytes());
        payload.extend_from_slice(&1u16.to_ne_bytes());
        payload.extend_from_slice(b"no\0\0");

        let text = extended_ack_message(NLM_F_ACK_TLVS | NLM_F_CAPPED, &payload);

        assert_eq!(text.as_deref(), Some("no"));
    }

    #[test]
    fn extended_ack_message_absent_without_flag() {
        assert_eq!(extended_ack_message(0, &[0u8; 16]), None);
    }

    #[test]
    fn table_above_255_needs_attribute() {
        assert_eq!(header_table(254), (254, false));
        assert_eq!(header_table(256), (0, true));
        assert_eq!(header_table(51820), (0, true));
    }
}
