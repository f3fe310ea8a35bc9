//! The shipped lessons validate, and the claims table covers C1–C29 with real checks.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;

use crate::common::{self, shipped_lessons, stderr, stdout, PODLAB};

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

/// `| C5 | 04-network | one-ip, localhost |` rows of lessons/README.md (and the rows of
/// topics beyond the seeds), by their first cell.
fn claims_table() -> HashMap<String, Vec<(String, String)>> {
    let text =
        std::fs::read_to_string(common::lessons_dir().join("README.md")).expect("read README");
    let mut claims: HashMap<String, Vec<(String, String)>> = HashMap::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let names_a_lesson = |cell: &str| {
            let (number, rest) = cell.split_once('-').unwrap_or_default();
            number.len() == 2 && number.parse::<u32>().is_ok() && !rest.is_empty()
        };
        if cells.len() < 4 || !names_a_lesson(cells[2].trim_matches('`')) {
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
    let lessons = shipped_lessons();
    let claims = claims_table();
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
