//! Helpers for tests on the machine's real Docker daemon: a test image made without a
//! registry, unique names, bounded waits and a cleanup guard.
//!
//! These tests need root and a Docker daemon. They fail when either is missing, unless
//! `DEHANDLER_SKIP_DOCKER_TESTS=1` is set, which makes them print a skip line and return.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The test image: busybox-static's binary alone, imported with `docker import`.
pub const TEST_IMAGE: &str = "dehandler-test-busybox:latest";

/// Where Debian's busybox-static package puts its binary.
const BUSYBOX: &str = "/bin/busybox";

/// Returns false, after printing a skip line, when the skip variable is set and root or the
/// Docker daemon is missing; panics when they are missing and the variable is not set.
pub fn docker_available(test: &str) -> bool {
    let problem = if !nix::unistd::geteuid().is_root() {
        Some("not running as root".to_string())
    } else {
        match Command::new("docker")
            .args(["version", "--format", "{{.Server.Version}}"])
            .output()
        {
            Ok(output) if output.status.success() => None,
            Ok(output) => Some(format!(
                "the Docker daemon does not answer: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
            Err(error) => Some(format!("the docker command failed to start: {error}")),
        }
    };
    match problem {
        None => true,
        Some(problem) if std::env::var("DEHANDLER_SKIP_DOCKER_TESTS").as_deref() == Ok("1") => {
            eprintln!("SKIPPED {test}: {problem} (DEHANDLER_SKIP_DOCKER_TESTS=1)");
            false
        }
        Some(problem) => panic!(
            "{test} needs root and a Docker daemon: {problem}; set DEHANDLER_SKIP_DOCKER_TESTS=1 to skip"
        ),
    }
}

/// Runs a command and returns its output, whatever its exit status.
pub fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|error| panic!("failed to start {program} {args:?}: {error}"))
}

/// Runs a command that must succeed and returns its standard output, trimmed.
pub fn run_ok(program: &str, args: &[&str]) -> String {
    let output = run(program, args);
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Runs `docker ARGS…`, which must succeed, and returns its standard output.
pub fn docker(args: &[&str]) -> String {
    run_ok("docker", args)
}

/// Makes sure the test image exists, importing it once per test binary.
pub fn ensure_test_image() -> &'static str {
    static IMPORT: Once = Once::new();
    IMPORT.call_once(|| {
        if run("docker", &["image", "inspect", TEST_IMAGE])
            .status
            .success()
        {
            return;
        }
        assert!(
            Path::new(BUSYBOX).exists(),
            "{BUSYBOX} is missing: install Debian's busybox-static package"
        );
        let rootfs = tempdir("image");
        std::fs::create_dir_all(rootfs.join("bin")).unwrap();
        std::fs::copy(BUSYBOX, rootfs.join("bin/busybox")).unwrap();
        for applet in ["sh", "sleep", "ip", "cat"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
        let script = format!(
            "tar -C {} -c . | docker import - {TEST_IMAGE}",
            rootfs.display()
        );
        run_ok("sh", &["-c", &script]);
        std::fs::remove_dir_all(&rootfs).unwrap();
    });
    TEST_IMAGE
}

/// Returns a name unique to this test process and call, such as `dh1234x3`.
pub fn unique_name(base: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{base}{}x{n}", std::process::id())
}

/// Returns a number from 0 to 255 unique to this test process and call, for test subnets.
pub fn unique_octet() -> u8 {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    ((std::process::id() * 7 + n * 31) % 250 + 3) as u8
}

/// Creates a fresh directory under the system temporary directory.
pub fn tempdir(purpose: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name(&format!("dehandler-{purpose}-")));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Polls `check` until it returns `Some`, or panics after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Returns the host PID of a running container.
pub fn container_pid(name: &str) -> String {
    docker(&["inspect", "--format", "{{.State.Pid}}", name])
}

/// Runs `ip -j ARGS…` inside a process's network namespace and returns the parsed JSON.
pub fn ip_json_in(pid: &str, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["-n", "-t", pid, "ip", "-j"];
    full.extend_from_slice(args);
    let text = run_ok("nsenter", &full);
    serde_json::from_str(if text.is_empty() { "[]" } else { &text })
        .unwrap_or_else(|error| panic!("ip -j {args:?} printed invalid JSON ({error}): {text}"))
}

/// Runs `ip -j ARGS…` in the host's network namespace and returns the parsed JSON.
pub fn ip_json_host(args: &[&str]) -> serde_json::Value {
    let mut full = vec!["-j"];
    full.extend_from_slice(args);
    let text = run_ok("ip", &full);
    serde_json::from_str(if text.is_empty() { "[]" } else { &text })
        .unwrap_or_else(|error| panic!("ip -j {args:?} printed invalid JSON ({error}): {text}"))
}

/// One cleanup step: what it does, for the failure message, and the step.
type CleanupStep = (String, Box<dyn FnOnce() -> Result<(), String>>);

/// Cleanup steps run in reverse order on drop; every step runs and failures are printed.
#[derive(Default)]
pub struct Cleanup {
    steps: Vec<CleanupStep>,
}

impl Cleanup {
    /// Adds a step, described for the failure message.
    pub fn push(
        &mut self,
        what: impl Into<String>,
        step: impl FnOnce() -> Result<(), String> + 'static,
    ) {
        self.steps.push((what.into(), Box::new(step)));
    }

    /// Adds a step that runs a command and reports its failure.
    pub fn command(&mut self, program: &str, args: &[&str]) {
        let program = program.to_string();
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let what = format!("{program} {}", args.join(" "));
        self.push(what, move || {
            let output = Command::new(&program)
                .args(&args)
                .output()
                .map_err(|e| e.to_string())?;
            if output.status.success() {
                Ok(())
            } else {
                Err(String::from_utf8_lossy(&output.stderr).trim().to_string())
            }
        });
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        while let Some((what, step)) = self.steps.pop() {
            if let Err(error) = step() {
                eprintln!("cleanup step failed: {what}: {error}");
            }
        }
    }
}

/// A user-defined network, a labelled container on it with all four labels, and a start
/// script, with everything it made registered for cleanup.
pub struct LabelledContainer {
    pub name: String,
    pub network: String,
    /// The third octet of the test subnets: the network is 198.18.N.0/24 and 2001:db8:N::/64
    /// (N in hex), and the host route goes to 198.19.N.0/24. These are the benchmarking
    /// range of RFC 2544 and the documentation range of RFC 3849.
    pub octet: u8,
    pub container_ip: String,
    pub script_output: PathBuf,
}

impl LabelledContainer {
    /// Creates the network and writes the start script; the container is started by `start`.
    pub fn prepare(cleanup: &mut Cleanup, scripts_dir: &Path) -> Self {
        let octet = unique_octet();
        let name = unique_name("dh-c");
        let network = unique_name("dh-n");
        let subnet = format!("198.18.{octet}.0/24");
        let subnet6 = format!("2001:db8:{octet:x}::/64");
        docker(&[
            "network", "create", "--ipv6", "--subnet", &subnet, "--subnet", &subnet6, &network,
        ]);
        cleanup.command("docker", &["network", "rm", &network]);

        let script_output = scripts_dir.join(format!("{name}.env"));
        let script = scripts_dir.join(format!("start.{name}"));
        let body = format!(
            "#!/bin/sh\nenv | grep '^DEHANDLER_' | sort > {}.tmp\nmv {}.tmp {}\necho started $DEHANDLER_CONTAINER_NAME\n",
            script_output.display(),
            script_output.display(),
            script_output.display()
        );
        std::fs::write(&script, body).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

        let host_route = format!("198.19.{octet}.0/24");
        cleanup.push(format!("ip route del {host_route}"), move || {
            // dehandler deletes the route when the container dies; this only catches a test
            // that failed before that, so a route already gone is fine.
            let _ = Command::new("ip")
                .args(["route", "del", &host_route])
                .output();
            Ok(())
        });

        LabelledContainer {
            name,
            network,
            octet,
            container_ip: format!("198.18.{octet}.2"),
            script_output,
        }
    }

    /// Returns the `--label` arguments for a label prefix.
    pub fn label_args(&self, prefix: &str) -> Vec<String> {
        let octet = self.octet;
        let labels = [
            (
                "address",
                format!(
                    "add 198.18.{octet}.50/24 dev eth0; add 2001:db8:{octet:x}::50/64 dev eth0 nodad"
                ),
            ),
            (
                "route",
                format!(
                    "add 203.0.113.0/24 via 198.18.{octet}.1 metric 7;\n add blackhole 192.0.2.0/24; add 2001:db8:ff00::/48 via 2001:db8:{octet:x}::1"
                ),
            ),
            (
                "rule",
                format!("add from 198.18.{octet}.50 table 100 priority 1000"),
            ),
            (
                "host-route",
                format!("add 198.19.{octet}.0/24 via {}", self.container_ip),
            ),
        ];
        labels
            .iter()
            .flat_map(|(key, value)| ["--label".to_string(), format!("{prefix}.{key}={value}")])
            .collect()
    }

    /// Starts the container with the labels of a prefix.
    pub fn start(&self, cleanup: &mut Cleanup, prefix: &str) {
        let image = ensure_test_image();
        let mut args: Vec<String> = [
            "run",
            "-d",
            "--name",
            &self.name,
            "--network",
            &self.network,
            "--ip",
            &self.container_ip,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.extend(self.label_args(prefix));
        args.extend([image.to_string(), "sleep".into(), "600".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker(&args);
        cleanup.command("docker", &["rm", "--force", &self.name]);
    }

    /// Waits until the start script has run and returns its `DEHANDLER_*` environment.
    pub fn wait_for_script(&self) -> String {
        wait_for("the start script's output", Duration::from_secs(30), || {
            std::fs::read_to_string(&self.script_output).ok()
        })
    }

    /// Checks every label's effect with iproute2 and the script's environment.
    pub fn verify(&self) {
        let environment = self.wait_for_script();
        let pid = container_pid(&self.name);
        let id = docker(&["inspect", "--format", "{{.Id}}", &self.name]);
        let octet = self.octet;

        let expected_env = [
            format!("DEHANDLER_CONTAINER_ID={id}"),
            format!("DEHANDLER_CONTAINER_NAME={}", self.name),
            format!("DEHANDLER_CONTAINER_PID={pid}"),
            "DEHANDLER_EVENT=start".to_string(),
            format!("DEHANDLER_NETNS=/proc/{pid}/ns/net"),
        ];
        let lines: Vec<&str> = environment.lines().collect();
        assert_eq!(lines, expected_env, "start script environment");

        let addresses = ip_json_in(&pid, &["address", "show", "dev", "eth0"]);
        let locals: Vec<String> = addresses[0]["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
            .collect();
        assert!(
            locals.contains(&format!("198.18.{octet}.50/24")),
            "addresses: {locals:?}"
        );
        assert!(
            locals.contains(&format!("2001:db8:{octet:x}::50/64")),
            "addresses: {locals:?}"
        );

        // `-d` prints the protocol even when it is `boot`, which `ip route add` sends.
        let route = ip_json_in(&pid, &["-d", "route", "show", "203.0.113.0/24"]);
        assert_eq!(
            route[0]["gateway"],
            format!("198.18.{octet}.1"),
            "route: {route}"
        );
        assert_eq!(route[0]["metric"], 7, "route: {route}");
        assert_eq!(route[0]["protocol"], "boot", "route: {route}");
        let blackhole = ip_json_in(&pid, &["route", "show", "192.0.2.0/24"]);
        assert_eq!(blackhole[0]["type"], "blackhole", "route: {blackhole}");
        let route6 = ip_json_in(&pid, &["-6", "route", "show", "2001:db8:ff00::/48"]);
        assert_eq!(
            route6[0]["gateway"],
            format!("2001:db8:{octet:x}::1"),
            "route: {route6}"
        );

        let rules = ip_json_in(&pid, &["rule", "show", "priority", "1000"]);
        assert_eq!(
            rules[0]["src"],
            format!("198.18.{octet}.50"),
            "rule: {rules}"
        );
        assert_eq!(rules[0]["table"], "100", "rule: {rules}");

        let host = ip_json_host(&["route", "show", &format!("198.19.{octet}.0/24")]);
        assert_eq!(host[0]["gateway"], self.container_ip, "host route: {host}");
    }
}

/// A `dehandler serve` process whose log goes to a file; killed on drop.
pub struct Server {
    pub child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
}

impl Server {
    /// Starts `dehandler serve` with its socket, log and state under `dir`, and extra
    /// arguments, and waits for its socket.
    pub fn start(dir: &Path, prefix: &str, scripts_dir: &Path, extra: &[&str]) -> Server {
        Server::start_in(None, dir, prefix, scripts_dir, extra)
    }

    /// Starts `dehandler serve` like [`Server::start`], inside a named network namespace
    /// when `netns` is given.
    pub fn start_in(
        netns: Option<&str>,
        dir: &Path,
        prefix: &str,
        scripts_dir: &Path,
        extra: &[&str],
    ) -> Server {
        let socket = dir.join("dehandler.sock");
        let log = dir.join("dehandler.log");
        let binary = env!("CARGO_BIN_EXE_dehandler");
        // nsenter enters the namespace and then executes the program itself, so the child is
        // the dehandler process.
        let mut command = match netns {
            Some(netns) => {
                let mut command = Command::new("nsenter");
                command.arg(format!("--net=/run/netns/{netns}")).arg(binary);
                command
            }
            None => Command::new(binary),
        };
        let child = command
            .args(["serve", "--log-level", "debug", "--label-prefix", prefix])
            .arg("--socket")
            .arg(&socket)
            .arg("--scripts-dir")
            .arg(scripts_dir)
            .arg("--state-dir")
            .arg(dir.join("state"))
            .args(extra)
            .env_remove("DOCKER_HOST")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("failed to start dehandler serve");
        let server = Server { child, socket, log };
        wait_for("the plugin socket", Duration::from_secs(10), || {
            UnixStream::connect(&server.socket).ok()
        });
        server
    }

    /// Returns the log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends one HTTP request over the socket and returns the raw response.
    pub fn request(&self, method: &str, path: &str, body: &str) -> String {
        let mut stream = UnixStream::connect(&self.socket).unwrap();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: plugin\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        response
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Builds the plugin directory with the same make target that `make install` uses, once per
/// test process, and returns a copy of it that no later build can change.
///
/// `make plugin` assembles target/plugin anew, so another test process building it while a
/// plugin is created from it could hand dockerd a half-written directory. A lock file keeps
/// the build and the copy apart from other processes.
pub fn build_plugin_dir() -> &'static Path {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        std::fs::create_dir_all(root.join("target")).unwrap();
        let lock = std::fs::File::create(root.join("target/plugin.lock")).unwrap();
        let lock = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive)
            .map_err(|(_, errno)| errno)
            .expect("failed to lock target/plugin.lock");
        let output = Command::new("make")
            .arg("-C")
            .arg(root)
            .arg("plugin")
            .output()
            .expect("failed to run make");
        assert!(
            output.status.success(),
            "make plugin failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        // Under cargo's scratch directory for integration tests, not /tmp: the copy lives as
        // long as the test process, so nothing removes it.
        let copy =
            Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("plugin-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&copy);
        std::fs::create_dir_all(&copy).unwrap();
        run_ok(
            "cp",
            &[
                "-a",
                &format!("{}/target/plugin/.", root.display()),
                copy.to_str().unwrap(),
            ],
        );
        drop(lock);
        copy
    })
}

/// Creates, configures and enables a test plugin; the cleanup disables and removes it.
pub fn install_plugin(cleanup: &mut Cleanup, prefix: &str, scripts_dir: &Path) -> String {
    let plugin = format!("{}:latest", unique_name("dehandler-test"));

    // dockerd 20.10 fails a create with "content … already exists" when another plugin has a
    // byte-identical rootfs, so each test plugin gets a copy whose binary has an mtime of its
    // own.
    let dir = tempdir("plugin-copy");
    let source = format!("{}/.", build_plugin_dir().display());
    run_ok("cp", &["-a", &source, dir.to_str().unwrap()]);
    static STAMP: AtomicU32 = AtomicU32::new(0);
    let stamp = 1_000_000_000 + std::process::id() * 1000 + STAMP.fetch_add(1, Ordering::Relaxed);
    let binary = dir.join("rootfs/dehandler");
    run_ok(
        "touch",
        &["-d", &format!("@{stamp}"), binary.to_str().unwrap()],
    );
    let dir_to_remove = dir.clone();
    cleanup.push("remove the plugin copy", move || {
        std::fs::remove_dir_all(&dir_to_remove).map_err(|e| e.to_string())
    });

    docker(&["plugin", "create", &plugin, dir.to_str().unwrap()]);
    cleanup.command("docker", &["plugin", "rm", "--force", &plugin]);
    docker(&[
        "plugin",
        "set",
        &plugin,
        &format!("LABEL_PREFIX={prefix}"),
        &format!("SCRIPTS_DIR={}", scripts_dir.display()),
        "LOG_LEVEL=debug",
    ]);
    docker(&["plugin", "enable", &plugin]);
    cleanup.command("docker", &["plugin", "disable", "--force", &plugin]);
    plugin
}

/// Returns the host PID of an enabled plugin's process, found by the plugin id in its cgroup.
pub fn plugin_pid(plugin: &str) -> Option<i32> {
    let id = docker(&["plugin", "inspect", "--format", "{{.Id}}", plugin]);
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let command = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if cgroup.contains(&id) && command.starts_with(b"/dehandler\0serve") {
            return Some(pid);
        }
    }
    None
}
