//! Cgroup names a Kubernetes user recognises, under a `podlab` parent so podlab's cgroups never
//! mix with a real kubelet's:
//!
//! ```text
//! podlab/kubepods/pod<UID>/<container>              Guaranteed
//! podlab/kubepods/burstable/pod<UID>/<container>    Burstable
//! podlab/kubepods/besteffort/pod<UID>/pause         BestEffort, the sandbox leaf
//! ```

use std::path::{Path, PathBuf};

use super::CgroupError;
use crate::kube::qos::QosClass;

pub const PODLAB_DIR: &str = "podlab";
pub const KUBEPODS_DIR: &str = "kubepods";
/// kubelet's prefix of a pod cgroup (`pod` + UID, cgroupfs driver).
pub const POD_PREFIX: &str = "pod";
/// The leaf of the pause process.
pub const PAUSE_LEAF: &str = "pause";

/// The directories from the hierarchy root down to (not including) the pod cgroup.
pub fn ancestors(qos: QosClass) -> Vec<&'static str> {
    let mut dirs = vec![PODLAB_DIR, KUBEPODS_DIR];
    dirs.extend(qos.cgroup_dir());
    dirs
}

/// The directory of a QoS tier below `root` (`…/podlab/kubepods/burstable`); None for
/// Guaranteed, whose pods sit directly under kubepods.
pub fn tier_dir(root: &Path, qos: QosClass) -> Option<PathBuf> {
    qos.cgroup_dir()?;
    Some(
        ancestors(qos)
            .iter()
            .fold(root.to_path_buf(), |dir, c| dir.join(c)),
    )
}

/// `podlab/kubepods[/burstable|/besteffort]/pod<UID>`, relative to a hierarchy root.
pub fn pod_path(uid: &str, qos: QosClass) -> Result<PathBuf, CgroupError> {
    check_name(uid, "pod uid")?;
    let mut path: PathBuf = ancestors(qos).iter().collect();
    path.push(format!("{POD_PREFIX}{uid}"));
    Ok(path)
}

/// The leaf name of an app container; `pause` is kept for the sandbox.
pub fn container_leaf(name: &str) -> Result<&str, CgroupError> {
    check_name(name, "container name")?;
    if name == PAUSE_LEAF {
        return Err(CgroupError::InvalidName {
            name: name.to_string(),
            reason: "the name \"pause\" is taken by the sandbox's cgroup",
        });
    }
    Ok(name)
}

/// The pod UID of a `pod<UID>` directory name.
pub fn uid_of_pod_dir(dir_name: &str) -> Option<&str> {
    dir_name
        .strip_prefix(POD_PREFIX)
        .filter(|uid| !uid.is_empty())
}

/// A name becomes one path component: nothing that could climb out of the hierarchy.
fn check_name(name: &str, what: &'static str) -> Result<(), CgroupError> {
    let reason = if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("it is a relative directory")
    } else if name.contains('/') || name.contains('\0') {
        Some("it contains '/' or NUL")
    } else if name.starts_with("cgroup.") {
        Some("it would clash with the kernel's cgroup.* files")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(CgroupError::InvalidName {
            name: format!("{what} {name:?}"),
            reason,
        }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_kubelet_naming() {
        let cases = [
            (QosClass::Guaranteed, "podlab/kubepods/podabc"),
            (QosClass::Burstable, "podlab/kubepods/burstable/podabc"),
            (QosClass::BestEffort, "podlab/kubepods/besteffort/podabc"),
        ];
        for (qos, want) in cases {
            assert_eq!(pod_path("abc", qos).ok(), Some(PathBuf::from(want)));
        }
        assert_eq!(uid_of_pod_dir("podabc"), Some("abc"));
        assert_eq!(uid_of_pod_dir("pod"), None);
        assert_eq!(uid_of_pod_dir("burstable"), None);
    }

    #[test]
    fn names_cannot_escape_or_collide() {
        for bad in ["", ".", "..", "a/b", "cgroup.procs"] {
            assert!(pod_path(bad, QosClass::Burstable).is_err(), "{bad:?}");
            assert!(container_leaf(bad).is_err(), "{bad:?}");
        }
        assert!(container_leaf("pause").is_err());
        assert_eq!(container_leaf("web").ok(), Some("web"));
    }
}
