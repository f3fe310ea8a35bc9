//! Whether this machine lets a user build pods without root: a user namespace must be
//! creatable, and usable (a net namespace and a mount inside it). The trial (`trial`) is made
//! in a throw-away child before anything is made, so a refusal is one clear message and never
//! a half-built pod.

use super::trial::{self, Outcome};
use crate::i18n::Lang;

/// What keeps a user from building pods here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Blocker {
    /// The kernel refuses to create user namespaces for users.
    NoUserNamespaces {
        errno: i32,
        /// The setting that refuses it, as `name = value`, and the one that allows it.
        setting: Option<(String, String)>,
    },
    /// A user namespace is created but using it fails (Ubuntu 24.04's AppArmor restriction:
    /// `kernel.apparmor_restrict_unprivileged_userns = 1`).
    Restricted {
        what: &'static str,
        errno: i32,
        apparmor: bool,
    },
}

/// The user-namespace trial (a user namespace made, mapped and used in a throw-away child),
/// read with this machine's settings.
pub fn probe() -> Result<(), Blocker> {
    classify(trial::as_this_user().outcome, &read_setting)
}

fn read_setting(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Pure: the trial's outcome, with the machine's settings read through `setting`.
fn classify(outcome: Outcome, setting: &dyn Fn(&str) -> Option<String>) -> Result<(), Blocker> {
    let apparmor =
        setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1");
    match outcome {
        // Not made (no fork, no pipe): the real attempt will say what fails.
        Outcome::Works | Outcome::NotRun { .. } => Ok(()),
        Outcome::CannotCreate { errno } => {
            let switch = if setting("/proc/sys/user/max_user_namespaces").as_deref() == Some("0") {
                Some((
                    "user.max_user_namespaces = 0",
                    "user.max_user_namespaces=15000",
                ))
            } else if setting("/proc/sys/kernel/unprivileged_userns_clone").as_deref() == Some("0")
            {
                Some((
                    "kernel.unprivileged_userns_clone = 0",
                    "kernel.unprivileged_userns_clone=1",
                ))
            } else {
                None
            };
            Err(Blocker::NoUserNamespaces {
                errno,
                setting: switch.map(|(now, fix)| (now.to_string(), fix.to_string())),
            })
        }
        Outcome::CannotMap { errno } => Err(Blocker::Restricted {
            what: "write uid_map",
            errno,
            apparmor,
        }),
        Outcome::CannotUse { what, errno } => Err(Blocker::Restricted {
            what: what.syscall(),
            errno,
            apparmor,
        }),
    }
}

impl Blocker {
    /// What is wrong, what fixes it, and what works meanwhile.
    pub fn explain(&self, lang: Lang) -> String {
        let what_works = lang.pick(
            "Without them: run podlab with sudo, or follow a recorded lesson with podlab replay (e.g. podlab replay assets/traces/lesson-01.trace.jsonl); the lesson list and the explorer's view of your own processes work as they are.",
            "没有它们时：用 sudo 运行 podlab，或者用 podlab replay 跟着录制好的课程学习（例如 podlab replay assets/traces/lesson-01.trace.jsonl）；课程列表和自由探索模式里你自己进程的视图照常可用。",
        );
        match self {
            Blocker::NoUserNamespaces { errno, setting } => {
                let err = std::io::Error::from_raw_os_error(*errno);
                let why = match (setting, lang) {
                    (Some((now, fix)), Lang::En) => {
                        format!("{now} on this machine; an admin allows them with: sysctl -w {fix}")
                    }
                    (Some((now, fix)), Lang::Zh) => {
                        format!("这台机器上 {now}；管理员可以这样开启：sysctl -w {fix}")
                    }
                    (None, _) => String::new(),
                };
                format!(
                    "{} ({}: {err}){}{why}. {what_works}",
                    lang.pick(
                        "building pods without root needs user namespaces, and this machine does not let users create them",
                        "不用 root 构建 Pod 需要 user 命名空间，而这台机器不允许普通用户创建它们",
                    ),
                    "unshare(CLONE_NEWUSER)",
                    if why.is_empty() { "" } else { lang.pick("; ", "；") },
                )
            }
            Blocker::Restricted {
                what,
                errno,
                apparmor,
            } => {
                let err = std::io::Error::from_raw_os_error(*errno);
                let why = if *apparmor {
                    lang.pick(
                        "; kernel.apparmor_restrict_unprivileged_userns is 1 (Ubuntu 24.04's AppArmor restriction): an admin allows podlab with an AppArmor profile that says userns, or with: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
                        "；kernel.apparmor_restrict_unprivileged_userns 为 1（Ubuntu 24.04 的 AppArmor 限制）：管理员可以给 podlab 一个写有 userns, 的 AppArmor 配置，或者运行：sysctl -w kernel.apparmor_restrict_unprivileged_userns=0",
                    )
                } else {
                    ""
                };
                format!(
                    "{} ({what}: {err}){why}. {what_works}",
                    lang.pick(
                        "this machine lets you create a user namespace but not use it",
                        "这台机器允许你创建 user 命名空间，却不允许使用它",
                    ),
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |path| {
            pairs
                .iter()
                .find(|(p, _)| path.ends_with(p))
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn a_refused_user_namespace_names_the_setting_that_refuses_it() {
        let limit = settings(&[("max_user_namespaces", "0")]);
        let blocked = classify(
            Outcome::CannotCreate {
                errno: libc::ENOSPC,
            },
            &limit,
        )
        .unwrap_err();
        for lang in [Lang::En, Lang::Zh] {
            let text = blocked.explain(lang);
            assert!(
                text.contains("sysctl -w user.max_user_namespaces=15000"),
                "{text}"
            );
            assert!(text.contains("podlab replay"), "{text}");
            assert!(text.contains("sudo"), "{text}");
        }
        let debian = settings(&[("unprivileged_userns_clone", "0")]);
        let text = classify(Outcome::CannotCreate { errno: libc::EPERM }, &debian)
            .unwrap_err()
            .explain(Lang::En);
        assert!(
            text.contains("kernel.unprivileged_userns_clone=1"),
            "{text}"
        );
        let unknown =
            classify(Outcome::CannotCreate { errno: libc::EPERM }, &settings(&[])).unwrap_err();
        assert!(unknown
            .explain(Lang::En)
            .contains("Operation not permitted"));
    }

    #[test]
    fn a_namespace_that_cannot_be_used_points_at_apparmor_when_it_is_on() {
        let ubuntu = settings(&[("apparmor_restrict_unprivileged_userns", "1")]);
        let text = classify(
            Outcome::CannotUse {
                what: trial::Use::NetNamespace,
                errno: libc::EPERM,
            },
            &ubuntu,
        )
        .unwrap_err()
        .explain(Lang::En);
        assert!(text.contains("AppArmor"), "{text}");
        assert!(text.contains("userns,"), "{text}");
        let text = classify(Outcome::CannotMap { errno: libc::EPERM }, &settings(&[]))
            .unwrap_err()
            .explain(Lang::Zh);
        assert!(!text.contains("AppArmor"), "{text}");
        assert_eq!(classify(Outcome::Works, &settings(&[])), Ok(()));
    }
}
