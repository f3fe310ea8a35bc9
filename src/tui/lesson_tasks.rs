//! The lesson player's side of schema 2: the learner's turn (a step's tasks watched until
//! each is seen done, with no timeout; autoplay does them by their solutions), a question
//! answered before the step's action and graded after it, and the `m` key: the learner's copy
//! of the pod's manifest in an editor, checked, then the pod replaced with it.
//!
//! Pure like the rest of the player: what must happen outside is an `Effect`.

use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::event::{Effect, LessonCmd, LessonReply, Update};
use super::lesson_player::{Player, StepState, POLL_INTERVAL};
use super::words::tr;
use crate::i18n::Text;
use crate::lesson::learner::TaskState;

/// A question on screen, before its step's action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asking {
    pub index: usize,
    /// The highlighted choice (multiple choice).
    pub choice: usize,
    /// What the learner typed (typed answers).
    pub typed: String,
}

impl Player {
    /// The current step was just reached: a step with tasks starts watching at once (the
    /// learner may act before pressing anything).
    pub(super) fn enter_step(&mut self, now: Instant, up: &mut Update) {
        let index = self.current;
        let has_tasks = self
            .lesson
            .steps()
            .get(index)
            .is_some_and(|s| !s.tasks.is_empty());
        let pending = self
            .steps
            .get(index)
            .is_some_and(|v| matches!(v.state, StepState::Pending | StepState::Failed(_)));
        if has_tasks && pending && self.phase == super::lesson_player::Phase::Ready {
            self.begin_tasks(index, now, up);
        }
    }

    fn begin_tasks(&mut self, index: usize, now: Instant, up: &mut Update) {
        if let Some(view) = self.steps.get_mut(index) {
            view.state = StepState::Watching { since: now };
        }
        self.polling = true;
        self.next_poll = None;
        up.effects
            .push(Effect::Lesson(LessonCmd::BeginTasks(index)));
    }

    /// Space on step `index`: on a step with tasks, the learner's turn (autoplay does the next
    /// task); on a step with a question, the question first. True when Space was taken here.
    pub(super) fn learner_turn(&mut self, index: usize, now: Instant, up: &mut Update) -> bool {
        let Some(step) = self.lesson.steps().get(index).cloned() else {
            return false;
        };
        let lang = self.lang();
        if !step.tasks.is_empty() {
            let watching = self
                .steps
                .get(index)
                .is_some_and(|v| matches!(v.state, StepState::Watching { .. }));
            if !watching {
                self.begin_tasks(index, now, up);
                return true;
            }
            if self.autoplay.is_some() {
                self.solve_next(index, up);
            } else {
                let next = self.next_task(index).and_then(|id| {
                    step.tasks
                        .iter()
                        .find(|t| t.id == id)
                        .map(|t| t.todo.clone())
                });
                let todo = next.map(|t| t.get(lang).to_string()).unwrap_or_default();
                self.app.info(format!(
                    "{} {todo}",
                    tr(
                        lang,
                        "your turn: podlab is watching for",
                        "轮到你了：podlab 正在等你完成"
                    )
                ));
            }
            return true;
        }
        let unanswered = step.question.is_some()
            && self.steps.get(index).is_some_and(|v| v.answer.is_none())
            && self.autoplay.is_none();
        if unanswered {
            self.asking = Some(Asking {
                index,
                choice: 0,
                typed: String::new(),
            });
            return true;
        }
        false
    }

    /// The first task of step `index` that can be done now and is not done.
    fn next_task(&self, index: usize) -> Option<String> {
        self.steps.get(index)?.tasks.iter().find_map(|t| {
            matches!(t.state, TaskState::Waiting | TaskState::AlreadyTrue).then(|| t.id.clone())
        })
    }

    /// Autoplay: do the next task by its solution.
    fn solve_next(&mut self, index: usize, up: &mut Update) {
        let solved = self
            .steps
            .get(index)
            .map(|v| v.solved.clone())
            .unwrap_or_default();
        let Some(task) = self.next_task(index).filter(|t| !solved.contains(t)) else {
            return;
        };
        self.solving = true;
        up.effects
            .push(Effect::Lesson(LessonCmd::Solve { index, task }));
    }

    /// A task autoplay did is not seen yet: wait for it before holding the screen again.
    pub(super) fn awaiting_solved_task(&self) -> bool {
        self.steps.get(self.current).is_some_and(|v| {
            matches!(v.state, StepState::Watching { .. })
                && v.solved
                    .iter()
                    .any(|id| v.tasks.iter().any(|t| &t.id == id && !t.done()))
        })
    }

    /// Keys while a question is asked: ↑/↓ or a digit picks a choice, typing types an answer,
    /// Enter answers (then the step's action runs), Esc puts the question away.
    pub(super) fn question_key(&mut self, key: KeyEvent, now: Instant, up: &mut Update) {
        let Some(mut asking) = self.asking.take() else {
            return;
        };
        let choices = self
            .lesson
            .steps()
            .get(asking.index)
            .and_then(|s| s.question.as_ref())
            .map(|q| q.offered_choices())
            .unwrap_or_default();
        if key.modifiers.contains(KeyModifiers::CONTROL) && key.code == KeyCode::Char('c') {
            // Quitting is never blocked by a question.
            self.key(key, now, up);
            return;
        }
        let answer = match key.code {
            KeyCode::Esc => return,
            KeyCode::Up if !choices.is_empty() => {
                asking.choice = asking.choice.saturating_sub(1);
                None
            }
            KeyCode::Down if !choices.is_empty() => {
                asking.choice = (asking.choice + 1).min(choices.len() - 1);
                None
            }
            KeyCode::Char(c) if !choices.is_empty() => c
                .to_digit(10)
                .and_then(|d| (d as usize).checked_sub(1))
                .and_then(|i| choices.get(i))
                .map(|c| c.value.clone()),
            KeyCode::Enter if !choices.is_empty() => {
                choices.get(asking.choice).map(|c| c.value.clone())
            }
            KeyCode::Char(c) if asking.typed.chars().count() < 40 => {
                asking.typed.push(c);
                None
            }
            KeyCode::Backspace => {
                asking.typed.pop();
                None
            }
            KeyCode::Enter if !asking.typed.trim().is_empty() => Some(asking.typed.clone()),
            _ => None,
        };
        match answer {
            Some(value) => {
                let index = asking.index;
                if let Some(view) = self.steps.get_mut(index) {
                    view.answer = Some(value);
                }
                self.perform(index, now, up);
            }
            None => self.asking = Some(asking),
        }
    }

    /// Whether `m` can edit the manifest now: a live pod of the lesson that podlab (not the
    /// lesson's kubelet) runs.
    pub(super) fn can_edit(&self) -> bool {
        !self.is_replay()
            && self.app.has_pod()
            && self.phase == super::lesson_player::Phase::Ready
            && self.editing.is_none()
            && !self.lesson.is_static(&self.edited_pod())
    }

    /// The pod `m` edits: the current step's (the last step's once all are done).
    fn edited_pod(&self) -> String {
        let steps = self.lesson.steps();
        steps
            .get(self.current.min(steps.len().saturating_sub(1)))
            .map(|s| self.lesson.pod_of(s).to_string())
            .unwrap_or_default()
    }

    pub(super) fn edit_manifest(&mut self, up: &mut Update) {
        let lang = self.lang();
        if self.is_replay() {
            self.app.error(
                tr(
                    lang,
                    "a replay has no manifest to edit",
                    "回放中没有可编辑的清单",
                )
                .to_string(),
            );
            return;
        }
        if !self.can_edit() {
            self.app.error(
                tr(
                    lang,
                    "no pod of this lesson to edit now",
                    "现在没有可以编辑的课程 Pod",
                )
                .to_string(),
            );
            return;
        }
        let pod = self.edited_pod();
        self.editing = Some(pod.clone());
        self.app.info(
            tr(
                lang,
                "opening your copy of the manifest…",
                "正在打开你的清单副本……",
            )
            .to_string(),
        );
        up.effects
            .push(Effect::Lesson(LessonCmd::PrepareEdit { pod }));
    }

    /// The editor is closed: check the copy and apply it.
    pub(super) fn edited(&mut self, result: Result<i32, String>, up: &mut Update) {
        let lang = self.lang();
        let Some(pod) = self.editing.clone() else {
            return;
        };
        match result {
            Ok(_) => {
                self.app.info(
                    tr(
                        lang,
                        "checking your manifest, then replacing the pod…",
                        "正在检查你的清单，然后替换 Pod……",
                    )
                    .to_string(),
                );
                up.effects
                    .push(Effect::Lesson(LessonCmd::ApplyEdit { pod }));
            }
            Err(e) => {
                self.editing = None;
                self.app.error(e);
            }
        }
    }

    /// The lesson thread's answers about tasks, questions and the learner's manifest.
    pub(super) fn learner_reply(&mut self, reply: LessonReply, now: Instant, up: &mut Update) {
        let lang = self.lang();
        match reply {
            LessonReply::Tasks { index, tasks, pods } => {
                self.polling = false;
                self.set_pods(pods, up);
                let timeout = self.timeout_of(index);
                let Some(view) = self.steps.get_mut(index) else {
                    return;
                };
                let newly_done = tasks
                    .iter()
                    .any(|t| t.done() && !view.tasks.iter().any(|o| o.id == t.id && o.done()));
                view.tasks = tasks;
                let StepState::Watching { since } = view.state else {
                    return;
                };
                if !view.tasks.is_empty() && view.tasks.iter().all(|t| t.done()) {
                    view.state = StepState::Checking {
                        since,
                        deadline: now + timeout,
                        last: None,
                    };
                    self.poll(now, up);
                } else {
                    if newly_done {
                        // Autoplay holds the screen again before the next task.
                        if let Some(auto) = &mut self.autoplay {
                            auto.restart_hold();
                        }
                    }
                    self.next_poll = Some(now + POLL_INTERVAL);
                }
            }
            LessonReply::Solved {
                index,
                task,
                result,
                pods,
            } => {
                self.solving = false;
                self.set_pods(pods, up);
                let Some(view) = self.steps.get_mut(index) else {
                    return;
                };
                match result {
                    Ok(outcome) => {
                        view.solved.push(task);
                        view.action = Some(outcome);
                    }
                    Err(message) => {
                        view.state = StepState::Failed(Text::new(message.clone(), message));
                        self.autoplay_failed(index, up);
                    }
                }
            }
            LessonReply::Graded { index, result } => {
                match result {
                    Ok(grade) => {
                        if let Some(view) = self.steps.get_mut(index) {
                            view.grade = Some(grade);
                        }
                    }
                    Err(message) => self.app.error(format!(
                        "{}: {}",
                        tr(lang, "the answer could not be computed", "无法算出答案"),
                        message.get(lang)
                    )),
                }
                up.effects.push(Effect::Lesson(LessonCmd::Complete(index)));
            }
            LessonReply::EditReady { pod, result } => match result {
                Ok(path) if self.editing.as_deref() == Some(pod.as_str()) => {
                    up.effects.push(Effect::Edit { path });
                }
                Ok(_) => {}
                Err(e) => {
                    self.editing = None;
                    self.app.error(e);
                }
            },
            LessonReply::Applied { result, pods, .. } => {
                self.editing = None;
                self.set_pods(pods, up);
                match result {
                    Ok(outcome) => {
                        self.edit_problem = None;
                        self.app.info(outcome.summary.get(lang).to_string());
                    }
                    Err(problem) => {
                        self.edit_problem = Some(problem);
                        self.app.error(
                            tr(
                                lang,
                                "your manifest has problems (shown in the step): m edits it again",
                                "你的清单有问题（见步骤说明）：按 m 再次编辑",
                            )
                            .to_string(),
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
