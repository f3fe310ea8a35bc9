//! `podlab doctor`'s report: each fact with what it means for the learner and, for a problem,
//! the fix to hand an admin; then each lesson's verdict. Pure: text from a [`Machine`].

use std::path::{Path, PathBuf};

use super::facts::{Busybox, CgroupVersion, Helper, Known, SubIds, Subtree};
use super::trial::{Outcome, NOBODY};
use super::verdict::{
    setting_text, user_namespaces, Blocker, LessonVerdict, Machine, UserNs, LIMIT_CONTROLLERS,
};
use crate::i18n::{Lang, Text};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok,
    /// Worth knowing; nothing is wrong.
    Note,
    Problem,
    Unknown,
}

impl Status {
    pub fn mark(self) -> &'static str {
        match self {
            Status::Ok => "✓",
            Status::Note => "·",
            Status::Problem => "✗",
            Status::Unknown => "?",
        }
    }
}

/// One fact and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub status: Status,
    pub what: Text,
    /// What it means for the learner.
    pub means: Option<Text>,
    /// The fix to hand an admin.
    pub fix: Option<Text>,
}

fn finding(status: Status, what: Text) -> Finding {
    Finding {
        status,
        what,
        means: None,
        fix: None,
    }
}

impl Finding {
    fn means(mut self, t: Text) -> Finding {
        self.means = Some(t);
        self
    }

    fn fix(mut self, t: Text) -> Finding {
        self.fix = Some(t);
        self
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: Text,
    pub findings: Vec<Finding>,
}

/// One lesson's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LessonLine {
    pub id: String,
    pub verdict: LessonVerdict,
    /// Its recorded trace, if one is shipped.
    pub trace: Option<PathBuf>,
}

/// The machine's sections: who, cgroups, user namespaces, id mapping, images, CNI.
/// `profile` is the AppArmor profile shipped in the repository.
pub fn sections(m: &Machine, profile: &Path) -> Vec<Section> {
    vec![
        Section {
            title: Text::new("You", "你"),
            findings: vec![who(m)],
        },
        Section {
            title: Text::new("cgroups", "cgroup"),
            findings: cgroups(m),
        },
        Section {
            title: Text::new(
                "User namespaces (building pods without root)",
                "user 命名空间（不用 root 构建 Pod）",
            ),
            findings: userns(m, profile),
        },
        Section {
            title: Text::new(
                "Id mapping (newuidmap, /etc/subuid)",
                "ID 映射（newuidmap、/etc/subuid）",
            ),
            findings: vec![subids(&m.facts.subids, m)],
        },
        Section {
            title: Text::new("Images and network", "镜像和网络"),
            findings: vec![busybox(m), cni(m)],
        },
    ]
}

fn who(m: &Machine) -> Finding {
    let user = match &m.facts.user {
        Err(u) => {
            return finding(
                Status::Unknown,
                Text::new(
                    format!("who runs podlab is unknown: {u}"),
                    format!("不知道 podlab 以哪个用户运行：{u}"),
                ),
            )
        }
        Ok(user) => user,
    };
    if user.is_root() && user.cap_sys_admin {
        return finding(
            Status::Ok,
            Text::new(
                "root (uid 0): podlab builds pods on the host, as kubelet does",
                "root（uid 0）：podlab 直接在主机上构建 Pod，和 kubelet 一样",
            ),
        );
    }
    if user.is_root() {
        return finding(
            Status::Problem,
            Text::new(
                "root (uid 0) without CAP_SYS_ADMIN, as in a container",
                "root（uid 0），但没有 CAP_SYS_ADMIN，就像在容器里",
            ),
        )
        .means(Text::new(
            "podlab cannot create namespaces, mounts or cgroups here; recorded lessons still play (podlab replay)",
            "podlab 在这里不能创建命名空间、挂载点或 cgroup；录制好的课程仍然可以回放（podlab replay）",
        ))
        .fix(Text::new(
            "run podlab on the machine itself, or in a container started with --privileged",
            "在机器本身上运行 podlab，或者在用 --privileged 启动的容器里运行",
        ));
    }
    let name = user.label();
    let what = Text::new(
        format!("{name} (uid {}), not root", user.uid),
        format!("{name}（uid {}），不是 root", user.uid),
    );
    if m.build.rootless {
        finding(Status::Ok, what).means(Text::new(
            "podlab builds pods without root, in a user namespace of yours, if the user namespaces below work (with sudo, it builds them as root)",
            "只要下面的 user 命名空间可用，podlab 就不用 root，在你自己的 user 命名空间里构建 Pod（用 sudo 时以 root 构建）",
        ))
    } else {
        finding(Status::Problem, what)
            .means(Text::new(
                "this build of podlab builds pods only as root: run it with sudo, or follow the recorded lessons with podlab replay",
                "这个版本的 podlab 只能以 root 构建 Pod：请用 sudo 运行，或者用 podlab replay 跟着录制好的课程学习",
            ))
            .fix(Text::new(
                format!("let {name} run podlab with sudo"),
                format!("允许 {name} 用 sudo 运行 podlab"),
            ))
    }
}

fn list(names: &[String]) -> String {
    if names.is_empty() {
        "-".to_string()
    } else {
        names.join(" ")
    }
}

fn cgroups(m: &Machine) -> Vec<Finding> {
    let c = match &m.facts.cgroups {
        Err(u) => {
            return vec![finding(
                Status::Unknown,
                Text::new(
                    format!("the cgroup layout is unknown: {u}"),
                    format!("cgroup 布局未知：{u}"),
                ),
            )]
        }
        Ok(c) => c,
    };
    let version_zh = match c.version {
        CgroupVersion::V1 => "cgroup v1",
        CgroupVersion::Hybrid => "混合模式（cgroup v1 控制器，cgroup v2 没有控制器）",
        CgroupVersion::V2 => "cgroup v2",
    };
    let controllers = list(&c.controllers);
    let what = Text::new(
        format!("{}; controllers: {controllers}", c.version.name()),
        format!("{version_zh}；控制器：{controllers}"),
    );
    let mut out = vec![if c.has_controllers(&["cpu", "memory", "pids"]) {
        finding(Status::Ok, what)
    } else {
        finding(Status::Problem, what)
            .means(Text::new(
                "pods get no CPU, memory or process limits: kubelet's values cannot be written",
                "Pod 得不到 CPU、内存或进程数限制：kubelet 的取值无法写入",
            ))
            .fix(Text::new(
                "boot with the cpu, memory and pids controllers enabled (for memory on some kernels: cgroup_enable=memory on the kernel command line)",
                "启动时打开 cpu、memory 和 pids 控制器（有些内核需要在内核命令行加 cgroup_enable=memory）",
            ))
    }];
    let Ok(user) = &m.facts.user else {
        return out;
    };
    if user.is_root() {
        return out;
    }
    let delegate_fix = Text::new(
        "mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' > /etc/systemd/system/user@.service.d/delegate.conf && systemctl daemon-reload (then log in again)",
        "mkdir -p /etc/systemd/system/user@.service.d && printf '[Service]\\nDelegate=cpu cpuset io memory pids\\n' > /etc/systemd/system/user@.service.d/delegate.conf && systemctl daemon-reload（然后重新登录）",
    );
    let no_limits = Text::new(
        "a pod built without root runs, but without limits: lessons that check limits (requests, limits, OOMKilled) play their recorded trace instead",
        "不用 root 构建的 Pod 能运行，但没有资源限制：检查限制的课程（requests、limits、OOMKilled）改为回放录制的轨迹",
    );
    out.push(match (c.version, &c.user_subtree) {
        (CgroupVersion::V1 | CgroupVersion::Hybrid, _) => finding(
            Status::Problem,
            Text::new(
                "the controllers are cgroup v1, which only root can use",
                "控制器是 cgroup v1，只有 root 能用",
            ),
        )
        .means(no_limits)
        .fix(Text::new(
            "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1 on the kernel command line), or use sudo",
            "改用 cgroup v2 启动（在内核命令行加 systemd.unified_cgroup_hierarchy=1），或者用 sudo",
        )),
        (CgroupVersion::V2, None) => finding(
            Status::Problem,
            Text::new(
                format!(
                    "no cgroup subtree of yours (user@{}.service): no systemd user session",
                    user.uid
                ),
                format!(
                    "没有属于你的 cgroup 子树（user@{}.service）：没有 systemd 用户会话",
                    user.uid
                ),
            ),
        )
        .means(no_limits)
        .fix(Text::new(
            format!(
                "log in through systemd-logind (ssh or a desktop, not su), or: loginctl enable-linger {}",
                user.label()
            ),
            format!(
                "通过 systemd-logind 登录（ssh 或桌面，不要用 su），或者：loginctl enable-linger {}",
                user.label()
            ),
        )),
        (CgroupVersion::V2, Some(Err(u))) => finding(
            Status::Unknown,
            Text::new(
                format!("your cgroup subtree is unknown: {u}"),
                format!("你的 cgroup 子树情况未知：{u}"),
            ),
        ),
        (CgroupVersion::V2, Some(Ok(s))) => subtree(s, no_limits, delegate_fix),
    });
    out
}

fn subtree(s: &Subtree, no_limits: Text, delegate_fix: Text) -> Finding {
    let controllers = list(&s.controllers);
    if s.delegates(&LIMIT_CONTROLLERS) {
        return finding(
            Status::Ok,
            Text::new(
                format!("{} is delegated to you: {controllers}", s.path),
                format!("{} 已委派给你：{controllers}", s.path),
            ),
        )
        .means(Text::new(
            "a pod built without root gets the same limits as with root",
            "不用 root 构建的 Pod 也能得到和 root 一样的资源限制",
        ));
    }
    let what = if s.writable {
        Text::new(
            format!(
                "{} is yours, but its parent hands it only: {controllers}",
                s.path
            ),
            format!("{} 属于你，但父 cgroup 只交给它：{controllers}", s.path),
        )
    } else {
        Text::new(
            format!("{} is not delegated to you (not yours)", s.path),
            format!("{} 没有委派给你（不属于你）", s.path),
        )
    };
    finding(Status::Problem, what)
        .means(no_limits)
        .fix(delegate_fix)
}

fn userns(m: &Machine, profile: &Path) -> Vec<Finding> {
    let s = &m.facts.userns;
    let mut out: Vec<Finding> = [
        ("user.max_user_namespaces", &s.max_user_namespaces),
        (
            "kernel.unprivileged_userns_clone",
            &s.unprivileged_userns_clone,
        ),
        (
            "kernel.apparmor_restrict_unprivileged_userns",
            &s.apparmor_restrict,
        ),
    ]
    .into_iter()
    .map(|(name, value)| finding(Status::Note, setting_text(name, value)))
    .collect();
    if let Some(label) = &s.apparmor_label {
        out.push(finding(
            Status::Note,
            Text::new(
                format!("podlab runs under the AppArmor profile {label}"),
                format!("podlab 运行在 AppArmor 配置 {label} 之下"),
            ),
        ));
    }
    let tried = match m.trial {
        Some(t) if t.uid == NOBODY => Text::new(
            format!("tried as nobody (uid {NOBODY})"),
            format!("以 nobody（uid {NOBODY}）试过"),
        ),
        Some(t) => Text::new(
            format!("tried as uid {}", t.uid),
            format!("以 uid {} 试过", t.uid),
        ),
        None => Text::new("not tried", "没有试"),
    };
    let trial = match m.trial.map(|t| t.outcome) {
        Some(Outcome::Works) => Text::new(
            "a user namespace, a net namespace and a tmpfs mount inside it work",
            "创建 user 命名空间、在其中创建 net 命名空间和挂载 tmpfs 都成功",
        ),
        Some(Outcome::CannotCreate { errno }) => failed("unshare(CLONE_NEWUSER)", errno),
        Some(Outcome::CannotMap { errno }) => failed("write /proc/self/uid_map", errno),
        Some(Outcome::CannotUse { what, errno }) => {
            let (en, zh) = (
                format!(
                    "the user namespace is created, but {} fails: {}",
                    what.syscall(),
                    errno_text(errno)
                ),
                format!(
                    "user 命名空间能创建，但 {} 失败：{}",
                    what.syscall(),
                    errno_text(errno)
                ),
            );
            Text::new(en, zh)
        }
        Some(Outcome::NotRun { errno, stage }) => Text::new(
            format!("the trial could not {stage}: {}", errno_text(errno)),
            format!("试验没能完成（{stage}）：{}", errno_text(errno)),
        ),
        None => Text::new("", ""),
    };
    let what = Text::new(
        format!("{}: {}", tried.en, trial.en)
            .trim_end_matches(": ")
            .to_string(),
        format!("{}：{}", tried.zh, trial.zh)
            .trim_end_matches('：')
            .to_string(),
    );
    let cannot = Text::new(
        "without root, podlab cannot build pods here; with sudo it can, and recorded lessons play with podlab replay",
        "不用 root 时 podlab 无法在这里构建 Pod；用 sudo 可以，录制好的课程也可以用 podlab replay 回放",
    );
    out.push(match user_namespaces(m) {
        UserNs::Usable => {
            let f = finding(Status::Ok, what);
            if s.apparmor_restrict.is(1) {
                f.means(Text::new(
                    "AppArmor restricts user namespaces here, and podlab's profile allows them to podlab",
                    "这里 AppArmor 限制了 user 命名空间，而 podlab 的配置允许 podlab 使用",
                ))
            } else {
                f
            }
        }
        UserNs::Unknown(why) => finding(
            Status::Unknown,
            Text::new(format!("{} ({why})", what.en), format!("{}（{why}）", what.zh)),
        ),
        UserNs::Blocked(b) => {
            let fix = match &b {
                Blocker::MaxZero => Text::new(
                    "sysctl -w user.max_user_namespaces=15000, and the same line in /etc/sysctl.d/ to keep it",
                    "sysctl -w user.max_user_namespaces=15000，并把同样的设置写进 /etc/sysctl.d/ 以便重启后保留",
                ),
                Blocker::CloneDisabled => Text::new(
                    "sysctl -w kernel.unprivileged_userns_clone=1, and the same line in /etc/sysctl.d/ to keep it",
                    "sysctl -w kernel.unprivileged_userns_clone=1，并把同样的设置写进 /etc/sysctl.d/ 以便重启后保留",
                ),
                Blocker::AppArmor => apparmor_fix(profile),
                Blocker::Other { what, errno } => Text::new(
                    format!("{what} fails with {}: check whether a security module (SELinux, seccomp, a container's policy) refuses user namespaces", errno_text(*errno)),
                    format!("{what} 失败：{}；请检查是否有安全模块（SELinux、seccomp、容器的策略）拒绝 user 命名空间", errno_text(*errno)),
                ),
            };
            let what = match &b {
                Blocker::AppArmor => Text::new(
                    format!("{}; Ubuntu's AppArmor restriction: a user namespace is created, but using it fails", what.en),
                    format!("{}；这是 Ubuntu 的 AppArmor 限制：user 命名空间能创建，却不能使用", what.zh),
                ),
                _ => what,
            };
            finding(Status::Problem, what).means(cannot).fix(fix)
        }
    });
    out
}

/// The fix for Ubuntu 24.04's restriction: podlab's own profile, which allows `userns`.
pub fn apparmor_fix(profile: &Path) -> Text {
    let p = profile.display();
    Text::new(
        format!(
            "load podlab's AppArmor profile, which allows user namespaces to programs named podlab only: sudo install -m 644 {p} /etc/apparmor.d/podlab && sudo apparmor_parser -r /etc/apparmor.d/podlab (or, for every program: sysctl -w kernel.apparmor_restrict_unprivileged_userns=0)"
        ),
        format!(
            "加载 podlab 的 AppArmor 配置，它只允许名为 podlab 的程序使用 user 命名空间：sudo install -m 644 {p} /etc/apparmor.d/podlab && sudo apparmor_parser -r /etc/apparmor.d/podlab（或者对所有程序放开：sysctl -w kernel.apparmor_restrict_unprivileged_userns=0）"
        ),
    )
}

fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

fn failed(what: &str, errno: i32) -> Text {
    Text::new(
        format!("{what} fails: {}", errno_text(errno)),
        format!("{what} 失败：{}", errno_text(errno)),
    )
}

fn subids(s: &SubIds, m: &Machine) -> Finding {
    let ranges = |r: &Known<Vec<super::facts::IdRange>>| match r {
        Ok(r) if r.is_empty() => "-".to_string(),
        Ok(r) => r
            .iter()
            .map(|r| format!("{}+{}", r.start, r.count))
            .collect::<Vec<_>>()
            .join(" "),
        Err(u) => format!("? ({u})"),
    };
    let helper = |h: &Helper| match h {
        Helper::Missing => "-".to_string(),
        Helper::Present {
            path,
            privileged: true,
        } => path.display().to_string(),
        Helper::Present {
            path,
            privileged: false,
        } => format!("{} (not setuid)", path.display()),
    };
    let facts = format!(
        "newuidmap {}, newgidmap {}, /etc/subuid {}, /etc/subgid {}",
        helper(&s.newuidmap),
        helper(&s.newgidmap),
        ranges(&s.subuid),
        ranges(&s.subgid)
    );
    let root = m.facts.user.as_ref().is_ok_and(|u| u.is_root());
    if s.usable() {
        return finding(Status::Ok, Text::new(facts.clone(), facts)).means(Text::new(
            "a pod built without root maps 65536 ids, as a node does, and pause runs as 65535",
            "不用 root 构建的 Pod 会映射 65536 个 ID，和真实节点一样，pause 以 65535 运行",
        ));
    }
    let user = match &m.facts.user {
        Ok(u) if !u.is_root() => u.label(),
        _ => "USER".into(),
    };
    finding(
        if root { Status::Note } else { Status::Problem },
        Text::new(facts.clone(), facts),
    )
    .means(Text::new(
        "a pod built without root maps only your own uid (root inside): pause runs as that root instead of 65535, and a container cannot switch to another user",
        "不用 root 构建的 Pod 只映射你自己的 uid（在里面是 root）：pause 以这个 root 运行而不是 65535，容器也不能切换到别的用户",
    ))
    .fix(Text::new(
        format!("apt-get install uidmap && usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}"),
        format!("apt-get install uidmap && usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}"),
    ))
}

fn busybox(m: &Machine) -> Finding {
    let install = Text::new(
        if m.facts.apt_get {
            "apt-get install busybox-static (podlab offers to do it when it starts)"
        } else {
            "install a statically linked busybox (Debian/Ubuntu: busybox-static)"
        },
        if m.facts.apt_get {
            "apt-get install busybox-static（podlab 启动时会提议安装）"
        } else {
            "安装静态链接的 busybox（Debian/Ubuntu：busybox-static）"
        },
    );
    let means = Text::new(
        "podlab builds its images (busybox, the nginx stand-in) from a static busybox; without it no pod starts",
        "podlab 用静态 busybox 构建镜像（busybox 和 nginx 替身）；没有它，任何 Pod 都启动不了",
    );
    match &m.facts.busybox {
        Busybox::Static(p) => finding(
            Status::Ok,
            Text::new(
                format!("static busybox: {}", p.display()),
                format!("静态 busybox：{}", p.display()),
            ),
        ),
        Busybox::Dynamic(p) => finding(
            Status::Problem,
            Text::new(
                format!(
                    "{} is linked dynamically: it cannot run inside a container's rootfs",
                    p.display()
                ),
                format!("{} 是动态链接的：不能在容器的根文件系统里运行", p.display()),
            ),
        )
        .means(means)
        .fix(install),
        Busybox::Missing => finding(Status::Problem, Text::new("no busybox", "没有 busybox"))
            .means(means)
            .fix(install),
        Busybox::Unknown(u) => finding(
            Status::Unknown,
            Text::new(format!("busybox: {u}"), format!("busybox：{u}")),
        ),
    }
}

fn cni(m: &Machine) -> Finding {
    match &m.facts.cni {
        Some(dir) => finding(
            Status::Ok,
            Text::new(
                format!("CNI plugins bridge, host-local, loopback: {}", dir.display()),
                format!("CNI 插件 bridge、host-local、loopback：{}", dir.display()),
            ),
        )
        .means(Text::new(
            "podlab run --network cni wires pods with them, as containerd does",
            "podlab run --network cni 会像 containerd 一样用它们给 Pod 接网络",
        )),
        None => finding(
            Status::Note,
            Text::new(
                "no CNI plugins (/opt/cni/bin, /usr/lib/cni)",
                "没有 CNI 插件（/opt/cni/bin、/usr/lib/cni）",
            ),
        )
        .means(Text::new(
            "podlab wires pods itself (the default, and what lessons use); only --network cni needs them",
            "podlab 自己给 Pod 接网络（默认方式，课程也用它）；只有 --network cni 需要这些插件",
        ))
        .fix(Text::new(
            "apt-get install containernetworking-plugins",
            "apt-get install containernetworking-plugins",
        )),
    }
}

/// The whole report as text.
pub fn render(m: &Machine, profile: &Path, lessons: &[LessonLine], lang: Lang) -> String {
    let mut out = String::new();
    out.push_str(lang.pick(
        "podlab doctor: what this machine lets podlab do\n",
        "podlab doctor：这台机器允许 podlab 做什么\n",
    ));
    for section in sections(m, profile) {
        out.push_str(&format!("\n{}\n", section.title.get(lang)));
        for f in &section.findings {
            out.push_str(&format!("  {} {}\n", f.status.mark(), f.what.get(lang)));
            if let Some(means) = &f.means {
                out.push_str(&format!(
                    "      {}{}\n",
                    lang.pick("means: ", "意味着："),
                    means.get(lang)
                ));
            }
            if let Some(fix) = &f.fix {
                out.push_str(&format!(
                    "      {}{}\n",
                    lang.pick("fix (for an admin): ", "解决办法（交给管理员）："),
                    fix.get(lang)
                ));
            }
        }
    }
    out.push_str(&format!("\n{}\n", lang.pick("Lessons", "课程")));
    let width = lessons.iter().map(|l| l.id.len()).max().unwrap_or(0);
    for l in lessons {
        let v = &l.verdict;
        out.push_str(&format!(
            "  {} {:<width$}  {}\n",
            lesson_mark(v),
            l.id,
            v.reason().get(lang)
        ));
        for note in v.notes.iter().chain(v.blockers.iter().skip(1)) {
            out.push_str(&format!("      {}\n", note.get(lang)));
        }
        if !v.runs() {
            let line = match &l.trace {
                Some(t) => format!(
                    "      {}podlab replay {}\n",
                    lang.pick("instead, its recorded trace: ", "可以改为回放录制的轨迹："),
                    t.display()
                ),
                None => format!(
                    "      {}\n",
                    lang.pick(
                        "no recorded trace is shipped for it",
                        "没有随附它的录制轨迹"
                    )
                ),
            };
            out.push_str(&line);
        }
    }
    let runs = lessons.iter().filter(|l| l.verdict.runs()).count();
    out.push_str(&match lang {
        Lang::En => format!("\n{runs} of {} lessons run here\n", lessons.len()),
        Lang::Zh => format!("\n{} 节课中有 {runs} 节可以在这里运行\n", lessons.len()),
    });
    out
}

/// The lesson list's mark: ● runs here, ↺ only its recording plays.
pub fn lesson_mark(v: &LessonVerdict) -> &'static str {
    if v.runs() {
        "●"
    } else {
        "↺"
    }
}
