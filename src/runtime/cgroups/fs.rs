//! The few filesystem operations cgroup management needs, behind a trait so the v2 manager can
//! be tested against a fake tree that behaves like the kernel.

use std::io::{self, Write};
use std::path::Path;
use std::thread::sleep;
use std::time::Duration;

use super::devices::BpfInsn;
use super::CgroupError;

/// `cgroup.procs`: writing a pid moves that process (all its threads) into the cgroup.
pub const CGROUP_PROCS: &str = "cgroup.procs";

pub trait CgroupFs: Send + Sync + std::fmt::Debug {
    fn create_dir(&self, path: &Path) -> io::Result<()>;
    fn remove_dir(&self, path: &Path) -> io::Result<()>;
    /// Writes `value` to an existing file with one write (cgroup files take one value per
    /// write) and never creates it.
    fn write(&self, path: &Path, value: &str) -> io::Result<()>;
    fn read(&self, path: &Path) -> io::Result<String>;
    /// Names of the subdirectories (child cgroups) of `path`.
    fn child_dirs(&self, path: &Path) -> io::Result<Vec<String>>;
    /// Whether the file exists (an interface file the kernel offers only with some options,
    /// like swap accounting).
    fn exists(&self, path: &Path) -> bool;
    /// cgroup v2: loads a device program and attaches it to the cgroup at `dir` (none is
    /// attached twice to one cgroup).
    fn attach_device_program(&self, dir: &Path, program: &[BpfInsn]) -> io::Result<()>;
}

/// The real `/sys/fs/cgroup`.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostFs;

impl CgroupFs for HostFs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_dir(path)
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).open(path)?;
        file.write_all(value.as_bytes())
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn child_dirs(&self, path: &Path) -> io::Result<Vec<String>> {
        let mut names = vec![];
        for entry in std::fs::read_dir(path)? {
            let entry = entry?;
            if entry.file_type()?.is_dir() {
                names.push(entry.file_name().to_string_lossy().into_owned());
            }
        }
        names.sort();
        Ok(names)
    }

    fn exists(&self, path: &Path) -> bool {
        path.exists()
    }

    fn attach_device_program(&self, dir: &Path, program: &[BpfInsn]) -> io::Result<()> {
        super::devices::attach_to_cgroup(dir, program)
    }
}

/// How often and how long `rmdir` is retried while the kernel still counts a process that
/// has just exited.
const REMOVE_ATTEMPTS: u32 = 50;
const REMOVE_PAUSE: Duration = Duration::from_millis(20);
/// runc retries a move into `cgroup.procs` that fails with EINVAL (a task still being born).
const MOVE_ATTEMPTS: u32 = 5;
const MOVE_PAUSE: Duration = Duration::from_millis(30);

/// `mkdir`, where "already exists" is fine (another pod made it, or a restart reuses it).
pub fn ensure_dir(fs: &dyn CgroupFs, path: &Path) -> Result<(), CgroupError> {
    match fs.create_dir(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(CgroupError::io("create cgroup", path, e)),
    }
}

pub fn write_value(
    fs: &dyn CgroupFs,
    dir: &Path,
    file: &str,
    value: &str,
) -> Result<(), CgroupError> {
    let path = dir.join(file);
    fs.write(&path, value)
        .map_err(|e| CgroupError::io_with(format!("write {value:?} to"), &path, e))
}

pub fn read_value(fs: &dyn CgroupFs, dir: &Path, file: &str) -> Result<String, CgroupError> {
    let path = dir.join(file);
    fs.read(&path)
        .map_err(|e| CgroupError::io("read", &path, e))
}

/// Moves process `pid` into the cgroup at `dir`.
pub fn move_process(fs: &dyn CgroupFs, dir: &Path, pid: i32) -> Result<(), CgroupError> {
    let path = dir.join(CGROUP_PROCS);
    let mut attempt = 0;
    loop {
        match fs.write(&path, &pid.to_string()) {
            Ok(()) => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EINVAL) && attempt + 1 < MOVE_ATTEMPTS => {
                attempt += 1;
                sleep(MOVE_PAUSE);
            }
            Err(e) => {
                return Err(CgroupError::io_with(
                    format!("move pid {pid} into"),
                    &path,
                    e,
                ))
            }
        }
    }
}

/// Removes a leaf or pod cgroup, retrying briefly while it is busy. Gone already is fine.
pub fn remove_dir_patiently(fs: &dyn CgroupFs, dir: &Path) -> Result<(), CgroupError> {
    let mut attempt = 0;
    loop {
        match fs.remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) && attempt + 1 < REMOVE_ATTEMPTS => {
                attempt += 1;
                sleep(REMOVE_PAUSE);
            }
            Err(e) => {
                let pids = read_value(fs, dir, CGROUP_PROCS).unwrap_or_default();
                let pids: Vec<&str> = pids.split_whitespace().collect();
                return Err(if pids.is_empty() {
                    CgroupError::io("remove cgroup", dir, e)
                } else {
                    CgroupError::Busy {
                        path: dir.to_path_buf(),
                        pids: pids.join(" "),
                    }
                });
            }
        }
    }
}

/// Removes a shared ancestor (`podlab`, `kubepods`, …) if nothing else uses it. Returns false
/// when it is still in use (another pod), which is not an error.
pub fn remove_if_unused(fs: &dyn CgroupFs, dir: &Path) -> Result<bool, CgroupError> {
    match fs.remove_dir(dir) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(true),
        Err(e) if matches!(e.raw_os_error(), Some(libc::EBUSY) | Some(libc::ENOTEMPTY)) => {
            Ok(false)
        }
        Err(e) => Err(CgroupError::io("remove cgroup", dir, e)),
    }
}
