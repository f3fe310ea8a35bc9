//! What podlab needs before it can build a pod: root (the static busybox its images are made
//! from is `runtime::images::ensure_busybox`). The check says exactly what is missing and what
//! to run; where it can, it offers to fix it.

use std::io::IsTerminal;
use std::process::Command;

use eyre::{eyre, Result};

use crate::i18n::Lang;

/// Namespaces, mounts, cgroups and network devices all need root (CAP_SYS_ADMIN and friends).
pub fn require_root(what: &str, lang: Lang) -> Result<()> {
    let root = nix::unistd::geteuid().is_root();
    let admin = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_ADMIN,
    )
    .unwrap_or(false);
    if root && admin {
        return Ok(());
    }
    let args: Vec<String> = std::env::args().collect();
    if !root && std::io::stdin().is_terminal() && offer_sudo(what, lang)? {
        // Only returns if exec failed.
        return Err(eyre!(
            "{}",
            lang.pick("failed to re-run with sudo", "用 sudo 重新运行失败")
        ));
    }
    Err(eyre!(
        "{what} {} sudo {}",
        lang.pick(
            "needs root (CAP_SYS_ADMIN) to create namespaces, mounts and cgroups; run:",
            "需要 root 权限（CAP_SYS_ADMIN）来创建命名空间、挂载点和 cgroup；请运行："
        ),
        args.join(" ")
    ))
}

/// Ask to re-run this very command with sudo; on yes, exec it (never returns then).
fn offer_sudo(what: &str, lang: Lang) -> Result<bool> {
    use std::os::unix::process::CommandExt;
    let Some(sudo) = ["/usr/bin/sudo", "/bin/sudo"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        return Ok(false);
    };
    let question = format!(
        "{what} {}",
        lang.pick(
            "needs root to create namespaces, mounts and cgroups. Re-run it with sudo? [Y/n]",
            "需要 root 权限来创建命名空间、挂载点和 cgroup。用 sudo 重新运行吗？[Y/n]"
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
