//! Which cgroup hierarchy this machine has, from `/proc/self/mountinfo`.
//!
//! * unified: `/sys/fs/cgroup` is itself a cgroup2 mount — one tree, every controller;
//! * legacy: one cgroup (v1) mount per controller (or group of controllers);
//! * hybrid: legacy plus a cgroup2 mount (often `/sys/fs/cgroup/unified`) that holds no
//!   controllers, since each controller lives in exactly one hierarchy — so podlab uses v1.

use std::collections::BTreeMap;
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use procfs::process::MountInfos;
use procfs::FromBufRead;

use super::CgroupError;

pub const DEFAULT_CGROUP_ROOT: &str = "/sys/fs/cgroup";
const MOUNTINFO: &str = "/proc/self/mountinfo";

/// Controllers the kernel can bind to a v1 hierarchy (named hierarchies such as
/// `name=systemd` are not controllers).
const V1_CONTROLLERS: &[&str] = &[
    "cpu",
    "cpuacct",
    "cpuset",
    "memory",
    "pids",
    "blkio",
    "devices",
    "freezer",
    "net_cls",
    "net_prio",
    "perf_event",
    "hugetlb",
    "rdma",
    "misc",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupMode {
    Unified,
    Legacy,
    Hybrid,
}

impl CgroupMode {
    pub fn as_str(self) -> &'static str {
        match self {
            CgroupMode::Unified => "unified (cgroup v2)",
            CgroupMode::Legacy => "legacy (cgroup v1)",
            CgroupMode::Hybrid => "hybrid (cgroup v1 controllers, empty cgroup v2 mount)",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CgroupLayout {
    /// cgroup v2: one tree at `root`.
    Unified { root: PathBuf },
    /// cgroup v1: the mount point of each controller; `unified` is the controller-less
    /// cgroup2 mount of a hybrid machine.
    Legacy {
        controllers: BTreeMap<String, PathBuf>,
        unified: Option<PathBuf>,
    },
}

impl CgroupLayout {
    /// The layout of this machine.
    pub fn detect() -> Result<CgroupLayout, CgroupError> {
        let text = std::fs::read(MOUNTINFO).map_err(|e| CgroupError::io("read", MOUNTINFO, e))?;
        CgroupLayout::from_mountinfo(&text, Path::new(DEFAULT_CGROUP_ROOT))
    }

    /// The layout described by a mountinfo text (parsed by procfs); `cgroup_root` is where a
    /// unified hierarchy would be mounted.
    pub fn from_mountinfo(text: &[u8], cgroup_root: &Path) -> Result<CgroupLayout, CgroupError> {
        let mounts = MountInfos::from_buf_read(text)
            .map_err(|e| CgroupError::NoHierarchy(format!("failed to parse {MOUNTINFO}: {e}")))?;
        let mut controllers: BTreeMap<String, PathBuf> = BTreeMap::new();
        let mut cgroup2_mounts = vec![];
        for mount in mounts {
            let mount_point = unescape_octal(&mount.mount_point.to_string_lossy());
            match mount.fs_type.as_str() {
                "cgroup2" if mount_point == cgroup_root => {
                    return Ok(CgroupLayout::Unified { root: mount_point });
                }
                "cgroup2" => cgroup2_mounts.push(mount_point),
                "cgroup" => {
                    for option in mount.super_options.keys().map(String::as_str) {
                        if !V1_CONTROLLERS.contains(&option) {
                            continue;
                        }
                        // Like kubelet: with several mounts of one controller, the shortest path.
                        let shorter = controllers.get(option).is_none_or(|known| {
                            mount_point.as_os_str().len() < known.as_os_str().len()
                        });
                        if shorter {
                            controllers.insert(option.to_string(), mount_point.clone());
                        }
                    }
                }
                _ => {}
            }
        }
        if !controllers.is_empty() {
            return Ok(CgroupLayout::Legacy {
                controllers,
                unified: cgroup2_mounts.into_iter().next(),
            });
        }
        if let Some(root) = cgroup2_mounts.into_iter().next() {
            return Ok(CgroupLayout::Unified { root });
        }
        Err(CgroupError::NoHierarchy(format!(
            "no cgroup or cgroup2 mount in {MOUNTINFO}"
        )))
    }

    pub fn mode(&self) -> CgroupMode {
        match self {
            CgroupLayout::Unified { .. } => CgroupMode::Unified,
            CgroupLayout::Legacy { unified: None, .. } => CgroupMode::Legacy,
            CgroupLayout::Legacy {
                unified: Some(_), ..
            } => CgroupMode::Hybrid,
        }
    }

    /// Every hierarchy root podlab may have created cgroups under (for gc).
    pub fn all_roots(&self) -> Vec<PathBuf> {
        match self {
            CgroupLayout::Unified { root } => vec![root.clone()],
            CgroupLayout::Legacy {
                controllers,
                unified,
            } => {
                let mut roots: Vec<PathBuf> =
                    controllers.values().chain(unified).cloned().collect();
                roots.sort();
                roots.dedup();
                roots
            }
        }
    }
}

/// mountinfo writes space, tab, newline and backslash as `\040`, `\011`, `\012`, `\134`;
/// procfs leaves them escaped.
fn unescape_octal(s: &str) -> PathBuf {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let escaped = bytes[i] == b'\\'
            && i + 3 < bytes.len()
            && bytes[i + 1..i + 4]
                .iter()
                .all(|b| (b'0'..=b'7').contains(b));
        if escaped {
            let value = bytes[i + 1..i + 4]
                .iter()
                .fold(0u32, |acc, b| acc * 8 + u32::from(b - b'0'));
            out.push(value as u8);
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";

    const UNIFIED: &str = "\
25 30 0:23 / /sys rw,nosuid - sysfs sysfs rw
26 25 0:24 / /sys/fs/cgroup rw,nosuid,nodev,noexec shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    const LEGACY_COMOUNTED: &str = "\
32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime shared:10 - cgroup cgroup rw,memory
36 31 0:32 / /var/lib/bind\\040mount/memory rw,relatime - cgroup cgroup rw,memory
";

    #[test]
    fn hybrid_uses_v1_controllers() {
        let layout =
            CgroupLayout::from_mountinfo(HYBRID.as_bytes(), Path::new(DEFAULT_CGROUP_ROOT));
        let Ok(layout) = layout else {
            panic!("{layout:?}")
        };
        assert_eq!(layout.mode(), CgroupMode::Hybrid);
        let CgroupLayout::Legacy {
            controllers,
            unified,
        } = &layout
        else {
            panic!("{layout:?}")
        };
        assert_eq!(
            controllers.get("cpu"),
            Some(&PathBuf::from("/sys/fs/cgroup/cpu"))
        );
        assert_eq!(
            controllers.get("memory"),
            Some(&PathBuf::from("/sys/fs/cgroup/memory"))
        );
        assert!(!controllers.contains_key("name=systemd"));
        assert_eq!(
            unified.as_deref(),
            Some(Path::new("/sys/fs/cgroup/unified"))
        );
    }

    #[test]
    fn unified_when_cgroup_root_is_cgroup2() {
        let layout =
            CgroupLayout::from_mountinfo(UNIFIED.as_bytes(), Path::new(DEFAULT_CGROUP_ROOT));
        assert_eq!(
            layout.ok(),
            Some(CgroupLayout::Unified {
                root: PathBuf::from("/sys/fs/cgroup")
            })
        );
    }

    #[test]
    fn comounted_controllers_share_a_root_and_shortest_mount_wins() {
        let layout = CgroupLayout::from_mountinfo(
            LEGACY_COMOUNTED.as_bytes(),
            Path::new(DEFAULT_CGROUP_ROOT),
        );
        let Ok(layout) = layout else {
            panic!("{layout:?}")
        };
        assert_eq!(layout.mode(), CgroupMode::Legacy);
        assert_eq!(
            layout.all_roots(),
            vec![
                PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"),
                PathBuf::from("/sys/fs/cgroup/memory")
            ]
        );
        assert_eq!(unescape_octal("/a\\040b\\134c"), Path::new("/a b\\c"));
    }

    #[test]
    fn no_cgroup_mounts_is_an_error() {
        let result = CgroupLayout::from_mountinfo(
            b"25 30 0:23 / /sys rw - sysfs sysfs rw\n",
            Path::new("/x"),
        );
        assert!(matches!(result, Err(CgroupError::NoHierarchy(_))));
    }

    #[test]
    fn this_machine_has_a_layout() {
        let layout = CgroupLayout::detect();
        assert!(layout.is_ok(), "{layout:?}");
    }
}
