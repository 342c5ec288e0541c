//! `dehandler apply`, run as the built binary on network namespaces that each test creates:
//! `dhapply-<pid>-<n>` with an interface `eth0` (172.30.0.2/24), removed on drop. The
//! tests need root and iproute2.

use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// Set to 1 to skip tests that need root when not running as root. CI never sets it.
const SKIP_ROOT_TESTS_VAR: &str = "DEHANDLER_SKIP_ROOT_TESTS";

static NEXT_ID: AtomicUsize = AtomicUsize::new(0);

/// Returns true when the test can run as root; without root it prints a SKIPPED line when
/// DEHANDLER_SKIP_ROOT_TESTS=1, and fails otherwise.
fn root_or_skip(test: &str) -> bool {
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

/// A network namespace with `eth0`, one end of a veth pair whose other end `peer0` is in
/// the same namespace, deleted on drop.
struct TestNamespace {
    name: String,
}

impl TestNamespace {
    fn new(test: &str) -> Option<TestNamespace> {
        if !root_or_skip(test) {
            return None;
        }
        let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
        let namespace = TestNamespace {
            name: format!("dhapply-{}-{id}", std::process::id()),
        };
        run("ip", &["netns", "add", &namespace.name]);
        namespace.ip(&["link", "set", "lo", "up"]);
        // Both ends of the veth pair stay in the namespace, so nothing reaches the host.
        namespace.ip(&[
            "link", "add", "eth0", "type", "veth", "peer", "name", "peer0",
        ]);
        namespace.ip(&["link", "set", "peer0", "up"]);
        namespace.ip(&["link", "set", "eth0", "up"]);
        namespace.ip(&["address", "add", "172.30.0.2/24", "dev", "eth0"]);
        Some(namespace)
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }

    fn ip(&self, args: &[&str]) -> String {
        let mut all = vec!["-n", &self.name];
        all.extend_from_slice(args);
        run("ip", &all)
    }

    /// Returns the destinations of the IPv4 routes of table main, as `ip -j` prints them.
    fn route_destinations(&self) -> Vec<String> {
        let output = self.ip(&["-j", "-4", "route", "show", "table", "main"]);
        let routes: Vec<Value> = serde_json::from_str(&output).expect("ip -j printed JSON");
        routes
            .iter()
            .filter_map(|route| route["dst"].as_str().map(str::to_string))
            .collect()
    }

    /// Runs `dehandler apply --netns PATH OBJECT VALUE`.
    fn apply(&self, object: &str, value: &str) -> Output {
        dehandler(&["apply", "--netns", &self.path(), object, value])
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        let status = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "failed to delete network namespace {}: {status:?}",
                self.name
            );
        }
    }
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

fn dehandler(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_dehandler"))
        .args(args)
        .env_remove("LOG_LEVEL")
        .output()
        .expect("failed to run dehandler")
}

/// Returns the inode of a namespace file, which identifies the namespace.
fn namespace_inode(path: &str) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .map(|m| std::os::unix::fs::MetadataExt::ino(&m))
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn apply_prints_a_line_per_segment() {
    let Some(ns) = TestNamespace::new("apply_prints_a_line_per_segment") else {
        return;
    };
    let output = ns.apply(
        "route",
        "add 10.9.0.0/16 via 172.30.0.1; a 10.10.0.0/16 dev eth0 metric 5",
    );
    assert_eq!(
        stdout_lines(&output),
        [
            "ok: ip route add 10.9.0.0/16 via 172.30.0.1",
            "ok: ip route add 10.10.0.0/16 dev eth0 metric 5",
        ]
    );
    assert_eq!(output.status.code(), Some(0));
    let routes = ns.route_destinations();
    assert!(routes.contains(&"10.9.0.0/16".to_string()), "{routes:?}");
    assert!(routes.contains(&"10.10.0.0/16".to_string()), "{routes:?}");
}

#[test]
fn apply_reports_existing_like_ip() {
    let Some(ns) = TestNamespace::new("apply_reports_existing_like_ip") else {
        return;
    };
    ns.ip(&["route", "add", "10.9.0.0/16", "via", "172.30.0.1"]);

    let output = ns.apply(
        "route",
        "add 10.9.0.0/16 via 172.30.0.1\nadd 10.11.0.0/16 dev eth0",
    );
    assert_eq!(
        stdout_lines(&output),
        [
            "error: ip route add 10.9.0.0/16 via 172.30.0.1: file exists (the route is already present)",
            "ok: ip route add 10.11.0.0/16 dev eth0",
        ]
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        ns.route_destinations()
            .contains(&"10.11.0.0/16".to_string())
    );
}

#[test]
fn apply_reports_missing_like_ip() {
    let Some(ns) = TestNamespace::new("apply_reports_missing_like_ip") else {
        return;
    };
    let cases = [
        (
            "route",
            "del 10.99.0.0/16",
            "error: ip route delete 10.99.0.0/16: no such process (the route is not present)",
        ),
        (
            "address",
            "del 10.99.0.1/24 dev eth0",
            "error: ip address delete 10.99.0.1/24 dev eth0: cannot assign requested address (the address is not present)",
        ),
        (
            "rule",
            "del pref 1234 table 99",
            "error: ip rule delete priority 1234 table 99: no such file or directory (the rule is not present)",
        ),
    ];
    for (object, value, line) in cases {
        let output = ns.apply(object, value);
        assert_eq!(stdout_lines(&output), [line], "{object} {value}");
        assert_eq!(output.status.code(), Some(1), "{object} {value}");
    }
}

#[test]
fn apply_kernel_error_does_not_stop_next() {
    let Some(ns) = TestNamespace::new("apply_kernel_error_does_not_stop_next") else {
        return;
    };
    let output = ns.apply(
        "route",
        "add 10.20.0.0/16 via 192.0.2.1; add 10.21.0.0/16 dev eth9; add 10.22.0.0/16 dev eth0",
    );
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines[0]
            .starts_with("error: ip route add 10.20.0.0/16 via 192.0.2.1: network is unreachable"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        "error: ip route add 10.21.0.0/16 dev eth9: device \"eth9\" not found"
    );
    assert_eq!(lines[2], "ok: ip route add 10.22.0.0/16 dev eth0");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn apply_parse_error_changes_nothing() {
    let Some(ns) = TestNamespace::new("apply_parse_error_changes_nothing") else {
        return;
    };
    let output = ns.apply("route", "add 10.12.0.0/16 dev eth0; add 10/33");
    assert_eq!(stdout_lines(&output), Vec::<String>::new());
    assert_eq!(
        String::from_utf8_lossy(&output.stderr).trim_end(),
        "error: segment 2 \"add 10/33\": at \"10/33\": invalid prefix length \"33\": the \
         maximum is 32; nothing was applied"
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        !ns.route_destinations()
            .contains(&"10.12.0.0/16".to_string())
    );
}

#[test]
fn apply_by_pid_uses_its_namespace() {
    let Some(ns) = TestNamespace::new("apply_by_pid_uses_its_namespace") else {
        return;
    };
    // `ip netns exec` enters the namespace and then execs sleep, so the child's PID is
    // sleep's.
    let mut child = Command::new("ip")
        .args(["netns", "exec", &ns.name, "sleep", "30"])
        .spawn()
        .expect("failed to start sleep in the namespace");
    let pid = child.id().to_string();
    // Wait until the child runs in the namespace, not in the host's.
    let target = namespace_inode(&ns.path());
    for _ in 0..100 {
        if namespace_inode(&format!("/proc/{pid}/ns/net")) == target {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }

    let output = dehandler(&[
        "apply",
        "--pid",
        &pid,
        "address",
        "add 10.0.0.5/24 dev eth0",
    ]);
    let _ = child.kill();
    let _ = child.wait();

    assert_eq!(
        stdout_lines(&output),
        ["ok: ip address add 10.0.0.5/24 dev eth0"]
    );
    assert_eq!(output.status.code(), Some(0));
    let addresses = ns.ip(&["-4", "-o", "address", "show", "dev", "eth0"]);
    assert!(addresses.contains("10.0.0.5/24"), "{addresses}");
}

#[test]
fn apply_requires_object_and_value() {
    let output = dehandler(&["apply", "route"]);
    assert_eq!(output.status.code(), Some(2));
    let output = dehandler(&[
        "apply",
        "--netns",
        "/run/netns/x",
        "--pid",
        "1",
        "route",
        "x",
    ]);
    assert_eq!(output.status.code(), Some(2));
}
