//! Where podlab keeps what it makes, so every resource can be found again and removed.

use std::path::PathBuf;

/// Root of all runtime state (root-only, 0700).
pub const STATE_ROOT: &str = "/run/podlab";
/// Built images (a cache like containerd's content store; kept between runs).
pub const IMAGE_ROOT: &str = "/var/lib/podlab/images";

pub fn pods_dir() -> PathBuf {
    PathBuf::from(STATE_ROOT).join("pods")
}

pub fn pod_dir(uid: &str) -> PathBuf {
    pods_dir().join(uid)
}

pub fn state_file(uid: &str) -> PathBuf {
    pod_dir(uid).join("state.json")
}

pub fn shim_socket(uid: &str) -> PathBuf {
    pod_dir(uid).join("shim.sock")
}

/// Held with flock by a live shim: gc may only remove a pod whose lock it can take.
pub fn shim_lock(uid: &str) -> PathBuf {
    pod_dir(uid).join("shim.lock")
}

pub fn logs_dir(uid: &str) -> PathBuf {
    pod_dir(uid).join("logs")
}

pub fn log_file(uid: &str, container: &str) -> PathBuf {
    logs_dir(uid).join(format!("{container}.log"))
}

pub fn volumes_dir(uid: &str) -> PathBuf {
    pod_dir(uid).join("volumes")
}

pub fn containers_dir(uid: &str) -> PathBuf {
    pod_dir(uid).join("containers")
}

/// Machine-wide lock for bridge, IPAM and gc.
pub fn global_lock() -> PathBuf {
    PathBuf::from(STATE_ROOT).join("lock")
}
