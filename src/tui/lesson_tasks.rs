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
                        // The step shows it too: the pod was replaced, and how.
                        if let Some(view) = self.steps.get_mut(self.current) {
                            view.action = Some(outcome);
                        }
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

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::time::Instant;

    use ratatui::backend::TestBackend;
    use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use ratatui::Terminal;

    use crate::i18n::{Lang, Text};
    use crate::lesson::learner::{Grade, TaskState, TaskStatus};
    use crate::lesson::{load_lesson, ActionOutcome, CheckResult, Lesson};
    use crate::tui::event::{Effect, Event, LessonCmd, LessonReply};
    use crate::tui::lesson_player::{Player, StepState};
    use crate::tui::ui;

    const UID: &str = "0f3c2a9e-1111-4222-8333-444455556666";

    /// A frozen copy of lesson 01 as it was when these screens were drawn, so that rewriting
    /// the shipped lesson does not move the steps they look at.
    fn lesson(file: &str) -> Lesson {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lessons")
            .join(file);
        load_lesson(&path).unwrap_or_else(|e| panic!("{e}"))
    }

    fn pods() -> Vec<(String, String)> {
        vec![("lesson-process".into(), UID.into())]
    }

    /// The requests for the lesson thread, without the teaching aids' (try: lines, hints).
    fn cmds(up: &crate::tui::event::Update) -> Vec<LessonCmd> {
        up.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Lesson(LessonCmd::FillTry(_) | LessonCmd::HintConditions(_)) => None,
                Effect::Lesson(c) => Some(c.clone()),
                _ => None,
            })
            .collect()
    }

    fn press(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    /// The screen as text, one row a line (the test backend's own rendering).
    fn screen(player: &Player, now: Instant) -> String {
        let mut terminal = Terminal::new(TestBackend::new(100, 32)).expect("terminal");
        terminal
            .draw(|f| ui::draw_player(f, player, now))
            .expect("draw");
        format!("{}", terminal.backend())
    }

    /// Lesson 01, resumed with the steps before `first_undone` done.
    fn player_at(first_undone: usize, lang: Lang, now: Instant) -> (Player, Vec<LessonCmd>) {
        let mut player = Player::new(lesson("process-tasks.yaml"), false, lang);
        let up = player.handle(
            Event::Lesson(LessonReply::Resumed {
                outcomes: Vec::new(),
                first_undone,
                pods: pods(),
            }),
            now,
        );
        let asked = cmds(&up);
        (player, asked)
    }

    fn tasks(state: TaskState, message: &str) -> Event {
        Event::Lesson(LessonReply::Tasks {
            index: 5,
            tasks: vec![TaskStatus {
                id: "kill-sleep".into(),
                state,
                message: Text::new(message, message),
            }],
            pods: pods(),
        })
    }

    #[test]
    fn a_task_step_watches_at_once_and_marks_the_task_done() {
        for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
            let now = Instant::now();
            let (mut player, asked) = player_at(5, lang, now);
            // Shown, so watched: the learner may act before pressing anything.
            assert_eq!(asked, vec![LessonCmd::BeginTasks(5)]);
            player.handle(
                tasks(TaskState::Waiting, "process of app: pid 7 → pid 7"),
                now,
            );
            assert!(matches!(player.steps[5].state, StepState::Watching { .. }));
            // No timeout: still watched much later.
            let later = now + std::time::Duration::from_secs(600);
            let up = player.handle(Event::Tick, later);
            assert_eq!(cmds(&up), vec![LessonCmd::PollTasks(5)]);
            // Space does not do the task for the learner.
            let up = player.handle(press(KeyCode::Char(' ')), later);
            assert!(cmds(&up).is_empty());
            let waiting = screen(&player, later);
            insta::assert_snapshot!(format!("task_waiting_{tag}"), waiting);

            let up = player.handle(
                tasks(TaskState::Done, "process of app: pid 7 → pid 42"),
                later,
            );
            assert_eq!(cmds(&up), vec![LessonCmd::Poll(5)]);
            let up = player.handle(
                Event::Lesson(LessonReply::Checked {
                    index: 5,
                    result: CheckResult::pass("app: Running, restarts 1", "app：运行中，重启 1 次"),
                    pods: pods(),
                }),
                later,
            );
            assert_eq!(cmds(&up), vec![LessonCmd::Complete(5)]);
            insta::assert_snapshot!(format!("task_done_{tag}"), screen(&player, later));
        }
    }

    fn graded(right: bool, given: &str) -> Event {
        Event::Lesson(LessonReply::Graded {
            index: 4,
            result: Ok(Grade {
                given: Some(given.into()),
                expected: "1".into(),
                right,
                evidence: Text::new(
                    "ps in lesson-process/app lists 1: 1:sleep",
                    "在 lesson-process/app 中 ps 列出 1 个：1:sleep",
                ),
                explain: lesson("process-tasks.yaml").steps()[4]
                    .question
                    .as_ref()
                    .map(|q| q.explain.clone())
                    .expect("a question"),
            }),
        })
    }

    #[test]
    fn a_question_is_asked_before_the_action_and_graded_after_it() {
        for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
            let now = Instant::now();
            let (mut player, _) = player_at(4, lang, now);
            // Space asks first; the action waits for the answer.
            let up = player.handle(press(KeyCode::Char(' ')), now);
            assert!(cmds(&up).is_empty());
            assert!(player.asking.is_some());
            player.handle(press(KeyCode::Char('3')), now);
            insta::assert_snapshot!(format!("question_before_{tag}"), screen(&player, now));
            let up = player.handle(press(KeyCode::Enter), now);
            assert_eq!(cmds(&up), vec![LessonCmd::Perform(4)]);
            assert_eq!(player.steps[4].answer.as_deref(), Some("3"));
            player.handle(
                Event::Lesson(LessonReply::Performed {
                    index: 4,
                    result: Ok(ActionOutcome {
                        summary: Text::new("", ""),
                        output: String::new(),
                    }),
                    pods: pods(),
                }),
                now,
            );
            let up = player.handle(
                Event::Lesson(LessonReply::Checked {
                    index: 4,
                    result: CheckResult::pass(
                        "PID namespace of lesson-process/app: 1:sleep",
                        "lesson-process/app 的 PID 命名空间：1:sleep",
                    ),
                    pods: pods(),
                }),
                now,
            );
            // Graded once the step is done, then recorded.
            assert_eq!(
                cmds(&up),
                vec![LessonCmd::Grade {
                    index: 4,
                    answer: Some("3".into())
                }]
            );
            let up = player.handle(graded(false, "3"), now);
            assert_eq!(cmds(&up), vec![LessonCmd::Complete(4)]);
            // A wrong answer gets the explanation, not a block.
            let after = screen(&player, now);
            let explain = match lang {
                Lang::En => "PID namespace of its own",
                Lang::Zh => "自己的 PID 命名空间",
            };
            assert!(after.contains(explain), "{after}");
            insta::assert_snapshot!(format!("question_after_{tag}"), after);
            player.handle(graded(true, "1"), now);
            assert!(player.steps[4].grade.as_ref().is_some_and(|g| g.right));
        }
    }

    #[test]
    fn autoplay_does_a_task_by_its_solution_after_the_hold_while_it_is_polled() {
        let now = Instant::now();
        let (mut player, _) = player_at(5, Lang::En, now);
        player.enable_autoplay(
            crate::tui::autoplay::AutoplaySettings {
                speed: 1.0,
                hold: Some(std::time::Duration::from_millis(100)),
                quit_at_end: false,
            },
            now,
        );
        player.handle(tasks(TaskState::Waiting, ""), now);
        let mut asked = Vec::new();
        // The tasks are polled all along; the hold still runs out and the task is done.
        for ms in (50..=400).step_by(50) {
            let at = now + std::time::Duration::from_millis(ms);
            asked.extend(cmds(&player.handle(Event::Tick, at)));
            player.handle(tasks(TaskState::Waiting, ""), at);
        }
        let solve = LessonCmd::Solve {
            index: 5,
            task: "kill-sleep".into(),
        };
        assert_eq!(
            asked.iter().filter(|c| **c == solve).count(),
            1,
            "{asked:?}"
        );
    }

    #[test]
    fn esc_puts_the_question_away_and_the_step_waits() {
        let now = Instant::now();
        let (mut player, _) = player_at(4, Lang::En, now);
        player.handle(press(KeyCode::Char(' ')), now);
        let up = player.handle(press(KeyCode::Esc), now);
        assert!(player.asking.is_none() && cmds(&up).is_empty());
        assert!(matches!(player.steps[4].state, StepState::Pending));
    }
}
