//! `dehandler check`, run as the built binary on compose files and --label arguments.

use std::io::Write;
use std::process::{Command, Output, Stdio};

const BROKEN: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/compose-broken.yaml"
);
const CLEAN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/compose-clean.yaml");

/// Runs `dehandler check ARGS…` with the default label prefix and optional standard input.
fn check(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dehandler"))
        .arg("check")
        .args(args)
        .env_remove("LABEL_PREFIX")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("failed to run dehandler");
    let mut input = child.stdin.take().expect("stdin is piped");
    input
        .write_all(stdin.unwrap_or("").as_bytes())
        .expect("failed to write stdin");
    drop(input);
    child
        .wait_with_output()
        .expect("failed to wait for dehandler")
}

fn stdout_lines(output: &Output) -> Vec<String> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The report line expected for each service of compose-broken.yaml: line, severity,
/// service, label and the text that follows.
const BROKEN_REPORT: &[(u32, &str, &str, &str, &str)] = &[
    (
        10,
        "error",
        "unknown-keyword",
        "docker-events.route",
        "segment 1 \"add 10.9.0.0/16 via 172.30.0.1 foo\": at \"foo\": unknown keyword",
    ),
    (
        15,
        "error",
        "bad-prefix-length",
        "docker-events.route",
        "segment 2 \"add 10.10.0.0/33 via 172.30.0.1\": at \"10.10.0.0/33\": invalid prefix length \"33\": the maximum is 32",
    ),
    (
        22,
        "error",
        "unknown-verb-in-list",
        "docker-events.address",
        "segment 1 \"ADD 10.0.0.2/24 dev eth0\": at \"ADD\": unknown verb",
    ),
    (
        27,
        "error",
        "missing-device",
        "docker-events.address",
        "segment 1 \"add 10.0.0.2/24\": the interface is missing",
    ),
    (
        32,
        "error",
        "family-mismatch-rule",
        "docker-events.rule",
        "at \"2001:db8::/32\": family mismatch: expected an IPv4 prefix",
    ),
    (
        37,
        "error",
        "bad-host-route",
        "docker-events.host-route",
        "at \"10.2.3.5.78\": invalid IPv4 address: more than 4 parts",
    ),
    (
        42,
        "warning",
        "route-pref-not-metric",
        "docker-events.route",
        "at \"pref\": \"pref\" sets the IPv6 router preference (RTA_PREF), not the route metric: write \"metric 100\"",
    ),
    (
        47,
        "warning",
        "route-d-not-dev",
        "docker-events.route",
        "at \"d\": \"d\" (read as \"dsfield\") sets the TOS (DS field), not the device",
    ),
    (
        52,
        "warning",
        "rule-t-not-table",
        "docker-events.rule",
        "at \"t\": \"t\" (read as \"tun_id\") matches a tunnel id, not a table",
    ),
    (
        4,
        "warning",
        "rule-tu-from-merge-key",
        "docker-events.rule",
        "at \"tu\": \"tu\" (read as \"tun_id\") matches a tunnel id, not a table",
    ),
    (
        62,
        "warning",
        "rule-b-broadcast",
        "docker-events.rule",
        "at \"b\": \"b\" (read as \"broadcast\") is the route type broadcast, which as a rule action is 3 (nop)",
    ),
    (
        67,
        "warning",
        "octal-metric",
        "docker-events.route",
        "at \"010\": the leading 0 makes \"010\" octal, as in C: it reads as 8",
    ),
    (
        72,
        "warning",
        "route-host-bits",
        "docker-events.route",
        "at \"10.0.5.6/24\": host bits are set beyond /24: the kernel rejects such an IPv4 route with EINVAL",
    ),
    (
        77,
        "warning",
        "unknown-label-kind",
        "docker-events.routes",
        "unknown dehandler label",
    ),
];

#[test]
fn check_reports_every_broken_case() {
    let output = check(&[BROKEN], None);
    let lines = stdout_lines(&output);

    for (line, severity, service, label, text) in BROKEN_REPORT {
        let head = format!("{BROKEN}:{line}: {severity}: service {service}: label {label}: ");
        let found = lines
            .iter()
            .any(|l| l.starts_with(&head) && l.contains(text));
        assert!(found, "no line {head}…{text}\nin:\n{}", lines.join("\n"));
    }
    assert_eq!(lines.len(), BROKEN_REPORT.len(), "{}", lines.join("\n"));
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn check_passes_clean_file() {
    let output = check(&[CLEAN], None);
    assert_eq!(stdout_lines(&output), Vec::<String>::new());
    assert_eq!(output.status.code(), Some(0));
    let summary = String::from_utf8_lossy(&output.stderr);
    assert!(
        summary.contains("6 dehandler labels checked: 0 errors, 0 warnings"),
        "{summary}"
    );
}

#[test]
fn check_warnings_alone_exit_zero() {
    let output = check(
        &[
            "--label",
            "docker-events.route=add 10.9.0.0/16 dev eth0 pref 5",
        ],
        None,
    );
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("--label: warning: label docker-events.route: segment 1 "),
        "{lines:?}"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn check_label_arguments() {
    let output = check(
        &[
            "--label",
            "docker-events.rule=add from 10.0.0.0/24 lookup 5 foo",
            "--label",
            "no-equals-sign",
            "--label",
            "other.route=add foo",
        ],
        None,
    );
    let lines = stdout_lines(&output);
    assert_eq!(
        lines,
        [
            "--label: error: label docker-events.rule: segment 1 \"add from 10.0.0.0/24 lookup 5 foo\": at \"foo\": unknown keyword or rule action",
            "--label: error: invalid argument \"no-equals-sign\": expected KEY=VALUE",
            "--label: warning: label other.route: not a dehandler label: the key does not start with \"docker-events.\" (set the prefix with --label-prefix)",
        ]
    );
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn check_honours_label_prefix() {
    let output = check(
        &[
            "--label-prefix",
            "test-prefix",
            "--label",
            "test-prefix.route=add 10/33",
        ],
        None,
    );
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].contains("label test-prefix.route: "), "{lines:?}");
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn check_reads_standard_input() {
    let compose =
        "services:\n  a:\n    labels:\n      - docker-events.route=add 10.0.0.0/8 dev eth0 d 10\n";
    let output = check(&["-"], Some(compose));
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("<stdin>:4: warning: service a: label docker-events.route: "),
        "{lines:?}"
    );
    assert_eq!(output.status.code(), Some(0));
}

#[test]
fn check_rejects_invalid_yaml_and_missing_file() {
    let output = check(&["-"], Some("services:\n  a: [unclosed\n"));
    let lines = stdout_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("<stdin>: error: invalid YAML: "),
        "{lines:?}"
    );
    assert_eq!(output.status.code(), Some(1));

    let missing = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/no-such-file.yaml");
    let output = check(&[missing], None);
    let lines = stdout_lines(&output);
    assert_eq!(
        lines,
        [format!(
            "{missing}: error: failed to read the file: No such file or directory (os error 2)"
        )]
    );
    assert_eq!(output.status.code(), Some(1));
}
