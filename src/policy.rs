//! The host owner's limits on labels: host routes and labels inherited from images.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::iproute::{Request, RouteRequest, RouteType, RouteVerb};
use crate::labels::LabelKind;

/// The set of host routes a container's `host-route` label may change (`HOST_ROUTES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HostRoutePolicy {
    /// No host routes at all.
    Off,
    /// Only unicast routes whose every gateway is an address of the container and whose
    /// every device, when given, is the bridge of one of its networks.
    #[default]
    Container,
    /// Any route.
    Any,
}

impl FromStr for HostRoutePolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "off" => Ok(HostRoutePolicy::Off),
            "container" => Ok(HostRoutePolicy::Container),
            "any" => Ok(HostRoutePolicy::Any),
            other => Err(format!(
                "invalid HOST_ROUTES {other:?}: expected off, container or any"
            )),
        }
    }
}

impl fmt::Display for HostRoutePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            HostRoutePolicy::Off => "off",
            HostRoutePolicy::Container => "container",
            HostRoutePolicy::Any => "any",
        })
    }
}

/// The container's own addresses and bridges, which `HOST_ROUTES=container` allows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContainerNetworks {
    /// The container's IPv4 and IPv6 addresses on its networks.
    pub addresses: Vec<IpAddr>,
    /// The host bridge devices of its bridge networks, such as `docker0` or `br-0123456789ab`.
    pub bridges: Vec<String>,
}

impl HostRoutePolicy {
    /// Checks a host route against the policy. The error gives the reason it is not allowed.
    pub fn check(self, route: &RouteRequest, container: &ContainerNetworks) -> Result<(), String> {
        match self {
            HostRoutePolicy::Any => Ok(()),
            HostRoutePolicy::Off => Err("host routes are turned off (HOST_ROUTES=off)".into()),
            HostRoutePolicy::Container => check_container_route(route, container),
        }
    }

    /// Checks any request of a host-route label: a route is checked as [`Self::check`] does,
    /// and a flush, which could delete routes of the host and of other containers, is
    /// allowed only with `HOST_ROUTES=any`.
    pub fn check_request(
        self,
        request: &Request,
        container: &ContainerNetworks,
    ) -> Result<(), String> {
        match (self, request) {
            (HostRoutePolicy::Any, _) => Ok(()),
            (_, Request::Route(route)) => self.check(route, container),
            (HostRoutePolicy::Off, _) => Err("host routes are turned off (HOST_ROUTES=off)".into()),
            (HostRoutePolicy::Container, _) => Err(format!(
                "HOST_ROUTES=container allows only route add, change, replace, append, prepend and delete, not {} flush",
                request.object()
            )),
        }
    }
}

fn check_container_route(
    route: &RouteRequest,
    container: &ContainerNetworks,
) -> Result<(), String> {
    const SETTING: &str = "HOST_ROUTES=container";
    let route_type = route.route_type.unwrap_or(RouteType::UNICAST);
    if route_type != RouteType::UNICAST {
        return Err(format!("{SETTING} allows only unicast host routes"));
    }
    if route.verb == RouteVerb::Test {
        return Err(format!("{SETTING} does not allow route test"));
    }

    let mut gateways = Vec::new();
    let mut devices = Vec::new();
    gateways.extend(route.via.map(|via| via.addr));
    devices.extend(route.dev.clone());
    for hop in &route.nexthops {
        gateways.extend(hop.via.map(|via| via.addr));
        devices.extend(hop.dev.clone());
    }
    let hops = route.nexthops.len().max(1);
    if gateways.len() < hops {
        return Err(format!(
            "{SETTING} requires a gateway (via) that is an address of the container"
        ));
    }
    if let Some(gateway) = gateways.iter().find(|g| !container.addresses.contains(g)) {
        return Err(format!(
            "{SETTING} requires the gateway to be an address of the container; {gateway} is not one of {}",
            list(&container.addresses)
        ));
    }
    if let Some(device) = devices.iter().find(|d| !container.bridges.contains(d)) {
        return Err(format!(
            "{SETTING} requires the device to be the bridge of one of the container's networks; {device} is not one of {}",
            list(&container.bridges)
        ));
    }
    Ok(())
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "(none)".to_string();
    }
    let items: Vec<String> = items.iter().map(ToString::to_string).collect();
    items.join(", ")
}

/// Removes the dehandler labels that the container inherited unchanged from its image and
/// returns their keys: a pulled image alone must not change host or container routing.
pub fn drop_image_labels(
    labels: &mut HashMap<String, String>,
    image_labels: &HashMap<String, String>,
    prefix: &str,
) -> Vec<String> {
    let mut dropped = Vec::new();
    for kind in LabelKind::ALL {
        let key = kind.key(prefix);
        let inherited = matches!(
            (labels.get(&key), image_labels.get(&key)),
            (Some(value), Some(image_value)) if value == image_value
        );
        if inherited {
            labels.remove(&key);
            dropped.push(key);
        }
    }
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::iproute::{Object, Request, parse_segment};

    fn route(tail: &str) -> RouteRequest {
        match parse_segment(Object::Route, tail).unwrap() {
            Request::Route(route) => route,
            other => panic!("not a route: {other:?}"),
        }
    }

    fn container() -> ContainerNetworks {
        ContainerNetworks {
            addresses: vec![
                "198.18.0.2".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            ],
            bridges: vec!["br-0123456789ab".into()],
        }
    }

    #[test]
    fn container_policy_allows_own_gateway_and_bridge() {
        let allowed = [
            "add 198.19.0.0/24 via 198.18.0.2",
            "add 198.19.0.0/24 via 198.18.0.2 dev br-0123456789ab metric 5",
            "del 198.19.0.0/24 via 198.18.0.2",
            "replace 2001:db8:1::/48 via 2001:db8::2",
            "add 198.19.0.0/24 nexthop via 198.18.0.2 nexthop via 198.18.0.2 dev br-0123456789ab",
        ];
        for tail in allowed {
            let result = HostRoutePolicy::Container.check(&route(tail), &container());
            assert_eq!(result, Ok(()), "{tail}");
        }
    }

    #[test]
    fn container_policy_rejects_other_routes() {
        let rejected = [
            (
                "add 198.19.0.0/24 via 198.18.0.3",
                "is not one of 198.18.0.2, 2001:db8::2",
            ),
            ("add 198.19.0.0/24 dev eth0", "requires a gateway"),
            (
                "add default via 198.18.0.2 dev eth0",
                "eth0 is not one of br-0123456789ab",
            ),
            ("add blackhole 198.19.0.0/24", "only unicast"),
            (
                "add 198.19.0.0/24 nexthop via 198.18.0.2 nexthop dev br-0123456789ab",
                "requires a gateway",
            ),
        ];
        for (tail, reason) in rejected {
            let error = HostRoutePolicy::Container
                .check(&route(tail), &container())
                .unwrap_err();
            assert!(error.contains(reason), "{tail}: {error}");
        }
    }

    #[test]
    fn flush_on_host_needs_any() {
        let flush = parse_segment(Object::Route, "flush table main").unwrap();
        let container_error = HostRoutePolicy::Container
            .check_request(&flush, &container())
            .unwrap_err();
        assert!(
            container_error.contains("not route flush"),
            "{container_error}"
        );
        assert!(
            HostRoutePolicy::Off
                .check_request(&flush, &container())
                .is_err()
        );
        assert_eq!(
            HostRoutePolicy::Any.check_request(&flush, &container()),
            Ok(())
        );

        let allowed = parse_segment(Object::Route, "add 198.19.0.0/24 via 198.18.0.2").unwrap();
        assert_eq!(
            HostRoutePolicy::Container.check_request(&allowed, &container()),
            Ok(())
        );
    }

    #[test]
    fn off_rejects_and_any_allows() {
        let r = route("add blackhole 0.0.0.0/0");
        assert!(HostRoutePolicy::Off.check(&r, &container()).is_err());
        assert_eq!(HostRoutePolicy::Any.check(&r, &container()), Ok(()));
    }

    #[test]
    fn policy_names_round_trip() {
        for name in ["off", "container", "any"] {
            assert_eq!(name.parse::<HostRoutePolicy>().unwrap().to_string(), name);
        }
        assert!("all".parse::<HostRoutePolicy>().is_err());
    }

    #[test]
    fn image_labels_dropped_only_when_unchanged() {
        let mut labels = HashMap::from([
            (
                "p.route".to_string(),
                "add default via 10.0.0.1".to_string(),
            ),
            (
                "p.rule".to_string(),
                "add from 10.0.0.2 table 5".to_string(),
            ),
            ("other".to_string(), "x".to_string()),
        ]);
        let image = HashMap::from([
            (
                "p.route".to_string(),
                "add default via 10.0.0.1".to_string(),
            ),
            (
                "p.rule".to_string(),
                "add from 10.0.0.9 table 5".to_string(),
            ),
            ("other".to_string(), "x".to_string()),
        ]);
        let dropped = drop_image_labels(&mut labels, &image, "p");
        assert_eq!(dropped, vec!["p.route".to_string()]);
        assert!(labels.contains_key("p.rule"));
        assert!(labels.contains_key("other"));
    }
}
