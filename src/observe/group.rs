//! Grouping shown processes into sandboxes and giving each process its role.
//!
//! Order of recognition: podlab pods (from their state.json), then runtimes known by cgroup path
//! (Kubernetes, docker, podman), then any remaining process tree in a network namespace other
//! than the host's ("unshared"). Processes left over belong to the host and get no sandbox.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::model::{
    ContainerInfo, ContainerView, Gap, GapReason, NsId, NsKind, PodEvent, PodInfo, ProcessInfo,
    Role, Sandbox, SandboxKind,
};
use super::runtimes::{classify_cgroup_path, is_shim_comm, RuntimeKey};
use crate::kube::pod_state::{PodState, ProcessRef};

pub type Processes = BTreeMap<i32, ProcessInfo>;
pub type Children = HashMap<i32, Vec<i32>>;

/// `pid` and all its descendants that are in `procs`, in tree order.
pub fn descendants(pid: i32, children: &Children, procs: &Processes) -> Vec<i32> {
    let mut out = Vec::new();
    let mut stack = vec![pid];
    let mut visited = HashSet::new();
    while let Some(p) = stack.pop() {
        if !visited.insert(p) || !procs.contains_key(&p) {
            continue;
        }
        out.push(p);
        if let Some(kids) = children.get(&p) {
            stack.extend(kids.iter().rev());
        }
    }
    out
}

/// The process `r` names, if it still is that process (same start time: not a reused PID).
pub fn alive(r: &ProcessRef, procs: &Processes) -> bool {
    procs
        .get(&r.pid)
        .is_some_and(|p| p.start_time == r.start_time)
}

pub struct Grouping<'a> {
    pub procs: &'a mut Processes,
    pub children: &'a Children,
    pub host_net: Option<NsId>,
    pub gaps: &'a mut Vec<Gap>,
}

impl Grouping<'_> {
    pub fn run(mut self, pods: &[PodState], keep_empty_pods: bool) -> Vec<Sandbox> {
        let mut claimed = HashSet::new();
        let mut sandboxes = Vec::new();
        for pod in pods {
            if let Some(sb) = self.podlab_pod(pod, keep_empty_pods, &mut claimed) {
                sandboxes.push(sb);
            }
        }
        sandboxes.extend(self.runtime_sandboxes(&mut claimed));
        sandboxes.extend(self.unshared_sandboxes(&mut claimed));
        sandboxes
    }

    fn podlab_pod(
        &mut self,
        pod: &PodState,
        keep_empty: bool,
        claimed: &mut HashSet<i32>,
    ) -> Option<Sandbox> {
        let mut containers = Vec::new();
        let shim = alive(&pod.shim, self.procs).then_some(pod.shim.pid);
        if let Some(pid) = shim {
            self.set_role(pid, Role::Shim);
            claimed.insert(pid);
        }
        let pause_ref = pod.sandbox.as_ref().map(|s| s.pause);
        let pause = pause_ref.filter(|r| alive(r, self.procs)).map(|r| r.pid);
        // Said only when the pod is shown at all (not for every pod on the host).
        let pause_gone = match (pause_ref, pause) {
            (Some(r), None) => Some(Gap {
                pid: Some(r.pid),
                what: format!("pause of pod {}", pod.name),
                reason: GapReason::Vanished,
            }),
            _ => None,
        };
        if let Some(pid) = pause {
            let pids = descendants(pid, self.children, self.procs);
            for p in &pids {
                self.set_role(*p, Role::Pause);
                claimed.insert(*p);
            }
            containers.push(view("pause", true, Some(pid), pids, None));
        }
        for c in &pod.containers {
            let main = c.process.filter(|r| alive(r, self.procs)).map(|r| r.pid);
            let pids = main
                .map(|m| descendants(m, self.children, self.procs))
                .unwrap_or_default();
            for p in &pids {
                self.set_role(*p, Role::Container(c.name.clone()));
                claimed.insert(*p);
            }
            let status = ContainerInfo {
                kind: c.kind,
                image: c.image.clone(),
                state: c.state.clone(),
                restart_count: c.restart_count,
                ready: c.ready,
            };
            containers.push(view(&c.name, false, main, pids, Some(status)));
        }
        let has_process = shim.is_some() || containers.iter().any(|c| !c.pids.is_empty());
        if !has_process && !keep_empty {
            return None;
        }
        self.gaps.extend(pause_gone);
        let mut sb = Sandbox {
            kind: SandboxKind::PodlabPod,
            name: pod.name.clone(),
            uid: Some(pod.uid.clone()),
            shim,
            pause,
            pause_zombie: false,
            net: None,
            containers,
            cgroup: None,
            pod: Some(PodInfo {
                namespace: pod.namespace.clone(),
                phase: pod.phase,
                terminating: pod.terminating,
                hostname: pod.sandbox.as_ref().map(|s| s.hostname.clone()),
                ip: pod.sandbox.as_ref().and_then(|s| s.ip.clone()),
                events: pod.events.iter().map(PodEvent::from).collect(),
            }),
        };
        self.compare_namespaces(&mut sb);
        Some(sb)
    }

    /// Kubernetes pods, docker and podman containers, by cgroup path.
    fn runtime_sandboxes(&mut self, claimed: &mut HashSet<i32>) -> Vec<Sandbox> {
        let mut groups: BTreeMap<
            (super::runtimes::SandboxKindKey, String),
            BTreeMap<String, Vec<i32>>,
        > = BTreeMap::new();
        for (pid, p) in self.procs.iter() {
            if claimed.contains(pid) || p.kernel_thread {
                continue;
            }
            let Some(key) = p.cgroups.iter().find_map(|m| classify_cgroup_path(&m.path)) else {
                continue;
            };
            let RuntimeKey {
                kind,
                id,
                container,
            } = key;
            let container = container.unwrap_or_else(|| short_id(&id));
            groups
                .entry((kind, id))
                .or_default()
                .entry(container)
                .or_default()
                .push(*pid);
        }
        let mut out = Vec::new();
        for ((kind, id), by_container) in groups {
            let mut containers = Vec::new();
            let mut pause = None;
            let mut shim = None;
            for (name, pids) in by_container {
                let set: HashSet<i32> = pids.iter().copied().collect();
                let main = self.tree_root(&pids, &set);
                let is_pause = pids.iter().any(|p| self.procs[p].comm == "pause");
                if is_pause {
                    pause = main;
                }
                if let Some(parent) = main.and_then(|m| self.procs.get(&m)).map(|p| p.ppid) {
                    if self
                        .procs
                        .get(&parent)
                        .is_some_and(|p| is_shim_comm(&p.comm))
                    {
                        shim = Some(parent);
                    }
                }
                let role = if is_pause {
                    Role::Pause
                } else {
                    Role::Container(short_id(&name))
                };
                for p in &pids {
                    self.set_role(*p, role.clone());
                    claimed.insert(*p);
                }
                containers.push(view(&short_id(&name), is_pause, main, pids, None));
            }
            // Pause first, as the pod's first container.
            containers.sort_by_key(|c| !c.is_pause);
            if let Some(s) = shim {
                self.set_role(s, Role::Shim);
                claimed.insert(s);
            }
            let mut sb = Sandbox {
                kind: kind.kind(),
                name: short_id(&id),
                uid: Some(id),
                shim,
                pause,
                pause_zombie: false,
                net: None,
                containers,
                cgroup: None,
                pod: None,
            };
            self.compare_namespaces(&mut sb);
            out.push(sb);
        }
        out
    }

    /// Remaining process trees in a network namespace other than the host's.
    fn unshared_sandboxes(&mut self, claimed: &mut HashSet<i32>) -> Vec<Sandbox> {
        let Some(host_net) = self.host_net else {
            return Vec::new();
        };
        let mut by_net: BTreeMap<u64, Vec<i32>> = BTreeMap::new();
        for (pid, p) in self.procs.iter() {
            if claimed.contains(pid) || p.kernel_thread || is_shim_comm(&p.comm) {
                continue;
            }
            if let Some(net) = p.namespaces.get(&NsKind::Net) {
                if !net.same_as(&host_net) {
                    by_net.entry(net.inode).or_default().push(*pid);
                }
            }
        }
        let mut out = Vec::new();
        for (inode, pids) in by_net {
            let set: HashSet<i32> = pids.iter().copied().collect();
            // Each process tree inside the group is one "container"; the oldest comes first.
            let mut roots: Vec<i32> = pids
                .iter()
                .copied()
                .filter(|p| !set.contains(&self.procs[p].ppid))
                .collect();
            roots.sort_by_key(|p| (self.procs[p].start_time, *p));
            let mut containers = Vec::new();
            for root in roots {
                let tree: Vec<i32> = descendants(root, self.children, self.procs)
                    .into_iter()
                    .filter(|p| set.contains(p))
                    .collect();
                let name = format!("{}-{}", self.procs[&root].comm, root);
                for p in &tree {
                    self.set_role(*p, Role::Container(name.clone()));
                    claimed.insert(*p);
                }
                containers.push(view(&name, false, Some(root), tree, None));
            }
            let holder = self.pod_shaped(&containers);
            if let Some((first, _)) = holder {
                let tree = &mut containers[first];
                tree.is_pause = true;
                for p in tree.pids.clone() {
                    self.set_role(p, Role::Pause);
                }
            }
            let mut sb = Sandbox {
                kind: if holder.is_some() {
                    SandboxKind::PodShaped
                } else {
                    SandboxKind::Unshared
                },
                name: format!("net:[{inode}]"),
                uid: None,
                shim: None,
                pause: holder.map(|(_, pid)| pid),
                pause_zombie: false,
                net: None,
                containers,
                cgroup: None,
                pod: None,
            };
            self.compare_namespaces(&mut sb);
            out.push(sb);
        }
        out
    }

    /// Whether the process trees of an unshared group are shaped like a pod: the oldest tree
    /// holds net, ipc and uts namespaces of its own, and every other tree joined all three.
    /// Then that tree is the pause of the group, and its holder the PID-namespace init in it
    /// (what `unshare --pid --fork` starts) or else its root: (index of the tree, holder).
    fn pod_shaped(&self, trees: &[ContainerView]) -> Option<(usize, i32)> {
        const HELD: [NsKind; 3] = [NsKind::Net, NsKind::Ipc, NsKind::Uts];
        let (first, others) = trees.split_first()?;
        let root = self.procs.get(&first.main_pid?)?;
        if others.is_empty() {
            return None;
        }
        let holds = |p: &ProcessInfo, q: &ProcessInfo| {
            HELD.iter().all(|k| {
                matches!((p.namespaces.get(k), q.namespaces.get(k)), (Some(a), Some(b)) if a.same_as(b))
            })
        };
        let joined = others.iter().all(|t| {
            t.main_pid
                .and_then(|m| self.procs.get(&m))
                .is_some_and(|p| holds(p, root))
        });
        if !joined {
            return None;
        }
        let holder = first
            .pids
            .iter()
            .copied()
            .find(|p| {
                self.procs.get(p).is_some_and(|q| {
                    q.ns_pids.len() > 1 && q.ns_pids.last() == Some(&1) && holds(q, root)
                })
            })
            .unwrap_or(root.pid);
        Some((0, holder))
    }

    /// The oldest process of `pids` whose parent is outside the set.
    fn tree_root(&self, pids: &[i32], set: &HashSet<i32>) -> Option<i32> {
        pids.iter()
            .copied()
            .filter(|p| !set.contains(&self.procs[p].ppid))
            .min_by_key(|p| (self.procs[p].start_time, *p))
    }

    fn set_role(&mut self, pid: i32, role: Role) {
        if let Some(p) = self.procs.get_mut(&pid) {
            p.role = role;
        }
    }

    /// Mark each container's namespaces as shared with the reference (pause, or the first
    /// container when there is no pause) or its own; set the sandbox's net namespace.
    fn compare_namespaces(&mut self, sb: &mut Sandbox) {
        let reference = sb
            .pause
            .or_else(|| sb.containers.iter().find_map(|c| c.main_pid));
        let Some(reference) = reference else { return };
        let Some(ref_proc) = self.procs.get(&reference) else {
            return;
        };
        sb.pause_zombie = sb.pause.is_some() && ref_proc.state.is_zombie();
        let ref_ns = ref_proc.namespaces.clone();
        sb.net = ref_ns.get(&NsKind::Net).copied().or_else(|| {
            sb.containers
                .iter()
                .filter_map(|c| c.main_pid)
                .find_map(|m| self.procs.get(&m)?.namespaces.get(&NsKind::Net).copied())
        });
        for c in &mut sb.containers {
            if c.is_pause || c.main_pid == Some(reference) {
                continue;
            }
            let Some(main) = c.main_pid.and_then(|m| self.procs.get(&m)) else {
                continue;
            };
            for kind in NsKind::ALL {
                if let (Some(a), Some(b)) = (main.namespaces.get(&kind), ref_ns.get(&kind)) {
                    if a.same_as(b) {
                        c.shared_with_pause.push(kind);
                    } else {
                        c.own.push(kind);
                    }
                }
            }
        }
    }
}

fn view(
    name: &str,
    is_pause: bool,
    main_pid: Option<i32>,
    pids: Vec<i32>,
    status: Option<ContainerInfo>,
) -> ContainerView {
    ContainerView {
        name: name.to_string(),
        is_pause,
        main_pid,
        pids,
        shared_with_pause: Vec::new(),
        own: Vec::new(),
        cgroup: None,
        status,
    }
}

/// Container IDs are 64 hex digits; 12 is what `docker ps` and `crictl ps` show.
fn short_id(id: &str) -> String {
    if id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit()) {
        id[..12].to_string()
    } else {
        id.to_string()
    }
}
