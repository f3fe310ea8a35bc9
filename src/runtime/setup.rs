//! What podlab needs before it can build a pod: root, or user namespaces a user may make
//! (the static busybox its images are made from is `runtime::images::ensure_busybox`). The
//! check says exactly what is missing and what to run; where it can, it offers to fix it.

use std::io::IsTerminal;
use std::process::Command;

use eyre::{eyre, Result};

use super::rootless::{self, check};
use crate::i18n::Lang;

/// Namespaces, mounts, cgroups and network devices: as root on the host, or without root in a
/// user namespace of the learner's (rootless). Rootless comes first; when this machine does
/// not allow it, podlab offers sudo, and otherwise says what still works.
pub fn require_builder(what: &str, lang: Lang) -> Result<()> {
    if !rootless::is_rootless() {
        let admin = caps::has_cap(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_ADMIN,
        )
        .unwrap_or(false);
        if admin {
            return Ok(());
        }
        return Err(eyre!(
            "{what} {}",
            lang.pick(
                "runs as root without CAP_SYS_ADMIN (in a container?): it needs it to create namespaces, mounts and cgroups",
                "以 root 运行但没有 CAP_SYS_ADMIN（在容器里？）：创建命名空间、挂载点和 cgroup 需要它",
            )
        ));
    }
    let Err(blocker) = check::probe() else {
        return Ok(());
    };
    let why = blocker.explain(lang);
    let args: Vec<String> = std::env::args().collect();
    if std::io::stdin().is_terminal() && offer_sudo(what, &why, lang)? {
        // Only returns if exec failed.
        return Err(eyre!(
            "{}",
            lang.pick("failed to re-run with sudo", "用 sudo 重新运行失败")
        ));
    }
    Err(eyre!(
        "{what}: {why} ({} sudo {})",
        lang.pick("with root:", "以 root 运行："),
        args.join(" ")
    ))
}

/// One line for the learner before a rootless pod is built: how, and the alternative.
pub fn say_rootless(what: &str, lang: Lang) {
    if !rootless::is_rootless() {
        return;
    }
    eprintln!(
        "{what}: {}",
        lang.pick(
            "no root, so podlab builds pods rootless: in a user namespace of yours, held by podlab-node (with root instead: sudo podlab …)",
            "没有 root，podlab 以 rootless 方式构建 Pod：放在你自己的 user 命名空间里，由 podlab-node 持有（要用 root：sudo podlab …）",
        )
    );
}

/// After a rootless pod is made: which process holds the node, how it goes away, the ids of
/// its user namespace and whether limits are enforced.
pub fn say_node(state: &crate::kube::pod_state::PodState, lang: Lang) {
    let Some(rootless) = &state.rootless else {
        return;
    };
    let pid = rootless.node.pid;
    match lang {
        Lang::En => eprintln!(
            "rootless: podlab-node (pid {pid}) holds your node's user and net namespaces, where the bridge podlab0 lives; it exits a second after your last pod, and podlab gc stops one left over"
        ),
        Lang::Zh => eprintln!(
            "rootless：podlab-node（pid {pid}）持有你的节点的 user 和 net 命名空间，网桥 podlab0 就在其中；你的最后一个 Pod 结束一秒后它会退出，遗留的由 podlab gc 停止"
        ),
    }
    if let Some(node) = rootless::node::read_record().filter(|n| n.holder == rootless.node) {
        eprintln!("rootless: {}", node.ids.explain(lang));
    }
    if let Some(why) = &rootless.limits_not_enforced {
        eprintln!("rootless: {}", why.get(lang));
    }
}

/// Ask to re-run this very command with sudo; on yes, exec it (never returns then).
fn offer_sudo(what: &str, why: &str, lang: Lang) -> Result<bool> {
    use std::os::unix::process::CommandExt;
    let Some(sudo) = ["/usr/bin/sudo", "/bin/sudo"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        return Ok(false);
    };
    let question = format!(
        "{what}: {why}\n{}",
        lang.pick(
            "Re-run it with sudo, as root? [Y/n]",
            "用 sudo 以 root 重新运行吗？[Y/n]"
        )
    );
    if !Lang::ask(&question, true)? {
        return Ok(false);
    }
    let exe = std::env::current_exe()?;
    let err = Command::new(sudo)
        .arg(exe)
        .args(std::env::args_os().skip(1))
        .exec();
    Err(eyre!("failed to run sudo: {err}"))
}
