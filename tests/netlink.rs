//! The netlink applier in real network namespaces, checked against iproute2 (`ip -j`).
//!
//! Each test builds its own namespace pair (see `common`), parses label tails with
//! `dehandler::iproute`, applies them through `dehandler::netns` and `dehandler::netlink`, and
//! reads the result back with `ip`. These tests need root; see `common::root_or_skip`.

mod common;

use dehandler::iproute::{Family, Object, Request, parse_segment};
use dehandler::netlink::{ApplyError, LinkCache, Netlink, Outcome, apply, apply_cached};
use dehandler::netns::{Namespace, NetnsError};
use nix::errno::Errno;
use serde_json::{Value, json};

use common::TestNamespace;

/// Parses one tail. Every tail in these tests is valid, so a parse error fails the test.
fn parse(object: Object, segment: &str) -> Request {
    parse_segment(object, segment)
        .unwrap_or_else(|e| panic!("{object} tail {segment:?} does not parse: {e}"))
}

async fn apply_ok(handle: &Netlink, object: Object, segment: &str) -> Outcome {
    let request = parse(object, segment);
    apply(handle, &request)
        .await
        .unwrap_or_else(|e| panic!("applying {request} failed: {e}"))
}

async fn apply_err(handle: &Netlink, object: Object, segment: &str) -> ApplyError {
    let request = parse(object, segment);
    match apply(handle, &request).await {
        Ok(outcome) => panic!("applying {request} returned {outcome:?}, expected an error"),
        Err(e) => e,
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
async fn namespace_connect_keeps_caller_namespace() {
    let Some(ns) = TestNamespace::standard("namespace_connect_keeps_caller_namespace") else {
        return;
    };
    let own = namespace_inode("/proc/thread-self/ns/net");

    let handle = ns.connect().await;

    assert_eq!(namespace_inode("/proc/thread-self/ns/net"), own);
    assert_ne!(namespace_inode(ns.path()), own);
    // The socket belongs to the namespace: `host0-eth0` exists there and not on the host.
    let mut links = handle.link().get().match_name("host0-eth0").execute();
    let link = futures_util::TryStreamExt::try_next(&mut links).await;
    assert!(matches!(link, Ok(Some(_))), "{link:?}");
}

/// Returns the inode of a network namespace file, which identifies the namespace.
fn namespace_inode(path: impl AsRef<std::path::Path>) -> u64 {
    std::os::unix::fs::MetadataExt::ino(&std::fs::metadata(path).unwrap())
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
    apply_ok(
        &handle,
        Object::Address,
        "add 198.18.77.1/24 dev br-b2eb147102f3",
    )
    .await;
    apply_ok(
        &handle,
        Object::Route,
        "add 198.19.77.0/24 via 198.18.77.254",
    )
    .await;

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

    let outcome = apply_ok(
        &handle,
        Object::Address,
        "add 192.168.1.10/24 brd 192.168.1.255 dev eth1 label eth1:web metric 50",
    )
    .await;

    assert_eq!(outcome, Outcome::Applied);
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

    apply_ok(&handle, Object::Address, "add 10.21.0.5/24 dev eth1").await;

    let info = ns.address("eth1", "10.21.0.5").expect("address added");
    assert!(info.get("broadcast").is_none(), "{info}");
}

#[tokio::test]
async fn address_broadcast_plus_and_minus() {
    let Some(ns) = TestNamespace::standard("address_broadcast_plus_and_minus") else {
        return;
    };
    let handle = ns.connect().await;

    apply_ok(&handle, Object::Address, "add 10.22.0.5/16 brd + dev eth1").await;
    apply_ok(&handle, Object::Address, "add 10.23.0.5/24 brd - dev eth1").await;

    let plus = ns.address("eth1", "10.22.0.5").expect("address with brd +");
    let minus = ns.address("eth1", "10.23.0.5").expect("address with brd -");
    assert_eq!(plus["broadcast"], "10.22.255.255");
    assert_eq!(minus["broadcast"], "10.23.0.0");
}

#[tokio::test]
async fn address_add_twice_is_already_present() {
    let Some(ns) = TestNamespace::standard("address_add_twice_is_already_present") else {
        return;
    };
    let handle = ns.connect().await;

    let first = apply_ok(&handle, Object::Address, "add 10.24.0.5/24 dev eth1").await;
    let second = apply_ok(&handle, Object::Address, "add 10.24.0.5/24 dev eth1").await;

    assert_eq!(first, Outcome::Applied);
    assert_eq!(second, Outcome::AlreadyPresent);
}

#[tokio::test]
async fn address_delete_then_already_absent() {
    let Some(ns) = TestNamespace::standard("address_delete_then_already_absent") else {
        return;
    };
    let handle = ns.connect().await;

    let first = apply_ok(&handle, Object::Address, "del 198.51.100.10/24 dev eth1").await;
    let second = apply_ok(&handle, Object::Address, "del 198.51.100.10/24 dev eth1").await;

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

    // The address is a /24; IPv4 deletes without a length match any length.
    let outcome = apply_ok(&handle, Object::Address, "del 192.168.1.209 dev net1").await;

    assert_eq!(outcome, Outcome::Applied);
    assert!(ns.address("net1", "192.168.1.209").is_none());
}

#[tokio::test]
async fn address_ipv6_delete_wrong_length() {
    let Some(ns) = TestNamespace::standard("address_ipv6_delete_wrong_length") else {
        return;
    };
    let handle = ns.connect().await;

    // IPv6 deletes match the prefix length exactly, and the address is a /64.
    let outcome = apply_ok(&handle, Object::Address, "del 2001:db8:5::10 dev eth1").await;

    assert_eq!(outcome, Outcome::AlreadyAbsent);
    assert!(ns.address("eth1", "2001:db8:5::10").is_some());
}

#[tokio::test]
async fn address_replace_metric_and_create() {
    let Some(ns) = TestNamespace::standard("address_replace_metric_and_create") else {
        return;
    };
    let handle = ns.connect().await;

    let replaced = apply_ok(
        &handle,
        Object::Address,
        "replace 198.51.100.10/24 dev eth1 metric 77",
    )
    .await;
    let created = apply_ok(&handle, Object::Address, "replace 10.25.0.5/24 dev eth1").await;

    assert_eq!(replaced, Outcome::Applied);
    assert_eq!(created, Outcome::Applied);
    assert_eq!(ns.address("eth1", "198.51.100.10").unwrap()["metric"], 77);
    assert!(ns.address("eth1", "10.25.0.5").is_some());
}

#[tokio::test]
async fn address_change_missing_creates_it() {
    let Some(ns) = TestNamespace::standard("address_change_missing_creates_it") else {
        return;
    };
    let handle = ns.connect().await;

    // The kernel creates a missing address on change although NLM_F_CREATE is not set.
    let outcome = apply_ok(&handle, Object::Address, "change 10.27.0.5/24 dev eth1").await;

    assert_eq!(outcome, Outcome::Applied);
    assert!(ns.address("eth1", "10.27.0.5").is_some());
}

#[tokio::test]
async fn address_ipv6_nodad() {
    let Some(ns) = TestNamespace::standard("address_ipv6_nodad") else {
        return;
    };
    let handle = ns.connect().await;

    apply_ok(
        &handle,
        Object::Address,
        "add 2001:db8:7::5/64 dev eth1 nodad",
    )
    .await;

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
    apply_ok(
        &handle,
        Object::Address,
        "add 2001:db8:8::5/64 dev eth1 nodad noprefixroute",
    )
    .await;

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

    apply_ok(
        &handle,
        Object::Address,
        "add 10.30.0.1 peer 10.30.0.2/32 dev eth1",
    )
    .await;
    apply_ok(
        &handle,
        Object::Address,
        "add 10.31.0.1/24 dev eth1 scope link valid_lft 300 preferred_lft 100",
    )
    .await;
    apply_ok(&handle, Object::Address, "add 127.0.0.2/8 dev lo").await;

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

    let error = apply_err(&handle, Object::Address, "add 10.26.0.5/24 dev eth9").await;

    assert!(
        matches!(&error, ApplyError::DeviceNotFound { name, .. } if name == "eth9"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "ip address add 10.26.0.5/24 dev eth9: device \"eth9\" not found"
    );
}

#[tokio::test]
async fn link_cache_reuses_found_device() {
    let Some(ns) = TestNamespace::standard("link_cache_reuses_found_device") else {
        return;
    };
    let handle = ns.connect().await;
    let mut links = LinkCache::default();
    let first = parse(Object::Address, "add 10.27.0.5/24 dev eth1");
    let second = parse(Object::Address, "add 10.27.1.5/24 dev eth1");
    apply_cached(&handle, &mut links, &first).await.unwrap();

    // Renamed, the device is found only through the index the cache kept.
    ns.ip(&["link", "set", "eth1", "down"]);
    ns.ip(&["link", "set", "eth1", "name", "eth1x"]);
    let cached = apply_cached(&handle, &mut links, &second).await;
    let uncached = apply(&handle, &second).await;

    assert_eq!(cached.unwrap(), Outcome::Applied);
    assert!(ns.address("eth1x", "10.27.1.5").is_some());
    assert!(
        matches!(&uncached, Err(ApplyError::DeviceNotFound { name, .. }) if name == "eth1"),
        "{uncached:?}"
    );
}

#[tokio::test]
async fn link_cache_looks_up_missing_device_again() {
    let Some(ns) = TestNamespace::standard("link_cache_looks_up_missing_device_again") else {
        return;
    };
    let handle = ns.connect().await;
    let mut links = LinkCache::default();
    let request = parse(Object::Address, "add 10.28.0.5/24 dev eth1y");
    let missing = apply_cached(&handle, &mut links, &request).await;

    ns.ip(&["link", "set", "eth1", "down"]);
    ns.ip(&["link", "set", "eth1", "name", "eth1y"]);
    let found = apply_cached(&handle, &mut links, &request).await;

    assert!(
        matches!(&missing, Err(ApplyError::DeviceNotFound { name, .. }) if name == "eth1y"),
        "{missing:?}"
    );
    assert_eq!(found.unwrap(), Outcome::Applied);
    assert!(ns.address("eth1y", "10.28.0.5").is_some());
}

#[tokio::test]
async fn address_on_alternative_names() {
    let Some(ns) = TestNamespace::standard("address_on_alternative_names") else {
        return;
    };
    // A name of up to 15 bytes is looked up with the ioctl, a longer one, which only an
    // alternative name can be, with RTM_GETLINK.
    ns.ip(&[
        "link", "property", "add", "dev", "eth1", "altname", "uplink",
    ]);
    ns.ip(&[
        "link",
        "property",
        "add",
        "dev",
        "eth1",
        "altname",
        "uplink-to-the-core",
    ]);
    let handle = ns.connect().await;

    let short = apply(
        &handle,
        &parse(Object::Address, "add 10.29.0.5/24 dev uplink"),
    )
    .await;
    let long = parse(Object::Address, "add 10.29.1.5/24 dev uplink-to-the-core");
    let long = apply(&handle, &long).await;
    let missing = parse(Object::Address, "add 10.29.2.5/24 dev uplink-to-the-edge");
    let missing = apply(&handle, &missing).await;

    assert_eq!(short.unwrap(), Outcome::Applied);
    assert!(ns.address("eth1", "10.29.0.5").is_some());
    assert_eq!(long.unwrap(), Outcome::Applied);
    assert!(ns.address("eth1", "10.29.1.5").is_some());
    assert!(
        matches!(&missing, Err(ApplyError::DeviceNotFound { name, .. }) if name == "uplink-to-the-edge"),
        "{missing:?}"
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

    let outcome = apply_ok(
        &handle,
        Object::Route,
        "add 10.0.5.0/24 via 172.30.0.1 dev eth0 table 100 metric 20 proto static",
    )
    .await;

    assert_eq!(outcome, Outcome::Applied);
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

    apply_ok(&handle, Object::Route, "add 192.168.1.254/32 dev eth1").await;

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
    apply_ok(
        &handle,
        Object::Route,
        "add 10.45.0.0/16 via 10.99.0.1 dev eth1 onlink",
    )
    .await;
    apply_ok(
        &handle,
        Object::Route,
        "add 10.46.0.0/24 dev net1 src 192.168.1.209 scope link table 100",
    )
    .await;

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
            "add blackhole 169.254.169.254/32",
            "169.254.169.254",
            "blackhole",
        ),
        (
            "add unreachable 10.60.0.0/24",
            "10.60.0.0/24",
            "unreachable",
        ),
        ("add prohibit 10.61.0.0/24", "10.61.0.0/24", "prohibit"),
        ("add throw 10.62.0.0/24", "10.62.0.0/24", "throw"),
    ];

    for (tail, printed, name) in cases {
        apply_ok(&handle, Object::Route, tail).await;

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

    let outcome = apply_ok(
        &handle,
        Object::Route,
        "replace default via 198.51.100.1 dev eth1",
    )
    .await;

    assert_eq!(outcome, Outcome::Applied);
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

    let first = apply_ok(&handle, Object::Route, "del default").await;
    let second = apply_ok(&handle, Object::Route, "del default").await;

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

    let outcome = apply_ok(&handle, Object::Route, "del 10.70.0.0/24 table 4242").await;

    assert_eq!(outcome, Outcome::AlreadyAbsent);
}

#[tokio::test]
async fn ipv6_delete_missing_is_already_absent() {
    let Some(ns) = TestNamespace::standard("ipv6_delete_missing_is_already_absent") else {
        return;
    };
    let handle = ns.connect().await;

    let route = apply_ok(&handle, Object::Route, "del 2001:db8:99::/64").await;
    let rule = apply_ok(&handle, Object::Rule, "-6 del pref 999").await;

    assert_eq!(route, Outcome::AlreadyAbsent);
    assert_eq!(rule, Outcome::AlreadyAbsent);
}

#[tokio::test]
async fn route_add_twice_is_already_present() {
    let Some(ns) = TestNamespace::standard("route_add_twice_is_already_present") else {
        return;
    };
    let handle = ns.connect().await;

    let first = apply_ok(&handle, Object::Route, "add 10.0.6.0/24 via 172.30.0.1").await;
    let second = apply_ok(&handle, Object::Route, "add 10.0.6.0/24 via 172.30.0.1").await;

    assert_eq!(first, Outcome::Applied);
    assert_eq!(second, Outcome::AlreadyPresent);
}

#[tokio::test]
async fn route_change_test_not_idempotent() {
    let Some(ns) = TestNamespace::standard("route_change_test_not_idempotent") else {
        return;
    };
    let handle = ns.connect().await;

    // change without NLM_F_CREATE finds nothing to change, and test with NLM_F_EXCL finds the
    // default route. Neither is an add, so neither counts as done.
    let change_error = apply_err(&handle, Object::Route, "change 10.0.7.0/24 via 172.30.0.1").await;
    let test_error = apply_err(&handle, Object::Route, "test default via 172.30.0.1").await;

    assert_eq!(change_error.errno(), Some(Errno::ENOENT), "{change_error}");
    assert_eq!(test_error.errno(), Some(Errno::EEXIST), "{test_error}");
}

#[tokio::test]
async fn route_prepend_and_append() {
    let Some(ns) = TestNamespace::standard("route_prepend_and_append") else {
        return;
    };
    let handle = ns.connect().await;

    apply_ok(&handle, Object::Route, "append 10.0.8.0/24 via 172.30.0.1").await;
    apply_ok(
        &handle,
        Object::Route,
        "append 10.0.8.0/24 via 198.51.100.1",
    )
    .await;
    apply_ok(&handle, Object::Route, "prepend 10.0.8.0/24 via 10.0.1.1").await;

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

    apply_ok(
        &handle,
        Object::Route,
        "add 2001:db8:9::/64 via 2001:db8:1::2 metric 10",
    )
    .await;
    apply_ok(&handle, Object::Route, "add default via 2001:db8:1::2").await;
    apply_ok(
        &handle,
        Object::Route,
        "add 2001:db8:a::/64 dev eth0 pref high expires 300",
    )
    .await;

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

    apply_ok(
        &handle,
        Object::Route,
        "add 198.51.100.31 table 1 nexthop via 198.51.100.50 weight 1 \
         nexthop via 198.51.100.40 weight 2 nexthop via 198.51.100.30 dev eth1 weight 3",
    )
    .await;

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

    apply_ok(
        &handle,
        Object::Route,
        "add 10.8.0.0/24 dev wg0 mtu lock 1400 advmss 1360",
    )
    .await;

    let added = ns
        .route(Family::Inet, "main", "10.8.0.0/24")
        .expect("route with metrics");
    assert_eq!(added["metrics"][0]["mtu"], 1400);
    assert_eq!(added["metrics"][0]["advmss"], 1360);
    // ip -j does not show lock bits, but the text form does.
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

    apply_ok(
        &handle,
        Object::Route,
        "add 0.0.0.0/0 dev wg0 table 51820 realms 1/2",
    )
    .await;

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

    let error = apply_err(&handle, Object::Route, "add 10.9.0.0/24 via 10.99.0.1").await;

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

    let error = apply_err(&handle, Object::Route, "add 10.10.0.0/24 dev net2").await;
    let nexthop_error = apply_err(
        &handle,
        Object::Route,
        "add 10.11.0.0/24 nexthop via 172.30.0.1 dev eth7",
    )
    .await;

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

    let outcome = apply_ok(
        &handle,
        Object::Rule,
        "add from 10.0.0.0/24 fwmark 3 lookup 3 prio 32700",
    )
    .await;

    assert_eq!(outcome, Outcome::Applied);
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

    apply_ok(
        &handle,
        Object::Rule,
        "add not fwmark 51820 table 51820 pref 100",
    )
    .await;

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

    apply_ok(
        &handle,
        Object::Rule,
        "add to 192.0.2.0/24 fwmark 0x10/0xff iif eth1 oif eth0 table 7 pref 60",
    )
    .await;

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

    apply_ok(
        &handle,
        Object::Rule,
        "add from 192.0.2.0/24 blackhole pref 200",
    )
    .await;
    apply_ok(&handle, Object::Rule, "add fwmark 9 goto 32766 pref 210").await;
    // As wg-quick adds it.
    apply_ok(
        &handle,
        Object::Rule,
        "add table main suppress_prefixlength 0 pref 220",
    )
    .await;

    let blackhole = ns.rule(Family::Inet, 200).expect("blackhole rule");
    let goto = ns.rule(Family::Inet, 210).expect("goto rule");
    let suppress = ns.rule(Family::Inet, 220).expect("suppress rule");
    assert_eq!(blackhole["action"], "blackhole");
    assert_eq!(goto["goto"], 32766);
    assert_eq!(suppress["table"], "main");
    assert_eq!(suppress["suppress_prefixlen"], 0);
}

#[tokio::test]
async fn rule_add_port_uid_selectors() {
    let Some(ns) = TestNamespace::standard("rule_add_port_uid_selectors") else {
        return;
    };
    let handle = ns.connect().await;

    apply_ok(
        &handle,
        Object::Rule,
        "add ipproto tcp sport 1000 dport 80-90 uidrange 100-200 table 7 pref 50",
    )
    .await;

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

    apply_ok(&handle, Object::Rule, "add from 192.168.1.209/32 table 100").await;

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

    // The family comes from the address: ip itself would need -6 here.
    apply_ok(
        &handle,
        Object::Rule,
        "add from 2001:db8:5::/64 table 200 pref 300",
    )
    .await;

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
    let add = "add from 192.168.5.10/32 table 100 priority 1000";
    let delete = "del from 192.168.5.10/32 table 100 priority 1000";

    let outcomes = [
        apply_ok(&handle, Object::Rule, add).await,
        apply_ok(&handle, Object::Rule, add).await,
        apply_ok(&handle, Object::Rule, delete).await,
        apply_ok(&handle, Object::Rule, delete).await,
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

    // Fields a delete leaves out match anything, as with `ip rule del pref 400`.
    let outcome = apply_ok(&handle, Object::Rule, "del pref 400").await;

    assert_eq!(outcome, Outcome::Applied);
    assert!(ns.rule(Family::Inet, 400).is_none());
}

// ---------------------------------------------------------------------------------------------
// comparison with ip

/// Returns what both namespaces must agree on: every route and rule of both families and the
/// addresses of every interface, without the lifetimes, which count down.
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
        // The text form shows what -j leaves out, such as metric lock bits.
        "route_text": ns.ip(&["route", "show", "table", "all"]),
    })
}

/// Tails applied in order, once by `ip` in one namespace and once by the code under test in
/// an identical one. A leading `-4` or `-6` is passed to `ip` as its family option.
const COMPARED_TAILS: &[(Object, &str)] = &[
    (
        Object::Address,
        "add 192.168.1.10/24 brd 192.168.1.255 dev eth1",
    ),
    (
        Object::Address,
        "add 10.20.0.5/24 dev eth1 label eth1:web metric 50",
    ),
    (Object::Address, "add 2001:db8:7::5/64 dev eth1 nodad"),
    (Object::Route, "add 10.0.5.0/24 via 172.30.0.1"),
    (Object::Route, "add 192.168.1.254/32 dev eth1"),
    (Object::Route, "replace default via 192.168.1.254 dev eth1"),
    (Object::Route, "add blackhole 169.254.169.254/32"),
    (
        Object::Route,
        "add 10.45.0.0/16 via 10.53.1.2 dev br-b2eb147102f3",
    ),
    (
        Object::Route,
        "add 198.51.100.31 table 1 nexthop via 198.51.100.50 weight 1 \
         nexthop via 198.51.100.40 weight 2 nexthop via 198.51.100.30 weight 3",
    ),
    (
        Object::Route,
        "add 10.8.0.0/24 dev wg0 mtu lock 1400 advmss 1360",
    ),
    (Object::Route, "add 0.0.0.0/0 dev wg0 table 51820"),
    (
        Object::Route,
        "add 2001:db8:9::/64 via 2001:db8:1::2 metric 10",
    ),
    (
        Object::Route,
        "add 10.0.1.1/32 dev host0-eth0 scope link table 1",
    ),
    (Object::Route, "del 10.0.5.0/24"),
    // An IPv6 gateway for an IPv4 route travels as RTA_VIA.
    (
        Object::Route,
        "add 10.50.0.0/24 via inet6 2001:db8:1::2 dev eth0",
    ),
    (
        Object::Route,
        "add default proto static metric 100 nexthop via 2001:db8:1::2 dev eth0 weight 1 \
         nexthop via 2001:db8:5::1 dev eth1 weight 1",
    ),
    (Object::Route, "add 10.47.0.0/24 dev eth0 realms 1/2"),
    (Object::Route, "add unreachable 10.60.0.0/24 table 67"),
    (Object::Route, "add prohibit 10.60.0.0/24 table 68"),
    (Object::Route, "add throw 10.60.0.0/24 table 69"),
    (
        Object::Route,
        "add 10.0.6.0/24 via 10.99.0.1 dev eth0 onlink src 172.30.0.2",
    ),
    (
        Object::Route,
        "add 10.0.7.0/24 from 10.0.1.0/24 via 172.30.0.1",
    ),
    (Object::Address, "add 10.30.0.1 peer 10.30.0.2/32 dev eth1"),
    (
        Object::Address,
        "add 10.31.0.1/24 brd + dev eth1 scope link",
    ),
    (Object::Address, "replace 10.20.0.5/24 dev eth1 metric 60"),
    (Object::Rule, "add not fwmark 51820 table 51820 pref 100"),
    (Object::Rule, "add table main suppress_prefixlength 0"),
    (
        Object::Rule,
        "add from 10.0.0.0/24 fwmark 3 lookup 3 prio 32700",
    ),
    (Object::Rule, "add from 10.0.1.1 table 1"),
    (
        Object::Rule,
        "-6 add from 2001:db8:5::/64 table 200 pref 300",
    ),
    (Object::Rule, "add iif eth1 oif eth0 blackhole pref 250"),
    (
        Object::Rule,
        "add to 192.0.2.0/24 tos 0x10 fwmark 0x10/0xff goto 32766 pref 260",
    ),
    (Object::Rule, "del pref 100"),
    (Object::Address, "del 198.51.100.10 dev eth1"),
];

#[tokio::test]
async fn applied_requests_match_ip() {
    let Some(by_ip) = TestNamespace::standard("applied_requests_match_ip") else {
        return;
    };
    let Some(by_us) = TestNamespace::standard("applied_requests_match_ip") else {
        return;
    };
    let handle = by_us.connect().await;

    for (object, tail) in COMPARED_TAILS {
        let words: Vec<&str> = tail.split_whitespace().collect();
        let ip_args = match words.split_first() {
            Some((option @ (&"-4" | &"-6"), rest)) => {
                [&[*option, object.as_str()][..], rest].concat()
            }
            _ => [&[object.as_str()][..], &words[..]].concat(),
        };
        by_ip.ip(&ip_args);

        let request = parse(*object, tail);
        apply(&handle, &request)
            .await
            .unwrap_or_else(|e| panic!("applying {request} failed: {e}"));

        assert_eq!(
            comparable_state(&by_ip),
            comparable_state(&by_us),
            "state differs after `ip {}` and applying {request}",
            ip_args.join(" ")
        );
    }
}
