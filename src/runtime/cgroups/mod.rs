//! Pod and container cgroups, laid out the way kubelet (cgroupfs driver) lays them out, for
//! cgroup v1 ([`v1::V1Manager`]) and cgroup v2 ([`v2::V2Manager`]).
//!
//! The pod cgroup carries the pod-level values (`kube::qos::pod_cgroup_values`); every
//! container, pause included, gets a leaf below it with its own values. Processes live only
//! in leaves. Creating tolerates pods created and removed in parallel (they share the
//! `podlab/kubepods/...` ancestors); removing never kills anything.

pub mod cpu;
pub mod fs;
pub mod gc;
pub mod hierarchy;
pub mod hugetlb;
pub mod layout;
pub mod memory;
pub mod pids;
pub mod v1;
pub mod v2;

#[cfg(test)]
mod fake_v2;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use self::fs::{
    move_process, remove_dir_patiently, remove_if_unused, CgroupFs, HostFs, CGROUP_PROCS,
};
pub use self::layout::CgroupLayout;
use crate::kube::qos::QosClass;
use crate::kube::resources::CgroupValues;
use crate::spec::ResizeResource;

pub use self::gc::{gc, gc_host, GcReport};

#[derive(Debug, thiserror::Error)]
pub enum CgroupError {
    #[error("failed to {action} {path}: {source}")]
    Io {
        action: String,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("failed to remove cgroup {path}: processes {pids} are still in it")]
    Busy { path: PathBuf, pids: String },
    #[error("invalid cgroup name ({name}): {reason}")]
    InvalidName { name: String, reason: &'static str },
    #[error("cgroup controller {controller} is not available under {root}")]
    MissingController {
        controller: &'static str,
        root: PathBuf,
    },
    #[error("no usable cgroup hierarchy: {0}")]
    NoHierarchy(String),
    #[error("failed to parse {path}: unexpected content {text:?}")]
    Unparsable { path: PathBuf, text: String },
}

impl CgroupError {
    pub(crate) fn io(action: &str, path: impl AsRef<Path>, source: io::Error) -> CgroupError {
        CgroupError::io_with(action.to_string(), path, source)
    }

    pub(crate) fn io_with(
        action: String,
        path: impl AsRef<Path>,
        source: io::Error,
    ) -> CgroupError {
        CgroupError::Io {
            action,
            path: path.as_ref().to_path_buf(),
            source,
        }
    }

    /// A directory vanished under us: a parallel pod removed a shared ancestor.
    fn is_not_found(&self) -> bool {
        matches!(self, CgroupError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    V1,
    V2,
}

/// Creates and removes pod and container cgroups.
pub trait CgroupManager: Send + Sync {
    fn version(&self) -> CgroupVersion;

    /// Creates `podlab/kubepods[/<qos>]/pod<uid>` (in every hierarchy on v1) with the pod-level
    /// values. Creating one that exists updates its values.
    fn create_pod(
        &self,
        uid: &str,
        qos: QosClass,
        values: &CgroupValues,
    ) -> Result<PodCgroup, CgroupError>;

    /// Creates (or reuses, for a restart) the leaf of container `name` with its values.
    fn create_container(
        &self,
        pod: &PodCgroup,
        name: &str,
        values: &CgroupValues,
    ) -> Result<ContainerCgroup, CgroupError>;

    /// Writes the CPU shares of a QoS tier (`kubepods/burstable`), as kubelet's QoS manager
    /// does when pods come and go. A tier that does not exist (its last pod is gone) is left
    /// alone; Guaranteed has no tier of its own.
    fn set_qos_tier(&self, qos: QosClass, values: &CgroupValues) -> Result<(), CgroupError>;

    /// The files this manager writes through.
    fn cgroup_fs(&self) -> &dyn CgroupFs;

    /// A resize: writes one resource's new values into the pod cgroup.
    fn write_pod_resource(
        &self,
        pod: &PodCgroup,
        resource: ResizeResource,
        values: &CgroupValues,
    ) -> Result<(), CgroupError> {
        write_resource(
            self.cgroup_fs(),
            self.version(),
            &pod.dirs,
            resource,
            values,
        )
    }

    /// Memory in use by the whole pod.
    fn pod_memory_usage(&self, pod: &PodCgroup) -> Result<i64, CgroupError> {
        memory::usage(
            self.cgroup_fs(),
            pod.memory_dir(),
            self.version() == CgroupVersion::V2,
        )
    }

    /// Creates the `pause` leaf with the sandbox's values (CPU shares 2).
    fn create_pause(&self, pod: &PodCgroup) -> Result<ContainerCgroup, CgroupError>;

    /// Removes the pod cgroup with every leaf still in it, then the shared ancestors that no
    /// other pod uses. Kills nothing: the processes must be gone.
    fn remove_pod(&self, pod: &PodCgroup) -> Result<(), CgroupError>;
}

/// The manager for this machine's layout, on the real `/sys/fs/cgroup`.
pub fn host_manager() -> Result<Box<dyn CgroupManager>, CgroupError> {
    manager_for(&CgroupLayout::detect()?, Arc::new(HostFs))
}

pub fn manager_for(
    layout: &CgroupLayout,
    fs: Arc<dyn CgroupFs>,
) -> Result<Box<dyn CgroupManager>, CgroupError> {
    Ok(match layout {
        CgroupLayout::Unified { root } => Box::new(v2::V2Manager::new(root.clone(), fs)),
        CgroupLayout::Legacy { controllers, .. } => Box::new(v1::V1Manager::new(controllers, fs)?),
    })
}

/// The directories of one cgroup: one per hierarchy on v1, a single one on v2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CgroupDirs {
    /// Every directory a process must be moved into.
    all: Vec<PathBuf>,
    cpu: PathBuf,
    memory: PathBuf,
}

/// A pod's cgroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodCgroup {
    uid: String,
    qos: QosClass,
    /// Below each hierarchy root, without a leading `/`.
    relative: PathBuf,
    dirs: CgroupDirs,
}

impl PodCgroup {
    pub fn uid(&self) -> &str {
        &self.uid
    }

    pub fn qos(&self) -> QosClass {
        self.qos
    }

    /// The path as `/proc/<pid>/cgroup` shows it, e.g. `/podlab/kubepods/burstable/pod<UID>`.
    pub fn cgroup_path(&self) -> PathBuf {
        Path::new("/").join(&self.relative)
    }

    /// Its directory in each hierarchy.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs.all
    }

    /// Its directory that holds the cpu files (the one directory on v2).
    pub fn cpu_dir(&self) -> &Path {
        &self.dirs.cpu
    }

    /// Its directory that holds the memory files (the one directory on v2).
    pub fn memory_dir(&self) -> &Path {
        &self.dirs.memory
    }
}

/// A container's leaf cgroup.
#[derive(Debug, Clone)]
pub struct ContainerCgroup {
    name: String,
    version: CgroupVersion,
    /// As `/proc/<pid>/cgroup` shows it.
    cgroup_path: PathBuf,
    dirs: CgroupDirs,
    fs: Arc<dyn CgroupFs>,
}

impl ContainerCgroup {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The path as `/proc/<pid>/cgroup` shows it, e.g. `/podlab/kubepods/pod<UID>/web`.
    pub fn cgroup_path(&self) -> &Path {
        &self.cgroup_path
    }

    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs.all
    }

    /// The `cgroup.procs` files a process must be written into (one per hierarchy).
    pub fn procs_files(&self) -> Vec<PathBuf> {
        self.dirs.all.iter().map(|d| d.join(CGROUP_PROCS)).collect()
    }

    /// On cgroup v2, the leaf's directory: a process can be born in it (clone3 with
    /// `CLONE_INTO_CGROUP`) instead of being moved there.
    pub fn unified_dir(&self) -> Option<&Path> {
        match self.version {
            CgroupVersion::V2 => Some(&self.dirs.cpu),
            CgroupVersion::V1 => None,
        }
    }

    /// On cgroup v1, each hierarchy's directory of this leaf with the name of the hierarchy's
    /// mount (`memory`, `cpu,cpuacct`, …): what runc binds at `/sys/fs/cgroup/<name>` in a
    /// container without a cgroup namespace. Empty on v2.
    pub fn legacy_hierarchies(&self) -> Vec<(String, PathBuf)> {
        if self.version != CgroupVersion::V1 {
            return Vec::new();
        }
        let depth = self.cgroup_path.components().count().saturating_sub(1);
        self.dirs
            .all
            .iter()
            .filter_map(|dir| {
                let mount = dir.ancestors().nth(depth)?;
                let name = mount.file_name()?.to_str()?.to_string();
                Some((name, dir.clone()))
            })
            .collect()
    }

    /// Moves process `pid` (all its threads) into this cgroup, in every hierarchy. Call it for
    /// a child before it execs anything, so nothing it runs escapes the limits.
    pub fn add_process(&self, pid: i32) -> Result<(), CgroupError> {
        for dir in &self.dirs.all {
            move_process(self.fs.as_ref(), dir, pid)?;
        }
        Ok(())
    }

    /// A resize: writes one resource's new values into this leaf, under the running process.
    pub fn write_resource(
        &self,
        resource: ResizeResource,
        values: &CgroupValues,
    ) -> Result<(), CgroupError> {
        write_resource(self.fs.as_ref(), self.version, &self.dirs, resource, values)
    }

    /// Memory in use by this container.
    pub fn memory_usage(&self) -> Result<i64, CgroupError> {
        memory::usage(
            self.fs.as_ref(),
            &self.dirs.memory,
            self.version == CgroupVersion::V2,
        )
    }

    /// How many processes the OOM killer killed in this cgroup.
    pub fn oom_kill_count(&self) -> Result<u64, CgroupError> {
        match self.version {
            CgroupVersion::V1 => memory::oom_kills_v1(self.fs.as_ref(), &self.dirs.memory),
            CgroupVersion::V2 => memory::oom_kills_v2(self.fs.as_ref(), &self.dirs.memory),
        }
    }

    /// Removes the leaf once its processes are gone (retrying briefly while the kernel still
    /// counts one that has just exited).
    pub fn remove(&self) -> Result<(), CgroupError> {
        let mut first_error = None;
        for dir in &self.dirs.all {
            if let Err(e) = remove_dir_patiently(self.fs.as_ref(), dir) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// One resource's values into one cgroup: cpu shares/weight and quota, or the memory limit.
pub(crate) fn write_resource(
    fs: &dyn CgroupFs,
    version: CgroupVersion,
    dirs: &CgroupDirs,
    resource: ResizeResource,
    values: &CgroupValues,
) -> Result<(), CgroupError> {
    match (resource, version) {
        (ResizeResource::Cpu, CgroupVersion::V1) => cpu::apply_v1(fs, &dirs.cpu, values),
        (ResizeResource::Cpu, CgroupVersion::V2) => cpu::apply_v2(fs, &dirs.cpu, values),
        (ResizeResource::Memory, CgroupVersion::V1) => memory::apply_v1(fs, &dirs.memory, values),
        (ResizeResource::Memory, CgroupVersion::V2) => memory::apply_v2(fs, &dirs.memory, values),
    }
}

/// Creation, retried when a parallel removal takes a shared ancestor away mid-way.
fn with_create_retries<T>(
    mut create: impl FnMut() -> Result<T, CgroupError>,
) -> Result<T, CgroupError> {
    const ATTEMPTS: u32 = 10;
    let mut attempt = 1;
    loop {
        match create() {
            Err(e) if e.is_not_found() && attempt < ATTEMPTS => attempt += 1,
            result => return result,
        }
    }
}

/// Removes a pod's leaves, the pod cgroup, and the unused shared ancestors, in every directory.
fn remove_pod_dirs(fs: &dyn CgroupFs, pod: &PodCgroup) -> Result<(), CgroupError> {
    let mut first_error = None;
    let depth = hierarchy::ancestors(pod.qos).len();
    for pod_dir in &pod.dirs.all {
        if let Err(e) = remove_pod_dir(fs, pod_dir) {
            first_error.get_or_insert(e);
            continue;
        }
        for ancestor in pod_dir.ancestors().skip(1).take(depth) {
            match remove_if_unused(fs, ancestor) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    first_error.get_or_insert(e);
                    break;
                }
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Removes one pod directory and the leaves left in it.
fn remove_pod_dir(fs: &dyn CgroupFs, pod_dir: &Path) -> Result<(), CgroupError> {
    let leaves = match fs.child_dirs(pod_dir) {
        Ok(leaves) => leaves,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CgroupError::io("list", pod_dir, e)),
    };
    for leaf in leaves {
        remove_dir_patiently(fs, &pod_dir.join(leaf))?;
    }
    remove_dir_patiently(fs, pod_dir)
}
