//! What a lesson needs from the machine beyond a pod: enforced cgroup limits (its checks read
//! requests and limits back, or wait for an OOM kill), the host's own network (hostNetwork),
//! or the host's root (a privileged container). As root every machine podlab runs on has them;
//! without root, limits need a delegated cgroup subtree and the other two need root.

use crate::i18n::{Lang, Text};
use crate::lesson::schema::Check;
use crate::lesson::Lesson;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Checks of cgroup values or of an OOM kill.
    CgroupLimits,
    /// A pod with hostNetwork: true.
    HostNetwork,
    /// A container with privileged: true.
    Privileged,
    /// The learner builds a pod by hand on the host (`owns:`): a cgroup, a veth, namespaces.
    HandMade,
}

impl Need {
    /// Why the lesson cannot run without root (for limits: unless a subtree is delegated).
    pub fn without_root(self, lang: Lang) -> &'static str {
        match self {
            Need::CgroupLimits => lang.pick(
                "its checks read cgroup limits back, and limits are enforced without root only in a delegated cgroup v2 subtree",
                "它的检查要读回 cgroup 限制，而不用 root 时只有在委派的 cgroup v2 子树里限制才会生效",
            ),
            Need::HostNetwork => lang.pick(
                "a hostNetwork pod without root gets the node's network (podlab-node's), not the host's",
                "不用 root 时 hostNetwork 的 Pod 得到的是节点（podlab-node）的网络，而不是宿主机的",
            ),
            Need::Privileged => lang.pick(
                "a privileged container without root is root only in your user namespace, not on the host",
                "不用 root 时，特权容器只是你的 user 命名空间里的 root，而不是宿主机的 root",
            ),
            Need::HandMade => lang.pick(
                "you build a pod by hand on the host: a cgroup below the root, a veth pair and new namespaces need root",
                "你要在宿主机上亲手搭一个 Pod：在根下建 cgroup、建 veth 对和新的命名空间都需要 root",
            ),
        }
    }
}

/// What `lesson` needs, each once, in the order of [`Need`].
pub fn needs(lesson: &Lesson) -> Vec<Need> {
    let mut found = Vec::new();
    for step in lesson.steps() {
        if let Some(check) = &step.check {
            visit(check, &mut found);
        }
    }
    for lp in &lesson.pods {
        let spec = &lp.pod.spec;
        if spec.host_network {
            found.push(Need::HostNetwork);
        }
        if spec
            .init_containers
            .iter()
            .chain(&spec.containers)
            .any(|c| c.is_privileged())
        {
            found.push(Need::Privileged);
        }
    }
    if lesson.file.owns.is_some() {
        found.push(Need::HandMade);
    }
    let mut out: Vec<Need> = [
        Need::CgroupLimits,
        Need::HostNetwork,
        Need::Privileged,
        Need::HandMade,
    ]
    .into_iter()
    .filter(|n| found.contains(n))
    .collect();
    out.dedup();
    out
}

fn visit(check: &Check, found: &mut Vec<Need>) {
    match check {
        Check::All(checks) => checks.iter().for_each(|c| visit(c, found)),
        Check::Cgroup(c)
            if c.cpu_request.is_some()
                || c.cpu_limit.is_some()
                || c.memory_limit.is_some()
                || c.throttled.is_some() =>
        {
            found.push(Need::CgroupLimits)
        }
        Check::Container(c) if c.reason.as_deref() == Some("OOMKilled") => {
            found.push(Need::CgroupLimits)
        }
        _ => {}
    }
}

/// Why `lesson` cannot run for a builder without root on this machine; `limits_enforced`
/// says whether a delegated subtree enforces limits here. None: it can run.
pub fn blocked_without_root(lesson: &Lesson, limits_enforced: bool) -> Option<Text> {
    let blocking: Vec<Need> = needs(lesson)
        .into_iter()
        .filter(|n| *n != Need::CgroupLimits || !limits_enforced)
        .collect();
    if blocking.is_empty() {
        return None;
    }
    let say = |lang: Lang| {
        let why: Vec<&str> = blocking.iter().map(|n| n.without_root(lang)).collect();
        format!(
            "{} {}",
            lang.pick("needs root here:", "这里需要 root："),
            why.join(lang.pick("; ", "；"))
        )
    };
    Some(Text::new(say(Lang::En), say(Lang::Zh)))
}

#[cfg(podlab_host)]
/// Without root, a lesson this machine cannot run (it needs enforced limits, the host's
/// network or the host's root) is refused before any pod is made, with what to do instead.
pub fn runs_here(lesson: &crate::lesson::Lesson, lang: Lang) -> eyre::Result<()> {
    use crate::runtime::rootless::{self, delegation};
    if !rootless::is_rootless() {
        return Ok(());
    }
    let enforced = matches!(delegation::detect(), delegation::Limits::Delegated { .. });
    let Some(why) = blocked_without_root(lesson, enforced) else {
        return Ok(());
    };
    let number = lesson.id().split('-').next().unwrap_or_default();
    let trace = format!("assets/traces/lesson-{number}.trace.jsonl");
    Err(eyre::eyre!(
        "podlab lesson {}: {}. {} sudo podlab lesson {}{} podlab replay {trace}",
        lesson.id(),
        why.get(lang),
        lang.pick("Run it as root:", "以 root 运行："),
        lesson.id(),
        lang.pick("; or watch it as recorded:", "；或者观看录制好的课程："),
    ))
}
