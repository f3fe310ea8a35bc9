//! Where a rootless pod's cgroup limits can be enforced.
//!
//! Only cgroup v2 can hand a subtree to a user safely: systemd does it for `user@UID.service`
//! and for a unit started with `Delegate=yes` (the directory and its `cgroup.procs`,
//! `cgroup.subtree_control` and `cgroup.threads` are chowned to the user). podlab uses such a
//! subtree when the cgroup it runs in lies inside one that already hands cpu and memory down to
//! its children: the pods' cgroups go below it, with the same values as in root mode. Anywhere
//! else the pod runs without limits and the pod's state says why.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::i18n::Lang;
use crate::runtime::cgroups::CgroupLayout;

/// The controllers a pod's limits need.
const NEEDED: [&str; 2] = ["cpu", "memory"];

/// Where a rootless pod's cgroups can go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Limits {
    /// A cgroup v2 subtree of the user's that hands cpu and memory down: pods go below it.
    Delegated { base: PathBuf },
    /// Limits are not enforced.
    NotEnforced(NotEnforced),
}

/// Why a rootless pod's limits are not enforced (kept in the pod's state for the panels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum NotEnforced {
    /// The machine's controllers are cgroup v1, which only root can use.
    CgroupV1,
    /// No cgroup above ours belongs to the user.
    NotDelegated { cgroup: String },
    /// The user's subtree does not hand these controllers down to its children.
    ControllersNotEnabled { base: String, missing: Vec<String> },
}

impl NotEnforced {
    pub fn explain(&self, lang: Lang) -> String {
        match (self, lang) {
            (NotEnforced::CgroupV1, Lang::En) => "limits are not enforced: this machine's cgroup controllers are v1, where only root can make cgroups (a user's limits need cgroup v2 with systemd's delegation, or sudo)".into(),
            (NotEnforced::CgroupV1, Lang::Zh) => "资源限制没有生效：这台机器的 cgroup 控制器是 v1，只有 root 能创建 cgroup（普通用户的限制需要 cgroup v2 加 systemd 委派，或者用 sudo）".into(),
            (NotEnforced::NotDelegated { cgroup }, Lang::En) => format!("limits are not enforced: your cgroup {cgroup} is not delegated to you (run podlab in a systemd user session, or: systemd-run --user --scope -p Delegate=yes podlab …; or use sudo)"),
            (NotEnforced::NotDelegated { cgroup }, Lang::Zh) => format!("资源限制没有生效：你所在的 cgroup {cgroup} 没有委派给你（请在 systemd 用户会话里运行 podlab，或者：systemd-run --user --scope -p Delegate=yes podlab …；或者用 sudo）"),
            (NotEnforced::ControllersNotEnabled { base, missing }, Lang::En) => format!("limits are not enforced: your cgroup {base} does not hand {} down to its children (echo +cpu +memory +pids > {base}/cgroup.subtree_control, after moving its processes into a child)", missing.join(", ")),
            (NotEnforced::ControllersNotEnabled { base, missing }, Lang::Zh) => format!("资源限制没有生效：你的 cgroup {base} 没有把 {} 交给子 cgroup（先把其中的进程移到子 cgroup，再执行 echo +cpu +memory +pids > {base}/cgroup.subtree_control）", missing.join("、")),
        }
    }
}

/// What decides whether podlab starts itself again in a scope systemd delegates to the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The user's systemd instance answers: its bus (`$XDG_RUNTIME_DIR/bus`) is there.
    pub user_bus: bool,
    /// Where `systemd-run` is, if installed.
    pub systemd_run: Option<PathBuf>,
    /// This process is already such a restart ([`REEXEC_ENV`] is set): never twice.
    pub restarted: bool,
}

/// Set in the environment of podlab started again under `systemd-run`.
pub const REEXEC_ENV: &str = "PODLAB_DELEGATED_SCOPE";

/// Whether to start podlab again, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Stay: limits are enforced already, or a scope would not help, or cannot be had.
    Stay,
    /// Run this command line instead: podlab in a transient scope of the user's systemd with
    /// `Delegate=yes`, whose cgroup is then the user's, with cpu, memory and pids handed down.
    Restart(Vec<String>),
}

/// Pure: given where limits stand and the user's session, whether podlab should start itself
/// again under `systemd-run --user --scope -p Delegate=yes`, with `argv` (this process's
/// command line, the program first).
///
/// Only a missing delegation is fixed this way: on cgroup v1 systemd delegates nothing to a
/// user, and a subtree of the user's own that does not hand the controllers down is the
/// user's to change (the reason says how).
pub fn scope_for(limits: &Limits, session: &Session, argv: &[String]) -> Scope {
    let missing = matches!(
        limits,
        Limits::NotEnforced(NotEnforced::NotDelegated { .. })
    );
    match (&session.systemd_run, session.user_bus, session.restarted) {
        (Some(run), true, false) if missing && !argv.is_empty() => {
            let mut line: Vec<String> = [
                run.display().to_string(),
                "--user".into(),
                "--scope".into(),
                "--quiet".into(),
                "-p".into(),
                "Delegate=yes".into(),
                format!("--setenv={REEXEC_ENV}=1"),
                "--".into(),
            ]
            .into();
            line.extend(argv.iter().cloned());
            Scope::Restart(line)
        }
        _ => Scope::Stay,
    }
}

impl Session {
    /// Read from this machine and this process.
    pub fn of_this_process() -> Session {
        let bus = std::env::var_os("XDG_RUNTIME_DIR")
            .map(|dir| Path::new(&dir).join("bus"))
            .is_some_and(|bus| bus.exists());
        let systemd_run = ["/usr/bin", "/bin", "/usr/local/bin"]
            .iter()
            .map(|dir| Path::new(dir).join("systemd-run"))
            .find(|p| p.is_file());
        Session {
            user_bus: bus,
            systemd_run,
            restarted: std::env::var_os(REEXEC_ENV).is_some(),
        }
    }
}

/// Without root, before building pods: when no subtree is delegated and the user's systemd
/// can give one, exec podlab again in a delegated scope (never returns then). Otherwise go on;
/// the pods then say why their limits are not enforced.
pub fn restart_in_delegated_scope() {
    let argv: Vec<String> = std::env::args().collect();
    if let Scope::Restart(line) = scope_for(&detect(), &Session::of_this_process(), &argv) {
        use std::os::unix::process::CommandExt;
        // exec replaces this process; if it fails, the pod runs without limits as before.
        let _ = std::process::Command::new(&line[0]).args(&line[1..]).exec();
    }
}

/// Where this process's pods can have limits.
pub fn detect() -> Limits {
    let Ok(CgroupLayout::Unified { root }) = CgroupLayout::detect() else {
        return Limits::NotEnforced(NotEnforced::CgroupV1);
    };
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let relative = own
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/")
        .trim();
    find_base(&root, relative, nix::unistd::geteuid().as_raw())
}

/// Pure over a cgroup tree at `root`: the topmost cgroup above (or at) `relative` that
/// belongs to `euid` is the delegated subtree; it must hand cpu and memory down.
fn find_base(root: &Path, relative: &str, euid: u32) -> Limits {
    let mut ours = None;
    let mut dir = root.to_path_buf();
    for part in Path::new(relative.trim_start_matches('/')).components() {
        dir.push(part);
        let owned = std::fs::metadata(dir.join("cgroup.procs")).is_ok_and(|m| m.uid() == euid)
            && std::fs::metadata(&dir).is_ok_and(|m| m.uid() == euid);
        if owned {
            ours = Some(dir.clone());
            break;
        }
    }
    let Some(base) = ours else {
        return Limits::NotEnforced(NotEnforced::NotDelegated {
            cgroup: relative.to_string(),
        });
    };
    let enabled = std::fs::read_to_string(base.join("cgroup.subtree_control")).unwrap_or_default();
    let missing: Vec<String> = NEEDED
        .iter()
        .filter(|c| !enabled.split_whitespace().any(|e| e == **c))
        .map(|c| c.to_string())
        .collect();
    if missing.is_empty() {
        Limits::Delegated { base }
    } else {
        Limits::NotEnforced(NotEnforced::ControllersNotEnabled {
            base: base.display().to_string(),
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(enabled: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = dir.path().join("user.slice/u");
        std::fs::create_dir_all(base.join("shell")).expect("mkdir");
        std::fs::write(base.join("cgroup.procs"), "").expect("write");
        std::fs::write(base.join("cgroup.subtree_control"), enabled).expect("write");
        std::fs::write(base.join("shell/cgroup.procs"), "1234\n").expect("write");
        dir
    }

    #[test]
    fn podlab_starts_again_in_a_delegated_scope_only_when_that_fixes_the_limits() {
        let argv = vec!["/usr/bin/podlab".to_string(), "lesson".into(), "08".into()];
        let session = Session {
            user_bus: true,
            systemd_run: Some("/usr/bin/systemd-run".into()),
            restarted: false,
        };
        let not_delegated = Limits::NotEnforced(NotEnforced::NotDelegated {
            cgroup: "/user.slice/user-1000.slice/session-3.scope".into(),
        });
        let Scope::Restart(line) = scope_for(&not_delegated, &session, &argv) else {
            panic!("a session scope is not delegated: systemd can give one that is");
        };
        assert_eq!(
            line,
            [
                "/usr/bin/systemd-run",
                "--user",
                "--scope",
                "--quiet",
                "-p",
                "Delegate=yes",
                "--setenv=PODLAB_DELEGATED_SCOPE=1",
                "--",
                "/usr/bin/podlab",
                "lesson",
                "08"
            ]
        );
        // Already delegated, or cgroup v1, or the user's own subtree without controllers.
        let delegated = Limits::Delegated {
            base: "/sys/fs/cgroup/user.slice/user-1000.slice/user@1000.service".into(),
        };
        let no_controllers = Limits::NotEnforced(NotEnforced::ControllersNotEnabled {
            base: "/x".into(),
            missing: vec!["cpu".into()],
        });
        for limits in [
            delegated,
            Limits::NotEnforced(NotEnforced::CgroupV1),
            no_controllers,
        ] {
            assert_eq!(
                scope_for(&limits, &session, &argv),
                Scope::Stay,
                "{limits:?}"
            );
        }
        // No user session (as after su, or on this CI machine), no systemd-run, or a restart
        // that still has no delegation: stay, never loop.
        for other in [
            Session {
                user_bus: false,
                ..session.clone()
            },
            Session {
                systemd_run: None,
                ..session.clone()
            },
            Session {
                restarted: true,
                ..session.clone()
            },
        ] {
            assert_eq!(
                scope_for(&not_delegated, &other, &argv),
                Scope::Stay,
                "{other:?}"
            );
        }
    }

    #[test]
    fn the_topmost_cgroup_of_ours_is_the_base_when_it_hands_cpu_and_memory_down() {
        let euid = nix::unistd::geteuid().as_raw();
        let t = tree("cpu memory pids\n");
        assert_eq!(
            find_base(t.path(), "/user.slice/u/shell", euid),
            Limits::Delegated {
                base: t.path().join("user.slice/u")
            }
        );
        let t = tree("pids\n");
        let Limits::NotEnforced(why) = find_base(t.path(), "/user.slice/u/shell", euid) else {
            panic!("controllers are missing");
        };
        assert!(
            matches!(&why, NotEnforced::ControllersNotEnabled { missing, .. } if missing == &["cpu", "memory"])
        );
        // Someone else's tree (here: every directory is ours, so ask as another user).
        assert!(matches!(
            find_base(t.path(), "/user.slice/u/shell", euid + 1),
            Limits::NotEnforced(NotEnforced::NotDelegated { .. })
        ));
        for lang in [Lang::En, Lang::Zh] {
            assert!(why.explain(lang).contains("cgroup.subtree_control"));
            assert!(NotEnforced::CgroupV1.explain(lang).contains("sudo"));
        }
    }
}
