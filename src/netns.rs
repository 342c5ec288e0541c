//! Network and mount namespaces: the only module that calls setns.
//!
//! setns(2) changes the namespace of the calling thread only, and a netlink socket stays in the
//! network namespace it was created in. So [`Namespace::connect`] enters the namespace on a
//! dedicated OS thread that creates the netlink sockets there and then ends. The connection is
//! driven on the caller's tokio runtime afterwards, and no `.await` ever runs on a thread that
//! changed namespace.

use std::io;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::AsyncSocket;
use nix::sched::CloneFlags;
use rtnetlink::Handle;
use rtnetlink::proto::Connection;
use tokio::sync::oneshot;

use crate::netlink::{Netlink, Requests};

/// Errors of opening and entering namespaces. Each names the namespace file.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("failed to open network namespace {}: {source}", path.display())]
    Open { path: PathBuf, source: io::Error },

    #[error("failed to enter network namespace {}: {source}", path.display())]
    Enter { path: PathBuf, source: nix::Error },

    #[error("failed to start a thread to enter network namespace {}: {source}", path.display())]
    Thread { path: PathBuf, source: io::Error },

    #[error(
        "the thread that enters network namespace {} ended without a result",
        path.display()
    )]
    ThreadEnded { path: PathBuf },

    #[error("failed to open a netlink socket in network namespace {}: {source}", path.display())]
    Socket { path: PathBuf, source: io::Error },

    #[error("failed to open a netlink socket in the current network namespace: {source}")]
    CurrentSocket { source: io::Error },
}

/// An open network namespace file, such as `/proc/<pid>/ns/net` or `/run/netns/NAME`.
///
/// The file descriptor keeps the namespace alive while the value exists, even when the process
/// that created it exits.
#[derive(Debug)]
pub struct Namespace {
    path: PathBuf,
    fd: OwnedFd,
}

impl Namespace {
    /// Opens a network namespace file. Whether the file is a network namespace is checked
    /// only when it is entered.
    pub fn open(path: impl AsRef<Path>) -> Result<Namespace, NetnsError> {
        let path = path.as_ref().to_path_buf();
        // std opens files with O_CLOEXEC, so script children do not inherit the descriptor.
        let file = std::fs::File::open(&path).map_err(|source| NetnsError::Open {
            path: path.clone(),
            source,
        })?;
        Ok(Namespace {
            path,
            fd: OwnedFd::from(file),
        })
    }

    /// Returns the path the namespace was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Opens a netlink connection inside this network namespace.
    ///
    /// A new OS thread enters the namespace, opens the sockets and ends. This call starts it,
    /// not the first poll of the returned [`Connecting`], so the caller can do other work
    /// meanwhile. The connection then runs as a task on the current tokio runtime and stops
    /// when the last clone of the returned handle is dropped.
    ///
    /// Must be called from within a tokio runtime with its IO driver enabled.
    pub fn connect(&self) -> Connecting {
        let path = self.path.clone();
        let receiver = self.spawn_connect();
        Connecting(Box::pin(async move {
            let connection = receiver?
                .await
                .map_err(|_| NetnsError::ThreadEnded { path })??;
            Ok(start(connection))
        }))
    }

    /// Starts the thread that opens the sockets in this namespace and returns the receiver of
    /// its result.
    fn spawn_connect(&self) -> Result<oneshot::Receiver<OpenResult>, NetnsError> {
        let fd = self.fd.try_clone().map_err(|source| NetnsError::Open {
            path: self.path.clone(),
            source,
        })?;
        let runtime = tokio::runtime::Handle::current();
        let (sender, receiver) = oneshot::channel();

        let path = self.path.clone();
        std::thread::Builder::new()
            .name("netns-connect".to_string())
            .spawn(move || {
                let result = open_in_namespace(&fd, &path, &runtime);
                // The receiver is gone only when the caller dropped the future.
                let _ = sender.send(result);
            })
            .map_err(|source| NetnsError::Thread {
                path: self.path.clone(),
                source,
            })?;
        Ok(receiver)
    }
}

/// A netlink connection that [`Namespace::connect`] is opening; it resolves to the connection.
/// Dropping it leaves the thread to close the sockets it opened.
pub struct Connecting(Pin<Box<dyn Future<Output = Result<Netlink, NetnsError>> + Send + Sync>>);

impl Future for Connecting {
    type Output = Result<Netlink, NetnsError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.0.as_mut().poll(cx)
    }
}

impl std::fmt::Debug for Connecting {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("Connecting")
    }
}

/// Opens a netlink connection in the network namespace of the calling thread, which for a
/// tokio worker is the process's own namespace (for the plugin, the host's).
///
/// Must be called from within a tokio runtime with its IO driver enabled.
pub async fn connect_current() -> Result<Netlink, NetnsError> {
    let connection = open_connection().map_err(|source| NetnsError::CurrentSocket { source })?;
    Ok(start(connection))
}

/// Moves the calling thread into the mount namespace `fd` refers to.
///
/// This is meant for a child process between fork and exec (for example in
/// `std::os::unix::process::CommandExt::pre_exec`): it only makes the setns(2) system call,
/// which is async-signal-safe. The kernel rejects CLONE_NEWNS for a process with more than one
/// thread (EINVAL), so it cannot be used in the plugin process itself.
pub fn enter_mount_namespace(fd: BorrowedFd) -> nix::Result<()> {
    nix::sched::setns(fd, CloneFlags::CLONE_NEWNS)
}

type RouteConnection = Connection<RouteNetlinkMessage>;
type OpenResult = Result<(RouteConnection, Handle, Requests), NetnsError>;

/// Runs on the dedicated thread: enters the namespace, then opens the sockets there. The thread
/// ends right after, so its namespace is never restored or reused.
fn open_in_namespace(fd: &OwnedFd, path: &Path, runtime: &tokio::runtime::Handle) -> OpenResult {
    nix::sched::setns(fd.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| {
        NetnsError::Enter {
            path: path.to_path_buf(),
            source,
        }
    })?;

    // Registering the sockets with the runtime's IO driver needs the runtime context. This
    // thread never polls a future.
    let _context = runtime.enter();
    open_connection().map_err(|source| NetnsError::Socket {
        path: path.to_path_buf(),
        source,
    })
}

/// Opens the two NETLINK_ROUTE sockets of a [`Netlink`] in the calling thread's network
/// namespace.
fn open_connection() -> io::Result<(RouteConnection, Handle, Requests)> {
    let (mut connection, handle, unsolicited) = rtnetlink::new_connection()?;
    // Extended acknowledgements carry the kernel's error text ("Nexthop has invalid gateway"),
    // as iproute2 shows it after "Error:".
    connection.socket_mut().socket_ref().set_ext_ack(true)?;
    // No multicast groups are joined, so nothing unsolicited arrives. Dropping the receiver
    // lets the connection task end once every handle is dropped.
    drop(unsolicited);
    let requests = Requests::open()?;
    Ok((connection, handle, requests))
}

/// Spawns the connection task on the current runtime and returns the connection.
fn start((connection, handle, requests): (RouteConnection, Handle, Requests)) -> Netlink {
    tokio::spawn(connection);
    Netlink::new(handle, requests)
}
