//! The lesson player's state and how every event changes it. Pure, like `app`: the lesson
//! runner lives on a worker thread (`lesson_worker`), so an action or a check never blocks
//! the screen; what must happen outside is returned as a `Effect`.
//!
//! Space performs the step's action; its check is then polled on its own (no key for it):
//! "checking…", then ✓ with the check's message, or after the step's timeout the failure and
//! the first hint. The live panels (freeze and zoom too), popups, language and theme are the
//! explorer's `App`; freezing the panels does not stop the polling.
//!
//! With `--autoplay`, the explorer's pacing (`autoplay`) takes each step once the one before
//! passed its check and its screen was held; in a replay (`lesson_replay`) the lesson
//! thread's answers come from a trace.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::KeyEventKind;

use super::app::{App, Session};
use super::autoplay::{Autoplay, AutoplaySettings, Move};
use super::event::{
    Effect, EngineCmd, EngineReply, Event, LessonCmd, LessonReply, LivePods, Update,
};
use super::keymap::{action_for, Action};
use super::lesson_tasks::Asking;
use super::lesson_teaching::{marks_of, Teaching, HINT_POLL};
use super::script::{Script, ScriptStep};
use super::words::{self, tr};
use crate::i18n::{Lang, Text};
use crate::lesson::learner::{Grade, TaskStatus};
use crate::lesson::{ActionOutcome, CheckResult, Lesson};
use crate::observe::Target;

/// Lines of an action's output shown under the step (and kept in a trace).
pub const OUTPUT_LINES: usize = 8;

/// How often a failing check is evaluated again while its timeout runs.
pub const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// Where a step stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepState {
    Pending,
    Performing {
        since: Instant,
    },
    Checking {
        since: Instant,
        deadline: Instant,
        /// The last failing evaluation.
        last: Option<CheckResult>,
    },
    Passed(CheckResult),
    Failed(Text),
    /// The learner's turn: the step's tasks are watched until each is seen done (no timeout).
    Watching {
        since: Instant,
    },
}

#[derive(Debug, Clone)]
pub struct StepView {
    pub state: StepState,
    /// What the step's action did, when it ran in this session.
    pub action: Option<ActionOutcome>,
    /// How many of the step's hints are shown.
    pub hints_shown: usize,
    /// The step's tasks as they stand (schema 2).
    pub tasks: Vec<TaskStatus>,
    /// Tasks done by their solution (autoplay) rather than by the learner.
    pub solved: Vec<String>,
    /// The answer given to the step's question (None: not asked, or autoplay).
    pub answer: Option<String>,
    /// The question, graded once the step's check passed.
    pub grade: Option<Grade>,
}

impl StepView {
    fn new() -> StepView {
        StepView {
            state: StepState::Pending,
            action: None,
            hints_shown: 0,
            tasks: Vec::new(),
            solved: Vec::new(),
            answer: None,
            grade: None,
        }
    }
}

/// The player as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// The saved progress is being replayed.
    Resuming,
    Ready,
    /// The lesson's pods are being deleted.
    Finishing,
}

pub struct Player {
    /// Panels, popups, language and theme.
    pub app: App,
    pub lesson: Lesson,
    pub steps: Vec<StepView>,
    /// The step Space acts on: the first not done (the number of steps when all are done).
    pub current: usize,
    pub phase: Phase,
    pub restart: bool,
    /// When the check of the current step is evaluated again.
    pub(super) next_poll: Option<Instant>,
    /// A `Poll` was sent and its answer has not come yet.
    pub(super) polling: bool,
    pub(super) pods: LivePods,
    observing: Option<String>,
    /// The step whose check passed last, shown in the status line until the next step.
    pub just_passed: Option<usize>,
    /// Steps taken by themselves (`--autoplay`), paced by the explorer's autoplay.
    pub autoplay: Option<Autoplay>,
    /// Played from a trace (`podlab replay`): the panels show what the trace kept, and
    /// nothing runs on this machine.
    replay: bool,
    /// Why an unattended autoplay (`--quit-at-end`) ended early: the step that failed.
    pub failure: Option<String>,
    /// The question being answered, before its step's action.
    pub asking: Option<Asking>,
    /// What is wrong with the learner's edited manifest (`m` edits it again).
    pub edit_problem: Option<Text>,
    /// A task's solution was asked for and has not come back yet (autoplay).
    pub(super) solving: bool,
    /// The pod whose manifest the learner is editing (`m`), until it is applied.
    pub(super) editing: Option<String>,
    /// Commands that work here, hints that notice, teacher notes, challenge mode, evidence.
    pub teach: Teaching,
}

/// The narration's step list: each lesson step as text only (no engine steps, no checks).
fn script_of(lesson: &Lesson) -> Script {
    Script {
        steps: lesson
            .steps()
            .iter()
            .map(|s| ScriptStep {
                id: s.id.clone(),
                title: s.title.clone(),
                explain: s.body.clone(),
                commands: s.commands.clone(),
                syscalls: Vec::new(),
                engine_steps: 0,
                checks: Vec::new(),
            })
            .collect(),
    }
}

impl Player {
    pub fn new(lesson: Lesson, restart: bool, lang: Lang) -> Player {
        let mut app = App::new(Session::ReadOnly, script_of(&lesson), 0, lang);
        app.script_done = 0;
        app.viewing = 0;
        let steps = lesson.steps().iter().map(|_| StepView::new()).collect();
        let teach = Teaching::new(&lesson);
        Player {
            app,
            lesson,
            steps,
            current: 0,
            phase: Phase::Resuming,
            restart,
            next_poll: None,
            polling: false,
            pods: Vec::new(),
            observing: None,
            just_passed: None,
            autoplay: None,
            replay: false,
            failure: None,
            asking: None,
            edit_problem: None,
            solving: false,
            editing: None,
            teach,
        }
    }

    /// A player for a recorded lesson: `pod` is the pod the trace's panels showed, `source`
    /// the trace file. Its host answers from the trace.
    pub fn for_replay(lesson: Lesson, pod: &str, source: &str, lang: Lang) -> Player {
        let mut player = Player::new(lesson, true, lang);
        player.replay = true;
        player.app.session = Session::Replay {
            name: pod.to_string(),
            source: source.to_string(),
        };
        player
    }

    pub fn is_replay(&self) -> bool {
        self.replay
    }

    /// Take the steps by themselves from now on.
    pub fn enable_autoplay(&mut self, settings: AutoplaySettings, now: Instant) {
        self.autoplay = Some(Autoplay::new(settings));
        let mut up = Update::default();
        self.autoplay_pass(now, &mut up);
    }

    /// Whether the first frame can be drawn: the saved progress is back, and the panels have
    /// something to show if there is a pod to show.
    pub fn settled(&self) -> bool {
        self.phase != Phase::Resuming && (self.observing.is_none() || self.app.observed.is_some())
    }

    /// Step `index` failed: autoplay stops there instead of trying again and again (Space
    /// resumes it, which takes the step again). An unattended run (`--quit-at-end`) ends
    /// instead, and says which step failed.
    pub(super) fn autoplay_failed(&mut self, index: usize, up: &mut Update) {
        let Some(auto) = &mut self.autoplay else {
            return;
        };
        if !auto.settings.quit_at_end {
            auto.pause();
            return;
        }
        let what = match self.steps.get(index).map(|s| &s.state) {
            Some(StepState::Failed(message)) => message.en.clone(),
            _ => String::new(),
        };
        let id = self
            .lesson
            .steps()
            .get(index)
            .map(|s| s.id.clone())
            .unwrap_or_default();
        self.failure = Some(format!("step {} ({id}) failed: {what}", index + 1));
        let mut inner = Update::default();
        self.app.quit(&mut inner);
        self.take_app_effects(inner, up);
    }

    /// What the viewer reads while a screen is held: the shown step's title and text.
    fn text_to_read(&self) -> String {
        let lang = self.lang();
        match self.lesson.steps().get(self.app.viewing) {
            Some(step) => format!("{} {}", step.title.get(lang), step.body.get(lang)),
            None => format!(
                "{} {}",
                words::ALL_DONE_TITLE.get(lang),
                words::ALL_DONE.get(lang)
            ),
        }
    }

    /// After every event: once the step is done and its check passed, hold the screen, then
    /// take the next step (or quit after the last, if asked).
    fn autoplay_pass(&mut self, now: Instant, up: &mut Update) {
        if self.autoplay.is_none() {
            return;
        }
        // Frozen panels would not show the next step: wait until the teacher unfreezes them.
        // Tasks are polled all the time they are watched: that is no reason to wait.
        let watching = self
            .steps
            .get(self.current)
            .is_some_and(|s| matches!(s.state, StepState::Watching { .. }));
        let busy = self.busy()
            || (self.polling && !watching)
            || self.awaiting_solved_task()
            || self.app.popup.is_some()
            || self.app.exiting
            || self.app.is_frozen();
        let at_end = self.all_done();
        let text = self.text_to_read();
        let Some(auto) = self.autoplay.as_mut() else {
            return;
        };
        match auto.pass(now, busy, at_end, &text) {
            Some(Move::Next) => self.next_step(now, up),
            Some(Move::Quit) => {
                let mut inner = Update::default();
                self.app.quit(&mut inner);
                self.take_app_effects(inner, up);
            }
            None => {}
        }
    }

    /// Space while autoplaying: pause, or resume with a full hold from now.
    fn toggle_autoplay(&mut self) {
        let lang = self.lang();
        let Some(auto) = self.autoplay.as_mut() else {
            return;
        };
        if auto.paused {
            auto.resume();
            self.app.info(words::AUTOPLAY.get(lang).to_string());
        } else {
            auto.pause();
            self.app.info(words::PAUSED.get(lang).to_string());
        }
    }

    /// The first requests: bring the lesson back to where the learner left it.
    pub fn start(&self) -> Update {
        Update {
            redraw: true,
            effects: vec![Effect::Lesson(LessonCmd::Resume {
                restart: self.restart,
            })],
        }
    }

    pub fn lang(&self) -> Lang {
        self.app.lang
    }

    pub fn done_count(&self) -> usize {
        self.steps
            .iter()
            .filter(|s| matches!(s.state, StepState::Passed(_)))
            .count()
    }

    pub fn all_done(&self) -> bool {
        self.current >= self.steps.len()
    }

    /// The step whose text is shown.
    pub fn viewing(&self) -> usize {
        self.app.viewing
    }

    /// A step is running, or its check passed and the lesson thread is still recording it
    /// (taking it again then would repeat its action: a file removed twice fails).
    pub(super) fn busy(&self) -> bool {
        self.phase != Phase::Ready
            || self.solving
            || self.asking.is_some()
            || self.steps.get(self.current).is_some_and(|s| {
                matches!(
                    s.state,
                    StepState::Performing { .. }
                        | StepState::Checking { .. }
                        | StepState::Passed(_)
                )
            })
    }

    /// Whether an action can be taken now (the hint bar leaves out what cannot).
    pub fn enabled(&self, action: Action) -> bool {
        match action {
            // With autoplay the same key pauses and resumes.
            Action::NextStep if self.autoplay.is_some() => true,
            Action::NextStep => !self.busy() && !self.all_done(),
            Action::Hint => self
                .lesson
                .steps()
                .get(self.app.viewing)
                .is_some_and(|s| !s.hints.is_empty()),
            Action::TryLine | Action::CopyLine => self.viewed_has_try(),
            Action::RunLine => self.viewed_has_try() && !self.replay,
            Action::Notes => self
                .lesson
                .steps()
                .iter()
                .any(|s| s.teacher_notes.is_some()),
            Action::Restart | Action::Explorer | Action::CommandLine => false,
            Action::EditManifest => self.can_edit(),
            other => self.app.enabled(other),
        }
    }

    /// When the loop must wake up even if nothing arrives.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let ticking = self.steps.get(self.current).is_some_and(|s| {
            matches!(
                s.state,
                StepState::Performing { .. }
                    | StepState::Checking { .. }
                    | StepState::Watching { .. }
            )
        });
        let clock = ticking.then(|| now + Duration::from_millis(500));
        let hold = self.autoplay.as_ref().and_then(Autoplay::deadline);
        let hint = self.lesson.steps().get(self.current).and_then(|s| {
            let poll = self
                .teach
                .next_hint_poll
                .filter(|_| !self.teach.hint_polling);
            [poll, self.teach.next_delay(s, self.current, now)]
                .into_iter()
                .flatten()
                .min()
        });
        [
            self.app.next_deadline(now),
            self.next_poll,
            clock,
            hold,
            hint,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Update {
        let mut up = Update {
            redraw: true,
            effects: Vec::new(),
        };
        match event {
            Event::Key(key) if key.kind != KeyEventKind::Release => self.key(key, now, &mut up),
            Event::Tick => {
                self.pass_to_app(Event::Tick, now, &mut up);
                if self.next_poll.is_some_and(|t| t <= now) {
                    self.next_poll = None;
                    self.poll(now, &mut up);
                }
                self.hint_tick(now, &mut up);
                up.redraw = true;
            }
            Event::Lesson(reply) => self.reply(reply, now, &mut up),
            Event::Edited { result } => self.edited(result, &mut up),
            Event::LineDone { line, result } => self.line_done(&line, result, &mut up),
            event => self.pass_to_app(event, now, &mut up),
        }
        self.autoplay_pass(now, &mut up);
        up
    }

    /// Hand an event to the explorer's app; engine requests become lesson requests.
    fn pass_to_app(&mut self, event: Event, now: Instant, up: &mut Update) {
        let inner = self.app.handle(event, now);
        self.take_app_effects(inner, up);
    }

    /// The app's effects, as the player's: engine requests become lesson requests.
    fn take_app_effects(&mut self, inner: Update, up: &mut Update) {
        up.redraw |= inner.redraw;
        for effect in inner.effects {
            match effect {
                // Quitting: the lesson's pods go.
                Effect::Engine(EngineCmd::Delete { .. }) => {
                    self.phase = Phase::Finishing;
                    up.effects.push(Effect::Lesson(LessonCmd::Finish));
                }
                // Steps are the lesson's, not the engine's.
                Effect::Engine(_) | Effect::KillNow { .. } => {}
                other => up.effects.push(other),
            }
        }
    }

    pub(super) fn key(
        &mut self,
        key: ratatui::crossterm::event::KeyEvent,
        now: Instant,
        up: &mut Update,
    ) {
        if self.phase == Phase::Finishing
            && self.app.popup.is_none()
            && matches!(action_for(&key), Some(Action::Quit | Action::QuitNow))
        {
            // As in the explorer: q while the pods are deleted skips the rest of the grace.
            for (_, uid) in self.pods.iter().filter(|(_, uid)| !uid.is_empty()) {
                up.effects.push(Effect::KillNow { uid: uid.clone() });
            }
            return;
        }
        if self.asking.is_some() && self.phase != Phase::Finishing {
            self.question_key(key, now, up);
            return;
        }
        if self.app.popup.is_some() || self.phase == Phase::Finishing {
            self.pass_to_app(Event::Key(key), now, up);
            return;
        }
        let lang = self.lang();
        match action_for(&key) {
            Some(Action::NextStep) if self.autoplay.is_some() => {
                self.app.status = None;
                self.toggle_autoplay();
            }
            Some(Action::NextStep) => {
                self.app.status = None;
                self.next_step(now, up);
            }
            Some(Action::PrevText | Action::NextText) => {
                // The viewer reads other text: give them the time for it.
                if let Some(auto) = &mut self.autoplay {
                    auto.restart_hold();
                }
                self.pass_to_app(Event::Key(key), now, up);
                self.teach.selected = 0;
                self.fill(self.app.viewing, up);
            }
            Some(Action::Hint) => {
                self.app.status = None;
                self.ask_hint(now);
            }
            Some(Action::TryLine) => self.select_try_line(up),
            Some(Action::RunLine) => self.run_selected(up),
            Some(Action::CopyLine) => self.copy_selected(up),
            Some(Action::Notes) => {
                self.teach.notes = !self.teach.notes;
            }
            Some(Action::Restart | Action::Explorer | Action::CommandLine) => up.redraw = false,
            Some(Action::EditManifest) => {
                self.app.status = None;
                self.edit_manifest(up);
            }
            Some(Action::Shell | Action::Logs | Action::Signal) if self.replay => {
                self.app.error(self.app.no_live_pod().to_string());
            }
            Some(Action::Shell | Action::Logs | Action::Signal) if !self.app.has_pod() => {
                self.app.error(
                    tr(
                        lang,
                        "no pod yet: Space takes the step that creates it",
                        "还没有 Pod：按空格执行创建它的那一步",
                    )
                    .to_string(),
                );
            }
            _ => self.pass_to_app(Event::Key(key), now, up),
        }
    }

    fn next_step(&mut self, now: Instant, up: &mut Update) {
        let lang = self.lang();
        if self.phase == Phase::Resuming {
            self.app
                .info(tr(lang, "resuming where you left off…", "正在恢复上次的进度……").to_string());
            return;
        }
        if self.busy() {
            self.app
                .error(tr(lang, "a step is already running", "已有步骤正在执行").to_string());
            return;
        }
        if self.all_done() {
            self.app.info(
                tr(
                    lang,
                    "lesson complete: q quits (the pods are deleted)",
                    "课程完成：按 q 退出（Pod 会被删除）",
                )
                .to_string(),
            );
            return;
        }
        let index = self.current;
        self.app.viewing = index;
        if self.learner_turn(index, now, up) {
            return;
        }
        self.perform(index, now, up);
    }

    /// Ask the lesson thread for step `index`'s action.
    pub(super) fn perform(&mut self, index: usize, now: Instant, up: &mut Update) {
        self.just_passed = None;
        if let Some(view) = self.steps.get_mut(index) {
            view.state = StepState::Performing { since: now };
            view.action = None;
        }
        self.teach.progress_at = Some(now);
        self.teach.selected = 0;
        up.effects.push(Effect::Lesson(LessonCmd::Perform(index)));
    }

    pub(super) fn poll(&mut self, _now: Instant, up: &mut Update) {
        if !self.polling && self.phase == Phase::Ready {
            self.polling = true;
            let watching = self
                .steps
                .get(self.current)
                .is_some_and(|s| matches!(s.state, StepState::Watching { .. }));
            up.effects.push(Effect::Lesson(if watching {
                LessonCmd::PollTasks(self.current)
            } else {
                LessonCmd::Poll(self.current)
            }));
        }
    }

    pub(super) fn timeout_of(&self, index: usize) -> Duration {
        let options = &self.lesson.file.options;
        let secs = self
            .lesson
            .steps()
            .get(index)
            .and_then(|s| s.timeout_seconds)
            .unwrap_or(options.check_timeout_seconds);
        Duration::from_secs_f64(secs.clamp(0.1, 600.0))
    }

    fn reply(&mut self, reply: LessonReply, now: Instant, up: &mut Update) {
        let lang = self.lang();
        match reply {
            LessonReply::Resumed {
                outcomes,
                first_undone,
                pods,
            } => {
                let mut resumed = 0;
                for outcome in outcomes {
                    let Some(index) = self.index_of(&outcome.step) else {
                        continue;
                    };
                    if outcome.passed() {
                        resumed += 1;
                        self.steps[index].state = StepState::Passed(
                            outcome
                                .check
                                .clone()
                                .unwrap_or_else(|| CheckResult::pass("", "")),
                        );
                    }
                }
                self.phase = Phase::Ready;
                self.set_current(first_undone.min(self.steps.len()));
                self.app.viewing = self.current;
                self.enter_step(now, up);
                self.teach.progress_at = Some(now);
                if resumed > 0 {
                    self.app.info(format!(
                        "{} {resumed}/{}",
                        tr(lang, "resumed: steps done", "已恢复：完成的步骤"),
                        self.steps.len()
                    ));
                }
                self.set_pods(pods, up);
                self.fill(self.current, up);
                self.hint_tick(now, up);
            }
            LessonReply::ResumeFailed { message, pods } => {
                self.phase = Phase::Ready;
                self.set_current(0);
                self.enter_step(now, up);
                self.app.error(format!(
                    "{}: {message}",
                    tr(lang, "could not resume", "无法恢复进度")
                ));
                self.set_pods(pods, up);
            }
            LessonReply::Performed {
                index,
                result,
                pods,
            } => {
                self.set_pods(pods, up);
                let timeout = self.timeout_of(index);
                let Some(view) = self.steps.get_mut(index) else {
                    return;
                };
                match result {
                    Ok(outcome) => {
                        let since = match view.state {
                            StepState::Performing { since } => since,
                            _ => now,
                        };
                        view.action = Some(outcome);
                        view.state = StepState::Checking {
                            since,
                            deadline: now + timeout,
                            last: None,
                        };
                        self.poll(now, up);
                        self.fill(index, up);
                    }
                    Err(message) => {
                        view.state = StepState::Failed(Text::new(message.clone(), message));
                        self.app.status = None;
                        self.teach.progress_at = Some(now);
                        self.show_first_hint(index, now);
                        self.autoplay_failed(index, up);
                    }
                }
            }
            LessonReply::Checked {
                index,
                result,
                pods,
            } => {
                self.polling = false;
                self.set_pods(pods, up);
                let timeout = self.timeout_of(index);
                let Some(view) = self.steps.get_mut(index) else {
                    return;
                };
                let StepState::Checking {
                    since, deadline, ..
                } = view.state
                else {
                    return;
                };
                if result.passed {
                    view.state = StepState::Passed(result);
                    let answer = view.answer.clone();
                    self.just_passed = Some(index);
                    self.show_evidence(index, now);
                    self.fill(index, up);
                    // A result replaces older messages (e.g. a Space pressed while it ran).
                    self.app.status = None;
                    let asks = self
                        .lesson
                        .steps()
                        .get(index)
                        .is_some_and(|s| s.question.is_some());
                    up.effects.push(Effect::Lesson(if asks {
                        // Graded now that the action is done; then recorded.
                        LessonCmd::Grade { index, answer }
                    } else {
                        LessonCmd::Complete(index)
                    }));
                } else if now >= deadline {
                    let secs = timeout.as_secs_f64();
                    view.state = StepState::Failed(Text::new(
                        format!("not seen within {secs:.0}s: {}", result.message.en),
                        format!("{secs:.0} 秒内没有看到：{}", result.message.zh),
                    ));
                    self.app.status = None;
                    self.teach.progress_at = Some(now);
                    self.show_first_hint(index, now);
                    self.autoplay_failed(index, up);
                } else {
                    view.state = StepState::Checking {
                        since,
                        deadline,
                        last: Some(result),
                    };
                    self.next_poll = Some(now + POLL_INTERVAL);
                }
            }
            LessonReply::Completed { index, result } => {
                if let Err(message) = result {
                    self.app.error(format!(
                        "{}: {message}",
                        tr(lang, "progress not saved", "进度未保存")
                    ));
                }
                if index == self.current {
                    let following = self.app.viewing == index;
                    self.set_current(index + 1);
                    self.teach.progress_at = Some(now);
                    if following {
                        self.app.viewing = self.current;
                        self.teach.selected = 0;
                        self.fill(self.current, up);
                    }
                    self.enter_step(now, up);
                }
            }
            LessonReply::Finished(result) => {
                let reply = match result {
                    Ok(()) => EngineReply::Deleted,
                    Err(e) => EngineReply::DeleteFailed(e),
                };
                self.pass_to_app(Event::Engine(reply), now, up);
            }
            LessonReply::Filled { index, lines } => {
                if let Some(aids) = self.teach.steps.get_mut(index) {
                    aids.filled = Some(lines);
                }
            }
            LessonReply::HintConditions { index, holding } => {
                self.teach.hint_polling = false;
                if let Some(aids) = self.teach.steps.get_mut(index) {
                    if holding.len() == aids.holding.len() {
                        aids.holding = holding;
                    }
                }
                self.hint_tick(now, up);
            }
            other => self.learner_reply(other, now, up),
        }
    }

    /// A step failed: show its first hint, unless one is shown already (or the learner
    /// asks for hints, in challenge mode).
    fn show_first_hint(&mut self, index: usize, now: Instant) {
        if self.teach.challenge || !self.teach.shown_hints(index).is_empty() {
            return;
        }
        let Some(step) = self.lesson.steps().get(index).cloned() else {
            return;
        };
        if self.teach.ask_hint(&step, index, now) {
            if let Some(view) = self.steps.get_mut(index) {
                view.hints_shown = self.teach.shown_hints(index).len();
            }
        }
    }

    pub(super) fn set_current(&mut self, index: usize) {
        self.current = index;
        self.app.script_done = index;
    }

    fn index_of(&self, id: &str) -> Option<usize> {
        self.lesson.steps().iter().position(|s| s.id == id)
    }

    /// The pod the panels show: the current step's pod if it lives, else the lesson's first
    /// live pod.
    pub(super) fn set_pods(&mut self, pods: LivePods, up: &mut Update) {
        self.pods = pods;
        if self.replay {
            // The trace's panels come from the trace, not from a pod here.
            return;
        }
        let wanted = self
            .lesson
            .steps()
            .get(self.current.min(self.steps.len().saturating_sub(1)))
            .map(|s| self.lesson.live_name(self.lesson.pod_of(s)))
            .unwrap_or_default();
        let chosen = self
            .pods
            .iter()
            .find(|(name, _)| *name == wanted)
            .or_else(|| self.pods.first())
            .cloned();
        let uid = chosen.as_ref().map(|(_, uid)| uid.clone());
        if uid == self.observing {
            return;
        }
        self.observing = uid;
        match chosen {
            Some((name, uid)) => {
                self.app.session = Session::Pod {
                    uid: uid.clone(),
                    name,
                };
                up.effects.push(Effect::Observe(Target::Pod(uid)));
            }
            None => {
                self.app.session = Session::ReadOnly;
                self.app.observed = None;
                self.app.selected = None;
                up.effects.push(Effect::Observe(Target::Pids(Vec::new())));
            }
        }
    }
}

/// The teaching aids (`lesson_teaching`): commands that work here, hints that notice, notes,
/// challenge mode and the evidence on the panels.
impl Player {
    /// `--challenge`: commands and hints stay hidden until the learner asks (c, h).
    pub fn set_challenge(&mut self) {
        self.teach.challenge = true;
    }

    /// Presenter mode shows the teacher notes (n hides them).
    pub fn show_notes(&mut self) {
        self.teach.notes = true;
    }

    fn viewed_has_try(&self) -> bool {
        self.lesson
            .steps()
            .get(self.app.viewing)
            .is_some_and(|s| !s.try_lines.is_empty())
    }

    /// Ask the lesson thread to fill step `index`'s `try:` lines from the live pods.
    fn fill(&mut self, index: usize, up: &mut Update) {
        let has_lines = self
            .lesson
            .steps()
            .get(index)
            .is_some_and(|s| !s.try_lines.is_empty());
        if has_lines && self.phase == Phase::Ready {
            up.effects.push(Effect::Lesson(LessonCmd::FillTry(index)));
        }
    }

    /// h: the next hint of the shown step, if one may be shown now.
    fn ask_hint(&mut self, now: Instant) {
        let lang = self.lang();
        let viewing = self.app.viewing;
        let Some(step) = self.lesson.steps().get(viewing).cloned() else {
            return;
        };
        if step.hints.is_empty() {
            self.app
                .info(tr(lang, "no hints for this step", "这一步没有提示").to_string());
            return;
        }
        if self.teach.ask_hint(&step, viewing, now) {
            if let Some(view) = self.steps.get_mut(viewing) {
                view.hints_shown = self.teach.shown_hints(viewing).len();
            }
        } else {
            self.app.info(
                tr(
                    lang,
                    "no more hints for now: the others come when the pod shows what they are about",
                    "暂时没有更多提示：其余提示会在 Pod 出现相应状态时出现",
                )
                .to_string(),
            );
        }
    }

    /// c: reveal the commands (challenge mode), then select the next `try:` line.
    fn select_try_line(&mut self, up: &mut Update) {
        let viewing = self.app.viewing;
        let count = self
            .lesson
            .steps()
            .get(viewing)
            .map_or(0, |s| s.try_lines.len());
        if count == 0 {
            return;
        }
        let revealed = self.teach.commands_shown(viewing);
        if let Some(aids) = self.teach.steps.get_mut(viewing) {
            aids.revealed = true;
        }
        if revealed {
            self.teach.selected = (self.teach.selected + 1) % count;
        } else {
            self.teach.selected = 0;
        }
        self.fill(viewing, up);
    }

    /// The selected line, filled; or why it cannot be run or copied yet.
    fn selected_filled(&mut self) -> Option<String> {
        let lang = self.lang();
        let viewing = self.app.viewing;
        if !self.teach.commands_shown(viewing) {
            self.app.info(
                tr(
                    lang,
                    "challenge mode: c shows the commands first",
                    "挑战模式：先按 c 显示命令",
                )
                .to_string(),
            );
            return None;
        }
        match self.teach.selected_line(viewing) {
            Some(line) => match &line.line {
                Some(text) => Some(text.clone()),
                None => {
                    let why = line
                        .missing
                        .as_ref()
                        .map(|m| m.get(lang).to_string())
                        .unwrap_or_default();
                    self.app
                        .error(format!("{}: {why}", tr(lang, "not yet", "暂时还不行")));
                    None
                }
            },
            None => {
                self.app.info(
                    tr(
                        lang,
                        "the commands are being filled in from the pod…",
                        "正在用 Pod 的实际数据填写命令……",
                    )
                    .to_string(),
                );
                None
            }
        }
    }

    /// x: the selected line in a shell on this terminal.
    fn run_selected(&mut self, up: &mut Update) {
        if self.replay {
            self.app.error(self.app.no_live_pod().to_string());
            return;
        }
        if let Some(line) = self.selected_filled() {
            self.app.status = None;
            up.effects.push(Effect::RunLine { line });
        }
    }

    /// y: the selected line to the clipboard, through the terminal (OSC 52).
    fn copy_selected(&mut self, up: &mut Update) {
        let lang = self.lang();
        if let Some(line) = self.selected_filled() {
            self.app.info(format!(
                "{}: {line}",
                tr(
                    lang,
                    "copied (if the terminal allows OSC 52)",
                    "已复制（终端需支持 OSC 52）"
                )
            ));
            up.effects.push(Effect::Copy { text: line });
        }
    }

    fn line_done(&mut self, line: &str, result: Result<i32, String>, up: &mut Update) {
        let lang = self.lang();
        match result {
            Ok(code) => self
                .app
                .info(format!("{line}: {} {code}", tr(lang, "exit", "退出码"))),
            Err(e) => self.app.error(e),
        }
        // What the line did may have changed the pod: fill the lines again.
        self.fill(self.app.viewing, up);
    }

    /// The rows that prove step `index`'s check, marked on the panels for a few seconds.
    fn show_evidence(&mut self, index: usize, now: Instant) {
        let Some(evidence) = self.teach.evidence.get(index) else {
            return;
        };
        let shown = match &self.app.session {
            super::app::Session::Pod { name, .. } | super::app::Session::Replay { name, .. } => {
                name.clone()
            }
            super::app::Session::ReadOnly => return,
        };
        let lesson = &self.lesson;
        let marks = marks_of(evidence, self.app.observed.as_ref(), &shown, |pod| {
            if self.replay {
                pod.to_string()
            } else {
                lesson.live_name(pod)
            }
        });
        self.app.evidence.mark(marks, now);
    }

    /// Hints that come by themselves: poll the current step's conditions, show what is due.
    fn hint_tick(&mut self, now: Instant, up: &mut Update) {
        if self.phase != Phase::Ready || self.all_done() {
            return;
        }
        let index = self.current;
        let Some(step) = self.lesson.steps().get(index).cloned() else {
            return;
        };
        let passed = matches!(
            self.steps.get(index).map(|s| &s.state),
            Some(StepState::Passed(_))
        );
        if passed {
            return;
        }
        if self.teach.show_automatic(&step, index, now) {
            if let Some(view) = self.steps.get_mut(index) {
                view.hints_shown = self.teach.shown_hints(index).len();
            }
        }
        let conditional = step.hints.iter().any(|h| h.when.is_some());
        if conditional && !self.replay && !self.teach.hint_polling {
            match self.teach.next_hint_poll {
                Some(t) if t > now => {}
                _ => {
                    self.teach.hint_polling = true;
                    self.teach.next_hint_poll = Some(now + HINT_POLL);
                    up.effects
                        .push(Effect::Lesson(LessonCmd::HintConditions(index)));
                }
            }
        }
    }
}
