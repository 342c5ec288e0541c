//! The text form of a status report.

use std::fmt::Write;
use std::path::Path;

use super::{ChangeResult, InstanceState, Report};
use crate::scripts::short_id;

/// Formats a report as text: the instance, each container start with its changes, then the
/// latest errors.
pub fn text(socket: &Path, report: &Report) -> String {
    let mut out = String::new();
    let state = match report.state {
        InstanceState::Active => "active",
        InstanceState::Waiting => "waiting for another instance with this label prefix",
    };
    let _ = writeln!(
        out,
        "dehandler {} (pid {}, label prefix {}, socket {}): {state}, started {}",
        report.version,
        report.pid,
        report.label_prefix,
        socket.display(),
        report.started_at
    );

    let _ = writeln!(
        out,
        "\ncontainers ({}, the last {} are kept):",
        report.containers.len(),
        report.max_containers
    );
    if report.containers.is_empty() {
        let _ = writeln!(out, "  none configured yet");
    }
    for container in &report.containers {
        let configured = match &container.configured_at {
            Some(at) => format!("configured {at}"),
            None => format!("being configured since {}", container.begun_at),
        };
        let _ = writeln!(
            out,
            "  {} ({}), started {}, {configured}",
            container.name,
            short_id(&container.id),
            container.started_at
        );
        if container.changes.is_empty() {
            let _ = writeln!(out, "    no changes");
        }
        for change in &container.changes {
            let position = change
                .segment
                .map(|segment| format!(" #{segment}"))
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "    {}{position}: {}: {}",
                change.label,
                change.change,
                describe(&change.result)
            );
        }
        if container.changes_dropped > 0 {
            let _ = writeln!(
                out,
                "    and {} more changes, not kept",
                container.changes_dropped
            );
        }
    }

    let _ = writeln!(
        out,
        "\nerrors ({}, the last {} are kept):",
        report.errors.len(),
        report.max_errors
    );
    if report.errors.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for error in &report.errors {
        let container = match (&error.container, &error.container_id) {
            (Some(name), Some(id)) => format!(" {name} ({})", short_id(id)),
            (Some(name), None) => format!(" {name}"),
            (None, Some(id)) => format!(" {}", short_id(id)),
            (None, None) => String::new(),
        };
        let _ = writeln!(out, "  {}{container}: {}", error.at, error.message);
    }
    out
}

fn describe(result: &ChangeResult) -> String {
    match result {
        ChangeResult::Applied => "applied".to_string(),
        ChangeResult::AlreadyPresent => "already present".to_string(),
        ChangeResult::AlreadyAbsent => "already absent".to_string(),
        ChangeResult::Error(message) => format!("error: {message}"),
        ChangeResult::NotAllowed(reason) => format!("not allowed: {reason}"),
        ChangeResult::Rejected(message) => format!("label rejected: {message}"),
    }
}

#[cfg(test)]
mod tests {
    use super::super::{ChangeReport, ContainerReport, ErrorReport};
    use super::*;

    #[test]
    fn text_lists_changes_and_errors() {
        let report = Report {
            version: "0.1.0".into(),
            pid: 7,
            label_prefix: "docker-events".into(),
            state: InstanceState::Active,
            started_at: "2025-01-01T00:00:00Z".into(),
            containers: vec![ContainerReport {
                id: "0123456789abcdef".into(),
                name: "web".into(),
                started_at: "2025-01-01T00:00:01.5Z".into(),
                begun_at: "2025-01-01T00:00:02Z".into(),
                configured_at: Some("2025-01-01T00:00:03Z".into()),
                changes: vec![
                    ChangeReport {
                        label: "docker-events.address".into(),
                        segment: Some(1),
                        change: "ip address add 198.18.0.5/24 dev eth0".into(),
                        result: ChangeResult::AlreadyPresent,
                    },
                    ChangeReport {
                        label: "docker-events.rule".into(),
                        segment: None,
                        change: "add goto".into(),
                        result: ChangeResult::Rejected("segment 1: missing target".into()),
                    },
                ],
                changes_dropped: 0,
            }],
            errors: vec![ErrorReport {
                at: "2025-01-01T00:00:02Z".into(),
                container: Some("web".into()),
                container_id: Some("0123456789abcdef".into()),
                message: "docker-events.rule: label rejected: segment 1: missing target".into(),
            }],
            max_containers: 100,
            max_errors: 100,
        };
        let text = text(Path::new("/run/dehandler.sock"), &report);
        let expected = "\
dehandler 0.1.0 (pid 7, label prefix docker-events, socket /run/dehandler.sock): active, started 2025-01-01T00:00:00Z

containers (1, the last 100 are kept):
  web (0123456789ab), started 2025-01-01T00:00:01.5Z, configured 2025-01-01T00:00:03Z
    docker-events.address #1: ip address add 198.18.0.5/24 dev eth0: already present
    docker-events.rule: add goto: label rejected: segment 1: missing target

errors (1, the last 100 are kept):
  2025-01-01T00:00:02Z web (0123456789ab): docker-events.rule: label rejected: segment 1: missing target
";
        assert_eq!(text, expected);
    }
}
