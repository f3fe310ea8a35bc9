//! `podlab exec`: run a command in exactly a container's namespaces, cgroup and root, with this
//! terminal as its stdio (a real tty when we have one), like `nsenter` + `runc exec`.

use std::fs::File;
use std::os::fd::{AsFd, RawFd};

use eyre::{eyre, Context, Result};
use nix::sched::{setns, CloneFlags};
use nix::sys::signal::{signal, SigHandler, Signal};
use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::{fork, ForkResult};

use super::container::container_env;
use super::sys::{self, LiveProcess};
use crate::kube::namespaces::Namespace;
use crate::kube::pod_state::{ContainerState, PodState};
use crate::observe::procfs_read::read_cgroup;

/// Everything needed to run a command in a container, opened while the container runs.
pub struct ExecTarget {
    /// The container's user namespace when it is not ours (a pod built without root, seen
    /// from outside the node): joined first, as it gives the capabilities to join the rest.
    user: Option<File>,
    /// The container's other namespaces that differ from ours, in join order.
    namespaces: Vec<(File, CloneFlags, &'static str)>,
    cgroup_procs: Vec<std::path::PathBuf>,
    env: Vec<String>,
    cwd: String,
    /// Who the command runs as and what it may do: what the container's process was started
    /// with (runc exec uses the container's process spec).
    process: ExecProcess,
    /// The container's seccomp filter: `runc exec` gives the new process the container's.
    seccomp: Option<super::seccomp::Filter>,
}

/// Written next to the container's writable layer when it starts, read by `podlab exec`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ExecProcess {
    pub user: Option<crate::kube::security::ProcessUser>,
    pub privileged: bool,
    pub capabilities: u64,
    pub no_new_privs: bool,
}

/// The file in a container's state directory that holds its [`ExecProcess`].
pub const EXEC_PROCESS_FILE: &str = "process.json";

impl ExecTarget {
    /// Open the namespaces and find the cgroup of the running `container` of `pod`.
    pub fn of(pod: &PodState, container: &str) -> Result<ExecTarget> {
        let status = pod
            .containers
            .iter()
            .find(|c| c.name == container)
            .ok_or_else(|| {
                let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
                eyre!(
                    "container {container:?} is not in pod {}; its containers: {}",
                    pod.name,
                    names.join(", ")
                )
            })?;
        let process = match (&status.state, status.process) {
            (ContainerState::Running { .. }, Some(p)) if p.is_alive() => p,
            _ => {
                return Err(eyre!(
                    "container {container:?} of pod {} is not running",
                    pod.name
                ))
            }
        };
        let spec = pod
            .pod
            .spec
            .init_containers
            .iter()
            .chain(&pod.pod.spec.containers)
            .find(|c| c.name == container)
            .ok_or_else(|| eyre!("container {container:?} is missing from the pod's spec"))?;
        let open = |kind: &str| {
            File::open(format!("/proc/{}/ns/{kind}", process.pid)).wrap_err_with(|| {
                format!(
                    "failed to open {kind} namespace of {container:?} (pid {})",
                    process.pid
                )
            })
        };
        let user = Some(open("user")?).filter(|f| !sys::same_file(f, "/proc/self/ns/user"));
        // Every kind in the table, in its join order: mnt last, after it host paths are gone.
        // One that is ours already is left out: joining it again would need root over it
        // (the host's cgroup namespace, seen from a node's user namespace).
        let mut namespaces = vec![];
        for namespace in Namespace::ALL {
            let kind = namespace.proc_name();
            let file = open(kind)?;
            if !sys::same_file(&file, &format!("/proc/self/ns/{kind}")) {
                namespaces.push((file, sys::clone_flags([namespace]), kind));
            }
        }
        Ok(ExecTarget {
            user,
            namespaces,
            // A pod without cgroups of its own (built without root, nothing delegated) runs in
            // its user's cgroup, which is no place to move a process into.
            cgroup_procs: if pod.cgroup.is_empty() {
                vec![]
            } else {
                cgroup_procs_of(process.pid)
            },
            // What the container was started with (its image's Env too), as runc exec uses
            // the container's own process env.
            env: container_environ(process.pid).unwrap_or_else(|| {
                let vars = crate::kube::env::container_vars(
                    &pod.pod,
                    spec,
                    &super::container::env_context(pod),
                );
                container_env(&pod.pod, spec, &vars, &[], "/root")
            }),
            cwd: spec.working_dir.clone().unwrap_or_else(|| "/".into()),
            process: exec_process(pod, spec),
            seccomp: super::seccomp::for_container(&pod.pod, spec)?,
        })
    }
}

/// What the container's process was started with, from its state directory; a pod whose
/// shim wrote none (an older podlab) gets the securityContext's capabilities as root.
fn exec_process(pod: &PodState, spec: &crate::spec::Container) -> ExecProcess {
    let file = super::paths::containers_dir(&pod.uid)
        .join(&spec.name)
        .join(EXEC_PROCESS_FILE);
    std::fs::read(&file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_else(|| {
            let eff = crate::kube::security::effective(&pod.pod.spec, spec);
            ExecProcess {
                user: None,
                privileged: eff.privileged,
                capabilities: eff.capabilities,
                no_new_privs: eff.no_new_privs,
            }
        })
}

/// no_new_privs, capabilities and user of the container's process, in runc's order (as
/// `podlab init`): without no_new_privs a seccomp filter needs CAP_SYS_ADMIN, so it goes in
/// here, before the capabilities are cut; with it, the caller installs it just before exec.
fn become_the_container(
    process: &ExecProcess,
    seccomp: Option<&super::seccomp::Filter>,
) -> Result<()> {
    if process.no_new_privs {
        super::security::set_no_new_privs()?;
    } else if let Some(filter) = seccomp {
        super::seccomp::apply(filter)
            .map_err(|e| eyre!("failed to install the seccomp filter: {e}"))?;
    }
    super::security::become_process(
        process.user.as_ref(),
        (!process.privileged).then_some(process.capabilities),
    )
}

/// The environment a container's process was started with.
fn container_environ(pid: i32) -> Option<Vec<String>> {
    let bytes = std::fs::read(format!("/proc/{pid}/environ")).ok()?;
    let env: Vec<String> = bytes
        .split(|b| *b == 0)
        .filter(|v| !v.is_empty())
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    (!env.is_empty()).then_some(env)
}

fn c_argv(argv: &[String]) -> Result<Vec<std::ffi::CString>> {
    let argv: Vec<std::ffi::CString> = argv
        .iter()
        .map(|a| std::ffi::CString::new(a.as_str()))
        .collect::<Result<_, _>>()
        .map_err(|_| eyre!("the command contains a NUL byte"))?;
    if argv.is_empty() {
        return Err(eyre!(
            "no command given; for example: podlab exec POD -- sh"
        ));
    }
    Ok(argv)
}

/// Run `argv` in `container` of `pod`; returns the command's exit code.
///
/// Must be called while the process is single-threaded (it forks and setns's).
pub fn exec(pod: &PodState, container: &str, argv: &[String]) -> Result<i32> {
    let target = ExecTarget::of(pod, container)?;
    let argv = c_argv(argv)?;
    // SAFETY: the caller guarantees a single-threaded process.
    match unsafe { fork() }.map_err(|e| eyre!("failed to fork: {e}"))? {
        ForkResult::Parent { child } => {
            // The terminal's Ctrl-C is for the command, not for us.
            unsafe {
                let _ = signal(Signal::SIGINT, SigHandler::SigIgn);
                let _ = signal(Signal::SIGQUIT, SigHandler::SigIgn);
            }
            wait_exit_code(child)
        }
        ForkResult::Child => {
            let code = match enter_and_run(&target, &argv, None) {
                Ok(code) => code,
                Err(e) => {
                    eprintln!("podlab exec: {e:#}");
                    126
                }
            };
            std::process::exit(code)
        }
    }
}

/// For a child the shim forked (a probe or a hook): enter `target`, run `argv` with stdout and
/// stderr on `output`, and return its exit code (126/127 when it could not run, as a shell says).
/// The command dies with this process (PR_SET_PDEATHSIG), so killing it at a timeout is enough.
pub fn run_captured(target: &ExecTarget, argv: &[String], output: RawFd) -> i32 {
    let argv = match c_argv(argv) {
        Ok(a) => a,
        Err(e) => {
            let _ = nix::unistd::write(
                unsafe { std::os::fd::BorrowedFd::borrow_raw(output) },
                format!("{e}\n").as_bytes(),
            );
            return 126;
        }
    };
    match enter_and_run(target, &argv, Some(output)) {
        Ok(code) => code,
        Err(e) => {
            let _ = nix::unistd::write(
                unsafe { std::os::fd::BorrowedFd::borrow_raw(output) },
                format!("{e:#}\n").as_bytes(),
            );
            126
        }
    }
}

/// In the forked child: join everything, then fork once more so the command is inside the
/// PID namespace (setns on a PID namespace applies to children only).
fn enter_and_run(
    target: &ExecTarget,
    argv: &[std::ffi::CString],
    output: Option<RawFd>,
) -> Result<i32> {
    let me = std::process::id().to_string();
    for procs in &target.cgroup_procs {
        std::fs::write(procs, &me)
            .wrap_err_with(|| format!("failed to enter cgroup {}", procs.display()))?;
    }
    if let Some(user) = &target.user {
        setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
            .map_err(|e| eyre!("failed to join the user namespace: {e}"))?;
        // A pod's own user namespace (hostUsers: false) does not map the host's root: run as
        // its root, as the container does.
        super::userns::become_root_inside()
            .map_err(|e| eyre!("failed to become root in the user namespace: {e}"))?;
    }
    for (file, flag, kind) in &target.namespaces {
        setns(file.as_fd(), *flag)
            .map_err(|e| eyre!("failed to join the {kind} namespace: {e}"))?;
    }
    let forked = unsafe { fork() }.map_err(|e| match e {
        // The pids controller refuses the fork: the pod is at its limit.
        nix::errno::Errno::EAGAIN => eyre!(
            "failed to fork inside the container's cgroup: {e} (the pod has as many processes \
             as its pids.max allows, kubelet's podPidsLimit; wait for some to exit)"
        ),
        e => eyre!("failed to fork inside the container's namespaces: {e}"),
    })?;
    match forked {
        ForkResult::Parent { child } => wait_exit_code(child),
        ForkResult::Child => {
            let _ = std::env::set_current_dir(&target.cwd);
            if let Some(fd) = output {
                unsafe {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0);
                    let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
                    if null >= 0 {
                        libc::dup2(null, 0);
                    }
                    libc::dup2(fd, 1);
                    libc::dup2(fd, 2);
                }
            }
            if let Err(e) = become_the_container(&target.process, target.seccomp.as_ref()) {
                eprintln!("podlab exec: {e:#}");
                std::process::exit(126);
            }
            unsafe {
                let _ = signal(Signal::SIGINT, SigHandler::SigDfl);
                let _ = signal(Signal::SIGQUIT, SigHandler::SigDfl);
                let _ = signal(Signal::SIGPIPE, SigHandler::SigDfl);
                // A child of the shim inherits its blocked signals; the command must not.
                let _ = nix::sys::signal::SigSet::empty().thread_set_mask();
            }
            let env: Vec<std::ffi::CString> = target
                .env
                .iter()
                .filter_map(|e| std::ffi::CString::new(e.as_str()).ok())
                .collect();
            // execvpe searches the PATH of this process, not the one it passes on: make it the
            // container's (a learner's own PATH often lacks /usr/sbin, where httpd is).
            if let Some(path) = target.env.iter().find_map(|e| e.strip_prefix("PATH=")) {
                std::env::set_var("PATH", path);
            }
            if let Some(filter) = target
                .seccomp
                .as_ref()
                .filter(|_| target.process.no_new_privs)
            {
                if let Err(e) = super::seccomp::apply(filter) {
                    eprintln!("podlab exec: failed to install the seccomp filter: {e}");
                    std::process::exit(126);
                }
            }
            let Err(err) = nix::unistd::execvpe(&argv[0], argv, &env);
            eprintln!("podlab exec: failed to run {:?}: {err}", argv[0]);
            std::process::exit(if err == nix::errno::Errno::ENOENT {
                127
            } else {
                126
            })
        }
    }
}

fn wait_exit_code(child: nix::unistd::Pid) -> Result<i32> {
    loop {
        match waitpid(child, None) {
            Ok(WaitStatus::Exited(_, code)) => return Ok(code),
            Ok(WaitStatus::Signaled(_, sig, _)) => return Ok(128 + sig as i32),
            Ok(_) => continue,
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(eyre!("failed to wait for the command: {e}")),
        }
    }
}

/// The `cgroup.procs` files of every non-root cgroup the process is in (v1 and v2).
fn cgroup_procs_of(pid: i32) -> Vec<std::path::PathBuf> {
    let Ok(memberships) = read_cgroup(std::path::Path::new("/proc"), pid) else {
        return vec![];
    };
    let mut out = vec![];
    for membership in &memberships {
        let controllers = membership.controllers.join(",");
        let path = membership.path.as_str();
        if path == "/" {
            continue;
        }
        let mount = if controllers.is_empty() {
            "unified".to_string()
        } else {
            controllers.trim_start_matches("name=").to_string()
        };
        let base = std::path::Path::new("/sys/fs/cgroup");
        let candidates = if controllers.is_empty() {
            vec![
                base.join(path.trim_start_matches('/')),
                base.join(&mount).join(path.trim_start_matches('/')),
            ]
        } else {
            vec![base.join(&mount).join(path.trim_start_matches('/'))]
        };
        if let Some(dir) = candidates
            .into_iter()
            .find(|d| d.join("cgroup.procs").exists())
        {
            out.push(dir.join("cgroup.procs"));
        }
    }
    out
}
