//! As root, every shipped lesson plays end to end headless with every check passing and
//! nothing left behind (the learner's tasks done by their solutions, every question answered
//! wrong then right); every lesson with a task stops at its first task with `--skip-tasks`; a static-pod lesson that fails, gets Ctrl-C or is killed takes its
//! kubelet and pods along.

use crate::common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{
    assert_nothing_left, kubelet_processes, play_headless, privileged, privileged_shipped_pods,
    shipped_lessons, stderr, stdout, PODLAB,
};
use podlab::kube::pod_state::PodState;
use podlab::lesson::{Action, Lesson};
use podlab::runtime::lookup;

/// The directories a lesson's kubelet watches.
fn kubelet_dirs(lesson: &Lesson) -> Vec<String> {
    lesson
        .steps()
        .iter()
        .filter_map(|s| match &s.action {
            Action::Kubelet(k) => Some(k.manifests.clone()),
            _ => None,
        })
        .collect()
}

/// The pods a lesson names, as seen while it plays (so their leftovers can be looked for).
fn watch_pods(names: &[String], seen: &mut HashMap<String, PodState>) {
    for entry in lookup::all_pods() {
        if let Some(state) = entry.state {
            if names.contains(&state.name) {
                seen.entry(state.uid.clone()).or_insert(state);
            }
        }
    }
}

#[test]
fn every_lesson_plays_headless_with_every_check_passing() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    let progress = tempfile::tempdir().expect("temp dir");
    for lesson in shipped_lessons() {
        // A static pod runs under kubelet's name for it.
        let names: Vec<String> = lesson
            .pods
            .iter()
            .map(|p| lesson.live_name(&p.pod.metadata.name))
            .collect();
        let started = Instant::now();
        let mut seen = HashMap::new();
        let out = play_headless(
            lesson.id(),
            &[],
            progress.path(),
            Duration::from_secs(120),
            || watch_pods(&names, &mut seen),
        );
        assert!(
            out.status.success(),
            "lesson {} failed after {:?}:\n{}{}",
            lesson.id(),
            started.elapsed(),
            stdout(&out),
            stderr(&out)
        );
        assert!(!seen.is_empty(), "lesson {} started no pod", lesson.id());
        for state in seen.values() {
            assert_nothing_left(state);
        }
        let leftover: Vec<String> = lookup::all_pods()
            .into_iter()
            .filter_map(|p| p.state)
            .filter(|s| names.contains(&s.name))
            .map(|s| s.name)
            .collect();
        assert!(
            leftover.is_empty(),
            "lesson {} left {leftover:?}",
            lesson.id()
        );
        for dir in kubelet_dirs(&lesson) {
            assert!(
                !Path::new(&dir).exists(),
                "lesson {} left its kubelet's directory {dir}",
                lesson.id()
            );
            assert_eq!(
                kubelet_processes(&dir),
                Vec::<i32>::new(),
                "lesson {} left its kubelet running",
                lesson.id()
            );
        }
        eprintln!("lesson {} passed in {:?}", lesson.id(), started.elapsed());
    }
    assert!(
        std::fs::read_dir(progress.path()).map_or(true, |mut d| d.next().is_none()),
        "a headless run saves no progress"
    );
}

/// A lesson of our own around a static pod of its own (lesson 13's pod and directory may be
/// in use by another test): a kubelet, a manifest put into its directory, then `last`.
struct StaticLesson {
    _dir: tempfile::TempDir,
    file: PathBuf,
    manifests: String,
    pod: String,
}

impl StaticLesson {
    fn new(tag: &str, last: &str) -> StaticLesson {
        let dir = tempfile::tempdir().expect("temp dir");
        let base = format!("cleanup-{tag}-{}", std::process::id());
        let manifests = format!("/tmp/podlab-lesson-{base}");
        let manifest = dir.path().join("pod.yaml");
        let template = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pods/static-web.yaml"),
        )
        .expect("read the lesson's manifest");
        std::fs::write(
            &manifest,
            template.replace("name: static-web", &format!("name: {base}")),
        )
        .expect("write manifest");
        let file = dir.path().join("lesson.yaml");
        let step = |id: &str, rest: &str| {
            format!("  - id: {id}\n    title: {{en: T, zh: 标题}}\n    body: {{en: B, zh: 正文}}\n{rest}")
        };
        let text = [
            format!(
                "schema: 1\nid: {base}\ntitle: {{en: T, zh: 标题}}\n\
                 summary: {{en: S, zh: 摘要}}\nmanifest: {}\nsteps:\n",
                manifest.display()
            ),
            step(
                "kubelet",
                &format!("    action: {{kubelet: {{manifests: {manifests}}}}}\n"),
            ),
            step(
                "put",
                "    action: {put_manifest: {file: web.yaml}}\n    timeout_seconds: 20\n    \
                 check: {all: [static_pod: {file: web.yaml}, container: {name: web, state: running}]}\n",
            ),
            step("last", last),
        ]
        .concat();
        std::fs::write(&file, text).expect("write lesson");
        let pod = format!("{base}-{}", podlab::kube::static_pods::node_name());
        StaticLesson {
            _dir: dir,
            file,
            manifests,
            pod,
        }
    }

    fn play(&self) -> std::process::Child {
        Command::new(PODLAB)
            .args(["lesson", "--autoplay", "--headless"])
            .arg(&self.file)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run podlab lesson")
    }

    /// Wait until the static pod runs; returns its state.
    fn wait_for_pod(&self, child: &mut std::process::Child) -> PodState {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(state)) = lookup::live_pod_named(&self.pod) {
                if state.status_text() == "Running" {
                    return state;
                }
            }
            assert!(
                child.try_wait().expect("wait").is_none(),
                "the lesson ended before its pod ran"
            );
            assert!(Instant::now() < deadline, "no pod {} in time", self.pod);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// No pod, no kubelet, no directory (a killed lesson leaves the directory: `dir_too`).
    fn assert_clean(&self, seen: &PodState, dir_too: bool) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while (!kubelet_processes(&self.manifests).is_empty()
            || lookup::live_pod_named(&self.pod).ok().flatten().is_some())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(50));
        }
        assert_eq!(
            kubelet_processes(&self.manifests),
            Vec::<i32>::new(),
            "kubelet left"
        );
        assert!(
            lookup::live_pod_named(&self.pod).ok().flatten().is_none(),
            "pod {} left",
            self.pod
        );
        assert_nothing_left(seen);
        if dir_too {
            assert!(
                !Path::new(&self.manifests).exists(),
                "{} left",
                self.manifests
            );
        }
    }
}

impl Drop for StaticLesson {
    fn drop(&mut self) {
        for pid in kubelet_processes(&self.manifests) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        let deadline = Instant::now() + Duration::from_secs(10);
        while !kubelet_processes(&self.manifests).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if let Ok(Some(_)) = lookup::live_pod_named(&self.pod) {
            let _ = Command::new(PODLAB)
                .args(["delete", "--grace-period", "0", &self.pod])
                .output();
        }
        let _ = std::fs::remove_dir_all(&self.manifests);
    }
}

const NEVER: &str = "    timeout_seconds: 60\n    \
    check: {http: {from: web, url: \"http://localhost:8080\", contains: never there}}\n";

#[test]
fn a_failing_static_pod_lesson_stops_its_kubelet_and_cleans_up() {
    let Some(_machine) = privileged() else {
        return;
    };
    let lesson = StaticLesson::new(
        "fail",
        "    timeout_seconds: 1\n    \
         check: {http: {from: web, url: \"http://localhost:8080\", contains: never there}}\n",
    );
    let mut child = lesson.play();
    let seen = lesson.wait_for_pod(&mut child);
    let out = child.wait_with_output().expect("lesson output");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    lesson.assert_clean(&seen, true);
}

#[test]
fn ctrl_c_stops_a_static_pod_lesson_at_once_and_cleans_up() {
    let Some(_machine) = privileged() else {
        return;
    };
    let lesson = StaticLesson::new("int", NEVER);
    let mut child = lesson.play();
    let seen = lesson.wait_for_pod(&mut child);
    // Into the last step's check, which would wait a minute.
    std::thread::sleep(Duration::from_millis(1500));
    let started = Instant::now();
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("SIGINT");
    let out = child.wait_with_output().expect("lesson output");
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "Ctrl-C took {:?}",
        started.elapsed()
    );
    lesson.assert_clean(&seen, true);
}

#[test]
fn a_killed_static_pod_lesson_takes_its_kubelet_and_pods_along() {
    let Some(_machine) = privileged() else {
        return;
    };
    let lesson = StaticLesson::new("kill", NEVER);
    let mut child = lesson.play();
    let seen = lesson.wait_for_pod(&mut child);
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    // The kubelet gets SIGTERM when the lesson dies, and deletes its pods; the directory is
    // emptied by the next lesson that uses it (here: removed by the guard).
    lesson.assert_clean(&seen, false);
}

/// Every shipped lesson with a task, played with `--skip-tasks`, stops at its first task and
/// names it: no task passes by itself.
#[test]
fn skip_tasks_stops_every_lesson_at_its_first_task() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    let state = tempfile::tempdir().expect("temp dir");
    let mut tried = 0;
    for lesson in shipped_lessons() {
        let Some((index, step)) = lesson
            .steps()
            .iter()
            .enumerate()
            .find(|(_, s)| !s.tasks.is_empty())
        else {
            continue;
        };
        tried += 1;
        let first = podlab::lesson::learner::task_order(&step.tasks)
            .ok()
            .and_then(|order| order.first().map(|&i| step.tasks[i].id.clone()))
            .expect("ordered tasks");
        let out = Command::new(PODLAB)
            .args([
                "lesson",
                lesson.id(),
                "--autoplay",
                "--headless",
                "--skip-tasks",
            ])
            .env("XDG_STATE_HOME", state.path())
            .env("LANG", "C.UTF-8")
            .env_remove("SUDO_USER")
            .stdin(Stdio::null())
            .output()
            .expect("run podlab lesson");
        let printed = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}:\n{printed}{}",
            lesson.id(),
            stderr(&out)
        );
        let expected = format!(
            "step {} ({}) stops at task {first} not done",
            index + 1,
            step.id
        );
        assert!(printed.contains(&expected), "{}:\n{printed}", lesson.id());
        assert!(!printed.contains("passed although"), "{printed}");
        let left = lookup::live_pod_named(lesson.main_pod()).expect("list pods");
        assert!(left.is_none(), "{} left its pod", lesson.id());
    }
    assert!(tried >= 3, "only {tried} lessons have tasks");
}
