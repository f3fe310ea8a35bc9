//! Nothing podlab made stays behind: delete, Ctrl-C, kill -9 of the client or of the shim.

use crate::common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use podlab::kube::pod_state::{PodPhase, PodState};
use podlab::runtime::lookup;
use podlab::runtime::sys::LiveProcess;

const SLEEPERS: &str = r#"
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 30
  volumes: [{name: mem, emptyDir: {medium: Memory, sizeLimit: 1Mi}}]
  containers:
  - name: a
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts: [{name: mem, mountPath: /mem}]
  - name: b
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
"#;

// The caller owns the child and waits for it.
#[allow(clippy::zombie_processes)]
fn start_foreground(base: &str, yaml: &str) -> (String, Child, PodState) {
    let name = unique_name(base);
    let manifest = write_manifest(&name, &yaml.replace("{name}", &name));
    let mut child = Command::new(PODLAB)
        .args(["run", manifest.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start podlab run");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(state) = lookup::find_pod(&name) {
            if state.phase == PodPhase::Running {
                return (name, child, state);
            }
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("pod {name} did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill(pid: i32, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal).expect("kill");
}

/// Processes of the pod that are alive (pause and containers, with their start times).
fn alive(state: &PodState) -> usize {
    state
        .sandbox
        .iter()
        .map(|s| s.pause)
        .chain(state.containers.iter().filter_map(|c| c.process))
        .filter(|p| p.is_alive())
        .count()
}

#[test]
fn kill_9_of_the_client_removes_the_pod() {
    let Some(_machine) = privileged() else {
        return;
    };
    let (_name, mut child, state) = start_foreground("client-kill", SLEEPERS);
    assert_eq!(alive(&state), 3);
    kill(child.id() as i32, nix::sys::signal::Signal::SIGKILL);
    let _ = child.wait();
    // The shim sees its holder's socket close and tears the pod down (grace 30s: "a" ignores
    // SIGTERM as PID 1 of its namespace, so this takes the whole grace period unless cut).
    let out = podlab(&["delete", "--grace-period", "0", &state.name]);
    assert!(
        out.status.success() || stderr(&out).contains("not found"),
        "{}",
        stderr(&out)
    );
    assert_nothing_left(&state);
}

#[test]
fn ctrl_c_of_a_foreground_run_deletes_the_pod_gracefully() {
    let Some(_machine) = privileged() else {
        return;
    };
    let yaml = SLEEPERS.replace(
        "terminationGracePeriodSeconds: 30",
        "terminationGracePeriodSeconds: 1",
    );
    let (_name, mut child, state) = start_foreground("ctrl-c", &yaml);
    let started = Instant::now();
    kill(child.id() as i32, nix::sys::signal::Signal::SIGINT);
    let status = child.wait().expect("wait for podlab run");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(
        status.code().is_some(),
        "podlab run must exit by itself: {status:?}"
    );
    assert_nothing_left(&state);
}

#[test]
fn kill_9_of_the_shim_kills_the_pod_and_gc_removes_the_rest() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("shim-kill", SLEEPERS);
    let state = pod.state();
    assert_eq!(alive(&state), 3, "{state:#?}");
    kill(state.shim.pid, nix::sys::signal::Signal::SIGKILL);
    // PR_SET_PDEATHSIG: pause and the containers die with their shim.
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(&state) > 0 {
        assert!(
            Instant::now() < deadline,
            "pod processes outlived their shim"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    // The state dir stays until gc (which every `podlab run` also does, so a test running in
    // parallel may have collected it already).
    let out = podlab(&["gc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_nothing_left(&state);
    drop(pod); // nothing left to delete
}

#[test]
fn gc_never_touches_a_pod_whose_shim_is_alive() {
    let Some(_machine) = privileged() else {
        return;
    };
    let pod = TestPod::run("gc-live", SLEEPERS);
    let out = podlab(&["gc"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let state = pod.state();
    assert_eq!(alive(&state), 3);
}

#[test]
fn a_delete_waits_for_a_term_trapping_container_but_kills_one_that_ignores_term() {
    let Some(_machine) = privileged() else {
        return;
    };
    let yaml = SLEEPERS.replace(
        "terminationGracePeriodSeconds: 30",
        "terminationGracePeriodSeconds: 2",
    );
    let pod = TestPod::run("grace", &yaml);
    let state = pod.state();
    let started = Instant::now();
    let out = podlab(&["delete", &pod.name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let took = started.elapsed();
    // "a" (sleep as PID 1) ignores SIGTERM and is killed at the 2s deadline.
    assert!(
        took >= Duration::from_millis(1900) && took < Duration::from_secs(6),
        "{took:?}"
    );
    assert_nothing_left(&state);
}

#[test]
fn step_mode_runs_pause_first_and_says_what_each_step_does() {
    let Some(_machine) = privileged() else {
        return;
    };
    let name = unique_name("steps");
    let manifest = write_manifest(
        &name,
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  restartPolicy: Never\n  \
             initContainers:\n  - {{name: prepare, image: busybox, command: [\"true\"]}}\n  \
             containers:\n  - {{name: app, image: busybox, command: [\"sh\", \"-c\", \"sleep 0.3\"]}}\n"
        ),
    );
    let out = Command::new(PODLAB)
        .args(["run", "--step", manifest.to_str().unwrap()])
        .stdin(Stdio::null())
        .output()
        .expect("run");
    let text = stdout(&out);
    assert!(out.status.success(), "{text}\n{}", stderr(&out));
    let order = [
        "Create the sandbox's namespaces",
        "unshare --pid --fork --uts --ipc --net --mount",
        "clone(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | SIGCHLD)",
        "Start pause, the Infra container",
        "(pause)",
        "Configure the network of pause's net namespace",
        "Run init container \"prepare\" to completion",
        "Start container \"app\" in the sandbox",
        "setns(/proc/<pause>/ns/net, 0)",
        "Succeeded",
    ];
    let mut at = 0;
    for needle in order {
        let found = text[at..]
            .find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing or out of order in:\n{text}"));
        at += found;
    }
    assert!(
        lookup::find_pod(&name).is_err(),
        "the pod is gone after it completed"
    );
}

/// Without root podlab builds pods rootless (tests/privileged/rootless.rs); where user
/// namespaces are refused too, it says what is missing in one sentence and exits 1.
#[test]
fn without_root_or_user_namespaces_podlab_says_what_is_missing_and_exits_1() {
    let Some(_machine) = privileged() else {
        return;
    };
    let manifest = write_manifest("no-root", "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\nspec:\n  containers: [{name: a, image: busybox}]\n");
    // nobody, in a user namespace whose children may not make user namespaces: as a machine
    // with user.max_user_namespaces = 0 looks from inside.
    let script = format!(
        "echo 0 > /proc/sys/user/max_user_namespaces && exec {PODLAB} run {}",
        manifest.display()
    );
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
            "unshare",
            "--user",
            "--map-root-user",
            "sh",
            "-c",
            &script,
        ])
        .output()
        .expect("setpriv and unshare (util-linux)");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("user namespaces") && err.contains("sudo"),
        "{err}"
    );
    assert_eq!(err.trim().lines().count(), 1, "one sentence: {err}");
}

#[test]
fn every_malformed_manifest_is_refused_with_a_location_and_starts_nothing() {
    let Some(_machine) = privileged() else {
        return;
    };
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/bad");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus has {} files", files.len());
    let before: Vec<String> = lookup::all_pods().into_iter().map(|p| p.uid).collect();
    for file in &files {
        let out = podlab(&["run", "-d", file.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{}: {err}", file.display());
        let located = format!("{}:", file.display());
        assert!(
            err.contains(&located),
            "{}: no location in {err}",
            file.display()
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    let new: Vec<_> = lookup::all_pods()
        .into_iter()
        .filter(|p| !before.contains(&p.uid))
        .filter(|p| {
            p.state
                .as_ref()
                .is_some_and(|s| s.manifest_path.contains("manifests/bad"))
        })
        .collect();
    assert!(new.is_empty(), "a malformed manifest started a pod");
}
