//! Throwaway network namespaces for netlink tests, checked with iproute2 as the oracle.
//!
//! A [`TestNamespace`] takes the place of a container: every interface in it is one end of a veth
//! pair whose other end sits in a second namespace, so nothing reaches the host. Both are
//! removed when the value is dropped.

#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dehandler::iproute::Family;
use serde_json::Value;

/// Set to 1 to skip tests that need root when not running as root. CI never sets it.
pub const SKIP_ROOT_TESTS_VAR: &str = "DEHANDLER_SKIP_ROOT_TESTS";

/// The interfaces of the standard namespace, in creation order, each with its veth peer's
/// name in the peer namespace.
const INTERFACES: &[(&str, &str)] = &[
    ("eth0", "peer1"),
    ("eth1", "peer2"),
    ("net1", "peer3"),
    ("wg0", "peer4"),
    ("eth0.100", "peer5"),
    ("br-b2eb147102f3", "peer6"),
    ("host0-eth0", "peer7"),
];

/// The addresses of the standard namespace, as `ip address add` tails.
const ADDRESSES: &[&str] = &[
    "172.30.0.2/24 dev eth0",
    "198.51.100.10/24 dev eth1",
    "2001:db8:5::10/64 dev eth1 nodad",
    "192.168.1.209/24 dev net1",
    "10.0.1.2/24 dev host0-eth0",
    "10.53.1.1/24 dev br-b2eb147102f3",
    "2001:db8:1::1/64 dev eth0 nodad",
];

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Returns true when the test can run. Without root it returns false (after printing a skip
/// line) if DEHANDLER_SKIP_ROOT_TESTS=1, and panics otherwise.
pub fn root_or_skip(test: &str) -> bool {
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    if std::env::var(SKIP_ROOT_TESTS_VAR).as_deref() == Ok("1") {
        eprintln!(
            "SKIPPED {test}: needs root to create network namespaces ({SKIP_ROOT_TESTS_VAR}=1)"
        );
        return false;
    }
    panic!(
        "{test} needs root to create network namespaces: run the tests as root, or set \
         {SKIP_ROOT_TESTS_VAR}=1 to skip them"
    );
}

/// A network namespace named `dhtest-<pid>-<n>` and its peer namespace `…-peer`.
pub struct TestNamespace {
    pub name: String,
    pub peer: String,
}

impl TestNamespace {
    /// Creates the namespace pair with the standard interfaces and addresses, or returns None
    /// when root tests are skipped.
    pub fn standard(test: &str) -> Option<TestNamespace> {
        let namespace = TestNamespace::bare(test)?;
        namespace.add_standard_setup();
        Some(namespace)
    }

    /// Creates the namespace pair with only `lo` up, or returns None when root tests are
    /// skipped.
    pub fn bare(test: &str) -> Option<TestNamespace> {
        if !root_or_skip(test) {
            return None;
        }
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        let name = format!("dhtest-{}-{id}", std::process::id());
        let namespace = TestNamespace {
            peer: format!("{name}-peer"),
            name,
        };

        // The guard exists before the first command, so a failed setup is cleaned up too.
        run_ip(&["netns", "add", &namespace.name]);
        run_ip(&["netns", "add", &namespace.peer]);
        namespace.ip(&["link", "set", "lo", "up"]);
        // No generated link-local addresses, so two namespaces set up alike dump alike.
        run(
            "ip",
            &[
                "netns",
                "exec",
                &namespace.name,
                "sysctl",
                "-qw",
                "net.ipv6.conf.default.addr_gen_mode=1",
                "net.ipv6.conf.all.addr_gen_mode=1",
            ],
        );
        Some(namespace)
    }

    /// Adds the standard interfaces, addresses and default route with one `ip -batch` per
    /// namespace, which takes a fraction of the time of one `ip` process per command.
    fn add_standard_setup(&self) {
        let mut commands = String::new();
        let mut peer_commands = String::new();
        for (dev, peer) in INTERFACES {
            commands.push_str(&format!(
                "link add {dev} type veth peer name {peer} netns {}\n",
                self.peer
            ));
            peer_commands.push_str(&format!("link set {peer} up\n"));
        }
        for (dev, _) in INTERFACES {
            commands.push_str(&format!("link set {dev} up\n"));
        }
        for tail in ADDRESSES {
            commands.push_str(&format!("address add {tail}\n"));
        }
        commands.push_str("route add default via 172.30.0.1 dev eth0\n");

        run_ip_batch(&self.name, &commands);
        run_ip_batch(&self.peer, &peer_commands);
        self.wait_for_multicast_routes();
    }

    /// Waits until every interface has its IPv6 multicast route (ff00::/8 in table local).
    /// The kernel adds it shortly after the link comes up, so two namespaces dumped too early
    /// would differ by it.
    fn wait_for_multicast_routes(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let routes =
                self.ip_json(&["-6", "route", "show", "table", "local", "type", "multicast"]);
            let ready = INTERFACES
                .iter()
                .all(|(dev, _)| routes.iter().any(|route| route["dev"] == *dev));
            if ready {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "IPv6 multicast routes missing in {} after 5 s: {routes:?}",
                self.name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Returns the namespace's file under /run/netns.
    pub fn path(&self) -> PathBuf {
        PathBuf::from("/run/netns").join(&self.name)
    }

    /// Opens the namespace and connects to it with the code under test.
    pub async fn connect(&self) -> dehandler::netlink::Netlink {
        let namespace = dehandler::netns::Namespace::open(self.path())
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.path().display()));
        namespace
            .connect()
            .await
            .unwrap_or_else(|e| panic!("connecting to {}: {e}", self.name))
    }

    /// Runs `ip -n NAME ARGS…` and returns its standard output. Panics when it fails.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run_ip(&all)
    }

    /// Runs `ip -n NAME -d -j ARGS…` and parses the JSON output. `-d` adds the fields that
    /// plain output leaves out at their defaults (route protocol, scope and type).
    pub fn ip_json(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["-d", "-j"];
        all.extend_from_slice(args);
        let output = self.ip(&all);
        if output.trim().is_empty() {
            return Vec::new();
        }
        match serde_json::from_str(&output) {
            Ok(Value::Array(items)) => items,
            other => panic!("ip {all:?} printed no JSON array: {other:?}\n{output}"),
        }
    }

    /// Returns the `addr_info` entries of a device.
    pub fn addresses(&self, dev: &str) -> Vec<Value> {
        let links = self.ip_json(&["address", "show", "dev", dev]);
        links
            .first()
            .and_then(|link| link["addr_info"].as_array())
            .cloned()
            .unwrap_or_default()
    }

    /// Returns the `addr_info` entry of one local address on a device, if present.
    pub fn address(&self, dev: &str, local: &str) -> Option<Value> {
        self.addresses(dev)
            .into_iter()
            .find(|info| info["local"] == local)
    }

    /// Returns the routes of a table (`all` for every table) of one family.
    pub fn routes(&self, family: Family, table: &str) -> Vec<Value> {
        self.ip_json(&[family_flag(family), "route", "show", "table", table])
    }

    /// Returns the route with destination `dst` (as `ip -j` prints it, e.g. `default` or
    /// `10.0.0.0/24`) in a table, if present.
    pub fn route(&self, family: Family, table: &str, dst: &str) -> Option<Value> {
        self.routes(family, table)
            .into_iter()
            .find(|route| route["dst"] == dst)
    }

    /// Returns the rules of one family.
    pub fn rules(&self, family: Family) -> Vec<Value> {
        self.ip_json(&[family_flag(family), "rule", "show"])
    }

    /// Returns the rule with a priority, if present.
    pub fn rule(&self, family: Family, priority: u32) -> Option<Value> {
        self.rules(family)
            .into_iter()
            .find(|rule| rule["priority"] == priority)
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        // Both deletes run even if one fails, and a failure is reported without panicking
        // during a panic.
        for name in [&self.name, &self.peer] {
            let status = Command::new("ip").args(["netns", "del", name]).status();
            if !matches!(status, Ok(s) if s.success()) {
                eprintln!("failed to delete network namespace {name}: {status:?}");
            }
        }
    }
}

fn family_flag(family: Family) -> &'static str {
    match family {
        Family::Inet => "-4",
        Family::Inet6 => "-6",
    }
}

/// Runs `ip -n NAMESPACE -batch -` with `commands`, one per line. Panics with its standard
/// error when it fails.
fn run_ip_batch(namespace: &str, commands: &str) {
    let mut child = Command::new("ip")
        .args(["-n", namespace, "-batch", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("failed to run ip: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(commands.as_bytes())
            .unwrap_or_else(|e| panic!("failed to write to ip -batch: {e}"));
    }
    let output = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("failed to wait for ip -batch: {e}"));
    assert!(
        output.status.success(),
        "ip -n {namespace} -batch failed: {}\n{commands}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Runs `ip ARGS…` and returns its standard output. Panics with its standard error when it
/// fails.
pub fn run_ip(args: &[&str]) -> String {
    run("ip", args)
}

fn run(program: &str, args: &[&str]) -> String {
    let output = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run {program}: {e}"));
    assert!(
        output.status.success(),
        "{program} {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}
