//! `hostUsers: false` on the machine: a pod's range of ids, its user namespace's maps, and
//! the image seen through an idmapped mount.
//!
//! The range comes from `kube::userns` (kubelet's rule) and is kept, as kubelet keeps it, in a
//! `userns` file in the pod's directory: the ranges in use are the files that exist, so a
//! pod's range is free again once its directory is gone (`podlab delete`, or `podlab gc`
//! after its shim was killed). Allocation runs under the machine-wide lock.
//!
//! Image files belong to the host's root. Seen from the pod's user namespace they would
//! belong to nobody (65534), so the container's root could not own its own `/`. An idmapped
//! mount (`mount_setattr(MOUNT_ATTR_IDMAP)`, Linux 5.12+, on a filesystem that allows it) shows
//! them shifted by the pod's map: host 0 is 0 inside. The overlay's upper layer and emptyDir
//! volumes are plainly owned by 65536·N, so what the container writes is 65536·N on the host.

use std::ffi::CString;
use std::fs::File;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use eyre::{eyre, Context, Result};

use super::paths;
use crate::kube::userns::{self, IdRange};

/// The file in a pod's directory that holds its range (kubelet's name for it).
const RECORD: &str = "userns";

/// Give the pod `uid` the lowest free range and record it. The caller holds the global lock.
pub fn allocate(uid: &str) -> Result<IdRange> {
    let mut in_use = vec![];
    if let Ok(dirs) = std::fs::read_dir(paths::pods_dir()) {
        for dir in dirs.flatten() {
            let Ok(text) = std::fs::read_to_string(dir.path().join(RECORD)) else {
                continue;
            };
            // A record podlab cannot read still holds its range: it is never handed out twice.
            match IdRange::from_record(&text) {
                Ok(range) => in_use.push(range.first_id),
                Err(_) => {
                    if let Some(first) = first_host_id(&text) {
                        in_use.push(first);
                    }
                }
            }
        }
    }
    let range = userns::allocate(in_use).map_err(|_| {
        eyre!(
            "every range of {} ids is in use by a pod with hostUsers: false; delete one first",
            userns::RANGE_LENGTH
        )
    })?;
    let path = paths::pod_dir(uid).join(RECORD);
    std::fs::write(&path, range.record())
        .wrap_err_with(|| format!("failed to write {}", path.display()))?;
    Ok(range)
}

fn first_host_id(text: &str) -> Option<u32> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let id = value.get("uidMappings")?.get(0)?.get("hostId")?.as_u64()?;
    u32::try_from(id).ok()
}

/// Write the pod's map for `pid`, which has just made the user namespace: the same range for
/// uids and gids. Root writes it directly (no newuidmap), and setgroups stays allowed.
pub fn write_maps(pid: i32, range: IdRange) -> Result<()> {
    for file in ["uid_map", "gid_map"] {
        let path = format!("/proc/{pid}/{file}");
        std::fs::write(&path, format!("{}\n", range.map_line()))
            .wrap_err_with(|| format!("failed to write {path}"))?;
    }
    Ok(())
}

/// After joining a pod's user namespace from the host, where our ids are not mapped (the
/// kernel shows them as 65534): become root of the namespace, 65536·N on the host. A process
/// whose ids are mapped already (without root, where the learner is root inside) keeps them.
pub fn become_root_inside() -> std::io::Result<()> {
    // SAFETY: plain syscalls on this process's credentials.
    unsafe {
        if libc::getuid() == 0 && libc::getgid() == 0 {
            return Ok(());
        }
        if libc::setgroups(0, std::ptr::null()) < 0
            || libc::setresgid(0, 0, 0) < 0
            || libc::setresuid(0, 0, 0) < 0
        {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

// <linux/mount.h>, kept here: not every libc target exports them.
const OPEN_TREE_CLONE: libc::c_uint = 1;
const MOUNT_ATTR_IDMAP: u64 = 0x0010_0000;
const MOVE_MOUNT_F_EMPTY_PATH: libc::c_uint = 0x0000_0004;

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// A detached copy of the mount at `dir`, shifted by the user namespace `userns` (an open
/// `/proc/<pid>/ns/user`). Needs root on the host, so it is made before the user namespace is
/// joined. Fails with why when the kernel or the filesystem cannot do it.
pub fn idmapped_tree(dir: &Path, userns: &File) -> Result<OwnedFd> {
    let c_dir = CString::new(dir.as_os_str().as_encoded_bytes())
        .map_err(|_| eyre!("{} contains a NUL byte", dir.display()))?;
    // SAFETY: open_tree(2) with a valid path; the descriptor it returns is ours.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            c_dir.as_ptr(),
            OPEN_TREE_CLONE | libc::O_CLOEXEC as libc::c_uint,
        )
    };
    if fd < 0 {
        let e = std::io::Error::last_os_error();
        return Err(eyre!(
            "failed to copy the mount of {} (open_tree): {e}{}",
            dir.display(),
            if e.raw_os_error() == Some(libc::ENOSYS) {
                "; this kernel has no open_tree (Linux 5.2+), so hostUsers: false cannot map the image's files"
            } else {
                ""
            }
        ));
    }
    // SAFETY: a descriptor open_tree just returned.
    let tree = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_IDMAP,
        attr_clr: 0,
        propagation: 0,
        userns_fd: userns.as_raw_fd() as u64,
    };
    // SAFETY: mount_setattr(2) on the detached tree, with an attr of the size we pass.
    let set = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    if set < 0 {
        let e = std::io::Error::last_os_error();
        return Err(eyre!("{}", idmap_refused(dir, &e)));
    }
    Ok(tree)
}

/// Why an idmapped mount of `dir` failed, for the learner: the kernel, or the filesystem.
fn idmap_refused(dir: &Path, e: &std::io::Error) -> String {
    let fs = filesystem_of(dir).unwrap_or_else(|| "its filesystem".into());
    match e.raw_os_error() {
        Some(libc::ENOSYS) => "hostUsers: false needs idmapped mounts (mount_setattr, Linux 5.12+), which this kernel does not have; podlab does not run the pod with the image's files owned by nobody".to_string(),
        Some(libc::EINVAL) | Some(libc::EPERM) | Some(libc::EOPNOTSUPP) => format!(
            "hostUsers: false needs an idmapped mount of the image at {} and {fs} does not allow one here ({e}); ext4, xfs, btrfs (Linux 5.12+) and tmpfs (6.3+) do: put podlab's images on one of them",
            dir.display()
        ),
        _ => format!(
            "failed to make an idmapped mount of {} ({fs}): {e}",
            dir.display()
        ),
    }
}

/// The filesystem type of the mount `dir` is on, from /proc/self/mountinfo.
fn filesystem_of(dir: &Path) -> Option<String> {
    let dir = std::fs::canonicalize(dir).ok()?;
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    info.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let mount_point = fields.get(4)?;
            let dash = fields.iter().position(|f| *f == "-")?;
            let fstype = fields.get(dash + 1)?;
            dir.starts_with(mount_point)
                .then(|| (mount_point.len(), (*fstype).to_string()))
        })
        .max_by_key(|(len, _)| *len)
        .map(|(_, fstype)| fstype)
}

/// Attach a detached tree at `target` (in this process's mount namespace).
pub fn attach(tree: &OwnedFd, target: &Path) -> Result<()> {
    let c_target = CString::new(target.as_os_str().as_encoded_bytes())
        .map_err(|_| eyre!("{} contains a NUL byte", target.display()))?;
    // SAFETY: move_mount(2) from our detached tree to a path.
    let moved = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_FDCWD,
            c_target.as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH,
        )
    };
    if moved < 0 {
        return Err(eyre!(
            "failed to attach the idmapped image at {}: {}",
            target.display(),
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// A copy of the mount tree at `dir` (open as a path), detached, for this mount namespace.
pub fn copy_tree_at(dir: &OwnedFd) -> Result<OwnedFd> {
    // SAFETY: open_tree(2) on our descriptor; the one it returns is ours.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            dir.as_raw_fd(),
            c"".as_ptr(),
            OPEN_TREE_CLONE
                | libc::O_CLOEXEC as libc::c_uint
                | libc::AT_RECURSIVE as libc::c_uint
                | libc::AT_EMPTY_PATH as libc::c_uint,
        )
    };
    if fd < 0 {
        return Err(eyre!(
            "failed to copy the container's root (open_tree): {}",
            std::io::Error::last_os_error()
        ));
    }
    // SAFETY: a descriptor open_tree just returned.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as i32) })
}

/// Mount the detached `tree` over the directory `at` (open as a path).
pub fn attach_over(tree: &OwnedFd, at: &OwnedFd) -> Result<()> {
    const MOVE_MOUNT_T_EMPTY_PATH: libc::c_uint = 0x0000_0040;
    // SAFETY: move_mount(2) between two descriptors of ours.
    let moved = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            tree.as_raw_fd(),
            c"".as_ptr(),
            at.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    if moved < 0 {
        return Err(eyre!(
            "failed to mount the container's root over itself: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Whether the image root can be idmapped for a pod's user namespace: tried once, as the
/// sandbox's namespaces are made, so a machine that cannot do it refuses the pod then, with
/// why, and no container ever starts over files owned by nobody.
pub fn check_image_idmap(userns: &File) -> Result<()> {
    let root = paths::image_root();
    idmapped_tree(&root, userns).map(drop)
}

/// Own `path` as the pod's root (65536·N on the host).
pub fn chown_to_root_inside(path: &Path, range: IdRange) -> Result<()> {
    std::os::unix::fs::chown(path, Some(range.first_id), Some(range.first_id))
        .wrap_err_with(|| format!("failed to give {} to the pod's root", path.display()))
}
