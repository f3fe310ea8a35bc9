//! Every malformed lesson under tests/lessons_corpus/bad fails at the place its first line
//! names (`# expect: LINE:COLUMN message fragment`), without panicking and without starting
//! anything: through the library loader, `podlab lessons check FILE` and
//! `podlab lesson FILE --headless`. Lessons too large to keep in the repository are written
//! here at run time.

use crate::common;

use std::path::{Path, PathBuf};

use common::corpus::{corpus_files, expectation, Expectation};
use common::{stderr, PODLAB};
use podlab::lesson::{load_lesson, LessonError};

/// The pod every corpus lesson names (assets/pods/lesson-process.yaml).
const CORPUS_POD: &str = "lesson-process";

fn bad_lessons() -> Vec<PathBuf> {
    corpus_files("tests/lessons_corpus/bad")
}

/// What the loader says about `path`, or why that is wrong.
fn loader_misbehaves(path: &Path, expected: &Expectation) -> Option<String> {
    let name = path.display();
    let err: LessonError = match std::panic::catch_unwind(|| load_lesson(path)) {
        Err(_) => return Some(format!("{name}: the loader panicked")),
        Ok(Ok(_)) => return Some(format!("{name}: loaded without error")),
        Ok(Err(err)) => err,
    };
    let Some(first) = err.problems.first() else {
        return Some(format!("{name}: an error without problems"));
    };
    let place = (first.location.line, first.location.column);
    if place != (expected.line, expected.column) {
        return Some(format!(
            "{name}: expected {}:{}, got {}:{}: {}",
            expected.line, expected.column, place.0, place.1, first.message
        ));
    }
    if first.location.source != name.to_string() {
        return Some(format!(
            "{name}: located in {:?}, not in the lesson file",
            first.location.source
        ));
    }
    let rendered = err.to_string();
    if !rendered.starts_with(&format!("{name}:{}:{}: ", place.0, place.1)) {
        return Some(format!(
            "{name}: does not start with file:line:column: {rendered}"
        ));
    }
    if !first.message.contains(&expected.fragment) {
        return Some(format!(
            "{name}: expected {:?} in: {}",
            expected.fragment, first.message
        ));
    }
    None
}

/// `podlab ARGS FILE` fails with the located message, and does not panic.
fn command_misbehaves(args: &[&str], path: &Path, expected: &Expectation) -> Option<String> {
    let out = std::process::Command::new(PODLAB)
        .args(args)
        .arg(path)
        .env("LANG", "C.UTF-8")
        .env(RUN_MARK, run_mark())
        .output()
        .expect("run podlab");
    let err = stderr(&out);
    let what = format!("podlab {} {}", args.join(" "), path.display());
    if out.status.success() {
        return Some(format!("{what}: succeeded"));
    }
    if out.status.code() == Some(101) || err.contains("panicked") {
        return Some(format!("{what}: panicked: {err}"));
    }
    if !expected.met_by(path, &err) {
        return Some(format!(
            "{what}: expected {}:{} {:?} in: {err}",
            expected.line, expected.column, expected.fragment
        ));
    }
    None
}

#[test]
fn every_bad_lesson_fails_where_expected_and_starts_nothing() {
    let files = bad_lessons();
    assert!(files.len() >= 50, "only {} bad lessons", files.len());
    let mut failures = Vec::new();
    for path in &files {
        let expected = expectation(path);
        failures.extend(loader_misbehaves(path, &expected));
        failures.extend(command_misbehaves(&["lessons", "check"], path, &expected));
        failures.extend(command_misbehaves(
            &["lesson", "--headless", "--autoplay"],
            path,
            &expected,
        ));
    }
    assert!(
        failures.is_empty(),
        "{} problems with {} bad lessons:\n{}",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
    let started = processes_marked();
    assert!(
        started.is_empty(),
        "a malformed lesson started processes (pod {CORPUS_POD}?): {started:?}"
    );
}

/// An environment variable given to the runs of this test only: a shim or a pod's process
/// they started would carry it (the shim inherits podlab's environment), while the same pod
/// name played by another test or lesson on this machine at the same time does not.
const RUN_MARK: &str = "PODLAB_CORPUS_RUN";

fn run_mark() -> String {
    format!("{}", std::process::id())
}

/// Processes on this machine whose environment holds this test's mark.
fn processes_marked() -> Vec<String> {
    let wanted = format!("{RUN_MARK}={}", run_mark());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| e.file_name().to_string_lossy() != run_mark())
        .filter_map(|e| {
            let environ = std::fs::read(e.path().join("environ")).ok()?;
            environ
                .split(|b| *b == 0)
                .any(|var| var == wanted.as_bytes())
                .then(|| {
                    let comm = std::fs::read_to_string(e.path().join("comm")).unwrap_or_default();
                    format!("{} {}", e.file_name().to_string_lossy(), comm.trim())
                })
        })
        .collect()
}

/// A lesson head naming the corpus pod by its absolute path.
fn head(id: &str) -> String {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/pods/lesson-process.yaml");
    format!(
        "schema: 1\nid: {id}\ntitle: {{en: T, zh: 标题}}\nsummary: {{en: S, zh: 摘要}}\n\
         manifest: {}\n",
        manifest.display()
    )
}

const ONE_STEP: &str = "steps:\n  - id: a\n    title: {en: A, zh: 甲}\n    body: {en: B, zh: 乙}\n";

#[test]
fn oversized_lessons_are_refused_with_a_location() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write lesson");
        path
    };
    let cases = [
        (
            write("long-id.yaml", &(head(&"a".repeat(200_000)) + ONE_STEP)),
            Expectation {
                line: 2,
                column: 5,
                fragment: "a lesson id has at most 63 characters".into(),
            },
        ),
        (
            write(
                "long-list.yaml",
                &(head("long-list")
                    + ONE_STEP
                    + "    commands: ["
                    + &vec!["ls"; 250_000].join(", ")
                    + "]\n"),
            ),
            Expectation {
                line: 10,
                column: 799_864,
                fragment: "expected a small lesson".into(),
            },
        ),
        (
            write(
                "over-a-mebibyte.yaml",
                &(head("big") + ONE_STEP + "    commands:\n" + &"      - ls\n".repeat(100_000)),
            ),
            Expectation {
                line: 1,
                column: 1,
                fragment: "the file is larger than 1024 KiB; expected a lesson file".into(),
            },
        ),
    ];
    let mut failures = Vec::new();
    for (path, expected) in &cases {
        failures.extend(loader_misbehaves(path, expected));
        failures.extend(command_misbehaves(&["lessons", "check"], path, expected));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // A device that never ends is cut off at the limit; a missing file says so.
    let err = load_lesson(Path::new("/dev/zero")).expect_err("endless input");
    assert!(err.to_string().contains("larger than"), "{err}");
    let err = load_lesson(Path::new("/nonexistent/lesson.yaml")).expect_err("missing file");
    assert!(
        err.to_string()
            .starts_with("/nonexistent/lesson.yaml:1:1: failed to read"),
        "{err}"
    );
}

#[test]
fn truncated_and_mangled_lessons_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let texts: Vec<String> = ["01-process.yaml", "03-sharing.yaml", "12-termination.yaml"]
        .iter()
        .map(|name| {
            std::fs::read_to_string(dir.join(name))
                .unwrap_or_else(|e| panic!("failed to read {name}: {e}"))
        })
        .collect();
    let scratch = tempfile::tempdir().expect("temporary directory");
    // Beside the shipped lessons' manifests: ../assets/pods/… resolves from lessons/.
    let path = scratch.path().join("lessons/mangled.yaml");
    std::fs::create_dir_all(scratch.path().join("lessons")).expect("lessons dir");
    std::os::unix::fs::symlink(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("assets"),
        scratch.path().join("assets"),
    )
    .expect("link assets");
    let junk = [
        "\t", "&a ", "*a", "[", "]", "{", "}", ":", "- ", "'", "\"", "!!int ", "? ", "\n---\n",
        "1e999", "-", ".nan", "run_to: ", "check: ",
    ];
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut tries = 0;
    for text in &texts {
        for cut in (0..text.len())
            .step_by(7)
            .filter(|&i| text.is_char_boundary(i))
        {
            std::fs::write(&path, &text[..cut]).expect("write lesson");
            tries += 1;
            if std::panic::catch_unwind(|| load_lesson(&path)).is_err() {
                panic!("the loader panicked on {:?}", &text[..cut]);
            }
        }
        for _ in 0..300 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let mut at = (seed % text.len() as u64) as usize;
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let piece = junk[(seed >> 32) as usize % junk.len()];
            let mangled = format!("{}{piece}{}", &text[..at], &text[at..]);
            std::fs::write(&path, &mangled).expect("write lesson");
            tries += 1;
            if std::panic::catch_unwind(|| load_lesson(&path)).is_err() {
                panic!("the loader panicked on:\n{mangled}");
            }
        }
    }
    assert!(tries > 1000, "only {tries} variations");
}
