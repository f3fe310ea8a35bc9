//! What a learner builds by hand on the host in a lesson that owns a name prefix (the
//! capstone): a cgroup named PREFIX below the root of each hierarchy, a process holding new
//! namespaces whose host name is PREFIX (the holder, the hand-made pod's pause), host
//! interfaces named PREFIX…, and whatever joined them. Found again by that prefix alone and
//! removed: by the lesson player when the lesson ends, is quit or gets Ctrl-C, and by
//! `podlab gc` once that player is gone (a kill -9). The player leaves a claim file in
//! podlab's state dir while it runs, so gc never removes what a live lesson owns.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use eyre::{Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::observe::cgroup::{CgroupLocation, CgroupReader};
use crate::observe::procfs_read::{read_stat, ProcDir};
use crate::observe::NsKind;

use super::paths;

const PROC: &str = "/proc";
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The PREFIX cgroup on this machine's layout (its directories need not exist).
pub fn cgroup(prefix: &str) -> Option<CgroupLocation> {
    CgroupReader::new(Path::new(CGROUP_ROOT)).locate_path(&format!("/{prefix}"))
}

/// The PREFIX cgroup's directories, one per hierarchy podlab reads, each once.
pub fn cgroup_dirs(prefix: &str) -> Vec<PathBuf> {
    let Some(location) = cgroup(prefix) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = Vec::new();
    for dir in [location.cpu, location.memory, location.pids]
        .into_iter()
        .flatten()
    {
        if !dirs.contains(&dir) {
            dirs.push(dir);
        }
    }
    dirs
}

/// One process as the search sees it.
pub struct Seen {
    pub pid: i32,
    pub ppid: i32,
    pub start_time: u64,
    pub namespaces: BTreeMap<NsKind, u64>,
    /// The last NSpid entry: its PID inside its own PID namespace.
    pub inner_pid: Option<i32>,
    /// `/proc/PID/cgroup`: (controllers, path) per hierarchy.
    pub cgroups: Vec<(String, String)>,
}

/// The processes of the host in a uts namespace whose host name starts with the prefix, or
/// in the PREFIX cgroup.
pub fn owned_processes(prefix: &str) -> Vec<Seen> {
    let host_uts = ProcDir::open(Path::new(PROC), 1)
        .ok()
        .and_then(|d| d.namespace(NsKind::Uts).ok())
        .map(|id| id.inode);
    let Ok(entries) = std::fs::read_dir(PROC) else {
        return Vec::new();
    };
    let mut names: BTreeMap<u64, bool> = BTreeMap::new();
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<i32>().ok())
        else {
            continue;
        };
        let Ok(dir) = ProcDir::open(Path::new(PROC), pid) else {
            continue;
        };
        let mut namespaces = BTreeMap::new();
        for kind in [NsKind::Net, NsKind::Ipc, NsKind::Uts, NsKind::Pid] {
            if let Ok(id) = dir.namespace(kind) {
                namespaces.insert(kind, id.inode);
            }
        }
        let cgroups: Vec<(String, String)> =
            std::fs::read_to_string(format!("{PROC}/{pid}/cgroup"))
                .unwrap_or_default()
                .lines()
                .filter_map(|l| {
                    let mut parts = l.splitn(3, ':').skip(1);
                    Some((parts.next()?.to_string(), parts.next()?.to_string()))
                })
                .collect();
        let in_cgroup = cgroups
            .iter()
            .any(|(_, path)| in_prefix_cgroup(path, prefix));
        let by_name = match namespaces.get(&NsKind::Uts) {
            Some(uts) if Some(*uts) != host_uts => *names.entry(*uts).or_insert_with(|| {
                super::sys::uts_hostname(pid).is_some_and(|h| h.starts_with(prefix))
            }),
            _ => false,
        };
        if !(in_cgroup || by_name) {
            continue;
        }
        let Ok(stat) = read_stat(Path::new(PROC), pid) else {
            continue;
        };
        let inner_pid = std::fs::read_to_string(format!("{PROC}/{pid}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("NSpid:"))
                    .and_then(|l| l.split_whitespace().last()?.parse().ok())
            });
        out.push(Seen {
            pid,
            ppid: stat.ppid,
            start_time: stat.start_time,
            namespaces,
            inner_pid,
            cgroups,
        });
    }
    out
}

/// `/PREFIX` or below it.
pub fn in_prefix_cgroup(path: &str, prefix: &str) -> bool {
    path.trim_start_matches('/')
        .split('/')
        .next()
        .is_some_and(|top| top.starts_with(prefix))
}

/// The holder: PID 1 of a PID namespace of its own, with the prefix as host name (the
/// oldest, if the learner made more than one).
pub fn holder(seen: &[Seen], host_pid_ns: Option<u64>) -> Option<&Seen> {
    seen.iter()
        .filter(|p| {
            p.inner_pid == Some(1) && p.namespaces.get(&NsKind::Pid) != host_pid_ns.as_ref()
        })
        .min_by_key(|p| (p.start_time, p.pid))
}

pub fn host_pid_ns() -> Option<u64> {
    ProcDir::open(Path::new(PROC), 1)
        .ok()
        .and_then(|d| d.namespace(NsKind::Pid).ok())
        .map(|id| id.inode)
}

/// The holder's host PID, if the learner made one.
pub fn holder_pid(prefix: &str) -> Option<i32> {
    let seen = owned_processes(prefix);
    holder(&seen, host_pid_ns()).map(|p| p.pid)
}

/// The holder and its parent (`unshare`, which holds the same namespaces but the PID one)
/// and every descendant of either: one process tree, the hand-made pod's pause.
pub fn tree_of(h: &Seen, seen: &[Seen]) -> HashSet<i32> {
    let mut tree: HashSet<i32> = HashSet::from([h.pid]);
    if seen.iter().any(|p| p.pid == h.ppid) {
        tree.insert(h.ppid);
    }
    loop {
        let before = tree.len();
        for p in seen {
            if tree.contains(&p.ppid) {
                tree.insert(p.pid);
            }
        }
        if tree.len() == before {
            return tree;
        }
    }
}

/// What [`remove`] removed.
#[derive(Debug, Default)]
pub struct Removed {
    pub processes: usize,
    pub links: Vec<String>,
    pub cgroups: Vec<PathBuf>,
    /// What could not be removed, and why.
    pub problems: Vec<String>,
}

impl Removed {
    pub fn is_empty(&self) -> bool {
        self.processes == 0 && self.links.is_empty() && self.cgroups.is_empty()
    }
}

/// Remove everything named with the prefix: kill the processes (SIGKILL, then wait for
/// them), delete the host's interfaces, remove the cgroup directories (deepest first).
pub fn remove(prefix: &str) -> Removed {
    let mut removed = Removed::default();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut killed = BTreeSet::new();
    loop {
        let seen = owned_processes(prefix);
        let me = std::process::id() as i32;
        let left: Vec<&Seen> = seen.iter().filter(|p| p.pid != me).collect();
        if left.is_empty() {
            break;
        }
        for p in &left {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            killed.insert((p.pid, p.start_time));
        }
        if Instant::now() > deadline {
            let pids: Vec<i32> = left.iter().map(|p| p.pid).collect();
            removed
                .problems
                .push(format!("processes {pids:?} outlived SIGKILL"));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    removed.processes = killed.len();
    removed.links = remove_links(prefix, &mut removed.problems);
    for dir in cgroup_dirs(prefix) {
        remove_cgroup_tree(&dir, &mut removed);
    }
    removed
}

/// Delete the host's interfaces named with the prefix (a veth's other end goes with it).
fn remove_links(prefix: &str, problems: &mut Vec<String>) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !name.starts_with(prefix) {
            continue;
        }
        match std::process::Command::new("ip")
            .args(["link", "del", &name])
            .output()
        {
            Ok(o) if o.status.success() => out.push(name),
            // Gone meanwhile with its namespace's last process: a veth goes with its peer.
            Ok(_) if !Path::new("/sys/class/net").join(&name).exists() => out.push(name),
            Ok(o) => problems.push(format!(
                "ip link del {name}: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            )),
            Err(e) => problems.push(format!("ip link del {name}: {e}")),
        }
    }
    out
}

fn remove_cgroup_tree(dir: &Path, removed: &mut Removed) {
    if !dir.is_dir() {
        return;
    }
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                remove_cgroup_tree(&entry.path(), removed);
            }
        }
    }
    // A killed process leaves its cgroup a moment after it is reaped.
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match std::fs::remove_dir(dir) {
            Ok(()) => {
                removed.cgroups.push(dir.to_path_buf());
                return;
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
            Err(e) if Instant::now() > deadline => {
                removed
                    .problems
                    .push(format!("rmdir {}: {e}", dir.display()));
                return;
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

/// A lesson's claim on its prefix while its player runs: `<state>/owned/<prefix>.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claim {
    pub lesson: String,
    pub prefix: String,
    /// The player's PID and start time (a reused PID is not the player).
    pub pid: i32,
    pub start_time: u64,
}

fn claims_dir() -> PathBuf {
    paths::state_root().join("owned")
}

fn claim_path(prefix: &str) -> PathBuf {
    claims_dir().join(format!("{prefix}.json"))
}

fn alive(claim: &Claim) -> bool {
    read_stat(Path::new(PROC), claim.pid).is_ok_and(|s| s.start_time == claim.start_time)
}

/// Claim the prefix for this process: refused while another live player holds it; what a
/// dead one left is removed first.
pub fn claim(lesson: &str, prefix: &str) -> Result<()> {
    let path = claim_path(prefix);
    if let Some(old) = read_claim(&path) {
        if old.pid != std::process::id() as i32 && alive(&old) {
            eyre::bail!(
                "lesson {} (pid {}) is playing and owns what is named {}: one at a time on a machine",
                old.lesson,
                old.pid,
                prefix
            );
        }
    }
    remove(prefix);
    let me = std::process::id() as i32;
    let start_time = read_stat(Path::new(PROC), me)
        .map(|s| s.start_time)
        .wrap_err("failed to read this process's start time")?;
    let claim = Claim {
        lesson: lesson.to_string(),
        prefix: prefix.to_string(),
        pid: me,
        start_time,
    };
    std::fs::create_dir_all(claims_dir())
        .wrap_err_with(|| format!("failed to create {}", claims_dir().display()))?;
    std::fs::write(&path, serde_json::to_vec(&claim)?)
        .wrap_err_with(|| format!("failed to write {}", path.display()))
}

/// Remove what the prefix names and give the claim up.
pub fn release(prefix: &str) -> Removed {
    let removed = remove(prefix);
    let path = claim_path(prefix);
    if read_claim(&path).is_some_and(|c| c.pid == std::process::id() as i32) {
        let _ = std::fs::remove_file(path);
    }
    removed
}

fn read_claim(path: &Path) -> Option<Claim> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// `podlab gc`: for each claim whose player is gone, remove what its prefix names.
pub fn gc() -> Vec<(Claim, Removed)> {
    let Ok(entries) = std::fs::read_dir(claims_dir()) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        let Some(claim) = read_claim(&path) else {
            continue;
        };
        if alive(&claim) {
            continue;
        }
        // Only a name podlab gives out: never a prefix of something else of the host's.
        if !claim.prefix.starts_with("podlab-") || claim.prefix.len() <= "podlab-".len() {
            continue;
        }
        let removed = remove(&claim.prefix);
        let _ = std::fs::remove_file(&path);
        out.push((claim, removed));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cgroup_paths_below_the_prefix() {
        assert!(in_prefix_cgroup("/podlab-hand", "podlab-hand"));
        assert!(in_prefix_cgroup("/podlab-hand/x", "podlab-hand"));
        assert!(!in_prefix_cgroup("/user.slice/podlab-hand", "podlab-hand"));
        assert!(!in_prefix_cgroup("/", "podlab-hand"));
    }
}
