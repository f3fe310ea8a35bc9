//! `podlab gc`: remove the cgroups of pods that no longer exist, in every hierarchy.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use super::fs::{remove_if_unused, CgroupFs, HostFs};
use super::hierarchy::{uid_of_pod_dir, KUBEPODS_DIR, PODLAB_DIR};
use super::layout::CgroupLayout;
use super::{remove_pod_dir, CgroupError};
use crate::kube::qos::QosClass;

#[derive(Debug, Default)]
pub struct GcReport {
    /// Pod cgroups removed.
    pub removed: Vec<PathBuf>,
    /// Pod cgroups that could not be removed (still holding processes, or another error).
    pub failed: Vec<CgroupError>,
}

/// Removes every `pod<UID>` cgroup under `podlab/` in any hierarchy of `layout` whose UID is
/// not in `live`, then the ancestors left empty. Kills nothing: a cgroup that still holds
/// processes is reported in `failed`.
pub fn gc(fs: &dyn CgroupFs, layout: &CgroupLayout, live: &HashSet<String>) -> GcReport {
    let mut report = GcReport::default();
    for root in layout.all_roots() {
        let kubepods = root.join(PODLAB_DIR).join(KUBEPODS_DIR);
        let tiers = [
            kubepods.clone(),
            kubepods.join(QosClass::Burstable.cgroup_dir().unwrap_or_default()),
            kubepods.join(QosClass::BestEffort.cgroup_dir().unwrap_or_default()),
        ];
        for tier in &tiers {
            collect_stale_pods(fs, tier, live, &mut report);
        }
        for dir in tiers
            .iter()
            .skip(1)
            .chain([&kubepods, &root.join(PODLAB_DIR)])
        {
            if let Err(e) = remove_if_unused(fs, dir) {
                report.failed.push(e);
            }
        }
    }
    report
}

/// [`gc`] on this machine's real hierarchies.
pub fn gc_host(live: &HashSet<String>) -> Result<GcReport, CgroupError> {
    Ok(gc(&HostFs, &CgroupLayout::detect()?, live))
}

fn collect_stale_pods(
    fs: &dyn CgroupFs,
    tier: &Path,
    live: &HashSet<String>,
    report: &mut GcReport,
) {
    let children = match fs.child_dirs(tier) {
        Ok(children) => children,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return,
        Err(e) => {
            report.failed.push(CgroupError::io("list", tier, e));
            return;
        }
    };
    for child in children {
        let Some(uid) = uid_of_pod_dir(&child) else {
            continue;
        };
        if live.contains(uid) {
            continue;
        }
        let pod_dir = tier.join(&child);
        match remove_pod_dir(fs, &pod_dir) {
            Ok(()) => report.removed.push(pod_dir),
            Err(e) => report.failed.push(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Arc;

    use super::*;
    use crate::kube::resources::CgroupValues;
    use crate::runtime::cgroups::fake_v2::FakeV2Fs;
    use crate::runtime::cgroups::fs::CgroupFs;
    use crate::runtime::cgroups::v2::V2Manager;
    use crate::runtime::cgroups::CgroupManager;

    fn live(uids: &[&str]) -> HashSet<String> {
        uids.iter().map(|u| u.to_string()).collect()
    }

    #[test]
    fn fake_v2_gc_removes_only_dead_pods() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let fs = Arc::new(
            FakeV2Fs::new(dir.path(), "cpu memory pids").unwrap_or_else(|e| panic!("{e}")),
        );
        let manager = V2Manager::new(dir.path().to_path_buf(), fs.clone());
        let values = CgroupValues::pause();
        let alive = manager
            .create_pod("alive", QosClass::Burstable, &values)
            .unwrap_or_else(|e| panic!("{e}"));
        let dead = manager
            .create_pod("dead", QosClass::BestEffort, &values)
            .unwrap_or_else(|e| panic!("{e}"));
        let stuck = manager
            .create_pod("stuck", QosClass::Guaranteed, &values)
            .unwrap_or_else(|e| panic!("{e}"));
        manager
            .create_pause(&dead)
            .unwrap_or_else(|e| panic!("{e}"));
        let stuck_leaf = manager
            .create_container(&stuck, "app", &values)
            .unwrap_or_else(|e| panic!("{e}"));
        stuck_leaf.add_process(99).unwrap_or_else(|e| panic!("{e}"));
        manager
            .create_pause(&alive)
            .unwrap_or_else(|e| panic!("{e}"));

        let layout = CgroupLayout::Unified {
            root: dir.path().to_path_buf(),
        };
        let report = gc(fs.as_ref(), &layout, &live(&["alive"]));
        assert_eq!(
            report.removed,
            vec![dir.path().join("podlab/kubepods/besteffort/poddead")]
        );
        assert!(
            matches!(report.failed.as_slice(), [CgroupError::Busy { pids, .. }] if pids == "99"),
            "{:?}",
            report.failed
        );
        assert!(!dir.path().join("podlab/kubepods/besteffort").exists());
        assert!(dir
            .path()
            .join("podlab/kubepods/burstable/podalive/pause")
            .is_dir());

        fs.exit("99").unwrap_or_else(|e| panic!("{e}"));
        let report = gc(fs.as_ref(), &layout, &live(&[]));
        assert_eq!(report.removed.len(), 2, "{report:?}");
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert!(!dir.path().join("podlab").exists());
    }

    #[test]
    fn fake_v2_tree_gc_walks_every_v1_hierarchy() {
        let cpu = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let memory = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cpu_fs = FakeV2Fs::new(cpu.path(), "cpu memory");
        let memory_fs = FakeV2Fs::new(memory.path(), "cpu memory");
        let (Ok(fs), Ok(_)) = (cpu_fs, memory_fs) else {
            panic!("fake trees")
        };
        for root in [cpu.path(), memory.path()] {
            let mut dir = root.to_path_buf();
            for component in ["podlab", "kubepods", "burstable", "podgone", "app"] {
                dir.push(component);
                fs.create_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let controllers = BTreeMap::from([
            ("cpu".to_string(), cpu.path().to_path_buf()),
            ("memory".to_string(), memory.path().to_path_buf()),
        ]);
        let layout = CgroupLayout::Legacy {
            controllers,
            unified: None,
        };
        let report = gc(&fs, &layout, &live(&[]));
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(report.removed.len(), 2);
        assert!(!cpu.path().join("podlab").exists());
        assert!(!memory.path().join("podlab").exists());
    }
}
