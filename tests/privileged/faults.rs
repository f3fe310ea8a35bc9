//! kill -9 at random moments, of the client, the shim or a process of the pod, while a pod is
//! being created or running: after each, `podlab gc` leaves nothing podlab made on the machine.
//!
//! One test in its own binary, so it can check the whole machine between iterations.

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ITERATIONS: u64 = 100;

const POD: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  volumes: [{name: mem, emptyDir: {medium: Memory}}]
  initContainers:
  - {name: init, image: busybox, command: ["true"]}
  containers:
  - {name: web, image: nginx, volumeMounts: [{name: mem, mountPath: /mem}]}
  - {name: sidecar, image: busybox, command: [sleep, "3600"], resources: {limits: {cpu: 100m, memory: 32Mi}}}
"#;

/// Live processes whose name says they belong to podlab. A zombie is left out: it holds
/// nothing, and reaping it is its parent's job (for an exited shim, the machine's init).
fn podlab_processes() -> Vec<(i32, String)> {
    let mut found = vec![];
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let zombie = proc_stat(pid).is_some_and(|s| s.state.is_zombie());
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let comm = comm.trim();
        if zombie {
            continue;
        }
        if matches!(comm, "pause" | "podlab-shim" | "podlab-sandbox")
            || comm.starts_with("podlab-init")
        {
            found.push((pid, comm.to_string()));
        }
    }
    found
}

/// Everything podlab left on the machine that belongs to no live pod; empty means clean.
/// (Pods of other tests running at the same time are alive and are not counted.)
fn leftovers() -> Vec<String> {
    let live: Vec<podlab::kube::pod_state::PodState> = podlab::runtime::lookup::all_pods()
        .into_iter()
        .filter(|p| p.shim_alive)
        .filter_map(|p| p.state)
        .collect();
    let is_live = |text: &str| live.iter().any(|p| text.contains(&p.uid));
    let mut out = vec![];
    if let Ok(dir) = std::fs::read_dir("/run/podlab/pods") {
        out.extend(
            dir.flatten()
                .map(|e| e.path().display().to_string())
                .filter(|p| !is_live(p))
                .map(|p| format!("state dir {p}")),
        );
    }
    if let Ok(dir) = std::fs::read_dir("/run/podlab/ipam") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let owner = std::fs::read_to_string(e.path()).unwrap_or_default();
            if name.parse::<std::net::Ipv4Addr>().is_ok() && !is_live(&owner) {
                out.push(format!("IPAM entry {name} ({})", owner.trim()));
            }
        }
    }
    for controller in ["cpu", "cpuacct", "memory", "pids"] {
        let kubepods = Path::new("/sys/fs/cgroup")
            .join(controller)
            .join("podlab/kubepods");
        for tier in [
            kubepods.clone(),
            kubepods.join("burstable"),
            kubepods.join("besteffort"),
        ] {
            let Ok(dir) = std::fs::read_dir(&tier) else {
                continue;
            };
            for e in dir.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with("pod") && e.path().is_dir() && !is_live(&name) {
                    out.push(format!("cgroup {}", e.path().display()));
                }
            }
        }
    }
    let live_veths: Vec<String> = live
        .iter()
        .filter_map(|p| {
            p.sandbox
                .as_ref()?
                .network
                .as_ref()
                .map(|n| n.host_veth.clone())
        })
        .collect();
    let links = Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    for line in String::from_utf8_lossy(&links.stdout).lines() {
        let name = line.split(": ").nth(1).unwrap_or_default();
        let name = name.split('@').next().unwrap_or_default();
        if name.starts_with("pl-") && !live_veths.iter().any(|v| v == name) {
            out.push(format!("link {name}"));
        }
    }
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    out.extend(
        mounts
            .lines()
            .filter(|l| l.contains("podlab"))
            .map(|l| format!("mount {l}")),
    );
    for (pid, comm) in podlab_processes() {
        let cgroup = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        if !is_live(&cgroup) && !is_live(&cmdline) {
            out.push(format!("process {pid} {comm}"));
        }
    }
    out
}

fn wait_clean(context: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // gc may meet a cgroup whose last process is still exiting: try again until the deadline.
        let out = podlab(&["gc"]);
        let left = leftovers();
        if left.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{context}: left behind:\n{}\ngc said: {}",
            left.join("\n"),
            stderr(&out)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn shim_pid_of(name: &str) -> Option<i32> {
    podlab::runtime::lookup::all_pods()
        .into_iter()
        .filter_map(|p| p.state)
        .find(|s| s.name == name)
        .map(|s| s.shim.pid)
}

/// A process of the pod other than the shim: pause, a container, or a podlab init in flight.
fn pod_process(rng: &mut fastrand::Rng, shim: i32) -> Option<i32> {
    let children: Vec<i32> = std::fs::read_to_string(format!("/proc/{shim}/task/{shim}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    if children.is_empty() {
        None
    } else {
        Some(children[rng.usize(..children.len())])
    }
}

#[test]
fn kill_9_anywhere_leaves_nothing_after_gc() {
    let Some(_machine) = privileged_alone() else {
        return;
    };
    wait_clean("before the first iteration");
    let name = unique_name("fault");
    let manifest = write_manifest(&name, &POD.replace("{name}", &name));
    for seed in 0..ITERATIONS {
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut client = Command::new(PODLAB)
            .args(["run", manifest.to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start podlab run");
        std::thread::sleep(Duration::from_millis(rng.u64(0..120)));
        let victim = match rng.u8(0..3) {
            0 => Some(("client", client.id() as i32)),
            1 => shim_pid_of(&name).map(|p| ("shim", p)),
            _ => shim_pid_of(&name)
                .and_then(|s| pod_process(&mut rng, s))
                .map(|p| ("pod process", p)),
        };
        let what = match victim {
            Some((what, pid)) => {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
                what
            }
            None => "nothing (not started yet)",
        };
        // Whatever survived is stopped the ordinary way: the client's Ctrl-C, then a delete.
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(client.id() as i32),
            nix::sys::signal::Signal::SIGINT,
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while client.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                let _ = client.kill();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = podlab(&["delete", "--grace-period", "0", &name]);
        wait_clean(&format!("seed {seed}, killed {what}"));
    }
    let _ = std::fs::remove_file(manifest);
}
