//! One tick: list /proc, read `stat` of every process (to know the tree), and the rest only for
//! the processes shown. What does not change while a process lives (NSpid, UID, cmdline,
//! namespaces, cgroup membership) is cached by (pid, start time) and dropped when the process
//! exec's (its comm changes), since a runtime joins namespaces and cgroups before exec.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use eyre::WrapErr;

use super::cgroup::CgroupReader;
use super::group::{Children, Grouping, Processes};
use super::model::{
    Gap, GapReason, HostInfo, NetNamespace, NsId, NsKind, ProcessInfo, Proto, Role, Sandbox, Scope,
    Snapshot,
};
use super::net;
use super::pods::{find_pod, load_pods};
use super::procfs_read::{
    list_pids, parse_cgroup, parse_cmdline, parse_stat, parse_status, ProcDir, StatFields,
};
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

/// What to observe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A podlab pod by name or UID: its shim and everything below it.
    Pod(String),
    /// These processes and their descendants.
    Pids(Vec<i32>),
    /// Every process on the host, grouped into sandboxes.
    Host,
}

/// Per-process facts that stay put between exec's.
#[derive(Debug, Clone)]
struct Detail {
    ns_pids: Vec<i32>,
    uid: Option<u32>,
    cmdline: Vec<String>,
    namespaces: BTreeMap<NsKind, NsId>,
    cgroups: Vec<super::model::CgroupMembership>,
    gaps: Vec<Gap>,
}

struct Cached {
    start_time: u64,
    comm: String,
    /// Last `stat` read; reused for processes that are not shown (see `FULL_REFRESH_TICKS`).
    stat: StatFields,
    detail: Option<Detail>,
    tick: u64,
}

/// Processes that are not shown have their `stat` re-read only every this many ticks: between
/// those, only their presence in /proc is checked. A process cannot become a descendant of a
/// shown one without being new (fork) or already a descendant (reparenting goes up the tree).
const FULL_REFRESH_TICKS: u64 = 10;

/// Listening sockets are re-read at most this often per network namespace (or when the
/// sandbox's processes change): the kernel walks its whole TCP hash table for every read of
/// /proc/<pid>/net/tcp, milliseconds each.
const LISTENERS_TTL: Duration = Duration::from_secs(2);

struct CachedListeners {
    read_at: Instant,
    members: Vec<i32>,
    listeners: Vec<super::model::Listener>,
}

/// Takes snapshots, keeping a cache between ticks. One per view; not shared between threads.
pub struct Collector {
    sources: Sources,
    cgroups: CgroupReader,
    cache: HashMap<i32, Cached>,
    buf: Vec<u8>,
    tick: u64,
    clock_ticks: u64,
    /// PIDs whose `stat` is re-read every tick: those shown (or in a sandbox) last tick.
    hot: HashSet<i32>,
    listeners: HashMap<u64, CachedListeners>,
}

impl Collector {
    pub fn new(sources: Sources) -> Collector {
        let cgroups = CgroupReader::new(&sources.cgroup_root);
        Collector {
            sources,
            cgroups,
            cache: HashMap::new(),
            buf: Vec::with_capacity(4096),
            tick: 0,
            clock_ticks: rustix::param::clock_ticks_per_second(),
            hot: HashSet::new(),
            listeners: HashMap::new(),
        }
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    /// Forget everything cached (e.g. after the runtime moved processes between cgroups).
    pub fn forget(&mut self) {
        self.cache.clear();
        self.hot.clear();
        self.listeners.clear();
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

        let pids = list_pids(&self.sources.proc_root).wrap_err_with(|| {
            format!(
                "failed to list processes in {}",
                self.sources.proc_root.display()
            )
        })?;
        let process_count = pids.len();
        let detail_everyone = matches!(target, Target::Host);
        let mut basics: Vec<(i32, StatFields)> = Vec::with_capacity(pids.len());
        let full_refresh = self.tick % FULL_REFRESH_TICKS == 1;
        for pid in pids {
            if !full_refresh && !self.hot.contains(&pid) {
                if let Some(c) = self.cache.get_mut(&pid) {
                    c.tick = self.tick;
                    basics.push((pid, c.stat.clone()));
                    continue;
                }
            }
            // A process that is gone before we open it was never shown: no gap.
            let Ok(dir) = ProcDir::open(&self.sources.proc_root, pid) else {
                continue;
            };
            if dir.read("stat", &mut self.buf).is_err() {
                continue;
            }
            let Some(stat) = parse_stat(&self.buf) else {
                gaps.push(Gap {
                    pid: Some(pid),
                    what: "stat".into(),
                    reason: GapReason::Unparsable,
                });
                continue;
            };
            self.remember(pid, &stat);
            if detail_everyone && !stat.kernel_thread() {
                self.ensure_detail(&dir, &stat);
            }
            basics.push((pid, stat));
        }
        self.cache.retain(|_, c| c.tick == self.tick);

        let mut children: Children = HashMap::new();
        for (pid, stat) in &basics {
            children.entry(stat.ppid).or_default().push(*pid);
        }
        let all: HashSet<i32> = basics.iter().map(|(p, _)| *p).collect();
        let shown = self.shown(target, &pods, &basics, &children, &all, &mut gaps);

        let mut procs: Processes = BTreeMap::new();
        for (pid, stat) in basics {
            if !shown.contains(&pid) {
                continue;
            }
            if !stat.kernel_thread() && !detail_everyone {
                if let Ok(dir) = ProcDir::open(&self.sources.proc_root, pid) {
                    self.ensure_detail(&dir, &stat);
                }
            }
            let detail = self.cache.get(&pid).and_then(|c| c.detail.clone());
            procs.insert(pid, make_process(pid, stat, detail, &mut gaps));
        }

        let host_namespaces = self.host_namespaces(&procs);
        let host_net = host_namespaces.get(&NsKind::Net).copied();
        let mut sandboxes = Grouping {
            procs: &mut procs,
            children: &children,
            host_net,
            gaps: &mut gaps,
        }
        .run(&pods, keep_empty);

        for sb in &mut sandboxes {
            self.read_cgroups(sb, &procs, &mut gaps);
        }
        let networks = self.read_networks(&sandboxes, &procs, &mut gaps);
        self.hot = match target {
            Target::Host => sandboxes
                .iter()
                .flat_map(|sb| {
                    sb.containers
                        .iter()
                        .flat_map(|c| c.pids.iter())
                        .chain(sb.shim.iter())
                })
                .copied()
                .collect(),
            _ => procs.keys().copied().collect(),
        };

        Ok(Snapshot {
            taken_at_ms,
            scope,
            host: HostInfo {
                clock_ticks: self.clock_ticks,
                boot_time: self.boot_time(),
                cgroup_layout: self.cgroups.layout,
                namespaces: host_namespaces,
                process_count,
            },
            processes: procs.into_values().collect(),
            sandboxes,
            networks,
            gaps,
        })
    }

    /// Note this tick's (pid, start time, comm); drop cached detail of a new or exec'd process.
    fn remember(&mut self, pid: i32, stat: &StatFields) {
        let entry = self.cache.entry(pid).or_insert_with(|| Cached {
            start_time: stat.start_time,
            comm: stat.comm.clone(),
            stat: stat.clone(),
            detail: None,
            tick: 0,
        });
        entry.stat = stat.clone();
        if entry.start_time != stat.start_time || entry.comm != stat.comm {
            entry.start_time = stat.start_time;
            entry.comm.clone_from(&stat.comm);
            entry.detail = None;
        }
        entry.tick = self.tick;
    }

    fn ensure_detail(&mut self, dir: &ProcDir, stat: &StatFields) {
        let Some(entry) = self.cache.get(&dir.pid) else {
            return;
        };
        if entry.detail.is_some() {
            return;
        }
        let detail = read_detail(dir, stat, &mut self.buf);
        // A process that vanished mid-read is re-read (or dropped) next tick.
        let complete = !detail.gaps.iter().any(|g| g.reason == GapReason::Vanished);
        if let Some(entry) = self.cache.get_mut(&dir.pid) {
            entry.detail = Some(detail);
            if !complete {
                entry.comm.clear(); // forces a re-read next tick
            }
        }
    }

    fn shown(
        &self,
        target: &Target,
        pods: &[crate::runtime::state::PodState],
        basics: &[(i32, StatFields)],
        children: &Children,
        all: &HashSet<i32>,
        gaps: &mut Vec<Gap>,
    ) -> HashSet<i32> {
        // `descendants` wants the process map; a light one of all PIDs suffices here.
        let mut roots: Vec<i32> = Vec::new();
        match target {
            Target::Host => return all.clone(),
            Target::Pids(pids) => {
                for pid in pids {
                    if all.contains(pid) {
                        roots.push(*pid);
                    } else {
                        gaps.push(Gap {
                            pid: Some(*pid),
                            what: "process".into(),
                            reason: GapReason::Vanished,
                        });
                    }
                }
            }
            Target::Pod(_) => {
                for pod in pods {
                    roots.push(pod.shim.pid);
                    if let Some(s) = &pod.sandbox {
                        roots.push(s.pause.pid);
                    }
                    roots.extend(
                        pod.containers
                            .iter()
                            .filter_map(|c| c.process.map(|r| r.pid)),
                    );
                }
                // Only the processes the refs really name (start time matches).
                let starts: HashMap<i32, u64> =
                    basics.iter().map(|(p, s)| (*p, s.start_time)).collect();
                let refs: Vec<_> = pods
                    .iter()
                    .flat_map(|pod| {
                        std::iter::once(pod.shim)
                            .chain(pod.sandbox.as_ref().map(|s| s.pause))
                            .chain(pod.containers.iter().filter_map(|c| c.process))
                    })
                    .collect();
                roots.retain(|pid| {
                    refs.iter()
                        .any(|r| r.pid == *pid && starts.get(pid) == Some(&r.start_time))
                });
            }
        }
        let mut shown = HashSet::new();
        let mut stack = roots;
        while let Some(p) = stack.pop() {
            if shown.insert(p) {
                if let Some(kids) = children.get(&p) {
                    stack.extend(kids);
                }
            }
        }
        shown
    }

    /// PID 1's namespaces, else this observer's own (PID 1 may be unreadable in a sandbox),
    /// else the most common net namespace among shown processes.
    fn host_namespaces(&mut self, procs: &Processes) -> BTreeMap<NsKind, NsId> {
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
        let mut counts: HashMap<NsId, usize> = HashMap::new();
        for p in procs.values() {
            if let Some(n) = p.namespaces.get(&NsKind::Net) {
                *counts.entry(*n).or_default() += 1;
            }
        }
        counts
            .into_iter()
            .max_by_key(|(_, c)| *c)
            .map(|(n, _)| BTreeMap::from([(NsKind::Net, n)]))
            .unwrap_or_default()
    }

    fn boot_time(&mut self) -> Option<u64> {
        let text = std::fs::read_to_string(self.sources.proc_root.join("stat")).ok()?;
        text.lines()
            .find_map(|l| l.strip_prefix("btime "))
            .and_then(|v| v.trim().parse().ok())
    }

    fn read_cgroups(&mut self, sb: &mut Sandbox, procs: &Processes, gaps: &mut Vec<Gap>) {
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
            c.cgroup = Some(self.cgroups.read(&loc, Some(main.pid), &mut self.buf, gaps));
        }
        // The pod cgroup is the common parent of its containers' cgroups (kubepods…/pod<UID>).
        let is_pod = matches!(
            sb.kind,
            super::model::SandboxKind::PodlabPod | super::model::SandboxKind::KubernetesPod
        );
        if let (true, Some(Some(first))) = (is_pod, parents.first()) {
            if parents.iter().all(|p| p.as_ref() == Some(first)) {
                sb.cgroup = Some(self.cgroups.read(first, None, &mut self.buf, gaps));
            }
        }
    }

    fn read_networks(
        &mut self,
        sandboxes: &[Sandbox],
        procs: &Processes,
        gaps: &mut Vec<Gap>,
    ) -> Vec<NetNamespace> {
        let mut out: Vec<NetNamespace> = Vec::new();
        for sb in sandboxes {
            let Some(net) = sb.net else { continue };
            if out.iter().any(|n| n.id.same_as(&net)) {
                continue;
            }
            // Every live process of the sandbox in this net namespace.
            let members: Vec<&ProcessInfo> = sb
                .containers
                .iter()
                .flat_map(|c| c.pids.iter())
                .chain(sb.shim.iter())
                .filter_map(|p| procs.get(p))
                .filter(|p| !p.state.is_zombie())
                .filter(|p| {
                    p.namespaces
                        .get(&NsKind::Net)
                        .is_some_and(|n| n.same_as(&net))
                })
                .collect();
            let Some(via) = members.first().map(|p| p.pid) else {
                gaps.push(Gap {
                    pid: sb.pause,
                    what: format!("network of {}", sb.name),
                    reason: GapReason::Zombie,
                });
                continue;
            };
            let Ok(dir) = ProcDir::open(&self.sources.proc_root, via) else {
                gaps.push(Gap {
                    pid: Some(via),
                    what: "net".into(),
                    reason: GapReason::Vanished,
                });
                continue;
            };
            let member_pids: Vec<i32> = members.iter().map(|p| p.pid).collect();
            let cached = self
                .listeners
                .get(&net.inode)
                .filter(|c| c.members == member_pids && c.read_at.elapsed() < LISTENERS_TTL);
            let cached = cached.map(|c| c.listeners.clone());
            let fresh = cached.is_none();
            let mut ns = self.read_net(&dir, net, fresh, gaps);
            match cached {
                Some(listeners) => ns.listeners = listeners,
                None => {
                    if !ns.listeners.is_empty() {
                        self.attach_listener_owners(&mut ns, &members, gaps);
                    }
                    self.listeners.insert(
                        net.inode,
                        CachedListeners {
                            read_at: Instant::now(),
                            members: member_pids,
                            listeners: ns.listeners.clone(),
                        },
                    );
                }
            }
            out.push(ns);
        }
        out
    }

    fn read_net(
        &mut self,
        dir: &ProcDir,
        id: NsId,
        with_listeners: bool,
        gaps: &mut Vec<Gap>,
    ) -> NetNamespace {
        let pid = dir.pid;
        let read = |name: &str, buf: &mut Vec<u8>, gaps: &mut Vec<Gap>| -> String {
            match dir.read(name, buf) {
                Ok(()) => String::from_utf8_lossy(buf).into_owned(),
                Err(e) => {
                    // No IPv6 in this kernel or namespace: if_inet6 and tcp6 are simply absent.
                    if e.kind() != std::io::ErrorKind::NotFound || !name.contains('6') {
                        gaps.push(Gap {
                            pid: Some(pid),
                            what: name.to_string(),
                            reason: GapReason::from_io(&e),
                        });
                    }
                    String::new()
                }
            }
        };
        let buf = &mut self.buf;
        let fib = read("net/fib_trie", buf, gaps);
        let route = read("net/route", buf, gaps);
        let inet6 = read("net/if_inet6", buf, gaps);
        let dev = read("net/dev", buf, gaps);
        let routes = net::parse_route(&route);
        let mut interfaces = net::parse_net_dev(&dev);
        net::assign_addresses(
            &mut interfaces,
            &net::parse_fib_trie_local(&fib),
            &routes,
            &net::parse_if_inet6(&inet6),
        );
        let mut listeners = Vec::new();
        let tables = if with_listeners {
            &SOCKET_TABLES[..]
        } else {
            &[]
        };
        for (file, proto) in tables.iter().copied() {
            let text = read(file, buf, gaps);
            listeners.extend(net::parse_sockets(&text, proto));
        }
        NetNamespace {
            id,
            read_via: pid,
            interfaces,
            routes: routes.iter().map(net::RawRoute::to_route).collect(),
            listeners,
        }
    }

    /// Which shown process holds each listening socket: match socket inodes in /proc/<pid>/fd.
    fn attach_listener_owners(
        &mut self,
        ns: &mut NetNamespace,
        members: &[&ProcessInfo],
        gaps: &mut Vec<Gap>,
    ) {
        let mut inodes = Vec::new();
        for p in members {
            inodes.clear();
            let result = ProcDir::open(&self.sources.proc_root, p.pid)
                .and_then(|dir| dir.socket_inodes(&mut inodes));
            if let Err(e) = result {
                gaps.push(Gap {
                    pid: Some(p.pid),
                    what: "fd".into(),
                    reason: GapReason::from_io(&e),
                });
                continue;
            }
            for l in ns
                .listeners
                .iter_mut()
                .filter(|l| inodes.contains(&l.inode))
            {
                l.pids.push(p.pid);
                if l.container.is_none() {
                    l.container = match &p.role {
                        Role::Container(name) => Some(name.clone()),
                        Role::Pause => Some("pause".into()),
                        _ => None,
                    };
                }
            }
        }
    }
}

fn make_process(
    pid: i32,
    stat: StatFields,
    detail: Option<Detail>,
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
    };
    if let Some(d) = detail {
        p.ns_pids = d.ns_pids;
        p.uid = d.uid;
        p.cmdline = d.cmdline;
        p.namespaces = d.namespaces;
        p.cgroups = d.cgroups;
        gaps.extend(d.gaps);
    }
    p
}

/// status, cmdline, ns/*, cgroup of one process; each file on its own, failures become gaps.
fn read_detail(dir: &ProcDir, stat: &StatFields, buf: &mut Vec<u8>) -> Detail {
    let pid = dir.pid;
    let zombie = stat.state.is_zombie();
    let mut gaps = Vec::new();
    let gap = |what: &str, e: &std::io::Error, gaps: &mut Vec<Gap>| {
        gaps.push(Gap {
            pid: Some(pid),
            what: what.to_string(),
            reason: if zombie {
                GapReason::Zombie
            } else {
                GapReason::from_io(e)
            },
        })
    };
    let (ns_pids, uid) = match dir.read("status", buf) {
        Ok(()) => parse_status(buf),
        Err(e) => {
            gap("status", &e, &mut gaps);
            (Vec::new(), None)
        }
    };
    let cmdline = match dir.read("cmdline", buf) {
        Ok(()) => parse_cmdline(buf),
        Err(e) => {
            gap("cmdline", &e, &mut gaps);
            Vec::new()
        }
    };
    let mut namespaces = BTreeMap::new();
    let mut ns_errors = Vec::new();
    for kind in NsKind::ALL {
        match dir.namespace(kind) {
            Ok(id) => {
                namespaces.insert(kind, id);
            }
            Err(e) => ns_errors.push((kind, e)),
        }
    }
    for (kind, e) in ns_errors {
        let what = format!("ns/{}", kind.file_name());
        // ENOENT next to readable links: this kernel lacks that namespace type (e.g. time).
        if !zombie && !namespaces.is_empty() && e.kind() == std::io::ErrorKind::NotFound {
            gaps.push(Gap {
                pid: Some(pid),
                what,
                reason: GapReason::Missing,
            });
        } else {
            gap(&what, &e, &mut gaps);
        }
    }
    let cgroups = match dir.read("cgroup", buf) {
        Ok(()) => parse_cgroup(buf),
        Err(e) => {
            gap("cgroup", &e, &mut gaps);
            Vec::new()
        }
    };
    Detail {
        ns_pids,
        uid,
        cmdline,
        namespaces,
        cgroups,
        gaps,
    }
}

const SOCKET_TABLES: [(&str, Proto); 4] = [
    ("net/tcp", Proto::Tcp),
    ("net/tcp6", Proto::Tcp6),
    ("net/udp", Proto::Udp),
    ("net/udp6", Proto::Udp6),
];

/// Convenience: one snapshot of the real host.
pub fn snapshot(target: &Target) -> eyre::Result<Snapshot> {
    Collector::new(Sources::default()).snapshot(target)
}
