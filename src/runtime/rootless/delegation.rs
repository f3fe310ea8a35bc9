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
