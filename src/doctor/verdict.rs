//! Verdicts, pure functions of the facts, the trial and the build: how podlab can build pods
//! here, whether user namespaces work for users, whether the pods' limits are enforced, and for
//! each lesson whether it can run here and, if not, why.

use super::facts::{Busybox, CgroupVersion, Facts, Setting};
use super::needs::Need;
use super::trial::{Outcome, Trial};
use crate::i18n::Text;

/// The controllers a pod's requests and limits are written to.
pub const LIMIT_CONTROLLERS: [&str; 2] = ["cpu", "memory"];

/// What a verdict is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    pub facts: Facts,
    /// The user-namespace trial; None when it was not made.
    pub trial: Option<Trial>,
    pub build: Build,
}

/// What this build of podlab can do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Build {
    /// It builds pods without root, in a user namespace of the learner's.
    pub rootless: bool,
}

/// How podlab builds pods here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On the host, as root, as kubelet does.
    Root,
    /// In a user namespace of the learner's.
    Rootless,
}

impl Mode {
    pub fn text(self) -> Text {
        match self {
            Mode::Root => Text::new("runs here as root", "可以在这里以 root 运行"),
            Mode::Rootless => Text::new("runs here without root", "可以在这里不用 root 运行"),
        }
    }
}

/// Whether users without root can create and use user namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserNs {
    Usable,
    Blocked(Blocker),
    /// The trial was not made and the settings do not tell.
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// `user.max_user_namespaces` is 0.
    MaxZero,
    /// Debian's `kernel.unprivileged_userns_clone` is 0.
    CloneDisabled,
    /// Ubuntu 24.04's AppArmor restriction: created, but not usable.
    AppArmor,
    /// The trial failed for another reason.
    Other { what: String, errno: i32 },
}

/// Users and user namespaces on this machine: the trial when there is one, the settings to
/// say why.
pub fn user_namespaces(m: &Machine) -> UserNs {
    let s = &m.facts.userns;
    let from_settings = || {
        if s.max_user_namespaces.is(0) {
            Some(Blocker::MaxZero)
        } else if s.unprivileged_userns_clone.is(0) {
            Some(Blocker::CloneDisabled)
        } else if s.apparmor_restrict.is(1) && !s.under_podlab_profile() {
            Some(Blocker::AppArmor)
        } else {
            None
        }
    };
    let failed = |what: String, errno: i32, created: bool| {
        let named = from_settings().filter(|b| created == (*b == Blocker::AppArmor));
        UserNs::Blocked(named.unwrap_or(Blocker::Other { what, errno }))
    };
    match m.trial.map(|t| t.outcome) {
        Some(Outcome::Works) => UserNs::Usable,
        Some(Outcome::CannotCreate { errno }) => {
            failed("unshare(CLONE_NEWUSER)".into(), errno, false)
        }
        Some(Outcome::CannotMap { errno }) => failed("write uid_map".into(), errno, true),
        Some(Outcome::CannotUse { what, errno }) => failed(what.syscall().into(), errno, true),
        Some(Outcome::NotRun { errno, stage }) => match from_settings() {
            Some(b) => UserNs::Blocked(b),
            None => UserNs::Unknown(format!(
                "the trial could not {stage}: {}",
                std::io::Error::from_raw_os_error(errno)
            )),
        },
        None => match from_settings() {
            Some(b) => UserNs::Blocked(b),
            None => UserNs::Unknown("no trial was made".into()),
        },
    }
}

impl Blocker {
    /// A few words, for the lesson list.
    pub fn short(&self) -> Text {
        match self {
            Blocker::MaxZero => Text::new(
                "user namespaces are off (max_user_namespaces 0)",
                "user 命名空间被关闭（max_user_namespaces 为 0）",
            ),
            Blocker::CloneDisabled => Text::new(
                "user namespaces are off for users",
                "普通用户不能创建 user 命名空间",
            ),
            Blocker::AppArmor => Text::new(
                "AppArmor forbids user namespaces",
                "AppArmor 禁止使用 user 命名空间",
            ),
            Blocker::Other { .. } => Text::new(
                "user namespaces do not work here",
                "user 命名空间在这里不能用",
            ),
        }
    }
}

/// How podlab builds pods here, or why it cannot.
pub fn pod_mode(m: &Machine) -> Result<Mode, Text> {
    let user = m.facts.user.as_ref().map_err(|u| {
        Text::new(
            format!("who runs podlab is unknown ({u})"),
            format!("不知道 podlab 以哪个用户运行（{u}）"),
        )
    })?;
    if user.is_root() {
        return if user.cap_sys_admin {
            Ok(Mode::Root)
        } else {
            Err(Text::new(
                "root without CAP_SYS_ADMIN",
                "root 但没有 CAP_SYS_ADMIN",
            ))
        };
    }
    if !m.build.rootless {
        return Err(Text::new("needs root (sudo)", "需要 root（sudo）"));
    }
    match user_namespaces(m) {
        UserNs::Usable => Ok(Mode::Rootless),
        UserNs::Blocked(b) => Err(b.short()),
        UserNs::Unknown(_) => Err(Text::new("user namespaces: unknown", "user 命名空间：未知")),
    }
}

/// Whether the pods' cgroups enforce requests and limits when built in `mode`.
pub fn limits(m: &Machine, mode: Mode) -> Result<(), Text> {
    let cgroups = m.facts.cgroups.as_ref().map_err(|u| {
        Text::new(
            format!("the cgroups are unknown ({u})"),
            format!("cgroup 情况未知（{u}）"),
        )
    })?;
    let missing = Text::new(
        "no cpu and memory cgroup controllers",
        "没有 cpu 和 memory cgroup 控制器",
    );
    match mode {
        Mode::Root if cgroups.has_controllers(&LIMIT_CONTROLLERS) => Ok(()),
        Mode::Root => Err(missing),
        Mode::Rootless if cgroups.version != CgroupVersion::V2 => Err(Text::new(
            "limits need root on cgroup v1",
            "cgroup v1 上的限制需要 root",
        )),
        Mode::Rootless => match &cgroups.user_subtree {
            None => Err(Text::new(
                "no cgroup subtree of yours (limits)",
                "没有属于你的 cgroup 子树（限制）",
            )),
            Some(Err(u)) => Err(Text::new(
                format!("your cgroup subtree is unknown ({u})"),
                format!("你的 cgroup 子树情况未知（{u}）"),
            )),
            Some(Ok(s)) if s.delegates(&LIMIT_CONTROLLERS) => Ok(()),
            Some(Ok(_)) => Err(Text::new(
                "cpu and memory are not delegated to you",
                "cpu 和 memory 没有委派给你",
            )),
        },
    }
}

/// Whether a lesson can run here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonVerdict {
    /// How its pods would be built; None: they cannot be.
    pub mode: Option<Mode>,
    /// Why it cannot run here (empty: it can).
    pub blockers: Vec<Text>,
    /// What is different here, though it runs.
    pub notes: Vec<Text>,
}

impl LessonVerdict {
    pub fn runs(&self) -> bool {
        self.mode.is_some() && self.blockers.is_empty()
    }

    /// The reason in a few words: how it runs, or the first thing that stops it.
    pub fn reason(&self) -> Text {
        match (self.mode, self.blockers.first()) {
            (_, Some(b)) => b.clone(),
            (Some(mode), None) => mode.text(),
            (None, None) => Text::new("cannot run here", "不能在这里运行"),
        }
    }
}

/// What this machine can do with a lesson that needs `needs`.
pub fn lesson_verdict(m: &Machine, needs: &[Need]) -> LessonVerdict {
    let mut verdict = LessonVerdict {
        mode: None,
        blockers: Vec::new(),
        notes: Vec::new(),
    };
    // Every lesson builds pods (a lesson file names its manifest).
    let mode = match pod_mode(m) {
        Ok(mode) => mode,
        Err(why) => {
            verdict.blockers.push(why);
            return verdict;
        }
    };
    verdict.mode = Some(mode);
    let rootless = mode == Mode::Rootless;
    for need in needs {
        match need {
            Need::Busybox => match &m.facts.busybox {
                Busybox::Static(_) => {}
                _ if m.facts.apt_get => verdict.notes.push(Text::new(
                    "podlab offers to install busybox-static first",
                    "podlab 会先提议安装 busybox-static",
                )),
                _ => verdict.blockers.push(Text::new(
                    "no static busybox for the images",
                    "没有用来构建镜像的静态 busybox",
                )),
            },
            Need::HostNamespace(what) if rootless => verdict.blockers.push(Text::new(
                format!("needs root: {what}"),
                format!("需要 root：{what}"),
            )),
            Need::Privileged { container } if rootless => verdict.blockers.push(Text::new(
                format!("needs root: privileged container {container}"),
                format!("需要 root：特权容器 {container}"),
            )),
            Need::HostUserNamespace if rootless => verdict.blockers.push(Text::new(
                "needs root: a check wants the host's user namespace",
                "需要 root：有检查要求使用主机的 user 命名空间",
            )),
            Need::HandMade if rootless => verdict.blockers.push(Text::new(
                "needs root: you build a pod by hand on the host",
                "需要 root：要在宿主机上亲手搭 Pod",
            )),
            Need::OwnUserNamespace if rootless => verdict.blockers.push(Text::new(
                "needs root: hostUsers: false gives a pod 65536 of the host's ids",
                "需要 root：hostUsers: false 要从宿主机的 ID 中分给 Pod 65536 个",
            )),
            Need::CgroupLimits { checked } => {
                if let Err(why) = limits(m, mode) {
                    if *checked {
                        verdict.blockers.push(why);
                    } else {
                        verdict.notes.push(Text::new(
                            format!("limits are not enforced: {}", why.en),
                            format!("资源限制不会生效：{}", why.zh),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    verdict
}

/// A setting as `name = value` (or what is known of it).
pub fn setting_text(name: &str, s: &Setting) -> Text {
    match s {
        Setting::Absent => Text::new(
            format!("{name}: not on this kernel"),
            format!("{name}：这个内核没有这项设置"),
        ),
        Setting::Value(v) => Text::new(format!("{name} = {v}"), format!("{name} = {v}")),
        Setting::Unreadable(why) => Text::new(
            format!("{name}: unknown ({why})"),
            format!("{name}：未知（{why}）"),
        ),
    }
}
