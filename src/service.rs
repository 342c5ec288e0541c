//! `dehandler install-service` and `uninstall-service`: dehandler as a systemd service that
//! starts and stops with docker.service.
//!
//! Installing copies the binary to `/usr/local/bin/dehandler`, writes the unit
//! `/etc/systemd/system/dehandler.service`, writes the settings file `/etc/default/dehandler`
//! unless it exists, and enables the unit. Every path is under `--root`. With the root `/` on a
//! host where systemd runs, `systemctl` enables the unit and reloads systemd; otherwise the
//! enablement symlink is created directly, as packagers do for an image or a package root.

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

use clap::Args;
use thiserror::Error;

use crate::config::Settings;

/// The unit's name.
pub const UNIT_NAME: &str = "dehandler.service";

/// Where the unit goes, under the root.
const UNIT_PATH: &str = "etc/systemd/system/dehandler.service";

/// The symlink that `systemctl enable` creates for `WantedBy=docker.service`, under the root.
const WANTS_LINK: &str = "etc/systemd/system/docker.service.wants/dehandler.service";

/// Where the binary is copied, under the root.
const BINARY_PATH: &str = "usr/local/bin/dehandler";

/// The settings file that the unit reads with `EnvironmentFile=`, under the root.
const SETTINGS_PATH: &str = "etc/default/dehandler";

/// The unit. `BindsTo=docker.service` stops dehandler whenever docker.service stops, and
/// `WantedBy=docker.service` starts it whenever docker.service starts, so it follows every
/// restart of the daemon.
const UNIT: &str = "\
[Unit]
Description=dehandler: container addresses, routes, policy rules and host routes from labels
Documentation=https://github.com/dehandler/dehandler
# BindsTo stops dehandler when docker.service stops or fails, and WantedBy=docker.service
# below starts it when docker.service starts, so it follows every restart of dockerd.
# After orders its start after dockerd's; dehandler retries the Engine API in any case.
BindsTo=docker.service
After=docker.service

[Service]
Type=simple
# Settings, one NAME=value per line; see `dehandler serve --help`.
EnvironmentFile=-/etc/default/dehandler
ExecStart=/usr/local/bin/dehandler serve
# A stop by systemd, as when docker.service stops, is no failure and is not restarted.
Restart=always
RestartSec=5s

[Install]
WantedBy=docker.service
";

/// Returns the settings file written when none exists: every setting of `dehandler serve`
/// commented out at its default.
fn settings_file() -> String {
    let mut text = String::from(
        "# Settings of dehandler.service, one NAME=value per line; `dehandler serve --help`\n\
         # explains each. Run `systemctl restart dehandler` after a change.\n",
    );
    let command = Settings::augment_args(clap::Command::new("serve"));
    for arg in command.get_arguments() {
        let Some(name) = arg.get_env().and_then(|name| name.to_str()) else {
            continue;
        };
        let default = arg
            .get_default_values()
            .first()
            .and_then(|value| value.to_str())
            .unwrap_or("");
        text.push_str(&format!("#{name}={default}\n"));
    }
    text
}

/// Arguments of `dehandler install-service`.
#[derive(Debug, Clone, Args)]
pub struct InstallArgs {
    /// Directory under which the files are installed, as for a package or an image
    #[arg(long, default_value = "/")]
    pub root: PathBuf,

    /// Binary to install; by default the running dehandler
    #[arg(long)]
    pub binary: Option<PathBuf>,
}

/// Arguments of `dehandler uninstall-service`.
#[derive(Debug, Clone, Args)]
pub struct UninstallArgs {
    /// Directory under which the files were installed
    #[arg(long, default_value = "/")]
    pub root: PathBuf,
}

/// A failed install or uninstall step.
#[derive(Debug, Error)]
pub enum ServiceError {
    #[error("failed to find the running binary: {0}; pass --binary PATH")]
    CurrentExe(io::Error),
    #[error("failed to {action} {path}: {source}")]
    File {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    #[error("`systemctl {args}` failed: {message}")]
    Systemctl { args: String, message: String },
}

/// Runs `dehandler install-service`.
pub fn run_install(args: InstallArgs) -> ExitCode {
    report(install(&args))
}

/// Runs `dehandler uninstall-service`.
pub fn run_uninstall(args: UninstallArgs) -> ExitCode {
    report(uninstall(&args.root))
}

fn report(result: Result<Vec<String>, ServiceError>) -> ExitCode {
    match result {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("dehandler: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Installs and enables the service; returns one line per step carried out.
pub fn install(args: &InstallArgs) -> Result<Vec<String>, ServiceError> {
    let root = &args.root;
    let mut done = Vec::new();

    let source = match &args.binary {
        Some(binary) => binary.clone(),
        None => std::env::current_exe().map_err(ServiceError::CurrentExe)?,
    };
    let binary = root.join(BINARY_PATH);
    copy_binary(&source, &binary)?;
    done.push(format!("installed {}", binary.display()));

    let unit = root.join(UNIT_PATH);
    write_file(&unit, UNIT, 0o644)?;
    done.push(format!("wrote {}", unit.display()));

    let settings = root.join(SETTINGS_PATH);
    if settings.exists() {
        done.push(format!("kept the settings in {}", settings.display()));
    } else {
        write_file(&settings, &settings_file(), 0o644)?;
        done.push(format!("wrote {}", settings.display()));
    }

    if uses_systemctl(root) {
        systemctl(&["daemon-reload"])?;
        systemctl(&["enable", UNIT_NAME])?;
        done.push(format!(
            "enabled {UNIT_NAME}; start it with `systemctl start {UNIT_NAME}`"
        ));
    } else {
        let link = root.join(WANTS_LINK);
        create_parent(&link)?;
        remove_if_present(&link)?;
        // systemctl links to the unit's path on the target system, not under the root.
        let target = Path::new("/").join(UNIT_PATH);
        std::os::unix::fs::symlink(&target, &link).map_err(|source| ServiceError::File {
            action: "create the symlink",
            path: link.clone(),
            source,
        })?;
        done.push(format!("enabled {UNIT_NAME}: {}", link.display()));
    }
    Ok(done)
}

/// Disables and removes the service and the installed binary, keeping the settings file;
/// returns one line per step carried out.
pub fn uninstall(root: &Path) -> Result<Vec<String>, ServiceError> {
    let mut done = Vec::new();
    let systemd = uses_systemctl(root);
    if systemd {
        systemctl(&["disable", "--now", UNIT_NAME])?;
        done.push(format!("stopped and disabled {UNIT_NAME}"));
    }
    for path in [WANTS_LINK, UNIT_PATH, BINARY_PATH] {
        let path = root.join(path);
        if remove_if_present(&path)? {
            done.push(format!("removed {}", path.display()));
        }
    }
    if systemd {
        systemctl(&["daemon-reload"])?;
    }
    let settings = root.join(SETTINGS_PATH);
    if settings.exists() {
        done.push(format!(
            "kept the settings in {}; remove it by hand if no longer needed",
            settings.display()
        ));
    }
    Ok(done)
}

/// Returns true when the root is this host's and systemd runs on it, so that `systemctl`
/// must enable the unit and reload systemd.
fn uses_systemctl(root: &Path) -> bool {
    // sd_booted(3): systemd runs when /run/systemd/system exists.
    root == Path::new("/") && Path::new("/run/systemd/system").is_dir()
}

fn systemctl(args: &[&str]) -> Result<(), ServiceError> {
    let failed = |message: String| ServiceError::Systemctl {
        args: args.join(" "),
        message,
    };
    let output = Command::new("systemctl")
        .args(args)
        .output()
        .map_err(|error| failed(error.to_string()))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(failed(format!(
            "{}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// Copies the binary through a temporary file and a rename, so that a running copy is
/// replaced whole and never half written.
fn copy_binary(source: &Path, destination: &Path) -> Result<(), ServiceError> {
    if source == destination {
        return Ok(());
    }
    create_parent(destination)?;
    let temporary = destination.with_extension("new");
    std::fs::copy(source, &temporary).map_err(|error| ServiceError::File {
        action: "copy the binary to",
        path: temporary.clone(),
        source: error,
    })?;
    set_mode(&temporary, 0o755)?;
    std::fs::rename(&temporary, destination).map_err(|source| ServiceError::File {
        action: "rename the new binary to",
        path: destination.to_path_buf(),
        source,
    })
}

fn write_file(path: &Path, content: &str, mode: u32) -> Result<(), ServiceError> {
    create_parent(path)?;
    std::fs::write(path, content).map_err(|source| ServiceError::File {
        action: "write",
        path: path.to_path_buf(),
        source,
    })?;
    set_mode(path, mode)
}

fn set_mode(path: &Path, mode: u32) -> Result<(), ServiceError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).map_err(|source| {
        ServiceError::File {
            action: "set the mode of",
            path: path.to_path_buf(),
            source,
        }
    })
}

fn create_parent(path: &Path) -> Result<(), ServiceError> {
    let Some(parent) = path.parent() else {
        return Ok(());
    };
    std::fs::create_dir_all(parent).map_err(|source| ServiceError::File {
        action: "create the directory",
        path: parent.to_path_buf(),
        source,
    })
}

/// Removes a file or symlink; returns false when there was none.
fn remove_if_present(path: &Path) -> Result<bool, ServiceError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(source) => Err(ServiceError::File {
            action: "remove",
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_follows_docker() {
        for line in [
            "BindsTo=docker.service",
            "After=docker.service",
            "WantedBy=docker.service",
            "Restart=always",
            "RestartSec=5s",
            "EnvironmentFile=-/etc/default/dehandler",
            "ExecStart=/usr/local/bin/dehandler serve",
        ] {
            assert!(UNIT.lines().any(|l| l == line), "the unit lacks {line}");
        }
    }

    #[test]
    fn settings_file_names_every_setting() {
        for name in [
            "LOG_LEVEL",
            "LABEL_PREFIX",
            "SCRIPTS_DIR",
            "SCRIPT_TIMEOUT",
            "DOCKER_HOST",
            "SOCKET",
            "STATE_DIR",
            "HOST_ROUTES",
            "TRUST_IMAGE_LABELS",
            "MAX_LABEL_BYTES",
            "MAX_SEGMENTS",
        ] {
            let line = format!("\n#{name}=");
            assert!(
                settings_file().contains(&line),
                "the settings file lacks {name}"
            );
        }
    }
}
