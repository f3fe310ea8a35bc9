//! Removing what a pod made. Used by the shim when it ends and by `podlab gc` after a crash;
//! every part is idempotent.

use nix::mount::{umount2, MntFlags};
use nix::sys::signal::Signal;

use super::paths;
use super::sys::LiveProcess;
use crate::kube::pod_state::PodState;

/// Kill any process of the pod that is still alive (only after its shim is gone).
pub fn kill_leftover_processes(state: &PodState) -> usize {
    let mut killed = 0;
    let processes = state
        .sandbox
        .iter()
        .map(|s| s.pause)
        .chain(state.containers.iter().filter_map(|c| c.process));
    for p in processes {
        if p.signal(Signal::SIGKILL) {
            killed += 1;
        }
    }
    killed
}

/// Remove the pod's state dir and everything under it.
pub fn remove_pod_resources(uid: &str) {
    let dir = paths::pod_dir(uid);
    // Inside the shim's mount namespace these are tmpfs mounts; elsewhere plain directories.
    let mut mounts = vec![dir.join("shm")];
    if let Ok(volumes) = std::fs::read_dir(paths::volumes_dir(uid)) {
        mounts.extend(volumes.flatten().map(|e| e.path()));
    }
    for m in mounts {
        let _ = umount2(&m, MntFlags::MNT_DETACH);
    }
    if std::fs::remove_dir_all(&dir).is_err() {
        // overlayfs leaves its work/work directory with mode 000: root removes it anyway,
        // a user (gc without root, outside the node's namespace) must open it up first.
        open_up(&dir);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// Give the owner rwx on every directory below `dir` that can be reached.
fn open_up(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            open_up(&entry.path());
        }
    }
}
