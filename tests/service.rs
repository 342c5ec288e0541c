//! `dehandler install-service` and `uninstall-service` under a temporary root, and the
//! installed binary run as the unit runs it, with the settings file as its environment.
//! systemd itself is not started: the test starts `serve` as a child process.

mod docker_support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use docker_support::*;

fn dehandler(args: &[&str]) -> String {
    run_ok(env!("CARGO_BIN_EXE_dehandler"), args)
}

/// Reads the `NAME=value` lines of a settings file, skipping comments.
fn read_settings(path: &Path) -> Vec<(String, String)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|line| !line.trim_start().starts_with('#') && line.contains('='))
        .map(|line| {
            let (name, value) = line.split_once('=').unwrap();
            (name.trim().to_string(), value.trim().to_string())
        })
        .collect()
}

#[test]
fn install_service_under_root() {
    let root = tempdir("root");
    let root_text = root.to_str().unwrap();
    let output = dehandler(&[
        "install-service",
        "--root",
        root_text,
        "--binary",
        env!("CARGO_BIN_EXE_dehandler"),
    ]);
    assert!(output.contains("enabled dehandler.service"), "{output}");

    let unit = std::fs::read_to_string(root.join("etc/systemd/system/dehandler.service")).unwrap();
    for line in [
        "ExecStart=/usr/local/bin/dehandler serve",
        "BindsTo=docker.service",
        "After=docker.service",
        "Restart=always",
        "EnvironmentFile=-/etc/default/dehandler",
        "WantedBy=docker.service",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit lacks {line}");
    }

    let link = root.join("etc/systemd/system/docker.service.wants/dehandler.service");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("/etc/systemd/system/dehandler.service")
    );

    let binary = root.join("usr/local/bin/dehandler");
    let mode = std::fs::metadata(&binary).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "binary mode {mode:o}");

    let settings = std::fs::read_to_string(root.join("etc/default/dehandler")).unwrap();
    assert!(
        settings.contains("\n#LABEL_PREFIX=docker-events\n"),
        "{settings}"
    );

    // A second install keeps the settings that the owner edited.
    std::fs::write(root.join("etc/default/dehandler"), "LOG_LEVEL=debug\n").unwrap();
    let output = dehandler(&["install-service", "--root", root_text]);
    assert!(output.contains("kept the settings"), "{output}");
    assert_eq!(
        std::fs::read_to_string(root.join("etc/default/dehandler")).unwrap(),
        "LOG_LEVEL=debug\n"
    );

    let output = dehandler(&["uninstall-service", "--root", root_text]);
    assert!(output.contains("kept the settings"), "{output}");
    for gone in [
        &link,
        &binary,
        &root.join("etc/systemd/system/dehandler.service"),
    ] {
        assert!(
            std::fs::symlink_metadata(gone).is_err(),
            "{} still exists",
            gone.display()
        );
    }
    assert!(root.join("etc/default/dehandler").exists());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn installed_binary_serves_with_settings_file() {
    let root = tempdir("root");
    dehandler(&[
        "install-service",
        "--root",
        root.to_str().unwrap(),
        "--binary",
        env!("CARGO_BIN_EXE_dehandler"),
    ]);
    let prefix = unique_name("dhtest");
    let socket = root.join("run/dehandler.sock");
    let settings = root.join("etc/default/dehandler");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(&format!(
        "LABEL_PREFIX={prefix}\nSOCKET={}\nSTATE_DIR={}\nSCRIPTS_DIR={}\n",
        socket.display(),
        root.join("state").display(),
        root.join("scripts").display()
    ));
    std::fs::write(&settings, text).unwrap();

    // What systemd does with the unit: the settings file becomes the environment of
    // ExecStart.
    let mut child = Command::new(root.join("usr/local/bin/dehandler"))
        .arg("serve")
        .env_clear()
        .envs(read_settings(&settings))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let report = wait_for("the service's status", Duration::from_secs(10), || {
        let output = run(
            env!("CARGO_BIN_EXE_dehandler"),
            &["status", "--json", "--socket", socket.to_str().unwrap()],
        );
        output
            .status
            .success()
            .then(|| serde_json::from_slice::<serde_json::Value>(&output.stdout).unwrap())
    });
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::remove_dir_all(&root).unwrap();
    assert_eq!(report["label_prefix"], prefix.as_str(), "{report}");
}
