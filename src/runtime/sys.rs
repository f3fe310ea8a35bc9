//! Small wrappers over syscalls the runtime needs and nix does not offer as such.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

use nix::sched::CloneFlags;
use nix::unistd::Pid;

use crate::kube::namespaces::Namespace;
use crate::kube::pod_state::ProcessRef;

/// `clone(2)` without a new stack, which behaves like `fork(2)` but can create namespaces
/// (a new PID namespace applies to the child itself, not only to its children) and can make the
/// child a sibling of the caller (`CLONE_PARENT`). Returns `None` in the child.
///
/// # Safety
/// Like `fork`: the caller must be single-threaded, and the child must only do what is safe
/// after a fork before it execs or exits.
pub unsafe fn clone_fork(flags: libc::c_int) -> io::Result<Option<Pid>> {
    // The exit signal goes in the low byte; SIGCHLD makes the child waitable like a fork's.
    let flags = (flags | libc::SIGCHLD) as libc::c_ulong;
    let ret = libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, 0usize, 0usize);
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

/// clone3's `CLONE_INTO_CGROUP` (Linux 5.7): the child starts in the cgroup v2 directory
/// given by `clone_args.cgroup`.
const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `struct clone_args` of `<linux/sched.h>` up to `cgroup` (CLONE_ARGS_SIZE_VER2).
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

/// Like [`clone_fork`], but the child is born in the cgroup v2 directory open as `cgroup`
/// (clone3 with `CLONE_INTO_CGROUP`): it never runs anywhere else, and nothing is moved.
/// Kernels before 5.7 fail with ENOSYS (no clone3) or E2BIG/EINVAL (no such flag).
///
/// # Safety
/// As for [`clone_fork`].
pub unsafe fn clone_into_cgroup(
    flags: libc::c_int,
    cgroup: std::os::fd::BorrowedFd<'_>,
) -> io::Result<Option<Pid>> {
    let mut args = CloneArgs {
        // clone3 takes the CLONE_* bits as they are; only clone(2)'s low byte is the signal.
        flags: flags as u32 as u64 | CLONE_INTO_CGROUP,
        // clone3 refuses an exit signal with CLONE_PARENT: the child then gets its creator's
        // (SIGCHLD for a child of the shim), as clone(2) does.
        exit_signal: if flags & libc::CLONE_PARENT != 0 {
            0
        } else {
            libc::SIGCHLD as u64
        },
        cgroup: cgroup.as_raw_fd() as u64,
        ..CloneArgs::default()
    };
    let ret = libc::syscall(
        libc::SYS_clone3,
        &mut args as *mut CloneArgs,
        std::mem::size_of::<CloneArgs>(),
    );
    match ret {
        -1 => Err(io::Error::last_os_error()),
        0 => Ok(None),
        pid => Ok(Some(Pid::from_raw(pid as i32))),
    }
}

/// The CLONE_NEW* flags of `kinds`, for clone(2), unshare(2) and setns(2).
pub fn clone_flags(kinds: impl IntoIterator<Item = Namespace>) -> CloneFlags {
    kinds.into_iter().fold(CloneFlags::empty(), |flags, kind| {
        flags | CloneFlags::from_bits_retain(kind.clone_flag())
    })
}

/// Ask the kernel to SIGKILL us when our parent dies, so nothing outlives a killed shim.
pub fn set_parent_death_signal() -> io::Result<()> {
    let ret = unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Set the process name shown by `ps` and in /proc/<pid>/comm (at most 15 bytes).
pub fn set_process_name(name: &str) {
    let mut buf = [0u8; 16];
    let n = name.len().min(15);
    buf[..n].copy_from_slice(&name.as_bytes()[..n]);
    unsafe { libc::prctl(libc::PR_SET_NAME, buf.as_ptr(), 0, 0, 0) };
}

/// Orphaned descendants come back to us instead of to the host's init, so we can reap them.
pub fn become_subreaper() -> io::Result<()> {
    let ret = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) };
    if ret < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Take an exclusive flock; `Ok(false)` if another process holds it and `wait` is false.
pub fn lock_file(file: &File, wait: bool) -> io::Result<bool> {
    let mut op = libc::LOCK_EX;
    if !wait {
        op |= libc::LOCK_NB;
    }
    loop {
        let ret = unsafe { libc::flock(file.as_raw_fd(), op) };
        if ret == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        match err.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EWOULDBLOCK) => return Ok(false),
            _ => return Err(err),
        }
    }
}

/// Open (creating) and lock a lock file, blocking until it is ours.
pub fn hold_lock(path: &Path) -> io::Result<File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    lock_file(&file, true)?;
    Ok(file)
}

/// The start time of a process in clock ticks since boot (field 22 of /proc/<pid>/stat).
pub fn process_start_time(pid: i32) -> io::Result<u64> {
    crate::observe::procfs_read::read_stat(Path::new("/proc"), pid).map(|s| s.start_time)
}

/// What only the machine can say about a [`ProcessRef`]: the process a pid names now, whether
/// it still runs, and delivering a signal to it.
pub trait LiveProcess: Sized {
    fn of(pid: i32) -> io::Result<Self>;
    /// True if this very process (not a later one with a reused PID) still exists.
    fn is_alive(&self) -> bool;
    /// Send a signal if this very process still exists.
    fn signal(&self, signal: nix::sys::signal::Signal) -> bool;
    /// As [`LiveProcess::signal`], by number (real-time signals have no `Signal`).
    fn signal_number(&self, signal: i32) -> bool;
}

impl LiveProcess for ProcessRef {
    fn of(pid: i32) -> io::Result<ProcessRef> {
        Ok(ProcessRef {
            pid,
            start_time: process_start_time(pid)?,
        })
    }

    fn is_alive(&self) -> bool {
        process_start_time(self.pid).is_ok_and(|t| t == self.start_time)
    }

    fn signal(&self, signal: nix::sys::signal::Signal) -> bool {
        self.is_alive() && nix::sys::signal::kill(Pid::from_raw(self.pid), signal).is_ok()
    }

    fn signal_number(&self, signal: i32) -> bool {
        // SAFETY: kill(2) with plain integers.
        self.is_alive() && unsafe { libc::kill(self.pid, signal) } == 0
    }
}

/// A signal's number on this machine from its name (`SIGQUIT`, `SIGRTMIN+3`) or a number, as
/// a stop signal is written.
pub fn signal_number(name: &str) -> Option<i32> {
    use crate::kube::stop_signal::{real_time_offset, RealTime};
    if let Ok(n) = name.parse::<i32>() {
        return (1..=libc::SIGRTMAX()).contains(&n).then_some(n);
    }
    if let Some(rt) = real_time_offset(name) {
        return Some(match rt {
            RealTime::AfterMin(n) => libc::SIGRTMIN() + i32::from(n),
            RealTime::BeforeMax(n) => libc::SIGRTMAX() - i32::from(n),
        });
    }
    let classic = match name {
        // Old names of the same signals.
        "SIGCLD" => "SIGCHLD",
        "SIGPOLL" => "SIGIO",
        "SIGIOT" => "SIGABRT",
        other => other,
    };
    classic
        .parse::<nix::sys::signal::Signal>()
        .ok()
        .map(|s| s as i32)
}

/// Replace a file's content without truncating it to zero first: on ext4 both replace-by-rename
/// and truncate-to-zero force the data to disk (auto_da_alloc), milliseconds each where /run is
/// not a tmpfs. A reader may see a write half done and must be ready to read again.
pub fn write_in_place(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    file.write_all_at(bytes, 0)?;
    file.set_len(bytes.len() as u64)
}

/// Whether an open file is the one at `path` (for namespaces: the same namespace).
pub fn same_file(file: &File, path: &str) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

/// The host name of `pid`'s uts namespace. A short-lived thread joins it and asks uname(2)
/// (setns on a uts namespace changes only the calling thread). Where joining needs the
/// namespace's user namespace first (a rootless pod's, owned by the learner, whose
/// capabilities count only inside it), a forked child joins both: a process with threads
/// cannot join a user namespace.
pub fn uts_hostname(pid: i32) -> Option<String> {
    let uts = File::open(format!("/proc/{pid}/ns/uts")).ok()?;
    let by_thread = {
        let uts = uts.try_clone().ok()?;
        std::thread::spawn(move || {
            nix::sched::setns(&uts, CloneFlags::CLONE_NEWUTS).ok()?;
            nodename()
        })
        .join()
        .ok()
        .flatten()
    };
    if by_thread.is_some() || nix::unistd::geteuid().is_root() {
        return by_thread;
    }
    let user = File::open(format!("/proc/{pid}/ns/user")).ok()?;
    let (read, write) = nix::unistd::pipe().ok()?;
    // SAFETY: the child makes only system calls (setns, uname, write) and exits.
    match unsafe { nix::unistd::fork() }.ok()? {
        nix::unistd::ForkResult::Child => unsafe {
            let mut uts_name: libc::utsname = std::mem::zeroed();
            let joined = libc::setns(user.as_raw_fd(), libc::CLONE_NEWUSER) == 0
                && libc::setns(uts.as_raw_fd(), libc::CLONE_NEWUTS) == 0
                && libc::uname(&mut uts_name) == 0;
            if joined {
                let name = &uts_name.nodename;
                let len = name.iter().position(|c| *c == 0).unwrap_or(name.len());
                libc::write(write.as_raw_fd(), name.as_ptr().cast(), len);
            }
            libc::_exit(if joined { 0 } else { 1 })
        },
        nix::unistd::ForkResult::Parent { child } => {
            drop(write);
            let mut out = Vec::new();
            let _ = io::Read::read_to_end(&mut File::from(read), &mut out);
            let joined = matches!(
                nix::sys::wait::waitpid(child, None),
                Ok(nix::sys::wait::WaitStatus::Exited(_, 0))
            );
            joined.then(|| String::from_utf8_lossy(&out).into_owned())
        }
    }
}

fn nodename() -> Option<String> {
    let uts = nix::sys::utsname::uname().ok()?;
    uts.nodename().to_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_flags_are_the_kernels() {
        let expected = [
            (Namespace::Pid, libc::CLONE_NEWPID),
            (Namespace::Uts, libc::CLONE_NEWUTS),
            (Namespace::Ipc, libc::CLONE_NEWIPC),
            (Namespace::Net, libc::CLONE_NEWNET),
            (Namespace::Cgroup, libc::CLONE_NEWCGROUP),
            (Namespace::Mnt, libc::CLONE_NEWNS),
        ];
        assert_eq!(expected.len(), Namespace::ALL.len());
        for (kind, flag) in expected {
            assert_eq!(kind.clone_flag(), flag, "{kind:?}");
        }
        assert_eq!(
            clone_flags([Namespace::Pid, Namespace::Mnt]),
            CloneFlags::CLONE_NEWPID | CloneFlags::CLONE_NEWNS
        );
    }

    #[test]
    fn start_time_of_self_is_stable() {
        let me = ProcessRef::of(std::process::id() as i32).expect("own stat");
        assert!(me.is_alive());
        let other = ProcessRef {
            start_time: me.start_time + 1,
            ..me
        };
        assert!(!other.is_alive(), "a reused pid must not look alive");
    }
}
