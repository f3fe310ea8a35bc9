//! Whether this machine lets a user build pods without root: a user namespace must be
//! creatable, and usable (a net and a mount namespace inside it). Probed in a throw-away child
//! before anything is made, so a refusal is one clear message and never a half-built pod.

use std::os::fd::AsRawFd;

use nix::unistd::pipe;

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

/// The probe's stages, as the child reports them.
const STAGE_USERNS: i32 = 1;
const STAGE_MAP: i32 = 2;
const STAGE_USE: i32 = 3;

/// Make a user namespace, map ourselves to root in it and make a net and a mount namespace
/// inside, in a child that then exits.
pub fn probe() -> Result<(), Blocker> {
    let uid_map = format!("0 {} 1\0", nix::unistd::geteuid());
    let gid_map = format!("0 {} 1\0", nix::unistd::getegid());
    let Ok((read_end, write_end)) = pipe() else {
        return Ok(()); // no pipe, no probe: the real attempt will say what fails
    };
    // SAFETY: the child makes raw system calls on memory prepared before the fork, then exits.
    match unsafe { nix::unistd::fork() } {
        Err(_) => Ok(()),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(read_end);
            let report = unsafe { probe_child(uid_map.as_bytes(), gid_map.as_bytes()) };
            unsafe {
                libc::write(
                    write_end.as_raw_fd(),
                    report.as_ptr().cast(),
                    std::mem::size_of_val(&report),
                );
                libc::_exit(0)
            }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            drop(write_end);
            let mut buf = [0u8; 8];
            let mut file = std::fs::File::from(read_end);
            let got = std::io::Read::read(&mut file, &mut buf).unwrap_or(0);
            let _ = nix::sys::wait::waitpid(child, None);
            if got != buf.len() {
                return Ok(());
            }
            let stage = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
            let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
            classify(stage, errno, &read_setting)
        }
    }
}

/// In the forked child: returns [stage that failed (0: none), errno].
unsafe fn probe_child(uid_map: &[u8], gid_map: &[u8]) -> [i32; 2] {
    let fail = |stage| [stage, *libc::__errno_location()];
    if libc::unshare(libc::CLONE_NEWUSER) != 0 {
        return fail(STAGE_USERNS);
    }
    let write = |path: &std::ffi::CStr, text: &[u8]| {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY);
        if fd < 0 {
            return false;
        }
        // The text ends with a NUL that is not written.
        let ok = libc::write(fd, text.as_ptr().cast(), text.len() - 1) == (text.len() - 1) as isize;
        libc::close(fd);
        ok
    };
    if !write(c"/proc/self/setgroups", b"deny\0")
        || !write(c"/proc/self/uid_map", uid_map)
        || !write(c"/proc/self/gid_map", gid_map)
    {
        return fail(STAGE_MAP);
    }
    if libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) != 0 {
        return fail(STAGE_USE);
    }
    [0, 0]
}

fn read_setting(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Pure: the child's report, with the machine's settings read through `setting`.
fn classify(
    stage: i32,
    errno: i32,
    setting: &dyn Fn(&str) -> Option<String>,
) -> Result<(), Blocker> {
    let apparmor =
        setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns").as_deref() == Some("1");
    match stage {
        0 => Ok(()),
        STAGE_USERNS => {
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
        STAGE_MAP => Err(Blocker::Restricted {
            what: "write uid_map",
            errno,
            apparmor,
        }),
        _ => Err(Blocker::Restricted {
            what: "unshare(CLONE_NEWNET | CLONE_NEWNS)",
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
        let blocked = classify(STAGE_USERNS, libc::ENOSPC, &limit).unwrap_err();
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
        let text = classify(STAGE_USERNS, libc::EPERM, &debian)
            .unwrap_err()
            .explain(Lang::En);
        assert!(
            text.contains("kernel.unprivileged_userns_clone=1"),
            "{text}"
        );
        let unknown = classify(STAGE_USERNS, libc::EPERM, &settings(&[])).unwrap_err();
        assert!(unknown
            .explain(Lang::En)
            .contains("Operation not permitted"));
    }

    #[test]
    fn a_namespace_that_cannot_be_used_points_at_apparmor_when_it_is_on() {
        let ubuntu = settings(&[("apparmor_restrict_unprivileged_userns", "1")]);
        let text = classify(STAGE_USE, libc::EPERM, &ubuntu)
            .unwrap_err()
            .explain(Lang::En);
        assert!(text.contains("AppArmor"), "{text}");
        assert!(text.contains("userns,"), "{text}");
        let text = classify(STAGE_MAP, libc::EPERM, &settings(&[]))
            .unwrap_err()
            .explain(Lang::Zh);
        assert!(!text.contains("AppArmor"), "{text}");
        assert_eq!(classify(0, 0, &settings(&[])), Ok(()));
    }
}
