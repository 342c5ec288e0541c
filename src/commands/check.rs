//! `dehandler check`: validates the dehandler labels of compose files and of `--label`
//! arguments without touching any network namespace.
//!
//! Every label value is parsed as the plugin parses it, so an error here is a label the plugin
//! would reject. Warnings name forms that iproute2 accepts but that are likely mistakes.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

use dehandler::iproute;
use dehandler::labels::LabelKind;

/// The file names `docker compose` looks for, in its order.
const COMPOSE_FILE_NAMES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yaml",
    "docker-compose.yml",
];

/// The maximum depth of `<<` merge keys followed, so that a merge cycle cannot loop.
const MAX_MERGE_DEPTH: usize = 8;

/// Arguments of `dehandler check`.
#[derive(Debug, Args)]
#[command(after_help = "\
Exit status: 0 when no label has an error (warnings alone still give 0), 1 when any label, \
file or argument has an error.

Warnings: route \"pref N\" (the IPv6 router preference, not the metric), the dsfield \
abbreviations \"d\" and \"ds\" (not dev), rule \"t\" and \"tu\" (tun_id, not table), the rule \
type broadcast (\"b\"), which makes a rule that does nothing, numbers with a leading 0 \
(octal), host bits in a route prefix, and label keys with the prefix but no known kind.")]
pub struct CheckArgs {
    /// Compose files whose services.*.labels to check; `-` reads standard input. Without FILE
    /// and --label: compose.yaml, compose.yml, docker-compose.yaml or docker-compose.yml in
    /// the current directory, the first that exists
    #[arg(value_name = "FILE")]
    files: Vec<PathBuf>,

    /// A label to check, as KEY=VALUE, for example
    /// --label 'docker-events.route=add default via 10.0.0.1'; repeatable
    #[arg(long = "label", value_name = "KEY=VALUE")]
    labels: Vec<String>,

    /// Prefix of the label keys: labels are PREFIX.address, PREFIX.route, PREFIX.rule and
    /// PREFIX.host-route
    #[arg(long, env = "LABEL_PREFIX", default_value = "docker-events")]
    label_prefix: String,
}

/// The severity of a problem: an error fails the check, a warning does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Severity {
    Error,
    Warning,
}

/// One problem found, with where it was found.
#[derive(Debug, Clone)]
struct Problem {
    severity: Severity,
    /// `FILE:LINE`, `FILE` or `--label`.
    location: String,
    service: Option<String>,
    label: Option<String>,
    /// The description of the problem, as the parser gives it: `segment N "…": at "…": reason`.
    detail: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {severity}: ", self.location)?;
        if let Some(service) = &self.service {
            write!(f, "service {service}: ")?;
        }
        if let Some(label) = &self.label {
            write!(f, "label {label}: ")?;
        }
        f.write_str(&self.detail)
    }
}

/// One label to check and where it came from.
struct LabelSource<'a> {
    location: String,
    service: Option<&'a str>,
    key: &'a str,
    value: &'a str,
}

/// Runs `dehandler check` and returns its exit status.
pub fn run(args: CheckArgs) -> ExitCode {
    let mut problems = Vec::new();
    let mut checked = 0;

    let files = if args.files.is_empty() && args.labels.is_empty() {
        match default_compose_file() {
            Some(file) => vec![file],
            None => {
                eprintln!(
                    "error: no compose file given and none found in the current directory \
                     (looked for {}): give FILE or --label KEY=VALUE",
                    COMPOSE_FILE_NAMES.join(", ")
                );
                return ExitCode::FAILURE;
            }
        }
    } else {
        args.files.clone()
    };

    for file in &files {
        checked += check_file(file, &args.label_prefix, &mut problems);
    }
    for label in &args.labels {
        checked += check_label_argument(label, &args.label_prefix, &mut problems);
    }

    for problem in &problems {
        println!("{problem}");
    }
    let errors = problems
        .iter()
        .filter(|p| p.severity == Severity::Error)
        .count();
    let warnings = problems.len() - errors;
    eprintln!("{checked} dehandler labels checked: {errors} errors, {warnings} warnings");
    if errors > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn default_compose_file() -> Option<PathBuf> {
    COMPOSE_FILE_NAMES
        .iter()
        .map(PathBuf::from)
        .find(|path| path.is_file())
}

/// Checks one `--label KEY=VALUE` argument and returns the number of dehandler labels checked.
fn check_label_argument(argument: &str, prefix: &str, problems: &mut Vec<Problem>) -> usize {
    let Some((key, value)) = argument.split_once('=') else {
        problems.push(Problem {
            severity: Severity::Error,
            location: "--label".to_string(),
            service: None,
            label: None,
            detail: format!("invalid argument {argument:?}: expected KEY=VALUE"),
        });
        return 0;
    };
    if !key.starts_with(&format!("{prefix}.")) {
        problems.push(Problem {
            severity: Severity::Warning,
            location: "--label".to_string(),
            service: None,
            label: Some(key.to_string()),
            detail: format!(
                "not a dehandler label: the key does not start with \"{prefix}.\" (set the prefix with --label-prefix)"
            ),
        });
        return 0;
    }
    let source = LabelSource {
        location: "--label".to_string(),
        service: None,
        key,
        value,
    };
    check_label(&source, prefix, problems)
}

/// Checks the labels of every service of one compose file and returns the number of dehandler
/// labels checked.
fn check_file(path: &Path, prefix: &str, problems: &mut Vec<Problem>) -> usize {
    let name = if path == Path::new("-") {
        "<stdin>".to_string()
    } else {
        path.display().to_string()
    };
    let file_error = |detail: String| Problem {
        severity: Severity::Error,
        location: name.clone(),
        service: None,
        label: None,
        detail,
    };

    let text = match read_input(path) {
        Ok(text) => text,
        Err(error) => {
            problems.push(file_error(format!("failed to read the file: {error}")));
            return 0;
        }
    };
    let documents = match MarkedYaml::load_from_str(&text) {
        Ok(documents) => documents,
        Err(error) => {
            problems.push(file_error(format!("invalid YAML: {error}")));
            return 0;
        }
    };

    let mut checked = 0;
    for document in &documents {
        let Some(services) = mapping_get(document, "services") else {
            continue;
        };
        if !services.data.is_mapping() {
            problems.push(file_error(
                "invalid compose file: \"services\" is not a mapping".to_string(),
            ));
            continue;
        }
        for (service_key, service) in mapping_entries(services) {
            let service_name = scalar_text(service_key).unwrap_or_default();
            let Some(labels) = mapping_get(service, "labels") else {
                continue;
            };
            for (key, value, line) in label_pairs(labels) {
                let source = LabelSource {
                    location: format!("{name}:{line}"),
                    service: Some(&service_name),
                    key: &key,
                    value: &value,
                };
                checked += check_label(&source, prefix, problems);
            }
        }
    }
    checked
}

fn read_input(path: &Path) -> std::io::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        Ok(text)
    } else {
        std::fs::read_to_string(path)
    }
}

/// Checks one label when its key has the dehandler prefix, and returns 1 when it did.
fn check_label(source: &LabelSource<'_>, prefix: &str, problems: &mut Vec<Problem>) -> usize {
    let Some(suffix) = source
        .key
        .strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('.'))
    else {
        return 0;
    };
    let problem = |severity, detail| Problem {
        severity,
        location: source.location.clone(),
        service: source.service.map(str::to_string),
        label: Some(source.key.to_string()),
        detail,
    };

    let Some(kind) = LabelKind::ALL.into_iter().find(|k| k.suffix() == suffix) else {
        let known: Vec<String> = LabelKind::ALL.iter().map(|k| k.key(prefix)).collect();
        problems.push(problem(
            Severity::Warning,
            format!(
                "unknown dehandler label: dehandler reads only {}",
                known.join(", ")
            ),
        ));
        return 0;
    };

    if let Err(error) = iproute::parse_value(kind.object(), source.value) {
        problems.push(problem(Severity::Error, error.to_string()));
    }
    for warning in iproute::lint_value(kind.object(), source.value) {
        problems.push(problem(Severity::Warning, warning.to_string()));
    }
    1
}

// ---------------------------------------------------------------------------------------------
// YAML

/// Returns the entries of a mapping, with the entries of `<<` merge keys after the mapping's
/// own and only where the mapping has no entry of that key, as docker compose merges them.
fn mapping_entries<'n, 'i>(
    node: &'n MarkedYaml<'i>,
) -> Vec<(&'n MarkedYaml<'i>, &'n MarkedYaml<'i>)> {
    let mut entries = Vec::new();
    collect_entries(node, 0, &mut entries);
    entries
}

fn collect_entries<'n, 'i>(
    node: &'n MarkedYaml<'i>,
    depth: usize,
    entries: &mut Vec<(&'n MarkedYaml<'i>, &'n MarkedYaml<'i>)>,
) {
    let Some(mapping) = node.data.as_mapping() else {
        return;
    };
    let mut merged = Vec::new();
    for (key, value) in mapping {
        if scalar_text(key).as_deref() == Some("<<") {
            merged.push(value);
            continue;
        }
        let text = scalar_text(key);
        if !entries.iter().any(|(k, _)| scalar_text(k) == text) {
            entries.push((key, value));
        }
    }
    if depth >= MAX_MERGE_DEPTH {
        return;
    }
    for value in merged {
        match &value.data {
            YamlData::Sequence(items) => {
                for item in items {
                    collect_entries(item, depth + 1, entries);
                }
            }
            _ => collect_entries(value, depth + 1, entries),
        }
    }
}

/// Returns the value of a key of a mapping, merge keys included.
fn mapping_get<'n, 'i>(node: &'n MarkedYaml<'i>, key: &str) -> Option<&'n MarkedYaml<'i>> {
    mapping_entries(node)
        .into_iter()
        .find(|(k, _)| scalar_text(k).as_deref() == Some(key))
        .map(|(_, value)| value)
}

/// Returns the labels of a service as (key, value, line): from a mapping, or from a list of
/// `KEY=VALUE` strings, where a `KEY` without `=` has an empty value as in docker compose.
fn label_pairs(labels: &MarkedYaml<'_>) -> Vec<(String, String, usize)> {
    if let YamlData::Sequence(items) = &labels.data {
        return items
            .iter()
            .filter_map(|item| {
                let text = scalar_text(item)?;
                let (key, value) = text.split_once('=').unwrap_or((&text, ""));
                Some((key.to_string(), value.to_string(), item.span.start.line()))
            })
            .collect();
    }
    mapping_entries(labels)
        .into_iter()
        .filter_map(|(key, value)| {
            Some((
                scalar_text(key)?,
                scalar_text(value).unwrap_or_default(),
                key.span.start.line(),
            ))
        })
        .collect()
}

/// Returns a scalar as the string docker compose would make of it; `None` for a collection.
fn scalar_text(node: &MarkedYaml<'_>) -> Option<String> {
    match &node.data {
        YamlData::Value(scalar) => Some(match scalar {
            Scalar::Null => String::new(),
            Scalar::Boolean(b) => b.to_string(),
            Scalar::Integer(i) => i.to_string(),
            Scalar::FloatingPoint(f) => f.to_string(),
            Scalar::String(s) => s.to_string(),
        }),
        YamlData::Representation(text, _, _) => Some(text.to_string()),
        YamlData::Tagged(_, inner) => scalar_text(inner),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check_text(text: &str) -> Vec<String> {
        let documents = MarkedYaml::load_from_str(text).unwrap();
        let mut found = Vec::new();
        for document in &documents {
            let services = mapping_get(document, "services").unwrap();
            for (name, service) in mapping_entries(services) {
                let Some(labels) = mapping_get(service, "labels") else {
                    continue;
                };
                for (key, value, line) in label_pairs(labels) {
                    found.push(format!(
                        "{}:{line}:{key}={value}",
                        scalar_text(name).unwrap()
                    ));
                }
            }
        }
        found
    }

    #[test]
    fn labels_in_map_and_list_form() {
        let text = "\
services:
  a:
    labels:
      x.route: add default via 10.0.0.1
      x.rule: 5
  b:
    labels:
      - x.route=add 10.0.0.0/8 dev eth0; del default
      - x.address
";
        assert_eq!(
            check_text(text),
            [
                "a:4:x.route=add default via 10.0.0.1",
                "a:5:x.rule=5",
                "b:8:x.route=add 10.0.0.0/8 dev eth0; del default",
                "b:9:x.address=",
            ]
        );
    }

    #[test]
    fn merge_keys_add_labels() {
        let text = "\
x-common: &common
  labels:
    x.route: add default via 10.0.0.1
    x.rule: add table 5
services:
  a:
    <<: *common
    image: busybox
  b:
    labels:
      <<: { x.route: add 10.0.0.0/8 dev eth0 }
      x.route: del default
";
        assert_eq!(
            check_text(text),
            [
                "a:3:x.route=add default via 10.0.0.1",
                "a:4:x.rule=add table 5",
                "b:12:x.route=del default",
            ]
        );
    }
}
