//! Lessons: bilingual YAML files (`lessons/*.yaml`, `schema: 1` or `2`) that walk a learner
//! through a real pod, step by step, with checks on the live system; schema 2 adds what the
//! learner does (`learner`: tasks and questions).
//!
//! * `schema` — the file as data; `load` — reading it through `spec::yaml` and checking
//!   every reference (manifests, containers, engine step ids), with `file:line:column` errors;
//!   `text_lint` — text fits the 46-column narration pane, Chinese typography.
//! * `runner` — [`Runner`] plays a lesson; `checks` — one evaluation of a check; `exec` —
//!   commands in a container through `podlab exec`; `progress` — saved progress;
//!   `kubelet` — the lesson's own `podlab kubelet` and the directory it watches (static pods);
//!   `pace` — time bounds on a slowed (emulated) machine (`PODLAB_SLOWDOWN`).
//!
//! # Playing a lesson from a UI
//!
//! ```no_run
//! # fn main() -> eyre::Result<()> {
//! use podlab::lesson::{find_lesson, ProgressStore, Runner, RunnerOptions};
//! let lesson = find_lesson("01")?;
//! let mut runner = Runner::new(lesson, RunnerOptions {
//!     progress: Some(ProgressStore::for_user()?),
//!     ..RunnerOptions::default()
//! })?;
//! runner.resume()?;                      // replays the steps done before, re-checking them
//! let i = runner.first_undone();
//! let action = runner.perform(i)?;       // blocks while the action runs (seconds at most)
//! loop {
//!     let check = runner.poll_check(i);  // one evaluation: call it on every tick
//!     if check.passed { runner.complete(i)?; break; }
//!     std::thread::sleep(std::time::Duration::from_millis(250));
//! }
//! runner.finish()?;                      // deletes the lesson's pods (Drop does it too)
//! # Ok(()) }
//! ```
//!
//! `Runner::run_step` does perform + `wait_check` (poll until the step's timeout) + complete.
//! Panels show `Runner::live_pods()` with `observe::Target::Pod(uid)`. The runner touches no
//! terminal and prints nothing; every result is a value with its text in both languages.

pub mod card;
#[cfg(podlab_host)]
pub mod checks;
pub mod claims;
pub mod commands;
pub mod evidence;
#[cfg(podlab_host)]
pub mod exec;
#[cfg(podlab_host)]
pub mod fill;
pub mod hint;
#[cfg(podlab_host)]
pub mod kubelet;
pub mod learner;
pub mod load;
#[cfg(podlab_host)]
pub mod needs;
pub mod outcome;
#[cfg(podlab_host)]
pub mod owned;
pub mod pace;
#[cfg(podlab_host)]
pub mod progress;
pub mod refs;
#[cfg(podlab_host)]
pub mod runner;
pub mod schema;
pub mod stats;
pub mod text_lint;

pub use load::{
    find_lesson, lesson_files, lessons_dir, load_lesson, parse_lesson, Lesson, LessonError,
};
pub use outcome::{ActionOutcome, CheckResult, StepOutcome};
#[cfg(podlab_host)]
pub use progress::{Progress, ProgressStore};
#[cfg(podlab_host)]
pub use runner::{Runner, RunnerOptions};
pub use schema::{Action, Check, LessonFile, StepSpec};
