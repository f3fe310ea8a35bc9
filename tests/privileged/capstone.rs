//! Lesson 22, the capstone: the learner builds a pod by hand (a cgroup, a holder in new
//! namespaces, a veth, a process that joins it), and the lesson owns all of it by the name
//! prefix `podlab-hand`. Played headless, nothing with the prefix is left; with the player
//! killed by SIGKILL mid-lesson, the hand-made pod stays until `podlab gc` removes it (and gc
//! leaves it alone while the player lives).

use crate::common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{play_headless, podlab, privileged_shipped_pods, stderr, stdout, PODLAB};
use podlab::runtime::hand_made;

const LESSON: &str = "22-capstone";
const PREFIX: &str = "podlab-hand";

/// Everything named with the prefix that is still on the machine.
fn leftovers() -> Vec<String> {
    let mut left: Vec<String> = hand_made::owned_processes(PREFIX)
        .iter()
        .map(|p| format!("process {}", p.pid))
        .collect();
    if let Ok(entries) = std::fs::read_dir("/sys/class/net") {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().to_string();
            if name.starts_with(PREFIX) {
                left.push(format!("interface {name}"));
            }
        }
    }
    for dir in hand_made::cgroup_dirs(PREFIX) {
        if dir.exists() {
            left.push(format!("cgroup {}", dir.display()));
        }
    }
    left
}

#[test]
fn the_capstone_played_headless_leaves_nothing_with_its_prefix() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    let progress = tempfile::tempdir().expect("temp dir");
    let mut seen_built = false;
    let out = play_headless(
        LESSON,
        &["--restart"],
        progress.path(),
        Duration::from_secs(180),
        || seen_built |= Path::new("/sys/class/net/podlab-hand0").exists(),
    );
    assert!(
        out.status.success(),
        "lesson {LESSON} failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        seen_built,
        "the hand-made veth was never seen while the lesson played"
    );
    assert!(
        stdout(&out).contains("pod-shaped"),
        "the host view did not recognize the hand-made pod:\n{}",
        stdout(&out)
    );
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "left behind by the lesson"
    );
}

#[test]
fn a_killed_capstone_player_leaves_its_hand_made_pod_to_gc() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    let progress = tempfile::tempdir().expect("temp dir");
    let mut child = Command::new(PODLAB)
        .args(["lesson", LESSON, "--autoplay", "--headless", "--restart"])
        .env("XDG_STATE_HOME", progress.path())
        .env_remove("SUDO_USER")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run podlab lesson");
    // Until a process has joined the holder: the whole hand-made pod is there.
    let started = Instant::now();
    let joined = || {
        let seen = hand_made::owned_processes(PREFIX);
        let Some(holder) = hand_made::holder(&seen, hand_made::host_pid_ns()) else {
            return false;
        };
        let tree = hand_made::tree_of(holder, &seen);
        seen.iter().any(|p| !tree.contains(&p.pid))
    };
    while !joined() {
        if let Some(status) = child.try_wait().expect("wait") {
            panic!("the lesson ended ({status}) before the hand-made pod was complete");
        }
        assert!(
            started.elapsed() < Duration::from_secs(180),
            "no process joined the hand-made holder within 180 s"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Stopped, the player is still alive: gc must leave what it owns alone.
    let player = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(player, nix::sys::signal::Signal::SIGSTOP).expect("SIGSTOP");
    let out = podlab(&["gc"]);
    assert!(out.status.success(), "podlab gc: {}", stderr(&out));
    let kept = leftovers();
    assert!(
        kept.iter().any(|l| l.starts_with("interface")),
        "gc removed what a live player owns: {kept:?}\n{}",
        stdout(&out)
    );
    child.kill().expect("SIGKILL the player");
    let _ = child.wait();
    // The player is gone; what the learner built by hand is not, until gc.
    std::thread::sleep(Duration::from_millis(500));
    let before = leftovers();
    assert!(
        before.iter().any(|l| l.starts_with("process"))
            && before.iter().any(|l| l.starts_with("interface"))
            && before.iter().any(|l| l.starts_with("cgroup")),
        "the hand-made pod should outlive a killed player until gc: {before:?}"
    );
    let out = podlab(&["gc"]);
    assert!(out.status.success(), "podlab gc: {}", stderr(&out));
    assert!(
        stdout(&out).contains(PREFIX),
        "gc does not say it removed {PREFIX}:\n{}",
        stdout(&out)
    );
    assert_eq!(
        leftovers(),
        Vec::<String>::new(),
        "left behind after podlab gc"
    );
    // The lesson's own pod goes too: its shim notices the player is gone and deletes it (the
    // next test that plays the lesson needs the name).
    let deadline = Instant::now() + Duration::from_secs(30);
    while podlab::runtime::lookup::live_pod_named("capstone")
        .expect("list pods")
        .is_some()
    {
        assert!(
            Instant::now() < deadline,
            "the pod of a killed player is still there after 30 s"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}
