//! Life cycle and security on the machine's Docker daemon, with `dehandler serve` started
//! directly: host routes removed when containers stop, stop scripts, image labels, hostile
//! labels and scripts, and segments retried when a network is connected.

mod docker_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use docker_support::*;

fn test_dir(cleanup: &mut Cleanup) -> PathBuf {
    let dir = tempdir("life");
    let to_remove = dir.clone();
    cleanup.push("remove the test directory", move || {
        std::fs::remove_dir_all(&to_remove).map_err(|e| e.to_string())
    });
    dir
}

fn host_route_present(destination: &str) -> bool {
    let routes = ip_json_host(&["route", "show", destination]);
    !routes.as_array().unwrap().is_empty()
}

fn write_script(path: &Path, body: &str, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Creates a network 198.18.N.0/24 and returns its name and N.
fn network(cleanup: &mut Cleanup) -> (String, u8) {
    let octet = unique_octet();
    let name = unique_name("dh-n");
    docker(&[
        "network",
        "create",
        "--subnet",
        &format!("198.18.{octet}.0/24"),
        &name,
    ]);
    cleanup.command("docker", &["network", "rm", &name]);
    (name, octet)
}

/// Runs a test container with labels; the cleanup removes it.
fn run_container(cleanup: &mut Cleanup, name: &str, options: &[&str], labels: &[String]) {
    let image = ensure_test_image();
    let mut args = vec!["run", "-d", "--name", name];
    args.extend_from_slice(options);
    for label in labels {
        args.extend(["--label", label.as_str()]);
    }
    args.extend([image, "sleep", "600"]);
    docker(&args);
    cleanup.command("docker", &["rm", "--force", name]);
}

#[test]
fn host_routes_go_when_containers_stop() {
    if !docker_available("host_routes_go_when_containers_stop") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (net, octet) = network(&mut cleanup);
    let server = Server::start(&dir, &prefix, &dir, &[]);

    // One container per way to stop: docker stop, docker kill, docker rm --force.
    let ways = ["stop", "kill", "rm"];
    let mut containers = Vec::new();
    for (index, way) in ways.iter().enumerate() {
        let name = unique_name(&format!("dh-{way}"));
        let ip = format!("198.18.{octet}.{}", 10 + index);
        let destination = format!("198.19.{octet}.{}/32", 10 + index);
        let host_route = format!("{prefix}.host-route=add {destination} via {ip}");
        write_script(
            &dir.join(format!("stop.{name}")),
            &format!(
                "echo \"$DEHANDLER_EVENT $DEHANDLER_EXIT_CODE\" > {}/{name}.stopped",
                dir.display()
            ),
            0o755,
        );
        run_container(
            &mut cleanup,
            &name,
            &["--network", &net, "--ip", &ip],
            &[host_route],
        );
        let route_to_remove = destination.clone();
        cleanup.push(format!("ip route del {destination}"), move || {
            let _ = std::process::Command::new("ip")
                .args(["route", "del", &route_to_remove])
                .output();
            Ok(())
        });
        containers.push((name, destination, *way));
    }
    for (_, destination, _) in &containers {
        wait_for(
            &format!("host route {destination}"),
            Duration::from_secs(20),
            || host_route_present(destination).then_some(()),
        );
    }

    for (name, _, way) in &containers {
        match *way {
            "stop" => docker(&["stop", "--time", "1", name]),
            "kill" => docker(&["kill", name]),
            _ => docker(&["rm", "--force", name]),
        };
    }
    for (name, destination, way) in &containers {
        wait_for(
            &format!("{destination} removed after docker {way}"),
            Duration::from_secs(20),
            || (!host_route_present(destination)).then_some(()),
        );
        let stopped = dir.join(format!("{name}.stopped"));
        let marker = wait_for(
            &format!("stop script of {name}"),
            Duration::from_secs(20),
            || std::fs::read_to_string(&stopped).ok(),
        );
        // sleep ends with SIGTERM or SIGKILL; Docker reports 128 + the signal number, or 137
        // when stop had to kill it.
        let expected = if *way == "stop" {
            ["die 143", "die 137"]
        } else {
            ["die 137", "die 137"]
        };
        assert!(
            expected.contains(&marker.trim()),
            "{way}: stop script saw {marker:?}"
        );
    }
    let log = server.log();
    assert!(!log.contains(" ERROR "), "errors in the log:\n{log}");
}

#[test]
fn host_route_not_owned_is_kept() {
    if !docker_available("host_route_not_owned_is_kept") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (net, octet) = network(&mut cleanup);
    let ip = format!("198.18.{octet}.20");
    let destination = format!("198.19.{octet}.20/32");
    // The route exists before the container requests it, so dehandler does not own it.
    run_ok("ip", &["route", "add", &destination, "dev", "lo"]);
    let to_remove = destination.clone();
    cleanup.push(format!("ip route del {destination}"), move || {
        let _ = std::process::Command::new("ip")
            .args(["route", "del", &to_remove])
            .output();
        Ok(())
    });
    let server = Server::start(&dir, &prefix, &dir, &["--host-routes", "any"]);

    let name = unique_name("dh-c");
    let label = format!("{prefix}.host-route=add {destination} via {ip}");
    run_container(
        &mut cleanup,
        &name,
        &["--network", &net, "--ip", &ip],
        &[label],
    );
    wait_for("the host-route label", Duration::from_secs(20), || {
        server.log().contains("(already present)").then_some(())
    });
    docker(&["rm", "--force", &name]);
    wait_for("the container's destroy", Duration::from_secs(20), || {
        let state = dir.join("state/containers");
        let files = std::fs::read_dir(&state).map(|d| d.count()).unwrap_or(0);
        (files == 0).then_some(())
    });
    let routes = ip_json_host(&["route", "show", &destination]);
    assert_eq!(
        routes[0]["dev"], "lo",
        "a route dehandler did not add was deleted: {routes}"
    );
}

#[test]
fn host_route_policy_rejects_foreign_gateway() {
    if !docker_available("host_route_policy_rejects_foreign_gateway") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (net, octet) = network(&mut cleanup);
    let server = Server::start(&dir, &prefix, &dir, &[]);
    let name = unique_name("dh-c");
    let ip = format!("198.18.{octet}.30");
    // The gateway .31 is not the container's address, so HOST_ROUTES=container rejects it.
    let destination = format!("198.19.{octet}.30/32");
    let label = format!("{prefix}.host-route=add {destination} via 198.18.{octet}.31");
    run_container(
        &mut cleanup,
        &name,
        &["--network", &net, "--ip", &ip],
        &[label],
    );
    let log = wait_for("the policy error", Duration::from_secs(20), || {
        let log = server.log();
        log.contains("not allowed").then_some(log)
    });
    assert!(
        log.contains(
            "HOST_ROUTES=container requires the gateway to be an address of the container"
        ),
        "{log}"
    );
    assert!(
        !host_route_present(&destination),
        "a rejected host route was added"
    );
}

#[test]
fn image_labels_need_trust() {
    if !docker_available("image_labels_need_trust") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (net, octet) = network(&mut cleanup);
    let base = ensure_test_image();
    let image = format!("{}:latest", unique_name("dehandler-test-labelled"));
    let route_label = format!("{prefix}.route=add 10.77.0.0/16 via 198.18.{octet}.1");
    let dockerfile = format!(
        "FROM {base}\nLABEL \"{prefix}.route\"=\"add 10.77.0.0/16 via 198.18.{octet}.1\"\n"
    );
    let context = dir.join("image");
    std::fs::create_dir_all(&context).unwrap();
    std::fs::write(context.join("Dockerfile"), dockerfile).unwrap();
    docker(&[
        "build",
        "--quiet",
        "--tag",
        &image,
        context.to_str().unwrap(),
    ]);
    cleanup.command("docker", &["image", "rm", "--force", &image]);

    for (trust, expect_route) in [("false", false), ("true", true)] {
        let state = dir.join(format!("trust-{trust}"));
        std::fs::create_dir_all(&state).unwrap();
        let server = Server::start(&state, &prefix, &dir, &["--trust-image-labels", trust]);
        let name = unique_name("dh-img");
        docker(&[
            "run",
            "-d",
            "--name",
            &name,
            "--network",
            &net,
            &image,
            "sleep",
            "600",
        ]);
        cleanup.command("docker", &["rm", "--force", &name]);
        let pid = container_pid(&name);
        let log = wait_for("the image label decision", Duration::from_secs(20), || {
            let log = server.log();
            (log.contains("label ignored") || log.contains("10.77.0.0/16")).then_some(log)
        });
        let routes = ip_json_in(&pid, &["route", "show", "10.77.0.0/16"]);
        let has_route = !routes.as_array().unwrap().is_empty();
        assert_eq!(
            has_route, expect_route,
            "TRUST_IMAGE_LABELS={trust}:\n{log}"
        );
        if !expect_route {
            assert!(
                log.contains("inherited it unchanged from its image"),
                "{log}"
            );
        }
        docker(&["rm", "--force", &name]);
    }

    // The same label set on the container itself, not inherited, applies without trust.
    let server = Server::start(&dir.join("trust-false"), &prefix, &dir, &[]);
    let name = unique_name("dh-own");
    let own = format!("{route_label} ");
    run_container(&mut cleanup, &name, &["--network", &net], &[own]);
    let pid = container_pid(&name);
    wait_for("the container's own label", Duration::from_secs(20), || {
        let routes = ip_json_in(&pid, &["route", "show", "10.77.0.0/16"]);
        (!routes.as_array().unwrap().is_empty()).then_some(())
    });
    drop(server);
}

#[test]
fn hostile_labels_run_nothing() {
    if !docker_available("hostile_labels_run_nothing") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (net, _) = network(&mut cleanup);
    let server = Server::start(&dir, &prefix, &dir, &["--max-segments", "8"]);
    let marker = dir.join("pwned");
    let m = marker.display();
    let hostile = [
        ("route", format!("add 10.1.0.0/16 via $(touch {m})")),
        ("rule", format!("add from `touch {m}` table 5")),
        ("address", format!("add 10.2.0.1/24 dev eth0 | touch {m}")),
        (
            "host-route",
            format!("add 10.3.0.0/16 via 10.0.0.1;rm -rf {m}; touch {m}"),
        ),
    ];
    let labels: Vec<String> = hostile
        .iter()
        .map(|(key, value)| format!("{prefix}.{key}={value}"))
        .collect();
    let name = unique_name("dh-hostile");
    run_container(&mut cleanup, &name, &["--network", &net], &labels);

    let log = wait_for("four rejected labels", Duration::from_secs(20), || {
        let log = server.log();
        (log.matches("label rejected").count() >= 4).then_some(log)
    });
    assert!(!marker.exists(), "a label ran a command");
    for (key, _) in hostile {
        let label = format!("label={prefix}.{key}");
        assert!(
            log.lines()
                .any(|l| l.contains("label rejected") && l.contains(&label)),
            "{key}:\n{log}"
        );
    }

    // A label over the segment limit is rejected with the limit's name.
    let name = unique_name("dh-many");
    let many = format!("{prefix}.route={}", ["del 10.9.0.0/16"; 9].join(";"));
    run_container(&mut cleanup, &name, &["--network", &net], &[many]);
    wait_for("the segment limit error", Duration::from_secs(20), || {
        server
            .log()
            .contains("more than the maximum of 8 (MAX_SEGMENTS)")
            .then_some(())
    });
}

#[test]
fn scripts_must_belong_to_root() {
    if !docker_available("scripts_must_belong_to_root") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (net, _) = network(&mut cleanup);
    let server = Server::start(&dir, &prefix, &dir, &[]);

    // A swarm task name has dots; a group-writable script must not run, a symbolic link
    // neither.
    let cases = [
        (unique_name("svc.1.task"), 0o755, true),
        (unique_name("dh-gw"), 0o775, false),
        (unique_name("dh-link"), 0o755, false),
    ];
    for (name, mode, _) in &cases {
        let ran = dir.join(format!("{name}.ran"));
        let body = format!("touch {}", ran.display());
        if name.starts_with("dh-link") {
            let target = dir.join(format!("target.{name}"));
            write_script(&target, &body, *mode);
            std::os::unix::fs::symlink(&target, dir.join(format!("start.{name}"))).unwrap();
        } else {
            write_script(&dir.join(format!("start.{name}")), &body, *mode);
        }
        run_container(
            &mut cleanup,
            name,
            &[
                "--network",
                &net,
                "--label",
                &format!("{prefix}.route=del 10.99.0.0/16"),
            ],
            &[],
        );
    }
    let (first, _, _) = &cases[0];
    wait_for("the swarm-named script", Duration::from_secs(20), || {
        dir.join(format!("{first}.ran")).exists().then_some(())
    });
    wait_for("two refused scripts", Duration::from_secs(20), || {
        (server.log().matches("script not run").count() >= 2).then_some(())
    });
    for (name, _, should_run) in &cases {
        assert_eq!(
            dir.join(format!("{name}.ran")).exists(),
            *should_run,
            "{name}"
        );
    }
    let log = server.log();
    assert!(log.contains("it is writable by group or others"), "{log}");
    assert!(log.contains("it is not a regular file"), "{log}");
}

#[test]
fn network_connect_retries_missing_device() {
    if !docker_available("network_connect_retries_missing_device") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (first, _) = network(&mut cleanup);
    let (second, octet) = network(&mut cleanup);
    let server = Server::start(&dir, &prefix, &dir, &[]);

    let name = unique_name("dh-c");
    let label = format!("{prefix}.route=add 10.66.0.0/16 via 198.18.{octet}.1 dev eth1");
    run_container(&mut cleanup, &name, &["--network", &first], &[label]);
    wait_for("the missing device error", Duration::from_secs(20), || {
        server
            .log()
            .contains("device \"eth1\" not found")
            .then_some(())
    });

    docker(&["network", "connect", &second, &name]);
    cleanup.command(
        "docker",
        &["network", "disconnect", "--force", &second, &name],
    );
    let pid = container_pid(&name);
    wait_for(
        "the route after network connect",
        Duration::from_secs(20),
        || {
            let routes = ip_json_in(&pid, &["route", "show", "10.66.0.0/16"]);
            (routes[0]["dev"] == "eth1").then_some(())
        },
    );
}

#[test]
fn restarted_server_applies_each_start_once() {
    if !docker_available("restarted_server_applies_each_start_once") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = test_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let (net, _) = network(&mut cleanup);
    let name = unique_name("dh-c");
    let counter = dir.join(format!("{name}.count"));
    write_script(
        &dir.join(format!("start.{name}")),
        &format!("echo run >> {}", counter.display()),
        0o755,
    );
    let label = format!("{prefix}.route=add 10.55.0.0/16 dev eth0");

    let server = Server::start(&dir, &prefix, &dir, &[]);
    run_container(&mut cleanup, &name, &["--network", &net], &[label]);
    wait_for("the start script", Duration::from_secs(20), || {
        counter.exists().then_some(())
    });
    drop(server);

    // A second server with the same state directory sweeps the same running container.
    let server = Server::start(&dir, &prefix, &dir, &[]);
    wait_for("the sweep", Duration::from_secs(20), || {
        server.log().contains("start already applied").then_some(())
    });
    let log = server.log();
    assert!(
        !log.contains("ip route add 10.55.0.0/16"),
        "the route was applied again:\n{log}"
    );
    assert_eq!(
        std::fs::read_to_string(&counter).unwrap(),
        "run\n",
        "the script ran twice"
    );

    // A restart of the container is a new start and is applied again.
    docker(&["restart", "--time", "1", &name]);
    wait_for("the second start", Duration::from_secs(20), || {
        (std::fs::read_to_string(&counter).unwrap_or_default() == "run\nrun\n").then_some(())
    });
}
