//! The applier's error type.

use nix::errno::Errno;

/// Errors of applying one request. Each names the request in `ip` syntax.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// A device that the request names does not exist in the namespace. The device may
    /// appear later (a container's second network is attached after it starts), so callers
    /// can retry on this error alone.
    #[error("{request}: device {name:?} not found")]
    DeviceNotFound { request: String, name: String },

    /// The kernel rejected the lookup of a device for another reason.
    #[error("{request}: looking up device {name:?} failed: {}", describe(*errno, None))]
    DeviceLookup {
        request: String,
        name: String,
        errno: Errno,
    },

    /// The kernel rejected the request.
    #[error("{request}: {}", describe(*errno, kernel_message.as_deref()))]
    Kernel {
        request: String,
        errno: Errno,
        /// The extended acknowledgement text, such as "Nexthop has invalid gateway", when the
        /// kernel sent one.
        kernel_message: Option<String>,
    },

    /// A flush still found objects to delete when iproute2 would give up: after ten rounds
    /// of address deletes, or after 30 seconds of route deletes.
    #[error("{request}: flush remains incomplete: {reason}")]
    FlushIncomplete { request: String, reason: String },

    /// The netlink connection failed before the kernel replied.
    #[error("{request}: netlink connection failed: {source}")]
    Connection {
        request: String,
        source: rtnetlink::Error,
    },

    /// Sending the request or reading its reply failed.
    #[error("{request}: netlink socket failed: {source}")]
    Socket {
        request: String,
        source: std::io::Error,
    },
}

impl ApplyError {
    /// Returns the kernel's error number, when the kernel returned one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            ApplyError::DeviceLookup { errno, .. } | ApplyError::Kernel { errno, .. } => {
                Some(*errno)
            }
            ApplyError::DeviceNotFound { .. }
            | ApplyError::FlushIncomplete { .. }
            | ApplyError::Connection { .. }
            | ApplyError::Socket { .. } => None,
        }
    }
}

/// Describes an errno in lower case, as in "network is unreachable", followed by the kernel's
/// own text in brackets when there is one.
fn describe(errno: Errno, kernel_message: Option<&str>) -> String {
    let mut text = lowercase_first(errno.desc());
    if let Some(message) = kernel_message {
        text.push_str(&format!(" ({message})"));
    }
    text
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_error_reads_as_plain_words() {
        let error = ApplyError::Kernel {
            request: "ip route add 10.9.0.0/24 via 10.99.0.1".to_string(),
            errno: Errno::ENETUNREACH,
            kernel_message: Some("Nexthop has invalid gateway".to_string()),
        };
        assert_eq!(
            error.to_string(),
            "ip route add 10.9.0.0/24 via 10.99.0.1: network is unreachable \
             (Nexthop has invalid gateway)"
        );
    }

    #[test]
    fn missing_device_names_the_device() {
        let error = ApplyError::DeviceNotFound {
            request: "ip address add 10.0.0.1/24 dev eth9".to_string(),
            name: "eth9".to_string(),
        };
        assert_eq!(
            error.to_string(),
            "ip address add 10.0.0.1/24 dev eth9: device \"eth9\" not found"
        );
    }
}
