//! Pods without root: the learner builds them in namespaces they own.
//!
//! Root mode makes the pod's namespaces, cgroups and network devices on the host. A learner
//! without root gets the same steps one level down, as rootless containerd and Podman do it:
//!
//! * [`node`]: `podlab-node`, one process per user, holds a user namespace that maps the
//!   learner to root (and, with `newuidmap` and a subordinate range, 65536 ids like a real
//!   node), and a net namespace, the node's network, where the bridge and the host ends of the
//!   pods' veths live. Every shim of the learner joins both before it does anything, so pause
//!   and the containers are made inside them.
//! * [`idmap`]: which ids the user namespace maps, from `/etc/subuid` and `/etc/subgid`.
//! * [`delegation`]: where cgroup limits can be enforced (a subtree delegated to the user), and
//!   why not otherwise.
//! * [`check`]: whether this machine lets a user make user namespaces, and what to say if not.
//!
//! Who builds pods is decided once per process by [`builder`], from the *host's* view of our
//! user id (through `/proc/self/uid_map`), so a shim inside the node's user namespace, where it
//! is uid 0, still knows it works for the learner and keeps the learner's state.

pub mod check;
pub mod delegation;
pub mod idmap;
pub mod node;
pub mod trial;

use std::sync::OnceLock;

/// Who builds pods in this process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builder {
    /// The host's root: namespaces, cgroups and devices on the host.
    Root,
    /// A user without root: pods in a user namespace the user owns (`podlab-node`).
    User { uid: u32, gid: u32 },
}

impl Builder {
    pub fn is_rootless(self) -> bool {
        matches!(self, Builder::User { .. })
    }

    /// The user's id on the host (0 for root).
    pub fn host_uid(self) -> u32 {
        match self {
            Builder::Root => 0,
            Builder::User { uid, .. } => uid,
        }
    }
}

/// Who builds pods in this process, decided on first use.
pub fn builder() -> Builder {
    static BUILDER: OnceLock<Builder> = OnceLock::new();
    *BUILDER.get_or_init(|| {
        let euid = nix::unistd::geteuid().as_raw();
        let egid = nix::unistd::getegid().as_raw();
        let uid_map = std::fs::read_to_string("/proc/self/uid_map").unwrap_or_default();
        let gid_map = std::fs::read_to_string("/proc/self/gid_map").unwrap_or_default();
        let uid = idmap::outside_id(&uid_map, euid).unwrap_or(euid);
        let gid = idmap::outside_id(&gid_map, egid).unwrap_or(egid);
        if uid == 0 {
            Builder::Root
        } else {
            Builder::User { uid, gid }
        }
    })
}

/// True when pods are built without root.
pub fn is_rootless() -> bool {
    builder().is_rootless()
}
