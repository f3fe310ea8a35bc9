//! Resource exhaustion: a fork bomb stops at the pod's pids.max (kubelet's podPidsLimit), a full
//! memory-backed emptyDir returns ENOSPC to the container, and `podlab gc` cleans up state whose
//! processes are all gone (as after a reboot) without touching a live pod. In each case podlab
//! itself keeps working.

use crate::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::*;
use podlab::kube::pod_state::PodState;
use podlab::kube::resources::POD_PIDS_LIMIT;
use podlab::runtime::sys::LiveProcess;

const SLEEPER: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
"#;

/// Runs podlab with a deadline: a command that hangs under pressure fails the test instead.
fn podlab_within(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(PODLAB)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run podlab");
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("wait for podlab").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect podlab's output");
            panic!(
                "podlab {args:?} did not finish within {limit:?}: {}",
                stderr(&out)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("collect podlab's output")
}

/// The pod cgroup's directory in the v1 pids hierarchy (this machine's layout).
fn pids_dir(state: &PodState) -> PathBuf {
    assert!(
        !state.cgroup.is_empty(),
        "the pod has no cgroup: {state:#?}"
    );
    Path::new("/sys/fs/cgroup/pids").join(state.cgroup.trim_start_matches('/'))
}

fn read_trimmed(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("failed to read {}: {e}", path.display()))
        .trim()
        .to_string()
}

fn procs_of(cgroup_dir: &Path) -> Vec<i32> {
    std::fs::read_to_string(cgroup_dir.join("cgroup.procs"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn comm(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .unwrap_or_default()
        .trim()
        .to_string()
}

fn kill(pid: i32) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    );
}

/// Host processes put into a pod's cgroup by a test; killed even if the test fails.
struct Fillers(Vec<std::process::Child>);

impl Drop for Fillers {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A fork bomb in a container stops at the pod's pids.max with EAGAIN; ps and describe keep
/// working, exec says why it cannot start, exec works again once processes exit, and delete
/// removes the pod with every process the bomb made.
#[test]
fn fork_bomb_stops_at_pod_pids_limit() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("bomb", SLEEPER);
    let state = pod.state();
    let pod_pids = pids_dir(&state);
    assert_eq!(
        read_trimmed(&pod_pids.join("pids.max")),
        POD_PIDS_LIMIT.to_string(),
        "pids.max of the pod cgroup {}",
        pod_pids.display()
    );
    let app_pid = pod.pid_of("app");

    // Forks until the kernel refuses; the bound only guards against a missing limit. The
    // sleeps get no stdio, so exec's output ends when the shell does.
    let bomb = "i=0; while [ $i -lt 5000 ]; do sleep 600 </dev/null >/dev/null 2>&1 & \
                i=$((i+1)); done; echo no limit hit";
    let out = podlab_within(
        &["exec", &pod.name, "-c", "app", "--", "sh", "-c", bomb],
        Duration::from_secs(30),
    );
    assert!(
        !stdout(&out).contains("no limit hit"),
        "5000 forks succeeded: there is no pids limit"
    );
    assert!(
        stderr(&out).contains("Resource temporarily unavailable"),
        "the shell did not report EAGAIN: {}",
        stderr(&out)
    );
    let current: i64 = read_trimmed(&pod_pids.join("pids.current"))
        .parse()
        .expect("pids.current is a number");
    assert!(
        current > POD_PIDS_LIMIT - 20 && current <= POD_PIDS_LIMIT,
        "pids.current {current} with pids.max {POD_PIDS_LIMIT}"
    );

    // podlab itself is outside the pod and unaffected.
    let ps = podlab_within(&["ps"], Duration::from_secs(10));
    assert!(ps.status.success(), "ps failed: {}", stderr(&ps));
    let line = stdout(&ps)
        .lines()
        .find(|l| l.starts_with(&pod.name))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("{} missing from ps:\n{}", pod.name, stdout(&ps)));
    assert!(line.contains("Running"), "{line}");
    let describe = podlab_within(&["describe", &pod.name], Duration::from_secs(10));
    assert!(describe.status.success(), "{}", stderr(&describe));

    // The bomb's shell has exited, which freed a few pids. Fill them from the host: moving a
    // process into a cgroup is not limited, only fork is.
    let app_dir = pod_pids.join("app");
    let mut fillers = Fillers(vec![]);
    while read_trimmed(&pod_pids.join("pids.current"))
        .parse::<i64>()
        .expect("pids.current is a number")
        < POD_PIDS_LIMIT
    {
        let child = Command::new("sleep")
            .arg("600")
            .spawn()
            .expect("start a filler");
        let pid = child.id().to_string();
        fillers.0.push(child);
        std::fs::write(app_dir.join("cgroup.procs"), &pid)
            .unwrap_or_else(|e| panic!("failed to move filler {pid} into the pod: {e}"));
    }

    // exec needs a process in the pod: it fails, quickly, and says why.
    let full = podlab_within(
        &["exec", &pod.name, "-c", "app", "--", "true"],
        Duration::from_secs(10),
    );
    assert!(!full.status.success(), "exec into a full pod succeeded");
    assert!(
        stderr(&full).contains("pids.max"),
        "exec's error does not name the limit: {}",
        stderr(&full)
    );

    // Free some room: exec works again.
    drop(fillers);
    let bombs: Vec<i32> = procs_of(&app_dir)
        .into_iter()
        .filter(|&p| p != app_pid && comm(p) == "sleep")
        .collect();
    assert!(bombs.len() > 900, "only {} sleeps in the pod", bombs.len());
    for &p in bombs.iter().take(100) {
        kill(p);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let out = podlab_within(
            &["exec", &pod.name, "-c", "app", "--", "echo", "room"],
            Duration::from_secs(10),
        );
        if out.status.success() {
            assert_eq!(stdout(&out).trim(), "room");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "exec still fails after freeing 100 pids: {}",
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // delete with ~900 processes in the pod: everything goes.
    let out = podlab_within(
        &["delete", "--grace-period", "0", &pod.name],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "delete failed: {}", stderr(&out));
    assert_nothing_left(&state);
    let deadline = Instant::now() + Duration::from_secs(5);
    while bombs.iter().any(|&p| comm(p) == "sleep") || pod_pids.exists() {
        assert!(
            Instant::now() < deadline,
            "after delete: {} bomb processes alive, pod cgroup exists={}",
            bombs.iter().filter(|&&p| comm(p) == "sleep").count(),
            pod_pids.exists()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A memory-backed emptyDir with sizeLimit 1Mi is a 1 MiB tmpfs: writing past it gives the
/// container ENOSPC, and podlab goes on serving the pod.
#[test]
fn full_memory_emptydir_returns_enospc() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run(
        "fullvol",
        r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{name: cache, emptyDir: {medium: Memory, sizeLimit: 1Mi}}]
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"], volumeMounts: [{name: cache, mountPath: /cache}]}
"#,
    );
    let out = pod.exec(
        "app",
        &["dd", "if=/dev/zero", "of=/cache/fill", "bs=64k", "count=64"],
    );
    assert!(!out.status.success(), "4 MiB fit into a 1 MiB emptyDir");
    assert!(
        stderr(&out).contains("No space left on device"),
        "dd did not report ENOSPC: {}",
        stderr(&out)
    );
    // It filled exactly the volume.
    let size: u64 = pod
        .sh("app", "wc -c < /cache/fill")
        .trim()
        .parse()
        .expect("a byte count");
    assert_eq!(size, 1024 * 1024, "bytes written before ENOSPC");
    // The container and podlab still work; freeing the file frees the volume.
    assert_eq!(
        pod.sh(
            "app",
            "rm /cache/fill && echo 1 > /cache/ok && cat /cache/ok"
        )
        .trim(),
        "1"
    );
    let ps = podlab(&["ps"]);
    assert!(ps.status.success(), "ps failed: {}", stderr(&ps));
    assert!(stdout(&ps).contains(&pod.name));
    // TestPod's drop deletes the pod and checks that nothing is left.
}

/// What a pod left when the machine went down: its state dir with a state.json whose processes
/// are gone (their pids may now belong to others: the start times do not match), no shim, an
/// IPAM lease, a host veth and cgroup directories.
struct StalePod {
    uid: String,
    lease: PathBuf,
    veth: String,
    cgroups: Vec<PathBuf>,
}

impl StalePod {
    /// Modelled on a live pod's state, with its pids kept and the start times wrong: gc must
    /// neither trust nor kill them.
    fn make(live: &PodState) -> StalePod {
        let uid = uuid::Uuid::new_v4().to_string();
        let mut value = serde_json::to_value(live).expect("state to JSON");
        value["uid"] = uid.clone().into();
        value["name"] = format!("{}-before-reboot", live.name).into();
        value["shim"]["start_time"] = 1.into();
        value["sandbox"]["pause"]["start_time"] = 1.into();
        if let Some(containers) = value["containers"].as_array_mut() {
            for c in containers {
                if c["process"].is_object() {
                    c["process"]["start_time"] = 1.into();
                }
            }
        }
        let cgroup = format!("/podlab/kubepods/besteffort/pod{uid}");
        value["cgroup"] = cgroup.clone().into();
        let dir = podlab::runtime::paths::pod_dir(&uid);
        std::fs::create_dir_all(dir.join("logs")).expect("stale pod dir");
        std::fs::write(
            podlab::runtime::paths::state_file(&uid),
            serde_json::to_vec_pretty(&value).expect("JSON"),
        )
        .expect("stale state.json");
        std::fs::write(dir.join("logs/app.log"), "before the reboot\n").expect("stale log");

        let short = &uid[..8];
        let veth = format!("pl-stale{}", &short[..4]);
        let ip = Command::new("ip")
            .args(["link", "add", &veth, "type", "veth", "peer", "name"])
            .arg(format!("stale{short}"))
            .status()
            .expect("run ip");
        assert!(ip.success(), "failed to create veth {veth}");
        // An address high in the pod range, where the tests' pods never reach.
        let lease_dir = Path::new("/run/podlab/ipam");
        std::fs::create_dir_all(lease_dir).expect("IPAM dir");
        let lease = (200..=250)
            .map(|n| lease_dir.join(format!("10.88.254.{n}")))
            .find(|p| !p.exists())
            .expect("a free address for the stale lease");
        std::fs::write(&lease, format!("{uid}\n{veth}\n")).expect("stale lease");

        let mut cgroups = vec![];
        for controller in ["cpu", "cpuacct", "memory", "pids"] {
            let pod_dir = Path::new("/sys/fs/cgroup")
                .join(controller)
                .join(cgroup.trim_start_matches('/'));
            for leaf in ["pause", "app"] {
                std::fs::create_dir_all(pod_dir.join(leaf)).unwrap_or_else(|e| {
                    panic!("failed to create stale cgroup {}: {e}", pod_dir.display())
                });
            }
            cgroups.push(pod_dir);
        }
        StalePod {
            uid,
            lease,
            veth,
            cgroups,
        }
    }

    fn link_exists(&self) -> bool {
        Path::new("/sys/class/net").join(&self.veth).exists()
    }

    fn leftovers(&self) -> Vec<String> {
        let mut left = vec![];
        if podlab::runtime::paths::pod_dir(&self.uid).exists() {
            left.push(format!("state dir of {}", self.uid));
        }
        if self.lease.exists() {
            left.push(format!("lease {}", self.lease.display()));
        }
        if self.link_exists() {
            left.push(format!("veth {}", self.veth));
        }
        left.extend(
            self.cgroups
                .iter()
                .filter(|d| d.exists())
                .map(|d| format!("cgroup {}", d.display())),
        );
        left
    }
}

impl Drop for StalePod {
    /// If the test failed half-way, remove what it made by hand.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(podlab::runtime::paths::pod_dir(&self.uid));
        let _ = std::fs::remove_file(&self.lease);
        if self.link_exists() {
            let _ = Command::new("ip")
                .args(["link", "del", &self.veth])
                .status();
        }
        for dir in &self.cgroups {
            for leaf in ["pause", "app"] {
                let _ = std::fs::remove_dir(dir.join(leaf));
            }
            let _ = std::fs::remove_dir(dir);
        }
    }
}

#[test]
fn gc_after_reboot_removes_dead_state_and_spares_live_pod() {
    let Some(_machine) = privileged() else {
        return;
    };
    let live = TestPod::run_with("survivor", SLEEPER, &["--network", "native"]);
    let live_state = live.state();
    let stale = StalePod::make(&live_state);
    assert!(stale.leftovers().len() >= 7, "{:?}", stale.leftovers());

    // ps lists the dead pod as it can (its shim is gone) and does not fail on it.
    let ps = podlab(&["ps"]);
    assert!(
        ps.status.success(),
        "ps with stale state failed: {}",
        stderr(&ps)
    );

    let out = podlab(&["gc"]);
    assert!(out.status.success(), "gc failed: {}", stderr(&out));
    let deadline = Instant::now() + Duration::from_secs(5);
    while !stale.leftovers().is_empty() {
        assert!(
            Instant::now() < deadline,
            "gc left the stale pod's {:?}; it said: {}{}",
            stale.leftovers(),
            stdout(&out),
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
        let _ = podlab(&["gc"]);
    }

    // The live pod, whose pids the stale state named, is untouched.
    let after = live.state();
    assert_eq!(after.shim, live_state.shim);
    assert!(
        after.shim.is_alive()
            && live_state
                .sandbox
                .as_ref()
                .is_some_and(|s| s.pause.is_alive())
    );
    assert_eq!(
        live.pid_of("app"),
        live_state.containers[0].process.expect("app process").pid
    );
    assert!(
        Path::new("/sys/fs/cgroup/pids")
            .join(after.cgroup.trim_start_matches('/'))
            .exists(),
        "gc removed the live pod's cgroup"
    );
    let ip = after
        .sandbox
        .as_ref()
        .and_then(|s| s.ip.clone())
        .expect("the live pod has an IP");
    assert!(
        Path::new("/run/podlab/ipam").join(&ip).exists(),
        "gc released the live pod's address {ip}"
    );
    assert_eq!(live.sh("app", "echo alive").trim(), "alive");
}
