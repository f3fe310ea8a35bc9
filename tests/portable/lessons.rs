//! The shipped lessons validate, and the claims table covers C1–C29 with real checks.

use std::path::Path;
use std::process::Command;

use crate::common::{self, shipped_lessons, stderr, stdout, PODLAB};
use podlab::lesson::claims::claims_of_dir;

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

#[test]
fn every_claim_maps_to_checked_steps_of_real_lessons() {
    let lessons = shipped_lessons();
    let claims = claims_of_dir(&common::lessons_dir());
    for n in 1..=29 {
        let claim = format!("C{n}");
        assert!(
            claims.contains_key(&claim),
            "{claim} is not in lessons/README.md"
        );
    }
    assert!(
        claims
            .values()
            .flatten()
            .any(|(l, _)| l == "13-static-pods"),
        "the static pods lesson is in lessons/README.md"
    );
    for (claim, steps) in &claims {
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

/// `podlab lessons stats --json` reports every shipped lesson with the numbers its file has.
#[test]
fn lessons_stats_reports_every_shipped_lesson() {
    let out = Command::new(PODLAB)
        .args(["lessons", "stats", "--json"])
        .output()
        .expect("run podlab");
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let reported = report["lessons"].as_array().expect("a lessons array");
    let lessons = shipped_lessons();
    let claims = claims_of_dir(&common::lessons_dir());
    assert_eq!(reported.len(), lessons.len());
    for (stats, lesson) in reported.iter().zip(&lessons) {
        assert_eq!(stats["id"], lesson.id());
        assert_eq!(stats["steps"], lesson.steps().len());
        let shown: Vec<&str> = claims
            .iter()
            .filter(|(c, _)| c.starts_with('C') && c[1..].parse::<u32>().is_ok())
            .filter(|(_, steps)| steps.iter().any(|(l, _)| l == lesson.id()))
            .map(|(c, _)| c.as_str())
            .collect();
        let mut listed: Vec<&str> = stats["claims"]
            .as_array()
            .expect("claims")
            .iter()
            .map(|c| c.as_str().expect("a claim id"))
            .collect();
        listed.sort();
        let mut shown = shown;
        shown.sort();
        assert_eq!(listed, shown, "{}", lesson.id());
        for stage in stats["stages"].as_array().expect("stages") {
            let stage = stage.as_str().expect("a stage");
            assert!(
                ["cgroup", "namespaces", "pause", "network"].contains(&stage)
                    || stage.starts_with("init:")
                    || stage.starts_with("container:"),
                "{}: {stage} is not a creation stage",
                lesson.id()
            );
        }
    }
    let doing = reported
        .iter()
        .filter(|s| s["learner_steps"].as_u64() > Some(0) && s["questions"].as_u64() > Some(0))
        .count();
    assert!(
        doing >= 3,
        "at least three lessons have tasks and questions: {doing}"
    );
    let table = Command::new(PODLAB)
        .args(["lessons", "stats", "--lang", "zh"])
        .output()
        .expect("run podlab");
    assert!(table.status.success(), "{}", stderr(&table));
    assert!(stdout(&table).starts_with("课程"), "{}", stdout(&table));
}

#[test]
fn lessons_check_points_at_broken_static_pod_steps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pods/static-web.yaml");
    let file = dir.path().join("broken-static.yaml");
    let step = |id: &str, rest: &str| {
        format!(
            "  - id: {id}\n    title: {{en: T, zh: 标题}}\n    body: {{en: B, zh: 正文}}\n{rest}"
        )
    };
    let text = [
        format!(
            "schema: 1\nid: broken-static\ntitle: {{en: T, zh: 标题}}\n\
             summary: {{en: S, zh: 摘要}}\nmanifest: {}\nsteps:\n",
            manifest.display()
        ),
        step("early", "    action: {put_manifest: {file: web.yaml}}\n"),
        step(
            "kubelet",
            "    action: {kubelet: {manifests: /etc/kubernetes/manifests}}\n",
        ),
        step("hidden", "    action: {put_manifest: {file: .web.yaml}}\n"),
        step("put", "    action: {put_manifest: {file: web.yaml}}\n"),
        step(
            "edit",
            "    action: {edit_manifest: {file: web.yaml, replace: version 9, with: x}}\n",
        ),
        step("run", "    action: run_all\n"),
        step(
            "gone",
            "    action: {remove_manifest: {file: other.yaml}}\n",
        ),
    ]
    .concat();
    std::fs::write(&file, text).expect("write lesson");
    let out = Command::new(PODLAB)
        .args(["lessons", "check"])
        .arg(&file)
        .output()
        .expect("run podlab");
    assert!(!out.status.success());
    let err = stderr(&out);
    let shown = file.display().to_string();
    for expected in [
        ":10:14: no kubelet runs yet",
        ":14:35: the kubelet's directory must be below /tmp/podlab-lesson",
        ":18:35: \".web.yaml\" is not a file the kubelet reads",
        ":26:55: web.yaml does not contain \"version 9\"",
        ":30:13: pod static-web is a static pod",
        ":34:38: \"other.yaml\" is not in the kubelet's directory",
    ] {
        assert!(
            err.contains(&format!("{shown}{expected}")),
            "{expected}\n{err}"
        );
    }
}
