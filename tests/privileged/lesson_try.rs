//! As root, every shipped lesson's `try:` lines run and exit 0 (`podlab lesson ID --autoplay
//! --headless --try`), and they touch only the lesson's own pods: a bystander pod of this test,
//! whose containers have the names and programs of the lessons' (app, web, sleep, httpd, a
//! shell that ignores SIGTERM), keeps every process, restart count and its pause meanwhile.
//! They play in Chinese: with `lessons::every_lesson_plays_headless…` (English), every lesson
//! passes in both languages.

use crate::common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{play_headless, privileged_shipped_pods, shipped_lessons, stderr, stdout, TestPod};
use podlab::kube::pod_state::PodState;

/// How long one lesson may take with its try: lines (the slowest waits for back-offs, probes
/// and a grace period).
const LESSON_DEADLINE: Duration = Duration::from_secs(180);

const BYSTANDER: &str = r#"
apiVersion: v1
kind: Pod
metadata: {name: {name}}
spec:
  terminationGracePeriodSeconds: 0
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"]}
  - {name: web, image: nginx}
  - {name: stubborn, image: busybox, command: [sh, -c, "trap '' TERM; while true; do sleep 1; done"]}
"#;

/// What must not change in the bystander: pause's PID, and per container its process and
/// restart count.
fn fingerprint(state: &PodState) -> (i32, BTreeMap<String, (Option<i32>, u32)>) {
    let pause = state.sandbox.as_ref().expect("sandbox").pause.pid;
    let containers = state
        .containers
        .iter()
        .map(|c| (c.name.clone(), (c.process.map(|p| p.pid), c.restart_count)))
        .collect();
    (pause, containers)
}

#[test]
fn every_lessons_try_lines_work_and_touch_only_its_pods() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    let bystander = TestPod::run("bystander", BYSTANDER);
    let before = fingerprint(&bystander.wait_for(
        "the bystander's containers to run",
        Duration::from_secs(20),
        |s| s.containers.iter().all(|c| c.process.is_some()),
    ));
    let progress = tempfile::tempdir().expect("temp dir");
    for lesson in shipped_lessons() {
        let started = Instant::now();
        let out = play_headless(
            lesson.id(),
            &["--try", "--lang", "zh"],
            progress.path(),
            LESSON_DEADLINE,
            || {},
        );
        assert!(
            out.status.success(),
            "lesson {} with --try failed after {:?}:\n{}{}",
            lesson.id(),
            started.elapsed(),
            stdout(&out),
            stderr(&out)
        );
        // A killed process shows at once; its restart only after the back-off.
        let (pause, containers) = &before;
        let gone: Vec<i32> = containers
            .values()
            .filter_map(|(pid, _)| *pid)
            .chain([*pause])
            .filter(|pid| !common::is_running(*pid))
            .collect();
        assert!(
            gone.is_empty(),
            "lesson {}'s try: lines ended processes {gone:?} of a pod that is not the lesson's\n{}",
            lesson.id(),
            stdout(&out)
        );
        assert_eq!(
            fingerprint(&bystander.state()),
            before,
            "lesson {}'s try: lines touched a pod that is not the lesson's\n{}",
            lesson.id(),
            stdout(&out)
        );
        eprintln!(
            "lesson {} and its try: lines passed in {:?}",
            lesson.id(),
            started.elapsed()
        );
    }
}
