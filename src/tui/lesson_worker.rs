//! The thread that owns the lesson's `Runner` (and so its pods): actions and checks can block
//! for seconds (a command in a container, a pod's deletion), never on the screen's thread.

use std::sync::mpsc::{Receiver, Sender};
use std::thread::JoinHandle;

use eyre::{eyre, Result};

use super::event::{Event, LessonCmd, LessonReply};
use crate::i18n::Text;
use crate::lesson::{CheckResult, Runner};

pub struct LessonWorker {
    tx: Sender<LessonCmd>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

impl LessonWorker {
    pub fn spawn(runner: Runner, events: Sender<Event>) -> Result<LessonWorker> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("podlab-lesson".into())
            .spawn(move || worker_loop(runner, &rx, &events))
            .map_err(|e| eyre!("failed to start the lesson thread: {e}"))?;
        Ok(LessonWorker {
            tx,
            thread: Some(thread),
        })
    }

    pub fn send(&self, cmd: LessonCmd) {
        let _ = self.tx.send(cmd);
    }

    /// Delete the lesson's pods if that was not done yet, and wait until they are gone.
    pub fn finish(mut self) -> Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> Result<()> {
        let _ = self.tx.send(LessonCmd::Finish);
        // Close the channel so the thread ends after the requests before Finish.
        let (closed, _) = std::sync::mpsc::channel();
        self.tx = closed;
        match self.thread.take() {
            Some(t) => match t.join() {
                Ok(result) => result.map_err(|e| eyre!("{e}")),
                Err(_) => Err(eyre!("the lesson thread panicked")),
            },
            None => Ok(()),
        }
    }
}

impl Drop for LessonWorker {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

fn worker_loop(
    runner: Runner,
    rx: &Receiver<LessonCmd>,
    events: &Sender<Event>,
) -> Result<(), String> {
    let mut runner = Some(runner);
    let mut finished: Result<(), String> = Ok(());
    let gone = || "the lesson has ended".to_string();
    while let Ok(cmd) = rx.recv() {
        let reply = match (cmd, runner.as_mut()) {
            (LessonCmd::Finish, _) => {
                if let Some(r) = runner.take() {
                    finished = r.finish().map_err(|e| format!("{e:#}"));
                }
                LessonReply::Finished(finished.clone())
            }
            (LessonCmd::Resume { restart }, Some(r)) => {
                let resumed = if restart {
                    r.reset_progress().map(|()| Vec::new())
                } else {
                    r.resume()
                };
                match resumed {
                    Ok(outcomes) => LessonReply::Resumed {
                        outcomes,
                        first_undone: r.first_undone(),
                        pods: r.live_pods(),
                    },
                    Err(e) => LessonReply::ResumeFailed {
                        message: format!("{e:#}"),
                        pods: r.live_pods(),
                    },
                }
            }
            (LessonCmd::Perform(index), Some(r)) => {
                let result = r.perform(index).map_err(|e| format!("{e:#}"));
                LessonReply::Performed {
                    index,
                    result,
                    pods: r.live_pods(),
                }
            }
            (LessonCmd::Poll(index), Some(r)) => LessonReply::Checked {
                index,
                result: r.poll_check(index),
                pods: r.live_pods(),
            },
            (LessonCmd::Complete(index), Some(r)) => LessonReply::Completed {
                index,
                result: r.complete(index).map_err(|e| format!("{e:#}")),
            },
            (cmd, Some(r)) if is_learner(&cmd) => learner_reply(cmd, r),
            (cmd, None) if is_learner(&cmd) => learner_gone(cmd),
            (LessonCmd::FillTry(index), Some(r)) => LessonReply::Filled {
                index,
                lines: r.fill_try(index),
            },
            (LessonCmd::HintConditions(index), Some(r)) => LessonReply::HintConditions {
                index,
                holding: r.hint_conditions(index),
            },
            (LessonCmd::FillTry(index), None) => LessonReply::Filled {
                index,
                lines: Vec::new(),
            },
            (LessonCmd::HintConditions(index), None) => LessonReply::HintConditions {
                index,
                holding: Vec::new(),
            },
            (LessonCmd::Resume { .. }, None) => LessonReply::ResumeFailed {
                message: gone(),
                pods: Vec::new(),
            },
            (LessonCmd::Perform(index), None) => LessonReply::Performed {
                index,
                result: Err(gone()),
                pods: Vec::new(),
            },
            (LessonCmd::Poll(index), None) => LessonReply::Checked {
                index,
                result: CheckResult::fail(gone(), "课程已结束"),
                pods: Vec::new(),
            },
            (LessonCmd::Complete(index), None) => LessonReply::Completed {
                index,
                result: Err(gone()),
            },
            (_, _) => continue,
        };
        let _ = events.send(Event::Lesson(reply));
    }
    if let Some(r) = runner.take() {
        finished = r.finish().map_err(|e| format!("{e:#}"));
    }
    finished
}

/// Requests about the learner's tasks, questions and manifest (schema 2).
fn is_learner(cmd: &LessonCmd) -> bool {
    matches!(
        cmd,
        LessonCmd::BeginTasks(_)
            | LessonCmd::PollTasks(_)
            | LessonCmd::Solve { .. }
            | LessonCmd::Grade { .. }
            | LessonCmd::PrepareEdit { .. }
            | LessonCmd::ApplyEdit { .. }
    )
}

fn learner_reply(cmd: LessonCmd, r: &mut Runner) -> LessonReply {
    match cmd {
        LessonCmd::BeginTasks(index) => LessonReply::Tasks {
            index,
            tasks: r.begin_tasks(index),
            pods: r.live_pods(),
        },
        LessonCmd::PollTasks(index) => LessonReply::Tasks {
            index,
            tasks: r.poll_tasks(index),
            pods: r.live_pods(),
        },
        LessonCmd::Solve { index, task } => LessonReply::Solved {
            index,
            result: r.solve_task(index, &task).map_err(|e| format!("{e:#}")),
            task,
            pods: r.live_pods(),
        },
        LessonCmd::Grade { index, answer } => LessonReply::Graded {
            index,
            result: r.grade(index, answer.as_deref()),
        },
        LessonCmd::PrepareEdit { pod } => LessonReply::EditReady {
            result: r.manifest_copy(&pod).map_err(|e| format!("{e:#}")),
            pod,
        },
        LessonCmd::ApplyEdit { pod } => LessonReply::Applied {
            result: r.apply_copy(&pod),
            pod,
            pods: r.live_pods(),
        },
        other => learner_gone(other),
    }
}

fn learner_gone(cmd: LessonCmd) -> LessonReply {
    let gone = || "the lesson has ended".to_string();
    let gone_text = || Text::new("the lesson has ended", "课程已结束");
    match cmd {
        LessonCmd::BeginTasks(index) | LessonCmd::PollTasks(index) => LessonReply::Tasks {
            index,
            tasks: Vec::new(),
            pods: Vec::new(),
        },
        LessonCmd::Solve { index, task } => LessonReply::Solved {
            index,
            task,
            result: Err(gone()),
            pods: Vec::new(),
        },
        LessonCmd::Grade { index, .. } => LessonReply::Graded {
            index,
            result: Err(gone_text()),
        },
        LessonCmd::PrepareEdit { pod } => LessonReply::EditReady {
            pod,
            result: Err(gone()),
        },
        LessonCmd::ApplyEdit { pod } => LessonReply::Applied {
            pod,
            result: Err(gone_text()),
            pods: Vec::new(),
        },
        // Not a learner's request (`is_learner` keeps these out): an answer nobody waits for.
        _ => LessonReply::Completed {
            index: usize::MAX,
            result: Err(gone()),
        },
    }
}
