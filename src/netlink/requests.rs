//! A NETLINK_ROUTE socket for requests that the kernel replies to with one message: changes,
//! which it acknowledges, and device lookups.
//!
//! The kernel handles an rtnetlink request inside the `sendto` that carries it, so the
//! acknowledgement is queued when `sendto` returns. netlink-proto's connection, which
//! rtnetlink uses, reads before it sends and reads only after `epoll_wait` has reported the
//! socket readable, so each change cost four system calls and a turn of the runtime. Here a
//! request is one `sendto` and one `recvfrom`. The runtime waits only when no reply is queued.

use std::io;
use std::sync::atomic::{AtomicU32, Ordering};

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;
use netlink_sys::Socket;
use netlink_sys::protocols::NETLINK_ROUTE;
use nix::errno::Errno;
use nix::libc;
use std::os::fd::AsRawFd;
use tokio::io::unix::AsyncFd;
use tokio::sync::Mutex;

use super::{SendError, extended_ack_message};

/// The size of the receive buffer. An acknowledgement contains the request's header, or the
/// whole request when the kernel did not cap it, and the kernel's error text. A device
/// without its counters takes about 1.2 KiB. Both are far smaller than this.
const REPLY_BUFFER: usize = 16 * 1024;

/// A non-blocking NETLINK_ROUTE socket registered with the tokio runtime.
#[derive(Debug)]
pub(crate) struct Requests {
    socket: AsyncFd<Socket>,
    sequence: AtomicU32,
    /// Held from a request's `sendto` to its acknowledgement. A request reads and skips the
    /// replies to other sequence numbers, so two requests in flight could lose a reply.
    in_flight: Mutex<()>,
}

impl Requests {
    /// Opens the socket in the calling thread's network namespace, with extended
    /// acknowledgements, which carry the kernel's error text. Must be called from within a
    /// tokio runtime with its IO driver enabled.
    pub(crate) fn open() -> io::Result<Requests> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        socket.set_non_blocking(true)?;
        socket.set_ext_ack(true)?;
        // SAFETY: the Socket owns its file descriptor and closes it only when dropped, and
        // the AsyncFd owns the Socket, so the descriptor stays open as long as the AsyncFd.
        let socket = unsafe { AsyncFd::register(socket) }?;
        Ok(Requests {
            socket,
            sequence: AtomicU32::new(1),
            in_flight: Mutex::new(()),
        })
    }

    /// Sends a request and returns the kernel's first reply to it: the acknowledgement of a
    /// change sent with NLM_F_ACK, or the object that a get request without NLM_F_DUMP
    /// named. A reply that carries an error code is returned as [`SendError::Kernel`].
    pub(super) async fn exchange(
        &self,
        mut message: NetlinkMessage<RouteNetlinkMessage>,
    ) -> Result<NetlinkMessage<RouteNetlinkMessage>, SendError> {
        let _in_flight = self.in_flight.lock().await;
        let sequence = self.sequence.fetch_add(1, Ordering::Relaxed);
        message.header.sequence_number = sequence;
        message.finalize();
        let mut request = vec![0; message.buffer_len()];
        message.serialize(&mut request);
        self.write(&request).await.map_err(SendError::Socket)?;

        let mut reply = vec![0; REPLY_BUFFER];
        loop {
            let len = self.read(&mut reply).await.map_err(SendError::Socket)?;
            let mut offset = 0;
            while offset < len {
                let parsed =
                    NetlinkMessage::<RouteNetlinkMessage>::deserialize(&reply[offset..len])
                        .map_err(|error| {
                            SendError::Socket(io::Error::new(io::ErrorKind::InvalidData, error))
                        })?;
                let message_len = parsed.header.length as usize;
                offset += message_len.max(1).next_multiple_of(4);
                if parsed.header.sequence_number != sequence {
                    continue;
                }
                if let NetlinkPayload::Error(error) = &parsed.payload
                    && error.code.is_some()
                {
                    return Err(SendError::Kernel {
                        errno: Errno::from_raw(-error.raw_code()),
                        kernel_message: extended_ack_message(parsed.header.flags, &error.header),
                    });
                }
                return Ok(parsed);
            }
        }
    }

    /// Returns the interface index of a device, looked up with the SIOCGIFINDEX ioctl on this
    /// socket: the kernel handles it in the socket's network namespace, without a netlink
    /// message to build or parse. It matches alternative names too. Returns `None` for a name
    /// of 16 bytes or more, which does not fit in the request.
    pub(super) fn interface_index(&self, name: &str) -> Option<io::Result<u32>> {
        let bytes = name.as_bytes();
        if bytes.len() >= libc::IFNAMSIZ || bytes.contains(&0) {
            return None;
        }
        // SAFETY: ifreq is plain data, for which all zero bytes are a valid value.
        let mut request: libc::ifreq = unsafe { std::mem::zeroed() };
        for (slot, byte) in request.ifr_name.iter_mut().zip(bytes) {
            *slot = *byte as libc::c_char;
        }
        // SAFETY: the descriptor stays open as long as `self`, and SIOCGIFINDEX reads the
        // NUL-terminated name and writes the index inside the ifreq that the pointer refers to.
        let result = unsafe {
            libc::ioctl(
                self.socket.get_ref().as_raw_fd(),
                libc::SIOCGIFINDEX,
                &mut request,
            )
        };
        if result < 0 {
            return Some(Err(io::Error::last_os_error()));
        }
        // SAFETY: a successful SIOCGIFINDEX has written the index member of the union.
        let index = unsafe { request.ifr_ifru.ifru_ifindex };
        Some(u32::try_from(index).map_err(|_| io::Error::from(io::ErrorKind::InvalidData)))
    }

    /// Sends one datagram, and waits for the socket to be writable only when `send` returns
    /// EAGAIN.
    async fn write(&self, datagram: &[u8]) -> io::Result<()> {
        match self.socket.get_ref().send(datagram, 0) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            result => return result.map(|_| ()),
        }
        loop {
            let mut guard = self.socket.writable().await?;
            if let Ok(result) = guard.try_io(|socket| socket.get_ref().send(datagram, 0)) {
                return result.map(|_| ());
            }
        }
    }

    /// Receives one datagram into `buffer` and returns its length. Reads at once, and waits
    /// for the socket to be readable only when nothing is queued.
    async fn read(&self, buffer: &mut [u8]) -> io::Result<usize> {
        match self.socket.get_ref().recv(&mut &mut buffer[..], 0) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            result => return result,
        }
        loop {
            let mut guard = self.socket.readable().await?;
            if let Ok(result) =
                guard.try_io(|socket| socket.get_ref().recv(&mut &mut buffer[..], 0))
            {
                return result;
            }
        }
    }
}
