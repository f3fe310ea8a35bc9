//! Filling a step's `try:` lines from the live system: the PIDs, IP, UID and names of the
//! lesson's pods as they run now, and cgroup files by meaning on this machine's layout. A
//! line whose placeholder names something that does not exist yet (no pod, a container not
//! started) is left unfilled, with why.

use std::path::{Path, PathBuf};

use crate::i18n::Text;
use crate::observe::cgroup::{CgroupLocation, CgroupReader};
use crate::observe::{NsKind, Snapshot};

use super::checks::{subject_pid, World};
use super::commands::{parse_line, Controller, FilledLine, Piece, Placeholder};
use super::refs::{Ref, Who};
use super::schema::Check;

/// Where cgroups are mounted.
const CGROUP_ROOT: &str = "/sys/fs/cgroup";

/// The step's `try:` lines, filled for `pod` (the step's pod).
pub(crate) fn fill_lines(lines: &[String], world: &mut World<'_>, pod: &str) -> Vec<FilledLine> {
    let rootless = world.state(pod).is_some_and(|s| s.rootless.is_some());
    lines
        .iter()
        .map(|template| match fill(template, world, pod) {
            Ok(line) => FilledLine {
                template: template.clone(),
                line: Some(if rootless {
                    entering_as_owner(&line)
                } else {
                    line
                }),
                missing: None,
                not_here: false,
            },
            Err(missing) => {
                let never = never_made_here(template, world, pod);
                FilledLine {
                    template: template.clone(),
                    line: None,
                    not_here: never.is_some(),
                    missing: Some(never.unwrap_or(missing)),
                }
            }
        })
        .collect()
}

/// A line for a pod built without root: its namespaces belong to the learner's user namespace
/// (podlab-node's), so every `nsenter` enters that first, where the learner is root — as the
/// explorer's narration shows the same commands.
fn entering_as_owner(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + 32);
    let mut rest = line;
    while let Some(at) = rest.find("nsenter ") {
        let starts_word = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| c.is_whitespace() || "(;|&`".contains(c));
        out.push_str(&rest[..at + "nsenter ".len()]);
        rest = &rest[at + "nsenter ".len()..];
        if starts_word && !rest.starts_with("--user") && !rest.starts_with("-U") {
            out.push_str(crate::kube::steps::AS_OWNER);
            out.push(' ');
        }
    }
    out.push_str(rest);
    out
}

/// Why a line naming a cgroup cannot be filled on this machine at all: the pod it names was
/// built without root where no cgroup subtree is delegated, so it has none.
fn never_made_here(template: &str, world: &mut World<'_>, pod: &str) -> Option<Text> {
    let pieces = parse_line(template).ok()?;
    pieces.iter().find_map(|piece| match piece {
        Piece::Placeholder(Placeholder::Cgroup(text, _)) => {
            no_cgroup_here(world, &Ref::parse(text, pod).pod)
        }
        _ => None,
    })
}

fn no_cgroup_here(world: &mut World<'_>, pod: &str) -> Option<Text> {
    let why = world.no_cgroup_made(pod)?;
    Some(Text::new(
        format!("no cgroup without root here: {}", why.en),
        format!("不用 root 时这里没有 cgroup：{}", why.zh),
    ))
}

/// A check with the placeholders of its texts filled (an `http` URL, an `exec` command, a
/// file's path or expected text), so it can name what exists only live: another pod's IP, a
/// cgroup file on this machine's layout. None when it has no placeholder.
pub(crate) fn fill_check(
    check: &Check,
    world: &mut World<'_>,
    pod: &str,
) -> Option<Result<Check, Text>> {
    let mut filled = check.clone();
    let texts: Vec<&mut String> = match &mut filled {
        Check::Http(c) => vec![&mut c.url],
        Check::Exec(c) => c.command.iter_mut().collect(),
        Check::Logs(c) => vec![&mut c.contains],
        Check::File(c) => c.contains.iter_mut().chain(c.equals.iter_mut()).collect(),
        Check::HostFile(c) => std::iter::once(&mut c.path)
            .chain(c.contains.iter_mut())
            .collect(),
        _ => Vec::new(),
    };
    let mut any = false;
    for text in texts {
        if has_placeholder(text) {
            any = true;
            match fill(text, world, pod) {
                Ok(value) => *text = value,
                Err(why) => return Some(Err(why)),
            }
        }
    }
    any.then_some(Ok(filled))
}

/// A command's words with their placeholders filled (an `exec` action).
pub(crate) fn fill_words(
    words: &[String],
    world: &mut World<'_>,
    pod: &str,
) -> Result<Vec<String>, Text> {
    words
        .iter()
        .map(|w| {
            if has_placeholder(w) {
                fill(w, world, pod)
            } else {
                Ok(w.clone())
            }
        })
        .collect()
}

fn has_placeholder(text: &str) -> bool {
    parse_line(text).map_or(true, |pieces| {
        pieces.iter().any(|p| matches!(p, Piece::Placeholder(_)))
    })
}

fn fill(template: &str, world: &mut World<'_>, pod: &str) -> Result<String, Text> {
    let pieces = parse_line(template).map_err(|errors| {
        let first = errors
            .first()
            .map(|e| e.message.clone())
            .unwrap_or_default();
        Text::new(first.clone(), first)
    })?;
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(&text),
            Piece::Placeholder(p) => out.push_str(&value(&p, world, pod)?),
        }
    }
    Ok(out)
}

fn value(p: &Placeholder, world: &mut World<'_>, pod: &str) -> Result<String, Text> {
    match p {
        Placeholder::Pod(name) => {
            let name = name.as_deref().unwrap_or(pod);
            live(world, name)?;
            Ok(world.live_names.get(name).cloned().unwrap_or(name.into()))
        }
        Placeholder::Uid(name) => live(world, name.as_deref().unwrap_or(pod)),
        Placeholder::Ip(name) => {
            let name = name.as_deref().unwrap_or(pod);
            live(world, name)?;
            world
                .state(name)
                .and_then(|s| s.sandbox.and_then(|sb| sb.ip))
                .ok_or_else(|| {
                    Text::new(
                        format!("pod {name} has no IP yet"),
                        format!("Pod {name} 还没有 IP"),
                    )
                })
        }
        Placeholder::Pid(text) => {
            let r = Ref::parse(text, pod);
            let snapshot = observed(world, &r.pod)?;
            subject_pid(&snapshot, &r)
                .map(|pid| pid.to_string())
                .map_err(|e| e.message)
        }
        Placeholder::Ns(kind, text) => {
            let r = Ref::parse(text, pod);
            if r.who == Who::Host {
                // PID 1's, or where that cannot be read (podlab itself in a container), the
                // namespaces of the shell that runs the line: the host's.
                let readable = std::fs::read_link(ns_path(1, *kind)).is_ok();
                return Ok(if readable {
                    ns_path(1, *kind)
                } else {
                    format!("/proc/$$/ns/{}", kind.file_name())
                });
            }
            let snapshot = observed(world, &r.pod)?;
            let pid = subject_pid(&snapshot, &r).map_err(|e| e.message)?;
            Ok(ns_path(pid, *kind))
        }
        Placeholder::Owned(what) => match &world.owns {
            Some(owns) => super::owned::placeholder(owns, *what),
            None => Err(Text::new(
                "this lesson owns no prefix (owns:)",
                "这一课没有声明 owns 前缀",
            )),
        },
        Placeholder::Cgroup(text, file) => {
            let r = Ref::parse(text, pod);
            // Its processes are in the learner's own cgroup then, which is not the pod's.
            if let Some(why) = no_cgroup_here(world, &r.pod) {
                return Err(why);
            }
            let snapshot = observed(world, &r.pod)?;
            let location = cgroup_of(&snapshot, &r)?;
            let path = match file {
                None => directory(&location, Controller::Memory),
                Some(file) => directory(&location, file.controller())
                    .map(|d| d.join(file.file_name(location.version))),
            };
            path.map(|p| p.display().to_string()).ok_or_else(|| {
                Text::new(
                    format!("the cgroup of {r} has no such controller here"),
                    format!("{r} 的 cgroup 在这台机器上没有这个控制器"),
                )
            })
        }
    }
}

fn ns_path(pid: i32, kind: NsKind) -> String {
    format!("/proc/{pid}/ns/{}", kind.file_name())
}

/// The UID of a live pod of the lesson.
fn live(world: &World<'_>, pod: &str) -> Result<String, Text> {
    world.uids.get(pod).cloned().ok_or_else(|| {
        Text::new(
            format!("pod {pod} is not running yet"),
            format!("Pod {pod} 还没有运行"),
        )
    })
}

fn observed(world: &mut World<'_>, pod: &str) -> Result<Snapshot, Text> {
    world.snapshot(pod).map_err(|e| e.message)
}

/// Where the cgroup of a subject is: a container's or pause's leaf, or the pod's (their
/// parent).
fn cgroup_of(snapshot: &Snapshot, r: &Ref) -> Result<CgroupLocation, Text> {
    let leaf_of = |who: &Ref| -> Result<CgroupLocation, Text> {
        let pid = subject_pid(snapshot, who).map_err(|e| e.message)?;
        let memberships = snapshot
            .processes
            .iter()
            .find(|p| p.pid == pid)
            .map(|p| p.cgroups.clone())
            .unwrap_or_default();
        CgroupReader::new(Path::new(CGROUP_ROOT))
            .locate(&memberships)
            .ok_or_else(|| {
                Text::new(
                    format!("the cgroup of {who} could not be found"),
                    format!("找不到 {who} 的 cgroup"),
                )
            })
    };
    match &r.who {
        Who::Pod => {
            let pause = Ref {
                pod: r.pod.clone(),
                who: Who::Pause,
            };
            // Before pause, the pod cgroup as the observer read it from the pod's record.
            let recorded = || {
                let path = &snapshot.sandboxes.first()?.cgroup.as_ref()?.path;
                CgroupReader::new(Path::new(CGROUP_ROOT)).locate_path(path)
            };
            match leaf_of(&pause) {
                Ok(leaf) => leaf.parent(),
                Err(_) => recorded(),
            }
            .ok_or_else(|| {
                Text::new(
                    format!("the pod cgroup of {} could not be found", r.pod),
                    format!("找不到 {} 的 Pod cgroup", r.pod),
                )
            })
        }
        _ => leaf_of(r),
    }
}

/// The directory holding a controller's files (every file is in the one directory on v2).
fn directory(location: &CgroupLocation, controller: Controller) -> Option<PathBuf> {
    match controller {
        Controller::Cpu => location.cpu.clone(),
        Controller::Memory => location.memory.clone(),
        Controller::Pids => location.pids.clone(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn nsenter_enters_the_learners_user_namespace_first_without_root() {
        assert_eq!(
            super::entering_as_owner("nsenter -t 42 -u hostname; echo $(nsenter -t 42 -n ip a)"),
            "nsenter --user --preserve-credentials -t 42 -u hostname; \
             echo $(nsenter --user --preserve-credentials -t 42 -n ip a)"
        );
        assert_eq!(
            super::entering_as_owner("nsenter -U -t 1 sh"),
            "nsenter -U -t 1 sh"
        );
        assert_eq!(
            super::entering_as_owner("cat mynsenter x"),
            "cat mynsenter x"
        );
    }

    use super::*;
    use crate::lesson::commands::CgroupFile;

    #[test]
    fn only_texts_with_a_placeholder_are_filled() {
        assert!(has_placeholder("http://{ip:server}/"));
        assert!(has_placeholder("{cgroup:pod:pids-current}"));
        assert!(!has_placeholder("http://localhost:80/"));
        assert!(!has_placeholder("awk '{print $1}'"));
        assert!(!has_placeholder("echo ${HOME}"));
    }

    #[test]
    fn namespace_paths() {
        assert_eq!(ns_path(42, NsKind::Net), "/proc/42/ns/net");
        assert_eq!(ns_path(1, NsKind::Uts), "/proc/1/ns/uts");
    }

    #[test]
    fn v1_files_are_in_their_controllers_directory() {
        let location = CgroupLocation {
            version: 1,
            path: "/podlab/pod1/web".into(),
            cpu: Some("/sys/fs/cgroup/cpu,cpuacct/podlab/pod1/web".into()),
            memory: Some("/sys/fs/cgroup/memory/podlab/pod1/web".into()),
            pids: Some("/sys/fs/cgroup/pids/podlab/pod1/web".into()),
        };
        let file = CgroupFile::CpuLimit;
        let path = directory(&location, file.controller()).map(|d| d.join(file.file_name(1)));
        assert_eq!(
            path,
            Some(PathBuf::from(
                "/sys/fs/cgroup/cpu,cpuacct/podlab/pod1/web/cpu.cfs_quota_us"
            ))
        );
    }
}
