//! `podlab kubelet --manifests DIR` on real pods (root): files dropped into, changed in and
//! removed from the directory create, replace and delete pods.

use crate::common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use podlab::kube::pod_state::PodState;
use podlab::runtime::lookup;

/// The watcher and its directory; on drop it is interrupted (which deletes its pods) and the
/// directory is removed.
struct Kubelet {
    child: Child,
    dir: PathBuf,
}

impl Kubelet {
    fn start(base: &str) -> Kubelet {
        let dir = std::env::temp_dir().join(format!("podlab-{base}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("manifests dir");
        let child = Command::new(PODLAB)
            .args(["kubelet", "--time-scale", "0.1", "--manifests"])
            .arg(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start podlab kubelet");
        Kubelet { child, dir }
    }

    fn stop(&mut self) {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let deadline = Instant::now() + Duration::from_secs(15);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn node_name() -> String {
    nix::unistd::gethostname()
        .expect("hostname")
        .to_string_lossy()
        .to_lowercase()
}

fn manifest(name: &str, message: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  - {{name: c, image: busybox, command: [sh, -c, \"echo {message}; exec sleep 3600\"]}}\n"
    )
}

fn wait_for_pod(
    name: &str,
    what: &str,
    check: impl Fn(Option<&PodState>) -> bool,
) -> Option<PodState> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let state = lookup::find_pod(name).ok();
        if check(state.as_ref()) {
            return state;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn files_in_the_manifests_dir_create_replace_and_delete_pods() {
    let Some(_machine) = privileged() else {
        return;
    };
    let mut kubelet = Kubelet::start("static");
    let base = unique_name("static");
    let pod_name = format!("{base}-{}", node_name());
    // Written under a hidden name, then renamed: as editors and kubectl-less tools do.
    let hidden = kubelet.dir.join(format!(".{base}.yaml"));
    std::fs::write(&hidden, manifest(&base, "first")).expect("write");
    std::thread::sleep(Duration::from_millis(500));
    assert!(
        lookup::find_pod(&pod_name).is_err(),
        "hidden files are ignored"
    );
    let file = kubelet.dir.join(format!("{base}.yaml"));
    std::fs::rename(&hidden, &file).expect("rename");
    let first = wait_for_pod(&pod_name, "the static pod", |s| {
        s.is_some_and(|s| s.status_text() == "Running")
    })
    .expect("pod");
    assert_eq!(
        first
            .pod
            .metadata
            .annotations
            .get("kubernetes.io/config.source"),
        Some(&"file".to_string())
    );

    std::fs::write(&file, manifest(&base, "second")).expect("rewrite");
    let second = wait_for_pod(&pod_name, "the replaced pod", |s| {
        s.is_some_and(|s| s.uid != first.uid && s.status_text() == "Running")
    })
    .expect("pod");
    assert!(
        !podlab::runtime::paths::pod_dir(&first.uid).exists(),
        "the old pod is gone"
    );
    let logs = stdout(&podlab(&["logs", &pod_name]));
    assert_eq!(logs.trim(), "second");

    std::fs::remove_file(&file).expect("remove");
    wait_for_pod(&pod_name, "the pod to be deleted", |s| s.is_none());
    assert_nothing_left(&second);

    // Ctrl-C deletes what the watcher started.
    let other = kubelet.dir.join(format!("{base}-b.yaml"));
    std::fs::write(&other, manifest(&format!("{base}-b"), "b")).expect("write");
    let b_name = format!("{base}-b-{}", node_name());
    let b = wait_for_pod(&b_name, "pod b", |s| s.is_some()).expect("pod b");
    kubelet.stop();
    assert!(lookup::find_pod(&b_name).is_err(), "Ctrl-C deleted pod b");
    assert_nothing_left(&b);
}

/// kubelet reads files of any extension, derives a static pod's UID from its file and node (a
/// pod made again from the same file has the same UID) and records no Scheduled event.
#[test]
fn any_file_runs_keeps_its_uid_when_made_again_and_is_not_scheduled() {
    let Some(_machine) = privileged() else {
        return;
    };
    let kubelet = Kubelet::start("static-uid");
    let base = unique_name("plain");
    let pod_name = format!("{base}-{}", node_name());
    // No extension at all, as kubelet allows.
    std::fs::write(kubelet.dir.join(&base), manifest(&base, "plain")).expect("write");
    let first = wait_for_pod(&pod_name, "the pod of a file without extension", |s| {
        s.is_some_and(|s| s.status_text() == "Running")
    })
    .expect("pod");
    assert_eq!(first.uid.len(), 32, "{}", first.uid);
    assert_eq!(
        first
            .pod
            .metadata
            .annotations
            .get("kubernetes.io/config.hash"),
        Some(&first.uid)
    );
    assert!(
        first.events.iter().all(|e| e.reason != "Scheduled"),
        "no scheduler placed it: {:#?}",
        first.events
    );
    let pause = first.sandbox.as_ref().expect("sandbox").pause;
    let out = podlab(&["delete", &pod_name]);
    assert!(out.status.success(), "{}", stderr(&out));
    let again = wait_for_pod(&pod_name, "the pod made again", |s| {
        s.is_some_and(|s| {
            s.status_text() == "Running" && s.sandbox.as_ref().is_some_and(|b| b.pause != pause)
        })
    })
    .expect("pod");
    assert_eq!(again.uid, first.uid, "the same file and node: the same UID");
    drop(kubelet);
    assert!(lookup::find_pod(&pod_name).is_err());
    assert_nothing_left(&again);
}
