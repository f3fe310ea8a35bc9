//! What can go wrong while wiring a pod to the network, said so a learner can act on it.

use std::fmt;
use std::io;
use std::net::Ipv4Addr;

use crate::i18n::Text;
use crate::kube::pod_network::Ipv4Cidr;

#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// A system call or kernel request failed; `action` says what was being done to what.
    #[error("{action}: {}", OsError(.source))]
    Os {
        action: String,
        #[source]
        source: io::Error,
    },
    /// A CNI plugin reported an error (its JSON `msg`, or its stderr).
    #[error("{action}: {message}")]
    Cni { action: String, message: String },
    #[error("invalid pod network configuration: {0}")]
    InvalidConfig(String),
    #[error(
        "pod network {cidr} overlaps the host route {route}{}",
        match .suggestion { Some(s) => format!("; pick another range, e.g. {s}"), None => String::new() }
    )]
    Overlap {
        cidr: Ipv4Cidr,
        route: String,
        suggestion: Option<Ipv4Cidr>,
    },
    #[error("bridge {bridge} already has address {has}, not {wanted}; delete its pods first or pick the range it serves")]
    BridgeMismatch {
        bridge: String,
        has: String,
        wanted: String,
    },
    #[error("pod network {cidr} is full: every pod address is taken")]
    Exhausted { cidr: Ipv4Cidr },
    #[error(
        "pause (pid {pid}) is in the host's net namespace: a hostNetwork pod gets no pod network"
    )]
    HostNamespace { pid: i32 },
    #[error("pod {uid} already has address {ip} in {cidr}")]
    AlreadySetUp {
        uid: String,
        ip: Ipv4Addr,
        cidr: Ipv4Cidr,
    },
}

pub type Result<T> = std::result::Result<T, NetworkError>;

impl NetworkError {
    pub(crate) fn os(action: impl Into<String>, source: io::Error) -> NetworkError {
        NetworkError::Os {
            action: action.into(),
            source,
        }
    }

    /// What the learner can do about it, in both languages (None: the message says it all).
    pub fn explain(&self) -> Option<Text> {
        match self {
            NetworkError::Overlap { cidr, route, .. } => Some(Text::new(
                format!(
                    "The pod range {cidr} is already routed on this machine ({route}). Pods there \
                     would be unreachable or hide real hosts, so podlab stops. Choose another range."
                ),
                format!(
                    "Pod 地址段 {cidr} 在本机已有路由（{route}）。在这里分配 Pod IP 会让 Pod 不可达或遮住真实主机，\
                     所以 podlab 停了下来。请换一个地址段。"
                ),
            )),
            NetworkError::Exhausted { cidr } => Some(Text::new(
                format!("Every address in {cidr} belongs to a pod. Delete a pod or run `podlab gc`."),
                format!("{cidr} 里的地址都已分给了 Pod。请删除一个 Pod，或运行 `podlab gc`。"),
            )),
            NetworkError::HostNamespace { .. } => Some(Text::new(
                "This pod shares the host's network (hostNetwork: true): it uses the host's \
                 interfaces and IP, so there is no veth and no pod IP.",
                "这个 Pod 共享宿主机网络（hostNetwork: true）：它直接使用宿主机的网卡和 IP，\
                 所以没有 veth，也没有 Pod IP。",
            )),
            _ => None,
        }
    }
}

/// An OS error as `EPERM: Operation not permitted`, the way strace and the kernel name it.
struct OsError<'a>(&'a io::Error);

impl fmt::Display for OsError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.raw_os_error() {
            Some(code) => write!(f, "{}", nix::errno::Errno::from_raw(code)),
            None => write!(f, "{}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_errors_name_the_errno() {
        let e = NetworkError::os(
            "failed to join net namespace of pause (pid 4242)",
            io::Error::from_raw_os_error(1),
        );
        assert_eq!(
            e.to_string(),
            "failed to join net namespace of pause (pid 4242): EPERM: Operation not permitted"
        );
    }

    #[test]
    fn overlap_suggests_a_range() {
        let e = NetworkError::Overlap {
            cidr: "10.88.0.0/16".parse().expect("cidr"),
            route: "10.88.0.0/16 dev cni0".into(),
            suggestion: "10.89.0.0/16".parse().ok(),
        };
        assert_eq!(
            e.to_string(),
            "pod network 10.88.0.0/16 overlaps the host route 10.88.0.0/16 dev cni0; pick another range, e.g. 10.89.0.0/16"
        );
        assert!(e.explain().is_some());
    }
}
