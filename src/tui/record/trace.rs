//! A trace: per step, what the panels showed (the `/proc` snapshot and the pod's state and
//! events), as JSON lines. The first line is a header with the steps' text; each following
//! line is one step's observation, `{"done": N, "observation": …}`, taken when step N was the
//! last one done and the screen had settled (the last observation before the next step
//! started). A later line for the same N replaces an earlier one (the pod was rebuilt).
//!
//! Version 2 adds lessons: the header's `lesson` (id, title, summary) and each step's
//! `simplified` and `hints`; a line's `result` says what step N's action did and what its
//! check found, and its `observation` may be missing (no pod to show). Version 1 files (the
//! explorer's, before lessons) read as they are.
//!
//! Lessons of schema 2 add, in the header, each step's `tasks` and `question` (as the lesson
//! file has them), and in a line's `result` the tasks as they ended (`tasks`: done, and by
//! whom) and the question's `grade` (what was answered, the right answer and its evidence).
//! Both are optional, so older version 2 traces read as they are.
//!
//! `podlab replay` plays a trace with the same player, read-only: no root, no pods.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use eyre::{eyre, Result, WrapErr};
use serde::{Deserialize, Serialize};

use crate::i18n::Text;
use crate::lesson::card::{Difficulty, Recap};
use crate::lesson::commands::FilledLine;
use crate::lesson::evidence::Evidence;
use crate::lesson::learner::{Grade, QuestionSpec, TaskSpec, TaskStatus};
use crate::lesson::{ActionOutcome, CheckResult};
use crate::tui::app::{Activity, App};
use crate::tui::event_loop::Watch;
use crate::tui::lesson_player::{Player, StepState, OUTPUT_LINES};
use crate::tui::observed::Observation;
use crate::tui::script::{Script, ScriptStep};

pub const FORMAT: &str = "podlab-trace";
/// The version this podlab writes.
pub const VERSION: u32 = 2;
/// The oldest version it still reads.
pub const OLDEST_READ: u32 = 1;

/// A step's text, as the narration showed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceStep {
    pub id: String,
    pub title: Text,
    pub explain: Text,
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(default)]
    pub syscalls: Vec<String>,
    /// A lesson step's note on what a real cluster does instead.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simplified: Option<Text>,
    /// A lesson step's hints.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hints: Vec<Text>,
    /// A lesson step's tasks for the learner (schema 2).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskSpec>,
    /// A lesson step's question (schema 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionSpec>,
    /// A lesson step's `try:` lines as written (what each became is in the step's result).
    #[serde(default, rename = "try", skip_serializing_if = "Vec::is_empty")]
    pub try_lines: Vec<String>,
    /// A lesson step's kubectl lines, on a real cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cluster: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher_notes: Option<Text>,
    /// The panel rows that prove the step's check (marked when it passed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<Evidence>,
}

/// The lesson a trace was recorded from (none for the explorer's traces).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceLesson {
    pub id: String,
    pub title: Text,
    pub summary: Text,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objectives: Vec<Text>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minutes: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<Difficulty>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recap: Option<Recap>,
}

/// What a lesson step's action did and what its check found, as the narration showed it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<TraceAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check: Option<TraceCheck>,
    /// The step's tasks as they ended.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TraceTask>,
    /// The step's question, graded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grade: Option<Grade>,
    /// The step's `try:` lines as the screen showed them once the step was done.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub filled: Vec<FilledLine>,
}

/// A task as it ended, and who did it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TraceTask {
    pub status: TaskStatus,
    /// Done by its solution (autoplay) rather than by the learner.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub by_autoplay: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceAction {
    pub summary: Text,
    /// The first lines of what it printed (as many as the narration shows).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceCheck {
    pub passed: bool,
    pub message: Text,
}

impl From<&ActionOutcome> for TraceAction {
    fn from(a: &ActionOutcome) -> TraceAction {
        let output: Vec<&str> = a.output.lines().take(OUTPUT_LINES).collect();
        TraceAction {
            summary: a.summary.clone(),
            output: output.join("\n"),
        }
    }
}

impl From<&TraceAction> for ActionOutcome {
    fn from(a: &TraceAction) -> ActionOutcome {
        ActionOutcome {
            summary: a.summary.clone(),
            output: a.output.clone(),
        }
    }
}

impl From<&CheckResult> for TraceCheck {
    fn from(c: &CheckResult) -> TraceCheck {
        TraceCheck {
            passed: c.passed,
            message: c.message.clone(),
        }
    }
}

impl From<&TraceCheck> for CheckResult {
    fn from(c: &TraceCheck) -> CheckResult {
        CheckResult {
            passed: c.passed,
            message: c.message.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceHeader {
    pub format: String,
    pub version: u32,
    /// What was played: a pod's name or a lesson's id.
    pub title: String,
    /// The pod the panels showed.
    pub pod: String,
    /// Seconds since the Unix epoch.
    pub recorded_at: u64,
    /// The podlab version that recorded it.
    pub podlab: String,
    pub steps: Vec<TraceStep>,
    /// Set when a lesson was played: `podlab replay` shows it in the lesson player.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lesson: Option<TraceLesson>,
}

impl TraceHeader {
    fn new(title: &str, pod: String, steps: Vec<TraceStep>) -> TraceHeader {
        TraceHeader {
            format: FORMAT.into(),
            version: VERSION,
            title: title.into(),
            pod,
            recorded_at: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0),
            podlab: env!("CARGO_PKG_VERSION").into(),
            steps,
            lesson: None,
        }
    }

    /// The explorer's steps.
    pub fn of_app(app: &App, title: &str) -> TraceHeader {
        let steps = app
            .script
            .steps
            .iter()
            .map(|s| TraceStep {
                id: s.id.clone(),
                title: s.title.clone(),
                explain: s.explain.clone(),
                commands: s.commands.clone(),
                syscalls: s.syscalls.clone(),
                simplified: None,
                hints: Vec::new(),
                tasks: Vec::new(),
                question: None,
                try_lines: Vec::new(),
                cluster: Vec::new(),
                teacher_notes: None,
                evidence: Vec::new(),
            })
            .collect();
        TraceHeader::new(title, pod_name(app), steps)
    }

    /// A lesson's steps, as the lesson player shows them.
    pub fn of_player(player: &Player, title: &str) -> TraceHeader {
        let lesson = &player.lesson;
        let steps = lesson
            .steps()
            .iter()
            .enumerate()
            .map(|(i, s)| TraceStep {
                id: s.id.clone(),
                title: s.title.clone(),
                explain: s.body.clone(),
                commands: s.commands.clone(),
                syscalls: Vec::new(),
                simplified: s.simplified.clone(),
                tasks: s.tasks.clone(),
                question: s.question.clone(),
                hints: s.hints.iter().map(|h| h.text()).collect(),
                try_lines: s.try_lines.clone(),
                cluster: s.cluster.clone(),
                teacher_notes: s.teacher_notes.clone(),
                evidence: player.teach.evidence.get(i).cloned().unwrap_or_default(),
            })
            .collect();
        let mut header = TraceHeader::new(title, lesson.main_pod().to_string(), steps);
        let file = &lesson.file;
        header.lesson = Some(TraceLesson {
            id: lesson.id().to_string(),
            title: file.title.clone(),
            summary: file.summary.clone(),
            objectives: file.objectives.clone(),
            minutes: file.minutes,
            difficulty: file.difficulty,
            recap: file.recap.clone(),
        });
        header
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct TraceLine {
    done: usize,
    /// Version 1 always has one; a lesson step may have none (no pod to show).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observation: Option<Observation>,
    /// A lesson's step `done`: its action and check (version 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    result: Option<StepResult>,
}

/// A trace read back.
#[derive(Debug, Clone)]
pub struct Trace {
    pub header: TraceHeader,
    /// By steps done (0 ..= steps): what the panels showed then, if it was recorded.
    observations: Vec<Option<Observation>>,
    /// By steps done (1 ..= steps): what that step's action and check showed (lessons).
    results: Vec<Option<StepResult>>,
}

impl Trace {
    pub fn load(path: &Path) -> Result<Trace> {
        let file = std::fs::File::open(path)
            .wrap_err_with(|| format!("failed to open trace {}", path.display()))?;
        Trace::read(BufReader::new(file), &path.display().to_string())
    }

    /// Parse a trace; `name` says which one in error messages.
    pub fn read(input: impl BufRead, name: &str) -> Result<Trace> {
        let mut lines = input.lines().enumerate();
        let (_, first) = lines.next().ok_or_else(|| eyre!("trace {name} is empty"))?;
        let first = first.wrap_err_with(|| format!("failed to read trace {name}"))?;
        let header: TraceHeader = serde_json::from_str(&first)
            .map_err(|e| eyre!("{name}:1: not a podlab trace header: {e}"))?;
        if header.format != FORMAT {
            return Err(eyre!(
                "{name}:1: not a podlab trace (format {:?})",
                header.format
            ));
        }
        if !(OLDEST_READ..=VERSION).contains(&header.version) {
            return Err(eyre!(
                "{name}:1: trace version {} is not supported (this podlab reads versions \
                 {OLDEST_READ} to {VERSION})",
                header.version
            ));
        }
        let mut observations = vec![None; header.steps.len() + 1];
        let mut results = vec![None; header.steps.len() + 1];
        for (i, line) in lines {
            let line = line.wrap_err_with(|| format!("failed to read trace {name}"))?;
            if line.trim().is_empty() {
                continue;
            }
            let entry: TraceLine = serde_json::from_str(&line)
                .map_err(|e| eyre!("{name}:{}: not a trace entry: {e}", i + 1))?;
            if entry.done >= observations.len() {
                return Err(eyre!(
                    "{name}:{}: step {} is past the trace's {} steps",
                    i + 1,
                    entry.done,
                    header.steps.len()
                ));
            }
            if header.version < 2 && entry.observation.is_none() {
                return Err(eyre!(
                    "{name}:{}: a version 1 entry needs an observation",
                    i + 1
                ));
            }
            if entry.observation.is_some() {
                observations[entry.done] = entry.observation;
            }
            if entry.result.is_some() {
                results[entry.done] = entry.result;
            }
        }
        if observations.iter().all(Option::is_none) && results.iter().all(Option::is_none) {
            return Err(eyre!("trace {name} has no observations"));
        }
        Ok(Trace {
            header,
            observations,
            results,
        })
    }

    /// What step `done` (counted from 1) did and found, if it was recorded (lessons).
    pub fn result(&self, done: usize) -> Option<&StepResult> {
        self.results.get(done).and_then(Option::as_ref)
    }

    /// The observation recorded for exactly `done` steps done.
    pub fn own_observation(&self, done: usize) -> Option<&Observation> {
        self.observations.get(done).and_then(Option::as_ref)
    }

    pub fn steps(&self) -> usize {
        self.header.steps.len()
    }

    /// The steps as the player's script: one engine step per script step, no checks (they
    /// passed when the trace was recorded).
    pub fn script(&self) -> Script {
        Script {
            steps: self
                .header
                .steps
                .iter()
                .enumerate()
                .map(|(i, s)| ScriptStep {
                    id: s.id.clone(),
                    title: s.title.clone(),
                    explain: s.explain.clone(),
                    commands: s.commands.clone(),
                    syscalls: s.syscalls.clone(),
                    engine_steps: i + 1,
                    checks: Vec::new(),
                })
                .collect(),
        }
    }

    /// What the panels showed with `done` steps done: that step's observation, or the
    /// closest earlier one (a step that ran on without a pause has none of its own), or the
    /// first one.
    pub fn observation(&self, done: usize) -> Option<&Observation> {
        let done = done.min(self.observations.len().saturating_sub(1));
        self.observations[..=done]
            .iter()
            .rev()
            .flatten()
            .next()
            .or_else(|| self.observations.iter().flatten().next())
    }

    /// Whether step `done` has an observation of its own.
    pub fn has_own(&self, done: usize) -> bool {
        self.observations.get(done).is_some_and(Option::is_some)
    }
}

/// Writes a trace while the player runs (a `Watch` on it).
pub struct TraceRecorder {
    out: Box<dyn Write + Send>,
    name: String,
    /// Steps done when `pending` was taken.
    done: usize,
    pending: Option<Observation>,
    /// The next step started: what the screen showed for `done` is in `pending` already.
    frozen: bool,
}

/// A player at one moment, as far as a trace is concerned.
struct Moment<'a> {
    done: usize,
    /// A step is running (or waiting for its check): the screen of `done` is over.
    stepping: bool,
    observed: Option<&'a Observation>,
}

fn create_file(path: &Path) -> Result<Box<dyn Write + Send>> {
    let file = std::fs::File::create(path)
        .wrap_err_with(|| format!("failed to create trace {}", path.display()))?;
    Ok(Box::new(std::io::BufWriter::new(file)))
}

impl TraceRecorder {
    /// A trace of the explorer (`app`) at `path`.
    pub fn create(path: &Path, app: &App, title: &str) -> Result<TraceRecorder> {
        TraceRecorder::new(create_file(path)?, app, title, &path.display().to_string())
    }

    pub fn new(
        out: Box<dyn Write + Send>,
        app: &App,
        title: &str,
        name: &str,
    ) -> Result<TraceRecorder> {
        TraceRecorder::start(out, TraceHeader::of_app(app, title), app.script_done, name)
    }

    /// A trace of a lesson in the lesson player at `path`.
    pub fn create_lesson(path: &Path, player: &Player, title: &str) -> Result<TraceRecorder> {
        TraceRecorder::new_lesson(
            create_file(path)?,
            player,
            title,
            &path.display().to_string(),
        )
    }

    pub fn new_lesson(
        out: Box<dyn Write + Send>,
        player: &Player,
        title: &str,
        name: &str,
    ) -> Result<TraceRecorder> {
        let header = TraceHeader::of_player(player, title);
        TraceRecorder::start(out, header, player.current, name)
    }

    fn start(
        out: Box<dyn Write + Send>,
        header: TraceHeader,
        done: usize,
        name: &str,
    ) -> Result<TraceRecorder> {
        let mut recorder = TraceRecorder {
            out,
            name: name.into(),
            done,
            pending: None,
            frozen: false,
        };
        let line = serde_json::to_string(&header)
            .map_err(|e| eyre!("failed to encode the header of trace {name}: {e}"))?;
        recorder.line(&line)?;
        Ok(recorder)
    }

    fn line(&mut self, line: &str) -> Result<()> {
        self.out
            .write_all(line.as_bytes())
            .and_then(|_| self.out.write_all(b"\n"))
            .and_then(|_| self.out.flush())
            .wrap_err_with(|| format!("failed to write trace {}", self.name))
    }

    /// Write what the screen showed with `done` steps done, and what that step found.
    fn write_pending(&mut self, result: Option<StepResult>) -> Result<()> {
        let observation = self.pending.take().map(only_what_is_shown);
        if observation.is_none() && result.is_none() {
            return Ok(());
        }
        let line = serde_json::to_string(&TraceLine {
            done: self.done,
            observation,
            result,
        })
        .map_err(|e| eyre!("failed to encode an entry of trace {}: {e}", self.name))?;
        self.line(&line)
    }

    /// Follow the player: when another step is done, the last settled screen of the one
    /// before is written (with `result_of` that step).
    fn note(&mut self, now: Moment, result_of: &dyn Fn(usize) -> Option<StepResult>) -> Result<()> {
        if now.done != self.done {
            self.write_pending(result_of(self.done))?;
            self.done = now.done;
            self.frozen = false;
        }
        if now.stepping && self.pending.is_some() {
            self.frozen = true;
        }
        if !self.frozen {
            if let Some(o) = now.observed {
                self.pending = Some(o.clone());
            }
        }
        Ok(())
    }
}

/// An observation without what no panel shows, to keep traces small: the pod network's
/// narrated set-up commands (a third of a pod's state) and each process's cgroup lines (the
/// panels show the pod's and containers' cgroups, read when the snapshot was grouped).
fn only_what_is_shown(mut observation: Observation) -> Observation {
    if let Some(snapshot) = observation.snapshot.as_mut() {
        for process in &mut snapshot.processes {
            process.cgroups.clear();
        }
    }
    if let Some(network) = observation
        .state
        .as_mut()
        .and_then(|s| s.sandbox.as_mut())
        .and_then(|s| s.network.as_mut())
    {
        network.steps.clear();
    }
    observation
}

/// What lesson step `done` (counted from 1) did and found, as the player shows it.
fn lesson_result(player: &Player, done: usize) -> Option<StepResult> {
    let view = player.steps.get(done.checked_sub(1)?)?;
    let check = match &view.state {
        StepState::Passed(check) => Some(TraceCheck::from(check)),
        _ => None,
    };
    let action = view
        .action
        .as_ref()
        .filter(|a| !a.summary.en.is_empty() || !a.summary.zh.is_empty() || !a.output.is_empty())
        .map(TraceAction::from);
    let tasks: Vec<TraceTask> = view
        .tasks
        .iter()
        .map(|status| TraceTask {
            status: status.clone(),
            by_autoplay: view.solved.contains(&status.id),
        })
        .collect();
    let grade = view.grade.clone();
    let filled = player
        .teach
        .steps
        .get(done - 1)
        .and_then(|s| s.filled.clone())
        .unwrap_or_default();
    let any = action.is_some()
        || check.is_some()
        || !filled.is_empty()
        || !tasks.is_empty()
        || grade.is_some();
    any.then_some(StepResult {
        action,
        check,
        tasks,
        grade,
        filled,
    })
}

fn pod_name(app: &App) -> String {
    use crate::tui::app::Session;
    match &app.session {
        Session::Pod { name, .. } | Session::Replay { name, .. } => name.clone(),
        Session::ReadOnly => String::new(),
    }
}

impl Watch<App> for TraceRecorder {
    fn handled(&mut self, app: &App) -> Result<()> {
        let now = Moment {
            done: app.script_done,
            stepping: matches!(app.activity, Activity::Stepping { .. }),
            observed: app.observed.as_ref(),
        };
        self.note(now, &|_| None)
    }

    fn finish(&mut self, _app: &App) -> Result<()> {
        self.write_pending(None)
    }
}

impl Watch<Player> for TraceRecorder {
    fn handled(&mut self, player: &Player) -> Result<()> {
        let stepping = player.steps.get(player.current).is_some_and(|s| {
            matches!(
                s.state,
                StepState::Performing { .. } | StepState::Checking { .. }
            )
        });
        let now = Moment {
            done: player.current,
            stepping,
            observed: player.app.observed.as_ref(),
        };
        self.note(now, &|done| lesson_result(player, done))
    }

    fn finish(&mut self, player: &Player) -> Result<()> {
        let result = lesson_result(player, self.done);
        self.write_pending(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const V1: &str = r#"{"format":"podlab-trace","version":1,"title":"t","pod":"p","recorded_at":1,"podlab":"0.1.0","steps":[{"id":"a","title":{"en":"A","zh":"甲"},"explain":{"en":"","zh":""}}]}
{"done":0,"observation":{}}
{"done":1,"observation":{}}
"#;

    #[test]
    fn a_version_1_trace_reads_as_it_is() {
        let trace = Trace::read(V1.as_bytes(), "v1").expect("version 1 reads");
        assert_eq!(trace.steps(), 1);
        assert!(trace.header.lesson.is_none());
        assert!(trace.has_own(0) && trace.has_own(1));
        assert!(trace.result(1).is_none());
    }

    #[test]
    fn a_version_1_entry_needs_its_observation() {
        let text = V1.replace(r#"{"done":1,"observation":{}}"#, r#"{"done":1}"#);
        let err = Trace::read(text.as_bytes(), "v1")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("v1:3: a version 1 entry needs an observation"),
            "{err}"
        );
    }

    #[test]
    fn a_newer_version_is_refused_with_the_versions_this_reads() {
        let text = V1.replacen(r#""version":1"#, r#""version":99"#, 1);
        let err = Trace::read(text.as_bytes(), "new")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            err.contains("trace version 99 is not supported")
                && err.contains(&format!("versions 1 to {VERSION}")),
            "{err}"
        );
    }

    #[test]
    fn a_lesson_entry_may_have_a_result_and_no_observation() {
        let text = V1.replacen(r#""version":1"#, r#""version":2"#, 1).replace(
            r#"{"done":1,"observation":{}}"#,
            r#"{"done":1,"result":{"check":{"passed":true,"message":{"en":"ok","zh":"好"}}}}"#,
        );
        let trace = Trace::read(text.as_bytes(), "v2").expect("version 2 reads");
        assert!(!trace.has_own(1));
        assert_eq!(
            trace
                .result(1)
                .and_then(|r| r.check.as_ref())
                .map(|c| c.passed),
            Some(true)
        );
    }
}
