//! The shipped lessons: they validate, the claims table covers C1–C29 with real checks, and
//! (as root) every lesson plays end to end headless with every check passing and nothing left
//! behind.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{assert_nothing_left, privileged, stderr, stdout, PODLAB};
use podlab::lesson::{lesson_files, load_lesson, Lesson};
use podlab::runtime::lookup;
use podlab::runtime::state::PodState;

fn lessons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons")
}

fn all_lessons() -> Vec<Lesson> {
    lesson_files(&lessons_dir())
        .expect("list lessons")
        .iter()
        .map(|f| load_lesson(f).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_lesson_passes_lessons_check() {
    let out = Command::new(PODLAB)
        .args(["lessons", "check"])
        .output()
        .expect("run podlab");
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
}

#[test]
fn lessons_check_points_at_the_broken_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pods/lesson-process.yaml");
    let file = dir.path().join("broken.yaml");
    std::fs::write(
        &file,
        format!(
            "schema: 1\nid: broken\ntitle: {{en: T, zh: 标题}}\nsummary: {{en: S, zh: 摘要}}\n\
             manifest: {}\nsteps:\n  - id: a\n    title: {{en: A, zh: 甲}}\n    body: {{en: B, zh: 乙}}\n\
             \x20   action: {{run_to: pauze}}\n    check:\n      container: {{name: nope}}\n",
            manifest.display()
        ),
    )
    .expect("write lesson");
    let out = Command::new(PODLAB)
        .args(["lessons", "check"])
        .arg(&file)
        .output()
        .expect("run podlab");
    assert!(!out.status.success());
    let err = stderr(&out);
    let shown = file.display().to_string();
    assert!(
        err.contains(&format!(
            "{shown}:10:22: pod lesson-process has no creation step \"pauze\""
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{shown}:12:25: pod lesson-process has no container \"nope\""
        )),
        "{err}"
    );
}

/// `| C5 | 04-network | one-ip, localhost |` rows of lessons/README.md.
fn claims_table() -> HashMap<String, Vec<(String, String)>> {
    let text = std::fs::read_to_string(lessons_dir().join("README.md")).expect("read README");
    let mut claims: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        if cells.len() < 4 || !cells[1].starts_with('C') || cells[1][1..].parse::<u32>().is_err() {
            continue;
        }
        for step in cells[3].split(',').map(str::trim).filter(|s| !s.is_empty()) {
            claims.entry(cells[1].to_string()).or_default().push((
                cells[2].trim_matches('`').to_string(),
                step.trim_matches('`').to_string(),
            ));
        }
    }
    claims
}

#[test]
fn every_claim_maps_to_checked_steps_of_real_lessons() {
    let lessons = all_lessons();
    let claims = claims_table();
    for n in 1..=29 {
        let claim = format!("C{n}");
        let steps = claims
            .get(&claim)
            .unwrap_or_else(|| panic!("{claim} is not in lessons/README.md"));
        for (lesson_id, step_id) in steps {
            let lesson = lessons
                .iter()
                .find(|l| l.id() == lesson_id)
                .unwrap_or_else(|| panic!("{claim}: no lesson {lesson_id}"));
            let step = lesson
                .steps()
                .iter()
                .find(|s| &s.id == step_id)
                .unwrap_or_else(|| panic!("{claim}: lesson {lesson_id} has no step {step_id}"));
            assert!(
                step.check.is_some(),
                "{claim}: step {lesson_id}/{step_id} has no check"
            );
        }
    }
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
    if !privileged() {
        return;
    }
    let progress = tempfile::tempdir().expect("temp dir");
    for lesson in all_lessons() {
        let names: Vec<String> = lesson
            .pods
            .iter()
            .map(|p| p.pod.metadata.name.clone())
            .collect();
        let started = Instant::now();
        let mut child = Command::new(PODLAB)
            .args(["lesson", lesson.id(), "--autoplay", "--headless"])
            .env("XDG_STATE_HOME", progress.path())
            .env_remove("SUDO_USER")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run podlab lesson");
        let mut seen = HashMap::new();
        let status = loop {
            watch_pods(&names, &mut seen);
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if started.elapsed() > Duration::from_secs(120) {
                let _ = child.kill();
                break child.wait().expect("wait");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let out = child.wait_with_output().expect("output");
        assert!(
            status.success(),
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
        eprintln!("lesson {} passed in {:?}", lesson.id(), started.elapsed());
    }
    assert!(
        std::fs::read_dir(progress.path()).map_or(true, |mut d| d.next().is_none()),
        "a headless run saves no progress"
    );
}
