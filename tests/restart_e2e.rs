//! dockerd restarts, with and without live-restore, against a private dockerd on its own
//! socket, data root and exec root, so that the machine's daemon is never restarted.
//!
//! The private dockerd and `dehandler serve` run in a network namespace that the test makes,
//! which serves as the host: dockerd changes the links of the namespace it runs in (one
//! that runs beside the machine's daemon was seen to delete the host's docker0), and the host
//! routes the test asks for stay in that namespace. Each test prints its own figures.

mod docker_support;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use docker_support::*;

/// How many labelled containers run across the restart.
const CONTAINERS: usize = 20;

/// A dockerd of the test's own in a network namespace of its own, removed with everything it
/// made on drop.
struct PrivateDaemon {
    dir: PathBuf,
    socket: String,
    /// The network namespace that serves as the host.
    netns: String,
    /// The default bridge of the private daemon, made by the test.
    bridge: String,
    child: Option<Child>,
}

impl PrivateDaemon {
    fn start(dir: &Path, live_restore: bool) -> PrivateDaemon {
        std::fs::write(
            dir.join("daemon.json"),
            format!("{{\"live-restore\": {live_restore}}}"),
        )
        .unwrap();
        let netns = unique_name("dhd");
        run_ok("ip", &["netns", "add", &netns]);
        run_ok("ip", &["-n", &netns, "link", "set", "lo", "up"]);
        let bridge = unique_name("dhb");
        let subnet = format!("198.18.{}.1/24", unique_octet());
        run_ok(
            "ip",
            &["-n", &netns, "link", "add", &bridge, "type", "bridge"],
        );
        run_ok(
            "ip",
            &["-n", &netns, "address", "add", &subnet, "dev", &bridge],
        );
        run_ok("ip", &["-n", &netns, "link", "set", &bridge, "up"]);
        let mut daemon = PrivateDaemon {
            dir: dir.to_path_buf(),
            socket: format!("unix://{}/docker.sock", dir.display()),
            netns,
            bridge,
            child: None,
        };
        daemon.launch();
        daemon
    }

    fn launch(&mut self) {
        let dir = &self.dir;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("dockerd.log"))
            .unwrap();
        // A bridge of its own and no iptables rules, so the private daemon leaves the host's
        // firewall and docker0 alone.
        // nsenter enters the network namespace alone; `ip netns exec` would also mount a
        // /sys of its own, where dockerd finds no cgroups.
        let child = Command::new("nsenter")
            .arg(format!("--net=/run/netns/{}", self.netns))
            .arg("dockerd")
            .arg("--data-root")
            .arg(dir.join("data"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("docker.pid"))
            .arg("--config-file")
            .arg(dir.join("daemon.json"))
            .args([
                "-H",
                &self.socket,
                "--bridge",
                "none",
                "--iptables=false",
                "--ip-masq=false",
            ])
            .args(["--storage-driver", &host_storage_driver()])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("failed to start dockerd");
        self.child = Some(child);
        wait_for("the private dockerd", Duration::from_secs(60), || {
            run("docker", &["-H", &self.socket, "version"])
                .status
                .success()
                .then_some(())
        });
    }

    /// Stops dockerd with SIGTERM and waits for it to exit.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    fn docker(&self, args: &[&str]) -> String {
        let mut full = vec!["-H", self.socket.as_str()];
        full.extend_from_slice(args);
        run_ok("docker", &full)
    }

    fn pid_of(&self, name: &str) -> String {
        self.docker(&["inspect", "--format", "{{.State.Pid}}", name])
    }
}

impl Drop for PrivateDaemon {
    fn drop(&mut self) {
        if self.child.is_some() {
            let ids = run("docker", &["-H", &self.socket, "ps", "-aq"]);
            for id in String::from_utf8_lossy(&ids.stdout).split_whitespace() {
                let _ = run("docker", &["-H", &self.socket, "rm", "--force", id]);
            }
            let networks = run(
                "docker",
                &[
                    "-H",
                    &self.socket,
                    "network",
                    "ls",
                    "-q",
                    "--filter",
                    "type=custom",
                ],
            );
            for id in String::from_utf8_lossy(&networks.stdout).split_whitespace() {
                let _ = run("docker", &["-H", &self.socket, "network", "rm", id]);
            }
        }
        self.stop();
        // dockerd makes its data root a mount of its own; containerd leaves mounts in the
        // exec root.
        for sub in ["data", "exec"] {
            let _ = run(
                "umount",
                &[
                    "--recursive",
                    "--lazy",
                    self.dir.join(sub).to_str().unwrap(),
                ],
            );
        }
        let _ = run("ip", &["-n", &self.netns, "link", "del", &self.bridge]);
        let _ = run("ip", &["netns", "del", &self.netns]);
        if let Err(error) = std::fs::remove_dir_all(&self.dir) {
            eprintln!("failed to remove {}: {error}", self.dir.display());
        }
    }
}

/// Returns the machine daemon's storage driver, which is known to work on this filesystem.
fn host_storage_driver() -> String {
    docker(&["info", "--format", "{{.Driver}}"])
}

fn write_counting_script(scripts_dir: &Path, name: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let script = scripts_dir.join(format!("start.{name}"));
    let count = scripts_dir.join(format!("{name}.runs"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho run >> {}\n", count.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    count
}

fn runs(count: &Path) -> usize {
    std::fs::read_to_string(count)
        .unwrap_or_default()
        .lines()
        .count()
}

fn route_metric(pid: &str) -> Option<i64> {
    let routes = ip_json_in(pid, &["route", "show", "10.201.0.0/16"]);
    routes[0]["metric"].as_i64()
}

/// Sets up a private daemon, a network, `dehandler serve` and the labelled containers, all
/// configured once.
struct Scene {
    daemon: PrivateDaemon,
    server: Server,
    names: Vec<String>,
    counts: Vec<PathBuf>,
    octet: u8,
    prefix: String,
    network: String,
}

impl Scene {
    fn new(live_restore: bool, restart_policy: &str) -> Scene {
        let dir = tempdir("dockerd");
        let daemon = PrivateDaemon::start(&dir, live_restore);
        let image = ensure_test_image();
        let load = format!(
            "docker save {image} | docker -H {} load --quiet",
            daemon.socket
        );
        run_ok("sh", &["-c", &load]);

        let octet = unique_octet();
        let network = unique_name("dh-n");
        daemon.docker(&[
            "network",
            "create",
            "--subnet",
            &format!("198.18.{octet}.0/24"),
            &network,
        ]);
        let prefix = unique_name("dhtest");
        let scripts = dir.join("scripts");
        std::fs::create_dir_all(&scripts).unwrap();
        let socket = daemon.socket.clone();
        let server = Server::start_in(
            Some(&daemon.netns),
            &dir,
            &prefix,
            &scripts,
            &["--docker-host", &socket],
        );

        let label = format!("{prefix}.route=add 10.201.0.0/16 dev eth0 metric 3");
        let mut names = Vec::new();
        let mut counts = Vec::new();
        for _ in 0..CONTAINERS {
            let name = unique_name("dh-r");
            counts.push(write_counting_script(&scripts, &name));
            daemon.docker(&[
                "run",
                "-d",
                "--name",
                &name,
                "--restart",
                restart_policy,
                "--network",
                &network,
                "--label",
                &label,
                image,
                "sleep",
                "600",
            ]);
            names.push(name);
        }
        for count in &counts {
            wait_for("the first start scripts", Duration::from_secs(60), || {
                (runs(count) == 1).then_some(())
            });
        }
        Scene {
            daemon,
            server,
            names,
            counts,
            octet,
            prefix,
            network,
        }
    }
}

#[test]
fn dockerd_restart_reconfigures_restarted_containers() {
    if !docker_available("dockerd_restart_reconfigures_restarted_containers") {
        return;
    }
    let mut scene = Scene::new(false, "always");
    let pids_before: Vec<String> = scene.names.iter().map(|n| scene.daemon.pid_of(n)).collect();

    let restarted_at = Instant::now();
    scene.daemon.restart();
    let daemon_up = restarted_at.elapsed();
    for count in &scene.counts {
        wait_for(
            "the start scripts after the restart",
            Duration::from_secs(60),
            || (runs(count) >= 2).then_some(()),
        );
    }
    let all_configured = restarted_at.elapsed();
    std::thread::sleep(Duration::from_secs(1));

    let mut configured = 0;
    for (name, before) in scene.names.iter().zip(&pids_before) {
        let pid = scene.daemon.pid_of(name);
        assert_ne!(&pid, before, "{name} did not restart");
        if route_metric(&pid) == Some(3) {
            configured += 1;
        }
    }
    let max_runs = scene.counts.iter().map(|c| runs(c)).max().unwrap_or(0);
    println!(
        "dockerd restarted without live-restore: up after {:.1} s; {configured}/{CONTAINERS} restarted containers configured {:.1} s after the restart began; most start script runs of one container: {max_runs}",
        daemon_up.as_secs_f64(),
        all_configured.as_secs_f64()
    );
    assert_eq!(configured, CONTAINERS);
    assert_eq!(max_runs, 2, "a start was applied twice");
    assert!(
        scene.server.log().contains("Engine API event stream"),
        "{}",
        scene.server.log()
    );
}

#[test]
fn dockerd_restart_with_live_restore_keeps_state() {
    if !docker_available("dockerd_restart_with_live_restore_keeps_state") {
        return;
    }
    let mut scene = Scene::new(true, "always");

    // One more container owns a host route; its process is killed while dockerd is down.
    let octet = scene.octet;
    let ip = format!("198.18.{octet}.250");
    let destination = format!("198.19.{octet}.250/32");
    let label = format!("{}.host-route=add {destination} via {ip}", scene.prefix);
    let doomed = unique_name("dh-doomed");
    let netns = scene.daemon.netns.clone();
    scene.daemon.docker(&[
        "run",
        "-d",
        "--name",
        &doomed,
        "--network",
        &scene.network,
        "--ip",
        &ip,
        "--label",
        &label,
        ensure_test_image(),
        "sleep",
        "600",
    ]);
    wait_for("the host route", Duration::from_secs(30), || {
        (!host_routes(&netns, &destination).is_empty()).then_some(())
    });
    let doomed_pid = scene.daemon.pid_of(&doomed);
    let pids_before: Vec<String> = scene.names.iter().map(|n| scene.daemon.pid_of(n)).collect();

    let restarted_at = Instant::now();
    scene.daemon.stop();
    let doomed_pid: i32 = doomed_pid.parse().unwrap();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(doomed_pid),
        nix::sys::signal::SIGKILL,
    )
    .expect("failed to kill the container's process");
    scene.daemon.launch();
    wait_for(
        "the dead container's host route to go",
        Duration::from_secs(30),
        || host_routes(&netns, &destination).is_empty().then_some(()),
    );
    let route_gone = restarted_at.elapsed();
    wait_for("dehandler to reconnect", Duration::from_secs(30), || {
        (scene
            .server
            .log()
            .matches("connected to the Engine API")
            .count()
            >= 2)
            .then_some(())
    });
    std::thread::sleep(Duration::from_secs(2));

    let mut kept = 0;
    for (name, before) in scene.names.iter().zip(&pids_before) {
        let pid = scene.daemon.pid_of(name);
        assert_eq!(&pid, before, "{name} restarted under live-restore");
        if route_metric(&pid) == Some(3) {
            kept += 1;
        }
    }
    let max_runs = scene.counts.iter().map(|c| runs(c)).max().unwrap_or(0);
    println!(
        "dockerd restarted with live-restore: {kept}/{CONTAINERS} containers kept running and configured, most start script runs of one container: {max_runs}; the killed container's host route was gone {:.1} s after the restart began",
        route_gone.as_secs_f64()
    );
    assert_eq!(kept, CONTAINERS);
    assert_eq!(max_runs, 1, "a start was applied again after the reconnect");
}

/// Returns the routes to a destination in the namespace that serves as the host.
fn host_routes(netns: &str, destination: &str) -> Vec<serde_json::Value> {
    let text = run_ok("ip", &["-n", netns, "-j", "route", "show", destination]);
    let routes: serde_json::Value =
        serde_json::from_str(if text.is_empty() { "[]" } else { &text }).unwrap();
    routes.as_array().unwrap().clone()
}
