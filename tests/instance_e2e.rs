//! End to end: two `dehandler serve` processes with one label prefix. The second waits while
//! the first runs, answers its plugin socket meanwhile, and takes over when the first dies.

mod docker_support;

use std::time::Duration;

use docker_support::*;

#[test]
fn second_instance_waits_then_takes_over() {
    if !docker_available("second_instance_waits_then_takes_over") {
        return;
    }
    let mut cleanup = Cleanup::default();
    let first_dir = tempdir("first");
    let second_dir = tempdir("second");
    for dir in [first_dir.clone(), second_dir.clone()] {
        cleanup.push(format!("remove {}", dir.display()), move || {
            std::fs::remove_dir_all(&dir).map_err(|e| e.to_string())
        });
    }
    let prefix = unique_name("dhtest");
    let container = LabelledContainer::prepare(&mut cleanup, &second_dir);

    let mut first = Server::start(&first_dir, &prefix, &second_dir, &[]);
    wait_for("the first instance's lock", Duration::from_secs(10), || {
        first.log().contains("instance lock taken").then_some(())
    });
    let second = Server::start(&second_dir, &prefix, &second_dir, &[]);

    let expected = format!(
        "another dehandler instance is active for label prefix {prefix} (pid {})",
        first.child.id()
    );
    wait_for(
        "the second instance's error",
        Duration::from_secs(10),
        || second.log().contains(&expected).then_some(()),
    );
    let activate = second.request("POST", "/Plugin.Activate", "");
    assert!(
        activate.starts_with("HTTP/1.1 200"),
        "the waiting instance does not answer its socket: {activate}"
    );
    let log = second.log();
    assert!(
        !log.contains("instance lock taken"),
        "the second instance took the lock while the first held it:\n{log}"
    );
    assert_eq!(
        log.matches(&expected).count(),
        1,
        "the wait is logged more than once at error level:\n{log}"
    );

    first.child.kill().unwrap();
    first.child.wait().unwrap();
    wait_for(
        "the second instance to take over",
        Duration::from_secs(15),
        || second.log().contains("taking over").then_some(()),
    );

    container.start(&mut cleanup, &prefix);
    container.verify();
    let log = second.log();
    let change = format!(
        "ip route add 203.0.113.0/24 via 198.18.{}.1 metric 7",
        container.octet
    );
    assert!(
        log.contains(&change),
        "the second instance did not configure the container:\n{log}"
    );
}
