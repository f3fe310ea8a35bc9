//! The explorer's behaviour without a real pod: keys and engine answers in, effects out; and
//! the real loop on a TestBackend with a fake host (shell hand-off, engine requests, exit).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;
use podlab::i18n::Lang;
use podlab::tui::app::{Activity, App, Focus, Popup};
use podlab::tui::demo;
use podlab::tui::event::{Effect, EngineCmd, EngineReply, Event};
use podlab::tui::event_loop;
use podlab::tui::host::Host;
use podlab::tui::observed::Mark;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

fn press(app: &mut App, code: KeyCode, now: Instant) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
        .effects
}

#[test]
fn space_runs_the_next_step_and_follows_it() {
    let now = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, now);
    assert_eq!(
        press(&mut app, KeyCode::Char(' '), now),
        vec![Effect::Engine(EngineCmd::Next)]
    );
    assert!(matches!(app.activity, Activity::Stepping { .. }));
    // A second press while the step runs sends nothing.
    assert!(press(&mut app, KeyCode::Enter, now).is_empty());
    // An observation while waiting does not ask again.
    let up = app.handle(Event::Observed(Box::new(demo::observation(&pod, 0))), now);
    assert!(up.effects.is_empty());
    app.handle(Event::Engine(EngineReply::StepDone { next: 1 }), now);
    assert_eq!((app.script_done, app.viewing), (1, 1));
    assert_eq!(app.activity, Activity::Idle);
    // Reading back does not move the steps.
    press(&mut app, KeyCode::Left, now);
    assert_eq!((app.script_done, app.viewing), (1, 0));
    press(&mut app, KeyCode::Right, now);
    press(&mut app, KeyCode::Right, now);
    assert_eq!(app.viewing, 2);
}

#[test]
fn step_n_runs_the_steps_before_it() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, now);
    press(&mut app, KeyCode::Char(':'), now);
    for c in "step 3".chars() {
        press(&mut app, KeyCode::Char(c), now);
    }
    assert_eq!(
        press(&mut app, KeyCode::Enter, now),
        vec![Effect::Engine(EngineCmd::Next)]
    );
    let up = app.handle(Event::Engine(EngineReply::StepDone { next: 1 }), now);
    assert_eq!(up.effects, vec![Effect::Engine(EngineCmd::Next)]);
    let up = app.handle(Event::Engine(EngineReply::StepDone { next: 2 }), now);
    assert!(up.effects.is_empty());
    assert_eq!((app.script_done, app.viewing), (2, 2));
}

#[test]
fn a_failed_step_is_reported_and_stops() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::Zh, now);
    press(&mut app, KeyCode::Char(' '), now);
    app.handle(
        Event::Engine(EngineReply::StepFailed("step cgroup failed: EPERM".into())),
        now,
    );
    assert_eq!(app.activity, Activity::Idle);
    assert!(app
        .status
        .as_ref()
        .is_some_and(|(_, t)| t.contains("EPERM")));
}

#[test]
fn container_actions_become_effects() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 6, Lang::En, now);
    assert_eq!(app.selected.as_deref(), Some("nginx"));
    assert_eq!(
        press(&mut app, KeyCode::Char('s'), now),
        vec![Effect::Shell {
            uid: demo::UID.into(),
            container: "nginx".into(),
            command: vec!["sh".into()],
        }]
    );
    press(&mut app, KeyCode::Down, now);
    press(&mut app, KeyCode::Char('k'), now);
    assert!(matches!(app.popup, Some(Popup::SignalMenu { .. })));
    press(&mut app, KeyCode::Down, now);
    let effects = press(&mut app, KeyCode::Enter, now);
    assert!(
        matches!(&effects[..], [Effect::Signal { container, signal: Signal::SIGKILL, process }]
            if container == "sidecar" && process.pid == 4120),
        "{effects:?}"
    );
    assert!(app.popup.is_none());
    let effects = press(&mut app, KeyCode::Char('l'), now);
    assert_eq!(
        effects,
        vec![Effect::ReadLogs {
            uid: demo::UID.into(),
            container: "sidecar".into()
        }]
    );
    app.handle(
        Event::Logs {
            container: "sidecar".into(),
            text: "hello\n".into(),
        },
        now,
    );
    assert!(matches!(&app.popup, Some(Popup::Logs { text, .. }) if text == "hello\n"));
    press(&mut app, KeyCode::Esc, now);
    press(&mut app, KeyCode::Char('d'), now);
    assert!(matches!(app.popup, Some(Popup::Describe { .. })));
}

#[test]
fn containers_that_are_not_running_cannot_get_a_shell() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 4, Lang::En, now);
    assert!(press(&mut app, KeyCode::Char('s'), now).is_empty());
    assert!(app
        .status
        .as_ref()
        .is_some_and(|(_, t)| t.contains("not running")));
}

#[test]
fn quitting_asks_then_deletes_and_a_second_q_kills_now() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 6, Lang::En, now);
    assert!(press(&mut app, KeyCode::Char('q'), now).is_empty());
    assert_eq!(app.popup, Some(Popup::ConfirmQuit));
    assert!(press(&mut app, KeyCode::Char('n'), now).is_empty());
    assert_eq!(app.popup, None);
    press(&mut app, KeyCode::Char('q'), now);
    assert_eq!(
        press(&mut app, KeyCode::Char('y'), now),
        vec![Effect::Engine(EngineCmd::Delete {
            grace_seconds: None
        })]
    );
    assert_eq!(app.activity, Activity::Deleting);
    assert_eq!(
        press(&mut app, KeyCode::Char('q'), now),
        vec![Effect::KillNow {
            uid: demo::UID.into()
        }]
    );
    let up = app.handle(Event::Engine(EngineReply::Deleted), now);
    assert_eq!(up.effects, vec![Effect::Exit]);
}

#[test]
fn language_theme_focus_and_restart() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 6, Lang::En, now);
    press(&mut app, KeyCode::Char('L'), now);
    assert_eq!(app.lang, Lang::Zh);
    let before = app.theme;
    press(&mut app, KeyCode::Char('t'), now);
    assert!(app.no_color || app.theme != before);
    press(&mut app, KeyCode::Tab, now);
    assert_eq!(app.focus, Focus::Processes);
    press(&mut app, KeyCode::BackTab, now);
    assert_eq!(app.focus, Focus::Narration);
    assert_eq!(
        press(&mut app, KeyCode::Char('r'), now),
        vec![Effect::Engine(EngineCmd::Restart)]
    );
    let pod = demo::pod(demo::TWO_CONTAINERS);
    app.handle(
        Event::Engine(EngineReply::Restarted {
            uid: "new-uid".into(),
            name: "two-containers".into(),
            plan: demo::plan(&pod),
            next: 0,
        }),
        now,
    );
    assert_eq!((app.script_done, app.viewing, app.engine_done), (0, 0, 0));
    assert!(app.observed.is_none());
}

#[test]
fn changes_are_highlighted_for_a_few_seconds() {
    let now = Instant::now();
    let app = demo::app(demo::TWO_CONTAINERS, 5, Lang::En, now);
    // Step 5 started nginx: its process and namespace cells are new.
    assert!(app.highlights.is_marked(&Mark::Process(4110), now));
    assert!(app.highlights.is_marked(
        &Mark::Namespace("nginx".into(), podlab::observe::NsKind::Net),
        now
    ));
    assert!(!app.highlights.is_marked(&Mark::Process(4101), now));
    let later = now + Duration::from_secs(5);
    assert!(!app.highlights.is_marked(&Mark::Process(4110), later));
    assert!(app.next_deadline(now).is_some());
}

/// A host that records what the loop asked of it.
#[derive(Default)]
struct FakeHost {
    shells: Vec<(String, String, Vec<String>)>,
    engine: Vec<EngineCmd>,
}

impl Host for FakeHost {
    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> eyre::Result<i32> {
        self.shells
            .push((uid.into(), container.into(), command.to_vec()));
        Ok(0)
    }

    fn engine(&mut self, cmd: EngineCmd) {
        self.engine.push(cmd);
    }
}

#[test]
fn the_loop_hands_off_the_shell_and_exits_after_delete() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 6, Lang::En, now);
    let mut terminal = Terminal::new(TestBackend::new(80, 24)).expect("terminal");
    let (tx, rx) = mpsc::channel();
    let key = |c| Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE));
    for e in [
        key('s'),
        key('q'),
        key('y'),
        Event::Engine(EngineReply::Deleted),
    ] {
        tx.send(e).expect("send");
    }
    let mut host = FakeHost::default();
    event_loop::run(&mut terminal, &mut app, &rx, &tx, &mut host).expect("loop ends");
    assert_eq!(
        host.shells,
        vec![(demo::UID.into(), "nginx".into(), vec!["sh".into()])]
    );
    assert_eq!(
        host.engine,
        vec![EngineCmd::Delete {
            grace_seconds: None
        }]
    );
    assert!(app.exiting);
}

#[test]
fn the_loop_ends_on_a_signal() {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 2, Lang::Zh, now);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    let (tx, rx) = mpsc::channel();
    tx.send(Event::Terminate).expect("send");
    event_loop::run(&mut terminal, &mut app, &rx, &tx, &mut FakeHost::default())
        .expect("loop ends");
    assert!(app.exiting);
}

/// While an image is pulled, the status line says how far, from the pod's state: layers done of
/// all, bytes fetched (the layer downloading now included) of all, in either language.
#[test]
fn the_status_line_shows_a_pull_underway() {
    use podlab::kube::image::PullProgress;
    let now = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    for (lang, expected) in [
        (Lang::En, "⟳ pulling nginx:1.27: 1/3 layers, 1.5Mi of 4Mi"),
        (Lang::Zh, "⟳ 正在拉取 nginx:1.27: 1/3 层，1.5Mi / 4Mi"),
    ] {
        let mut app = demo::app(demo::TWO_CONTAINERS, 4, lang, now);
        let mut observed = demo::observation(&pod, 4);
        let state = observed.state.as_mut().expect("a pod state");
        let nginx = state
            .containers
            .iter_mut()
            .find(|c| c.name == "nginx")
            .expect("the nginx container");
        nginx.pull = Some(PullProgress {
            layers: 3,
            layers_done: 1,
            bytes: 4 << 20,
            bytes_done: 1 << 20,
            fetching: 512 << 10,
        });
        app.handle(Event::Observed(Box::new(observed)), now);
        let screen = crate::common::screen::app_screen(&app, 160, 48, now);
        assert!(screen.contains(expected), "{screen}");
    }
}
