//! Reaching into a pod's net namespace without ever leaving our own.
//!
//! A short-lived forked child joins the namespace with setns(2), opens a route netlink socket
//! there and hands it back over a socketpair (SCM_RIGHTS), then exits. A netlink socket keeps
//! talking to the namespace it was created in, so the caller configures the pod from its own
//! namespace — the calling process never moves, and its other threads (in tests) are untouched.
//! The same way gives a TCP socket in a pod's namespace to `podlab port-forward`; for a pod
//! built without root, seen from outside the node, the child joins the pod's user namespace
//! first, as that is what lets it join the net namespace.

use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;

use nix::sys::socket::{
    recvmsg, socketpair, AddressFamily, ControlMessageOwned, MsgFlags, SockFlag, SockType,
};
use nix::sys::wait::waitpid;
use nix::unistd::{fork, ForkResult};

use super::error::{NetworkError, Result};

/// A pod's net namespace, held open by fd so it cannot be swapped for another under us.
pub struct NetNs {
    file: File,
    /// Its process's user namespace when that is not ours.
    user: Option<File>,
    pid: i32,
}

impl NetNs {
    /// The net namespace of process `pid` (the pod's pause).
    pub fn of_pid(pid: i32) -> Result<NetNs> {
        let path = format!("/proc/{pid}/ns/net");
        let file = File::open(&path).map_err(|e| {
            NetworkError::os(
                format!("failed to open net namespace of pause (pid {pid})"),
                e,
            )
        })?;
        let user = File::open(format!("/proc/{pid}/ns/user"))
            .ok()
            .filter(|user| !crate::runtime::sys::same_file(user, "/proc/self/ns/user"));
        Ok(NetNs { file, user, pid })
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The namespace's inode: its identity, as `ls -l /proc/<pid>/ns/net` shows it.
    pub fn inode(&self) -> Result<u64> {
        let pid = self.pid;
        self.file.metadata().map(|m| m.ino()).map_err(|e| {
            NetworkError::os(
                format!("failed to read net namespace of pause (pid {pid})"),
                e,
            )
        })
    }

    pub fn fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }

    /// Whether this is the namespace the calling process is in (a hostNetwork pod).
    pub fn is_current(&self) -> Result<bool> {
        let ours = std::fs::metadata("/proc/self/ns/net")
            .map_err(|e| NetworkError::os("failed to read our own net namespace", e))?;
        let theirs = self.file.metadata().map_err(|e| {
            NetworkError::os(
                format!("failed to read net namespace of pause (pid {})", self.pid),
                e,
            )
        })?;
        Ok(ours.dev() == theirs.dev() && ours.ino() == theirs.ino())
    }

    /// A route netlink socket that lives in this namespace.
    pub fn netlink_socket(&self) -> Result<OwnedFd> {
        self.socket(libc::AF_NETLINK, libc::SOCK_RAW, libc::NETLINK_ROUTE)
    }

    /// A socket(2) of this kind that lives in this namespace, e.g. a TCP socket that connects
    /// to the pod's own localhost.
    pub fn socket(&self, domain: i32, kind: i32, protocol: i32) -> Result<OwnedFd> {
        let pid = self.pid;
        let fail = |what: &str, e: io::Error| {
            NetworkError::os(
                format!("failed to {what} net namespace of pause (pid {pid})"),
                e,
            )
        };
        let (ours, childs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(|e| fail("make a socketpair to reach the", e.into()))?;
        // SAFETY: the child only makes async-signal-safe system calls and then _exits.
        match unsafe { fork() }.map_err(|e| fail("fork a child to join the", e.into()))? {
            ForkResult::Child => {
                drop(ours);
                let user = self.user.as_ref().map_or(-1, |u| u.as_raw_fd());
                let socket = (domain, kind, protocol);
                child_send_socket(user, self.fd(), socket, childs.as_raw_fd())
            }
            ForkResult::Parent { child } => {
                drop(childs);
                let received = receive_socket(ours.as_raw_fd());
                let _ = waitpid(child, None);
                match received {
                    Ok(fd) => Ok(fd),
                    Err(ChildFailure::Setns(e)) => Err(fail("join", e)),
                    Err(ChildFailure::Socket(e)) => Err(fail("open a socket in the", e)),
                    Err(ChildFailure::Transfer(e)) => Err(fail("receive a socket from the", e)),
                }
            }
        }
    }
}

enum ChildFailure {
    Setns(io::Error),
    Socket(io::Error),
    Transfer(io::Error),
}

/// What the child reports in its one message: which step failed and errno (0 = success, with the
/// socket attached).
const STEP_OK: i32 = 0;
const STEP_SETNS: i32 = 1;
const STEP_SOCKET: i32 = 2;

/// Runs in the forked child: no allocation, no locks, only raw system calls. `userns` is -1
/// when the namespace's user namespace is ours.
fn child_send_socket(userns: RawFd, netns: RawFd, kind: (i32, i32, i32), channel: RawFd) -> ! {
    // SAFETY: plain system calls on fds we own; the buffers live on this stack frame.
    unsafe {
        let mut report = [STEP_OK, 0];
        let mut socket = -1;
        if (userns >= 0 && libc::setns(userns, libc::CLONE_NEWUSER) != 0)
            || libc::setns(netns, libc::CLONE_NEWNET) != 0
        {
            report = [STEP_SETNS, *libc::__errno_location()];
        } else {
            socket = libc::socket(kind.0, kind.1 | libc::SOCK_CLOEXEC, kind.2);
            if socket < 0 {
                report = [STEP_SOCKET, *libc::__errno_location()];
            }
        }
        let mut iov = libc::iovec {
            iov_base: report.as_mut_ptr().cast(),
            iov_len: std::mem::size_of_val(&report),
        };
        // Room for one cmsghdr carrying one fd, aligned for cmsghdr.
        let mut control = [0u64; 4];
        let mut msg: libc::msghdr = std::mem::zeroed();
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        if socket >= 0 {
            let space = libc::CMSG_SPACE(std::mem::size_of::<RawFd>() as u32) as usize;
            msg.msg_control = control.as_mut_ptr().cast();
            msg.msg_controllen = space;
            let cmsg = libc::CMSG_FIRSTHDR(&msg);
            (*cmsg).cmsg_level = libc::SOL_SOCKET;
            (*cmsg).cmsg_type = libc::SCM_RIGHTS;
            (*cmsg).cmsg_len = libc::CMSG_LEN(std::mem::size_of::<RawFd>() as u32) as usize;
            std::ptr::write_unaligned(libc::CMSG_DATA(cmsg).cast::<RawFd>(), socket);
        }
        let sent = libc::sendmsg(channel, &msg, 0);
        libc::_exit(if sent < 0 { 1 } else { 0 })
    }
}

fn receive_socket(channel: RawFd) -> std::result::Result<OwnedFd, ChildFailure> {
    let mut report = [0u8; 8];
    let mut iov = [io::IoSliceMut::new(&mut report)];
    let mut control = nix::cmsg_space!(RawFd);
    let msg = loop {
        match recvmsg::<()>(
            channel,
            &mut iov,
            Some(&mut control),
            MsgFlags::MSG_CMSG_CLOEXEC,
        ) {
            Err(nix::errno::Errno::EINTR) => continue,
            other => break other.map_err(|e| ChildFailure::Transfer(e.into()))?,
        }
    };
    let mut socket = None;
    for cmsg in msg.cmsgs().map_err(|e| ChildFailure::Transfer(e.into()))? {
        if let ControlMessageOwned::ScmRights(fds) = cmsg {
            for fd in fds {
                // SAFETY: the kernel just installed this fd in our table for us.
                let owned = unsafe { OwnedFd::from_raw_fd(fd) };
                socket.get_or_insert(owned);
            }
        }
    }
    let bytes = msg.bytes;
    if bytes != report.len() {
        return Err(ChildFailure::Transfer(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "the child exited without reporting",
        )));
    }
    let step = i32::from_ne_bytes([report[0], report[1], report[2], report[3]]);
    let errno = io::Error::from_raw_os_error(i32::from_ne_bytes([
        report[4], report[5], report[6], report[7],
    ]));
    match (step, socket) {
        (STEP_OK, Some(fd)) => Ok(fd),
        (STEP_SETNS, _) => Err(ChildFailure::Setns(errno)),
        (STEP_SOCKET, _) => Err(ChildFailure::Socket(errno)),
        _ => Err(ChildFailure::Transfer(io::Error::new(
            io::ErrorKind::InvalidData,
            "no socket came back",
        ))),
    }
}
