//! One tick. A pod or a PID list: walk down from the known PIDs through `children` files and
//! read everything about those processes only. The whole host: list /proc, read `stat` of every
//! process (the tree) and its `ns/net` link once (the cheapest sign of isolation); then
//! status, cmdline, ns/*, cgroup only for the processes that can be in a sandbox (below a
//! shim, or in a net namespace other than the host's). See `scan` for what is cached.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use eyre::WrapErr;
use procfs::{FromReadSI, KernelStats};

use super::cgroup::{CgroupReader, WrittenShares};
use super::group::{Children, Grouping, Processes};
use super::model::{
    Gap, GapReason, HostInfo, NsId, NsKind, ProcessInfo, Role, Sandbox, Scope, Snapshot, Target,
};
use super::netread::NetReader;
use super::pods::{find_pod, load_pods};
use super::procfs_read::{ProcDir, StatFields};
use super::runtimes::is_shim_comm;
use super::scan::{Detail, ProcessCache, Root, FULL_REFRESH_TICKS};
use crate::kube::pod_state::PodState;
use crate::kube::resources::{KUBELET_WEIGHT_FORMULA, WEIGHT_FORMULA_IN_USE};
use crate::runtime::paths;

/// Where to read from; tests point these at fixture trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub proc_root: PathBuf,
    pub cgroup_root: PathBuf,
    /// Directory holding one `<uid>/state.json` per podlab pod.
    pub pods_dir: PathBuf,
}

impl Default for Sources {
    fn default() -> Sources {
        Sources {
            proc_root: PathBuf::from("/proc"),
            cgroup_root: PathBuf::from("/sys/fs/cgroup"),
            pods_dir: paths::pods_dir(),
        }
    }
}

/// Takes snapshots, keeping a cache between ticks. One per view; not shared between threads.
pub struct Collector {
    sources: Sources,
    cgroups: CgroupReader,
    procs: ProcessCache,
    net: NetReader,
    buf: Vec<u8>,
    tick: u64,
    clock_ticks: u64,
    /// PIDs whose `stat` is re-read every tick: those in a sandbox (or shown) last tick.
    hot: HashSet<i32>,
    /// Processes /proc listed at the last listing.
    process_count: usize,
    /// PID 1's namespaces (or ours), read on the first tick and every `FULL_REFRESH_TICKS`.
    host_namespaces: BTreeMap<NsKind, NsId>,
    boot_time: Option<u64>,
}

impl Collector {
    pub fn new(sources: Sources) -> Collector {
        let cgroups = CgroupReader::new(&sources.cgroup_root);
        Collector {
            cgroups,
            procs: ProcessCache::new(&sources.proc_root),
            net: NetReader::new(sources.proc_root.clone()),
            sources,
            buf: Vec::with_capacity(8192),
            tick: 0,
            clock_ticks: rustix::param::clock_ticks_per_second(),
            hot: HashSet::new(),
            process_count: 0,
            host_namespaces: BTreeMap::new(),
            boot_time: None,
        }
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Whether to read listening sockets (on by default). Reading `net/tcp` and `tcp6` makes
    /// the kernel walk its whole TCP hash table, milliseconds each, so a view that does not
    /// show listeners should turn this off. Read listeners are kept for 2 s per network
    /// namespace (10 s while its socket counters in `net/sockstat*` stay the same), or until
    /// the sandbox's processes change.
    pub fn set_listeners(&mut self, on: bool) {
        self.net.listeners_wanted = on;
    }

    /// Forget everything cached (e.g. after the runtime moved processes between cgroups).
    pub fn forget(&mut self) {
        self.procs.clear();
        self.cgroups.forget();
        self.hot.clear();
        self.net.forget();
        self.host_namespaces.clear();
    }

    /// One snapshot. Fails only when the target cannot be found or /proc cannot be listed; any
    /// single process or file that cannot be read becomes a gap.
    pub fn snapshot(&mut self, target: &Target) -> eyre::Result<Snapshot> {
        self.tick += 1;
        let taken_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        let mut gaps = Vec::new();
        let (scope, pods, keep_empty) = match target {
            Target::Pod(name) => {
                let pod = find_pod(&self.sources.pods_dir, name, &mut gaps)?;
                (Scope::Pod { name: name.clone() }, vec![pod], true)
            }
            Target::Pids(pids) => (
                Scope::Pids { pids: pids.clone() },
                load_pods(&self.sources.pods_dir, &mut gaps),
                false,
            ),
            Target::Host => (
                Scope::Host,
                load_pods(&self.sources.pods_dir, &mut gaps),
                false,
            ),
        };
        let periodic = self.tick % FULL_REFRESH_TICKS == 1;
        if periodic || self.host_namespaces.is_empty() {
            self.host_namespaces = self.read_host_namespaces();
        }
        if self.boot_time.is_none() {
            self.boot_time = self.read_boot_time();
        }

        let (basics, shown) = match target {
            Target::Host => {
                let basics = self.scan_all(true, &mut gaps)?;
                let shown = self.host_candidates(&pods, &basics);
                (basics, shown)
            }
            Target::Pod(_) | Target::Pids(_) => {
                if periodic {
                    self.process_count = self
                        .procs
                        .list()
                        .wrap_err_with(|| {
                            format!(
                                "failed to list processes in {}",
                                self.sources.proc_root.display()
                            )
                        })?
                        .len();
                }
                let roots = roots(target, &pods);
                match self.procs.walk(self.tick, &roots, &mut gaps) {
                    Some(basics) => {
                        let shown = basics.iter().map(|(p, _)| *p).collect();
                        (basics, shown)
                    }
                    // No `children` files here: list /proc and find the tree from every `stat`.
                    None => {
                        let basics = self.scan_all(false, &mut gaps)?;
                        let shown = shown_below(&roots, &basics);
                        let basics = basics
                            .into_iter()
                            .filter(|(p, _)| shown.contains(p))
                            .collect();
                        (basics, shown)
                    }
                }
            }
        };
        if let Target::Pids(pids) = target {
            let explained: HashSet<i32> = gaps.iter().filter_map(|g| g.pid).collect();
            for pid in pids
                .iter()
                .filter(|p| !shown.contains(p) && !explained.contains(p))
            {
                gaps.push(Gap {
                    pid: Some(*pid),
                    what: "process".into(),
                    reason: GapReason::Vanished,
                });
            }
        }
        for pid in &shown {
            self.procs.ensure_detail(*pid);
        }

        let mut children: Children = HashMap::new();
        for (pid, stat) in &basics {
            children.entry(stat.ppid).or_default().push(*pid);
        }
        let mut procs: Processes = BTreeMap::new();
        for (pid, stat) in basics {
            let detail = shown
                .contains(&pid)
                .then(|| self.procs.detail(pid))
                .flatten();
            procs.insert(pid, make_process(pid, stat, detail, &mut gaps));
        }

        let host_namespaces = if self.host_namespaces.is_empty() {
            most_common_net(&procs)
        } else {
            self.host_namespaces.clone()
        };
        let host_net = host_namespaces.get(&NsKind::Net).copied();
        let mut sandboxes = Grouping {
            procs: &mut procs,
            children: &children,
            host_net,
            gaps: &mut gaps,
        }
        .run(&pods, keep_empty);

        for sb in &mut sandboxes {
            let pod = sb
                .uid
                .as_ref()
                .and_then(|uid| pods.iter().find(|p| &p.uid == uid));
            self.read_cgroups(sb, pod, &procs, &mut gaps);
        }
        self.cgroups.end_tick();
        let networks = self.net.read_networks(&sandboxes, &procs, &mut gaps);
        self.hot = match target {
            Target::Host => sandboxes
                .iter()
                .flat_map(|sb| {
                    sb.containers
                        .iter()
                        .flat_map(|c| c.pids.iter())
                        .chain(sb.shim.iter())
                })
                .chain(shown.iter())
                .copied()
                .collect(),
            _ => shown,
        };

        Ok(Snapshot {
            taken_at_ms,
            scope,
            host: HostInfo {
                clock_ticks: self.clock_ticks,
                boot_time: self.boot_time,
                cgroup_layout: self.cgroups.layout,
                namespaces: host_namespaces,
                process_count: self.process_count,
            },
            processes: procs.into_values().collect(),
            sandboxes,
            networks,
            gaps,
        })
    }

    /// Every process with its `stat` (and with `probe_net`, its net namespace probed).
    fn scan_all(
        &mut self,
        probe_net: bool,
        gaps: &mut Vec<Gap>,
    ) -> eyre::Result<Vec<(i32, StatFields)>> {
        let basics = self
            .procs
            .scan_all(self.tick, &self.hot, probe_net, gaps)
            .wrap_err_with(|| {
                format!(
                    "failed to list processes in {}",
                    self.sources.proc_root.display()
                )
            })?;
        self.process_count = basics.len();
        Ok(basics)
    }

    /// On the host view, the processes whose detail is read: those below a shim (podlab's,
    /// containerd's, conmon) and those in a net namespace other than the host's.
    fn host_candidates(&self, pods: &[PodState], basics: &[(i32, StatFields)]) -> HashSet<i32> {
        let starts: HashMap<i32, &StatFields> = basics.iter().map(|(p, s)| (*p, s)).collect();
        let mut roots: Vec<Root> = basics
            .iter()
            .filter(|(_, s)| is_shim_comm(&s.comm))
            .map(|(pid, _)| Root {
                pid: *pid,
                start_time: None,
            })
            .collect();
        for pod in pods {
            let refs = std::iter::once(pod.shim)
                .chain(pod.sandbox.as_ref().map(|s| s.pause))
                .chain(pod.containers.iter().filter_map(|c| c.process));
            roots.extend(refs.map(|r| Root {
                pid: r.pid,
                start_time: Some(r.start_time),
            }));
        }
        let mut shown = shown_below(&roots, basics);
        let host_net = self.host_namespaces.get(&NsKind::Net).map(|n| n.inode);
        if let Some(host_net) = host_net {
            shown.extend(basics.iter().map(|(p, _)| *p).filter(|p| {
                self.procs.net_inode(*p).is_some_and(|n| n != host_net)
                    && starts.get(p).is_some_and(|s| !s.kernel_thread())
            }));
        }
        shown.retain(|p| starts.get(p).is_some_and(|s| !s.kernel_thread()));
        shown
    }

    /// PID 1's namespaces, else this observer's own (PID 1 may be unreadable in a sandbox).
    /// Empty when neither can be read.
    fn read_host_namespaces(&mut self) -> BTreeMap<NsKind, NsId> {
        for pid_dir in ["1", "self"] {
            let path = self.sources.proc_root.join(pid_dir);
            let Ok(real) = std::fs::canonicalize(&path) else {
                continue;
            };
            let Some(pid) = real
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let Ok(dir) = ProcDir::open(&self.sources.proc_root, pid) else {
                continue;
            };
            let ns: BTreeMap<NsKind, NsId> = NsKind::ALL
                .iter()
                .filter_map(|k| dir.namespace(*k).ok().map(|id| (*k, id)))
                .collect();
            if ns.contains_key(&NsKind::Net) {
                return ns;
            }
        }
        BTreeMap::new()
    }

    /// `btime` of /proc/stat, through procfs's parser.
    fn read_boot_time(&mut self) -> Option<u64> {
        let text = std::fs::read(self.sources.proc_root.join("stat")).ok()?;
        let stats =
            <KernelStats as FromReadSI>::from_read(text.as_slice(), procfs::current_system_info())
                .ok()?;
        Some(stats.btime)
    }

    /// `pod`: the podlab pod's state, whose spec says which CPU shares podlab wrote (see
    /// [`CgroupInfo::request_as_written`]), and where kubelet made the pod cgroup, even before
    /// a process is in it.
    fn read_cgroups(
        &mut self,
        sb: &mut Sandbox,
        pod: Option<&PodState>,
        procs: &Processes,
        gaps: &mut Vec<Gap>,
    ) {
        let written = pod.map(|p| WrittenShares::of(&p.pod.spec));
        let mut parents = Vec::new();
        for c in &mut sb.containers {
            let Some(main) = c.main_pid.and_then(|m| procs.get(&m)) else {
                continue;
            };
            let Some(loc) = self.cgroups.locate(&main.cgroups) else {
                continue;
            };
            if loc.path == "/" {
                continue;
            }
            parents.push(loc.parent());
            let mut info = self.cgroups.read(&loc, Some(main.pid), &mut self.buf, gaps);
            if let Some(w) = &written {
                info.request_as_written(w.container(&c.name, c.is_pause), WEIGHT_FORMULA_IN_USE);
            }
            c.cgroup = Some(info);
        }
        // The pod cgroup is the common parent of its containers' cgroups (kubepods…/pod<UID>).
        let is_pod = matches!(
            sb.kind,
            super::model::SandboxKind::PodlabPod | super::model::SandboxKind::KubernetesPod
        );
        if let (true, Some(Some(first))) = (is_pod, parents.first()) {
            if parents.iter().all(|p| p.as_ref() == Some(first)) {
                let mut info = self.cgroups.read(first, None, &mut self.buf, gaps);
                info.as_pod_cgroup();
                if let Some(w) = &written {
                    info.request_as_written(Some(w.pod), KUBELET_WEIGHT_FORMULA);
                }
                sb.cgroup = Some(info);
            }
        }
        // Before pause: the pod cgroup (as its shim recorded it) already holds its limits, and
        // no process.
        let recorded = pod
            .map(|p| p.cgroup.as_str())
            .filter(|path| !path.is_empty() && sb.kind == super::model::SandboxKind::PodlabPod);
        if let (None, Some(path)) = (&sb.cgroup, recorded) {
            if let Some(loc) = self.cgroups.locate_path(path) {
                let mut info = self.cgroups.read(&loc, None, &mut self.buf, gaps);
                info.as_pod_cgroup();
                if let Some(w) = &written {
                    info.request_as_written(Some(w.pod), KUBELET_WEIGHT_FORMULA);
                }
                sb.cgroup = Some(info);
            }
        }
    }
}

/// The PIDs a walk starts from: the given ones, or a pod's shim, pause and containers (with
/// the start times state.json recorded, so a reused PID is not taken for them).
fn roots(target: &Target, pods: &[PodState]) -> Vec<Root> {
    match target {
        Target::Pids(pids) => pids
            .iter()
            .map(|&pid| Root {
                pid,
                start_time: None,
            })
            .collect(),
        _ => pods
            .iter()
            .flat_map(|pod| {
                std::iter::once(pod.shim)
                    .chain(pod.sandbox.as_ref().map(|s| s.pause))
                    .chain(pod.containers.iter().filter_map(|c| c.process))
            })
            .map(|r| Root {
                pid: r.pid,
                start_time: Some(r.start_time),
            })
            .collect(),
    }
}

/// `roots` that are alive (with the right start time) and all their descendants.
fn shown_below(roots: &[Root], basics: &[(i32, StatFields)]) -> HashSet<i32> {
    let mut children: Children = HashMap::new();
    let mut starts: HashMap<i32, u64> = HashMap::new();
    for (pid, stat) in basics {
        children.entry(stat.ppid).or_default().push(*pid);
        starts.insert(*pid, stat.start_time);
    }
    let mut stack: Vec<i32> = roots
        .iter()
        .filter(|r| {
            starts
                .get(&r.pid)
                .is_some_and(|s| r.start_time.is_none_or(|want| want == *s))
        })
        .map(|r| r.pid)
        .collect();
    let mut shown = HashSet::new();
    while let Some(p) = stack.pop() {
        if shown.insert(p) {
            if let Some(kids) = children.get(&p) {
                stack.extend(kids);
            }
        }
    }
    shown
}

/// When no host namespace could be read: the most common net namespace among the processes.
fn most_common_net(procs: &Processes) -> BTreeMap<NsKind, NsId> {
    let mut counts: HashMap<NsId, usize> = HashMap::new();
    for p in procs.values() {
        if let Some(n) = p.namespaces.get(&NsKind::Net) {
            *counts.entry(*n).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(n, c)| (*c, *n))
        .map(|(n, _)| BTreeMap::from([(NsKind::Net, n)]))
        .unwrap_or_default()
}

fn make_process(
    pid: i32,
    stat: StatFields,
    detail: Option<&Detail>,
    gaps: &mut Vec<Gap>,
) -> ProcessInfo {
    let kernel_thread = stat.kernel_thread();
    let mut p = ProcessInfo {
        pid,
        ppid: stat.ppid,
        ns_pids: Vec::new(),
        comm: stat.comm,
        cmdline: Vec::new(),
        state: stat.state,
        uid: None,
        start_time: stat.start_time,
        kernel_thread,
        namespaces: BTreeMap::new(),
        cgroups: Vec::new(),
        role: Role::Other,
        seccomp: None,
    };
    if let Some(d) = detail {
        p.ns_pids.clone_from(&d.ns_pids);
        p.uid = d.uid;
        p.seccomp = d.seccomp;
        p.cmdline.clone_from(&d.cmdline);
        p.namespaces.clone_from(&d.namespaces);
        p.cgroups.clone_from(&d.cgroups);
        gaps.extend(d.gaps.iter().cloned());
    }
    p
}

/// Convenience: one snapshot of the real host.
pub fn snapshot(target: &Target) -> eyre::Result<Snapshot> {
    Collector::new(Sources::default()).snapshot(target)
}
