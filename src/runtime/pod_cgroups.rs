//! A pod's cgroups while its shim runs: the pod cgroup with kubelet's values for its QoS class,
//! a leaf per container (pause too), and the OOM-kill counters that tell OOMKilled from a plain
//! SIGKILL.

use std::collections::HashMap;
use std::path::PathBuf;

use eyre::{eyre, Result};
use procfs::{FromBufRead, Meminfo};

use super::cgroups::{host_manager, CgroupManager, ContainerCgroup, PodCgroup};
use super::lookup;
use super::rootfs::CgroupView;
use crate::kube::oom::{container_oom_score_adj, PAUSE_OOM_SCORE_ADJ};
use crate::kube::qos::{pod_cgroup_values, pod_qos, pod_requests, QosClass};
use crate::kube::resize::{CgroupWrite, MemoryUsage};
use crate::kube::resources::CgroupValues;
use crate::kube::resources::{
    burstable_tier_shares, container_cgroup_values, pod_pids_limit, ContainerResources,
    PodResources, POD_PIDS_LIMIT,
};
use crate::spec::PodSpec;

const MEMINFO: &str = "/proc/meminfo";

/// `MemTotal` from /proc/meminfo (procfs's parser), in bytes: the memory capacity kubelet
/// (through cAdvisor) uses.
fn read_memory_capacity() -> Result<i64> {
    let text = std::fs::read(MEMINFO).map_err(|e| eyre!("failed to read {MEMINFO}: {e}"))?;
    let meminfo = Meminfo::from_buf_read(text.as_slice())
        .map_err(|e| eyre!("failed to parse {MEMINFO}: {e}"))?;
    i64::try_from(meminfo.mem_total).map_err(|_| eyre!("MemTotal in {MEMINFO} is out of range"))
}

/// This machine's CPUs (online) and memory, as cAdvisor reports them to kubelet: the node's
/// capacity, from which kubelet computes its allocatable.
pub fn node_capacity() -> Result<crate::kube::scheduling::NodeCapacity> {
    // SAFETY: sysconf only reads a system value.
    let cpus = unsafe { libc::sysconf(libc::_SC_NPROCESSORS_ONLN) };
    if cpus <= 0 {
        return Err(eyre!("sysconf(_SC_NPROCESSORS_ONLN) failed"));
    }
    Ok(crate::kube::scheduling::NodeCapacity {
        cpu_millis: cpus as i64 * 1000,
        memory_bytes: read_memory_capacity()?,
    })
}

pub struct PodCgroups {
    manager: Box<dyn CgroupManager>,
    pod: PodCgroup,
    resources: PodResources,
    memory_capacity: i64,
    leaves: HashMap<String, ContainerCgroup>,
    /// The OOM-kill count of each leaf when its container last started.
    oom_kills_at_start: HashMap<String, u64>,
}

/// What a container needs from its cgroup before it execs.
pub struct ContainerPlacement {
    pub procs_files: Vec<PathBuf>,
    /// cgroup v2: the leaf the container is born in (clone3 with `CLONE_INTO_CGROUP`).
    pub unified_dir: Option<PathBuf>,
    /// What it sees at /sys/fs/cgroup.
    pub view: CgroupView,
    pub oom_score_adj: i32,
}

impl PodCgroups {
    /// `pod_max_pids`: kubelet's podPidsLimit (None: podlab's, `POD_PIDS_LIMIT`).
    pub fn create(uid: &str, spec: &PodSpec, pod_max_pids: Option<i64>) -> Result<PodCgroups> {
        PodCgroups::create_with(uid, spec, pod_max_pids, None)
    }

    /// Like [`PodCgroups::create`] with another manager than the host's (None: the host's),
    /// e.g. one over a subtree delegated to a user.
    pub fn create_with(
        uid: &str,
        spec: &PodSpec,
        pod_max_pids: Option<i64>,
        manager: Option<Box<dyn CgroupManager>>,
    ) -> Result<PodCgroups> {
        let manager = match manager {
            Some(m) => m,
            None => host_manager().map_err(|e| eyre!("{e}"))?,
        };
        let resources = PodResources::from_spec(spec);
        let qos = pod_qos(&resources);
        let values = CgroupValues {
            pids_limit: pod_pids_limit(pod_max_pids.unwrap_or(POD_PIDS_LIMIT)),
            ..pod_cgroup_values(&resources)
        };
        let pod = manager
            .create_pod(uid, qos, &values)
            .map_err(|e| eyre!("{e}"))?;
        let memory_capacity = read_memory_capacity()?;
        let cgroups = PodCgroups {
            manager,
            pod,
            resources,
            memory_capacity,
            leaves: HashMap::new(),
            oom_kills_at_start: HashMap::new(),
        };
        cgroups.refresh_burstable_tier(true);
        Ok(cgroups)
    }

    /// kubelet's QoS manager (`setCPUCgroupConfig`): the burstable tier's CPU shares are those
    /// of the summed requests of the burstable pods on this machine — the live pods podlab
    /// knows, with this one while it lives (`counted`). Only a burstable pod changes the sum.
    /// kubelet also refreshes it every minute; podlab when a burstable pod comes or goes.
    fn refresh_burstable_tier(&self, counted: bool) {
        if self.qos() != QosClass::Burstable {
            return;
        }
        let mut requests: Vec<i64> = lookup::all_pods()
            .into_iter()
            .filter(|p| p.shim_alive && p.uid != self.pod.uid())
            .filter_map(|p| p.state)
            .filter(|s| s.qos_class == QosClass::Burstable.as_str())
            .map(|s| pod_requests(&PodResources::from_spec(&s.pod.spec)).cpu())
            .collect();
        if counted {
            requests.push(pod_requests(&self.resources).cpu());
        }
        let values = CgroupValues::qos_tier(burstable_tier_shares(requests));
        // A tier removed meanwhile by a parallel pod's deletion needs no value.
        let _ = self.manager.set_qos_tier(QosClass::Burstable, &values);
    }

    pub fn qos(&self) -> QosClass {
        self.pod.qos()
    }

    pub fn pod_path(&self) -> String {
        self.pod.cgroup_path().display().to_string()
    }

    /// Create the `pause` leaf (CPU shares 2); on cgroup v2, its directory, for the sandbox
    /// process to be born in.
    pub fn prepare_pause(&mut self) -> Result<Option<PathBuf>> {
        let leaf = self
            .manager
            .create_pause(&self.pod)
            .map_err(|e| eyre!("{e}"))?;
        let dir = leaf.unified_dir().map(PathBuf::from);
        self.leaves.insert("pause".into(), leaf);
        Ok(dir)
    }

    /// Put the sandbox process in the `pause` leaf before it execs pause, unless it was born
    /// there (`born`).
    pub fn place_pause(&mut self, pid: i32, born: bool) -> Result<()> {
        let leaf = match self.leaves.get("pause") {
            Some(leaf) => leaf,
            None => {
                self.prepare_pause()?;
                &self.leaves["pause"]
            }
        };
        if !born {
            leaf.add_process(pid).map_err(|e| eyre!("{e}"))?;
        }
        // Lowering a score needs CAP_SYS_RESOURCE; without it the kernel keeps the default.
        let _ = std::fs::write(
            format!("/proc/{pid}/oom_score_adj"),
            PAUSE_OOM_SCORE_ADJ.to_string(),
        );
        Ok(())
    }

    /// Remove the `pause` leaf of a sandbox that died, before a new one is placed.
    pub fn remove_pause_leaf(&mut self) -> Result<()> {
        match self.leaves.remove("pause") {
            Some(leaf) => leaf.remove().map_err(|e| eyre!("{e}")),
            None => Ok(()),
        }
    }

    /// Create (or reuse, on a restart) the leaf of a container with kubelet's values.
    pub fn prepare_container(&mut self, name: &str) -> Result<ContainerPlacement> {
        let resources = self
            .container_resources(name)
            .ok_or_else(|| eyre!("no resources for container {name:?}"))?
            .clone();
        let leaf = self
            .manager
            .create_container(
                &self.pod,
                name,
                &container_cgroup_values(&self.resources.effective_container(&resources)),
            )
            .map_err(|e| eyre!("{e}"))?;
        self.oom_kills_at_start
            .insert(name.to_string(), leaf.oom_kill_count().unwrap_or(0));
        let placement = ContainerPlacement {
            procs_files: leaf.procs_files(),
            unified_dir: leaf.unified_dir().map(PathBuf::from),
            view: match leaf.unified_dir() {
                Some(_) => CgroupView::Unified,
                None => CgroupView::Legacy {
                    hierarchies: leaf.legacy_hierarchies(),
                },
            },
            oom_score_adj: container_oom_score_adj(
                &self.resources,
                &resources,
                self.memory_capacity,
            ),
        };
        self.leaves.insert(name.to_string(), leaf);
        Ok(placement)
    }

    fn container_resources(&self, name: &str) -> Option<&ContainerResources> {
        self.resources
            .containers
            .iter()
            .chain(&self.resources.init_containers)
            .find(|c| c.name == name)
    }

    /// True if the kernel's OOM killer killed a process of this container since it started.
    pub fn oom_killed(&self, name: &str) -> bool {
        let Some(leaf) = self.leaves.get(name) else {
            return false;
        };
        let before = self.oom_kills_at_start.get(name).copied().unwrap_or(0);
        leaf.oom_kill_count().is_ok_and(|now| now > before)
    }

    /// A resize: the pod's new spec; the next (re)start of a container uses its values.
    pub fn set_resources(&mut self, spec: &PodSpec) {
        self.resources = PodResources::from_spec(spec);
    }

    /// Memory in use now by the pod and by each running container.
    pub fn memory_usage(&self) -> MemoryUsage {
        MemoryUsage {
            pod: self.manager.pod_memory_usage(&self.pod).ok(),
            containers: self
                .leaves
                .iter()
                .filter(|(name, _)| name.as_str() != "pause")
                .filter_map(|(name, leaf)| Some((name.clone(), leaf.memory_usage().ok()?)))
                .collect(),
        }
    }

    /// One cgroup write of a resize, into the pod cgroup or a container's leaf.
    pub fn write(&self, write: &CgroupWrite) -> Result<()> {
        match &write.container {
            None => self
                .manager
                .write_pod_resource(&self.pod, write.resource, &write.values),
            Some(name) => match self.leaves.get(name) {
                Some(leaf) => leaf.write_resource(write.resource, &write.values),
                None => return Err(eyre!("container {name:?} has no cgroup")),
            },
        }
        .map_err(|e| eyre!("{e}"))
    }

    /// Remove the pod cgroup and its leaves; the pod's processes must be gone.
    pub fn remove(&self) -> Result<()> {
        self.manager
            .remove_pod(&self.pod)
            .map_err(|e| eyre!("{e}"))?;
        self.refresh_burstable_tier(false);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn memory_capacity_of_this_machine() {
        let bytes = super::read_memory_capacity();
        assert!(bytes.as_ref().is_ok_and(|b| *b > 0), "{bytes:?}");
    }
}
