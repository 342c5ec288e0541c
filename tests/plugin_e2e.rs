//! End to end: the managed plugin as `make install` builds it, on the machine's Docker daemon.
//!
//! The test installs the plugin under a name and label prefix of its own, so it cannot clash
//! with an installed `dehandler`, and removes it at the end.

mod docker_support;

use std::time::Duration;

use docker_support::*;

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
