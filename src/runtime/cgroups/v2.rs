//! cgroup v2: one tree. A cgroup only has the controllers its parent lists in
//! `cgroup.subtree_control`, and a cgroup that hands controllers down may hold no processes —
//! so every ancestor enables cpu/memory/pids for its children and processes go only into leaves.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fs::{ensure_dir, read_value, write_value, CgroupFs};
use super::hierarchy::{ancestors, container_leaf, pod_path, tier_dir, PAUSE_LEAF};
use super::{
    cpu, hugetlb, memory, pids, remove_pod_dirs, with_create_retries, CgroupDirs, CgroupError,
    CgroupManager, CgroupVersion, ContainerCgroup, PodCgroup,
};
use crate::kube::qos::QosClass;
use crate::kube::resources::{CgroupValues, MIN_SHARES};

/// Controllers the cgroup offers (those its parent enabled).
pub const CONTROLLERS: &str = "cgroup.controllers";
/// Controllers this cgroup enables for its children: "+cpu +memory".
pub const SUBTREE_CONTROL: &str = "cgroup.subtree_control";

const REQUIRED: &[&str] = &[cpu::CONTROLLER, memory::CONTROLLER];
const OPTIONAL: &[&str] = &[pids::CONTROLLER, hugetlb::CONTROLLER];

#[derive(Debug)]
pub struct V2Manager {
    fs: Arc<dyn CgroupFs>,
    root: PathBuf,
    /// This machine's huge page sizes ("2MB", "1GB"): each gets `hugetlb.<size>.max` = 0.
    hugepage_sizes: Vec<String>,
}

impl V2Manager {
    pub fn new(root: PathBuf, fs: Arc<dyn CgroupFs>) -> V2Manager {
        V2Manager {
            fs,
            root,
            hugepage_sizes: hugetlb::host_page_sizes(),
        }
    }

    /// The same with given huge page sizes instead of this machine's.
    pub fn with_hugepage_sizes(mut self, sizes: Vec<String>) -> V2Manager {
        self.hugepage_sizes = sizes;
        self
    }

    fn dirs(&self, relative: &Path) -> CgroupDirs {
        let dir = self.root.join(relative);
        CgroupDirs {
            all: vec![dir.clone()],
            cpu: dir.clone(),
            memory: dir,
        }
    }

    /// The `+cpu +memory +pids` line, with what the root offers; cpu and memory must be there.
    fn controllers_to_enable(&self) -> Result<String, CgroupError> {
        let offered = read_value(self.fs.as_ref(), &self.root, CONTROLLERS)?;
        let offered: Vec<&str> = offered.split_whitespace().collect();
        for required in REQUIRED {
            if !offered.contains(required) {
                return Err(CgroupError::MissingController {
                    controller: required,
                    root: self.root.clone(),
                });
            }
        }
        let enable: Vec<String> = REQUIRED
            .iter()
            .chain(OPTIONAL)
            .filter(|c| offered.contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        Ok(enable.join(" "))
    }

    fn try_create_pod(
        &self,
        relative: &Path,
        qos: QosClass,
        values: &CgroupValues,
    ) -> Result<(), CgroupError> {
        let fs = self.fs.as_ref();
        let enable = self.controllers_to_enable()?;
        let mut dir = self.root.clone();
        write_value(fs, &dir, SUBTREE_CONTROL, &enable)?;
        for component in ancestors(qos) {
            dir.push(component);
            ensure_dir(fs, &dir)?;
            write_value(fs, &dir, SUBTREE_CONTROL, &enable)?;
        }
        if qos == QosClass::BestEffort {
            // kubelet gives the whole besteffort tier the minimum shares.
            cpu::apply_v2(fs, &dir, &CgroupValues::qos_tier(MIN_SHARES))?;
        }
        let pod_dir = self.root.join(relative);
        ensure_dir(fs, &pod_dir)?;
        write_value(fs, &pod_dir, SUBTREE_CONTROL, &enable)?;
        cpu::apply_v2(fs, &pod_dir, values)?;
        memory::apply_v2(fs, &pod_dir, values)?;
        hugetlb::apply_v2(fs, &pod_dir, &self.hugepage_sizes, values)?;
        if enable.split_whitespace().any(|c| c == "+pids") {
            pids::apply(fs, &pod_dir, values)?;
        }
        Ok(())
    }

    fn create_leaf(
        &self,
        pod: &PodCgroup,
        leaf: &str,
        values: &CgroupValues,
    ) -> Result<ContainerCgroup, CgroupError> {
        let relative = pod.relative.join(leaf);
        let dirs = self.dirs(&relative);
        ensure_dir(self.fs.as_ref(), &dirs.cpu)?;
        cpu::apply_v2(self.fs.as_ref(), &dirs.cpu, values)?;
        memory::apply_v2(self.fs.as_ref(), &dirs.memory, values)?;
        hugetlb::apply_v2(self.fs.as_ref(), &dirs.cpu, &self.hugepage_sizes, values)?;
        Ok(ContainerCgroup {
            name: leaf.to_string(),
            version: CgroupVersion::V2,
            cgroup_path: Path::new("/").join(relative),
            dirs,
            fs: self.fs.clone(),
        })
    }
}

impl CgroupManager for V2Manager {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V2
    }

    fn create_pod(
        &self,
        uid: &str,
        qos: QosClass,
        values: &CgroupValues,
    ) -> Result<PodCgroup, CgroupError> {
        let relative = pod_path(uid, qos)?;
        with_create_retries(|| self.try_create_pod(&relative, qos, values))?;
        Ok(PodCgroup {
            uid: uid.to_string(),
            qos,
            dirs: self.dirs(&relative),
            relative,
        })
    }

    fn create_container(
        &self,
        pod: &PodCgroup,
        name: &str,
        values: &CgroupValues,
    ) -> Result<ContainerCgroup, CgroupError> {
        self.create_leaf(pod, container_leaf(name)?, values)
    }

    fn set_qos_tier(&self, qos: QosClass, values: &CgroupValues) -> Result<(), CgroupError> {
        match tier_dir(&self.root, qos) {
            Some(dir) if self.fs.exists(&dir) => cpu::apply_v2(self.fs.as_ref(), &dir, values),
            _ => Ok(()),
        }
    }

    fn cgroup_fs(&self) -> &dyn CgroupFs {
        self.fs.as_ref()
    }

    fn create_pause(&self, pod: &PodCgroup) -> Result<ContainerCgroup, CgroupError> {
        self.create_leaf(pod, PAUSE_LEAF, &CgroupValues::pause())
    }

    fn remove_pod(&self, pod: &PodCgroup) -> Result<(), CgroupError> {
        remove_pod_dirs(self.fs.as_ref(), pod)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;

    use super::*;
    use crate::kube::qos::{pod_cgroup_values, pod_qos};
    use crate::kube::resources::{
        container_cgroup_values, ContainerResources, PodResources, ResourceAmounts,
        KUBELET_WEIGHT_FORMULA, WEIGHT_FORMULA_IN_USE,
    };
    use crate::runtime::cgroups::fake_v2::FakeV2Fs;

    const MI: i64 = 1024 * 1024;

    struct FakeTree {
        dir: tempfile::TempDir,
        fs: Arc<FakeV2Fs>,
        manager: V2Manager,
    }

    fn fake_tree(controllers: &str) -> FakeTree {
        let dir =
            tempfile::tempdir().unwrap_or_else(|e| panic!("failed to create a temp dir: {e}"));
        let fs = Arc::new(
            FakeV2Fs::new(dir.path(), controllers).unwrap_or_else(|e| panic!("fake tree: {e}")),
        );
        let manager = V2Manager::new(dir.path().to_path_buf(), fs.clone())
            .with_hugepage_sizes(vec!["2MB".into(), "1GB".into()]);
        FakeTree { dir, fs, manager }
    }

    fn read(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("failed to read {file} in {dir:?}: {e}"))
    }

    fn app(name: &str, requests: ResourceAmounts, limits: ResourceAmounts) -> ContainerResources {
        ContainerResources::new(name, requests, limits)
    }

    #[test]
    fn fake_v2_guaranteed_pod_with_container_and_pause() {
        let tree = fake_tree("cpuset cpu io memory hugetlb pids rdma misc");
        let amounts = ResourceAmounts::new(Some(500), Some(64 * MI));
        let web = app("web", amounts, amounts);
        let pod_resources = PodResources {
            containers: vec![web.clone()],
            init_containers: vec![],
            pod_level: None,
        };
        assert_eq!(pod_qos(&pod_resources), QosClass::Guaranteed);

        let pod = tree.manager.create_pod(
            "uid-g",
            QosClass::Guaranteed,
            &pod_cgroup_values(&pod_resources),
        );
        let pod = pod.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pod.cgroup_path(), Path::new("/podlab/kubepods/poduid-g"));
        let root = tree.dir.path();
        for ancestor in ["", "podlab", "podlab/kubepods", "podlab/kubepods/poduid-g"] {
            assert_eq!(
                read(&root.join(ancestor), SUBTREE_CONTROL),
                "cpu memory pids hugetlb",
                "{ancestor:?}"
            );
        }
        let pod_dir = root.join("podlab/kubepods/poduid-g");
        // 512 shares: kubelet writes the pod's weight with its linear line (20), runc the
        // leaf's with its log curve (59).
        let weight = WEIGHT_FORMULA_IN_USE.shares_to_weight(512).to_string();
        assert_eq!(read(&pod_dir, cpu::V2_WEIGHT), "20");
        assert_eq!(weight, "59");
        for file in [
            "hugetlb.2MB.max",
            "hugetlb.2MB.rsvd.max",
            "hugetlb.1GB.max",
            "hugetlb.1GB.rsvd.max",
        ] {
            assert_eq!(read(&pod_dir, file), "0", "pod {file}");
        }
        assert_eq!(read(&pod_dir, cpu::V2_MAX), "50000 100000");
        assert_eq!(read(&pod_dir, memory::V2_MAX), (64 * MI).to_string());
        assert_eq!(read(&pod_dir, memory::V2_OOM_GROUP), "0");
        // kubelet's NoSwap is for containers: the pod cgroup keeps the default.
        assert_eq!(read(&pod_dir, memory::V2_SWAP_MAX), "max");

        let pause = tree
            .manager
            .create_pause(&pod)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&pod_dir.join("pause"), cpu::V2_WEIGHT), "1");
        assert_eq!(read(&pod_dir.join("pause"), cpu::V2_MAX), "max 100000");
        assert_eq!(read(&pod_dir.join("pause"), memory::V2_SWAP_MAX), "max");

        let leaf = tree
            .manager
            .create_container(&pod, "web", &container_cgroup_values(&web));
        let leaf = leaf.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            leaf.cgroup_path(),
            Path::new("/podlab/kubepods/poduid-g/web")
        );
        let leaf_dir = pod_dir.join("web");
        assert_eq!(read(&leaf_dir, cpu::V2_WEIGHT), weight);
        assert_eq!(read(&leaf_dir, cpu::V2_MAX), "50000 100000");
        assert_eq!(read(&leaf_dir, memory::V2_MAX), (64 * MI).to_string());
        assert_eq!(read(&leaf_dir, memory::V2_OOM_GROUP), "1");
        assert_eq!(read(&leaf_dir, memory::V2_SWAP_MAX), "0");
        assert_eq!(read(&leaf_dir, "hugetlb.2MB.max"), "0");
        assert_eq!(read(&leaf_dir, "hugetlb.1GB.rsvd.max"), "0");
        // containerd sets no huge page limit on the sandbox.
        assert_eq!(read(&pod_dir.join("pause"), "hugetlb.2MB.max"), "max");
        assert_eq!(leaf.unified_dir(), Some(leaf_dir.as_path()));
        assert!(leaf.legacy_hierarchies().is_empty());

        pause.add_process(4241).unwrap_or_else(|e| panic!("{e}"));
        leaf.add_process(4242).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&leaf_dir, "cgroup.procs"), "4242\n");
        assert_eq!(leaf.procs_files(), vec![leaf_dir.join("cgroup.procs")]);
        assert_eq!(leaf.oom_kill_count().ok(), Some(0));
        std::fs::write(
            leaf_dir.join(memory::V2_EVENTS),
            "low 0\nhigh 0\nmax 9\noom 2\noom_kill 2\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(leaf.oom_kill_count().ok(), Some(2));

        // A process still inside: removal waits briefly, then says which processes are there.
        let busy = tree.manager.remove_pod(&pod);
        assert!(
            matches!(&busy, Err(CgroupError::Busy { pids, .. }) if pids == "4241"),
            "{busy:?}"
        );
        for pid in ["4241", "4242"] {
            tree.fs.exit(pid).unwrap_or_else(|e| panic!("{e}"));
        }
        leaf.remove().unwrap_or_else(|e| panic!("{e}"));
        assert!(!leaf_dir.exists());
        tree.manager
            .remove_pod(&pod)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            !root.join("podlab").exists(),
            "shared ancestors left behind"
        );
    }

    #[test]
    fn fake_v2_processes_only_in_leaves() {
        let tree = fake_tree("cpu memory pids");
        let pod = tree
            .manager
            .create_pod("uid-x", QosClass::BestEffort, &CgroupValues::pause());
        let pod = pod.unwrap_or_else(|e| panic!("{e}"));
        let pod_dir = tree.dir.path().join("podlab/kubepods/besteffort/poduid-x");
        // The kernel refuses a process in a cgroup that hands controllers down.
        let inner = tree.fs.write(&pod_dir.join("cgroup.procs"), "77");
        assert_eq!(
            inner.err().and_then(|e| e.raw_os_error()),
            Some(libc::EBUSY)
        );
        // The besteffort tier has the minimum weight, like kubelet's.
        assert_eq!(
            read(
                &tree.dir.path().join("podlab/kubepods/besteffort"),
                cpu::V2_WEIGHT
            ),
            "1"
        );
        tree.manager
            .remove_pod(&pod)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    #[test]
    fn fake_v2_burstable_pod_without_every_limit() {
        let tree = fake_tree("cpu memory pids");
        let pod_resources = PodResources {
            containers: vec![
                app(
                    "a",
                    ResourceAmounts::new(Some(100), Some(32 * MI)),
                    ResourceAmounts::new(Some(200), None),
                ),
                app(
                    "b",
                    ResourceAmounts::new(Some(100), None),
                    ResourceAmounts::NONE,
                ),
            ],
            init_containers: vec![],
            pod_level: None,
        };
        let qos = pod_qos(&pod_resources);
        assert_eq!(qos, QosClass::Burstable);
        let pod = tree
            .manager
            .create_pod("uid-b", qos, &pod_cgroup_values(&pod_resources));
        let pod = pod.unwrap_or_else(|e| panic!("{e}"));
        let pod_dir = tree.dir.path().join("podlab/kubepods/burstable/poduid-b");
        assert_eq!(
            read(&pod_dir, cpu::V2_WEIGHT),
            KUBELET_WEIGHT_FORMULA.shares_to_weight(204).to_string()
        );
        // The burstable tier follows the summed requests of burstable pods (kubelet's QoS
        // manager); with this one pod, 200m → 204 shares → weight 8.
        let tier = tree.dir.path().join("podlab/kubepods/burstable");
        tree.manager
            .set_qos_tier(QosClass::Burstable, &CgroupValues::qos_tier(204))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&tier, cpu::V2_WEIGHT), "8");
        // Guaranteed pods have no tier; a tier that is gone is left alone.
        assert!(tree
            .manager
            .set_qos_tier(QosClass::Guaranteed, &CgroupValues::qos_tier(2))
            .is_ok());
        assert!(tree
            .manager
            .set_qos_tier(QosClass::BestEffort, &CgroupValues::qos_tier(2))
            .is_ok());
        // Not every container has a CPU or memory limit: no pod-level cap.
        assert_eq!(read(&pod_dir, cpu::V2_MAX), "max 100000");
        assert_eq!(read(&pod_dir, memory::V2_MAX), "max");
        let a = tree.manager.create_container(
            &pod,
            "a",
            &container_cgroup_values(&pod_resources.containers[0]),
        );
        let a = a.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&pod_dir.join("a"), cpu::V2_MAX), "20000 100000");
        assert_eq!(read(&pod_dir.join("a"), memory::V2_MAX), "max");
        a.remove().unwrap_or_else(|e| panic!("{e}"));
        tree.manager
            .remove_pod(&pod)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!tree.dir.path().join("podlab").exists());
    }

    #[test]
    fn fake_v2_pods_share_ancestors() {
        let tree = fake_tree("cpu memory");
        let values = CgroupValues::pause();
        let first = tree
            .manager
            .create_pod("one", QosClass::Burstable, &values)
            .unwrap_or_else(|e| panic!("{e}"));
        let second = tree
            .manager
            .create_pod("two", QosClass::Burstable, &values)
            .unwrap_or_else(|e| panic!("{e}"));
        // pids is not offered here: only cpu and memory are enabled.
        assert_eq!(
            read(&tree.dir.path().join("podlab"), SUBTREE_CONTROL),
            "cpu memory"
        );
        tree.manager
            .remove_pod(&first)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(tree
            .dir
            .path()
            .join("podlab/kubepods/burstable/podtwo")
            .is_dir());
        tree.manager
            .remove_pod(&second)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!tree.dir.path().join("podlab").exists());
    }

    #[test]
    fn fake_v2_pod_pids_limit_goes_to_pids_max_when_offered() {
        let limited = CgroupValues {
            pids_limit: Some(1024),
            ..CgroupValues::pause()
        };
        let tree = fake_tree("cpu memory pids");
        let pod = tree
            .manager
            .create_pod("p", QosClass::BestEffort, &limited)
            .unwrap_or_else(|e| panic!("{e}"));
        let pod_dir = tree.dir.path().join("podlab/kubepods/besteffort/podp");
        assert_eq!(read(&pod_dir, pids::MAX), "1024");
        let leaf = tree
            .manager
            .create_container(&pod, "c", &CgroupValues::pause())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&pod_dir.join("c"), pids::MAX), "max");
        drop(leaf);

        // Without the pids controller there is nowhere to write it, and that is no error.
        let tree = fake_tree("cpu memory");
        let created = tree.manager.create_pod("q", QosClass::BestEffort, &limited);
        assert!(created.is_ok(), "{created:?}");
    }

    #[test]
    fn fake_v2_without_memory_controller_is_an_error() {
        let tree = fake_tree("cpu pids");
        let result = tree
            .manager
            .create_pod("m", QosClass::BestEffort, &CgroupValues::pause());
        assert!(
            matches!(
                result,
                Err(CgroupError::MissingController {
                    controller: "memory",
                    ..
                })
            ),
            "{result:?}"
        );
        assert!(!tree.dir.path().join("podlab").exists());
    }

    #[test]
    fn fake_v2_rejects_names_that_escape() {
        let tree = fake_tree("cpu memory pids");
        assert!(tree
            .manager
            .create_pod("../x", QosClass::BestEffort, &CgroupValues::pause())
            .is_err());
        let pod = tree
            .manager
            .create_pod("ok", QosClass::BestEffort, &CgroupValues::pause());
        let pod = pod.unwrap_or_else(|e| panic!("{e}"));
        assert!(tree
            .manager
            .create_container(&pod, "pause", &CgroupValues::pause())
            .is_err());
        assert!(tree
            .manager
            .create_container(&pod, "a/b", &CgroupValues::pause())
            .is_err());
        tree.manager
            .remove_pod(&pod)
            .unwrap_or_else(|e| panic!("{e}"));
    }

    /// On a machine whose `/sys/fs/cgroup` is a cgroup v2 tree with cpu and memory; elsewhere
    /// the test is listed as ignored with the reason (see build.rs).
    #[test]
    #[cfg_attr(
        not(podlab_cgroup_v2_host),
        ignore = "this machine has no cgroup v2 hierarchy with cpu and memory controllers (legacy or hybrid layout)"
    )]
    fn real_v2_pod_lifecycle() {
        use crate::runtime::cgroups::fs::HostFs;
        use crate::runtime::cgroups::layout::CgroupLayout;

        let layout = CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}"));
        let CgroupLayout::Unified { root } = layout else {
            panic!("expected a unified cgroup v2 layout, found {layout:?}");
        };
        let manager = V2Manager::new(root.clone(), Arc::new(HostFs));
        let uid = format!("test-{}", uuid::Uuid::new_v4());
        let amounts = ResourceAmounts::new(Some(250), Some(32 * MI));
        let web = app("web", amounts, amounts);
        let pod_resources = PodResources {
            containers: vec![web.clone()],
            init_containers: vec![],
            pod_level: None,
        };
        let pod = manager
            .create_pod(
                &uid,
                QosClass::Guaranteed,
                &pod_cgroup_values(&pod_resources),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        struct Cleanup<'a>(&'a V2Manager, &'a PodCgroup, Option<std::process::Child>);
        impl Drop for Cleanup<'_> {
            fn drop(&mut self) {
                if let Some(child) = self.2.as_mut() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
                let _ = self.0.remove_pod(self.1);
            }
        }
        let mut cleanup = Cleanup(&manager, &pod, None);
        let leaf = manager
            .create_container(&pod, "web", &container_cgroup_values(&web))
            .unwrap_or_else(|e| panic!("{e}"));
        let child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap_or_else(|e| panic!("spawn sleep: {e}"));
        let pid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("{e}"));
        cleanup.2 = Some(child);
        leaf.add_process(pid).unwrap_or_else(|e| panic!("{e}"));
        let leaf_dir = root.join(
            leaf.cgroup_path()
                .strip_prefix("/")
                .unwrap_or(leaf.cgroup_path()),
        );
        assert_eq!(read(&leaf_dir, cpu::V2_MAX).trim(), "25000 100000");
        assert_eq!(
            read(&leaf_dir, memory::V2_MAX).trim(),
            (32 * MI).to_string()
        );
        let memberships = crate::observe::procfs_read::read_cgroup(Path::new("/proc"), pid)
            .unwrap_or_else(|e| panic!("cgroup of {pid}: {e}"));
        assert!(
            memberships
                .iter()
                .any(|m| m.hierarchy == 0 && Path::new(&m.path) == leaf.cgroup_path()),
            "{memberships:?}"
        );
        assert_eq!(leaf.oom_kill_count().ok(), Some(0));
        drop(cleanup);
        assert!(!leaf_dir.exists());
    }
}
