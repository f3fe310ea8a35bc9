//! cgroup v1: the same relative path in the hierarchy of each controller podlab uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fs::{ensure_dir, CgroupFs};
use super::hierarchy::{ancestors, container_leaf, pod_path, PAUSE_LEAF};
use super::{
    cpu, memory, pids, remove_pod_dirs, with_create_retries, CgroupDirs, CgroupError,
    CgroupManager, CgroupVersion, ContainerCgroup, PodCgroup,
};
use crate::kube::qos::QosClass;
use crate::kube::resources::CgroupValues;

/// Controllers a pod gets a cgroup in; cpu and memory are required, the others are only
/// for accounting (cpuacct usage, pids.current).
const REQUIRED: &[&str] = &[cpu::CONTROLLER, memory::CONTROLLER];
const OPTIONAL: &[&str] = &["cpuacct", pids::CONTROLLER];

#[derive(Debug)]
pub struct V1Manager {
    fs: Arc<dyn CgroupFs>,
    /// Hierarchy roots, once each even when controllers are mounted together.
    roots: Vec<PathBuf>,
    cpu_root: PathBuf,
    memory_root: PathBuf,
    /// Where the pod's `pids.max` goes; None if the pids controller is not mounted.
    pids_root: Option<PathBuf>,
}

impl V1Manager {
    /// `controllers`: the mount point of each v1 controller.
    pub fn new(
        controllers: &BTreeMap<String, PathBuf>,
        fs: Arc<dyn CgroupFs>,
    ) -> Result<V1Manager, CgroupError> {
        let root_of = |controller: &'static str| {
            controllers
                .get(controller)
                .cloned()
                .ok_or_else(|| CgroupError::MissingController {
                    controller,
                    root: PathBuf::from(super::layout::DEFAULT_CGROUP_ROOT),
                })
        };
        let cpu_root = root_of(REQUIRED[0])?;
        let memory_root = root_of(REQUIRED[1])?;
        let mut roots: Vec<PathBuf> = REQUIRED
            .iter()
            .chain(OPTIONAL)
            .filter_map(|c| controllers.get(*c).cloned())
            .collect();
        roots.sort();
        roots.dedup();
        Ok(V1Manager {
            fs,
            roots,
            cpu_root,
            memory_root,
            pids_root: controllers.get(pids::CONTROLLER).cloned(),
        })
    }

    fn dirs(&self, relative: &Path) -> CgroupDirs {
        CgroupDirs {
            all: self.roots.iter().map(|r| r.join(relative)).collect(),
            cpu: self.cpu_root.join(relative),
            memory: self.memory_root.join(relative),
        }
    }

    fn try_create_pod(
        &self,
        relative: &Path,
        qos: QosClass,
        values: &CgroupValues,
    ) -> Result<(), CgroupError> {
        let fs = self.fs.as_ref();
        for root in &self.roots {
            let mut dir = root.clone();
            for component in ancestors(qos) {
                dir.push(component);
                ensure_dir(fs, &dir)?;
            }
            if root == &self.cpu_root && qos == QosClass::BestEffort {
                // kubelet gives the whole besteffort tier the minimum shares.
                cpu::apply_v1(fs, &dir, &CgroupValues::pause())?;
            }
            ensure_dir(fs, &root.join(relative))?;
        }
        cpu::apply_v1(fs, &self.cpu_root.join(relative), values)?;
        memory::apply_v1(fs, &self.memory_root.join(relative), values)?;
        match &self.pids_root {
            Some(pids_root) => pids::apply(fs, &pids_root.join(relative), values),
            None => Ok(()),
        }
    }

    fn create_leaf(
        &self,
        pod: &PodCgroup,
        leaf: &str,
        values: &CgroupValues,
    ) -> Result<ContainerCgroup, CgroupError> {
        let relative = pod.relative.join(leaf);
        let dirs = self.dirs(&relative);
        for dir in &dirs.all {
            ensure_dir(self.fs.as_ref(), dir)?;
        }
        cpu::apply_v1(self.fs.as_ref(), &dirs.cpu, values)?;
        memory::apply_v1(self.fs.as_ref(), &dirs.memory, values)?;
        Ok(ContainerCgroup {
            name: leaf.to_string(),
            version: CgroupVersion::V1,
            cgroup_path: Path::new("/").join(relative),
            dirs,
            fs: self.fs.clone(),
        })
    }
}

impl CgroupManager for V1Manager {
    fn version(&self) -> CgroupVersion {
        CgroupVersion::V1
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

    fn create_pause(&self, pod: &PodCgroup) -> Result<ContainerCgroup, CgroupError> {
        self.create_leaf(pod, PAUSE_LEAF, &CgroupValues::pause())
    }

    fn remove_pod(&self, pod: &PodCgroup) -> Result<(), CgroupError> {
        remove_pod_dirs(self.fs.as_ref(), pod)
    }
}

/// Real cgroup v1 on this machine; they need root and a v1 (legacy or hybrid) layout, and fail
/// rather than skip without them.
#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::path::Path;
    use std::process::{Child, Command, Stdio};

    use super::*;
    use crate::kube::qos::{pod_cgroup_values, pod_qos};
    use crate::kube::resources::{
        container_cgroup_values, ContainerResources, PodResources, ResourceAmounts,
    };
    use crate::runtime::cgroups::fs::HostFs;
    use crate::runtime::cgroups::layout::CgroupLayout;

    const MI: i64 = 1024 * 1024;

    /// A pod cgroup with the processes a test put in it; dropping it kills them and removes
    /// the cgroups, also when the test fails.
    struct TestPod {
        manager: V1Manager,
        pod: PodCgroup,
        children: Vec<Child>,
    }

    impl TestPod {
        fn create(qos: QosClass, values: &CgroupValues) -> TestPod {
            assert!(
                nix::unistd::Uid::effective().is_root(),
                "the cgroup v1 tests must run as root"
            );
            let layout = CgroupLayout::detect().unwrap_or_else(|e| panic!("{e}"));
            let CgroupLayout::Legacy { controllers, .. } = &layout else {
                panic!("the cgroup v1 tests need a legacy or hybrid layout, found {layout:?}");
            };
            let manager =
                V1Manager::new(controllers, Arc::new(HostFs)).unwrap_or_else(|e| panic!("{e}"));
            let uid = format!("test-{}", uuid::Uuid::new_v4());
            let pod = manager
                .create_pod(&uid, qos, values)
                .unwrap_or_else(|e| panic!("{e}"));
            TestPod {
                manager,
                pod,
                children: vec![],
            }
        }

        fn spawn_into(&mut self, leaf: &ContainerCgroup, command: &mut Command) -> i32 {
            let child = command
                .spawn()
                .unwrap_or_else(|e| panic!("failed to spawn {command:?}: {e}"));
            let pid = i32::try_from(child.id()).unwrap_or_else(|e| panic!("{e}"));
            self.children.push(child);
            leaf.add_process(pid).unwrap_or_else(|e| panic!("{e}"));
            pid
        }

        fn stop_children(&mut self) {
            for child in &mut self.children {
                let _ = child.kill();
                let _ = child.wait();
            }
            self.children.clear();
        }
    }

    impl Drop for TestPod {
        fn drop(&mut self) {
            self.stop_children();
            let _ = self.manager.remove_pod(&self.pod);
        }
    }

    fn read(dir: &Path, file: &str) -> String {
        std::fs::read_to_string(dir.join(file))
            .unwrap_or_else(|e| panic!("failed to read {file} in {dir:?}: {e}"))
            .trim()
            .to_string()
    }

    fn sleep_command() -> Command {
        let mut command = Command::new("sleep");
        command.arg("60");
        command
    }

    #[test]
    fn real_v1_guaranteed_pod() {
        let amounts = ResourceAmounts::new(Some(500), Some(64 * MI));
        let web = ContainerResources::new("web", amounts, amounts);
        let resources = PodResources {
            containers: vec![web.clone()],
            init_containers: vec![],
        };
        assert_eq!(pod_qos(&resources), QosClass::Guaranteed);
        let mut test = TestPod::create(QosClass::Guaranteed, &pod_cgroup_values(&resources));
        let pod_path = test.pod.cgroup_path();
        assert!(
            pod_path
                .to_string_lossy()
                .starts_with("/podlab/kubepods/pod"),
            "{pod_path:?}"
        );

        let cpu_pod_dir = test.manager.cpu_root.join(&test.pod.relative);
        let memory_pod_dir = test.manager.memory_root.join(&test.pod.relative);
        assert_eq!(read(&cpu_pod_dir, cpu::V1_SHARES), "512");
        assert_eq!(read(&cpu_pod_dir, cpu::V1_CFS_QUOTA_US), "50000");
        assert_eq!(read(&cpu_pod_dir, cpu::V1_CFS_PERIOD_US), "100000");
        assert_eq!(
            read(&memory_pod_dir, memory::V1_LIMIT_IN_BYTES),
            (64 * MI).to_string()
        );

        let pause = test
            .manager
            .create_pause(&test.pod)
            .unwrap_or_else(|e| panic!("{e}"));
        let leaf = test
            .manager
            .create_container(&test.pod, "web", &container_cgroup_values(&web))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&cpu_pod_dir.join("pause"), cpu::V1_SHARES), "2");
        assert_eq!(read(&cpu_pod_dir.join("web"), cpu::V1_SHARES), "512");
        assert_eq!(
            read(&cpu_pod_dir.join("web"), cpu::V1_CFS_QUOTA_US),
            "50000"
        );
        assert_eq!(
            read(&memory_pod_dir.join("web"), memory::V1_LIMIT_IN_BYTES),
            (64 * MI).to_string()
        );

        let pause_pid = test.spawn_into(&pause, &mut sleep_command());
        let pid = test.spawn_into(&leaf, &mut sleep_command());
        let proc_cgroup = read(Path::new(&format!("/proc/{pid}")), "cgroup");
        let leaf_path = format!("{}/web", pod_path.display());
        assert_eq!(leaf.cgroup_path(), Path::new(&leaf_path));
        for controller in ["cpu", "memory", "pids"] {
            let line = format!(":{controller}:{leaf_path}");
            assert!(
                proc_cgroup.lines().any(|l| l.ends_with(&line)),
                "no {line:?} in\n{proc_cgroup}"
            );
        }
        let pause_cgroup = read(Path::new(&format!("/proc/{pause_pid}")), "cgroup");
        assert!(
            pause_cgroup.contains(&format!(":cpu:{}/pause", pod_path.display())),
            "{pause_cgroup}"
        );
        assert_eq!(
            read(&cpu_pod_dir.join("web"), "cgroup.procs"),
            pid.to_string()
        );
        assert_eq!(leaf.oom_kill_count().ok(), Some(0));

        test.stop_children();
        leaf.remove().unwrap_or_else(|e| panic!("{e}"));
        test.manager
            .remove_pod(&test.pod)
            .unwrap_or_else(|e| panic!("{e}"));
        for dir in test.pod.dirs() {
            assert!(!dir.exists(), "{dir:?} is left behind");
        }
    }

    #[test]
    fn real_v1_burstable_pod() {
        let limited = ContainerResources::new(
            "limited",
            ResourceAmounts::new(Some(100), Some(32 * MI)),
            ResourceAmounts::new(Some(300), Some(128 * MI)),
        );
        let open = ContainerResources::new(
            "open",
            ResourceAmounts::new(Some(100), None),
            ResourceAmounts::NONE,
        );
        let resources = PodResources {
            containers: vec![limited.clone(), open.clone()],
            init_containers: vec![],
        };
        assert_eq!(pod_qos(&resources), QosClass::Burstable);
        let mut test = TestPod::create(QosClass::Burstable, &pod_cgroup_values(&resources));
        let pod_path = test.pod.cgroup_path();
        assert!(
            pod_path
                .to_string_lossy()
                .starts_with("/podlab/kubepods/burstable/pod"),
            "{pod_path:?}"
        );

        let cpu_pod_dir = test.manager.cpu_root.join(&test.pod.relative);
        let memory_pod_dir = test.manager.memory_root.join(&test.pod.relative);
        assert_eq!(read(&cpu_pod_dir, cpu::V1_SHARES), "204");
        // "open" has no limits, so the pod has no cap.
        assert_eq!(read(&cpu_pod_dir, cpu::V1_CFS_QUOTA_US), "-1");
        let unlimited: u64 = read(&memory_pod_dir, memory::V1_LIMIT_IN_BYTES)
            .parse()
            .unwrap_or(0);
        assert!(unlimited > 1 << 60, "pod memory limit {unlimited}");

        let leaf = test
            .manager
            .create_container(&test.pod, "limited", &container_cgroup_values(&limited))
            .unwrap_or_else(|e| panic!("{e}"));
        let open_leaf = test
            .manager
            .create_container(&test.pod, "open", &container_cgroup_values(&open))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(&cpu_pod_dir.join("limited"), cpu::V1_SHARES), "102");
        assert_eq!(
            read(&cpu_pod_dir.join("limited"), cpu::V1_CFS_QUOTA_US),
            "30000"
        );
        assert_eq!(
            read(&memory_pod_dir.join("limited"), memory::V1_LIMIT_IN_BYTES),
            (128 * MI).to_string()
        );
        assert_eq!(read(&cpu_pod_dir.join("open"), cpu::V1_CFS_QUOTA_US), "-1");

        let pid = test.spawn_into(&open_leaf, &mut sleep_command());
        let proc_cgroup = read(Path::new(&format!("/proc/{pid}")), "cgroup");
        assert!(
            proc_cgroup.contains(&format!(":memory:{}", open_leaf.cgroup_path().display())),
            "{proc_cgroup}"
        );

        // A restart reuses the leaf.
        let again =
            test.manager
                .create_container(&test.pod, "limited", &container_cgroup_values(&limited));
        assert!(again.is_ok(), "{again:?}");

        // Removing while a process is inside fails (after a short wait) and names it.
        let busy = test.manager.remove_pod(&test.pod);
        assert!(
            matches!(&busy, Err(CgroupError::Busy { pids, .. }) if *pids == pid.to_string()),
            "{busy:?}"
        );

        test.stop_children();
        leaf.remove().unwrap_or_else(|e| panic!("{e}"));
        test.manager
            .remove_pod(&test.pod)
            .unwrap_or_else(|e| panic!("{e}"));
        for dir in test.pod.dirs() {
            assert!(!dir.exists(), "{dir:?} is left behind");
        }
    }

    #[test]
    fn real_v1_besteffort_tier_has_min_shares() {
        let test = TestPod::create(QosClass::BestEffort, &CgroupValues::pause());
        let tier = test.manager.cpu_root.join("podlab/kubepods/besteffort");
        assert_eq!(read(&tier, cpu::V1_SHARES), "2");
        assert_eq!(
            read(
                &test.manager.cpu_root.join(&test.pod.relative),
                cpu::V1_SHARES
            ),
            "2"
        );
    }

    #[test]
    fn real_v1_oom_kill_is_counted() {
        let limit = 16 * MI;
        let hog = ContainerResources::new(
            "hog",
            ResourceAmounts::NONE,
            ResourceAmounts::new(None, Some(limit)),
        );
        let resources = PodResources {
            containers: vec![hog.clone()],
            init_containers: vec![],
        };
        let mut test = TestPod::create(pod_qos(&resources), &pod_cgroup_values(&resources));
        let leaf = test
            .manager
            .create_container(&test.pod, "hog", &container_cgroup_values(&hog))
            .unwrap_or_else(|e| panic!("{e}"));
        // The shell waits for a line, so it is in the cgroup before dd allocates anything.
        let mut command = Command::new("sh");
        command
            .args([
                "-c",
                "read go; exec dd if=/dev/zero of=/dev/null bs=64M count=1",
            ])
            .stdin(Stdio::piped())
            .stderr(Stdio::null());
        test.spawn_into(&leaf, &mut command);
        let child = test
            .children
            .last_mut()
            .unwrap_or_else(|| panic!("no child"));
        if let Some(stdin) = child.stdin.as_mut() {
            stdin
                .write_all(b"go\n")
                .unwrap_or_else(|e| panic!("failed to release the shell: {e}"));
        }
        let status = child.wait().unwrap_or_else(|e| panic!("{e}"));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(libc::SIGKILL),
            "dd was not OOM-killed: {status:?}"
        );
        assert!(
            leaf.oom_kill_count().is_ok_and(|n| n >= 1),
            "{:?}",
            leaf.oom_kill_count()
        );
    }
}
