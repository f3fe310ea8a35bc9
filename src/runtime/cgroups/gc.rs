//! `podlab gc`: remove the cgroups of pods that no longer exist, in every hierarchy.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};

use super::fs::{remove_if_unused, CgroupFs};
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
