//! `podlab doctor`: what this machine lets podlab do, and for each lesson whether it can run
//! here (the lesson list shows the same verdicts).
//!
//! * `facts` — read-only facts from /proc, /sys and /etc, below a root directory (a fixture
//!   tree in tests): the user, cgroups and delegation, user-namespace settings, newuidmap and
//!   subordinate ids, busybox, CNI plugins;
//! * `trial` — the one thing that touches the machine: a real try at a user namespace (the
//!   runtime's `rootless::trial`, which the rootless set-up asks too);
//! * `needs` — what a lesson needs, computed from the lesson;
//! * `verdict` — pure functions of facts, trial, build and needs;
//! * `report` — the text, in English and Chinese.

pub mod facts;
pub mod needs;
pub mod report;
pub mod verdict;

/// The user-namespace trial is the runtime's (it asks the same before building a pod rootless).
pub use crate::runtime::rootless::trial;

use std::path::{Path, PathBuf};

pub use facts::{Facts, Root};
pub use needs::{needs_of, Need};
pub use report::LessonLine;
pub use verdict::{lesson_verdict, Build, LessonVerdict, Machine, Mode};

use crate::lesson::Lesson;

/// Whether this build of podlab builds pods without root (in a user namespace of the
/// learner's, held by podlab-node: see runtime::rootless).
pub fn builds_pods_rootless() -> bool {
    true
}

/// This machine: its facts, the user-namespace trial, and this build.
pub fn examine() -> Machine {
    Machine {
        facts: Facts::read(&Root::new("/")),
        trial: Some(trial::run()),
        build: Build {
            rootless: builds_pods_rootless(),
        },
    }
}

/// The AppArmor profile shipped in the repository (`contrib/apparmor/podlab`).
pub fn apparmor_profile() -> PathBuf {
    beside_source(Path::new("contrib/apparmor/podlab"))
}

/// The recorded trace shipped for a lesson file (`lessons/NN-name.yaml` →
/// `assets/traces/lesson-NN.trace.jsonl`, as `scripts/make-traces` names them), if there is one.
pub fn shipped_trace(lesson_file: &Path) -> Option<PathBuf> {
    let name = lesson_file.file_name()?.to_str()?;
    let (number, _) = name.split_once('-')?;
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trace =
        beside_source(Path::new("assets/traces")).join(format!("lesson-{number}.trace.jsonl"));
    trace.is_file().then_some(trace)
}

/// A file of the repository: beside the source when it is there, else relative to the
/// working directory.
fn beside_source(relative: &Path) -> PathBuf {
    let there = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    if there.exists() {
        there
    } else {
        relative.to_path_buf()
    }
}

/// Each lesson's line of the report.
pub fn lesson_lines(machine: &Machine, lessons: &[Lesson]) -> Vec<LessonLine> {
    lessons
        .iter()
        .map(|lesson| LessonLine {
            id: lesson.id().to_string(),
            verdict: lesson_verdict(machine, &needs_of(lesson)),
            trace: shipped_trace(&lesson.path),
        })
        .collect()
}
