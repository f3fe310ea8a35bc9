//! The pod network as a record: what was set up for a pod (veth, address, route, or the CNI
//! plugins' result), the narration of each step as an `ip` command, and the naming and address
//! rules they follow. `runtime::network` does the wiring; this is what it keeps and shows, so a
//! trace replays anywhere.

pub mod cidr;
pub mod names;
pub mod narrate;

use std::net::Ipv4Addr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use cidr::Ipv4Cidr;
pub use narrate::NetStep;

/// The pod end of every veth pair, as kubelet asks CNI for it (CNI_IFNAME=eth0).
pub const POD_INTERFACE: &str = "eth0";

/// A pod's network as set up; the shim keeps it in the pod's state to tear it down later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PodNetwork {
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub bridge: String,
    /// Host end of the veth pair (`pl-…`).
    pub host_veth: String,
    /// Pod end of the veth pair, inside the pod (`eth0`).
    pub pod_interface: String,
    /// What was done, in order, as `ip` commands (or CNI plugin calls) with explanations.
    pub steps: Vec<NetStep>,
    /// Set when CNI plugins wired the pod: what DEL needs.
    #[serde(default)]
    pub cni: Option<CniState>,
}

/// What a CNI-wired pod needs for DEL: the plugins, the config they were given, their result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CniState {
    pub plugin_dir: PathBuf,
    /// The network config passed to the bridge plugin.
    pub config: serde_json::Value,
    /// The bridge plugin's ADD result (CNI result JSON).
    pub result: serde_json::Value,
    /// The pause process and its net namespace's inode: DEL only enters the namespace if it is
    /// still the same one (a reused pid must not lose its eth0).
    pub sandbox_pid: i32,
    pub netns_inode: u64,
}

impl PodNetwork {
    /// The commands alone, e.g. `ip link add pl-web type veth peer name eth0 netns 4242`.
    pub fn commands(&self) -> Vec<&str> {
        self.steps.iter().map(|s| s.command.as_str()).collect()
    }
}
