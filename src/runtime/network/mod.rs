//! The pod network: a host-only bridge, one veth pair and one IP per pod.
//!
//! What containerd + CNI's reference config do (bridge `cni0`, host-local IPAM on 10.88.0.0/16,
//! a veth per pod whose pod end is `eth0`), done natively through netlink:
//!
//! * bridge `podlab0` holds the gateway address (the range's first usable IP);
//! * each pod gets a veth pair: the host end `pl-<pod name>` on the bridge, the pod end created
//!   directly inside the pause process's net namespace as `eth0`, with the pod IP, `lo` up and a
//!   default route via the gateway;
//! * IPs come from a file-backed IPAM under /run/podlab/ipam (one file per address, O_EXCL),
//!   and bridge, IPAM and gc run under the machine-wide flock on /run/podlab/lock.
//!
//! Host-only by design: no NAT, no forwarding, no iptables. The host and other pods reach a pod;
//! nothing is routed off the machine. (On a host where br_netfilter is loaded and the FORWARD
//! policy is DROP, as Docker sets it, pod-to-pod traffic over the bridge may be filtered.)
//!
//! hostNetwork pods skip all of this: the caller does not call [`setup_pod`], and the pod uses
//! the host's interfaces. [`setup_pod`] refuses a pause that is in the host's namespace.
//!
//! The calling process never changes namespace: inside the pod it works through a netlink socket
//! opened in the pod's namespace by a short-lived forked child, which it reaps itself with
//! waitpid (a SIGCHLD reaper in the caller should ignore pids it does not know).
//!
//! With [`Mode::Cni`] the standard CNI plugins (bridge + host-local + loopback) wire the pod the
//! way containerd runs them, and the narration shows each plugin call ([`cni`]).
//!
//! API: [`setup_pod`] → [`PodNetwork`] (keep it in the pod's state), [`teardown_pod`] with
//! that record (idempotent), [`gc`] with the UIDs of live pods. All three take the machine lock
//! themselves: do not call them while holding /run/podlab/lock. The record, its narration and
//! the address and name rules are `kube::pod_network`, which a replay needs too.
//!
//! [`PodNetwork`]: crate::kube::pod_network::PodNetwork

mod choice;
mod cleanup;
pub mod cni;
mod error;
mod ipam;
mod links;
mod lock;
mod netlink;
mod netns;
mod setup;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use choice::NetworkChoice;
pub use cleanup::{gc, gc_leases, release_for_new_sandbox, teardown_pod, GcReport};
pub use error::{NetworkError, Result};
pub use setup::setup_pod;

use crate::kube::pod_network::{names, Ipv4Cidr};

/// Which range and bridge pods are wired to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// Pod IP range; must be private (RFC 1918) and not overlap a route already on the host.
    pub cidr: Ipv4Cidr,
    /// The bridge's name (≤ 15 bytes).
    pub bridge: String,
    /// podlab's own netlink code, or the installed CNI plugins.
    #[serde(default)]
    pub mode: Mode,
}

/// Who wires the pod.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Mode {
    /// podlab talks netlink itself and narrates each step as an `ip` command.
    #[default]
    Native,
    /// The standard CNI plugins (bridge + host-local + loopback) from `plugin_dir`.
    Cni { plugin_dir: PathBuf },
}

impl Mode {
    /// CNI mode when bridge, host-local and loopback are installed (/opt/cni/bin, /usr/lib/cni).
    pub fn cni_if_installed() -> Option<Mode> {
        cni::find_plugin_dir().map(|plugin_dir| Mode::Cni { plugin_dir })
    }
}

impl Default for Config {
    /// 10.88.0.0/16 as in containerd's reference CNI config, bridge `podlab0`.
    fn default() -> Config {
        Config {
            cidr: Ipv4Cidr::CONTAINERD_DEFAULT,
            bridge: "podlab0".to_string(),
            mode: Mode::Native,
        }
    }
}

impl Config {
    /// Checks a config before anything is changed on the machine.
    pub fn validate(&self) -> Result<()> {
        if !names::is_valid_ifname(&self.bridge) {
            return Err(NetworkError::InvalidConfig(format!(
                "bridge name {:?} is not a valid interface name (1 to 15 bytes, no '/', ':' or spaces)",
                self.bridge
            )));
        }
        if self.bridge.starts_with(names::VETH_PREFIX) {
            return Err(NetworkError::InvalidConfig(format!(
                "bridge name {:?} must not start with {:?}, which names pod veths",
                self.bridge,
                names::VETH_PREFIX
            )));
        }
        if !self.cidr.is_private() {
            return Err(NetworkError::InvalidConfig(format!(
                "pod network {} is not a private range (10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16)",
                self.cidr
            )));
        }
        if self.cidr.prefix_len() > 30 {
            return Err(NetworkError::InvalidConfig(format!(
                "pod network {} is too small: it needs room for a gateway and at least one pod (at most /30)",
                self.cidr
            )));
        }
        Ok(())
    }
}

/// A TCP socket born in the net namespace of process `pid` (a pod's pause), for a caller that
/// stays in its own: what `podlab port-forward` connects to the pod's localhost with.
pub fn tcp_socket_in(pid: i32) -> Result<std::os::fd::OwnedFd> {
    netns::NetNs::of_pid(pid)?.socket(libc::AF_INET, libc::SOCK_STREAM, 0)
}

/// Where the leases live (one file per address).
fn ipam_dir() -> PathBuf {
    ipam::system_dir()
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    #[test]
    fn default_config_matches_containerds_range() {
        let cfg = Config::default();
        assert_eq!(cfg.cidr.to_string(), "10.88.0.0/16");
        assert_eq!(cfg.cidr.gateway(), Ipv4Addr::new(10, 88, 0, 1));
        assert_eq!(cfg.bridge, "podlab0");
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn invalid_configs_are_refused() {
        let with = |cidr: &str, bridge: &str| Config {
            cidr: cidr.parse().expect("cidr"),
            bridge: bridge.into(),
            mode: Mode::Native,
        };
        assert!(with("8.8.8.0/24", "podlab0").validate().is_err());
        assert!(with("10.88.0.0/31", "podlab0").validate().is_err());
        assert!(with("10.88.0.0/16", "pl-bridge").validate().is_err());
        assert!(with("10.88.0.0/16", "a-very-long-bridge-name")
            .validate()
            .is_err());
        assert!(with("10.88.0.0/30", "br0").validate().is_ok());
    }

    #[test]
    fn config_and_pod_network_round_trip_through_json() {
        let cfg = Config::default();
        let json = serde_json::to_string(&cfg).expect("serialize");
        assert_eq!(
            json,
            r#"{"cidr":"10.88.0.0/16","bridge":"podlab0","mode":{"kind":"native"}}"#
        );
        assert_eq!(serde_json::from_str::<Config>(&json).expect("parse"), cfg);
        let without_mode: Config =
            serde_json::from_str(r#"{"cidr":"10.88.0.0/16","bridge":"podlab0"}"#).expect("parse");
        assert_eq!(without_mode, cfg);
        let cni = Config {
            mode: Mode::Cni {
                plugin_dir: "/opt/cni/bin".into(),
            },
            ..Config::default()
        };
        let json = serde_json::to_string(&cni).expect("serialize");
        assert!(
            json.ends_with(r#""mode":{"kind":"cni","plugin_dir":"/opt/cni/bin"}}"#),
            "{json}"
        );
        assert!(serde_json::from_str::<Config>(r#"{"cidr":"10.88.0.0/99","bridge":"b"}"#).is_err());
    }
}
