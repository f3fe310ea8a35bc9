//! cgroup v1: the same relative path in the hierarchy of each controller podlab uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::fs::{ensure_dir, CgroupFs};
use super::hierarchy::{ancestors, container_leaf, pod_path, tier_dir, PAUSE_LEAF};
use super::{
    cpu, memory, pids, remove_pod_dirs, with_create_retries, CgroupDirs, CgroupError,
    CgroupManager, CgroupVersion, ContainerCgroup, PodCgroup,
};
use crate::kube::qos::QosClass;
use crate::kube::resources::{CgroupValues, MIN_SHARES};

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
                cpu::apply_v1(fs, &dir, &CgroupValues::qos_tier(MIN_SHARES))?;
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

    fn set_qos_tier(&self, qos: QosClass, values: &CgroupValues) -> Result<(), CgroupError> {
        match tier_dir(&self.cpu_root, qos) {
            Some(dir) if self.fs.exists(&dir) => cpu::apply_v1(self.fs.as_ref(), &dir, values),
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
