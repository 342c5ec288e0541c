//! The user's `start.<container name>` scripts.
//!
//! Scripts live on the host and run in the host's mount namespace, so they find the host's
//! shell and tools, as they did under the original bash service. Inside a managed plugin,
//! dehandler has a mount namespace of its own; its parent, the containerd shim, runs in the
//! host's. The script's child process therefore enters `/proc/<parent pid>/ns/mnt` between
//! fork and exec, and the scripts directory is looked up through `/proc/<parent pid>/root`.

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;

use crate::netns;

/// The `PATH` a script starts with.
const SCRIPT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The container event a script runs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScriptEvent {
    /// The container started: `start.<name>`.
    Start,
    /// The container's process exited: `stop.<name>`.
    Die,
}

impl ScriptEvent {
    /// Returns the event name, as `DEHANDLER_EVENT` gives it: `start` or `die`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScriptEvent::Start => "start",
            ScriptEvent::Die => "die",
        }
    }

    /// Returns the script name prefix: `start` or `stop`.
    pub fn script_prefix(self) -> &'static str {
        match self {
            ScriptEvent::Start => "start",
            ScriptEvent::Die => "stop",
        }
    }
}

/// A failed script run.
#[derive(Debug, Error)]
pub enum ScriptError {
    #[error("failed to start script {path}: {source}")]
    Spawn { path: PathBuf, source: io::Error },
    #[error("failed to wait for script {path}: {source}")]
    Wait { path: PathBuf, source: io::Error },
    #[error("script {path} timed out after {timeout:?} and was killed")]
    TimedOut { path: PathBuf, timeout: Duration },
    #[error("script {path} failed: {status}")]
    Failed { path: PathBuf, status: ExitStatus },
}

/// The container a script runs for; it becomes the script's `DEHANDLER_*` environment.
#[derive(Debug, Clone)]
pub struct ScriptContext {
    pub container_id: String,
    pub container_name: String,
    pub pid: i64,
    /// The container's exit code, for the stop script.
    pub exit_code: Option<i64>,
}

/// Finds and runs scripts from the host's scripts directory.
#[derive(Debug, Clone)]
pub struct ScriptRunner {
    /// The scripts directory as a host path: what the script is executed as.
    dir: PathBuf,
    /// The prefix under which this process reaches the host's files: `/proc/<parent pid>/root`,
    /// or `/` when dehandler already runs in the host's mount namespace.
    host_root: PathBuf,
    /// The host's mount namespace, when it differs from dehandler's own.
    host_mount_namespace: Option<Arc<OwnedFd>>,
    timeout: Duration,
}

impl ScriptRunner {
    /// Creates a runner for a host directory, finding the host's mount namespace through the
    /// parent process.
    pub fn new(dir: PathBuf, timeout: Duration) -> Self {
        let parent = std::os::unix::process::parent_id();
        let (host_root, host_mount_namespace) = match parent_mount_namespace(parent) {
            Ok(Some(fd)) => (
                PathBuf::from(format!("/proc/{parent}/root")),
                Some(Arc::new(fd)),
            ),
            Ok(None) => (PathBuf::from("/"), None),
            Err(error) => {
                tracing::warn!(
                    %error,
                    parent,
                    "failed to open the parent's mount namespace; scripts run in dehandler's own"
                );
                (PathBuf::from("/"), None)
            }
        };
        tracing::debug!(dir = %dir.display(), host_root = %host_root.display(), "scripts directory");
        ScriptRunner {
            dir,
            host_root,
            host_mount_namespace,
            timeout,
        }
    }

    /// Returns the host path of the script for a container and event, when a file of that
    /// name exists and may run.
    ///
    /// A script runs only when it is an executable regular file (not a symbolic link), owned
    /// by root and not writable by group or others, so that only root decides what runs as
    /// root. A container name that could leave the directory (`/`, `.` or `..`, or a NUL
    /// byte) has no script.
    pub fn find(&self, event: ScriptEvent, container_name: &str) -> Option<PathBuf> {
        if !is_safe_file_name(container_name) {
            tracing::debug!(
                container = container_name,
                "container name cannot name a script"
            );
            return None;
        }
        let file_name = format!("{}.{container_name}", event.script_prefix());
        let host_path = self.dir.join(&file_name);
        let metadata = std::fs::symlink_metadata(self.local_view(&host_path)).ok()?;
        match check_script_file(&metadata) {
            Ok(()) => Some(host_path),
            Err(reason) => {
                tracing::warn!(
                    container = container_name,
                    script = %host_path.display(),
                    "script not run: {reason}"
                );
                None
            }
        }
    }

    /// Runs a script to its end or its timeout, logging its output line by line.
    pub async fn run(
        &self,
        event: ScriptEvent,
        script: &Path,
        context: &ScriptContext,
    ) -> Result<(), ScriptError> {
        let mut command = Command::new(script);
        command
            .env_clear()
            .envs(script_environment(event, context))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(namespace) = &self.host_mount_namespace {
            let namespace = Arc::clone(namespace);
            // SAFETY: the closure runs in the forked child before exec and makes only the
            // setns system call, which is async-signal-safe; it allocates nothing.
            unsafe {
                command.pre_exec(move || {
                    netns::enter_mount_namespace(namespace.as_fd()).map_err(io::Error::from)
                });
            }
        }

        let mut child = command.spawn().map_err(|source| ScriptError::Spawn {
            path: script.to_path_buf(),
            source,
        })?;
        let process_group = child.id();
        let stdout = child.stdout.take().map(|s| log_lines(s, context, "stdout"));
        let stderr = child.stderr.take().map(|s| log_lines(s, context, "stderr"));

        let status = match tokio::time::timeout(self.timeout, child.wait()).await {
            Ok(result) => result.map_err(|source| ScriptError::Wait {
                path: script.to_path_buf(),
                source,
            })?,
            Err(_) => {
                kill_process_group(process_group);
                let _ = child.wait().await;
                return Err(ScriptError::TimedOut {
                    path: script.to_path_buf(),
                    timeout: self.timeout,
                });
            }
        };

        // The output readers end when the script and every child holding its pipes exit.
        for reader in [stdout, stderr].into_iter().flatten() {
            let _ = reader.await;
        }
        if status.success() {
            Ok(())
        } else {
            Err(ScriptError::Failed {
                path: script.to_path_buf(),
                status,
            })
        }
    }

    fn local_view(&self, host_path: &Path) -> PathBuf {
        let relative = host_path.strip_prefix("/").unwrap_or(host_path);
        self.host_root.join(relative)
    }
}

/// Returns the environment of a script: `PATH` and the `DEHANDLER_*` variables.
fn script_environment(
    event: ScriptEvent,
    context: &ScriptContext,
) -> HashMap<&'static str, String> {
    let mut environment = HashMap::from([
        ("PATH", SCRIPT_PATH.to_string()),
        ("DEHANDLER_CONTAINER_ID", context.container_id.clone()),
        ("DEHANDLER_CONTAINER_NAME", context.container_name.clone()),
        ("DEHANDLER_CONTAINER_PID", context.pid.to_string()),
        ("DEHANDLER_NETNS", format!("/proc/{}/ns/net", context.pid)),
        ("DEHANDLER_EVENT", event.as_str().to_string()),
    ]);
    if let Some(code) = context.exit_code {
        environment.insert("DEHANDLER_EXIT_CODE", code.to_string());
    }
    environment
}

/// Checks that a script file may run. The error gives the reason it may not.
fn check_script_file(metadata: &std::fs::Metadata) -> Result<(), &'static str> {
    let mode = metadata.permissions().mode();
    if !metadata.file_type().is_file() {
        return Err("it is not a regular file");
    }
    if metadata.uid() != 0 {
        return Err("it is not owned by root");
    }
    if mode & 0o022 != 0 {
        return Err("it is writable by group or others");
    }
    if mode & 0o111 == 0 {
        return Err("it is not executable");
    }
    Ok(())
}

fn is_safe_file_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && !name.contains(['/', '\0'])
}

/// Opens the parent's mount namespace when it differs from this process's own.
fn parent_mount_namespace(parent: u32) -> io::Result<Option<OwnedFd>> {
    let own = std::fs::metadata("/proc/self/ns/mnt")?;
    let parent_path = format!("/proc/{parent}/ns/mnt");
    let theirs = std::fs::metadata(&parent_path)?;
    if own.ino() == theirs.ino() && own.dev() == theirs.dev() {
        return Ok(None);
    }
    let file = std::fs::File::open(&parent_path)?;
    Ok(Some(OwnedFd::from(file)))
}

fn kill_process_group(process_group: Option<u32>) {
    let Some(pgid) = process_group.and_then(|id| i32::try_from(id).ok()) else {
        return;
    };
    let pgid = nix::unistd::Pid::from_raw(pgid);
    if let Err(error) = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL) {
        tracing::debug!(%error, "failed to kill the script's process group");
    }
}

fn log_lines<R>(
    stream: R,
    context: &ScriptContext,
    name: &'static str,
) -> tokio::task::JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let container = context.container_name.clone();
    let container_id = short_id(&context.container_id).to_string();
    tokio::spawn(async move {
        let mut lines = BufReader::new(stream).lines();
        loop {
            match lines.next_line().await {
                Ok(Some(line)) => {
                    tracing::info!(%container, %container_id, stream = name, "script: {line}");
                }
                Ok(None) => break,
                Err(error) => {
                    // Output that is not UTF-8 ends the logging, not the script.
                    tracing::warn!(%container, %container_id, stream = name, %error, "stopped reading script output");
                    break;
                }
            }
        }
    })
}

/// Returns the first 12 characters of a container id, as `docker ps` shows it.
pub fn short_id(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsafe_names_have_no_script() {
        for name in ["", ".", "..", "a/b", "../etc/passwd", "a\0b"] {
            assert!(!is_safe_file_name(name), "{name:?} should be unsafe");
        }
        for name in ["web", "web.1.abcdef", "my-app_2", "..hidden"] {
            assert!(is_safe_file_name(name), "{name:?} should be safe");
        }
    }

    #[test]
    fn environment_names_netns_path() {
        let context = ScriptContext {
            container_id: "abc".into(),
            container_name: "web".into(),
            pid: 42,
            exit_code: None,
        };
        let env = script_environment(ScriptEvent::Start, &context);
        assert_eq!(env["DEHANDLER_NETNS"], "/proc/42/ns/net");
        assert_eq!(env["DEHANDLER_CONTAINER_PID"], "42");
        assert_eq!(env["DEHANDLER_EVENT"], "start");
        assert_eq!(env["DEHANDLER_CONTAINER_NAME"], "web");
        assert!(!env.contains_key("DEHANDLER_EXIT_CODE"));

        let stopped = ScriptContext {
            exit_code: Some(137),
            ..context
        };
        let env = script_environment(ScriptEvent::Die, &stopped);
        assert_eq!(env["DEHANDLER_EVENT"], "die");
        assert_eq!(env["DEHANDLER_EXIT_CODE"], "137");
    }

    #[test]
    fn script_files_must_belong_to_root() {
        use std::os::unix::fs::PermissionsExt;
        let dir =
            std::env::temp_dir().join(format!("dehandler-script-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let cases = [
            ("ok", 0o755, Ok(())),
            (
                "group-writable",
                0o775,
                Err("it is writable by group or others"),
            ),
            (
                "world-writable",
                0o757,
                Err("it is writable by group or others"),
            ),
            ("not-executable", 0o644, Err("it is not executable")),
        ];
        for (name, mode, expected) in cases {
            let path = dir.join(name);
            std::fs::write(&path, "#!/bin/sh\n").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let metadata = std::fs::symlink_metadata(&path).unwrap();
            let result = check_script_file(&metadata);
            if nix::unistd::geteuid().is_root() {
                assert_eq!(result, expected, "{name}");
            } else {
                assert_eq!(result, Err("it is not owned by root"), "{name}");
            }
        }
        let link = dir.join("link");
        std::os::unix::fs::symlink(dir.join("ok"), &link).unwrap();
        let metadata = std::fs::symlink_metadata(&link).unwrap();
        assert_eq!(
            check_script_file(&metadata),
            Err("it is not a regular file")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
