//! Settings: one name each for the environment, `docker plugin set` and the command line.
//!
//! A setting `NAME` is read from the flag `--name` (lower case, `-` for `_`), else from the
//! environment variable `NAME`, which is what `docker plugin set dehandler NAME=value` sets,
//! else from its default.

use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args};

use crate::labels::Limits;
use crate::policy::HostRoutePolicy;

/// Settings of `dehandler serve`.
#[derive(Debug, Clone, Args)]
pub struct Settings {
    /// Log filter, in tracing's syntax: a level (error, warn, info, debug, trace) or
    /// per-module directives such as `dehandler=debug`
    #[arg(long, env = "LOG_LEVEL", default_value = "info")]
    pub log_level: String,

    /// Prefix of the label keys: labels are PREFIX.address, PREFIX.route, PREFIX.rule and
    /// PREFIX.host-route
    #[arg(long, env = "LABEL_PREFIX", default_value = "docker-events")]
    pub label_prefix: String,

    /// Host directory of the start.<container name> scripts; a missing directory means no scripts
    #[arg(long, env = "SCRIPTS_DIR", default_value = "/etc/dehandler/scripts")]
    pub scripts_dir: PathBuf,

    /// Time after which a script that is still running is killed, with a unit: 500ms, 30s, 2m
    /// (a bare number is seconds)
    #[arg(long, env = "SCRIPT_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub script_timeout: Duration,

    /// Docker Engine API endpoint, a unix socket: unix:///PATH or /PATH
    #[arg(
        long,
        env = "DOCKER_HOST",
        default_value = "unix:///var/run/docker.sock"
    )]
    pub docker_host: String,

    /// Path of the unix socket on which dehandler serves the plugin API and its status
    #[arg(
        long,
        env = "SOCKET",
        default_value = "/run/docker/plugins/dehandler.sock"
    )]
    pub socket: PathBuf,

    /// Directory of the journal of applied container starts, which survives restarts
    #[arg(long, env = "STATE_DIR", default_value = "/var/lib/dehandler")]
    pub state_dir: PathBuf,

    /// Which host routes a container's host-route label may change: off; container (only
    /// routes whose gateway is an address of that container and whose device, if given, is
    /// the bridge of one of its networks); any
    #[arg(long, env = "HOST_ROUTES", default_value = "container")]
    pub host_routes: HostRoutePolicy,

    /// Apply dehandler labels that a container inherited unchanged from its image (true or
    /// false); when false, only labels set on the container itself apply
    #[arg(long, env = "TRUST_IMAGE_LABELS", default_value_t = false, action = ArgAction::Set)]
    pub trust_image_labels: bool,

    /// Maximum size of one label value, in bytes
    #[arg(long, env = "MAX_LABEL_BYTES", default_value_t = Limits::default().max_bytes)]
    pub max_label_bytes: usize,

    /// Maximum number of segments in one label value
    #[arg(long, env = "MAX_SEGMENTS", default_value_t = Limits::default().max_segments)]
    pub max_segments: usize,
}

impl Settings {
    /// Returns the label limits.
    pub fn limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_label_bytes,
            max_segments: self.max_segments,
        }
    }

    /// Returns the filesystem path of the Engine API socket.
    pub fn docker_socket_path(&self) -> &str {
        self.docker_host
            .strip_prefix("unix://")
            .unwrap_or(&self.docker_host)
    }
}

/// Parses a duration with a unit (`ms`, `s`, `m`, `h`), or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| {
        format!("invalid duration {text:?}: expected a number and a unit, as in 30s")
    })?;
    let seconds = match unit.trim() {
        "" | "s" | "sec" => value,
        "ms" => value / 1000.0,
        "m" | "min" => value * 60.0,
        "h" => value * 3600.0,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?}: expected ms, s, m or h"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("invalid duration {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Args;

    #[test]
    fn duration_units() {
        let cases = [
            ("30s", Duration::from_secs(30)),
            ("30", Duration::from_secs(30)),
            ("500ms", Duration::from_millis(500)),
            ("2m", Duration::from_secs(120)),
            ("1h", Duration::from_secs(3600)),
            ("1.5s", Duration::from_millis(1500)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    /// Every setting but SOCKET is a settable env entry of the plugin manifest, with the same
    /// default, except DOCKER_HOST, which the plugin points at its mount of the host's socket.
    #[test]
    fn plugin_manifest_lists_every_setting() {
        let manifest: serde_json::Value =
            serde_json::from_str(include_str!("../config.json")).unwrap();
        let env: Vec<&serde_json::Value> = manifest["Env"].as_array().unwrap().iter().collect();
        let command = Settings::augment_args(clap::Command::new("serve"));
        let mut names = Vec::new();
        for arg in command.get_arguments() {
            let Some(name) = arg.get_env().and_then(|n| n.to_str()) else {
                continue;
            };
            names.push(name.to_string());
            if name == "SOCKET" {
                continue;
            }
            let entry = env
                .iter()
                .find(|e| e["Name"] == name)
                .unwrap_or_else(|| panic!("config.json has no Env entry {name}"));
            assert_eq!(entry["Settable"], serde_json::json!(["value"]), "{name}");
            if name != "DOCKER_HOST" {
                let default = arg.get_default_values()[0].to_str().unwrap();
                assert_eq!(entry["Value"], default, "default of {name}");
            }
        }
        for entry in env {
            let name = entry["Name"].as_str().unwrap();
            assert!(
                names.iter().any(|n| n == name),
                "config.json sets unknown {name}"
            );
        }
    }

    #[test]
    fn duration_errors() {
        for text in ["", "s", "10x", "-1s", "ten"] {
            assert!(parse_duration(text).is_err(), "{text} should be rejected");
        }
    }
}
