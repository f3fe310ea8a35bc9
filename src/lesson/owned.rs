//! The checks and `{owned:…}` placeholders of a lesson that owns a name prefix (`owns:`):
//! what the learner built by hand, found by `runtime::hand_made`, which also removes it.

use std::path::{Path, PathBuf};

use crate::i18n::Text;
use crate::observe::procfs_read::ProcDir;
use crate::observe::{Collector, NsKind, SandboxKind, Sources, Target};
use crate::runtime::hand_made as hm;

use super::commands::{CgroupFile, Controller, OwnedValue};
use super::outcome::CheckResult;
use super::schema::{OwnedCheck, Owns};

const PROC: &str = "/proc";

fn cgroup_file(owns: &Owns, file: CgroupFile) -> Option<PathBuf> {
    let location = hm::cgroup(&owns.prefix)?;
    let dir = match file.controller() {
        Controller::Cpu => location.cpu,
        Controller::Memory => location.memory,
        Controller::Pids => location.pids,
    }?;
    Some(dir.join(file.file_name(location.version)))
}

/// The value of an `{owned:…}` placeholder.
pub fn placeholder(owns: &Owns, value: OwnedValue) -> Result<String, Text> {
    let no_cgroup = || {
        Text::new(
            "this machine's cgroup layout is not one podlab reads",
            "podlab 读不懂这台机器的 cgroup 布局",
        )
    };
    match value {
        OwnedValue::Pid => hm::holder_pid(&owns.prefix)
            .map(|p| p.to_string())
            .ok_or_else(|| {
                Text::new(
                    format!(
                        "no process with host name {} holds a PID namespace yet",
                        owns.prefix
                    ),
                    format!(
                        "还没有主机名为 {} 的进程持有自己的 PID 命名空间",
                        owns.prefix
                    ),
                )
            }),
        OwnedValue::Cgroups => {
            let dirs = hm::cgroup_dirs(&owns.prefix);
            if dirs.is_empty() {
                return Err(no_cgroup());
            }
            let words: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
            Ok(words.join(" "))
        }
        OwnedValue::File(file) => cgroup_file(owns, file)
            .map(|p| p.display().to_string())
            .ok_or_else(no_cgroup),
    }
}

/// One evaluation of an `owned` check.
pub fn check(owns: &Owns, c: &OwnedCheck) -> CheckResult {
    match evaluate(owns, c) {
        Ok(found) => {
            let (en, zh): (Vec<String>, Vec<String>) = found.into_iter().unzip();
            CheckResult::pass(en.join("; "), zh.join("；"))
        }
        Err(failure) => failure,
    }
}

/// A fact found, in both languages.
type Found = (String, String);
type Fact = Result<Found, CheckResult>;

const HELD: [NsKind; 3] = [NsKind::Net, NsKind::Ipc, NsKind::Uts];

fn same(en: String) -> Found {
    (en.clone(), en)
}

fn evaluate(owns: &Owns, c: &OwnedCheck) -> Result<Vec<Found>, CheckResult> {
    let prefix = &owns.prefix;
    let mut found = Vec::new();
    if c.cgroup || c.pids_max.is_some() {
        found.push(cgroup_made(prefix)?);
    }
    if let Some(want) = c.pids_max {
        found.push(pids_max(owns, want)?);
    }
    let wants_holder =
        c.holder || c.in_cgroup || c.interface.is_some() || c.joined.is_some() || c.recognized;
    if !wants_holder {
        return Ok(found);
    }
    let seen = hm::owned_processes(prefix);
    let Some(h) = hm::holder(&seen, hm::host_pid_ns()) else {
        return Err(CheckResult::fail(
            format!("no process with host name {prefix} is PID 1 of its own PID namespace yet"),
            format!("还没有主机名为 {prefix}、又是自己 PID 命名空间里 1 号进程的进程"),
        ));
    };
    found.push(holds(h, prefix)?);
    if c.in_cgroup {
        found.push(in_cgroup(h, prefix)?);
    }
    if let Some(name) = &c.interface {
        found.push(interface(h, name, c.ipv4)?);
    }
    if let Some(want) = c.joined {
        found.push(joined(h, &seen, want)?);
    }
    if c.recognized {
        found.push(recognized(h)?);
    }
    Ok(found)
}

/// The PREFIX cgroup's directories exist, in every hierarchy podlab reads.
fn cgroup_made(prefix: &str) -> Fact {
    let dirs = hm::cgroup_dirs(prefix);
    let missing: Vec<String> = dirs
        .iter()
        .filter(|d| !d.is_dir())
        .map(|d| d.display().to_string())
        .collect();
    if dirs.is_empty() || !missing.is_empty() {
        let missing = missing.join(" ");
        return Err(CheckResult::fail(
            format!("no cgroup {missing}"),
            format!("没有 cgroup {missing}"),
        ));
    }
    let dirs: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
    Ok(same(format!("cgroup {}", dirs.join(" "))))
}

fn pids_max(owns: &Owns, want: u64) -> Fact {
    let file = cgroup_file(owns, CgroupFile::Pids).unwrap_or_default();
    let value = std::fs::read_to_string(&file).unwrap_or_default();
    let value = value.trim();
    if value != want.to_string() {
        return Err(CheckResult::fail(
            format!("{} holds {value:?}, not {want}", file.display()),
            format!("{} 的值是 {value:?}，不是 {want}", file.display()),
        ));
    }
    Ok((format!("pids.max {want}"), format!("pids.max 为 {want}")))
}

/// The holder is in net, ipc and uts namespaces other than the host's.
fn holds(h: &hm::Seen, prefix: &str) -> Fact {
    let host = ProcDir::open(Path::new(PROC), 1).ok();
    for kind in HELD {
        let own = h.namespaces.get(&kind);
        let host_ns = host
            .as_ref()
            .and_then(|d| d.namespace(kind).ok())
            .map(|id| id.inode);
        if own.is_none() || own == host_ns.as_ref() {
            let kind = kind.file_name();
            return Err(CheckResult::fail(
                format!(
                    "the holder (pid {}) is in the host's {kind} namespace",
                    h.pid
                ),
                format!("持有者（pid {}）还在宿主机的 {kind} 命名空间里", h.pid),
            ));
        }
    }
    Ok((
        format!("holder pid {} (PID 1 inside), host name {prefix}", h.pid),
        format!("持有者 pid {}（在里面是 1 号进程），主机名 {prefix}", h.pid),
    ))
}

/// The holder is in the PREFIX cgroup: in v2's one hierarchy, or in cpu, memory and pids on
/// v1.
fn in_cgroup(h: &hm::Seen, prefix: &str) -> Fact {
    let version = hm::cgroup(prefix).map_or(2, |l| l.version);
    let wanted: &[&str] = if version >= 2 {
        &[""]
    } else {
        &["cpu", "memory", "pids"]
    };
    let outside: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|controller| {
            !h.cgroups.iter().any(|(controllers, path)| {
                let this_one = if controller.is_empty() {
                    controllers.is_empty()
                } else {
                    controllers.split(',').any(|c| c == *controller)
                };
                this_one && hm::in_prefix_cgroup(path, prefix)
            })
        })
        .collect();
    if !outside.is_empty() {
        let which = if version >= 2 {
            String::new()
        } else {
            format!(" ({})", outside.join(", "))
        };
        return Err(CheckResult::fail(
            format!(
                "the holder (pid {}) is not in cgroup /{prefix}{which}",
                h.pid
            ),
            format!("持有者（pid {}）还不在 cgroup /{prefix} 里{which}", h.pid),
        ));
    }
    Ok((
        format!("in cgroup /{prefix}"),
        format!("在 cgroup /{prefix} 里"),
    ))
}

/// An interface of the holder's net namespace (with an IPv4 address, when asked).
fn interface(h: &hm::Seen, name: &str, ipv4: bool) -> Fact {
    let dev = std::fs::read_to_string(format!("{PROC}/{}/net/dev", h.pid)).unwrap_or_default();
    let present = dev
        .lines()
        .skip(2)
        .any(|l| l.split(':').next().map(str::trim) == Some(name));
    if !present {
        return Err(CheckResult::fail(
            format!("no {name} in the holder's net namespace"),
            format!("持有者的网络命名空间里还没有 {name}"),
        ));
    }
    if !ipv4 {
        return Ok(same(name.to_string()));
    }
    match ipv4_of(h.pid, name) {
        Some(ip) => Ok(same(format!("{name} {ip}"))),
        None => Err(CheckResult::fail(
            format!("{name} has no IPv4 address yet"),
            format!("{name} 还没有 IPv4 地址"),
        )),
    }
}

/// Processes outside the holder's tree in its net, ipc and uts namespaces.
fn joined(h: &hm::Seen, seen: &[hm::Seen], want: usize) -> Fact {
    let tree = hm::tree_of(h, seen);
    let joined: Vec<i32> = seen
        .iter()
        .filter(|p| !tree.contains(&p.pid))
        .filter(|p| {
            HELD.iter()
                .all(|k| p.namespaces.contains_key(k) && p.namespaces.get(k) == h.namespaces.get(k))
        })
        .map(|p| p.pid)
        .collect();
    let n = joined.len();
    if n < want {
        return Err(CheckResult::fail(
            format!("{n} process(es) joined the holder's net, ipc and uts namespaces, not {want}"),
            format!("加入持有者 net、ipc、uts 命名空间的进程有 {n} 个，不到 {want} 个"),
        ));
    }
    let inodes: Vec<String> = HELD
        .iter()
        .filter_map(|k| Some(format!("{}:[{}]", k.file_name(), h.namespaces.get(k)?)))
        .collect();
    let inodes = inodes.join(" ");
    Ok((
        format!("joined: pid {joined:?}, sharing {inodes}"),
        format!("已加入：pid {joined:?}，共享 {inodes}"),
    ))
}

/// The host view groups them as a pod-shaped sandbox held by the holder.
fn recognized(h: &hm::Seen) -> Fact {
    let snapshot = Collector::new(Sources::default())
        .snapshot(&Target::Host)
        .map_err(|e| {
            CheckResult::fail(
                format!("cannot read the host: {e:#}"),
                format!("无法读取宿主机：{e:#}"),
            )
        })?;
    let Some(sb) = snapshot
        .sandboxes
        .iter()
        .find(|sb| sb.kind == SandboxKind::PodShaped && sb.pause == Some(h.pid))
    else {
        return Err(CheckResult::fail(
            format!(
                "podlab inspect --host shows no pod-shaped group held by pid {}",
                h.pid
            ),
            format!(
                "podlab inspect --host 没有显示由 pid {} 持有的 Pod 形状的一组进程",
                h.pid
            ),
        ));
    };
    let n = sb.containers.len();
    Ok((
        format!(
            "podlab inspect --host: pod-shaped {}, {n} process trees",
            sb.name
        ),
        format!(
            "podlab inspect --host：Pod 形状的 {}，{n} 棵进程树",
            sb.name
        ),
    ))
}

/// The IPv4 address of `name` in the net namespace of `pid`, from `ip -4 -o addr`.
fn ipv4_of(pid: i32, name: &str) -> Option<String> {
    let out = std::process::Command::new("nsenter")
        .args([
            "-t",
            &pid.to_string(),
            "-n",
            "ip",
            "-4",
            "-o",
            "addr",
            "show",
            "dev",
            name,
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .map(str::to_string)
}
