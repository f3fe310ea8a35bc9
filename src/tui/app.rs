//! The explorer's state and how every event changes it. Pure: no I/O here; what must happen
//! outside (a shim request, a shell, a signal, reading a log) is returned as an `Effect` for
//! the loop to carry out, so tests drive the app with recorded data and keys.

use std::time::{Duration, Instant};

use ratatui::crossterm::event::KeyEventKind;

use super::autoplay::Autoplay;
use super::event::{Effect, EngineCmd, EngineReply, Event, Update};
use super::keymap::Action;
use super::observed::{Frozen, Highlights, Mark, Observation};
use super::script::Script;
use super::signal::Signal;
use super::theme::ThemeKind;
use super::words::{self, tr};
use crate::i18n::Lang;
use crate::kube::pod_state::{ContainerState, ContainerStatus, ProcessRef};

/// What the explorer is attached to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Session {
    /// A pod this explorer created and holds (it is deleted when the explorer quits).
    Pod { uid: String, name: String },
    /// No pod can be built (no root): the panels show the user's own processes.
    ReadOnly,
    /// Screens recorded elsewhere (`podlab replay`): steps move through the trace, nothing
    /// runs on this machine.
    Replay { name: String, source: String },
}

/// What the engine is doing for us.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    Idle,
    Stepping { since: Instant },
    Restarting,
    Deleting,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Focus {
    Narration,
    Processes,
    Namespaces,
    Network,
    Cgroups,
    Events,
}

impl Focus {
    pub const ALL: [Focus; 6] = [
        Focus::Narration,
        Focus::Processes,
        Focus::Namespaces,
        Focus::Network,
        Focus::Cgroups,
        Focus::Events,
    ];

    pub fn index(self) -> usize {
        Focus::ALL.iter().position(|f| *f == self).unwrap_or(0)
    }

    pub(super) fn step_by(self, by: isize) -> Focus {
        let n = Focus::ALL.len() as isize;
        Focus::ALL[(self.index() as isize + by).rem_euclid(n) as usize]
    }

    pub fn title(self) -> words::Tr {
        match self {
            Focus::Narration => words::STEPS,
            Focus::Processes => words::PROCESSES,
            Focus::Namespaces => words::NAMESPACES,
            Focus::Network => words::NETWORK,
            Focus::Cgroups => words::CGROUPS,
            Focus::Events => words::EVENTS,
        }
    }
}

/// The signals the `k` menu offers, in menu order.
pub const SIGNALS: [Signal; 4] = [
    Signal::SIGTERM,
    Signal::SIGKILL,
    Signal::SIGINT,
    Signal::SIGHUP,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Popup {
    Help {
        scroll: u16,
    },
    ConfirmQuit,
    Describe {
        scroll: u16,
    },
    Logs {
        container: String,
        text: String,
        scroll: Option<u16>,
    },
    SignalMenu {
        container: String,
        choice: usize,
    },
    CommandLine {
        input: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Error,
}

pub struct App {
    pub lang: Lang,
    pub theme: ThemeKind,
    /// `NO_COLOR` is set: the theme stays mono.
    pub no_color: bool,
    pub session: Session,
    pub script: Script,
    /// Engine steps the shim has run.
    pub engine_done: usize,
    /// Script steps done.
    pub script_done: usize,
    /// The step whose text is shown; `script.steps.len()` is the closing page.
    pub viewing: usize,
    /// Keep running steps until this many script steps are done.
    run_until: Option<usize>,
    /// A `Next` was sent and its answer has not come yet.
    awaiting_step: bool,
    pub activity: Activity,
    pub focus: Focus,
    /// The panel shown when panels are folded into tabs and the narration has the focus.
    pub tab: Focus,
    /// The selected container, by name.
    pub selected: Option<String>,
    pub observed: Option<Observation>,
    pub highlights: Highlights,
    /// Rows that prove a lesson check that just passed (`✓`, bold).
    pub evidence: Highlights,
    pub popup: Option<Popup>,
    pub status: Option<(StatusKind, String)>,
    /// Scroll offset of each pane, by `Focus::index`.
    pub scroll: [u16; 6],
    pub exiting: bool,
    /// Steps run by themselves (`--autoplay`).
    pub autoplay: Option<Autoplay>,
    /// Classroom layout: high contrast, narration first, more space, changes marked longer.
    pub presenter: bool,
    /// What the panels draw while frozen (`f`); None: the newest observation.
    pub frozen: Option<Box<Frozen>>,
    /// The focused pane fills the screen (`z`).
    pub zoomed: bool,
}

impl App {
    pub fn new(session: Session, script: Script, engine_done: usize, lang: Lang) -> App {
        let script_done = script.done_for_engine(engine_done);
        let no_color = super::theme::no_color_requested();
        App {
            lang,
            theme: if no_color {
                ThemeKind::Mono
            } else {
                ThemeKind::Default
            },
            no_color,
            session,
            script,
            engine_done,
            script_done,
            viewing: script_done,
            run_until: None,
            awaiting_step: false,
            activity: Activity::Idle,
            focus: Focus::Narration,
            tab: Focus::Processes,
            selected: None,
            observed: None,
            highlights: Highlights::default(),
            evidence: Highlights::with_hold(super::observed::EVIDENCE_FOR),
            popup: None,
            status: None,
            scroll: [0; 6],
            exiting: false,
            autoplay: None,
            presenter: false,
            frozen: None,
            zoomed: false,
        }
    }

    /// The classroom layout (`--presenter`).
    pub fn set_presenter(&mut self) {
        self.presenter = true;
        self.set_theme(ThemeKind::HighContrast);
        self.highlights
            .set_hold(super::observed::PRESENTER_HIGHLIGHT_FOR);
        self.evidence
            .set_hold(super::observed::PRESENTER_HIGHLIGHT_FOR);
    }

    pub fn set_theme(&mut self, theme: ThemeKind) {
        if !self.no_color {
            self.theme = theme;
        }
    }

    pub fn has_pod(&self) -> bool {
        matches!(self.session, Session::Pod { .. })
    }

    /// The observation the panels draw: the one kept when they were frozen, else the newest.
    pub fn shown(&self) -> Option<&Observation> {
        match &self.frozen {
            Some(frozen) => frozen.observed.as_ref(),
            None => self.observed.as_ref(),
        }
    }

    /// Whether a "just changed" mark is drawn (while frozen: as it was when frozen).
    pub fn is_marked(&self, mark: &Mark, now: Instant) -> bool {
        match &self.frozen {
            Some(frozen) => frozen.is_marked(mark),
            None => self.highlights.is_marked(mark, now),
        }
    }

    /// Whether a row is marked as the proof of a check that just passed.
    pub fn is_evidence(&self, mark: &Mark, now: Instant) -> bool {
        match &self.frozen {
            Some(frozen) => frozen.evidence.is_marked(mark, frozen.at),
            None => self.evidence.is_marked(mark, now),
        }
    }

    pub fn is_frozen(&self) -> bool {
        self.frozen.is_some()
    }

    /// Freeze the panels as they are drawn now, or unfreeze them: the newest observation is
    /// drawn at once, with what changed since the frozen picture marked.
    pub(super) fn toggle_freeze(&mut self, now: Instant) {
        match self.frozen.take() {
            None => {
                self.frozen = Some(Box::new(Frozen {
                    observed: self.observed.clone(),
                    highlights: self.highlights.clone(),
                    evidence: self.evidence.clone(),
                    at: now,
                }))
            }
            Some(frozen) => {
                if let Some(newest) = &self.observed {
                    self.highlights
                        .note_changes(frozen.observed.as_ref(), newest, now);
                }
            }
        }
    }

    /// Steps can be taken: on a pod of ours, or through a recorded trace.
    pub fn can_step(&self) -> bool {
        matches!(self.session, Session::Pod { .. } | Session::Replay { .. })
    }

    /// Why something that needs a live pod cannot be done here.
    pub(super) fn no_live_pod(&self) -> &'static str {
        match self.session {
            Session::Replay { .. } => words::REPLAY_ONLY.get(self.lang),
            _ => words::NEEDS_ROOT.get(self.lang),
        }
    }

    pub(super) fn uid(&self) -> Option<&str> {
        match &self.session {
            Session::Pod { uid, .. } => Some(uid),
            Session::ReadOnly | Session::Replay { .. } => None,
        }
    }

    /// A step was asked for and is not finished yet (running, or waiting for its checks).
    pub(super) fn step_pending(&self) -> bool {
        self.run_until.is_some() || self.awaiting_step
    }

    /// The pod's containers, as the shim last reported them.
    pub fn containers(&self) -> Vec<&ContainerStatus> {
        self.observed
            .as_ref()
            .and_then(|o| o.state.as_ref())
            .map(|s| s.containers.iter().collect())
            .unwrap_or_default()
    }

    fn selected_container(&self) -> Option<&ContainerStatus> {
        let name = self.selected.as_deref()?;
        self.containers().into_iter().find(|c| c.name == name)
    }

    /// The selected container's main process, if it is running.
    fn selected_running(&self) -> Option<(String, ProcessRef)> {
        let c = self.selected_container()?;
        match (&c.state, c.process) {
            (ContainerState::Running { .. }, Some(p)) => Some((c.name.clone(), p)),
            _ => None,
        }
    }

    /// Whether an action can be taken now (the hint bar leaves out what cannot).
    pub fn enabled(&self, action: Action) -> bool {
        match action {
            // With autoplay the same key pauses and resumes.
            Action::NextStep if self.autoplay.is_some() => true,
            Action::NextStep => {
                self.can_step()
                    && self.activity == Activity::Idle
                    && self.script_done < self.script.steps.len()
            }
            Action::Shell | Action::Signal => self.has_pod() && self.selected_running().is_some(),
            Action::Logs => self.has_pod() && self.selected.is_some(),
            Action::Describe => self.observed.as_ref().is_some_and(|o| o.state.is_some()),
            Action::Restart => self.has_pod() && self.activity != Activity::Deleting,
            Action::SelectUp | Action::SelectDown => !self.containers().is_empty(),
            // The lesson player's own keys: the explorer has no hints, commands, notes or
            // manifest of the learner's.
            Action::Hint
            | Action::Explorer
            | Action::TryLine
            | Action::RunLine
            | Action::CopyLine
            | Action::Notes
            | Action::EditManifest => false,
            _ => true,
        }
    }

    /// When the loop must wake up even if nothing arrives.
    pub fn next_deadline(&self, now: Instant) -> Option<Instant> {
        let clock = match self.activity {
            Activity::Stepping { since } => {
                let elapsed = now.saturating_duration_since(since);
                Some(now + (Duration::from_secs(elapsed.as_secs() + 1) - elapsed))
            }
            _ => None,
        };
        let hold = self.autoplay.as_ref().and_then(|a| a.deadline());
        [
            self.highlights.next_deadline(),
            self.evidence.next_deadline(),
            clock,
            hold,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    pub fn handle(&mut self, event: Event, now: Instant) -> Update {
        let viewing = self.viewing;
        let mut up = self.dispatch(event, now);
        if self.viewing != viewing {
            // Another step's text starts at its top.
            self.scroll[Focus::Narration.index()] = 0;
        }
        self.autoplay_pass(now, &mut up);
        up
    }

    fn dispatch(&mut self, event: Event, now: Instant) -> Update {
        let mut up = Update {
            redraw: true,
            effects: Vec::new(),
        };
        match event {
            Event::Key(key) if key.kind == KeyEventKind::Release => up.redraw = false,
            Event::Key(key) => self.key(key, now, &mut up),
            Event::Resize => {}
            // The explorer has no lesson (and so no try: line or manifest of the learner's).
            Event::Lesson(_) | Event::LineDone { .. } | Event::Edited { .. } => up.redraw = false,
            Event::Observed(obs) => self.observed(*obs, now, &mut up),
            Event::Engine(reply) => self.engine(reply, now, &mut up),
            Event::Logs { container, text } => {
                if let Some(Popup::Logs {
                    container: shown,
                    text: old,
                    ..
                }) = &mut self.popup
                {
                    if *shown == container {
                        up.redraw = *old != text;
                        *old = text;
                    }
                }
            }
            Event::ShellDone { container, result } => match result {
                Ok(code) => self.info(format!(
                    "{} {container}: {} {code}",
                    tr(self.lang, "shell in", "容器内 shell"),
                    tr(self.lang, "exit status", "退出码")
                )),
                Err(e) => self.error(e),
            },
            Event::Resized { container, result } => match result {
                Ok(None) => self.info(format!(
                    "{} {container}: {}",
                    tr(self.lang, "resized", "已调整"),
                    tr(
                        self.lang,
                        "see its cgroup, same PID",
                        "看它的 cgroup，PID 不变"
                    )
                )),
                Ok(Some(condition)) => self.error(condition),
                Err(e) => self.error(e),
            },
            Event::SignalSent {
                container,
                signal,
                delivered,
            } => {
                if delivered {
                    self.info(format!(
                        "{} {} → {container}",
                        tr(self.lang, "sent", "已发送"),
                        signal.as_str()
                    ));
                } else {
                    self.error(format!(
                        "{} {} {container}: {}",
                        signal.as_str(),
                        tr(self.lang, "not delivered to", "未能发送给"),
                        tr(self.lang, "its process is gone", "它的进程已不存在")
                    ));
                }
            }
            Event::Terminate => {
                self.exiting = true;
                up.effects.push(Effect::Exit);
            }
            Event::Tick => {
                let expired = self.highlights.expire(now) | self.evidence.expire(now);
                up.redraw = expired || matches!(self.activity, Activity::Stepping { .. });
            }
        }
        up
    }

    pub(super) fn set_run_until(&mut self, until: Option<usize>) {
        self.run_until = until;
    }

    pub(super) fn info(&mut self, text: String) {
        self.status = Some((StatusKind::Info, text));
    }

    pub(super) fn error(&mut self, text: String) {
        self.status = Some((StatusKind::Error, text));
    }

    fn observed(&mut self, obs: Observation, now: Instant, up: &mut Update) {
        self.highlights
            .note_changes(self.observed.as_ref(), &obs, now);
        self.observed = Some(obs);
        let names: Vec<String> = self.containers().iter().map(|c| c.name.clone()).collect();
        if self.selected.as_ref().is_none_or(|s| !names.contains(s)) {
            // Prefer the first app container once there is one.
            let first_app = self
                .containers()
                .iter()
                .find(|c| c.kind == crate::kube::pod_state::ContainerKind::App)
                .map(|c| c.name.clone());
            self.selected = first_app.or_else(|| names.first().cloned());
        }
        if let (Some(Popup::Logs { container, .. }), Some(uid)) = (&self.popup, self.uid()) {
            up.effects.push(Effect::ReadLogs {
                uid: uid.to_string(),
                container: container.clone(),
            });
        }
        self.step_forward(now, up);
    }

    fn engine(&mut self, reply: EngineReply, now: Instant, up: &mut Update) {
        match reply {
            EngineReply::StepDone { next } => {
                self.awaiting_step = false;
                self.engine_done = next;
                self.step_forward(now, up);
            }
            EngineReply::StepFailed(message) => {
                self.awaiting_step = false;
                self.activity = Activity::Idle;
                self.run_until = None;
                // Autoplay stops at a failure instead of trying again and again.
                if let Some(a) = &mut self.autoplay {
                    a.pause();
                }
                self.error(message);
            }
            EngineReply::Restarted {
                uid,
                name,
                plan,
                next,
            } => {
                self.session = Session::Pod { uid, name };
                self.script = Script::from_plan(&plan);
                self.engine_done = next;
                self.script_done = self.script.done_for_engine(next);
                self.viewing = self.script_done;
                self.run_until = None;
                self.awaiting_step = false;
                self.activity = Activity::Idle;
                self.observed = None;
                self.selected = None;
                self.highlights.clear();
                self.scroll = [0; 6];
                self.info(
                    tr(
                        self.lang,
                        "the pod was deleted and is built again from step 1",
                        "Pod 已删除，正从第 1 步重新创建",
                    )
                    .to_string(),
                );
            }
            EngineReply::RestartFailed(message) => {
                self.activity = Activity::Idle;
                self.error(message);
            }
            EngineReply::Deleted | EngineReply::DeleteFailed(_) => {
                if let EngineReply::DeleteFailed(message) = reply {
                    self.error(message);
                }
                self.exiting = true;
                up.effects.push(Effect::Exit);
            }
        }
    }

    /// Move through script steps until `run_until` is reached, asking the engine for each
    /// engine step a script step needs.
    pub(super) fn step_forward(&mut self, now: Instant, up: &mut Update) {
        let Some(until) = self.run_until else { return };
        let following = self.viewing == self.script_done;
        while self.script_done < until.min(self.script.steps.len()) {
            let step = &self.script.steps[self.script_done];
            if self.engine_done < step.engine_steps {
                if !self.awaiting_step {
                    up.effects.push(Effect::Engine(EngineCmd::Next));
                    self.awaiting_step = true;
                }
                if !matches!(self.activity, Activity::Stepping { .. }) {
                    self.activity = Activity::Stepping { since: now };
                }
                return;
            }
            let failing = self.observed.as_ref().and_then(|o| {
                step.checks
                    .iter()
                    .find(|c| !c.passed(o))
                    .map(|c| c.describe().get(self.lang).to_string())
            });
            if let Some(what) = failing
                .or_else(|| (self.observed.is_none() && !step.checks.is_empty()).then(String::new))
            {
                self.info(format!("{}: {what}", tr(self.lang, "waiting", "等待")));
                self.activity = Activity::Idle;
                return;
            }
            self.script_done += 1;
            if following {
                self.viewing = self.script_done;
            }
        }
        self.run_until = None;
        self.activity = Activity::Idle;
    }
}
