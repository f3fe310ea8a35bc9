//! `podlab init`: the process that becomes a container, like `runc init`.
//!
//! The shim starts it with a JSON [`InitConfig`] on fd 3 and a sync pipe on fd 4. Single-threaded
//! from birth, it joins the pod's cgroup and the sandbox's namespaces, creates its own mount (and
//! usually PID) namespace, and clones the container process as a sibling (`CLONE_PARENT`), so the
//! shim becomes its parent and sees it exit. The container process sets up its rootfs and execs.
//!
//! Sync protocol on fd 4: this process writes `pid <host pid>\n`; the container process writes
//! `error <message>\n` if anything fails before exec. EOF after the pid line means exec succeeded.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, FromRawFd};
use std::path::{Path, PathBuf};

use eyre::{eyre, Context, Result};
use nix::sched::{setns, unshare};
use serde::{Deserialize, Serialize};

use super::rootfs;
use super::sys;
use crate::kube::namespaces::{ContainerNamespaces, Namespace};

pub const CONFIG_FD: i32 = 3;
pub const SYNC_FD: i32 = 4;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InitConfig {
    pub container: String,
    /// The sandbox (pause) process whose namespaces the container joins.
    pub sandbox_pid: i32,
    /// Which of pause's namespaces to join and which to make: the plan the step narrates.
    pub namespaces: ContainerNamespaces,
    /// cgroup.procs files to enter before anything is exec'd (cgroup v1, or a kernel
    /// without clone3's `CLONE_INTO_CGROUP`).
    pub cgroup_procs: Vec<PathBuf>,
    /// cgroup v2: the leaf the container process is born in, so nothing is ever moved.
    #[serde(default)]
    pub cgroup_dir: Option<PathBuf>,
    pub oom_score_adj: Option<i32>,
    pub rootfs: rootfs::RootfsConfig,
    pub argv: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    /// The image's user (uid, gid); None: root.
    #[serde(default)]
    pub user: Option<(u32, u32)>,
    pub privileged: bool,
    /// The seccomp filter to install last before exec; None: unconfined.
    #[serde(default)]
    pub seccomp: Option<super::seccomp::Filter>,
}

/// Entry point of `podlab init`. Never returns on success (this process exits, the container execs).
pub fn run() -> Result<()> {
    // SAFETY: the shim gave us these descriptors and nothing else in this process owns them.
    let mut config_file = unsafe { File::from_raw_fd(CONFIG_FD) };
    let mut sync = unsafe { File::from_raw_fd(SYNC_FD) };
    // Closed by the container's exec: the shim reads EOF as "exec succeeded".
    nix::fcntl::fcntl(
        SYNC_FD,
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    )
    .map_err(|e| eyre!("failed to mark the sync pipe close-on-exec: {e}"))?;
    let mut text = Vec::new();
    config_file
        .read_to_end(&mut text)
        .wrap_err("failed to read the container config")?;
    drop(config_file);
    let config: InitConfig =
        serde_json::from_slice(&text).wrap_err("failed to decode the container config")?;
    if let Err(err) = prepare_and_clone(&config, &mut sync) {
        let _ = report(
            &mut sync,
            &format!("error {}", one_line(&format!("{err:#}"))),
        );
        std::process::exit(1);
    }
    std::process::exit(0);
}

fn prepare_and_clone(config: &InitConfig, sync: &mut File) -> Result<()> {
    // On cgroup v2 the container is born in its leaf; elsewhere this process moves there first
    // and the container inherits it.
    let leaf = match &config.cgroup_dir {
        Some(dir) => Some(
            File::open(dir).wrap_err_with(|| format!("failed to open cgroup {}", dir.display()))?,
        ),
        None => {
            enter_cgroups(config)?;
            None
        }
    };
    if let Some(adj) = config.oom_score_adj {
        // Lowering the score needs CAP_SYS_RESOURCE; without it the kernel's default stays.
        let _ = std::fs::write("/proc/self/oom_score_adj", adj.to_string());
    }
    let mut prepared_root = false;
    if config.namespaces.join_user {
        // hostUsers: false. What needs the host's root comes first: the idmapped image and
        // what comes from the pod's directory.
        let path = format!("/proc/{}/ns/user", config.sandbox_pid);
        let userns = File::open(&path)
            .wrap_err_with(|| format!("failed to open the pod's user namespace ({path})"))?;
        rootfs::prepare_idmapped(&config.rootfs, &userns)?;
        prepared_root = true;
        // Joined first: it owns every other namespace of the pod.
        setns(userns.as_fd(), nix::sched::CloneFlags::CLONE_NEWUSER)
            .map_err(|e| eyre!("failed to join the pod's user namespace: {e}"))?;
        super::userns::become_root_inside()
            .map_err(|e| eyre!("failed to become root in the pod's user namespace: {e}"))?;
    }
    join_sandbox(config)?;
    // The cgroup namespace is made by the container process itself, once it is in its leaf:
    // the namespace's root is the cgroup its creator is in.
    let now = config
        .namespaces
        .created()
        .into_iter()
        .filter(|&kind| kind != Namespace::Cgroup);
    unshare(sys::clone_flags(now))
        .map_err(|e| eyre!("failed to create the container's namespaces: {e}"))?;
    // SAFETY: this process is single-threaded (it was just exec'd and started no threads).
    let cloned = match &leaf {
        Some(leaf) => match unsafe { sys::clone_into_cgroup(libc::CLONE_PARENT, leaf.as_fd()) } {
            // Linux < 5.7: no clone3 (ENOSYS) or no CLONE_INTO_CGROUP (E2BIG): move, then fork.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::E2BIG)) => {
                enter_cgroups(config)?;
                unsafe { sys::clone_fork(libc::CLONE_PARENT) }
            }
            other => other,
        },
        None => unsafe { sys::clone_fork(libc::CLONE_PARENT) },
    };
    match cloned {
        Err(e) => Err(eyre!("failed to clone the container process: {e}")),
        Ok(Some(pid)) => {
            report(sync, &format!("pid {pid}")).wrap_err("failed to report the container pid")?;
            Ok(())
        }
        Ok(None) => {
            let err = match container_main(config, sync, prepared_root) {
                Err(err) => err,
                Ok(never) => match never {},
            };
            let _ = report(sync, &format!("error {}", one_line(&format!("{err:#}"))));
            std::process::exit(1);
        }
    }
}

/// Move this process into the container's cgroup, in every hierarchy.
fn enter_cgroups(config: &InitConfig) -> Result<()> {
    let me = std::process::id();
    for procs in &config.cgroup_procs {
        std::fs::write(procs, me.to_string())
            .wrap_err_with(|| format!("failed to enter cgroup {}", procs.display()))?;
    }
    Ok(())
}

/// Join uts, ipc and net of the sandbox (and pid with shareProcessNamespace), in join order.
fn join_sandbox(config: &InitConfig) -> Result<()> {
    for namespace in config.namespaces.joined() {
        let kind = namespace.proc_name();
        let flag = sys::clone_flags([namespace]);
        let path = format!("/proc/{}/ns/{kind}", config.sandbox_pid);
        let ns = File::open(&path).map_err(|e| {
            eyre!(
                "failed to open {kind} namespace of pause (pid {}): {e}",
                config.sandbox_pid
            )
        })?;
        setns(ns.as_fd(), flag).map_err(|e| {
            eyre!(
                "failed to join {kind} namespace of pause (pid {}): {e}",
                config.sandbox_pid
            )
        })?;
    }
    Ok(())
}

enum Never {}

/// The container process: rootfs, security, exec. Returns only on failure.
fn container_main(config: &InitConfig, sync: &mut File, prepared_root: bool) -> Result<Never> {
    sys::set_parent_death_signal().wrap_err("failed to set the parent-death signal")?;
    // If the shim died before the signal was armed, nobody would ever kill us: the shim is the
    // only reader of the sync pipe, so a write fails with EPIPE exactly when it is gone.
    if report(sync, "alive").is_err() {
        std::process::exit(1);
    }
    let _ = nix::unistd::setsid();
    if config.namespaces.own_cgroup {
        unshare(sys::clone_flags([Namespace::Cgroup]))
            .map_err(|e| eyre!("failed to create the container's cgroup namespace: {e}"))?;
    }
    rootfs::setup(&config.rootfs, config.privileged, prepared_root)?;
    let cwd = if config.cwd.is_empty() {
        "/"
    } else {
        &config.cwd
    };
    std::fs::create_dir_all(cwd).wrap_err_with(|| format!("failed to create workingDir {cwd}"))?;
    std::env::set_current_dir(cwd).wrap_err_with(|| format!("failed to enter workingDir {cwd}"))?;
    // seccomp in runc's order (`standard_init_linux.go`): without no_new_privs a filter needs
    // CAP_SYS_ADMIN, so it goes in before the capabilities are dropped; with it, as late as
    // possible, so that the fewest calls run under it.
    let seccomp_early = config
        .seccomp
        .as_ref()
        .filter(|_| !sets_no_new_privs(config));
    if let Some(filter) = seccomp_early {
        install_seccomp(filter)?;
    }
    if !config.privileged {
        super::security::drop_to_default_capabilities()?;
    }
    if let Some((uid, gid)) = config.user {
        become_user(uid, gid)?;
    }
    if let (Some(filter), None) = (&config.seccomp, seccomp_early) {
        install_seccomp(filter)?;
    }
    exec(&config.argv, &config.env)
}

/// Whether the capability step sets no_new_privs (it does for every unprivileged container).
fn sets_no_new_privs(config: &InitConfig) -> bool {
    !config.privileged
}

fn install_seccomp(filter: &super::seccomp::Filter) -> Result<()> {
    super::seccomp::apply(filter).map_err(|e| {
        eyre!(
            "failed to install the seccomp filter ({} instructions): {e}",
            filter.program.len()
        )
    })
}

/// Run as the image's user, as runc does: its group alone as supplementary groups, then the
/// gid, then the uid (which clears the capabilities of a non-root user).
fn become_user(uid: u32, gid: u32) -> Result<()> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    let gid = Gid::from_raw(gid);
    setgroups(&[gid]).map_err(|e| eyre!("failed to set the groups of the image's user: {e}"))?;
    setresgid(gid, gid, gid).map_err(|e| eyre!("failed to become gid {gid}: {e}"))?;
    let uid = Uid::from_raw(uid);
    setresuid(uid, uid, uid).map_err(|e| eyre!("failed to become uid {uid}: {e}"))?;
    Ok(())
}

fn exec(argv: &[String], env: &[String]) -> Result<Never> {
    let program = argv
        .first()
        .ok_or_else(|| eyre!("the container has no command to run"))?;
    let path = resolve_program(program, env)
        .ok_or_else(|| eyre!("executable file not found in $PATH: {program:?}"))?;
    let c_path = cstring(path.to_string_lossy().as_ref())?;
    let c_argv = argv
        .iter()
        .map(|a| cstring(a))
        .collect::<Result<Vec<_>>>()?;
    let c_env = env.iter().map(|e| cstring(e)).collect::<Result<Vec<_>>>()?;
    let err = nix::unistd::execve(&c_path, &c_argv, &c_env).unwrap_err();
    Err(eyre!("failed to exec {program:?}: {err}"))
}

fn resolve_program(program: &str, env: &[String]) -> Option<PathBuf> {
    if program.contains('/') {
        return Some(PathBuf::from(program));
    }
    let path_var = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path_var
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

fn cstring(s: &str) -> Result<std::ffi::CString> {
    std::ffi::CString::new(s).map_err(|_| eyre!("{s:?} contains a NUL byte"))
}

/// One line to the shim in a single write: the container process writes to the same pipe, and
/// writes of up to PIPE_BUF bytes are atomic, so lines never interleave.
fn report(sync: &mut File, line: &str) -> std::io::Result<()> {
    let mut line = format!("{line}\n");
    line.truncate(libc::PIPE_BUF);
    sync.write_all(line.as_bytes())
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}
