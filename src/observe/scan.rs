//! Finding processes and keeping what was read about them between ticks.
//!
//! Two ways to find processes: list /proc and read every `stat` (the host view, and the
//! fallback), or walk down from known PIDs through `task/<tid>/children` (a pod or a PID
//! list), which reads nothing about the rest of the host. What cannot change while a process
//! lives (NSpid, UID, cmdline, namespaces, cgroup membership) is cached by (pid, start time)
//! and dropped when the process exec's (its comm changes), since a runtime joins namespaces
//! and cgroups before exec.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io;
use std::path::{Path, PathBuf};

use procfs::{FromRead, LoadAverage};

use super::model::{CgroupMembership, Gap, GapReason, NsId, NsKind, SeccompState};
use super::procfs_read::{
    is_gone, list_pids, net_ns_inode, parse_cgroup, parse_cmdline, parse_pid_list, parse_seccomp,
    parse_stat, parse_status, read_path, KeptFile, ProcDir, StatFields,
};

/// Processes that are not shown have their `stat` re-read only every this many ticks (a
/// tenth of them each tick): between those, only their presence in /proc is checked. A
/// process cannot become a descendant of a shown one without being new (fork) or already a
/// descendant (reparenting goes up the tree).
pub const FULL_REFRESH_TICKS: u64 = 10;

/// New processes are re-read every tick for this many ticks: `unshare` or a runtime's init
/// changes namespaces and then exec's, usually within a few milliseconds of the fork.
const YOUNG_TICKS: u64 = 3;

/// From this many `stat` reads in one tick on, the reads are split over threads.
const PARALLEL_FROM: usize = 256;
const MAX_THREADS: usize = 4;

/// Per-process facts that stay put between exec's.
#[derive(Debug, Clone)]
pub struct Detail {
    pub ns_pids: Vec<i32>,
    pub uid: Option<u32>,
    pub seccomp: Option<SeccompState>,
    pub cmdline: Vec<String>,
    pub namespaces: BTreeMap<NsKind, NsId>,
    pub cgroups: Vec<CgroupMembership>,
    pub gaps: Vec<Gap>,
}

/// The net namespace read from the `ns/net` link text, for grouping the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NetProbe {
    Unread,
    Inode(u64),
    Unreadable,
}

struct Entry {
    start_time: u64,
    comm: String,
    stat: StatFields,
    net: NetProbe,
    detail: Option<Detail>,
    seen: u64,
    /// Re-read every tick before this tick (see `YOUNG_TICKS`).
    young_until: u64,
    /// Files of a walked process kept open for the next tick.
    kept: Option<KeptProcess>,
}

/// A walked process's directory and the two files read every tick, kept open: re-reading
/// them costs one `pread` each instead of open, read and close (and the directory's open).
/// They stay bound to this process: once it exits they fail (ESRCH), even if its PID is reused.
struct KeptProcess {
    dir: ProcDir,
    stat: KeptFile,
    /// `task/<pid>/children`; None when it cannot be kept (read through `dir` instead).
    children: Option<KeptFile>,
}

impl KeptProcess {
    fn open(proc_root: &Path, pid: i32) -> io::Result<KeptProcess> {
        let dir = ProcDir::open(proc_root, pid)?;
        let stat = dir.keep("stat")?;
        let children = dir.keep(&format!("task/{pid}/children")).ok();
        Ok(KeptProcess {
            dir,
            stat,
            children,
        })
    }

    /// The children of this process, read through the kept file when its only thread
    /// forked them all; through every thread's file otherwise.
    fn children(
        &self,
        threads: u64,
        buf: &mut Vec<u8>,
        out: &mut Vec<i32>,
    ) -> io::Result<Option<()>> {
        match &self.children {
            Some(kept) if threads <= 1 => {
                kept.read(buf)?;
                parse_pid_list(buf, out);
                Ok(Some(()))
            }
            _ => self.dir.children(threads, buf, out),
        }
    }
}

/// A PID to start a walk from; with the start time it must have (else it is a reused PID).
#[derive(Debug, Clone, Copy)]
pub struct Root {
    pub pid: i32,
    pub start_time: Option<u64>,
}

pub struct ProcessCache {
    proc_root: PathBuf,
    entries: HashMap<i32, Entry>,
    buf: Vec<u8>,
    /// Whether `task/<tid>/children` exists here (CONFIG_PROC_CHILDREN); None until tried.
    children_files: Option<bool>,
    /// The PIDs of the last listing and the `loadavg` signature they were listed under.
    listed: Vec<i32>,
    listed_under: Option<TaskSignature>,
}

/// From /proc/loadavg: the last PID handed out (in our PID namespace; a task made in a nested
/// namespace gets one here too) and the number of tasks. While both stay the same, no task
/// was created (that would hand out a PID) and none was reaped (that would lower the count),
/// so the list of processes is what it was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct TaskSignature {
    last_pid: u32,
    tasks: u32,
}

/// The signature in a `loadavg` text, through procfs's parser.
fn parse_loadavg(bytes: &[u8]) -> Option<TaskSignature> {
    let load = LoadAverage::from_read(bytes).ok()?;
    Some(TaskSignature {
        last_pid: load.latest_pid,
        tasks: load.max,
    })
}

/// What one `stat` read (plus the net probe) gave.
enum StatRead {
    Read(StatFields, Option<NetProbe>),
    Gone,
    Failed(Gap),
}

impl ProcessCache {
    pub fn new(proc_root: &Path) -> ProcessCache {
        ProcessCache {
            proc_root: proc_root.to_path_buf(),
            entries: HashMap::new(),
            buf: Vec::with_capacity(8192),
            children_files: None,
            listed: Vec::new(),
            listed_under: None,
        }
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.listed_under = None;
    }

    /// The PIDs in /proc, ascending; the last listing again when no task came or went since.
    pub fn list(&mut self) -> io::Result<Vec<i32>> {
        let signature = read_path(&self.proc_root.join("loadavg"), &mut self.buf)
            .ok()
            .and_then(|()| parse_loadavg(&self.buf));
        if signature.is_some() && signature == self.listed_under {
            return Ok(self.listed.clone());
        }
        let pids = list_pids(&self.proc_root)?;
        self.listed.clone_from(&pids);
        self.listed_under = signature;
        Ok(pids)
    }

    /// List /proc and return every process with its `stat`. `stat` is read for new, hot and
    /// young processes and a tenth of the others; the rest reuse last tick's. With
    /// `probe_net`, new processes also get their `ns/net` link read (host grouping).
    pub fn scan_all(
        &mut self,
        tick: u64,
        hot: &HashSet<i32>,
        probe_net: bool,
        gaps: &mut Vec<Gap>,
    ) -> io::Result<Vec<(i32, StatFields)>> {
        let pids = self.list()?;
        // PID 1 exists in every PID namespace: when it is not listed, /proc hides processes
        // from us (hidepid=invisible), and the snapshot says so.
        if pids.binary_search(&1).is_err() {
            gaps.push(Gap {
                pid: None,
                what: "processes of other users (hidden by hidepid)".into(),
                reason: GapReason::PermissionDenied,
            });
        }
        let due: Vec<i32> = pids
            .iter()
            .copied()
            .filter(|pid| match self.entries.get(pid) {
                None => true,
                Some(e) => {
                    hot.contains(pid)
                        || tick < e.young_until
                        || (*pid as u64 + tick).is_multiple_of(FULL_REFRESH_TICKS)
                }
            })
            .collect();
        // Processes found by the first scan are not "young": we did not see them being born.
        let first_scan = self.entries.is_empty();
        let reads = self.read_stats(&due, probe_net);
        let mut reads = reads.into_iter().peekable();
        let mut out = Vec::with_capacity(pids.len());
        for pid in pids {
            let fresh = match reads.peek() {
                Some((p, _)) if *p == pid => reads.next().map(|(_, r)| r),
                _ => None,
            };
            match fresh {
                Some(StatRead::Read(stat, net)) => {
                    self.remember(pid, &stat, tick, !first_scan);
                    if let (Some(net), Some(e)) = (net, self.entries.get_mut(&pid)) {
                        e.net = net;
                    }
                    out.push((pid, stat));
                }
                // A process that is gone before its `stat` was read was never shown: no gap.
                Some(StatRead::Gone) => {}
                Some(StatRead::Failed(gap)) => gaps.push(gap),
                None => {
                    if let Some(e) = self.entries.get_mut(&pid) {
                        e.seen = tick;
                        out.push((pid, e.stat.clone()));
                    }
                }
            }
        }
        self.entries.retain(|_, e| e.seen == tick);
        Ok(out)
    }

    /// `stat` (and, for new or exec'd processes, `ns/net`) of `pids`, in the same order;
    /// split over threads when there are many.
    fn read_stats(&mut self, pids: &[i32], probe_net: bool) -> Vec<(i32, StatRead)> {
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .min(MAX_THREADS);
        let entries = &self.entries;
        let root = self.proc_root.as_path();
        if pids.len() < PARALLEL_FROM || threads < 2 {
            return read_batch(root, pids, entries, probe_net, &mut self.buf);
        }
        let chunk = pids.len().div_ceil(threads);
        std::thread::scope(|s| {
            let workers: Vec<_> = pids
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        read_batch(
                            root,
                            part,
                            entries,
                            probe_net,
                            &mut Vec::with_capacity(8192),
                        )
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| {
                    // A worker only reads files; if it panicked anyway, its PIDs count as gone.
                    w.join().unwrap_or_default()
                })
                .collect()
        })
    }

    /// The processes below `roots` (roots included), found through `children` files, each with
    /// its detail read. None when this kernel has no `children` files (list /proc instead).
    pub fn walk(
        &mut self,
        tick: u64,
        roots: &[Root],
        gaps: &mut Vec<Gap>,
    ) -> Option<Vec<(i32, StatFields)>> {
        if self.children_files == Some(false) {
            return None;
        }
        let mut out = Vec::new();
        let mut visited = HashSet::new();
        let mut stack: Vec<Root> = roots.iter().rev().copied().collect();
        let mut kids = Vec::new();
        while let Some(root) = stack.pop() {
            if !visited.insert(root.pid) {
                continue;
            }
            // The files kept from the last tick; once they fail, open them again (the fresh
            // open tells a process that is gone from one that cannot be read).
            let kept = self
                .entries
                .get_mut(&root.pid)
                .and_then(|e| e.kept.take())
                .and_then(|k| k.stat.read(&mut self.buf).is_ok().then_some(k));
            let kept = match kept {
                Some(k) => k,
                None => match KeptProcess::open(&self.proc_root, root.pid) {
                    Ok(k) => match k.stat.read(&mut self.buf) {
                        Ok(()) => k,
                        Err(e) if is_gone(&e) => continue,
                        Err(e) => {
                            gaps.push(gap(root.pid, "stat", GapReason::from_io(&e)));
                            continue;
                        }
                    },
                    Err(e) if is_gone(&e) => continue,
                    // hidepid=noaccess, or a restricted /proc.
                    Err(e) => {
                        gaps.push(gap(root.pid, "process", GapReason::from_io(&e)));
                        continue;
                    }
                },
            };
            let Some(stat) = parse_stat(&self.buf) else {
                gaps.push(gap(root.pid, "stat", GapReason::Unparsable));
                continue;
            };
            if root.start_time.is_some_and(|s| s != stat.start_time) {
                continue; // the PID now names another process
            }
            self.remember(root.pid, &stat, tick, false);
            if !stat.kernel_thread() {
                self.ensure_detail_in(&kept.dir, &stat);
            }
            kids.clear();
            match kept.children(stat.num_threads, &mut self.buf, &mut kids) {
                Ok(Some(())) => {
                    self.children_files = Some(true);
                    stack.extend(kids.iter().rev().map(|&pid| Root {
                        pid,
                        start_time: None,
                    }));
                }
                Ok(None) => {
                    self.children_files = Some(false);
                    return None;
                }
                // Exited mid-read: what `stat` said is all there is.
                Err(e) if is_gone(&e) => {}
                Err(e) => gaps.push(gap(root.pid, "children", GapReason::from_io(&e))),
            }
            if let Some(entry) = self.entries.get_mut(&root.pid) {
                entry.kept = Some(kept);
            }
            out.push((root.pid, stat));
        }
        self.entries.retain(|_, e| e.seen == tick);
        out.sort_unstable_by_key(|(pid, _)| *pid);
        Some(out)
    }

    /// Note this tick's (pid, start time, comm); drop what was cached about a new or exec'd
    /// process. `born_now`: a process new since the last scan is watched closely for a while.
    fn remember(&mut self, pid: i32, stat: &StatFields, tick: u64, born_now: bool) {
        let young_until = if born_now { tick + YOUNG_TICKS } else { 0 };
        let entry = self.entries.entry(pid).or_insert_with(|| Entry {
            start_time: stat.start_time,
            comm: stat.comm.clone(),
            stat: stat.clone(),
            net: NetProbe::Unread,
            detail: None,
            seen: tick,
            young_until,
            kept: None,
        });
        entry.stat.clone_from(stat);
        if entry.start_time != stat.start_time || entry.comm != stat.comm {
            if entry.start_time != stat.start_time {
                entry.young_until = young_until;
            }
            entry.start_time = stat.start_time;
            entry.comm.clone_from(&stat.comm);
            entry.net = NetProbe::Unread;
            entry.detail = None;
        }
        entry.seen = tick;
    }

    /// Read status, cmdline, ns/* and cgroup of `pid` unless cached.
    pub fn ensure_detail(&mut self, pid: i32) {
        let Some(entry) = self.entries.get(&pid) else {
            return;
        };
        if entry.detail.is_some() || entry.stat.kernel_thread() {
            return;
        }
        let stat = entry.stat.clone();
        match ProcDir::open(&self.proc_root, pid) {
            Ok(dir) => self.ensure_detail_in(&dir, &stat),
            Err(e) => {
                // Listed a moment ago: it exited (or hidepid hides it) before we got here.
                let reason = GapReason::from_io(&e);
                if let Some(entry) = self.entries.get_mut(&pid) {
                    entry.comm.clear(); // re-read next tick
                    entry.detail = Some(Detail {
                        ns_pids: Vec::new(),
                        uid: None,
                        seccomp: None,
                        cmdline: Vec::new(),
                        namespaces: BTreeMap::new(),
                        cgroups: Vec::new(),
                        gaps: vec![gap(pid, "process", reason)],
                    });
                }
            }
        }
    }

    fn ensure_detail_in(&mut self, dir: &ProcDir, stat: &StatFields) {
        let Some(entry) = self.entries.get(&dir.pid) else {
            return;
        };
        if entry.detail.is_some() {
            return;
        }
        let detail = read_detail(dir, stat, &mut self.buf);
        // A process that vanished mid-read is read again (or dropped) next tick.
        let complete = !detail.gaps.iter().any(|g| g.reason == GapReason::Vanished);
        if let Some(entry) = self.entries.get_mut(&dir.pid) {
            entry.detail = Some(detail);
            if !complete {
                entry.comm.clear();
            }
        }
    }

    pub fn detail(&self, pid: i32) -> Option<&Detail> {
        self.entries.get(&pid)?.detail.as_ref()
    }

    /// The net namespace inode the host scan read for `pid`, if any.
    pub fn net_inode(&self, pid: i32) -> Option<u64> {
        match self.entries.get(&pid)?.net {
            NetProbe::Inode(i) => Some(i),
            NetProbe::Unread | NetProbe::Unreadable => None,
        }
    }
}

fn read_batch(
    proc_root: &Path,
    pids: &[i32],
    entries: &HashMap<i32, Entry>,
    probe_net: bool,
    buf: &mut Vec<u8>,
) -> Vec<(i32, StatRead)> {
    let mut path = proc_root.to_path_buf();
    pids.iter()
        .map(|&pid| {
            path.push(pid.to_string());
            path.push("stat");
            let read = read_path(&path, buf);
            path.pop();
            let result = match read {
                Err(e) if is_gone(&e) => StatRead::Gone,
                Err(e) => StatRead::Failed(gap(pid, "stat", GapReason::from_io(&e))),
                Ok(()) => match parse_stat(buf) {
                    None => StatRead::Failed(gap(pid, "stat", GapReason::Unparsable)),
                    Some(stat) => {
                        let known = entries.get(&pid).is_some_and(|e| {
                            e.start_time == stat.start_time
                                && e.comm == stat.comm
                                && e.net != NetProbe::Unread
                        });
                        let net = (probe_net && !known && !stat.kernel_thread()).then(|| {
                            path.push("ns/net");
                            let probe = match net_ns_inode(&path) {
                                Ok(inode) => NetProbe::Inode(inode),
                                Err(_) => NetProbe::Unreadable,
                            };
                            path.pop();
                            path.pop();
                            probe
                        });
                        StatRead::Read(stat, net)
                    }
                },
            };
            path.pop();
            (pid, result)
        })
        .collect()
}

fn gap(pid: i32, what: &str, reason: GapReason) -> Gap {
    Gap {
        pid: Some(pid),
        what: what.to_string(),
        reason,
    }
}

/// status, cmdline, ns/*, cgroup of one process; each file on its own, failures become gaps.
fn read_detail(dir: &ProcDir, stat: &StatFields, buf: &mut Vec<u8>) -> Detail {
    let pid = dir.pid;
    let zombie = stat.state.is_zombie();
    let mut gaps = Vec::new();
    let fail = |what: &str, e: &io::Error, gaps: &mut Vec<Gap>| {
        let reason = if zombie {
            GapReason::Zombie
        } else {
            GapReason::from_io(e)
        };
        gaps.push(gap(pid, what, reason));
    };
    let (ns_pids, uid, seccomp) = match dir.read("status", buf) {
        Ok(()) => match parse_status(buf) {
            Some(status) => (
                status.nspid.unwrap_or_default(),
                Some(status.ruid),
                parse_seccomp(buf),
            ),
            None => {
                gaps.push(gap(pid, "status", GapReason::Unparsable));
                (Vec::new(), None, None)
            }
        },
        Err(e) => {
            fail("status", &e, &mut gaps);
            (Vec::new(), None, None)
        }
    };
    let cmdline = match dir.read("cmdline", buf) {
        Ok(()) => parse_cmdline(buf),
        Err(e) => {
            fail("cmdline", &e, &mut gaps);
            Vec::new()
        }
    };
    // Each link on its own: one that cannot be read does not hide the others.
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
        if !zombie && !namespaces.is_empty() && e.kind() == io::ErrorKind::NotFound {
            gaps.push(gap(pid, &what, GapReason::Missing));
        } else {
            fail(&what, &e, &mut gaps);
        }
    }
    let cgroups = match dir.read("cgroup", buf) {
        Ok(()) => parse_cgroup(buf).unwrap_or_else(|| {
            gaps.push(gap(pid, "cgroup", GapReason::Unparsable));
            Vec::new()
        }),
        Err(e) => {
            fail("cgroup", &e, &mut gaps);
            Vec::new()
        }
    };
    Detail {
        ns_pids,
        uid,
        seccomp,
        cmdline,
        namespaces,
        cgroups,
        gaps,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loadavg_signature() {
        assert_eq!(
            parse_loadavg(b"2.95 2.54 2.09 1/108 26065\n"),
            Some(TaskSignature {
                last_pid: 26065,
                tasks: 108
            })
        );
        assert_eq!(parse_loadavg(b"2.95 2.54"), None);
    }
}
