//! The sandbox: namespaces held by a process, then pause exec'd in them.
//!
//! Two kernel steps a lesson can stop between: `create` clones a process into the namespaces of
//! the pod's plan (`kube::namespaces::SandboxNamespaces`: new pid, uts, ipc, net and mount
//! namespaces unless the pod shares the host's; it sets the hostname in its own uts namespace
//! and waits); `start` lets it exec pause.
//!
//! Without root the sandbox is made inside the node's user namespace; when that namespace has
//! a range of ids, pause runs as 65535 as kubelet's does (the pause image's `USER`), exec'd
//! from a descriptor the shim opened, so uid 65535 needs no path to the binary.
//!
//! With `hostUsers: false` the same clone makes a user namespace too, which owns the others.
//! The shim writes its maps (`0 65536·N 65536`) at once; the process waits for that, then
//! becomes root of the namespace (65536·N on the host) before it names the host: from then on
//! no process of the pod is the host's root.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::path::Path;

use eyre::{eyre, Result};
use nix::unistd::{pipe2, Pid};

use super::sys;
use crate::kube::namespaces::SandboxNamespaces;

/// A sandbox process that holds the namespaces and waits for the word to exec pause.
pub struct PendingSandbox {
    pub pid: Pid,
    /// Born in the cgroup it was given (cgroup v2, clone3): nothing to move.
    pub born_in_cgroup: bool,
    go: File,
    exec_status: File,
}

/// Name of the waiting process in `ps`, before it becomes pause.
pub const WAITING_NAME: &str = "podlab-sandbox";

#[allow(clippy::too_many_arguments)]
pub fn create(
    namespaces: SandboxNamespaces,
    hostname: &str,
    pause_binary: &Path,
    log: &File,
    cgroup: Option<&Path>,
    run_as: Option<u32>,
    user_ids: Option<crate::kube::userns::IdRange>,
    seccomp: Option<&super::seccomp::Filter>,
) -> Result<PendingSandbox> {
    let cgroup = cgroup
        .map(|dir| {
            File::open(dir).map_err(|e| eyre!("failed to open cgroup {}: {e}", dir.display()))
        })
        .transpose()?;
    let (go_read, go_write) =
        pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| eyre!("failed to create a pipe: {e}"))?;
    let (status_read, status_write) =
        pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| eyre!("failed to create a pipe: {e}"))?;
    let pause = File::open(pause_binary)
        .map_err(|e| eyre!("failed to open {}: {e}", pause_binary.display()))?;
    let host = hostname.as_bytes().to_vec();
    let log_fd = log.as_raw_fd();
    // SAFETY: the shim is single-threaded; the child only makes syscalls, then execs or exits.
    let mut flags = sys::clone_flags(namespaces.created()).bits();
    if namespaces.user {
        flags |= libc::CLONE_NEWUSER;
    }
    let (cloned, born_in_cgroup) = match &cgroup {
        Some(dir) => match unsafe { sys::clone_into_cgroup(flags, dir.as_fd()) } {
            // Linux < 5.7: the shim moves the process instead.
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOSYS) | Some(libc::E2BIG)) => {
                (unsafe { sys::clone_fork(flags) }, false)
            }
            other => (other, true),
        },
        None => (unsafe { sys::clone_fork(flags) }, false),
    };
    match cloned {
        Err(e) => Err(eyre!("failed to create the sandbox namespaces: {e}")),
        Ok(Some(pid)) => {
            drop(go_read);
            drop(status_write);
            let mut go = File::from(go_write);
            if let (true, Some(range)) = (namespaces.user, user_ids) {
                // The first byte tells the process its maps are written.
                let mapped = super::userns::write_maps(pid.as_raw(), range)
                    .and_then(|()| go.write_all(&[1]).map_err(|e| eyre!("{e}")));
                if let Err(e) = mapped {
                    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
                    let _ = nix::sys::wait::waitpid(pid, None);
                    return Err(e.wrap_err("failed to map the pod's user namespace"));
                }
            }
            Ok(PendingSandbox {
                pid,
                born_in_cgroup,
                go,
                exec_status: File::from(status_read),
            })
        }
        Ok(None) => {
            drop(go_write);
            drop(status_read);
            let errno = sandbox_child(namespaces, &host, go_read, log_fd, &pause, run_as, seccomp);
            let mut status = File::from(status_write);
            let _ = status.write_all(&errno.to_ne_bytes());
            unsafe { libc::_exit(127) }
        }
    }
}

/// Runs in the cloned child; returns the errno of what failed.
fn sandbox_child(
    namespaces: SandboxNamespaces,
    hostname: &[u8],
    go: OwnedFd,
    log_fd: i32,
    pause: &File,
    run_as: Option<u32>,
    seccomp: Option<&super::seccomp::Filter>,
) -> i32 {
    let errno = || {
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO)
    };
    unsafe {
        if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) < 0 {
            return errno();
        }
        sys::set_process_name(WAITING_NAME);
        // The shim blocks signals for its signalfd and ignores SIGPIPE; pause must start clean.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        if namespaces.user {
            let mut mapped = 0u8;
            if libc::read(go.as_raw_fd(), (&mut mapped as *mut u8).cast(), 1) != 1 {
                libc::_exit(0);
            }
            // Root of the pod's user namespace; changing ids clears the parent-death signal.
            if super::userns::become_root_inside().is_err()
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) < 0
            {
                return errno();
            }
        }
        if namespaces.sets_hostname()
            && libc::sethostname(hostname.as_ptr().cast(), hostname.len()) < 0
        {
            return errno();
        }
        if namespaces.net {
            // /proc/sys/net is the namespace of whoever opens it: this child's, the pod's.
            use crate::kube::namespaces::{highest_mapped_id, pod_net_sysctls};
            let gid_map = std::fs::read_to_string("/proc/self/gid_map").unwrap_or_default();
            for (path, value) in pod_net_sysctls(highest_mapped_id(&gid_map)) {
                match std::fs::write(path, value) {
                    Ok(()) => {}
                    // A kernel without the setting (before 4.11): containerd skips it too.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return e.raw_os_error().unwrap_or(libc::EIO),
                }
            }
        }
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDONLY);
        if null >= 0 {
            libc::dup2(null, 0);
        }
        libc::dup2(log_fd, 1);
        libc::dup2(log_fd, 2);
        let mut byte = 0u8;
        if libc::read(go.as_raw_fd(), (&mut byte as *mut u8).cast(), 1) != 1 {
            // The shim went away before starting pause: nothing to hold the namespaces for.
            libc::_exit(0);
        }
        // seccomp last but for the ids: sethostname is not in RuntimeDefault, and without
        // no_new_privs installing a filter needs CAP_SYS_ADMIN, which changing ids drops
        // (runc's order).
        if let Some(filter) = seccomp {
            if let Err(e) = super::seccomp::apply(filter) {
                return e.raw_os_error().unwrap_or(libc::EIO);
            }
        }
        if let Some(id) = run_as {
            // After the hostname, which needs root in the namespace; changing ids clears the
            // parent-death signal, so it is set again.
            if libc::setgroups(0, std::ptr::null()) < 0
                || libc::setgid(id) < 0
                || libc::setuid(id) < 0
                || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) < 0
            {
                return errno();
            }
        }
        let argv = [c"pause".as_ptr(), std::ptr::null()];
        let envp = [std::ptr::null()];
        libc::fexecve(pause.as_raw_fd(), argv.as_ptr(), envp.as_ptr());
        errno()
    }
}

impl PendingSandbox {
    /// Let the waiting process exec pause, and confirm that the exec succeeded.
    pub fn start(mut self) -> Result<Pid> {
        self.go
            .write_all(&[1])
            .map_err(|e| eyre!("failed to start pause (pid {}): {e}", self.pid))?;
        let mut buf = [0u8; 4];
        match self.exec_status.read(&mut buf) {
            Ok(0) => Ok(self.pid),
            Ok(_) => Err(eyre!(
                "failed to exec pause (pid {}): {}",
                self.pid,
                std::io::Error::from_raw_os_error(i32::from_ne_bytes(buf))
            )),
            Err(e) => Err(eyre!("failed to learn whether pause started: {e}")),
        }
    }
}

/// Bring `lo` up in the sandbox's net namespace: a new namespace starts with it down, and
/// containers of a pod talk to each other over it.
pub fn loopback_up(sandbox_pid: Pid) -> Result<()> {
    let ns = File::open(format!("/proc/{sandbox_pid}/ns/net"))
        .map_err(|e| eyre!("failed to open net namespace of pause (pid {sandbox_pid}): {e}"))?;
    // SAFETY: single-threaded shim; the child only makes syscalls and exits.
    match unsafe { sys::clone_fork(0) } {
        Err(e) => Err(eyre!("failed to fork: {e}")),
        Ok(None) => {
            let code = unsafe {
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) < 0 {
                    1
                } else if set_link_up(c"lo").is_err() {
                    2
                } else {
                    0
                }
            };
            unsafe { libc::_exit(code) }
        }
        Ok(Some(child)) => match nix::sys::wait::waitpid(child, None) {
            Ok(nix::sys::wait::WaitStatus::Exited(_, 0)) => Ok(()),
            Ok(status) => Err(eyre!(
                "failed to bring lo up in net namespace of pause (pid {sandbox_pid}): {status:?}"
            )),
            Err(e) => Err(eyre!("failed to wait for the network helper: {e}")),
        },
    }
}

fn set_link_up(name: &std::ffi::CStr) -> std::io::Result<()> {
    unsafe {
        let sock = libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0);
        if sock < 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mut req: libc::ifreq = std::mem::zeroed();
        let bytes = name.to_bytes();
        for (dst, src) in req.ifr_name.iter_mut().zip(bytes) {
            *dst = *src as libc::c_char;
        }
        if libc::ioctl(sock, libc::SIOCGIFFLAGS, &mut req) < 0 {
            libc::close(sock);
            return Err(std::io::Error::last_os_error());
        }
        req.ifr_ifru.ifru_flags |= libc::IFF_UP as libc::c_short;
        let ret = libc::ioctl(sock, libc::SIOCSIFFLAGS, &req);
        libc::close(sock);
        if ret < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}
