//! End to end: `dehandler status` requests the report of a running `dehandler serve`.

mod docker_support;

use std::path::Path;
use std::time::Duration;

use docker_support::*;

/// Runs `dehandler status ARGS… --socket SOCKET`, which must succeed, and returns its output.
fn status(socket: &Path, args: &[&str]) -> String {
    let mut full = vec!["status", "--socket", socket.to_str().unwrap()];
    full.extend_from_slice(args);
    run_ok(env!("CARGO_BIN_EXE_dehandler"), &full)
}

fn status_json(socket: &Path) -> serde_json::Value {
    let text = status(socket, &["--json"]);
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("invalid JSON ({error}): {text}"))
}

#[test]
fn status_reports_changes_and_errors() {
    if !docker_available("status_reports_changes_and_errors") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = tempdir("status");
    let to_remove = dir.clone();
    cleanup.push("remove the test directory", move || {
        std::fs::remove_dir_all(&to_remove).map_err(|e| e.to_string())
    });
    let prefix = unique_name("dhtest");
    let container = LabelledContainer::prepare(&mut cleanup, &dir);
    let server = Server::start(&dir, &prefix, &dir, &[]);

    container.start(&mut cleanup, &prefix);
    container.verify();

    let broken = unique_name("dh-c");
    let label = format!("{prefix}.route=add 10.10.0.0/16 via $(reboot)");
    docker(&[
        "run",
        "-d",
        "--name",
        &broken,
        "--label",
        &label,
        ensure_test_image(),
        "sleep",
        "600",
    ]);
    cleanup.command("docker", &["rm", "--force", &broken]);

    let report = wait_for(
        "both containers in the status",
        Duration::from_secs(20),
        || {
            let report = status_json(&server.socket);
            let done = report["containers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|c| !c["configured_at"].is_null())
                .count();
            (done == 2).then_some(report)
        },
    );
    assert_eq!(report["state"], "active", "{report}");
    assert_eq!(report["label_prefix"], prefix.as_str(), "{report}");

    let containers = report["containers"].as_array().unwrap();
    let labelled = containers
        .iter()
        .find(|c| c["name"] == container.name.as_str())
        .unwrap_or_else(|| panic!("{} missing: {report}", container.name));
    let changes = labelled["changes"].as_array().unwrap();
    let route = format!(
        "ip route add 203.0.113.0/24 via 198.18.{}.1 metric 7",
        container.octet
    );
    let route_change = changes
        .iter()
        .find(|c| c["change"] == route.as_str())
        .unwrap_or_else(|| panic!("no change {route:?}: {labelled}"));
    assert_eq!(route_change["label"], format!("{prefix}.route"));
    assert_eq!(route_change["segment"], 1);
    assert_eq!(route_change["result"], "applied");
    let script = changes
        .iter()
        .find(|c| c["label"] == "start script")
        .unwrap_or_else(|| panic!("no script result: {labelled}"));
    assert_eq!(script["result"], "applied", "{script}");

    let rejected = containers
        .iter()
        .find(|c| c["name"] == broken.as_str())
        .unwrap_or_else(|| panic!("{broken} missing: {report}"));
    assert_eq!(rejected["changes"][0]["result"], "rejected", "{rejected}");
    let error = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["container"] == broken.as_str())
        .unwrap_or_else(|| panic!("no error for {broken}: {report}"));
    assert!(
        error["message"].as_str().unwrap().contains("$(reboot)"),
        "{error}"
    );

    let text = status(&server.socket, &[]);
    assert!(text.contains(&format!("{route}: applied")), "{text}");
    assert!(text.contains("label rejected"), "{text}");
    assert!(text.contains(&broken), "{text}");
}

#[test]
fn status_of_waiting_instance() {
    let mut cleanup = Cleanup::default();
    let first_dir = tempdir("first");
    let second_dir = tempdir("second");
    for dir in [first_dir.clone(), second_dir.clone()] {
        cleanup.push(format!("remove {}", dir.display()), move || {
            std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())
        });
    }
    let prefix = unique_name("dhtest");
    let first = Server::start(&first_dir, &prefix, &first_dir, &[]);
    wait_for("the first instance's lock", Duration::from_secs(10), || {
        first.log().contains("instance lock taken").then_some(())
    });
    let second = Server::start(&second_dir, &prefix, &second_dir, &[]);

    assert_eq!(status_json(&first.socket)["state"], "active");
    assert_eq!(status_json(&second.socket)["state"], "waiting");
    let text = status(&second.socket, &[]);
    assert!(text.contains("waiting for another instance"), "{text}");
}

#[test]
fn status_fails_without_instance() {
    let dir = tempdir("nostatus");
    let output = run(
        env!("CARGO_BIN_EXE_dehandler"),
        &[
            "status",
            "--socket",
            dir.join("none.sock").to_str().unwrap(),
        ],
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("failed to send GET /status"), "{stderr}");
    assert!(stderr.contains("no dehandler instance replied"), "{stderr}");
}
