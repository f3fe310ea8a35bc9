//! Reading one /proc/<pid> directory: open it once, read files relative to it into one reused
//! buffer, parse only what the view needs.
//!
//! Files are read with `openat` on the directory's fd rather than by path: if the PID is reused
//! between two reads, the old directory fd answers ESRCH instead of describing another process.
//!
//! The bytes read are parsed by the procfs crate's parsers (they read from any reader, here
//! the buffer), and everything else in podlab that reads these files uses the functions here.
//! Hand-written parsing is left where procfs has no parser of a text already read, and for
//! `stat`, where procfs's parser costs measurably more on the hot path.

use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::path::Path;

use procfs::process::{FDTarget, StatFlags, Status};
use procfs::{FromRead, ProcessCGroups};
use rustix::fs::{AtFlags, Mode, OFlags};

use super::model::{CgroupMembership, NsId, NsKind, ProcState, SeccompState};

/// An open /proc/<pid> directory.
pub struct ProcDir {
    pub pid: i32,
    fd: OwnedFd,
}

impl ProcDir {
    pub fn open(proc_root: &Path, pid: i32) -> io::Result<ProcDir> {
        let path = proc_root.join(pid.to_string());
        let fd = rustix::fs::open(
            &path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(ProcDir { pid, fd })
    }

    /// Read a file below this directory into `buf` (cleared first).
    pub fn read(&self, name: &str, buf: &mut Vec<u8>) -> io::Result<()> {
        read_at(self.fd.as_fd(), name, buf)
    }

    /// Open a file below this directory to be read again on later ticks.
    pub fn keep(&self, name: &str) -> io::Result<KeptFile> {
        KeptFile::open_at(self.fd.as_fd(), name)
    }

    /// The PIDs of this process's children, from `task/<tid>/children` of each of its
    /// `threads` threads (a child is listed under the thread that forked it). `Ok(None)` when
    /// this kernel (or fixture) has no `children` files: the caller then lists /proc instead.
    pub fn children(
        &self,
        threads: u64,
        buf: &mut Vec<u8>,
        out: &mut Vec<i32>,
    ) -> io::Result<Option<()>> {
        let main = format!("task/{}/children", self.pid);
        if threads <= 1 {
            return match self.read(&main, buf) {
                Ok(()) => {
                    parse_pid_list(buf, out);
                    Ok(Some(()))
                }
                Err(e) => self.children_missing(e),
            };
        }
        let task_fd = rustix::fs::openat(
            self.fd.as_fd(),
            "task",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let mut names = Vec::new();
        for entry in rustix::fs::Dir::read_from(&task_fd)? {
            if let Some(tid) = parse_pid(entry?.file_name().to_bytes()) {
                names.push(tid);
            }
        }
        for tid in names {
            match read_at(task_fd.as_fd(), &format!("{tid}/children"), buf) {
                Ok(()) => parse_pid_list(buf, out),
                // A thread that ended between readdir and read.
                Err(e) if is_gone(&e) && tid != self.pid => continue,
                Err(e) => return self.children_missing(e),
            }
        }
        Ok(Some(()))
    }

    /// ENOENT on `children` while the process is still there: no CONFIG_PROC_CHILDREN.
    fn children_missing(&self, e: io::Error) -> io::Result<Option<()>> {
        let still_here = rustix::fs::statat(self.fd.as_fd(), "stat", AtFlags::empty()).is_ok();
        if e.kind() == io::ErrorKind::NotFound && still_here {
            Ok(None)
        } else {
            Err(e)
        }
    }

    /// The namespace behind ns/<kind>: `stat` gives inode and device; when the link cannot be
    /// followed (a fixture, or an nsfs we cannot stat) its text `net:[N]` still gives the inode.
    pub fn namespace(&self, kind: NsKind) -> io::Result<NsId> {
        let name = format!("ns/{}", kind.file_name());
        match rustix::fs::statat(self.fd.as_fd(), name.as_str(), AtFlags::empty()) {
            Ok(st) => Ok(NsId {
                inode: st.st_ino,
                dev: Some(st.st_dev),
            }),
            Err(stat_err) => {
                let link = rustix::fs::readlinkat(self.fd.as_fd(), name.as_str(), Vec::new())
                    .map_err(|_| io::Error::from(stat_err))?;
                parse_ns_link(link.as_bytes())
                    .map(|inode| NsId { inode, dev: None })
                    .ok_or_else(|| io::Error::from(stat_err))
            }
        }
    }

    /// Inodes of the sockets this process holds open (`socket:[N]` links in fd/).
    pub fn socket_inodes(&self, out: &mut Vec<u64>) -> io::Result<()> {
        let dir_fd = rustix::fs::openat(
            self.fd.as_fd(),
            "fd",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        let dir = rustix::fs::Dir::read_from(&dir_fd)?;
        let mut link_buf = Vec::with_capacity(64);
        for entry in dir {
            let entry = entry?;
            let name = entry.file_name();
            if name.to_bytes().starts_with(b".") {
                continue;
            }
            // An fd closed between readdir and readlink is simply gone.
            let Ok(link) = rustix::fs::readlinkat(&dir_fd, name, std::mem::take(&mut link_buf))
            else {
                continue;
            };
            if let Some(inode) = parse_socket_link(link.as_bytes()) {
                out.push(inode);
            }
            link_buf = link.into_bytes();
        }
        Ok(())
    }
}

/// Read a whole file relative to `dir` into `buf`.
pub fn read_at(dir: impl AsFd, name: &str, buf: &mut Vec<u8>) -> io::Result<()> {
    let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    read_all(fd, buf)
}

/// Read a whole file by path into `buf` (one lookup instead of directory + file).
pub fn read_path(path: &Path, buf: &mut Vec<u8>) -> io::Result<()> {
    let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
    read_all(fd, buf)
}

/// A seq_file read (most of /proc and /sys) returns at most one page (4 KiB) of whole records,
/// and stops short of that only when no record is left or the next one does not fit; a file
/// that is one record (`stat`, `status`, `cgroup`, cgroup values) comes whole, and a regular
/// file returns less than asked only at its end. The multi-record files read here (`net/*`)
/// have lines far shorter than 512 bytes, so a read more than 512 bytes short of a page is the
/// last one: no extra read to see EOF. That extra read is not free: for `net/tcp` it walks
/// the kernel's whole TCP hash table again.
const LAST_READ_BELOW: usize = 4096 - 512;
const READ_CHUNK: usize = 8192;

fn read_all(fd: OwnedFd, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut file = std::fs::File::from(fd);
    fill(buf, |chunk, _| io::Read::read(&mut file, chunk))
}

/// Read into `buf` (cleared first) with `read(chunk, offset)` until a read comes back short
/// (see `LAST_READ_BELOW`).
fn fill(
    buf: &mut Vec<u8>,
    mut read: impl FnMut(&mut [u8], u64) -> io::Result<usize>,
) -> io::Result<()> {
    buf.clear();
    loop {
        let start = buf.len();
        buf.resize(start + READ_CHUNK, 0);
        let n = loop {
            match read(&mut buf[start..], start as u64) {
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                other => break other,
            }
        };
        let n = match n {
            Ok(n) => n,
            Err(e) => {
                buf.truncate(start);
                return Err(e);
            }
        };
        buf.truncate(start + n);
        if n < LAST_READ_BELOW {
            return Ok(());
        }
    }
}

/// A file kept open between ticks and read again from offset 0 with `pread`: procfs and
/// cgroupfs build the text anew on every read from offset 0, so each read is as fresh as an
/// open+read+close, without the path walk and the close. When what it describes is gone the
/// read fails instead of describing something else: `/proc/<pid>/…` of a process that exited
/// answers ESRCH (even if its PID is reused), a file of a removed cgroup ENODEV. A regular
/// file (a fixture) is read from the start the same way.
pub struct KeptFile {
    fd: OwnedFd,
}

impl KeptFile {
    pub fn open(path: &Path) -> io::Result<KeptFile> {
        let fd = rustix::fs::open(path, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(KeptFile { fd })
    }

    pub fn open_at(dir: impl AsFd, name: &str) -> io::Result<KeptFile> {
        let fd = rustix::fs::openat(dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty())?;
        Ok(KeptFile { fd })
    }

    /// The whole file as it is now, into `buf` (cleared first).
    pub fn read(&self, buf: &mut Vec<u8>) -> io::Result<()> {
        fill(buf, |chunk, offset| {
            rustix::io::pread(&self.fd, chunk, offset).map_err(io::Error::from)
        })
    }
}

/// The process (or file) is no longer there.
pub fn is_gone(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENOENT) | Some(libc::ESRCH))
}

/// The net namespace inode from the text of `<proc_root>/<pid>/ns/net` (`net:[N]`): the
/// cheapest per-process signal of isolation (no nsfs dentry is made, unlike `stat`).
pub fn net_ns_inode(path: &Path) -> io::Result<u64> {
    let link = rustix::fs::readlink(path, Vec::with_capacity(32))?;
    parse_ns_link(link.as_bytes()).ok_or_else(|| io::Error::from(io::ErrorKind::InvalidData))
}

/// Whitespace-separated PIDs (`task/<tid>/children`). Hand-written: procfs has no parser for
/// these files that reads from a reader (they are kept open and read again each tick).
pub fn parse_pid_list(bytes: &[u8], out: &mut Vec<i32>) {
    out.extend(
        bytes
            .split(|b| b.is_ascii_whitespace())
            .filter_map(parse_pid),
    );
}

/// PIDs listed in the proc root, ascending.
pub fn list_pids(proc_root: &Path) -> io::Result<Vec<i32>> {
    let fd = rustix::fs::open(
        proc_root,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    let mut pids = Vec::with_capacity(512);
    for entry in rustix::fs::Dir::read_from(&fd)? {
        let entry = entry?;
        if let Some(pid) = parse_pid(entry.file_name().to_bytes()) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

fn parse_pid(name: &[u8]) -> Option<i32> {
    if name.is_empty() || !name.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(name).ok()?.parse().ok()
}

/// The fields of /proc/<pid>/stat that podlab uses (see proc_pid_stat(5)), kept per process
/// between ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatFields {
    /// (2) comm: the executable name, at most 15 bytes, may itself contain ')' and spaces.
    pub comm: String,
    /// (3) state: R running, S sleeping, D disk sleep, Z zombie, T stopped, I idle, ...
    pub state: ProcState,
    /// (4) ppid.
    pub ppid: i32,
    /// (9) flags: PF_* bits; PF_KTHREAD marks kernel threads.
    pub flags: u32,
    /// (14) utime and (15) stime: CPU time in user and in kernel mode, in clock ticks.
    pub utime: u64,
    pub stime: u64,
    /// (20) num_threads.
    pub num_threads: u64,
    /// (22) starttime: clock ticks after boot.
    pub start_time: u64,
}

impl StatFields {
    pub fn kernel_thread(&self) -> bool {
        StatFlags::from_bits_retain(self.flags).contains(StatFlags::PF_KTHREAD)
    }

    /// utime + stime, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        (self.utime + self.stime) as f64 / procfs::ticks_per_second() as f64
    }
}

/// Parse /proc/<pid>/stat. comm runs from the first '(' to the LAST ')': a process can name
/// itself "a) b (c" and the fields after comm must still be found.
///
/// Hand-written, not procfs's `Stat`: this is the hot path (every process of the host on a
/// first tick, a tenth of them each tick after), and procfs's parser, which reads all 52
/// fields into a new buffer, costs four times as much (see BENCHMARKS.md, "/proc parsers").
pub fn parse_stat(bytes: &[u8]) -> Option<StatFields> {
    let open = bytes.iter().position(|&b| b == b'(')?;
    let close = bytes.iter().rposition(|&b| b == b')')?;
    if close < open {
        return None;
    }
    let comm = String::from_utf8_lossy(&bytes[open + 1..close]).into_owned();
    let rest = std::str::from_utf8(bytes.get(close + 1..)?).ok()?;
    // Fields from (3) state onwards.
    let mut fields = rest.split_ascii_whitespace();
    let state = fields.next()?.chars().next()?;
    let ppid = fields.next()?.parse().ok()?;
    // Skip (5) pgrp .. (8) tpgid, take (9) flags.
    let flags = fields.nth(4)?.parse().ok()?;
    // Skip (10) minflt .. (13) cmajflt, take (14) utime and (15) stime.
    let utime = fields.nth(4)?.parse().ok()?;
    let stime = fields.next()?.parse().ok()?;
    // Skip (16) cutime .. (19) nice, take (20) num_threads.
    let num_threads = fields.nth(4)?.parse().ok()?;
    // Skip (21) itrealvalue, take (22) starttime.
    let start_time = fields.nth(1)?.parse().ok()?;
    Some(StatFields {
        comm,
        state: ProcState(state),
        ppid,
        flags,
        utime,
        stime,
        num_threads,
        start_time,
    })
}

/// `stat` of `pid` below `proc_root`, read and parsed.
pub fn read_stat(proc_root: &Path, pid: i32) -> io::Result<StatFields> {
    read_parsed(proc_root, pid, "stat", parse_stat)
}

/// `<proc_root>/<pid>/<name>` read and parsed with `parse`; InvalidData when it fails.
fn read_parsed<T>(
    proc_root: &Path,
    pid: i32,
    name: &str,
    parse: impl FnOnce(&[u8]) -> Option<T>,
) -> io::Result<T> {
    let mut buf = Vec::with_capacity(512);
    let path = proc_root.join(pid.to_string()).join(name);
    read_path(&path, &mut buf)?;
    parse(&buf).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("unparsable {}", path.display()),
        )
    })
}

/// /proc/<pid>/status, through procfs's parser (NSpid, UIDs, capabilities, ...); None when the
/// text is not a whole status file.
pub fn parse_status(bytes: &[u8]) -> Option<Status> {
    Status::from_read(bytes).ok()
}

/// `Seccomp:` and `Seccomp_filters:` of a status file (procfs reads the first only); None
/// on a kernel without seccomp.
pub fn parse_seccomp(bytes: &[u8]) -> Option<SeccompState> {
    let field = |name: &str| -> Option<u32> {
        std::str::from_utf8(bytes)
            .ok()?
            .lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':'))?
            .trim()
            .parse()
            .ok()
    };
    Some(SeccompState {
        mode: field("Seccomp")?,
        filters: field("Seccomp_filters"),
    })
}

/// The processes of user `uid` whose parent is not also theirs: the roots of what they run.
pub fn user_process_roots(proc_root: &Path, uid: u32) -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let Ok(pids) = list_pids(proc_root) else {
        return Vec::new();
    };
    let mine: Vec<(i32, i32)> = pids
        .into_iter()
        .filter(|pid| {
            std::fs::metadata(proc_root.join(pid.to_string())).is_ok_and(|m| m.uid() == uid)
        })
        .filter_map(|pid| Some((pid, read_stat(proc_root, pid).ok()?.ppid)))
        .collect();
    mine.iter()
        .filter(|(_, ppid)| mine.binary_search_by_key(ppid, |(p, _)| *p).is_err())
        .map(|(p, _)| *p)
        .collect()
}

/// NUL-separated arguments. Hand-written: procfs reads `cmdline` only by path, with no parser
/// of a text already read.
pub fn parse_cmdline(bytes: &[u8]) -> Vec<String> {
    bytes
        .split(|&b| b == 0)
        .filter(|a| !a.is_empty())
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect()
}

/// `hierarchy-ID:controller-list:path` lines of /proc/<pid>/cgroup, through procfs's parser;
/// None when a line is not one.
pub fn parse_cgroup(bytes: &[u8]) -> Option<Vec<CgroupMembership>> {
    let groups = ProcessCGroups::from_read(bytes).ok()?;
    Some(
        groups
            .into_iter()
            .map(|g| CgroupMembership {
                hierarchy: g.hierarchy,
                controllers: g.controllers,
                path: g.pathname,
            })
            .collect(),
    )
}

/// `cgroup` of `pid` below `proc_root`, read and parsed.
pub fn read_cgroup(proc_root: &Path, pid: i32) -> io::Result<Vec<CgroupMembership>> {
    read_parsed(proc_root, pid, "cgroup", parse_cgroup)
}

/// `net:[4026531840]` → 4026531840. Hand-written: procfs reads a process's namespace links
/// all at once and fails on the first it cannot read, where podlab reads each on its own so
/// that one EACCES hides nothing.
pub fn parse_ns_link(link: &[u8]) -> Option<u64> {
    let open = link.iter().position(|&b| b == b'[')?;
    let close = link.iter().rposition(|&b| b == b']')?;
    std::str::from_utf8(link.get(open + 1..close)?)
        .ok()?
        .parse()
        .ok()
}

/// `socket:[12345]` → 12345, through procfs's parser of fd link targets.
pub fn parse_socket_link(link: &[u8]) -> Option<u64> {
    match std::str::from_utf8(link).ok()?.parse() {
        Ok(FDTarget::Socket(inode)) => Some(inode),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STAT: &[u8] = b"4242 (we (ird) na)me) S 4200 4242 4242 0 -1 4194560 120 0 0 0 1 2 0 0 20 0 1 0 98765 2334720 196 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";

    const STATUS: &[u8] = b"Name:\tsleep\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t5012\nNgid:\t0\nPid:\t5012\nPPid:\t5000\nTracerPid:\t0\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t64\nGroups:\t1000 \nNStgid:\t5012\t1\nNSpid:\t5012\t1\nNSpgid:\t5012\t1\nNSsid:\t5000\t0\nThreads:\t1\nSigQ:\t0/63619\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\nSigCgt:\t0000000000000000\nCapInh:\t0000000000000000\nCapPrm:\t00000000a80425fb\nCapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nCapAmb:\t0000000000000000\nNoNewPrivs:\t1\n";

    #[test]
    fn stat_comm_runs_to_the_last_paren() {
        let s = parse_stat(STAT).expect("parses");
        assert_eq!(s.comm, "we (ird) na)me");
        assert_eq!(s.state, ProcState('S'));
        assert_eq!(s.ppid, 4200);
        assert_eq!(s.flags, 4194560);
        assert_eq!(s.start_time, 98765);
        assert_eq!(s.num_threads, 1);
        assert_eq!((s.utime, s.stime), (1, 2));
        assert!(!s.kernel_thread());
    }

    #[test]
    fn kernel_thread_flag() {
        let s = parse_stat(b"2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 18446744073709551615 0 0 0 0 0 0 0 2147483647 0 0 0 0 17 0 0 0 0 0 0\n")
            .expect("parses");
        assert!(s.kernel_thread());
    }

    #[test]
    fn truncated_stat_is_none() {
        assert_eq!(parse_stat(b"12 (sh) S 1 12"), None);
        assert_eq!(parse_stat(b""), None);
        assert_eq!(parse_stat(b"12 )sh( S"), None);
        assert_eq!(parse_stat(b"(sh) S 1"), None);
        assert_eq!(parse_stat(b"1 (sh)"), None);
        assert_eq!(parse_stat("1\u{e9}(sh) S".as_bytes()), None);
        assert_eq!(parse_stat("1 (sh)\u{e9} S".as_bytes()), None);
    }

    #[test]
    fn seccomp_mode_and_filters() {
        let filtered = b"Name:\tpause\nNoNewPrivs:\t1\nSeccomp:\t2\nSeccomp_filters:\t1\nSpeculation_Store_Bypass:\tthread force mitigated\n";
        assert_eq!(
            parse_seccomp(filtered),
            Some(SeccompState {
                mode: 2,
                filters: Some(1)
            })
        );
        // Before Linux 5.9 there is no count; without CONFIG_SECCOMP no field at all.
        assert_eq!(
            parse_seccomp(b"Seccomp:\t0\n"),
            Some(SeccompState {
                mode: 0,
                filters: None
            })
        );
        assert_eq!(parse_seccomp(STATUS), None);
    }

    #[test]
    fn status_nspid_and_uid() {
        let status = parse_status(STATUS).expect("parses");
        assert_eq!(status.nspid, Some(vec![5012, 1]));
        assert_eq!(status.ruid, 1000);
        assert_eq!(status.capeff, 0xa80425fb);
        assert!(parse_status(b"Name:\tsleep\nUid:\t1000\t1000\t1000\t1000\n").is_none());
    }

    #[test]
    fn cgroup_lines() {
        let c = parse_cgroup(b"4:memory:/kubepods/pod1/abc\n1:cpu,cpuacct:/x\n0::/a:b\n")
            .expect("parses");
        assert_eq!(c.len(), 3);
        assert_eq!(c[1].controllers, vec!["cpu", "cpuacct"]);
        assert!(c[2].controllers.is_empty());
        assert_eq!(c[0].path, "/kubepods/pod1/abc");
        assert_eq!(c[2].path, "/a:b");
        assert_eq!(parse_cgroup(b"memory:/x\n"), None);
    }

    #[test]
    fn pid_lists() {
        let mut out = Vec::new();
        parse_pid_list(b"101 102 \n", &mut out);
        parse_pid_list(b"", &mut out);
        assert_eq!(out, vec![101, 102]);
    }

    #[test]
    fn whole_files_in_short_and_long_reads() {
        let dir = tempfile::tempdir().expect("temp dir");
        let long: Vec<u8> = (0..20_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        for content in [&b""[..], b"short\n", &long[..]] {
            let path = dir.path().join("f");
            std::fs::write(&path, content).expect("write");
            let mut buf = Vec::new();
            read_path(&path, &mut buf).expect("read");
            assert_eq!(buf, content);
        }
    }

    #[test]
    fn kept_file_reads_what_is_there_now() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("memory.limit_in_bytes");
        std::fs::write(&path, "1048576\n").expect("write");
        let kept = KeptFile::open(&path).expect("open");
        let mut buf = Vec::new();
        kept.read(&mut buf).expect("first read");
        assert_eq!(buf, b"1048576\n");
        // Written in place, as a learner's `echo 2097152 > …` does.
        std::fs::write(&path, "2097152\n").expect("rewrite");
        kept.read(&mut buf).expect("second read");
        assert_eq!(buf, b"2097152\n");
    }

    #[test]
    fn kept_proc_file_fails_once_its_process_is_gone() {
        /// Kills and reaps the child even when an assertion fails first.
        struct Reaped(std::process::Child);
        impl Drop for Reaped {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .expect("spawn sleep");
        let child = Reaped(child);
        let pid = i32::try_from(child.0.id()).expect("pid fits");
        let dir = ProcDir::open(Path::new("/proc"), pid).expect("open /proc/<pid>");
        let stat = dir.keep("stat").expect("keep stat");
        let mut buf = Vec::new();
        stat.read(&mut buf).expect("read while alive");
        let first = parse_stat(&buf).expect("parses");
        stat.read(&mut buf).expect("read again");
        assert_eq!(
            parse_stat(&buf).map(|s| s.start_time),
            Some(first.start_time)
        );
        drop(child);
        let err = stat.read(&mut buf).expect_err("the process is gone");
        assert!(is_gone(&err), "{err}");
    }

    #[test]
    fn links() {
        assert_eq!(parse_ns_link(b"net:[4026531840]"), Some(4026531840));
        assert_eq!(parse_socket_link(b"socket:[77]"), Some(77));
        assert_eq!(parse_socket_link(b"pipe:[77]"), None);
        assert_eq!(parse_cmdline(b"sleep\x0060\x00"), vec!["sleep", "60"]);
    }
}
