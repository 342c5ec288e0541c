//! One dehandler instance per host and label prefix.
//!
//! The lock is a listening unix socket with the abstract name `dehandler/<label prefix>`.
//! Abstract names belong to a network namespace, and the plugin (network type host), the
//! container (`--network host`) and the service all run in the host's, so all three see the
//! same name. The kernel frees the name when the process that holds the socket exits, even on
//! SIGKILL, so a lock is never left behind. A process that finds the name taken connects to it
//! and reads the holder's PID with `SO_PEERCRED`; the holder never accepts that connection.

use std::io;
use std::os::fd::AsRawFd;
use std::os::linux::net::SocketAddrExt;
use std::os::unix::net::{SocketAddr, UnixListener};
use std::time::Duration;

use nix::sys::socket::sockopt::PeerCredentials;
use nix::sys::socket::{AddressFamily, SockFlag, SockType, UnixAddr, connect, getsockopt, socket};
use thiserror::Error;

/// A failure to take the instance lock.
#[derive(Debug, Error)]
pub enum InstanceError {
    /// Another process holds the lock.
    #[error(
        "another dehandler instance is active for label prefix {prefix} ({holder}); stop it, or give this one another LABEL_PREFIX"
    )]
    Busy {
        prefix: String,
        /// The holder as far as it could be found: `pid 1234` or `pid unknown: REASON`.
        holder: String,
    },
    #[error("failed to create the instance lock socket {name:?}: {source}")]
    Socket { name: String, source: io::Error },
}

/// The instance lock, held until it is dropped or the process exits.
#[derive(Debug)]
pub struct InstanceLock {
    name: String,
    _listener: UnixListener,
}

impl InstanceLock {
    /// Takes the lock for a label prefix, or returns [`InstanceError::Busy`] naming the
    /// holder.
    pub fn acquire(label_prefix: &str) -> Result<InstanceLock, InstanceError> {
        match InstanceLock::try_acquire(label_prefix)? {
            Some(lock) => Ok(lock),
            None => Err(InstanceError::Busy {
                prefix: label_prefix.to_string(),
                holder: describe_holder(&lock_name(label_prefix)),
            }),
        }
    }

    /// Takes the lock for a label prefix; returns `None` when another process holds it.
    fn try_acquire(label_prefix: &str) -> Result<Option<InstanceLock>, InstanceError> {
        let name = lock_name(label_prefix);
        let socket_error = |source| InstanceError::Socket {
            name: name.clone(),
            source,
        };
        let address = SocketAddr::from_abstract_name(name.as_bytes()).map_err(socket_error)?;

        match UnixListener::bind_addr(&address) {
            Ok(listener) => Ok(Some(InstanceLock {
                name,
                _listener: listener,
            })),
            Err(error) if error.kind() == io::ErrorKind::AddrInUse => Ok(None),
            Err(error) => Err(socket_error(error)),
        }
    }

    /// Returns the abstract socket name, without its leading NUL byte.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// Takes the lock for a label prefix, waiting while another instance holds it.
///
/// The first refusal is logged at error level with the holder, and later retries at debug
/// level, so a waiting instance logs one error line and not one per retry.
pub async fn acquire_waiting(
    label_prefix: &str,
    retry: Duration,
) -> Result<InstanceLock, InstanceError> {
    match InstanceLock::acquire(label_prefix) {
        Ok(lock) => return Ok(lock),
        Err(error @ InstanceError::Busy { .. }) => {
            tracing::error!("{error}; waiting, and retrying every {retry:?}");
        }
        Err(error) => return Err(error),
    }
    loop {
        tokio::time::sleep(retry).await;
        // Retries do not look up the holder again: each lookup leaves one connection in
        // the holder's backlog, which nothing accepts.
        match InstanceLock::try_acquire(label_prefix)? {
            Some(lock) => {
                tracing::info!(
                    lock = lock.name(),
                    "the other dehandler instance is gone; taking over"
                );
                return Ok(lock);
            }
            None => tracing::debug!(prefix = label_prefix, "instance lock still taken"),
        }
    }
}

/// Returns the abstract socket name of a label prefix, without its leading NUL byte.
pub fn lock_name(label_prefix: &str) -> String {
    format!("dehandler/{label_prefix}")
}

/// Describes the process that holds the lock, as `pid N`. The kernel reports the PID that the
/// holder had when it started listening, translated into this process's PID namespace, and
/// reports 0 when the holder is in a PID namespace that this process cannot see.
///
/// The socket is non-blocking, so a full backlog makes the connection fail at once instead of
/// blocking.
fn describe_holder(name: &str) -> String {
    let connected = socket(
        AddressFamily::Unix,
        SockType::Stream,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )
    .and_then(|fd| {
        let address = UnixAddr::new_abstract(name.as_bytes())?;
        connect(fd.as_raw_fd(), &address)?;
        Ok(fd)
    });
    let fd = match connected {
        Ok(fd) => fd,
        Err(errno) => return format!("pid unknown: {errno}"),
    };
    match getsockopt(&fd, PeerCredentials) {
        Ok(credentials) if credentials.pid() > 0 => format!("pid {}", credentials.pid()),
        Ok(_) => "pid unknown: the holder is in another PID namespace".to_string(),
        Err(errno) => format!("pid unknown: {errno}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unique_prefix(case: &str) -> String {
        format!("unit-{case}-{}", std::process::id())
    }

    #[test]
    fn second_lock_is_busy() {
        let prefix = unique_prefix("busy");
        let first = InstanceLock::acquire(&prefix).unwrap();
        match InstanceLock::acquire(&prefix) {
            Err(InstanceError::Busy { prefix: p, holder }) => {
                assert_eq!(p, prefix);
                assert_eq!(holder, format!("pid {}", std::process::id()));
            }
            other => panic!("expected Busy, got {other:?}"),
        }
        drop(first);
    }

    #[test]
    fn lock_is_free_after_drop() {
        let prefix = unique_prefix("drop");
        drop(InstanceLock::acquire(&prefix).unwrap());
        assert!(InstanceLock::acquire(&prefix).is_ok());
    }

    #[test]
    fn other_prefix_is_independent() {
        let first = InstanceLock::acquire(&unique_prefix("a")).unwrap();
        let second = InstanceLock::acquire(&unique_prefix("b")).unwrap();
        assert_ne!(first.name(), second.name());
    }

    #[test]
    fn busy_message_names_prefix_and_pid() {
        let error = InstanceError::Busy {
            prefix: "docker-events".into(),
            holder: "pid 42".into(),
        };
        assert_eq!(
            error.to_string(),
            "another dehandler instance is active for label prefix docker-events (pid 42); stop it, or give this one another LABEL_PREFIX"
        );
    }
}
