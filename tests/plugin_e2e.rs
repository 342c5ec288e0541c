//! End to end: the managed plugin as `make install` builds it, on the machine's Docker daemon.
//!
//! The test installs the plugin under a name and label prefix of its own, so it cannot clash
//! with an installed `dehandler`, and removes it at the end.

mod docker_support;

use std::path::Path;
use std::time::Duration;

use docker_support::*;

/// Builds the plugin directory with the same make target that `make install` uses.
fn build_plugin_dir() -> &'static Path {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let output = std::process::Command::new("make")
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
    Box::leak(root.join("target/plugin").into_boxed_path())
}

/// Creates, configures and enables a test plugin; the cleanup disables and removes it.
fn install_plugin(cleanup: &mut Cleanup, prefix: &str, scripts_dir: &Path) -> String {
    let dir = build_plugin_dir();
    let plugin = format!("{}:latest", unique_name("dehandler-test"));
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

#[test]
fn plugin_configures_labelled_container() {
    if !docker_available("plugin_configures_labelled_container") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let scripts_dir = tempdir("scripts");
    let dir_to_remove = scripts_dir.clone();
    cleanup.push("remove the scripts directory", move || {
        std::fs::remove_dir_all(&dir_to_remove).map_err(|e| e.to_string())
    });
    let prefix = unique_name("dhtest");

    let container = LabelledContainer::prepare(&mut cleanup, &scripts_dir);
    let plugin = install_plugin(&mut cleanup, &prefix, &scripts_dir);

    let enabled = docker(&["plugin", "inspect", "--format", "{{.Enabled}}", &plugin]);
    assert_eq!(enabled, "true", "plugin {plugin} is not enabled");

    container.start(&mut cleanup, &prefix);
    container.verify();
}

#[test]
fn plugin_sweeps_containers_started_before_it() {
    if !docker_available("plugin_sweeps_containers_started_before_it") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let scripts_dir = tempdir("scripts");
    let dir_to_remove = scripts_dir.clone();
    cleanup.push("remove the scripts directory", move || {
        std::fs::remove_dir_all(&dir_to_remove).map_err(|e| e.to_string())
    });
    let prefix = unique_name("dhtest");

    let container = LabelledContainer::prepare(&mut cleanup, &scripts_dir);
    container.start(&mut cleanup, &prefix);
    // Nothing configures the container before the plugin exists.
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        !container.script_output.exists(),
        "the script ran before the plugin was enabled"
    );

    install_plugin(&mut cleanup, &prefix, &scripts_dir);
    container.verify();
}
