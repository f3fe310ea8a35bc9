//! A real try at a user namespace, as a learner without root would make one: what `podlab
//! doctor` reports, and what the rootless set-up asks before anything is made. Reading the settings is not enough: with Ubuntu
//! 24.04's AppArmor restriction, creating a user namespace succeeds and using it fails.
//!
//! A forked child unshares a user namespace, maps its uid to root in it, then uses the
//! capability it has there: it creates a net namespace, then a mount namespace where it mounts
//! a tmpfs. It reports the first stage that failed through a pipe and exits; everything it made
//! goes with it. Run as root, the child first becomes `nobody` (65534), so the answer is the
//! one a learner gets.

use std::io::Read;
use std::os::fd::AsRawFd;

/// The uid the trial runs as when podlab runs as root.
pub const NOBODY: u32 = 65534;

/// What the trial found, and as whom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trial {
    pub uid: u32,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A user namespace was created and used: a net namespace and a tmpfs mount inside.
    Works,
    /// unshare(CLONE_NEWUSER) failed.
    CannotCreate { errno: i32 },
    /// Created, but writing uid_map/gid_map failed.
    CannotMap { errno: i32 },
    /// Created and mapped, but using it failed.
    CannotUse { what: Use, errno: i32 },
    /// The trial could not be made (no fork, no pipe, could not become nobody).
    NotRun { errno: i32, stage: &'static str },
}

/// What the capability inside the namespace was used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    NetNamespace,
    MountTmpfs,
}

impl Use {
    pub fn syscall(self) -> &'static str {
        match self {
            Use::NetNamespace => "unshare(CLONE_NEWNET)",
            Use::MountTmpfs => "mount(\"tmpfs\") in a new mount namespace",
        }
    }
}

/// The stages, as the child reports them.
const DROP: i32 = 1;
const CREATE: i32 = 2;
const MAP: i32 = 3;
const NET: i32 = 4;
const MOUNT: i32 = 5;

/// Make the trial on this machine, as a learner would: run as root, as `nobody`.
pub fn run() -> Trial {
    attempt(nix::unistd::geteuid().is_root())
}

/// Make the trial as this very process's user, whoever it is: what the rootless set-up asks
/// before it builds a pod (podlab may be "root" only inside a user namespace it was given,
/// where `nobody` is not even mapped).
pub fn as_this_user() -> Trial {
    attempt(false)
}

fn attempt(as_nobody: bool) -> Trial {
    let euid = nix::unistd::geteuid().as_raw();
    let egid = nix::unistd::getegid().as_raw();
    let (uid, gid) = if as_nobody {
        (NOBODY, NOBODY)
    } else {
        (euid, egid)
    };
    let not_run = |errno: i32, stage| Trial {
        uid,
        outcome: Outcome::NotRun { errno, stage },
    };
    // Everything the child needs is prepared before the fork: it only makes system calls.
    let uid_map = format!("0 {uid} 1");
    let gid_map = format!("0 {gid} 1");
    let (read_end, write_end) = match nix::unistd::pipe() {
        Ok(p) => p,
        Err(e) => return not_run(e as i32, "pipe"),
    };
    // SAFETY: the child makes only async-signal-safe system calls on memory prepared before
    // the fork, then _exits.
    match unsafe { nix::unistd::fork() } {
        Err(e) => not_run(e as i32, "fork"),
        Ok(nix::unistd::ForkResult::Child) => {
            let report =
                unsafe { child(as_nobody, uid, gid, uid_map.as_bytes(), gid_map.as_bytes()) };
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
            let got = std::fs::File::from(read_end).read_exact(&mut buf);
            let _ = nix::sys::wait::waitpid(child, None);
            if got.is_err() {
                return not_run(libc::EIO, "read the child's report");
            }
            let stage = i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]);
            let errno = i32::from_ne_bytes([buf[4], buf[5], buf[6], buf[7]]);
            Trial {
                uid,
                outcome: outcome(stage, errno),
            }
        }
    }
}

/// The child's report as an outcome.
fn outcome(stage: i32, errno: i32) -> Outcome {
    match stage {
        0 => Outcome::Works,
        DROP => Outcome::NotRun {
            errno,
            stage: "become nobody",
        },
        CREATE => Outcome::CannotCreate { errno },
        MAP => Outcome::CannotMap { errno },
        NET => Outcome::CannotUse {
            what: Use::NetNamespace,
            errno,
        },
        _ => Outcome::CannotUse {
            what: Use::MountTmpfs,
            errno,
        },
    }
}

/// In the forked child: [the stage that failed (0: none), errno].
unsafe fn child(drop_root: bool, uid: u32, gid: u32, uid_map: &[u8], gid_map: &[u8]) -> [i32; 2] {
    let fail = |stage| [stage, *libc::__errno_location()];
    if drop_root
        && (libc::setgroups(0, std::ptr::null()) != 0
            || libc::setresgid(gid, gid, gid) != 0
            || libc::setresuid(uid, uid, uid) != 0)
    {
        return fail(DROP);
    }
    // Changing credentials made the process undumpable, which makes its /proc files root's:
    // a learner's process is dumpable, and may write its own uid_map.
    if drop_root && libc::prctl(libc::PR_SET_DUMPABLE, 1, 0, 0, 0) != 0 {
        return fail(DROP);
    }
    if libc::unshare(libc::CLONE_NEWUSER) != 0 {
        return fail(CREATE);
    }
    let write = |path: &std::ffi::CStr, text: &[u8]| {
        let fd = libc::open(path.as_ptr(), libc::O_WRONLY | libc::O_CLOEXEC);
        if fd < 0 {
            return false;
        }
        let ok = libc::write(fd, text.as_ptr().cast(), text.len()) == text.len() as isize;
        libc::close(fd);
        ok
    };
    if !write(c"/proc/self/setgroups", b"deny")
        || !write(c"/proc/self/uid_map", uid_map)
        || !write(c"/proc/self/gid_map", gid_map)
    {
        return fail(MAP);
    }
    if libc::unshare(libc::CLONE_NEWNET) != 0 {
        return fail(NET);
    }
    if libc::unshare(libc::CLONE_NEWNS) != 0
        || libc::mount(
            c"none".as_ptr(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        ) != 0
        || libc::mount(
            c"podlab-doctor".as_ptr(),
            c"/tmp".as_ptr(),
            c"tmpfs".as_ptr(),
            0,
            std::ptr::null(),
        ) != 0
    {
        return fail(MOUNT);
    }
    [0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_report_names_the_stage() {
        assert_eq!(outcome(0, 0), Outcome::Works);
        assert_eq!(
            outcome(CREATE, libc::ENOSPC),
            Outcome::CannotCreate {
                errno: libc::ENOSPC
            }
        );
        assert_eq!(
            outcome(NET, libc::EPERM),
            Outcome::CannotUse {
                what: Use::NetNamespace,
                errno: libc::EPERM
            }
        );
        assert!(matches!(outcome(DROP, 1), Outcome::NotRun { .. }));
    }
}
