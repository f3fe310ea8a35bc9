//! The syscall floor of a pod: only what the kernel must do for pause + 2 joined containers.
//!
//! * pause: `clone(CLONE_NEWPID|CLONE_NEWNET|CLONE_NEWIPC|CLONE_NEWUTS|CLONE_NEWNS)` + `execve`.
//! * each container: `fork`; in the child `setns` into pause's net, ipc and uts, then
//!   `unshare(CLONE_NEWNS|CLONE_NEWPID)` and `clone(CLONE_PARENT)` so the container process is
//!   PID 1 of its own PID namespace, which `execve`s `sleep`.
//!
//! No mounts (no rootfs, no /proc, no pivot_root), no cgroups, no capabilities dropped, no state
//! on disk. Started means: every process has exec'd (a close-on-exec pipe reads EOF). Teardown
//! is SIGKILL + waitpid of the three processes.
//!
//! The caller must be single-threaded: the children do only async-signal-safe calls before exec.

use std::ffi::CString;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// One running floor pod.
pub struct FloorPod {
    pub pause: libc::pid_t,
    pub containers: Vec<libc::pid_t>,
}

impl FloorPod {
    /// Starts pause and `containers` joiners that exec `sleep 3600`; returns once all exec'd.
    /// `after_pause` runs between pause and the joiners (to wire the pod network).
    pub fn start(
        pause_exe: &Path,
        sleep_exe: &Path,
        containers: usize,
        after_pause: impl FnOnce(libc::pid_t),
    ) -> io::Result<FloorPod> {
        let pause_argv = argv(&[pause_exe.to_str().unwrap_or_default()])?;
        let sleep_argv = argv(&[sleep_exe.to_str().unwrap_or_default(), "3600"])?;
        let sandbox = libc::CLONE_NEWPID
            | libc::CLONE_NEWNET
            | libc::CLONE_NEWIPC
            | libc::CLONE_NEWUTS
            | libc::CLONE_NEWNS;
        let (read, write) = exec_pipe()?;
        // SAFETY: single-threaded caller; the child only calls execve and _exit.
        let pause = match unsafe { clone(sandbox) }? {
            0 => unsafe { exec_or_exit(&pause_argv) },
            pid => pid,
        };
        drop(write);
        let mut pod = FloorPod {
            pause,
            containers: vec![],
        };
        wait_exec(read)?;
        after_pause(pause);
        let ns: Vec<CString> = ["net", "ipc", "uts"]
            .iter()
            .map(|kind| CString::new(format!("/proc/{pause}/ns/{kind}")))
            .collect::<Result<_, _>>()
            .map_err(io::Error::other)?;
        for _ in 0..containers {
            let (read, write) = exec_pipe()?;
            let (pid_read, pid_write) = exec_pipe()?;
            // SAFETY: as above; open, setns, unshare, clone, write, execve and _exit only.
            let joiner = match unsafe { libc::fork() } {
                -1 => return Err(io::Error::last_os_error()),
                0 => unsafe { join_and_exec(&ns, pid_write.as_raw_fd(), &sleep_argv) },
                pid => pid,
            };
            drop(write);
            drop(pid_write);
            let container = read_pid(&pid_read);
            wait_exec(read)?;
            // The joiner exits once it has cloned the container, whose parent we are.
            unsafe { libc::waitpid(joiner, std::ptr::null_mut(), 0) };
            pod.containers.push(
                container.ok_or_else(|| io::Error::other("a floor container failed to start"))?,
            );
        }
        Ok(pod)
    }

    /// SIGKILL and reap every process.
    pub fn stop(mut self) {
        self.kill_all();
    }

    fn kill_all(&mut self) {
        for pid in self.containers.drain(..).chain([self.pause]) {
            if pid > 0 {
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::waitpid(pid, std::ptr::null_mut(), 0);
                }
            }
        }
        self.pause = 0;
    }
}

impl Drop for FloorPod {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// In the forked joiner: enter pause's namespaces, make the container's own, clone the
/// container process as a sibling (our parent's child), report its pid, exit.
unsafe fn join_and_exec(ns: &[CString], pid_pipe: i32, argv: &[*const libc::c_char]) -> ! {
    for path in ns {
        let fd = libc::open(path.as_ptr(), libc::O_RDONLY | libc::O_CLOEXEC);
        if fd < 0 || libc::setns(fd, 0) != 0 {
            libc::_exit(1);
        }
        libc::close(fd);
    }
    if libc::unshare(libc::CLONE_NEWNS | libc::CLONE_NEWPID) != 0 {
        libc::_exit(1);
    }
    match clone(libc::CLONE_PARENT) {
        Ok(0) => exec_or_exit(argv),
        Ok(pid) => {
            let bytes = pid.to_ne_bytes();
            libc::write(pid_pipe, bytes.as_ptr().cast(), bytes.len());
            libc::_exit(0)
        }
        Err(_) => libc::_exit(1),
    }
}

/// The pid a joiner wrote, or None if it failed before writing one.
fn read_pid(read: &OwnedFd) -> Option<libc::pid_t> {
    let mut bytes = [0u8; 4];
    let n = unsafe { libc::read(read.as_raw_fd(), bytes.as_mut_ptr().cast(), bytes.len()) };
    (n == 4).then(|| libc::pid_t::from_ne_bytes(bytes))
}

/// `clone` with fork semantics (no new stack: the child continues on a copy of ours).
unsafe fn clone(flags: libc::c_int) -> io::Result<libc::pid_t> {
    let flags = (flags | libc::SIGCHLD) as libc::c_ulong;
    match libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize) {
        -1 => Err(io::Error::last_os_error()),
        pid => Ok(pid as libc::pid_t),
    }
}

unsafe fn exec_or_exit(argv: &[*const libc::c_char]) -> ! {
    libc::execv(argv[0], argv.as_ptr());
    libc::_exit(127)
}

/// A NULL-terminated argv; the CStrings are leaked (a few per pod, for the bench's lifetime).
fn argv(args: &[&str]) -> io::Result<Vec<*const libc::c_char>> {
    let mut out = vec![];
    for a in args {
        let c = CString::new(*a).map_err(io::Error::other)?;
        out.push(c.into_raw() as *const libc::c_char);
    }
    out.push(std::ptr::null());
    Ok(out)
}

fn exec_pipe() -> io::Result<(OwnedFd, OwnedFd)> {
    let mut fds = [0; 2];
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// Blocks until every holder of the write end has exec'd or exited.
fn wait_exec(read: OwnedFd) -> io::Result<()> {
    let mut buf = [0u8; 1];
    loop {
        match unsafe { libc::read(read.as_raw_fd(), buf.as_mut_ptr().cast(), 1) } {
            0 => return Ok(()),
            -1 if io::Error::last_os_error().kind() == io::ErrorKind::Interrupted => continue,
            -1 => return Err(io::Error::last_os_error()),
            _ => continue,
        }
    }
}
