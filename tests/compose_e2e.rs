//! End to end: examples/compose.yaml with docker-compose, dehandler running as a privileged
//! container built by `make image`.
//!
//! The test runs a copy of the example in which the label prefix, the addresses, the macvlan
//! parent, the image names and the host paths are replaced by the test's own: the prefix is
//! unique, the LAN is 198.18.N.0/24 on one end of a veth pair that the test creates, and the
//! subnet behind the app is 198.19.N.0/24 (RFC 2544's benchmarking range).

mod docker_support;

use std::path::Path;
use std::time::Duration;

use docker_support::*;

/// Builds the image with `make image` under a tag of its own; the cleanup removes it.
fn build_image(cleanup: &mut Cleanup) -> String {
    let tag = format!("{}:latest", unique_name("dehandler-test-image"));
    let root = env!("CARGO_MANIFEST_DIR");
    let output = run("make", &["-C", root, "image", &format!("IMAGE={tag}")]);
    assert!(
        output.status.success(),
        "make image failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    cleanup.command("docker", &["rmi", &tag]);
    tag
}

#[test]
fn compose_example_configures_app() {
    if !docker_available("compose_example_configures_app") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let dir = tempdir("compose");
    let to_remove = dir.clone();
    cleanup.push("remove the test directory", move || {
        std::fs::remove_dir_all(&to_remove).map_err(|e| e.to_string())
    });
    let image = build_image(&mut cleanup);
    let test_image = ensure_test_image();

    // The macvlan parent, with the host's address on the LAN; deleting it deletes its peer.
    let octet = unique_octet();
    let parent = unique_name("dhm");
    let peer = format!("{parent}p");
    run_ok(
        "ip",
        &[
            "link", "add", &parent, "type", "veth", "peer", "name", &peer,
        ],
    );
    cleanup.command("ip", &["link", "del", &parent]);
    run_ok(
        "ip",
        &[
            "address",
            "add",
            &format!("198.18.{octet}.2/24"),
            "dev",
            &parent,
        ],
    );
    run_ok("ip", &["link", "set", &parent, "up"]);
    run_ok("ip", &["link", "set", &peer, "up"]);
    let host_route = format!("198.19.{octet}.0/24");
    let route_to_remove = host_route.clone();
    cleanup.push(format!("ip route del {host_route}"), move || {
        // dehandler deletes the route when the app stops, unless dehandler stops first.
        let _ = std::process::Command::new("ip")
            .args(["route", "del", &route_to_remove])
            .output();
        Ok(())
    });

    let prefix = unique_name("dhtest");
    let project = unique_name("dhcompose");
    let scripts = dir.join("scripts");
    std::fs::create_dir_all(&scripts).unwrap();
    let state = dir.join("state");
    let example = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/compose.yaml"),
    )
    .unwrap();
    let compose = example
        .replace("docker-events", &prefix)
        .replace("192.168.5.", &format!("198.18.{octet}."))
        .replace("10.99.0.0/24", &host_route)
        .replace("parent: eth0", &format!("parent: {parent}"))
        .replace("image: dehandler:latest", &format!("image: {image}"))
        .replace(
            "image: example/app:latest",
            &format!("image: {test_image}\n    command: [\"sleep\", \"600\"]"),
        )
        .replace("/etc/dehandler/scripts", scripts.to_str().unwrap())
        .replace(
            "/var/lib/dehandler:/var/lib/dehandler",
            &format!("{}:/var/lib/dehandler", state.display()),
        );
    assert!(!compose.contains("192.168.5."), "{compose}");
    let file = dir.join("compose.yaml");
    std::fs::write(&file, compose).unwrap();

    // The start script writes where only the host's mount namespace has the directory, so
    // its output proves that it ran there with a host path as SCRIPTS_DIR.
    let app = format!("{project}_app_1");
    let marker = dir.join("script-ran");
    let script = scripts.join(format!("start.{app}"));
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho \"$DEHANDLER_CONTAINER_NAME\" > {}\n",
            marker.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let file_text = file.to_str().unwrap().to_string();
    let compose_args = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "-p".to_string(),
            project.clone(),
            "-f".into(),
            file_text.clone(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    };
    let down = compose_args(&["down", "-v", "--remove-orphans"]);
    cleanup.push("docker-compose down", move || {
        let output = std::process::Command::new("docker-compose")
            .args(&down)
            .output()
            .map_err(|e| e.to_string())?;
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).into_owned())
        }
    });
    let up = compose_args(&["up", "-d"]);
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    run_ok("docker-compose", &up);

    let ran = wait_for("the start script", Duration::from_secs(30), || {
        std::fs::read_to_string(&marker).ok()
    });
    assert_eq!(ran.trim(), app);

    let pid = container_pid(&app);
    let addresses = ip_json_in(&pid, &["-4", "address", "show", "dev", "eth0"]);
    let locals: Vec<String> = addresses[0]["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| format!("{}/{}", a["local"].as_str().unwrap(), a["prefixlen"]))
        .collect();
    assert!(
        locals.contains(&format!("198.18.{octet}.20/24")),
        "addresses: {locals:?}"
    );
    let rules = ip_json_in(&pid, &["rule", "show", "priority", "1000"]);
    assert_eq!(rules[0]["src"], format!("198.18.{octet}.20"), "{rules}");
    assert_eq!(rules[0]["table"], "100", "{rules}");
    let table = ip_json_in(&pid, &["route", "show", "table", "100"]);
    assert_eq!(table[0]["dst"], "default", "{table}");
    assert_eq!(table[0]["gateway"], format!("198.18.{octet}.1"), "{table}");
    assert_eq!(table[0]["dev"], "eth0", "{table}");
    let host = ip_json_host(&["route", "show", &host_route]);
    assert_eq!(host[0]["gateway"], format!("198.18.{octet}.10"), "{host}");

    // The status command in the image, run where the container's socket is.
    let dehandler = format!("{project}_dehandler_1");
    let status = docker(&["exec", &dehandler, "/dehandler", "status", "--json"]);
    let report: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(report["state"], "active", "{report}");
    assert_eq!(report["label_prefix"], prefix.as_str(), "{report}");
}
