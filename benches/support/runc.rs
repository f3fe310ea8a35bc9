//! The same pod the way containerd has runc build it: pause as an OCI bundle in new namespaces,
//! then two bundles whose config.json joins pause's net, ipc and uts by path
//! (`/proc/<pause>/ns/...`), each with its own pid and mount namespaces.
//!
//! The bundles share one read-only copy of podlab's busybox rootfs with podlab's `pause` in it.
//! Each container gets containerd's default spec: /proc, /dev, /dev/pts, /dev/shm, /dev/mqueue,
//! /sys, /sys/fs/cgroup, the default capabilities, masked and read-only paths, and a cgroup
//! under `/podlab-runc-bench/pod-<n>/` (removed again). runc keeps its state under the bench's
//! temporary directory, not /run/runc.

use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// Where runc's cgroups go; everything below it is removed by [`RuncBench::drop`].
pub const CGROUP_PARENT: &str = "podlab-runc-bench";

/// containerd's default capability set (`oci.defaultUnixCaps`).
const DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

/// A temporary directory with the rootfs, one bundle per role, and runc's state root.
pub struct RuncBench {
    dir: tempfile::TempDir,
    runc: PathBuf,
    next_pod: usize,
}

/// One runc pod: its containers' ids and pids, pause first.
pub struct RuncPod {
    pub ids: Vec<String>,
    pub pids: Vec<i32>,
}

impl RuncBench {
    /// Finds runc and lays out the shared rootfs (busybox + pause) in a temporary directory.
    pub fn new(busybox_rootfs: &Path, pause_exe: &Path) -> io::Result<RuncBench> {
        let runc = find_runc().ok_or_else(|| {
            io::Error::other(
                "runc is not installed: apt-get install runc (only the pod_compare bench needs it)",
            )
        })?;
        let dir = tempfile::Builder::new().prefix("podlab-runc-").tempdir()?;
        let rootfs = dir.path().join("rootfs");
        let copied = Command::new("cp")
            .arg("-a")
            .arg(busybox_rootfs)
            .arg(&rootfs)
            .status()?;
        if !copied.success() {
            return Err(io::Error::other(format!(
                "failed to copy {} to {}",
                busybox_rootfs.display(),
                rootfs.display()
            )));
        }
        std::fs::copy(pause_exe, rootfs.join("pause"))?;
        copy_shared_libraries(pause_exe, &rootfs)?;
        for dir_name in ["proc", "dev", "sys", "tmp"] {
            std::fs::create_dir_all(rootfs.join(dir_name))?;
        }
        std::fs::create_dir_all(dir.path().join("state"))?;
        Ok(RuncBench {
            dir,
            runc,
            next_pod: 0,
        })
    }

    /// Starts pause and two `sleep 3600` containers joining it; returns once both have exec'd.
    /// `after_pause` runs between pause and the containers (to wire the pod network, as
    /// containerd runs CNI before the app containers).
    pub fn start_pod(&mut self, after_pause: impl FnOnce(i32)) -> io::Result<RuncPod> {
        let n = self.next_pod;
        self.next_pod += 1;
        let pause_id = format!("pod{n}-pause");
        let pause_pid = self.run_container(&pause_id, &["/pause"], None, n);
        let mut pod = RuncPod {
            ids: vec![pause_id],
            pids: vec![],
        };
        let pause_pid = pause_pid?;
        pod.pids.push(pause_pid);
        wait_for_exec(pause_pid, "pause")?;
        after_pause(pause_pid);
        for name in ["a", "b"] {
            let id = format!("pod{n}-{name}");
            let pid = self.run_container(&id, &["/bin/sleep", "3600"], Some(pause_pid), n);
            pod.ids.push(id);
            let pid = pid?;
            pod.pids.push(pid);
            wait_for_exec(pid, "sleep")?;
        }
        Ok(pod)
    }

    /// As containerd stops a pod with grace 0: `runc kill <id> KILL` for the containers, then
    /// pause; wait until the processes are gone (containerd's shim learns it from SIGCHLD);
    /// then `runc delete <id>` for each, which removes its cgroup and state.
    /// (`runc delete --force` would do both, but it polls for the exit every 100 ms.)
    pub fn delete_pod(&self, pod: &RuncPod) -> io::Result<()> {
        let mut first_error = None;
        for id in pod.ids.iter().rev() {
            if let Err(e) = self.runc(&["kill", id, "KILL"]) {
                first_error.get_or_insert(e);
            }
        }
        for &pid in &pod.pids {
            wait_gone(pid);
        }
        for id in pod.ids.iter().rev() {
            if let Err(e) = self.runc(&["delete", id]) {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn run_container(
        &self,
        id: &str,
        args: &[&str],
        join: Option<i32>,
        pod: usize,
    ) -> io::Result<i32> {
        let bundle = self.dir.path().join("bundles").join(id);
        std::fs::create_dir_all(&bundle)?;
        let config = spec(&self.dir.path().join("rootfs"), id, args, join, pod);
        std::fs::write(
            bundle.join("config.json"),
            serde_json::to_vec(&config).map_err(io::Error::other)?,
        )?;
        let pid_file = bundle.join("pid");
        self.runc(&[
            "run",
            "--detach",
            "--bundle",
            path_str(&bundle)?,
            "--pid-file",
            path_str(&pid_file)?,
            id,
        ])?;
        std::fs::read_to_string(&pid_file)?
            .trim()
            .parse()
            .map_err(io::Error::other)
    }

    fn runc(&self, args: &[&str]) -> io::Result<()> {
        // A file, not a pipe: the containers inherit runc's stdio, and pause would hold a pipe
        // open for as long as it lives.
        let log_path = self.dir.path().join("runc.stderr");
        let log = std::fs::File::create(&log_path)?;
        let status = Command::new(&self.runc)
            .arg("--root")
            .arg(self.dir.path().join("state"))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .status()?;
        if status.success() {
            Ok(())
        } else {
            let said = std::fs::read_to_string(&log_path).unwrap_or_default();
            Err(io::Error::other(format!(
                "runc {}: {}",
                args.join(" "),
                said.trim()
            )))
        }
    }

    /// Every container runc still knows (after a failure half-way).
    fn leftover_ids(&self) -> Vec<String> {
        std::fs::read_dir(self.dir.path().join("state"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Drop for RuncBench {
    fn drop(&mut self) {
        for id in self.leftover_ids() {
            let _ = self.runc(&["delete", "--force", &id]);
        }
        remove_cgroup_tree(CGROUP_PARENT);
    }
}

/// containerd's default spec for a container; `join` = pause's pid for an app container.
fn spec(rootfs: &Path, id: &str, args: &[&str], join: Option<i32>, pod: usize) -> Value {
    let namespaces: Vec<Value> = match join {
        None => ["pid", "ipc", "uts", "mount", "network"]
            .iter()
            .map(|t| json!({"type": t}))
            .collect(),
        Some(pause) => vec![
            json!({"type": "pid"}),
            json!({"type": "mount"}),
            json!({"type": "network", "path": format!("/proc/{pause}/ns/net")}),
            json!({"type": "ipc", "path": format!("/proc/{pause}/ns/ipc")}),
            json!({"type": "uts", "path": format!("/proc/{pause}/ns/uts")}),
        ],
    };
    let mut config = json!({
        "ociVersion": "1.0.2",
        "process": {
            "terminal": false,
            "user": {"uid": 0, "gid": 0},
            "args": args,
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "cwd": "/",
            "capabilities": {
                "bounding": DEFAULT_CAPS,
                "effective": DEFAULT_CAPS,
                "permitted": DEFAULT_CAPS
            },
            "noNewPrivileges": true
        },
        "root": {"path": rootfs, "readonly": true},
        "mounts": [
            {"destination": "/proc", "type": "proc", "source": "proc",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
             "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
            {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
             "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
            {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
             "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
            {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
             "options": ["nosuid", "noexec", "nodev"]},
            {"destination": "/sys", "type": "sysfs", "source": "sysfs",
             "options": ["nosuid", "noexec", "nodev", "ro"]},
            {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
             "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
        ],
        "linux": {
            "cgroupsPath": format!("/{CGROUP_PARENT}/pod-{pod}/{id}"),
            "namespaces": namespaces,
            "maskedPaths": ["/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                "/proc/sched_debug", "/sys/firmware", "/proc/scsi"],
            "readonlyPaths": ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                "/proc/sysrq-trigger"]
        }
    });
    if join.is_none() {
        config["hostname"] = json!(id);
    }
    config
}

/// pause is linked against the host's libc: put the libraries `ldd` names into the rootfs at
/// the same paths (busybox is static and brings none).
fn copy_shared_libraries(exe: &Path, rootfs: &Path) -> io::Result<()> {
    let out = Command::new("ldd").arg(exe).output()?;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(lib) = line
            .split_whitespace()
            .find(|w| w.starts_with('/'))
            .map(Path::new)
        else {
            continue;
        };
        let target = rootfs.join(lib.strip_prefix("/").unwrap_or(lib));
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        // Follows symlinks: the copy is the library itself.
        std::fs::copy(lib, &target)?;
    }
    Ok(())
}

fn path_str(path: &Path) -> io::Result<&str> {
    path.to_str()
        .ok_or_else(|| io::Error::other(format!("{} is not UTF-8", path.display())))
}

fn find_runc() -> Option<PathBuf> {
    [
        "/usr/sbin/runc",
        "/usr/bin/runc",
        "/usr/local/bin/runc",
        "/usr/local/sbin/runc",
    ]
    .iter()
    .map(PathBuf::from)
    .find(|p| p.is_file())
}

/// `runc run -d` returns once the container's init was told to go; the exec of the user's
/// process follows within microseconds: wait for it, so "started" means the same as podlab's.
pub fn wait_for_exec(pid: i32, comm: &str) -> io::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if now.trim() == comm {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(io::Error::other(format!(
                "process {pid} did not exec {comm} (it is {:?})",
                now.trim()
            )));
        }
        std::hint::spin_loop();
    }
}

/// Waits (at most 5 s) until `pid` has exited and been reaped: runc's containers are reparented
/// to PID 1, which reaps them.
fn wait_gone(pid: i32) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    while proc_dir.exists() && Instant::now() < deadline {
        let stat = std::fs::read_to_string(proc_dir.join("stat")).unwrap_or_default();
        // A zombie has exited; only its parent's wait is missing.
        if stat
            .rsplit(')')
            .next()
            .is_some_and(|rest| rest.trim_start().starts_with('Z'))
        {
            return;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Removes `/sys/fs/cgroup/<controller>/<parent>` and everything below it, deepest first, in
/// every v1 hierarchy (and on v2). Only empty cgroups can go; runc delete emptied them.
pub fn remove_cgroup_tree(parent: &str) {
    let Ok(roots) = std::fs::read_dir("/sys/fs/cgroup") else {
        return;
    };
    let mut tops: Vec<PathBuf> = roots.flatten().map(|e| e.path().join(parent)).collect();
    tops.push(Path::new("/sys/fs/cgroup").join(parent));
    for top in tops {
        remove_dirs_below(&top);
    }
}

fn remove_dirs_below(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_dirs_below(&e.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
