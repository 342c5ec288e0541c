//! The netlink applier in real network namespaces, checked against iproute2 (`ip -j`).
//!
//! Each test builds its own namespace pair (see `common`), applies typed requests through
//! `dehandler::netns` and `dehandler::netlink`, and reads the result back with `ip`. These
//! tests need root; see `common::root_or_skip`.

mod common;

use std::net::Ipv4Addr;

use dehandler::iproute::{
    AddressVerb, Broadcast, Family, Lifetime, NextHop, Request, RouteMetric, RouteMetricKind,
    RouteType, RouteVerb, RuleAction, RuleVerb, TABLE_MAIN, Via,
};
use dehandler::netlink::{ApplyError, Outcome, apply};
use dehandler::netns::{Namespace, NetnsError};
use nix::errno::Errno;
use serde_json::{Value, json};

use common::{TestNamespace, address, prefix, route, rule, via};

const IFA_F_NODAD: u32 = 0x02;
const PROTO_STATIC: u8 = 4;
const SCOPE_LINK: u8 = 253;

async fn apply_ok(handle: &rtnetlink::Handle, request: impl Into<RequestOf>) -> Outcome {
    let request = request.into().0;
    apply(handle, &request)
        .await
        .unwrap_or_else(|e| panic!("applying {request} failed: {e}"))
}

async fn apply_err(handle: &rtnetlink::Handle, request: impl Into<RequestOf>) -> ApplyError {
    let request = request.into().0;
    match apply(handle, &request).await {
        Ok(outcome) => panic!("applying {request} returned {outcome:?}, expected an error"),
        Err(e) => e,
    }
}

/// Lets the helpers take any of the three request structs.
struct RequestOf(Request);

impl From<dehandler::iproute::AddressRequest> for RequestOf {
    fn from(r: dehandler::iproute::AddressRequest) -> Self {
        RequestOf(Request::Address(r))
    }
}

impl From<dehandler::iproute::RouteRequest> for RequestOf {
    fn from(r: dehandler::iproute::RouteRequest) -> Self {
        RequestOf(Request::Route(r))
    }
}

impl From<dehandler::iproute::RuleRequest> for RequestOf {
    fn from(r: dehandler::iproute::RuleRequest) -> Self {
        RequestOf(Request::Rule(r))
    }
}

fn flags_of(route: &Value) -> Vec<String> {
    route["flags"]
        .as_array()
        .map(|flags| {
            flags
                .iter()
                .filter_map(|f| f.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// namespaces

#[tokio::test]
async fn namespace_open_missing_file_names_path() {
    let error = Namespace::open("/run/netns/dhtest-does-not-exist").unwrap_err();

    assert!(matches!(error, NetnsError::Open { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("/run/netns/dhtest-does-not-exist"),
        "{error}"
    );
}

#[tokio::test]
async fn namespace_connect_rejects_regular_file() {
    if !common::root_or_skip("namespace_connect_rejects_regular_file") {
        return;
    }
    // setns(2) returns EINVAL for a file that is not a namespace, before changing anything.
    let namespace = Namespace::open("/proc/self/status").unwrap();

    let error = namespace.connect().await.unwrap_err();

    assert!(
        matches!(
            error,
            NetnsError::Enter {
                source: Errno::EINVAL,
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("/proc/self/status"), "{error}");
}

#[tokio::test]
async fn connect_current_reads_host_links() {
    if !common::root_or_skip("connect_current_reads_host_links") {
        return;
    }
    let handle = dehandler::netns::connect_current().await.unwrap();

    // Read only: the host's loopback device has index 1 in every network namespace.
    let mut links = handle.link().get().match_name("lo").execute();
    let lo = futures_util::TryStreamExt::try_next(&mut links)
        .await
        .unwrap()
        .expect("lo exists");

    assert_eq!(lo.header.index, 1);
}

#[tokio::test]
async fn namespace_apply_leaves_host_unchanged() {
    let Some(ns) = TestNamespace::standard("namespace_apply_leaves_host_unchanged") else {
        return;
    };
    let handle = ns.connect().await;
    // 198.18.0.0/15 is reserved for benchmark tests (RFC 2544), so no host uses it.
    let mut add = address(AddressVerb::Add, "198.18.77.1/24", "br-b2eb147102f3");
    add.label = Some("br-b2eb147102f3".to_string());
    let mut route_add = route(RouteVerb::Add, "198.19.77.0/24");
    route_add.via = via("198.18.77.254");

    apply_ok(&handle, add).await;
    apply_ok(&handle, route_add).await;

    assert!(ns.address("br-b2eb147102f3", "198.18.77.1").is_some());
    assert!(ns.route(Family::Inet, "main", "198.19.77.0/24").is_some());
    let host_routes = common::run_ip(&["-j", "route", "show", "table", "all"]);
    let host_addresses = common::run_ip(&["-j", "address", "show"]);
    assert!(!host_routes.contains("198.19.77.0"), "{host_routes}");
    assert!(!host_addresses.contains("198.18.77.1"), "{host_addresses}");
}

// ---------------------------------------------------------------------------------------------
// addresses

#[tokio::test]
async fn address_add_with_brd_label_metric() {
    let Some(ns) = TestNamespace::standard("address_add_with_brd_label_metric") else {
        return;
    };
    let handle = ns.connect().await;
    // ip address add 192.168.1.10/24 brd 192.168.1.255 dev eth1 label eth1:web metric 50
    let mut add = address(AddressVerb::Add, "192.168.1.10/24", "eth1");
    add.broadcast = Some(Broadcast::Addr(Ipv4Addr::new(192, 168, 1, 255)));
    add.label = Some("eth1:web".to_string());
    add.metric = Some(50);

    assert_eq!(apply_ok(&handle, add).await, Outcome::Applied);

    let info = ns.address("eth1", "192.168.1.10").expect("address added");
    assert_eq!(info["prefixlen"], 24);
    assert_eq!(info["broadcast"], "192.168.1.255");
    assert_eq!(info["label"], "eth1:web");
    assert_eq!(info["metric"], 50);
    assert_eq!(info["scope"], "global");
    // net1 has a route to 192.168.1.0/24 too.
    let prefix_route = ns
        .routes(Family::Inet, "main")
        .into_iter()
        .find(|r| r["dst"] == "192.168.1.0/24" && r["dev"] == "eth1")
        .expect("prefix route on eth1");
    assert_eq!(prefix_route["metric"], 50);
}

#[tokio::test]
async fn address_add_sends_no_broadcast() {
    let Some(ns) = TestNamespace::standard("address_add_sends_no_broadcast") else {
        return;
    };
    let handle = ns.connect().await;

    apply_ok(&handle, address(AddressVerb::Add, "10.21.0.5/24", "eth1")).await;

    let info = ns.address("eth1", "10.21.0.5").expect("address added");
    assert!(info.get("broadcast").is_none(), "{info}");
}

#[tokio::test]
async fn address_broadcast_plus_and_minus() {
    let Some(ns) = TestNamespace::standard("address_broadcast_plus_and_minus") else {
        return;
    };
    let handle = ns.connect().await;
    let mut plus = address(AddressVerb::Add, "10.22.0.5/16", "eth1");
    plus.broadcast = Some(Broadcast::HostBitsSet);
    let mut minus = address(AddressVerb::Add, "10.23.0.5/24", "eth1");
    minus.broadcast = Some(Broadcast::HostBitsCleared);

    apply_ok(&handle, plus).await;
    apply_ok(&handle, minus).await;

    assert_eq!(
        ns.address("eth1", "10.22.0.5").unwrap()["broadcast"],
        "10.22.255.255"
    );
    assert_eq!(
        ns.address("eth1", "10.23.0.5").unwrap()["broadcast"],
        "10.23.0.0"
    );
}

#[tokio::test]
async fn address_add_twice_is_already_present() {
    let Some(ns) = TestNamespace::standard("address_add_twice_is_already_present") else {
        return;
    };
    let handle = ns.connect().await;

    let first = apply_ok(&handle, address(AddressVerb::Add, "10.24.0.5/24", "eth1")).await;
    let second = apply_ok(&handle, address(AddressVerb::Add, "10.24.0.5/24", "eth1")).await;

    assert_eq!(first, Outcome::Applied);
    assert_eq!(second, Outcome::AlreadyPresent);
}

#[tokio::test]
async fn address_delete_then_already_absent() {
    let Some(ns) = TestNamespace::standard("address_delete_then_already_absent") else {
        return;
    };
    let handle = ns.connect().await;

    let first = apply_ok(
        &handle,
        address(AddressVerb::Delete, "198.51.100.10/24", "eth1"),
    )
    .await;
    let second = apply_ok(
        &handle,
        address(AddressVerb::Delete, "198.51.100.10/24", "eth1"),
    )
    .await;

    assert_eq!(first, Outcome::Applied);
    assert_eq!(second, Outcome::AlreadyAbsent);
    assert!(ns.address("eth1", "198.51.100.10").is_none());
}

#[tokio::test]
async fn address_ipv4_delete_wildcard() {
    let Some(ns) = TestNamespace::standard("address_ipv4_delete_wildcard") else {
        return;
    };
    let handle = ns.connect().await;

    // ip address del 192.168.1.209 dev net1: the address is a /24.
    let outcome = apply_ok(
        &handle,
        address(AddressVerb::Delete, "192.168.1.209", "net1"),
    )
    .await;

    assert_eq!(outcome, Outcome::Applied);
    assert!(ns.address("net1", "192.168.1.209").is_none());
}

#[tokio::test]
async fn address_ipv6_delete_wrong_length() {
    let Some(ns) = TestNamespace::standard("address_ipv6_delete_wrong_length") else {
        return;
    };
    let handle = ns.connect().await;

    // IPv6 deletes match the prefix length exactly; the address is a /64.
    let outcome = apply_ok(
        &handle,
        address(AddressVerb::Delete, "2001:db8:5::10", "eth1"),
    )
    .await;

    assert_eq!(outcome, Outcome::AlreadyAbsent);
    assert!(ns.address("eth1", "2001:db8:5::10").is_some());
}

#[tokio::test]
async fn address_replace_metric_and_create() {
    let Some(ns) = TestNamespace::standard("address_replace_metric_and_create") else {
        return;
    };
    let handle = ns.connect().await;
    let mut replace = address(AddressVerb::Replace, "198.51.100.10/24", "eth1");
    replace.metric = Some(77);
    let create = address(AddressVerb::Replace, "10.25.0.5/24", "eth1");

    assert_eq!(apply_ok(&handle, replace).await, Outcome::Applied);
    assert_eq!(apply_ok(&handle, create).await, Outcome::Applied);

    assert_eq!(ns.address("eth1", "198.51.100.10").unwrap()["metric"], 77);
    assert!(ns.address("eth1", "10.25.0.5").is_some());
}

#[tokio::test]
async fn address_ipv6_nodad() {
    let Some(ns) = TestNamespace::standard("address_ipv6_nodad") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = address(AddressVerb::Add, "2001:db8:7::5/64", "eth1");
    add.flags = IFA_F_NODAD;

    apply_ok(&handle, add).await;

    let info = ns.address("eth1", "2001:db8:7::5").expect("address added");
    assert_eq!(info["family"], "inet6");
    assert_eq!(info["prefixlen"], 64);
    assert_eq!(info["nodad"], true);
    assert!(info.get("tentative").is_none(), "{info}");
}

#[tokio::test]
async fn address_noprefixroute_goes_to_ifa_flags() {
    let Some(ns) = TestNamespace::standard("address_noprefixroute_goes_to_ifa_flags") else {
        return;
    };
    let handle = ns.connect().await;
    // noprefixroute is 0x200, above the header's u8, so all flags travel in IFA_FLAGS.
    let mut add = address(AddressVerb::Add, "2001:db8:8::5/64", "eth1");
    add.flags = IFA_F_NODAD | 0x200;

    apply_ok(&handle, add).await;

    let info = ns.address("eth1", "2001:db8:8::5").expect("address added");
    assert_eq!(info["nodad"], true);
    assert_eq!(info["noprefixroute"], true);
    assert!(ns.route(Family::Inet6, "main", "2001:db8:8::/64").is_none());
}

#[tokio::test]
async fn address_peer_scope_and_lifetimes() {
    let Some(ns) = TestNamespace::standard("address_peer_scope_and_lifetimes") else {
        return;
    };
    let handle = ns.connect().await;
    let mut peer = address(AddressVerb::Add, "10.30.0.1", "eth1");
    peer.peer = Some(prefix("10.30.0.2/32"));
    let mut scoped = address(AddressVerb::Add, "10.31.0.1/24", "eth1");
    scoped.scope = Some(SCOPE_LINK);
    scoped.valid_lft = Some(Lifetime::Seconds(300));
    scoped.preferred_lft = Some(Lifetime::Seconds(100));
    let loopback = address(AddressVerb::Add, "127.0.0.2/8", "lo");

    apply_ok(&handle, peer).await;
    apply_ok(&handle, scoped).await;
    apply_ok(&handle, loopback).await;

    let peer = ns.address("eth1", "10.30.0.1").expect("peer address added");
    assert_eq!(peer["address"], "10.30.0.2");
    assert_eq!(peer["prefixlen"], 32);
    let scoped = ns
        .address("eth1", "10.31.0.1")
        .expect("scoped address added");
    assert_eq!(scoped["scope"], "link");
    assert_eq!(scoped["dynamic"], true);
    let valid = scoped["valid_life_time"].as_u64().unwrap();
    let preferred = scoped["preferred_life_time"].as_u64().unwrap();
    assert!((290..=300).contains(&valid), "valid_life_time {valid}");
    assert!(
        (90..=100).contains(&preferred),
        "preferred_life_time {preferred}"
    );
    // ip gives IPv4 loopback addresses scope host when no scope is written.
    assert_eq!(ns.address("lo", "127.0.0.2").unwrap()["scope"], "host");
}

#[tokio::test]
async fn address_missing_device() {
    let Some(ns) = TestNamespace::standard("address_missing_device") else {
        return;
    };
    let handle = ns.connect().await;

    let error = apply_err(&handle, address(AddressVerb::Add, "10.26.0.5/24", "eth9")).await;

    assert!(
        matches!(&error, ApplyError::DeviceNotFound { name, .. } if name == "eth9"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "ip address add 10.26.0.5/24 dev eth9: device \"eth9\" not found"
    );
}

// ---------------------------------------------------------------------------------------------
// routes

#[tokio::test]
async fn route_add_via_dev_table_metric_proto() {
    let Some(ns) = TestNamespace::standard("route_add_via_dev_table_metric_proto") else {
        return;
    };
    let handle = ns.connect().await;
    // ip route add 10.0.5.0/24 via 172.30.0.1 dev eth0 table 100 metric 20 proto static
    let mut add = route(RouteVerb::Add, "10.0.5.0/24");
    add.via = via("172.30.0.1");
    add.dev = Some("eth0".to_string());
    add.table = Some(100);
    add.metric = Some(20);
    add.protocol = Some(PROTO_STATIC);

    assert_eq!(apply_ok(&handle, add).await, Outcome::Applied);

    let added = ns
        .route(Family::Inet, "100", "10.0.5.0/24")
        .expect("route added to table 100");
    assert_eq!(added["gateway"], "172.30.0.1");
    assert_eq!(added["dev"], "eth0");
    assert_eq!(added["metric"], 20);
    assert_eq!(added["protocol"], "static");
    assert_eq!(added["scope"], "global");
    assert_eq!(added["type"], "unicast");
    assert!(ns.route(Family::Inet, "main", "10.0.5.0/24").is_none());
}

#[tokio::test]
async fn route_add_default_proto_scope() {
    let Some(ns) = TestNamespace::standard("route_add_default_proto_scope") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = route(RouteVerb::Add, "192.168.1.254/32");
    add.dev = Some("eth1".to_string());

    apply_ok(&handle, add).await;

    let added = ns
        .route(Family::Inet, "main", "192.168.1.254")
        .expect("route added");
    assert_eq!(added["protocol"], "boot");
    assert_eq!(added["scope"], "link");
    assert_eq!(added["dev"], "eth1");
}

#[tokio::test]
async fn route_add_onlink_src_scope() {
    let Some(ns) = TestNamespace::standard("route_add_onlink_src_scope") else {
        return;
    };
    let handle = ns.connect().await;
    // The gateway is outside every connected prefix, so only onlink makes it acceptable.
    let mut onlink = route(RouteVerb::Add, "10.45.0.0/16");
    onlink.via = via("10.99.0.1");
    onlink.dev = Some("eth1".to_string());
    onlink.onlink = true;
    let mut with_src = route(RouteVerb::Add, "10.46.0.0/24");
    with_src.dev = Some("net1".to_string());
    with_src.src = Some("192.168.1.209".parse().unwrap());
    with_src.scope = Some(SCOPE_LINK);
    with_src.table = Some(100);

    apply_ok(&handle, onlink).await;
    apply_ok(&handle, with_src).await;

    let onlink = ns
        .route(Family::Inet, "main", "10.45.0.0/16")
        .expect("onlink route");
    assert!(
        flags_of(&onlink).contains(&"onlink".to_string()),
        "{onlink}"
    );
    assert_eq!(onlink["gateway"], "10.99.0.1");
    let with_src = ns
        .route(Family::Inet, "100", "10.46.0.0/24")
        .expect("route with src");
    assert_eq!(with_src["prefsrc"], "192.168.1.209");
    assert_eq!(with_src["scope"], "link");
}

#[tokio::test]
async fn route_add_special_types() {
    let Some(ns) = TestNamespace::standard("route_add_special_types") else {
        return;
    };
    let handle = ns.connect().await;
    let cases = [
        (
            RouteType::BLACKHOLE,
            "169.254.169.254/32",
            "169.254.169.254",
            "blackhole",
        ),
        (
            RouteType::UNREACHABLE,
            "10.60.0.0/24",
            "10.60.0.0/24",
            "unreachable",
        ),
        (
            RouteType::PROHIBIT,
            "10.61.0.0/24",
            "10.61.0.0/24",
            "prohibit",
        ),
        (RouteType::THROW, "10.62.0.0/24", "10.62.0.0/24", "throw"),
    ];

    for (route_type, dst, printed, name) in cases {
        let mut add = route(RouteVerb::Add, dst);
        add.route_type = Some(route_type);
        apply_ok(&handle, add).await;

        let added = ns
            .route(Family::Inet, "main", printed)
            .unwrap_or_else(|| panic!("{name} route added"));
        assert_eq!(added["type"], name);
        // ip sends scope universe for these types, not link.
        assert_eq!(added["scope"], "global", "{name}");
        assert_eq!(added["protocol"], "boot", "{name}");
    }
}

#[tokio::test]
async fn route_replace_default() {
    let Some(ns) = TestNamespace::standard("route_replace_default") else {
        return;
    };
    let handle = ns.connect().await;
    // ip route replace default via 198.51.100.1 dev eth1
    let mut replace = route(RouteVerb::Replace, "default");
    replace.via = via("198.51.100.1");
    replace.dev = Some("eth1".to_string());

    assert_eq!(apply_ok(&handle, replace).await, Outcome::Applied);

    let defaults: Vec<Value> = ns
        .routes(Family::Inet, "main")
        .into_iter()
        .filter(|r| r["dst"] == "default")
        .collect();
    assert_eq!(defaults.len(), 1, "{defaults:?}");
    assert_eq!(defaults[0]["gateway"], "198.51.100.1");
    assert_eq!(defaults[0]["dev"], "eth1");
}

#[tokio::test]
async fn route_delete_default_twice() {
    let Some(ns) = TestNamespace::standard("route_delete_default_twice") else {
        return;
    };
    let handle = ns.connect().await;

    let first = apply_ok(&handle, route(RouteVerb::Delete, "default")).await;
    let second = apply_ok(&handle, route(RouteVerb::Delete, "default")).await;

    assert_eq!(first, Outcome::Applied);
    assert_eq!(second, Outcome::AlreadyAbsent);
    assert!(ns.route(Family::Inet, "main", "default").is_none());
}

#[tokio::test]
async fn route_delete_missing_table() {
    let Some(ns) = TestNamespace::standard("route_delete_missing_table") else {
        return;
    };
    let handle = ns.connect().await;
    let mut delete = route(RouteVerb::Delete, "10.70.0.0/24");
    delete.table = Some(4242);

    assert_eq!(apply_ok(&handle, delete).await, Outcome::AlreadyAbsent);
}

#[tokio::test]
async fn ipv6_delete_missing_is_already_absent() {
    let Some(ns) = TestNamespace::standard("ipv6_delete_missing_is_already_absent") else {
        return;
    };
    let handle = ns.connect().await;
    let route_delete = route(RouteVerb::Delete, "2001:db8:99::/64");
    let mut rule_delete = rule(RuleVerb::Delete);
    rule_delete.family = Family::Inet6;
    rule_delete.priority = Some(999);

    assert_eq!(
        apply_ok(&handle, route_delete).await,
        Outcome::AlreadyAbsent
    );
    assert_eq!(apply_ok(&handle, rule_delete).await, Outcome::AlreadyAbsent);
}

#[tokio::test]
async fn route_add_twice_is_already_present() {
    let Some(ns) = TestNamespace::standard("route_add_twice_is_already_present") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = route(RouteVerb::Add, "10.0.6.0/24");
    add.via = via("172.30.0.1");

    let first = apply_ok(&handle, add.clone()).await;
    let second = apply_ok(&handle, add).await;

    assert_eq!(first, Outcome::Applied);
    assert_eq!(second, Outcome::AlreadyPresent);
}

#[tokio::test]
async fn route_change_test_not_idempotent() {
    let Some(ns) = TestNamespace::standard("route_change_test_not_idempotent") else {
        return;
    };
    let handle = ns.connect().await;
    let mut change_missing = route(RouteVerb::Change, "10.0.7.0/24");
    change_missing.via = via("172.30.0.1");
    let mut test_existing = route(RouteVerb::Test, "default");
    test_existing.via = via("172.30.0.1");

    // change without NLM_F_CREATE finds nothing to change, and test with NLM_F_EXCL finds the
    // default route. Neither is an add, so neither counts as done.
    let change_error = apply_err(&handle, change_missing).await;
    let test_error = apply_err(&handle, test_existing).await;

    assert_eq!(change_error.errno(), Some(Errno::ENOENT), "{change_error}");
    assert_eq!(test_error.errno(), Some(Errno::EEXIST), "{test_error}");
}

#[tokio::test]
async fn route_prepend_and_append() {
    let Some(ns) = TestNamespace::standard("route_prepend_and_append") else {
        return;
    };
    let handle = ns.connect().await;
    let mut first = route(RouteVerb::Append, "10.0.8.0/24");
    first.via = via("172.30.0.1");
    let mut second = route(RouteVerb::Append, "10.0.8.0/24");
    second.via = via("198.51.100.1");
    let mut third = route(RouteVerb::Prepend, "10.0.8.0/24");
    third.via = via("10.0.1.1");

    apply_ok(&handle, first).await;
    apply_ok(&handle, second).await;
    apply_ok(&handle, third).await;

    // IPv4 keeps all three routes side by side: appended ones last, the prepended one first.
    let routes: Vec<Value> = ns
        .routes(Family::Inet, "main")
        .into_iter()
        .filter(|r| r["dst"] == "10.0.8.0/24")
        .collect();
    assert_eq!(routes.len(), 3, "{routes:?}");
    assert_eq!(routes[0]["gateway"], "10.0.1.1");
    assert_eq!(routes[1]["gateway"], "172.30.0.1");
    assert_eq!(routes[2]["gateway"], "198.51.100.1");
}

#[tokio::test]
async fn route_ipv6_via_and_default() {
    let Some(ns) = TestNamespace::standard("route_ipv6_via_and_default") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = route(RouteVerb::Add, "2001:db8:9::/64");
    add.via = via("2001:db8:1::2");
    add.metric = Some(10);
    let mut default = route(RouteVerb::Add, "default");
    default.family = Family::Inet6;
    default.via = via("2001:db8:1::2");
    let mut preferred = route(RouteVerb::Add, "2001:db8:a::/64");
    preferred.dev = Some("eth0".to_string());
    preferred.pref = Some(1);
    preferred.expires = Some(300);

    apply_ok(&handle, add).await;
    apply_ok(&handle, default).await;
    apply_ok(&handle, preferred).await;

    let added = ns
        .route(Family::Inet6, "main", "2001:db8:9::/64")
        .expect("IPv6 route");
    assert_eq!(added["gateway"], "2001:db8:1::2");
    assert_eq!(added["dev"], "eth0");
    assert_eq!(added["metric"], 10);
    assert_eq!(added["protocol"], "boot");
    let default = ns
        .route(Family::Inet6, "main", "default")
        .expect("IPv6 default route");
    assert_eq!(default["gateway"], "2001:db8:1::2");
    let preferred = ns
        .route(Family::Inet6, "main", "2001:db8:a::/64")
        .expect("route with pref");
    assert_eq!(preferred["pref"], "high");
    let expires = preferred["expires"].as_u64().expect("expires is set");
    assert!((290..=300).contains(&expires), "expires {expires}");
}

#[tokio::test]
async fn route_multipath_with_weights() {
    let Some(ns) = TestNamespace::standard("route_multipath_with_weights") else {
        return;
    };
    let handle = ns.connect().await;
    // ip route add 198.51.100.31 table 1 nexthop via 198.51.100.50 weight 1
    //   nexthop via 198.51.100.40 weight 2 nexthop via 198.51.100.30 dev eth1 weight 3
    let mut add = route(RouteVerb::Add, "198.51.100.31");
    add.table = Some(1);
    for (gateway, dev, weight) in [
        ("198.51.100.50", None, 1),
        ("198.51.100.40", None, 2),
        ("198.51.100.30", Some("eth1"), 3),
    ] {
        add.nexthops.push(NextHop {
            via: via(gateway),
            dev: dev.map(str::to_string),
            weight: Some(weight),
            onlink: false,
            realms: None,
        });
    }

    apply_ok(&handle, add).await;

    let added = ns
        .route(Family::Inet, "1", "198.51.100.31")
        .expect("multipath route");
    assert_eq!(added["scope"], "global");
    let nexthops = added["nexthops"].as_array().expect("nexthops");
    let summary: Vec<(Value, Value, Value)> = nexthops
        .iter()
        .map(|n| (n["gateway"].clone(), n["dev"].clone(), n["weight"].clone()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (json!("198.51.100.50"), json!("eth1"), json!(1)),
            (json!("198.51.100.40"), json!("eth1"), json!(2)),
            (json!("198.51.100.30"), json!("eth1"), json!(3)),
        ]
    );
}

#[tokio::test]
async fn route_metrics_mtu_lock_advmss() {
    let Some(ns) = TestNamespace::standard("route_metrics_mtu_lock_advmss") else {
        return;
    };
    let handle = ns.connect().await;
    // ip route add 10.8.0.0/24 dev wg0 mtu lock 1400 advmss 1360
    let mut add = route(RouteVerb::Add, "10.8.0.0/24");
    add.dev = Some("wg0".to_string());
    add.metrics = vec![
        RouteMetric {
            kind: RouteMetricKind::Mtu(1400),
            locked: true,
        },
        RouteMetric {
            kind: RouteMetricKind::Advmss(1360),
            locked: false,
        },
    ];

    apply_ok(&handle, add).await;

    let added = ns
        .route(Family::Inet, "main", "10.8.0.0/24")
        .expect("route with metrics");
    assert_eq!(added["metrics"][0]["mtu"], 1400);
    assert_eq!(added["metrics"][0]["advmss"], 1360);
    // ip -j does not show lock bits; the text form does.
    let text = ns.ip(&["route", "show", "10.8.0.0/24"]);
    assert!(text.contains("mtu lock 1400"), "{text}");
    assert!(!text.contains("advmss lock"), "{text}");
}

#[tokio::test]
async fn route_realms_and_large_table() {
    let Some(ns) = TestNamespace::standard("route_realms_and_large_table") else {
        return;
    };
    let handle = ns.connect().await;
    // ip route add 0.0.0.0/0 dev wg0 table 51820 realms 1/2
    let mut add = route(RouteVerb::Add, "0.0.0.0/0");
    add.dev = Some("wg0".to_string());
    add.table = Some(51820);
    add.realms = Some((1 << 16) | 2);

    apply_ok(&handle, add).await;

    let added = ns
        .route(Family::Inet, "51820", "default")
        .expect("route in table 51820");
    assert_eq!(added["dev"], "wg0");
    assert_eq!(added["flow"]["from"], "1");
    assert_eq!(added["flow"]["to"], "2");
}

#[tokio::test]
async fn route_unreachable_gateway_error() {
    let Some(ns) = TestNamespace::standard("route_unreachable_gateway_error") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = route(RouteVerb::Add, "10.9.0.0/24");
    add.via = via("10.99.0.1");

    let error = apply_err(&handle, add).await;

    assert_eq!(error.errno(), Some(Errno::ENETUNREACH), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with("ip route add 10.9.0.0/24 via 10.99.0.1: network is unreachable"),
        "{message}"
    );
    // The kernel's extended acknowledgement, as ip prints it after "Error:".
    assert!(message.contains("Nexthop has invalid gateway"), "{message}");
}

#[tokio::test]
async fn route_missing_device() {
    let Some(ns) = TestNamespace::standard("route_missing_device") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = route(RouteVerb::Add, "10.10.0.0/24");
    add.dev = Some("net2".to_string());
    let mut nexthop_dev = route(RouteVerb::Add, "10.11.0.0/24");
    nexthop_dev.nexthops.push(NextHop {
        via: via("172.30.0.1"),
        dev: Some("eth7".to_string()),
        weight: None,
        onlink: false,
        realms: None,
    });

    let error = apply_err(&handle, add).await;
    let nexthop_error = apply_err(&handle, nexthop_dev).await;

    assert!(
        matches!(&error, ApplyError::DeviceNotFound { name, .. } if name == "net2"),
        "{error:?}"
    );
    assert!(
        matches!(&nexthop_error, ApplyError::DeviceNotFound { name, .. } if name == "eth7"),
        "{nexthop_error:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// rules

#[tokio::test]
async fn rule_add_from_fwmark_lookup_prio() {
    let Some(ns) = TestNamespace::standard("rule_add_from_fwmark_lookup_prio") else {
        return;
    };
    let handle = ns.connect().await;
    // ip rule add from 10.0.0.0/24 fwmark 3 lookup 3 prio 32700
    let mut add = rule(RuleVerb::Add);
    add.from = Some(prefix("10.0.0.0/24"));
    add.fwmark = Some(3);
    add.table = Some(3);
    add.priority = Some(32700);

    assert_eq!(apply_ok(&handle, add).await, Outcome::Applied);

    let added = ns.rule(Family::Inet, 32700).expect("rule added");
    assert_eq!(added["src"], "10.0.0.0");
    assert_eq!(added["srclen"], 24);
    assert_eq!(added["fwmark"], "0x3");
    assert_eq!(added["table"], "3");
}

#[tokio::test]
async fn rule_add_not_fwmark_large_table() {
    let Some(ns) = TestNamespace::standard("rule_add_not_fwmark_large_table") else {
        return;
    };
    let handle = ns.connect().await;
    // ip rule add not fwmark 51820 table 51820 pref 100
    let mut add = rule(RuleVerb::Add);
    add.not = true;
    add.fwmark = Some(51820);
    add.table = Some(51820);
    add.priority = Some(100);

    apply_ok(&handle, add).await;

    let added = ns.rule(Family::Inet, 100).expect("rule added");
    assert!(added.get("not").is_some(), "{added}");
    assert_eq!(added["fwmark"], "0xca6c");
    assert_eq!(added["table"], "51820");
}

#[tokio::test]
async fn rule_add_to_mask_iif_oif() {
    let Some(ns) = TestNamespace::standard("rule_add_to_mask_iif_oif") else {
        return;
    };
    let handle = ns.connect().await;
    // ip rule add to 192.0.2.0/24 fwmark 0x10/0xff iif eth1 oif eth0 table 7 pref 60
    let mut add = rule(RuleVerb::Add);
    add.to = Some(prefix("192.0.2.0/24"));
    add.fwmark = Some(0x10);
    add.fwmask = Some(0xff);
    add.iif = Some("eth1".to_string());
    add.oif = Some("eth0".to_string());
    add.table = Some(7);
    add.priority = Some(60);

    apply_ok(&handle, add).await;

    let added = ns.rule(Family::Inet, 60).expect("rule added");
    assert_eq!(added["dst"], "192.0.2.0");
    assert_eq!(added["dstlen"], 24);
    assert_eq!(added["fwmark"], "0x10");
    assert_eq!(added["fwmask"], "0xff");
    assert_eq!(added["iif"], "eth1");
    assert_eq!(added["oif"], "eth0");
    assert_eq!(added["table"], "7");
}

#[tokio::test]
async fn rule_add_actions() {
    let Some(ns) = TestNamespace::standard("rule_add_actions") else {
        return;
    };
    let handle = ns.connect().await;
    let mut blackhole = rule(RuleVerb::Add);
    blackhole.from = Some(prefix("192.0.2.0/24"));
    blackhole.action = Some(RuleAction::Blackhole);
    blackhole.priority = Some(200);
    let mut goto = rule(RuleVerb::Add);
    goto.fwmark = Some(9);
    goto.action = Some(RuleAction::Goto(32766));
    goto.priority = Some(210);
    // ip rule add table main suppress_prefixlength 0 (as wg-quick does)
    let mut suppress = rule(RuleVerb::Add);
    suppress.table = Some(TABLE_MAIN);
    suppress.suppress_prefixlength = Some(0);
    suppress.priority = Some(220);

    apply_ok(&handle, blackhole).await;
    apply_ok(&handle, goto).await;
    apply_ok(&handle, suppress).await;

    assert_eq!(ns.rule(Family::Inet, 200).unwrap()["action"], "blackhole");
    assert_eq!(ns.rule(Family::Inet, 210).unwrap()["goto"], 32766);
    let suppress = ns.rule(Family::Inet, 220).unwrap();
    assert_eq!(suppress["table"], "main");
    assert_eq!(suppress["suppress_prefixlen"], 0);
}

#[tokio::test]
async fn rule_add_port_uid_selectors() {
    let Some(ns) = TestNamespace::standard("rule_add_port_uid_selectors") else {
        return;
    };
    let handle = ns.connect().await;
    // ip rule add ipproto tcp sport 1000 dport 80-90 uidrange 100-200 table 7 pref 50
    let mut add = rule(RuleVerb::Add);
    add.ipproto = Some(6);
    add.sport = Some((1000, 1000));
    add.dport = Some((80, 90));
    add.uidrange = Some((100, 200));
    add.table = Some(7);
    add.priority = Some(50);

    apply_ok(&handle, add).await;

    let added = ns.rule(Family::Inet, 50).expect("rule added");
    assert_eq!(added["ipproto"], "tcp");
    assert_eq!(added["sport"], 1000);
    assert_eq!(added["dport_start"], 80);
    assert_eq!(added["dport_end"], 90);
    assert_eq!(added["uid_start"], 100);
    assert_eq!(added["uid_end"], 200);
}

#[tokio::test]
async fn rule_add_default_priority() {
    let Some(ns) = TestNamespace::standard("rule_add_default_priority") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = rule(RuleVerb::Add);
    add.from = Some(prefix("192.168.1.209/32"));
    add.table = Some(100);

    apply_ok(&handle, add).await;

    // With only the stock rules (0, 32766, 32767) the kernel picks 32766 - 1.
    let added = ns.rule(Family::Inet, 32765).expect("rule at 32765");
    assert_eq!(added["src"], "192.168.1.209");
    assert_eq!(added["table"], "100");
}

#[tokio::test]
async fn rule_ipv6() {
    let Some(ns) = TestNamespace::standard("rule_ipv6") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = rule(RuleVerb::Add);
    add.family = Family::Inet6;
    add.from = Some(prefix("2001:db8:5::/64"));
    add.table = Some(200);
    add.priority = Some(300);

    apply_ok(&handle, add).await;

    let added = ns.rule(Family::Inet6, 300).expect("IPv6 rule added");
    assert_eq!(added["src"], "2001:db8:5::");
    assert_eq!(added["srclen"], 64);
    assert_eq!(added["table"], "200");
    assert!(ns.rule(Family::Inet, 300).is_none());
}

#[tokio::test]
async fn rule_add_twice_then_delete_twice() {
    let Some(ns) = TestNamespace::standard("rule_add_twice_then_delete_twice") else {
        return;
    };
    let handle = ns.connect().await;
    let mut add = rule(RuleVerb::Add);
    add.from = Some(prefix("192.168.5.10/32"));
    add.table = Some(100);
    add.priority = Some(1000);
    let mut delete = add.clone();
    delete.verb = RuleVerb::Delete;

    let outcomes = [
        apply_ok(&handle, add.clone()).await,
        apply_ok(&handle, add).await,
        apply_ok(&handle, delete.clone()).await,
        apply_ok(&handle, delete).await,
    ];

    assert_eq!(
        outcomes,
        [
            Outcome::Applied,
            Outcome::AlreadyPresent,
            Outcome::Applied,
            Outcome::AlreadyAbsent,
        ]
    );
    assert!(ns.rule(Family::Inet, 1000).is_none());
}

#[tokio::test]
async fn rule_delete_by_priority_only() {
    let Some(ns) = TestNamespace::standard("rule_delete_by_priority_only") else {
        return;
    };
    let handle = ns.connect().await;
    ns.ip(&[
        "rule",
        "add",
        "from",
        "10.1.0.0/16",
        "table",
        "5",
        "pref",
        "400",
    ]);
    let mut delete = rule(RuleVerb::Delete);
    delete.priority = Some(400);

    // Fields a delete leaves out match anything, as with `ip rule del pref 400`.
    assert_eq!(apply_ok(&handle, delete).await, Outcome::Applied);
    assert!(ns.rule(Family::Inet, 400).is_none());
}

// ---------------------------------------------------------------------------------------------
// comparison with ip

/// Returns what both namespaces must agree on: every route and rule of both families and the
/// addresses of every interface, without values that differ between two namespaces built
/// alike (link-layer addresses) or that count down.
fn comparable_state(ns: &TestNamespace) -> Value {
    let mut addresses = serde_json::Map::new();
    for link in ns.ip_json(&["address", "show"]) {
        let mut infos = link["addr_info"].as_array().cloned().unwrap_or_default();
        for info in &mut infos {
            if let Some(info) = info.as_object_mut() {
                info.remove("valid_life_time");
                info.remove("preferred_life_time");
            }
        }
        let name = link["ifname"].as_str().unwrap_or_default().to_string();
        addresses.insert(name, Value::Array(infos));
    }
    json!({
        "addresses": addresses,
        "routes4": ns.routes(Family::Inet, "all"),
        "routes6": ns.routes(Family::Inet6, "all"),
        "rules4": ns.rules(Family::Inet),
        "rules6": ns.rules(Family::Inet6),
        "route_text": ns.ip(&["route", "show", "table", "all"]),
    })
}

#[tokio::test]
async fn applied_requests_match_ip() {
    let Some(by_ip) = TestNamespace::standard("applied_requests_match_ip") else {
        return;
    };
    let Some(by_us) = TestNamespace::standard("applied_requests_match_ip") else {
        return;
    };
    let handle = by_us.connect().await;

    let mut cases: Vec<(&str, Request)> = Vec::new();

    let mut r = address(AddressVerb::Add, "192.168.1.10/24", "eth1");
    r.broadcast = Some(Broadcast::Addr(Ipv4Addr::new(192, 168, 1, 255)));
    cases.push((
        "address add 192.168.1.10/24 brd 192.168.1.255 dev eth1",
        Request::Address(r),
    ));

    let mut r = address(AddressVerb::Add, "10.20.0.5/24", "eth1");
    r.label = Some("eth1:web".to_string());
    r.metric = Some(50);
    cases.push((
        "address add 10.20.0.5/24 dev eth1 label eth1:web metric 50",
        Request::Address(r),
    ));

    let mut r = address(AddressVerb::Add, "2001:db8:7::5/64", "eth1");
    r.flags = IFA_F_NODAD;
    cases.push((
        "address add 2001:db8:7::5/64 dev eth1 nodad",
        Request::Address(r),
    ));

    let mut r = route(RouteVerb::Add, "10.0.5.0/24");
    r.via = via("172.30.0.1");
    cases.push(("route add 10.0.5.0/24 via 172.30.0.1", Request::Route(r)));

    let mut r = route(RouteVerb::Add, "192.168.1.254/32");
    r.dev = Some("eth1".to_string());
    cases.push(("route add 192.168.1.254/32 dev eth1", Request::Route(r)));

    let mut r = route(RouteVerb::Replace, "default");
    r.via = via("192.168.1.254");
    r.dev = Some("eth1".to_string());
    cases.push((
        "route replace default via 192.168.1.254 dev eth1",
        Request::Route(r),
    ));

    let mut r = route(RouteVerb::Add, "169.254.169.254/32");
    r.route_type = Some(RouteType::BLACKHOLE);
    cases.push(("route add blackhole 169.254.169.254/32", Request::Route(r)));

    let mut r = route(RouteVerb::Add, "10.45.0.0/16");
    r.via = via("10.53.1.2");
    r.dev = Some("br-b2eb147102f3".to_string());
    cases.push((
        "route add 10.45.0.0/16 via 10.53.1.2 dev br-b2eb147102f3",
        Request::Route(r),
    ));

    let mut r = route(RouteVerb::Add, "198.51.100.31");
    r.table = Some(1);
    for (gateway, weight) in [
        ("198.51.100.50", 1),
        ("198.51.100.40", 2),
        ("198.51.100.30", 3),
    ] {
        r.nexthops.push(NextHop {
            via: via(gateway),
            dev: None,
            weight: Some(weight),
            onlink: false,
            realms: None,
        });
    }
    cases.push((
        "route add 198.51.100.31 table 1 nexthop via 198.51.100.50 weight 1 \
         nexthop via 198.51.100.40 weight 2 nexthop via 198.51.100.30 weight 3",
        Request::Route(r),
    ));

    let mut r = route(RouteVerb::Add, "10.8.0.0/24");
    r.dev = Some("wg0".to_string());
    r.metrics = vec![
        RouteMetric {
            kind: RouteMetricKind::Mtu(1400),
            locked: true,
        },
        RouteMetric {
            kind: RouteMetricKind::Advmss(1360),
            locked: false,
        },
    ];
    cases.push((
        "route add 10.8.0.0/24 dev wg0 mtu lock 1400 advmss 1360",
        Request::Route(r),
    ));

    let mut r = route(RouteVerb::Add, "0.0.0.0/0");
    r.dev = Some("wg0".to_string());
    r.table = Some(51820);
    cases.push(("route add 0.0.0.0/0 dev wg0 table 51820", Request::Route(r)));

    let mut r = route(RouteVerb::Add, "2001:db8:9::/64");
    r.via = via("2001:db8:1::2");
    r.metric = Some(10);
    cases.push((
        "route add 2001:db8:9::/64 via 2001:db8:1::2 metric 10",
        Request::Route(r),
    ));

    let mut r = route(RouteVerb::Add, "10.0.1.1/32");
    r.dev = Some("host0-eth0".to_string());
    r.scope = Some(SCOPE_LINK);
    r.table = Some(1);
    cases.push((
        "route add 10.0.1.1/32 dev host0-eth0 scope link table 1",
        Request::Route(r),
    ));

    cases.push((
        "route del 10.0.5.0/24",
        Request::Route(route(RouteVerb::Delete, "10.0.5.0/24")),
    ));

    // An IPv6 gateway for an IPv4 route travels as RTA_VIA.
    let mut r = route(RouteVerb::Add, "10.50.0.0/24");
    r.via = Some(Via {
        addr: "2001:db8:1::2".parse().unwrap(),
        family_given: true,
    });
    r.dev = Some("eth0".to_string());
    cases.push((
        "route add 10.50.0.0/24 via inet6 2001:db8:1::2 dev eth0",
        Request::Route(r),
    ));

    let mut r = route(RouteVerb::Add, "default");
    r.family = Family::Inet6;
    r.protocol = Some(PROTO_STATIC);
    r.metric = Some(100);
    for (gateway, dev) in [("2001:db8:1::2", "eth0"), ("2001:db8:5::1", "eth1")] {
        r.nexthops.push(NextHop {
            via: via(gateway),
            dev: Some(dev.to_string()),
            weight: Some(1),
            onlink: false,
            realms: None,
        });
    }
    cases.push((
        "route add default proto static metric 100 \
         nexthop via 2001:db8:1::2 dev eth0 weight 1 nexthop via 2001:db8:5::1 dev eth1 weight 1",
        Request::Route(r),
    ));

    let mut r = route(RouteVerb::Add, "10.47.0.0/24");
    r.dev = Some("eth0".to_string());
    r.realms = Some((1 << 16) | 2);
    cases.push((
        "route add 10.47.0.0/24 dev eth0 realms 1/2",
        Request::Route(r),
    ));

    for (route_type, table, tail) in [
        (
            RouteType::UNREACHABLE,
            67,
            "route add unreachable 10.60.0.0/24 table 67",
        ),
        (
            RouteType::PROHIBIT,
            68,
            "route add prohibit 10.60.0.0/24 table 68",
        ),
        (
            RouteType::THROW,
            69,
            "route add throw 10.60.0.0/24 table 69",
        ),
    ] {
        let mut r = route(RouteVerb::Add, "10.60.0.0/24");
        r.route_type = Some(route_type);
        r.table = Some(table);
        cases.push((tail, Request::Route(r)));
    }

    let mut r = address(AddressVerb::Add, "10.30.0.1", "eth1");
    r.peer = Some(prefix("10.30.0.2/32"));
    cases.push((
        "address add 10.30.0.1 peer 10.30.0.2/32 dev eth1",
        Request::Address(r),
    ));

    let mut r = address(AddressVerb::Add, "10.31.0.1/24", "eth1");
    r.scope = Some(SCOPE_LINK);
    r.broadcast = Some(Broadcast::HostBitsSet);
    cases.push((
        "address add 10.31.0.1/24 brd + dev eth1 scope link",
        Request::Address(r),
    ));

    let mut r = address(AddressVerb::Replace, "10.20.0.5/24", "eth1");
    r.metric = Some(60);
    cases.push((
        "address replace 10.20.0.5/24 dev eth1 metric 60",
        Request::Address(r),
    ));

    let mut r = rule(RuleVerb::Add);
    r.not = true;
    r.fwmark = Some(51820);
    r.table = Some(51820);
    r.priority = Some(100);
    cases.push((
        "rule add not fwmark 51820 table 51820 pref 100",
        Request::Rule(r),
    ));

    let mut r = rule(RuleVerb::Add);
    r.table = Some(TABLE_MAIN);
    r.suppress_prefixlength = Some(0);
    cases.push((
        "rule add table main suppress_prefixlength 0",
        Request::Rule(r),
    ));

    let mut r = rule(RuleVerb::Add);
    r.from = Some(prefix("10.0.0.0/24"));
    r.fwmark = Some(3);
    r.table = Some(3);
    r.priority = Some(32700);
    cases.push((
        "rule add from 10.0.0.0/24 fwmark 3 lookup 3 prio 32700",
        Request::Rule(r),
    ));

    let mut r = rule(RuleVerb::Add);
    r.from = Some(prefix("10.0.1.1"));
    r.table = Some(1);
    cases.push(("rule add from 10.0.1.1 table 1", Request::Rule(r)));

    let mut r = rule(RuleVerb::Add);
    r.family = Family::Inet6;
    r.from = Some(prefix("2001:db8:5::/64"));
    r.table = Some(200);
    r.priority = Some(300);
    cases.push((
        "-6 rule add from 2001:db8:5::/64 table 200 pref 300",
        Request::Rule(r),
    ));

    let mut r = rule(RuleVerb::Add);
    r.iif = Some("eth1".to_string());
    r.oif = Some("eth0".to_string());
    r.action = Some(RuleAction::Blackhole);
    r.priority = Some(250);
    cases.push((
        "rule add iif eth1 oif eth0 blackhole pref 250",
        Request::Rule(r),
    ));

    let mut r = rule(RuleVerb::Delete);
    r.priority = Some(100);
    cases.push(("rule del pref 100", Request::Rule(r)));

    cases.push((
        "address del 198.51.100.10 dev eth1",
        Request::Address(address(AddressVerb::Delete, "198.51.100.10", "eth1")),
    ));

    for (tail, request) in &cases {
        by_ip.ip(&tail.split_whitespace().collect::<Vec<_>>());
        apply(&handle, request)
            .await
            .unwrap_or_else(|e| panic!("applying {request} failed: {e}"));

        assert_eq!(
            comparable_state(&by_ip),
            comparable_state(&by_us),
            "state differs after `ip {tail}` and applying {request}"
        );
    }
}
