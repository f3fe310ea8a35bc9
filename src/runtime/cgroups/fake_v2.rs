//! A cgroup v2 tree in a temporary directory that keeps the kernel's rules, for machines
//! without a usable v2 hierarchy: `mkdir` creates the interface files of the controllers the
//! parent enabled, `rmdir` refuses a cgroup with children or processes, and a cgroup may not
//! both hold processes and enable controllers for children.

use std::io;
use std::path::{Path, PathBuf};

use super::fs::{CgroupFs, HostFs};

const CORE_FILES: &[(&str, &str)] = &[
    ("cgroup.procs", ""),
    ("cgroup.subtree_control", ""),
    ("cgroup.events", "populated 0\nfrozen 0\n"),
];

const CONTROLLER_FILES: &[(&str, &[(&str, &str)])] = &[
    (
        "cpu",
        &[
            ("cpu.weight", "100"),
            ("cpu.max", "max 100000"),
            ("cpu.stat", "usage_usec 0\nnr_throttled 0\n"),
        ],
    ),
    (
        "memory",
        &[
            ("memory.max", "max"),
            ("memory.current", "0"),
            ("memory.oom.group", "0"),
            ("memory.swap.max", "max"),
            (
                "memory.events",
                "low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\noom_group_kill 0\n",
            ),
        ],
    ),
    ("pids", &[("pids.max", "max"), ("pids.current", "0")]),
    (
        "hugetlb",
        &[
            ("hugetlb.2MB.max", "max"),
            ("hugetlb.2MB.rsvd.max", "max"),
            ("hugetlb.1GB.max", "max"),
            ("hugetlb.1GB.rsvd.max", "max"),
        ],
    ),
];

#[derive(Debug)]
pub struct FakeV2Fs {
    root: PathBuf,
}

impl FakeV2Fs {
    /// Makes `root` look like a v2 root offering `controllers` (e.g. "cpu memory pids").
    pub fn new(root: &Path, controllers: &str) -> io::Result<FakeV2Fs> {
        std::fs::write(root.join("cgroup.controllers"), controllers)?;
        for (file, content) in CORE_FILES {
            std::fs::write(root.join(file), content)?;
        }
        Ok(FakeV2Fs {
            root: root.to_path_buf(),
        })
    }

    fn is_root(&self, dir: &Path) -> bool {
        dir == self.root
    }

    fn words(path: &Path) -> io::Result<Vec<String>> {
        Ok(std::fs::read_to_string(path)?
            .split_whitespace()
            .map(str::to_string)
            .collect())
    }

    /// Takes `pid` out of every cgroup (a process is in exactly one).
    fn forget_pid(&self, dir: &Path, pid: &str) -> io::Result<()> {
        let procs = dir.join("cgroup.procs");
        let remaining: Vec<String> = FakeV2Fs::words(&procs)?
            .into_iter()
            .filter(|p| p != pid)
            .collect();
        std::fs::write(&procs, lines(&remaining))?;
        for child in HostFs.child_dirs(dir)? {
            self.forget_pid(&dir.join(child), pid)?;
        }
        Ok(())
    }

    /// What the test does when a process exits.
    pub fn exit(&self, pid: &str) -> io::Result<()> {
        self.forget_pid(&self.root, pid)
    }
}

fn lines(words: &[String]) -> String {
    words.iter().map(|w| format!("{w}\n")).collect()
}

fn errno(code: i32) -> io::Error {
    io::Error::from_raw_os_error(code)
}

impl CgroupFs for FakeV2Fs {
    fn create_dir(&self, path: &Path) -> io::Result<()> {
        std::fs::create_dir(path)?;
        let parent = path.parent().ok_or_else(|| errno(libc::EINVAL))?;
        let offered = FakeV2Fs::words(&parent.join("cgroup.subtree_control"))?;
        std::fs::write(path.join("cgroup.controllers"), offered.join(" "))?;
        for (file, content) in CORE_FILES {
            std::fs::write(path.join(file), content)?;
        }
        for (controller, files) in CONTROLLER_FILES {
            if offered.iter().any(|c| c == controller) {
                for (file, content) in *files {
                    std::fs::write(path.join(file), content)?;
                }
            }
        }
        Ok(())
    }

    fn remove_dir(&self, path: &Path) -> io::Result<()> {
        if !path.is_dir() {
            return Err(errno(libc::ENOENT));
        }
        let has_children = !HostFs.child_dirs(path)?.is_empty();
        let has_procs = !FakeV2Fs::words(&path.join("cgroup.procs"))?.is_empty();
        if has_children || has_procs {
            return Err(errno(libc::EBUSY));
        }
        std::fs::remove_dir_all(path)
    }

    fn write(&self, path: &Path, value: &str) -> io::Result<()> {
        if !path.is_file() {
            return Err(errno(libc::ENOENT));
        }
        let dir = path.parent().ok_or_else(|| errno(libc::EINVAL))?;
        match path.file_name().and_then(|n| n.to_str()) {
            Some("cgroup.subtree_control") => {
                let offered = FakeV2Fs::words(&dir.join("cgroup.controllers"))?;
                let mut enabled = FakeV2Fs::words(path)?;
                for word in value.split_whitespace() {
                    let Some(controller) = word.strip_prefix('+') else {
                        return Err(errno(libc::EINVAL));
                    };
                    if !offered.iter().any(|c| c == controller) {
                        return Err(errno(libc::ENOENT));
                    }
                    if !self.is_root(dir) && !FakeV2Fs::words(&dir.join("cgroup.procs"))?.is_empty()
                    {
                        return Err(errno(libc::EBUSY));
                    }
                    if !enabled.iter().any(|c| c == controller) {
                        enabled.push(controller.to_string());
                    }
                }
                std::fs::write(path, enabled.join(" "))
            }
            Some("cgroup.procs") => {
                let pid = value.trim();
                if pid.parse::<u32>().is_err() {
                    return Err(errno(libc::EINVAL));
                }
                if !self.is_root(dir)
                    && !FakeV2Fs::words(&dir.join("cgroup.subtree_control"))?.is_empty()
                {
                    return Err(errno(libc::EBUSY));
                }
                self.forget_pid(&self.root, pid)?;
                let mut procs = FakeV2Fs::words(path)?;
                procs.push(pid.to_string());
                std::fs::write(path, lines(&procs))
            }
            _ => std::fs::write(path, value),
        }
    }

    fn read(&self, path: &Path) -> io::Result<String> {
        std::fs::read_to_string(path)
    }

    fn child_dirs(&self, path: &Path) -> io::Result<Vec<String>> {
        HostFs.child_dirs(path)
    }

    fn exists(&self, path: &Path) -> bool {
        HostFs.exists(path)
    }
}
