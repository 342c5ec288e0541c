//! Faults on the machine's Docker daemon: the plugin killed with SIGKILL while labelled
//! containers start. Each test prints its own figures.

mod docker_support;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use docker_support::*;

/// How many containers start while the plugin is killed.
const CONTAINERS: usize = 50;

/// How many `docker run` commands run at once.
const PARALLEL_RUNS: usize = 8;

fn write_counting_script(scripts_dir: &Path, name: &str) {
    use std::os::unix::fs::PermissionsExt;
    let script = scripts_dir.join(format!("start.{name}"));
    let count = scripts_dir.join(format!("{name}.runs"));
    std::fs::write(
        &script,
        format!("#!/bin/sh\necho run >> {}\n", count.display()),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn plugin_killed_during_starts_configures_each_once() {
    if !docker_available("plugin_killed_during_starts_configures_each_once") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let scripts_dir = tempdir("fault");
    let dir_to_remove = scripts_dir.clone();
    cleanup.push("remove the scripts directory", move || {
        std::fs::remove_dir_all(&dir_to_remove).map_err(|e| e.to_string())
    });
    let prefix = unique_name("dhtest");
    let octet = unique_octet();
    let network = unique_name("dh-n");
    docker(&[
        "network",
        "create",
        "--subnet",
        &format!("198.18.{octet}.0/24"),
        &network,
    ]);
    cleanup.command("docker", &["network", "rm", &network]);
    let image = ensure_test_image();

    let names: Vec<String> = (0..CONTAINERS).map(|_| unique_name("dh-k")).collect();
    for name in &names {
        write_counting_script(&scripts_dir, name);
        cleanup.command("docker", &["rm", "--force", name]);
    }
    let plugin = install_plugin(&mut cleanup, &prefix, &scripts_dir);
    let first_pid = wait_for("the plugin process", Duration::from_secs(10), || {
        plugin_pid(&plugin)
    });

    // Start the containers from a few threads while the main thread kills the plugin once a
    // fifth of them have started.
    let started = Arc::new(AtomicUsize::new(0));
    let label = format!("{prefix}.route=add 10.200.0.0/16 dev eth0 metric 9");
    let runners: Vec<_> = names
        .chunks(CONTAINERS.div_ceil(PARALLEL_RUNS))
        .map(|chunk| {
            let chunk = chunk.to_vec();
            let started = Arc::clone(&started);
            let (network, label, image) = (network.clone(), label.clone(), image.to_string());
            std::thread::spawn(move || {
                for name in chunk {
                    docker(&[
                        "run",
                        "-d",
                        "--name",
                        &name,
                        "--network",
                        &network,
                        "--label",
                        &label,
                        &image,
                        "sleep",
                        "600",
                    ]);
                    started.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    wait_for("a fifth of the starts", Duration::from_secs(120), || {
        (started.load(Ordering::SeqCst) >= CONTAINERS / 5).then_some(())
    });
    let killed_after = started.load(Ordering::SeqCst);
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(first_pid),
        nix::sys::signal::SIGKILL,
    )
    .expect("failed to kill the plugin");
    let killed_at = Instant::now();
    for runner in runners {
        runner.join().expect("a docker run thread panicked");
    }

    let second_pid = wait_for("the restarted plugin", Duration::from_secs(30), || {
        plugin_pid(&plugin).filter(|pid| *pid != first_pid)
    });
    for name in &names {
        let runs = scripts_dir.join(format!("{name}.runs"));
        wait_for(
            &format!("the start script of {name}"),
            Duration::from_secs(60),
            || runs.exists().then_some(()),
        );
    }
    let all_configured = killed_at.elapsed();
    // Give a second application, if there were one, time to happen before counting.
    std::thread::sleep(Duration::from_secs(2));

    let mut configured = 0;
    let mut runs_per_container = Vec::new();
    for name in &names {
        let runs = std::fs::read_to_string(scripts_dir.join(format!("{name}.runs"))).unwrap();
        runs_per_container.push(runs.lines().count());
        let pid = container_pid(name);
        let routes = ip_json_in(&pid, &["route", "show", "10.200.0.0/16"]);
        if routes[0]["metric"] == 9 {
            configured += 1;
        }
    }
    let max_runs = runs_per_container.iter().max().copied().unwrap_or(0);
    let min_runs = runs_per_container.iter().min().copied().unwrap_or(0);
    println!(
        "plugin pid {first_pid} killed after {killed_after} of {CONTAINERS} starts; restarted as pid {second_pid}; \
         {configured}/{CONTAINERS} configured {:.1} s after the kill; start script runs per container: min {min_runs}, max {max_runs}",
        all_configured.as_secs_f64()
    );
    assert_eq!(configured, CONTAINERS, "containers without their route");
    assert_eq!(
        (min_runs, max_runs),
        (1, 1),
        "each start script must run exactly once"
    );
}
