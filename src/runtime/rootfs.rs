//! The container's filesystem view, built inside its own mount namespace: an overlay of the image,
//! the pod's volumes, its own /proc, a minimal /dev with the pod's shared /dev/shm, kubelet's
//! /etc/hosts, /etc/hostname and /etc/resolv.conf, then `pivot_root`, then runc's default masks.
//!
//! Everything here is mounted in the container's mount namespace, so it disappears with the
//! container: nothing has to be unmounted on the host.

use std::path::{Path, PathBuf};

use eyre::{eyre, Context, Result};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RootfsConfig {
    /// The image's layers (read-only lower directories), top first.
    pub lower: Vec<PathBuf>,
    /// Writable layer and overlayfs work dir, in the pod's state dir.
    pub upper: PathBuf,
    pub work: PathBuf,
    /// Where the merged rootfs is mounted before pivot_root.
    pub merged: PathBuf,
    pub mounts: Vec<VolumeBind>,
    /// The pod's shared /dev/shm.
    pub shm: PathBuf,
    pub etc_hosts: PathBuf,
    pub etc_hostname: PathBuf,
    /// The pod's resolv.conf (`kube::dns`).
    pub etc_resolv_conf: PathBuf,
    /// What the container sees at /sys/fs/cgroup (None: the bare directory of sysfs).
    #[serde(default)]
    pub cgroup: Option<CgroupView>,
    /// `hostUsers: false`: where the image is attached idmapped by the pod's user namespace,
    /// the overlay's lower layer. The overlay is then mounted by `podlab init` as the host's
    /// root, before it joins the pod's user namespace ([`prepare_idmapped`]).
    #[serde(default)]
    pub idmapped_lower: Option<PathBuf>,
    /// `hostUsers: false`: the pod's root on the host (65536·N), who owns the container's /dev.
    #[serde(default)]
    pub pod_root: Option<u32>,
    /// `readOnlyRootFilesystem: true`: the root is remounted read-only once everything is in
    /// place (volumes, /dev, /proc stay what they are), as runc's `Readonlyfs`.
    #[serde(default)]
    pub read_only: bool,
}

/// The container's /sys/fs/cgroup, as containerd's default spec (a `cgroup` mount, read-only
/// unless privileged) has runc make it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CgroupView {
    /// cgroup v2: a cgroup2 mount. Made inside the container's own cgroup namespace, its root
    /// is the container's leaf, so `/sys/fs/cgroup/memory.max` is the container's limit.
    Unified,
    /// cgroup v1, where containerd makes no cgroup namespace: a tmpfs with the container's own
    /// directory of each hierarchy bound at the hierarchy's name, plus a link per controller
    /// of a co-mounted one (`cpu` → `cpu,cpuacct`), as runc's mountCgroupV1 does.
    Legacy {
        /// (mount name, the container's directory in that hierarchy on the host).
        hierarchies: Vec<(String, PathBuf)>,
    },
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeBind {
    pub source: PathBuf,
    /// Absolute path inside the container.
    pub destination: String,
    pub read_only: bool,
}

/// Paths runc masks by default (bind /dev/null over files, an empty read-only tmpfs over dirs).
const MASKED: &[&str] = &[
    "/proc/acpi",
    "/proc/asound",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// Paths runc makes read-only by default.
const READ_ONLY: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// Device nodes every container gets, bound from the host.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

fn mnt(
    source: Option<&str>,
    target: &Path,
    fstype: Option<&str>,
    flags: MsFlags,
    data: Option<&str>,
) -> Result<()> {
    mount(source, target, fstype, flags, data).map_err(|e| {
        eyre!(
            "failed to mount {} on {}: {e}",
            source.unwrap_or("none"),
            target.display()
        )
    })
}

/// Join a container path onto the rootfs without letting `..` climb out of it.
fn inside(root: &Path, path: &str) -> PathBuf {
    let mut out = root.to_path_buf();
    for part in Path::new(path).components() {
        if let std::path::Component::Normal(p) = part {
            out.push(p);
        }
    }
    out
}

/// Build the container's root and pivot into it. `prepared`: with `hostUsers: false`, the root
/// [`prepare_idmapped`] made as the host's root is the working directory.
pub fn setup(config: &RootfsConfig, privileged: bool, prepared: bool) -> Result<()> {
    // Our mounts must not propagate back to the shim's namespace.
    all_private()?;
    let root = match prepared {
        true => {
            enter_own_copy()?;
            PathBuf::from(".")
        }
        false => {
            overlay(config, &config.lower)?;
            from_the_pod(&config.merged, config)?;
            config.merged.clone()
        }
    };
    of_its_own(&root, config, privileged)?;
    pivot_into(&root)?;
    if !privileged {
        mask_paths()?;
    }
    if config.read_only {
        remount_read_only(Path::new("/"), MsFlags::empty())
            .wrap_err("failed to make the root filesystem read-only")?;
    }
    Ok(())
}

/// What comes from the pod's directory on the host: /dev with the pod's /dev/shm, /etc/hosts,
/// /etc/hostname and /etc/resolv.conf, then the volumes. As in containerd, a volume mounted
/// at one of those paths takes its place (the usual Memory emptyDir at /dev/shm), and /dev
/// comes before the volumes, so that one mounted below /dev is not hidden by it.
fn from_the_pod(root: &Path, config: &RootfsConfig) -> Result<()> {
    let shm = (!has_volume_at(config, "/dev/shm")).then_some(config.shm.as_path());
    mount_dev(root, shm, config.pod_root)?;
    for (file, source) in [
        ("/etc/hosts", &config.etc_hosts),
        ("/etc/hostname", &config.etc_hostname),
        ("/etc/resolv.conf", &config.etc_resolv_conf),
    ] {
        if has_volume_at(config, file) {
            continue;
        }
        let target = inside(root, file);
        ensure_file(&target)?;
        mnt(source.to_str(), &target, None, MsFlags::MS_BIND, None)?;
    }
    mount_volumes(root, &config.mounts)
}

/// True when a volume is mounted at `path` in the container.
fn has_volume_at(config: &RootfsConfig, path: &str) -> bool {
    config
        .mounts
        .iter()
        .any(|m| inside(Path::new("/"), &m.destination) == Path::new(path))
}

/// What shows the container's own namespaces: /proc, /sys, /sys/fs/cgroup, /dev/mqueue.
fn of_its_own(root: &Path, config: &RootfsConfig, privileged: bool) -> Result<()> {
    mount_proc_and_sys(root, privileged)?;
    if let Some(view) = &config.cgroup {
        mount_cgroup(root, view, !privileged)?;
    }
    // POSIX message queues of the pod's (shared) IPC namespace.
    let mqueue = root.join("dev/mqueue");
    std::fs::create_dir_all(&mqueue)?;
    let _ = mount(
        Some("mqueue"),
        &mqueue,
        Some("mqueue"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    );
    Ok(())
}

/// Make every mount of this namespace private: nothing propagates back to where it came from.
fn all_private() -> Result<()> {
    mnt(
        None,
        Path::new("/"),
        None,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None,
    )
}

fn overlay(config: &RootfsConfig, lower: &[PathBuf]) -> Result<()> {
    let lower: Vec<String> = lower.iter().map(|p| p.display().to_string()).collect();
    let mut layers = format!(
        "lowerdir={},upperdir={},workdir={}",
        lower.join(":"),
        config.upper.display(),
        config.work.display()
    );
    // Without root the layers were unpacked with user.overlay.* attributes (opaque
    // directories), which overlayfs reads only with userxattr; trusted.* ones it could not read
    // in a user namespace at all.
    if super::rootless::is_rootless() {
        layers.push_str(",userxattr");
    }
    // The mount's options must fit in a page.
    if layers.len() >= 4096 {
        return Err(eyre!(
            "the image has too many layers ({}) for one overlay mount's options",
            lower.len()
        ));
    }
    mnt(
        Some("overlay"),
        &config.merged,
        Some("overlay"),
        MsFlags::empty(),
        Some(&layers),
    )
}

/// `hostUsers: false`, in `podlab init` while it is still the host's root: a mount namespace
/// of its own (the container's is made from it), the image attached idmapped by the pod's user
/// namespace `userns`, the overlay over it, and what comes from the pod's directory, which the
/// pod's root (65536·N) may not enter. It ends in the root: the working directory follows
/// into the mount namespaces made from this one, where [`setup`] finds it.
///
/// The image's files then show as the pod's root's inside; what the container writes lands in
/// the upper layer as 65536·N.
pub fn prepare_idmapped(config: &RootfsConfig, userns: &std::fs::File) -> Result<()> {
    let base = config
        .idmapped_lower
        .as_ref()
        .ok_or_else(|| eyre!("no place for the idmapped image"))?;
    nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNS)
        .map_err(|e| eyre!("failed to create a mount namespace for the idmapped image: {e}"))?;
    all_private()?;
    // Each layer attached idmapped, in the image's order.
    let mut lowers = Vec::with_capacity(config.lower.len());
    for (i, layer) in config.lower.iter().enumerate() {
        let tree = super::userns::idmapped_tree(layer, userns)?;
        let at = base.join(i.to_string());
        std::fs::create_dir_all(&at)
            .wrap_err_with(|| format!("failed to create {}", at.display()))?;
        super::userns::attach(&tree, &at)?;
        lowers.push(at);
    }
    overlay(config, &lowers).wrap_err(
        "failed to mount the overlay over the idmapped image (an overlay over idmapped layers needs Linux 5.19+)",
    )?;
    from_the_pod(&config.merged, config)?;
    std::env::set_current_dir(&config.merged)
        .wrap_err_with(|| format!("failed to enter {}", config.merged.display()))
}

/// In the container's mount namespace, made in the pod's user namespace from the one
/// [`prepare_idmapped`] built: those mounts came from a more privileged namespace, so the
/// kernel locks them to their parents and pivot_root refuses them. A copy of the root made
/// here is the namespace's own; mounted over the prepared root and entered, it is where the
/// rest happens (paths relative to it: the pod's root may not walk the host's state dir).
fn enter_own_copy() -> Result<()> {
    let prepared = nix::fcntl::open(
        ".",
        nix::fcntl::OFlag::O_PATH | nix::fcntl::OFlag::O_DIRECTORY | nix::fcntl::OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| eyre!("failed to open the container's root: {e}"))?;
    // SAFETY: a descriptor open just returned.
    let prepared: std::os::fd::OwnedFd = unsafe { std::os::fd::FromRawFd::from_raw_fd(prepared) };
    let copy = super::userns::copy_tree_at(&prepared)?;
    super::userns::attach_over(&copy, &prepared)?;
    nix::unistd::fchdir(std::os::fd::AsRawFd::as_raw_fd(&copy))
        .map_err(|e| eyre!("failed to enter the container's root: {e}"))
}

fn ensure_file(path: &Path) -> Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .wrap_err_with(|| format!("failed to create {}", dir.display()))?;
    }
    if !path.exists() {
        std::fs::write(path, "")
            .wrap_err_with(|| format!("failed to create {}", path.display()))?;
    }
    Ok(())
}

fn mount_volumes(root: &Path, mounts: &[VolumeBind]) -> Result<()> {
    for m in mounts {
        let target = inside(root, &m.destination);
        if m.source.is_dir() {
            std::fs::create_dir_all(&target)
                .wrap_err_with(|| format!("failed to create mount point {}", m.destination))?;
        } else {
            ensure_file(&target)?;
        }
        let source = m.source.to_string_lossy();
        mnt(
            Some(&source),
            &target,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )?;
        if m.read_only {
            remount_read_only(&target, MsFlags::empty())?;
        }
    }
    Ok(())
}

fn mount_proc_and_sys(root: &Path, privileged: bool) -> Result<()> {
    let proc_dir = root.join("proc");
    std::fs::create_dir_all(&proc_dir)?;
    let hardening = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mnt(Some("proc"), &proc_dir, Some("proc"), hardening, None)?;
    let sys_dir = root.join("sys");
    std::fs::create_dir_all(&sys_dir)?;
    let ro = if privileged {
        MsFlags::empty()
    } else {
        MsFlags::MS_RDONLY
    };
    // A fresh sysfs shows the container's own net namespace; fall back to the host's view.
    if mount(
        Some("sysfs"),
        &sys_dir,
        Some("sysfs"),
        hardening | ro,
        None::<&str>,
    )
    .is_err()
    {
        mnt(
            Some("/sys"),
            &sys_dir,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )?;
        if !privileged {
            remount_read_only(&sys_dir, MsFlags::empty())?;
        }
    }
    Ok(())
}

fn mount_cgroup(root: &Path, view: &CgroupView, read_only: bool) -> Result<()> {
    let target = root.join("sys/fs/cgroup");
    let hardening =
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC | MsFlags::MS_RELATIME;
    let ro = if read_only {
        MsFlags::MS_RDONLY
    } else {
        MsFlags::empty()
    };
    match view {
        CgroupView::Unified => mnt(
            Some("cgroup2"),
            &target,
            Some("cgroup2"),
            hardening | ro,
            None,
        ),
        CgroupView::Legacy { hierarchies } => {
            mnt(
                Some("tmpfs"),
                &target,
                Some("tmpfs"),
                hardening,
                Some("mode=755"),
            )?;
            for (name, dir) in hierarchies {
                let at = inside(&target, name);
                std::fs::create_dir_all(&at)
                    .wrap_err_with(|| format!("failed to create /sys/fs/cgroup/{name}"))?;
                mnt(
                    dir.to_str(),
                    &at,
                    None,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None,
                )?;
                if read_only {
                    mnt(
                        None,
                        &at,
                        None,
                        MsFlags::MS_BIND | MsFlags::MS_REMOUNT | hardening | ro,
                        None,
                    )?;
                }
                for controller in name.split(',').filter(|_| name.contains(',')) {
                    match std::os::unix::fs::symlink(name, target.join(controller)) {
                        Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                            return Err(eyre!(
                                "failed to link /sys/fs/cgroup/{controller} to {name}: {e}"
                            ))
                        }
                        _ => {}
                    }
                }
            }
            Ok(())
        }
    }
}

/// A tmpfs /dev with runc's device nodes, devpts, and the pod's /dev/shm bound in (`shm`:
/// None when a volume takes that place).
fn mount_dev(root: &Path, shm: Option<&Path>, owner: Option<u32>) -> Result<()> {
    let dev = root.join("dev");
    std::fs::create_dir_all(&dev)?;
    let mut options = "mode=755,size=65536k".to_string();
    if let Some(id) = owner {
        options.push_str(&format!(",uid={id},gid={id}"));
    }
    mnt(
        Some("tmpfs"),
        &dev,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_STRICTATIME,
        Some(&options),
    )?;
    for name in DEVICES {
        let target = dev.join(name);
        ensure_file(&target)?;
        let source = format!("/dev/{name}");
        mnt(Some(&source), &target, None, MsFlags::MS_BIND, None)?;
    }
    let pts = dev.join("pts");
    std::fs::create_dir_all(&pts)?;
    mnt(
        Some("devpts"),
        &pts,
        Some("devpts"),
        MsFlags::MS_NOSUID | MsFlags::MS_NOEXEC,
        Some("newinstance,ptmxmode=0666,mode=0620"),
    )?;
    for (link, target) in [
        ("ptmx", "pts/ptmx"),
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ] {
        std::os::unix::fs::symlink(target, dev.join(link))
            .wrap_err_with(|| format!("failed to link /dev/{link}"))?;
    }
    // Mounted over later, in the container's IPC namespace.
    std::fs::create_dir_all(dev.join("mqueue"))?;
    let shm_dir = dev.join("shm");
    std::fs::create_dir_all(&shm_dir)?;
    if let Some(shm) = shm {
        let shm_source = shm.to_string_lossy();
        mnt(Some(&shm_source), &shm_dir, None, MsFlags::MS_BIND, None)?;
    }
    Ok(())
}

/// `pivot_root(".", ".")` then detach the old root stacked underneath, as runc does: no
/// temporary directory is needed inside the rootfs.
fn pivot_into(root: &Path) -> Result<()> {
    std::env::set_current_dir(root)
        .wrap_err_with(|| format!("failed to enter {}", root.display()))?;
    nix::unistd::pivot_root(".", ".")
        .map_err(|e| eyre!("failed to pivot_root into {}: {e}", root.display()))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| eyre!("failed to detach the old root: {e}"))?;
    std::env::set_current_dir("/").wrap_err("failed to enter the new root")?;
    Ok(())
}

fn mask_paths() -> Result<()> {
    for path in MASKED {
        let p = Path::new(path);
        let Ok(meta) = std::fs::metadata(p) else {
            continue;
        };
        if meta.is_dir() {
            mnt(Some("tmpfs"), p, Some("tmpfs"), MsFlags::MS_RDONLY, None)?;
        } else {
            mnt(Some("/dev/null"), p, None, MsFlags::MS_BIND, None)?;
        }
    }
    for path in READ_ONLY {
        let p = Path::new(path);
        if !p.exists() {
            continue;
        }
        mnt(
            Some(path),
            p,
            None,
            MsFlags::MS_BIND | MsFlags::MS_REC,
            None,
        )?;
        remount_read_only(p, MsFlags::MS_REC)?;
    }
    Ok(())
}

/// Make a bind mount read-only, keeping the flags it has: in a user namespace (a pod built
/// without root) the kernel locks nosuid, nodev, noexec and the atime flags of mounts that
/// came from the host, and refuses a remount that would clear them.
/// The sandbox (pause): its mount namespace's root made read-only, after making every mount
/// of the namespace private so that nothing propagates back to the host.
pub fn read_only_root_of_own_namespace() -> Result<()> {
    all_private()?;
    remount_read_only(Path::new("/"), MsFlags::empty())
}

fn remount_read_only(target: &Path, extra: MsFlags) -> Result<()> {
    use nix::sys::statvfs::{statvfs, FsFlags};
    let kept = statvfs(target)
        .map(|s| s.flags())
        .unwrap_or(FsFlags::empty());
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY | extra;
    for (has, flag) in [
        (FsFlags::ST_NOSUID, MsFlags::MS_NOSUID),
        (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
        (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
        (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if kept.contains(has) {
            flags |= flag;
        }
    }
    mnt(None, target, None, flags, None)
}
