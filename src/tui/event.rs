//! The one vocabulary of every screen (the lesson list, the explorer, the lesson player and
//! their replays): the events the loop feeds a screen, the effects a screen asks the loop to
//! carry out through its `Host`, and the requests and answers of the threads behind them.

use std::path::PathBuf;

use ratatui::crossterm::event::KeyEvent;

use super::observed::Observation;
use super::signal::Signal;
use crate::i18n::Text;
use crate::kube::pod_state::ProcessRef;
use crate::kube::steps::StepPlan;
use crate::lesson::commands::FilledLine;
use crate::lesson::learner::{Grade, TaskStatus};
use crate::lesson::{ActionOutcome, CheckResult, StepOutcome};
use crate::observe::Target;

/// Requests for the thread that owns the pod's shim connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineCmd {
    Next,
    Restart,
    Delete { grace_seconds: Option<i64> },
}

/// What the engine thread answers.
#[derive(Debug, Clone)]
pub enum EngineReply {
    StepDone {
        next: usize,
    },
    StepFailed(String),
    Restarted {
        uid: String,
        name: String,
        plan: Vec<StepPlan>,
        next: usize,
    },
    RestartFailed(String),
    Deleted,
    DeleteFailed(String),
}

/// Requests for the thread that owns the lesson's runner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LessonCmd {
    /// Replay the saved progress (or forget it, with `restart`).
    Resume {
        restart: bool,
    },
    Perform(usize),
    /// Evaluate the step's check once.
    Poll(usize),
    /// Record the step as done (progress is saved).
    Complete(usize),
    /// A step with tasks is shown: take its tasks' baseline and start watching.
    BeginTasks(usize),
    /// Evaluate the step's tasks once.
    PollTasks(usize),
    /// Do a task in the learner's place, by its solution (autoplay).
    Solve {
        index: usize,
        task: String,
    },
    /// Grade the answer to the step's question (None: nobody answered).
    Grade {
        index: usize,
        answer: Option<String>,
    },
    /// Write the learner's copy of a pod's manifest, for the editor.
    PrepareEdit {
        pod: String,
    },
    /// Check the learner's copy and replace the pod with it.
    ApplyEdit {
        pod: String,
    },
    /// Delete the lesson's pods.
    Finish,
    /// Fill the step's `try:` lines from the live pods.
    FillTry(usize),
    /// Evaluate the conditions of the step's hints.
    HintConditions(usize),
}

/// The lesson's live pods as (name, UID).
pub type LivePods = Vec<(String, String)>;

/// What the lesson thread answers.
#[derive(Debug, Clone)]
pub enum LessonReply {
    Resumed {
        outcomes: Vec<StepOutcome>,
        first_undone: usize,
        pods: LivePods,
    },
    ResumeFailed {
        message: String,
        pods: LivePods,
    },
    Performed {
        index: usize,
        result: Result<ActionOutcome, String>,
        pods: LivePods,
    },
    /// With the live pods: a static pod comes and goes while its check is polled.
    Checked {
        index: usize,
        result: CheckResult,
        pods: LivePods,
    },
    Completed {
        index: usize,
        result: Result<(), String>,
    },
    Finished(Result<(), String>),
    /// The step's tasks as they stand.
    Tasks {
        index: usize,
        tasks: Vec<TaskStatus>,
        pods: LivePods,
    },
    Solved {
        index: usize,
        task: String,
        result: Result<ActionOutcome, String>,
        pods: LivePods,
    },
    Graded {
        index: usize,
        result: Result<Grade, Text>,
    },
    /// The learner's copy of the manifest is ready to edit.
    EditReady {
        pod: String,
        result: Result<PathBuf, String>,
    },
    /// The learner's copy was checked and, if valid, the pod replaced with it.
    Applied {
        pod: String,
        result: Result<ActionOutcome, Text>,
        pods: LivePods,
    },
    /// The step's `try:` lines, filled as far as the pods let.
    Filled {
        index: usize,
        lines: Vec<FilledLine>,
    },
    /// For each hint of the step: whether its condition holds (true without one).
    HintConditions {
        index: usize,
        holding: Vec<bool>,
    },
}

/// Everything the loop feeds a screen: input, observations, the answers of the threads and
/// hosts that work for it, signals and timers.
#[derive(Debug, Clone)]
pub enum Event {
    Key(KeyEvent),
    Resize,
    Observed(Box<Observation>),
    Engine(EngineReply),
    Logs {
        container: String,
        text: String,
    },
    ShellDone {
        container: String,
        result: Result<i32, String>,
    },
    /// The editor the learner edited a manifest in has exited.
    Edited {
        result: Result<i32, String>,
    },
    SignalSent {
        container: String,
        signal: Signal,
        delivered: bool,
    },
    /// An in-place resize was asked of the shim: the resize's condition left (None: done), or
    /// the refusal.
    Resized {
        container: String,
        result: Result<Option<String>, String>,
    },
    /// A lesson's `try:` line ran in a shell on this terminal.
    LineDone {
        line: String,
        result: Result<i32, String>,
    },
    /// SIGINT, SIGTERM or SIGHUP: quit at once.
    Terminate,
    /// A timer (highlight expiry, the running-step clock) went off.
    Tick,
    /// The lesson thread answered.
    Lesson(LessonReply),
}

/// What the loop must do outside a screen, through its `Host`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A request for the thread that owns the explorer's pod.
    Engine(EngineCmd),
    /// A request for the thread that owns the lesson's runner.
    Lesson(LessonCmd),
    /// Point the live panels at this target (a lesson step's pod).
    Observe(Target),
    Shell {
        uid: String,
        container: String,
        command: Vec<String>,
    },
    Signal {
        container: String,
        process: ProcessRef,
        signal: Signal,
    },
    /// `kubectl patch --subresource resize` on the pod `uid`.
    Resize {
        uid: String,
        container: String,
        patch: String,
    },
    ReadLogs {
        uid: String,
        container: String,
    },
    /// Hand the terminal to an editor on this file and take it back.
    Edit {
        path: PathBuf,
    },
    /// Shorten an ongoing deletion's grace period to zero.
    KillNow {
        uid: String,
    },
    /// Run a lesson's `try:` line in a shell on this terminal (the shell hand-off).
    RunLine {
        line: String,
    },
    /// Put text on the terminal's clipboard (OSC 52).
    Copy {
        text: String,
    },
    Exit,
}

#[derive(Debug, Default)]
pub struct Update {
    pub redraw: bool,
    pub effects: Vec<Effect>,
}
