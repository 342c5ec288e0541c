//! End to end: `dehandler serve` started directly, as a service runs it, on the machine's
//! Docker daemon.

mod docker_support;

use std::path::PathBuf;
use std::time::Duration;

use docker_support::*;

fn scripts_dir(cleanup: &mut Cleanup) -> PathBuf {
    let dir = tempdir("serve");
    let to_remove = dir.clone();
    cleanup.push("remove the test directory", move || {
        std::fs::remove_dir_all(&to_remove).map_err(|e| e.to_string())
    });
    dir
}

#[test]
fn serve_answers_plugin_api() {
    let mut cleanup = Cleanup::default();
    let dir = scripts_dir(&mut cleanup);
    let server = Server::start(&dir, &unique_name("dhtest"), &dir, &[]);

    let activate = server.request("POST", "/Plugin.Activate", "");
    assert!(activate.starts_with("HTTP/1.1 200"), "{activate}");
    assert!(
        activate.contains(r#"{"Implements":["authz"]}"#),
        "{activate}"
    );

    let body = r#"{"RequestMethod":"POST","RequestUri":"/v1.41/containers/x/start"}"#;
    for hook in ["/AuthZPlugin.AuthZReq", "/AuthZPlugin.AuthZRes"] {
        let reply = server.request("POST", hook, body);
        assert!(reply.starts_with("HTTP/1.1 200"), "{hook}: {reply}");
        assert!(reply.contains(r#""Allow":true"#), "{hook}: {reply}");
    }

    let unknown = server.request("POST", "/VolumeDriver.Create", "{}");
    assert!(unknown.starts_with("HTTP/1.1 404"), "{unknown}");
}

#[test]
fn serve_configures_labelled_container() {
    if !docker_available("serve_configures_labelled_container") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = scripts_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let container = LabelledContainer::prepare(&mut cleanup, &dir);
    let server = Server::start(&dir, &prefix, &dir, &[]);

    container.start(&mut cleanup, &prefix);
    container.verify();

    let log = server.log();
    let octet = container.octet;
    let change = format!("ip route add 203.0.113.0/24 via 198.18.{octet}.1 metric 7");
    assert!(
        log.contains(&change),
        "the log has no line for {change:?}:\n{log}"
    );
    assert!(
        log.contains(&format!("started {}", container.name)),
        "the log lacks the script's output:\n{log}"
    );
}

#[test]
fn serve_rejects_broken_label_and_applies_others() {
    if !docker_available("serve_rejects_broken_label_and_applies_others") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = scripts_dir(&mut cleanup);
    let prefix = unique_name("dhtest");
    let server = Server::start(&dir, &prefix, &dir, &[]);
    let image = ensure_test_image();
    let name = unique_name("dh-c");
    let network = unique_name("dh-n");
    let octet = unique_octet();
    let subnet = format!("198.18.{octet}.0/24");
    docker(&["network", "create", "--subnet", &subnet, &network]);
    cleanup.command("docker", &["network", "rm", &network]);

    // The route label's second segment is broken, so none of its segments apply. The
    // address label is fine and applies. The rule label's kernel error on its first segment
    // does not stop its second.
    let address = format!("{prefix}.address=add 198.18.{octet}.60/24 dev eth0");
    let route = format!(
        "{prefix}.route=add 10.9.0.0/16 via 198.18.{octet}.1; add 10.10.0.0/16 via $(reboot)"
    );
    let rule = format!(
        "{prefix}.rule=add goto 1 priority 5000; add from 198.18.{octet}.60 table 100 priority 5001"
    );
    // A mistyped key is not applied, and the log warns about it.
    let mistyped = format!("{prefix}.routes=add 10.11.0.0/16 via 198.18.{octet}.1");
    docker(&[
        "run",
        "-d",
        "--name",
        &name,
        "--network",
        &network,
        "--label",
        &address,
        "--label",
        &route,
        "--label",
        &rule,
        "--label",
        &mistyped,
        image,
        "sleep",
        "600",
    ]);
    cleanup.command("docker", &["rm", "--force", &name]);
    let pid = container_pid(&name);

    wait_for("the rule label", Duration::from_secs(20), || {
        let rules = ip_json_in(&pid, &["rule", "show", "priority", "5001"]);
        (!rules.as_array().unwrap().is_empty()).then_some(())
    });
    let addresses = ip_json_in(&pid, &["-4", "address", "show", "dev", "eth0"]);
    let has_address = addresses[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a["local"] == format!("198.18.{octet}.60"));
    assert!(has_address, "address label not applied: {addresses}");
    let routes = ip_json_in(&pid, &["route", "show", "10.9.0.0/16"]);
    assert_eq!(
        routes,
        serde_json::json!([]),
        "a segment of the rejected label was applied"
    );

    let log = server.log();
    let error_line = log
        .lines()
        .find(|line| line.contains("label rejected"))
        .unwrap_or_else(|| panic!("no error for the broken label:\n{log}"));
    for part in [
        name.as_str(),
        &format!("{prefix}.route"),
        "segment 2",
        "$(reboot)",
    ] {
        assert!(
            error_line.contains(part),
            "the error lacks {part:?}: {error_line}"
        );
    }

    let warning = log
        .lines()
        .find(|line| line.contains("not a dehandler label"))
        .unwrap_or_else(|| panic!("no warning for the mistyped key:\n{log}"));
    assert!(warning.contains(&format!("{prefix}.routes")), "{warning}");
    let routes = ip_json_in(&pid, &["route", "show", "10.11.0.0/16"]);
    assert_eq!(
        routes,
        serde_json::json!([]),
        "the mistyped label was applied"
    );
}
