//! Differential test against iproute2: every label value of the corpus
//! (tests/data/ip-tails.tsv and tests/data/ip-tails-extra.tsv) is applied once with `ip`,
//! segment by segment, in one standard namespace, and once with the parser and the applier in
//! an identical one, and the two namespaces must end in the same state.
//!
//! `ip` runs under strace, which shows whether it sent anything to the kernel other than
//! device lookups. A segment that `ip` rejects before that is a parse error, and the project
//! must then reject the whole label and leave its namespace untouched.
//!
//! Extensions (a leading `-4`/`-6`, rules whose family comes from their addresses, forms that
//! iproute2 6.1 does not know yet) have no `ip` form of their own: each is compared with a
//! reference value for `ip` and reported apart.
//! The test needs root and strace; see `common::root_or_skip`.

mod common;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use dehandler::iproute::{Family, Object, parse_value, split_segments};
use dehandler::netlink::apply;
use serde_json::{Value, json};

use common::TestNamespace;

/// Reference values for extension cases that carry no `-4`/`-6`: what `ip` must run to reach
/// the state the project must reach.
const REFERENCES: &[(&str, &str)] = &[
    // iproute2 6.1 reads `proto` after an address as a second address and rejects it; later
    // versions send it as IFA_PROTO, which `ip -j address` of 6.1 does not print.
    ("x127", "add 10.61.0.1/24 dev eth1"),
    // iproute2 sends a rule without -6 as IPv4, and the kernel rejects the IPv6 prefix.
    ("p54", "-6 add from 2001:db8:5::/64 table 100 priority 1000"),
    (
        "x-ext-rule-flush-ipv6",
        "-6 add from 2001:db8:5::/64 table 100 priority 1000; -6 flush from 2001:db8:5::/64",
    ),
];

/// One row of a corpus file.
struct Case {
    id: String,
    object: Object,
    value: String,
}

fn read_cases(path: &Path) -> Vec<Case> {
    let text =
        fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            assert!(
                fields.len() >= 3,
                "{}: a row needs id, object and value: {line:?}",
                path.display()
            );
            Case {
                id: fields[0].to_string(),
                object: fields[1]
                    .parse()
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
                value: fields[2].to_string(),
            }
        })
        .collect()
}

/// What `ip` did with one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IpResult {
    /// `ip` exited 0.
    Done,
    /// `ip` failed after asking the kernel for more than a device lookup.
    KernelError,
    /// `ip` failed because a device does not exist.
    DeviceMissing,
    /// `ip` failed before sending anything but device lookups: a parse error.
    Rejected,
}

/// The netlink message types that mean `ip` asked the kernel to change or dump something:
/// RTM_NEWADDR to RTM_GETADDR (0x14-0x16), RTM_NEWROUTE to RTM_GETROUTE (0x18-0x1a) and
/// RTM_NEWRULE to RTM_GETRULE (0x20-0x22). RTM_GETLINK (0x12) is a device lookup.
const KERNEL_REQUESTS: &[&str] = &[
    "0x14", "0x15", "0x16", "0x18", "0x19", "0x1a", "0x20", "0x21", "0x22",
];

/// Runs `ip -n NAMESPACE [-4|-6] OBJECT WORDS…` under strace and classifies the result.
fn run_ip_segment(namespace: &str, object: Object, segment: &str, trace: &Path) -> IpResult {
    let words: Vec<&str> = segment.split_ascii_whitespace().collect();
    let mut args = vec!["-f", "-e", "trace=sendmsg,sendto", "-o"];
    let trace_path = trace.to_string_lossy().to_string();
    args.push(&trace_path);
    args.extend(["ip", "-n", namespace]);
    match words.split_first() {
        Some((option @ (&"-4" | &"-6"), rest)) => {
            args.push(option);
            args.push(object.as_str());
            args.extend(rest);
        }
        _ => {
            args.push(object.as_str());
            args.extend(&words);
        }
    }
    let output = Command::new("strace")
        .args(&args)
        .output()
        .unwrap_or_else(|e| panic!("failed to run strace ip: {e}"));
    if output.status.success() {
        return IpResult::Done;
    }

    let traced = fs::read_to_string(trace).unwrap_or_default();
    let asked_kernel = traced.split("nlmsg_type=").skip(1).any(|rest| {
        KERNEL_REQUESTS.iter().any(|t| {
            rest.starts_with(t) && !rest[t.len()..].starts_with(|c: char| c.is_ascii_hexdigit())
        }) || rest.starts_with("RTM_NEW")
            || rest.starts_with("RTM_DEL")
            || rest.starts_with("RTM_GETADDR")
            || rest.starts_with("RTM_GETROUTE")
            || rest.starts_with("RTM_GETRULE")
    });
    let stderr = String::from_utf8_lossy(&output.stderr);
    if asked_kernel {
        IpResult::KernelError
    } else if stderr.contains("Cannot find device") || stderr.contains("does not exist") {
        IpResult::DeviceMissing
    } else {
        IpResult::Rejected
    }
}

/// Replaces the parts of a dump that legitimately differ between two namespaces set up alike:
/// address lifetimes and route expiry times, which count down.
fn normalize(value: &mut Value) {
    match value {
        Value::Object(map) => {
            map.remove("valid_life_time");
            map.remove("preferred_life_time");
            if let Some(expires) = map.get_mut("expires") {
                *expires = json!("counting");
            }
            for item in map.values_mut() {
                normalize(item);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize),
        _ => {}
    }
}

/// Returns the state both namespaces must agree on: the addresses of every interface, the
/// routes of all tables and the rules, of both families.
fn state(ns: &TestNamespace) -> Value {
    let mut addresses = serde_json::Map::new();
    for link in ns.ip_json(&["address", "show"]) {
        let name = link["ifname"].as_str().unwrap_or_default().to_string();
        addresses.insert(name, link["addr_info"].clone());
    }
    // The text form shows what -j leaves out, such as metric lock bits.
    let route_text: Vec<String> = ns
        .ip(&["-6", "route", "show", "table", "all"])
        .lines()
        .chain(ns.ip(&["route", "show", "table", "all"]).lines())
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let mut out = Vec::new();
            let mut previous = "";
            for word in words {
                out.push(if previous == "expires" { "N" } else { word });
                previous = word;
            }
            out.join(" ")
        })
        .collect();
    let mut state = json!({
        "addresses": addresses,
        "routes4": ns.routes(Family::Inet, "all"),
        "routes6": ns.routes(Family::Inet6, "all"),
        "rules4": ns.rules(Family::Inet),
        "rules6": ns.rules(Family::Inet6),
        "route_text": route_text,
    });
    normalize(&mut state);
    state
}

/// Lists the lines that differ between two states, as `-` (first) and `+` (second).
fn difference(first: &Value, second: &Value) -> String {
    let first = serde_json::to_string_pretty(first).unwrap_or_default();
    let second = serde_json::to_string_pretty(second).unwrap_or_default();
    let first_lines: Vec<&str> = first.lines().collect();
    let second_lines: Vec<&str> = second.lines().collect();
    let mut out = String::new();
    for line in &first_lines {
        if !second_lines.contains(line) {
            out.push_str(&format!("    - {}\n", line.trim()));
        }
    }
    for line in &second_lines {
        if !first_lines.contains(line) {
            out.push_str(&format!("    + {}\n", line.trim()));
        }
    }
    if out.is_empty() {
        out.push_str("    (same lines in another order)\n");
    }
    out
}

/// Applies a value with `ip`, segment by segment, continuing after errors. Returns each
/// segment's result with its 1-based position.
fn apply_with_ip(
    ns: &TestNamespace,
    object: Object,
    value: &str,
    trace: &Path,
) -> Vec<(usize, IpResult)> {
    split_segments(value)
        .map(|(index, segment)| (index, run_ip_segment(&ns.name, object, segment, trace)))
        .collect()
}

/// Applies a value with the project, continuing after kernel errors as the label runner
/// does. Returns the position of the rejected segment when the value does not parse.
async fn apply_with_project(ns: &TestNamespace, object: Object, value: &str) -> Result<(), usize> {
    let requests = parse_value(object, value).map_err(|e| e.segment_index)?;
    let handle = ns.connect().await;
    for request in &requests {
        let _ = apply(&handle, request).await;
    }
    Ok(())
}

fn is_extension(case: &Case) -> bool {
    REFERENCES.iter().any(|(id, _)| *id == case.id)
        || split_segments(&case.value)
            .any(|(_, segment)| segment.starts_with("-4 ") || segment.starts_with("-6 "))
}

#[tokio::test]
async fn differential_against_iproute2() {
    if !common::root_or_skip("differential_against_iproute2") {
        return;
    }
    let strace = Command::new("strace").arg("-V").output();
    assert!(
        matches!(strace, Ok(ref o) if o.status.success()),
        "the differential test needs strace to see what ip sends: install strace"
    );

    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut cases = read_cases(&data.join("ip-tails.tsv"));
    cases.extend(read_cases(&data.join("ip-tails-extra.tsv")));
    let trace = std::env::temp_dir().join(format!(
        "dehandler-differential-{}.strace",
        std::process::id()
    ));

    let started = Instant::now();
    let mut baseline: Option<Value> = None;
    let (mut agreed, mut counted, mut changed) = (0, 0, 0);
    let (mut extensions_agreed, mut extensions) = (0, 0);
    let mut report = String::new();
    let mut extension_report = String::new();

    for case in &cases {
        let Some(by_ip) = TestNamespace::standard("differential_against_iproute2") else {
            return;
        };
        let Some(by_us) = TestNamespace::standard("differential_against_iproute2") else {
            return;
        };
        let fresh = baseline.get_or_insert_with(|| state(&by_us)).clone();

        let extension = is_extension(case);
        let reference = REFERENCES
            .iter()
            .find(|(id, _)| *id == case.id)
            .map_or(case.value.as_str(), |(_, value)| *value);
        let ip_results = apply_with_ip(&by_ip, case.object, reference, &trace);
        let ours = apply_with_project(&by_us, case.object, &case.value).await;
        let ip_state = state(&by_ip);
        let our_state = state(&by_us);

        let first_rejected = ip_results
            .iter()
            .find(|(_, result)| *result == IpResult::Rejected)
            .map(|(index, _)| *index);
        let verdict = match (first_rejected, ours) {
            (Some(ip_index), Err(our_index)) if ip_index == our_index && our_state == fresh => {
                Ok(())
            }
            (Some(ip_index), Err(our_index)) if ip_index != our_index => Err(format!(
                "ip rejects segment {ip_index}, the project segment {our_index}\n"
            )),
            (Some(_), Err(_)) => Err(format!(
                "the project rejected the value but changed its namespace:\n{}",
                difference(&fresh, &our_state)
            )),
            (Some(ip_index), Ok(())) => Err(format!(
                "ip rejects segment {ip_index} before asking the kernel, the project accepts the value\n"
            )),
            (None, Err(our_index)) => Err(format!(
                "the project rejects segment {our_index}, ip accepts every segment ({ip_results:?})\n"
            )),
            (None, Ok(())) if ip_state == our_state => Ok(()),
            (None, Ok(())) => Err(format!(
                "states differ (- ip, + project; ip: {ip_results:?}):\n{}",
                difference(&ip_state, &our_state)
            )),
        };

        let line = match &verdict {
            Ok(()) => None,
            Err(why) => Some(format!(
                "  {} {} {:?}: {why}",
                case.id, case.object, case.value
            )),
        };
        if extension {
            extensions += 1;
            match line {
                None => extensions_agreed += 1,
                Some(line) => extension_report.push_str(&line),
            }
            println!(
                "extension {} {} {:?}: reference `ip {}` -> {}",
                case.id,
                case.object,
                case.value,
                reference,
                if verdict.is_ok() {
                    "same state"
                } else {
                    "differs"
                }
            );
        } else {
            counted += 1;
            if ip_state != fresh {
                changed += 1;
            }
            match line {
                None => agreed += 1,
                Some(line) => report.push_str(&line),
            }
        }
    }
    let _ = fs::remove_file(&trace);

    println!(
        "differential: {agreed}/{counted} cases agree ({changed} changed the namespace); \
         extensions: {extensions_agreed}/{extensions} match their reference ({:.1} s)",
        started.elapsed().as_secs_f64()
    );
    assert!(
        report.is_empty() && extension_report.is_empty(),
        "differential: {agreed}/{counted} cases agree\n{report}\
         extensions: {extensions_agreed}/{extensions} match their reference\n{extension_report}"
    );
}
