//! A recorded lesson (`podlab lesson ID --trace FILE`) played again by `podlab replay`: the
//! same lesson player and screens, with a host that answers the lesson thread's requests from
//! the trace. Data only: nothing runs, nothing needs root, and it builds on any OS.

use std::sync::mpsc::Sender;
use std::time::Instant;

use eyre::{eyre, Result};

use super::event::{Event, LessonCmd, LessonReply};
use super::host::Host;
use super::lesson_player::Player;
use super::words;
use crate::i18n::Lang;
use crate::lesson::commands::FilledLine;
use crate::lesson::hint::Hint;
use crate::lesson::learner::is_right;
use crate::lesson::schema::{LessonOptions, SCHEMA_VERSION};
use crate::lesson::{ActionOutcome, CheckResult, Lesson, LessonFile, StepSpec};
use crate::observe::Target;
use crate::tui::record::trace::Trace;

/// The lesson a trace was recorded from, as text only (no pods, actions or checks: the
/// trace has what they showed).
pub fn lesson_of(trace: &Trace, source: &str) -> Option<Lesson> {
    let info = trace.header.lesson.as_ref()?;
    let steps = trace
        .header
        .steps
        .iter()
        .map(|s| StepSpec {
            id: s.id.clone(),
            title: s.title.clone(),
            body: s.explain.clone(),
            pod: None,
            action: Default::default(),
            commands: s.commands.clone(),
            try_lines: s.try_lines.clone(),
            cluster: s.cluster.clone(),
            hints: s.hints.iter().cloned().map(Hint::from).collect(),
            teacher_notes: s.teacher_notes.clone(),
            check: None,
            timeout_seconds: None,
            simplified: s.simplified.clone(),
            tasks: s.tasks.clone(),
            question: s.question.clone(),
        })
        .collect();
    Some(Lesson {
        path: source.into(),
        file: LessonFile {
            schema: SCHEMA_VERSION,
            id: info.id.clone(),
            title: info.title.clone(),
            summary: info.summary.clone(),
            manifest: String::new(),
            extra_manifests: Vec::new(),
            owns: None,
            options: LessonOptions::default(),
            steps,
            objectives: info.objectives.clone(),
            minutes: info.minutes,
            difficulty: info.difficulty,
            recap: info.recap.clone(),
            formerly: Default::default(),
        },
        pods: Vec::new(),
    })
}

/// The lesson player at the start of a recorded lesson, showing what the panels showed
/// before its first step (if there was a pod then).
pub fn replay_player(trace: &Trace, source: &str, lang: Lang, now: Instant) -> Result<Player> {
    let lesson = lesson_of(trace, source)
        .ok_or_else(|| eyre!("trace {source} was not recorded from a lesson"))?;
    let mut player = Player::for_replay(lesson, &trace.header.pod, source, lang);
    // The lesson rebuilt from the trace has no checks: the rows that proved them are kept.
    player.teach.evidence = trace
        .header
        .steps
        .iter()
        .map(|s| s.evidence.clone())
        .collect();
    if let Some(first) = trace.own_observation(0) {
        player.handle(Event::Observed(Box::new(first.clone())), now);
    }
    Ok(player)
}

/// Answers the lesson player's requests from the trace: each step's action did what it did
/// when recorded, and its check found what it found then.
pub struct LessonReplayHost {
    trace: Trace,
    events: Sender<Event>,
}

impl LessonReplayHost {
    pub fn new(trace: Trace, events: Sender<Event>) -> LessonReplayHost {
        LessonReplayHost { trace, events }
    }

    fn pods(&self) -> Vec<(String, String)> {
        vec![(self.trace.header.pod.clone(), String::new())]
    }

    fn answer(&mut self, cmd: LessonCmd) -> Vec<Event> {
        let reply = |r| Event::Lesson(r);
        match cmd {
            LessonCmd::Resume { .. } => vec![reply(LessonReply::Resumed {
                outcomes: Vec::new(),
                first_undone: 0,
                pods: self.pods(),
            })],
            LessonCmd::Perform(index) if index < self.trace.steps() => {
                let done = index + 1;
                let action = self
                    .trace
                    .result(done)
                    .and_then(|r| r.action.as_ref())
                    .map(ActionOutcome::from)
                    .unwrap_or_else(|| ActionOutcome {
                        summary: crate::i18n::Text::new("", ""),
                        output: String::new(),
                    });
                let mut events = vec![reply(LessonReply::Performed {
                    index,
                    result: Ok(action),
                    pods: self.pods(),
                })];
                if let Some(o) = self.trace.observation(done) {
                    events.push(Event::Observed(Box::new(o.clone())));
                }
                events
            }
            LessonCmd::Perform(index) => vec![reply(LessonReply::Performed {
                index,
                result: Err("the trace has no more steps".into()),
                pods: self.pods(),
            })],
            LessonCmd::Poll(index) => {
                let check = self
                    .trace
                    .result(index + 1)
                    .and_then(|r| r.check.as_ref())
                    .map(CheckResult::from)
                    .unwrap_or_else(|| CheckResult::pass("", ""));
                vec![reply(LessonReply::Checked {
                    index,
                    result: check,
                    pods: self.pods(),
                })]
            }
            LessonCmd::Complete(index) => vec![reply(LessonReply::Completed {
                index,
                result: Ok(()),
            })],
            LessonCmd::Finish => vec![reply(LessonReply::Finished(Ok(())))],
            // The learner's tasks as they ended, done as they were then.
            LessonCmd::BeginTasks(index) | LessonCmd::PollTasks(index) => {
                let tasks = self
                    .trace
                    .result(index + 1)
                    .map(|r| r.tasks.iter().map(|t| t.status.clone()).collect())
                    .unwrap_or_default();
                let mut events = vec![reply(LessonReply::Tasks {
                    index,
                    tasks,
                    pods: self.pods(),
                })];
                if let Some(o) = self.trace.observation(index + 1) {
                    events.push(Event::Observed(Box::new(o.clone())));
                }
                events
            }
            LessonCmd::Solve { index, task } => vec![reply(LessonReply::Solved {
                index,
                task,
                result: Ok(ActionOutcome {
                    summary: crate::i18n::Text::new("", ""),
                    output: String::new(),
                }),
                pods: self.pods(),
            })],
            LessonCmd::Grade { index, answer } => {
                // The answer given now, graded against the answer computed when recorded.
                let result = self
                    .trace
                    .result(index + 1)
                    .and_then(|r| r.grade.clone())
                    .map(|mut grade| {
                        if answer.is_some() {
                            grade.right = answer
                                .as_deref()
                                .is_some_and(|a| is_right(a, &grade.expected));
                            grade.given = answer;
                        }
                        grade
                    })
                    .ok_or_else(|| {
                        crate::i18n::Text::new(
                            "the trace has no grade for this question",
                            "记录里没有这道题的评分",
                        )
                    });
                vec![reply(LessonReply::Graded { index, result })]
            }
            LessonCmd::PrepareEdit { pod } => vec![reply(LessonReply::EditReady {
                pod,
                result: Err(words::REPLAY_ONLY.get(Lang::En).to_string()),
            })],
            LessonCmd::ApplyEdit { pod } => vec![reply(LessonReply::Applied {
                pod,
                result: Err(crate::i18n::Text::new(
                    words::REPLAY_ONLY.get(Lang::En),
                    words::REPLAY_ONLY.get(Lang::Zh),
                )),
                pods: self.pods(),
            })],
            // The lines as the screen showed them once the step was done; before, as written.
            LessonCmd::FillTry(index) => {
                let recorded = self
                    .trace
                    .result(index + 1)
                    .map(|r| r.filled.clone())
                    .filter(|f| !f.is_empty());
                let lines = recorded.unwrap_or_else(|| {
                    self.trace
                        .header
                        .steps
                        .get(index)
                        .map(|s| {
                            s.try_lines
                                .iter()
                                .map(|t| FilledLine {
                                    template: t.clone(),
                                    line: None,
                                    missing: None,
                                    not_here: false,
                                })
                                .collect()
                        })
                        .unwrap_or_default()
                });
                vec![reply(LessonReply::Filled { index, lines })]
            }
            // Nothing is evaluated in a replay.
            LessonCmd::HintConditions(index) => vec![reply(LessonReply::HintConditions {
                index,
                holding: Vec::new(),
            })],
        }
    }
}

impl Host for LessonReplayHost {
    fn lesson(&mut self, cmd: LessonCmd) {
        for event in self.answer(cmd) {
            let _ = self.events.send(event);
        }
    }

    /// The panels show the trace, whatever pod the lesson would look at.
    fn observe(&mut self, _target: Target) {}

    fn run_shell(&mut self, _uid: &str, _container: &str, _command: &[String]) -> Result<i32> {
        Err(eyre!("{}", words::REPLAY_ONLY.get(Lang::En)))
    }
}
