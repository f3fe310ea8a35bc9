//! The player's classroom features on the demo pod (fixed data, no root): autoplay waits for
//! each step (engine answer and checks) before holding and taking the next; a recording is
//! valid asciicast v2 with a marker per step and plays in asciinema; a trace replays the same
//! screens as the live run; presenter mode's screens.

use std::io::Write;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use podlab::i18n::{Lang, Text};
use podlab::tui::app::{Activity, App, Session};
use podlab::tui::autoplay::AutoplaySettings;
use podlab::tui::demo;
use podlab::tui::event::{Effect, EngineCmd, EngineReply, Event};
use podlab::tui::event_loop::{self, RunOptions, Watch};
use podlab::tui::host::Host;
use podlab::tui::observed::Observation;
use podlab::tui::record::backend::FixedBackend;
use podlab::tui::record::cast::{CastHeader, CastWriter, StepMarkers};
use podlab::tui::record::trace::{Trace, TraceRecorder};
use podlab::tui::replay::{replay_app, ReplayHost};
use podlab::tui::script::{Script, StepCheck};
use ratatui::backend::{Backend, TestBackend};
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Size;
use ratatui::Terminal;

use crate::common;

use common::screen::{app_screen, without_bars};

/// The panels and narration (see `without_bars`), PIDs and ages hidden.
fn body(text: &str) -> String {
    without_digits(&without_bars(text))
}

fn settings(hold_ms: u64) -> AutoplaySettings {
    AutoplaySettings {
        speed: 1.0,
        hold: Some(Duration::from_millis(hold_ms)),
        quit_at_end: false,
    }
}

fn press(app: &mut App, code: KeyCode, now: Instant) -> Vec<Effect> {
    app.handle(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)), now)
        .effects
}

fn tick(app: &mut App, now: Instant) -> Vec<Effect> {
    app.handle(Event::Tick, now).effects
}

const NEXT: Effect = Effect::Engine(EngineCmd::Next);

#[test]
fn autoplay_takes_a_step_only_after_the_previous_one_is_done_and_held() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, t0);
    app.enable_autoplay(settings(1000), t0);
    // The first screen is held before anything runs.
    assert_eq!(app.next_deadline(t0), Some(at(1000)));
    assert!(tick(&mut app, at(999)).is_empty());
    assert_eq!(tick(&mut app, at(1000)), vec![NEXT]);
    // However long the step takes, nothing else is asked for until it is done.
    for ms in [2000, 5000, 60_000] {
        assert!(tick(&mut app, at(ms)).is_empty());
        let up = app.handle(
            Event::Observed(Box::new(demo::observation(&pod, 0))),
            at(ms),
        );
        assert!(up.effects.is_empty());
    }
    let up = app.handle(Event::Engine(EngineReply::StepDone { next: 1 }), at(61_000));
    assert!(up.effects.is_empty(), "the screen is held first");
    assert_eq!(app.script_done, 1);
    assert!(tick(&mut app, at(61_500)).is_empty());
    assert_eq!(tick(&mut app, at(62_000)), vec![NEXT]);
}

/// Passes once the pod's cgroup exists (what step 1 makes).
struct CgroupMade;

impl StepCheck for CgroupMade {
    fn describe(&self) -> Text {
        Text::new("the pod's cgroup exists", "Pod 的 cgroup 已存在")
    }
    fn passed(&self, observed: &Observation) -> bool {
        observed
            .state
            .as_ref()
            .is_some_and(|s| !s.cgroup.is_empty())
    }
}

#[test]
fn autoplay_waits_for_a_steps_checks() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let mut script = Script::from_plan(&demo::plan(&pod));
    script.steps[0].checks = vec![Arc::new(CgroupMade)];
    let mut app = App::new(
        Session::Pod {
            uid: demo::UID.into(),
            name: "two-containers".into(),
        },
        script,
        0,
        Lang::En,
    );
    app.handle(Event::Observed(Box::new(demo::observation(&pod, 0))), t0);
    app.enable_autoplay(settings(100), t0);
    assert_eq!(tick(&mut app, at(100)), vec![NEXT]);
    app.handle(Event::Engine(EngineReply::StepDone { next: 1 }), at(200));
    // The engine is done but the check does not pass on what is observed: wait, say why.
    for ms in [300, 1000, 10_000] {
        assert!(tick(&mut app, at(ms)).is_empty());
        let up = app.handle(
            Event::Observed(Box::new(demo::observation(&pod, 0))),
            at(ms),
        );
        assert!(up.effects.is_empty());
        assert_eq!(app.script_done, 0);
    }
    assert!(app
        .status
        .as_ref()
        .is_some_and(|(_, t)| t.contains("the pod's cgroup exists")));
    app.handle(
        Event::Observed(Box::new(demo::observation(&pod, 1))),
        at(10_100),
    );
    assert_eq!(app.script_done, 1);
    assert!(tick(&mut app, at(10_150)).is_empty());
    assert_eq!(tick(&mut app, at(10_200)), vec![NEXT]);
}

#[test]
fn space_pauses_and_resumes_autoplay_and_arrows_still_read() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut app = demo::app(demo::TWO_CONTAINERS, 2, Lang::En, t0);
    app.enable_autoplay(settings(1000), t0);
    assert!(press(&mut app, KeyCode::Char(' '), at(10)).is_empty());
    assert!(app.autoplay.as_ref().is_some_and(|a| a.paused));
    assert_eq!(app.autoplay.as_ref().and_then(|a| a.deadline()), None);
    assert!(tick(&mut app, at(5000)).is_empty());
    press(&mut app, KeyCode::Left, at(5000));
    assert_eq!((app.script_done, app.viewing), (2, 1));
    press(&mut app, KeyCode::Right, at(5000));
    // Resumed: a full hold from now, then the next step.
    assert!(press(&mut app, KeyCode::Char(' '), at(6000)).is_empty());
    assert!(tick(&mut app, at(6999)).is_empty());
    assert_eq!(tick(&mut app, at(7000)), vec![NEXT]);
    let text = app_screen(&app, 80, 24, at(7000));
    assert!(text.contains("autoplay"), "{text}");
}

#[test]
fn default_hold_grows_with_the_text_and_shrinks_with_speed() {
    use podlab::tui::autoplay::reading_time;
    let short = reading_time("Pod cgroup");
    let long = reading_time(&"a namespace is a view of the kernel ".repeat(10));
    assert!(short < long);
    assert!(short >= Duration::from_secs(3));
    let t0 = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, t0);
    app.enable_autoplay(AutoplaySettings::default(), t0);
    let normal = app.next_deadline(t0).expect("held");
    let mut fast = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, t0);
    fast.enable_autoplay(
        AutoplaySettings {
            speed: 4.0,
            ..AutoplaySettings::default()
        },
        t0,
    );
    let quick = fast.next_deadline(t0).expect("held");
    assert!(quick - t0 < normal - t0);
}

/// A fake engine: it answers each step some time later, from another thread, with the demo
/// pod's next observation, and logs what happened in order.
struct SlowEngine {
    tx: Sender<Event>,
    done: usize,
    log: Arc<Mutex<Vec<String>>>,
}

impl SlowEngine {
    fn log(&self, what: String) {
        if let Ok(mut l) = self.log.lock() {
            l.push(what);
        }
    }
}

impl Host for SlowEngine {
    fn run_shell(&mut self, _: &str, _: &str, _: &[String]) -> eyre::Result<i32> {
        Ok(0)
    }

    fn engine(&mut self, cmd: EngineCmd) {
        self.log(format!("{cmd:?}"));
        let tx = self.tx.clone();
        let log = Arc::clone(&self.log);
        let reply = match cmd {
            EngineCmd::Next => {
                self.done += 1;
                let done = self.done;
                let obs = demo::observation(&demo::pod(demo::TWO_CONTAINERS), done);
                vec![
                    Event::Engine(EngineReply::StepDone { next: done }),
                    Event::Observed(Box::new(obs)),
                ]
            }
            EngineCmd::Delete { .. } => vec![Event::Engine(EngineReply::Deleted)],
            EngineCmd::Restart => vec![],
        };
        let done = self.done;
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(40));
            if let Ok(mut l) = log.lock() {
                l.push(format!("done {done}"));
            }
            for r in reply {
                let _ = tx.send(r);
            }
        });
    }
}

fn autoplayed_app(hold_ms: u64) -> App {
    let now = Instant::now();
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, now);
    app.enable_autoplay(
        AutoplaySettings {
            speed: 1.0,
            hold: Some(Duration::from_millis(hold_ms)),
            quit_at_end: true,
        },
        now,
    );
    app
}

fn play<B: Backend>(
    terminal: &mut Terminal<B>,
    app: &mut App,
    watches: Vec<&mut dyn Watch<App>>,
) -> Vec<String>
where
    B::Error: Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut engine = SlowEngine {
        tx: tx.clone(),
        done: 0,
        log: Arc::clone(&log),
    };
    event_loop::run_with(
        terminal,
        app,
        &rx,
        &tx,
        &mut engine,
        RunOptions {
            watches,
            clean_start: true,
        },
    )
    .expect("the player ends by itself");
    let log = log.lock().map(|l| l.clone()).unwrap_or_default();
    log
}

#[test]
fn autoplay_runs_the_real_loop_to_the_end_one_step_at_a_time() {
    let mut app = autoplayed_app(20);
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    let log = play(&mut terminal, &mut app, Vec::new());
    let steps = app.script.steps.len();
    // Each request is answered before the next one is made.
    let mut expected = Vec::new();
    for i in 1..=steps {
        expected.push("Next".to_string());
        expected.push(format!("done {i}"));
    }
    expected.push("Delete { grace_seconds: None }".to_string());
    expected.push(format!("done {steps}"));
    assert_eq!(log, expected);
    assert!(app.exiting);
    assert_eq!(app.script_done, steps);
}

/// A writer shared with the test.
#[derive(Clone, Default)]
struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .map_err(|_| std::io::Error::other("poisoned"))?
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Sink {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().map(|b| b.clone()).unwrap_or_default()).into_owned()
    }
}

fn record_demo(size: Size) -> (String, App) {
    let sink = Sink::default();
    let header = CastHeader::new(
        size.width,
        size.height,
        "podlab explore: pod/two-containers",
    );
    let cast = Arc::new(Mutex::new(
        CastWriter::new(Box::new(sink.clone()), &header, "test.cast").expect("cast"),
    ));
    let backend =
        FixedBackend::new(std::io::sink(), Some(size), Some(Arc::clone(&cast))).expect("backend");
    let mut terminal = Terminal::new(backend).expect("terminal");
    let mut app = autoplayed_app(10);
    let mut markers = StepMarkers::new(cast);
    play(&mut terminal, &mut app, vec![&mut markers]);
    (sink.text(), app)
}

#[test]
fn a_recording_is_asciicast_v2_with_a_marker_at_each_step() {
    let (text, app) = record_demo(Size::new(100, 30));
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("header")).expect("header is JSON");
    assert_eq!(header["version"], 2);
    assert_eq!(header["width"], 100);
    assert_eq!(header["height"], 30);
    assert!(header["timestamp"]
        .as_u64()
        .is_some_and(|t| t > 1_600_000_000));
    assert!(header["title"]
        .as_str()
        .is_some_and(|t| t.contains("two-containers")));
    assert!(header["env"]["TERM"].is_string() && header["env"]["SHELL"].is_string());
    let mut last = 0.0;
    let mut outputs = 0;
    let mut markers = Vec::new();
    let mut all_output = String::new();
    for line in lines {
        let (time, kind, data): (f64, String, String) =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad event {line}: {e}"));
        assert!(time >= last, "time goes forward: {line}");
        last = time;
        match kind.as_str() {
            "o" => {
                outputs += 1;
                all_output.push_str(&data);
            }
            "m" => markers.push(data),
            other => panic!("unexpected event type {other}"),
        }
    }
    let steps = app.script.steps.len();
    assert!(outputs > steps, "{outputs} frames");
    // One marker per step shown, then the closing page.
    assert_eq!(markers.len(), steps + 1, "{markers:?}");
    assert!(
        markers[0].starts_with("1 cgroup: Create the pod's cgroup"),
        "{markers:?}"
    );
    assert_eq!(markers[steps], format!("{steps} done"));
    for (i, m) in markers.iter().take(steps).enumerate() {
        assert!(
            m.starts_with(&format!("{} {}: ", i + 1, app.script.steps[i].id)),
            "{m}"
        );
    }
    // The screen was laid out for 100 columns, whatever the real terminal.
    assert!(all_output.starts_with("\u{1b}[?25l\u{1b}[H\u{1b}[2J"));
    assert!(
        !all_output.contains("\u{1b}[31;"),
        "nothing drawn below row 30"
    );
    assert!(all_output.contains("\u{1b}[30;"), "row 30 drawn");
}

#[test]
fn asciinema_plays_the_recording() {
    let (text, _) = record_demo(Size::new(100, 30));
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("demo.cast");
    std::fs::write(&path, &text).expect("write the recording");
    let found = std::process::Command::new("asciinema")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "asciinema is not installed (./scripts/test installs the Debian package asciinema)"
    );
    // `asciinema cat` opens /dev/tty: give it one with script(1).
    let out = std::process::Command::new("script")
        .args([
            "-qec",
            &format!("asciinema cat {}", path.display()),
            "/dev/null",
        ])
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script(1) with asciinema cat");
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "asciinema cat failed: {printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in ["podlab", "pod/two-containers", "Burstable", "Syscalls:"] {
        assert!(printed.contains(expected), "{expected:?} not in: {printed}");
    }
}

/// Digits hidden: PIDs and ages differ between runs of a real pod.
fn without_digits(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .collect()
}

#[test]
fn a_trace_replays_the_screens_of_the_live_run() {
    let t0 = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, t0);
    let sink = Sink::default();
    let mut recorder =
        TraceRecorder::new(Box::new(sink.clone()), &app, "two-containers", "test").expect("trace");
    recorder.handled(&app).expect("record");
    let steps = app.script.steps.len();
    let mut live = vec![app_screen(&app, 160, 48, t0)];
    for k in 1..=steps {
        let now = t0 + Duration::from_secs(10 * k as u64);
        assert_eq!(press(&mut app, KeyCode::Char(' '), now), vec![NEXT]);
        recorder.handled(&app).expect("record");
        // While the step runs, observations still show the previous step.
        app.handle(
            Event::Observed(Box::new(demo::observation(&pod, k - 1))),
            now,
        );
        recorder.handled(&app).expect("record");
        app.handle(Event::Engine(EngineReply::StepDone { next: k }), now);
        recorder.handled(&app).expect("record");
        app.handle(Event::Observed(Box::new(demo::observation(&pod, k))), now);
        recorder.handled(&app).expect("record");
        assert_eq!(app.activity, Activity::Idle);
        live.push(app_screen(&app, 160, 48, now));
    }
    recorder.finish(&app).expect("finish");
    let text = sink.text();
    assert_eq!(
        text.lines().count(),
        steps + 2,
        "a header and one line per step"
    );

    let trace = Trace::read(text.as_bytes(), "test").expect("trace reads back");
    assert_eq!(trace.steps(), steps);
    assert!((0..=steps).all(|k| trace.has_own(k)));
    let (tx, rx) = mpsc::channel();
    let mut host = ReplayHost::new(trace.clone(), tx);
    let mut replayed = replay_app(&trace, "test", Lang::En, t0);
    let first = app_screen(&replayed, 160, 48, t0);
    assert!(
        first.lines().next().is_some_and(|l| l.contains("replay")),
        "{first}"
    );
    assert_eq!(body(&first), body(&live[0]));
    for (k, live_screen) in live.iter().enumerate().skip(1) {
        let now = t0 + Duration::from_secs(10 * k as u64);
        for effect in press(&mut replayed, KeyCode::Char(' '), now) {
            if let Effect::Engine(cmd) = effect {
                host.engine(cmd);
            }
        }
        while let Ok(event) = rx.try_recv() {
            replayed.handle(event, now);
        }
        assert_eq!(replayed.script_done, k);
        assert_eq!(
            body(&app_screen(&replayed, 160, 48, now)),
            body(live_screen),
            "step {k}"
        );
    }
    // Nothing live can be done in a replay; it says why.
    press(&mut replayed, KeyCode::Char('s'), t0);
    assert!(replayed
        .status
        .as_ref()
        .is_some_and(|(_, t)| t.contains("replay")));
}

fn shipped_trace() -> Trace {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("assets/traces/two-containers.trace.jsonl");
    Trace::load(&path).unwrap_or_else(|e| panic!("{e:#}"))
}

#[test]
fn the_shipped_trace_replays_to_the_end() {
    let trace = shipped_trace();
    let steps = trace.steps();
    assert!(steps >= 6, "{steps} steps");
    assert!(
        (0..=steps).all(|k| trace.has_own(k)),
        "an observation per step"
    );
    for lang in [Lang::En, Lang::Zh] {
        let now = Instant::now();
        let mut app = replay_app(&trace, "two-containers.trace.jsonl", lang, now);
        app.enable_autoplay(
            AutoplaySettings {
                speed: 1.0,
                hold: Some(Duration::ZERO),
                quit_at_end: true,
            },
            now,
        );
        let (tx, rx) = mpsc::channel();
        let mut host = ReplayHost::new(trace.clone(), tx.clone());
        let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
        event_loop::run(&mut terminal, &mut app, &rx, &tx, &mut host).expect("replay ends");
        assert_eq!(app.script_done, steps);
        let text = app_screen(&app, 160, 48, now);
        for expected in [
            "pod/two-containers",
            "pause",
            "nginx",
            "sidecar",
            "eth0",
            "10.88.",
        ] {
            assert!(text.contains(expected), "{expected:?} not in:\n{text}");
        }
    }
}

fn check(name: &str, text: String) {
    insta::with_settings!({filters => vec![
        (r"\b4026\d{6}\b", "[INODE]"),
        (r"…\d{4}\b", "…[INO]"),
        (r"\b10\.88\.\d+\.\d+\b", "[IP]"),
    ]}, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn presenter_screens() {
    let now = Instant::now();
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        for (w, h) in [(100u16, 30u16), (160, 48)] {
            let mut app = demo::app(demo::TWO_CONTAINERS, 4, lang, now);
            app.set_presenter();
            check(
                &format!("presenter_step4_{tag}_{w}x{h}"),
                app_screen(&app, w, h, now),
            );
        }
    }
}

#[test]
fn presenter_mode_holds_changes_longer_and_is_high_contrast() {
    let now = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let mut app = demo::app(demo::TWO_CONTAINERS, 4, Lang::En, now);
    app.set_presenter();
    assert!(app.no_color || app.theme == podlab::tui::theme::ThemeKind::HighContrast);
    app.handle(Event::Observed(Box::new(demo::observation(&pod, 5))), now);
    let mark = podlab::tui::observed::Mark::Process(4110);
    assert!(app
        .highlights
        .is_marked(&mark, now + Duration::from_secs(10)));
    let plain = {
        let mut a = demo::app(demo::TWO_CONTAINERS, 4, Lang::En, now);
        a.handle(Event::Observed(Box::new(demo::observation(&pod, 5))), now);
        a
    };
    assert!(!plain
        .highlights
        .is_marked(&mark, now + Duration::from_secs(10)));
    // The step counter leads the title bar.
    let text = app_screen(&app, 100, 30, now);
    assert!(text.starts_with(" Step 5 / 6 "), "{text}");
}

/// The explorer's autoplay holds while the panels are frozen (they would not show the next
/// step), and holds the screen again once they are unfrozen.
#[test]
fn autoplay_waits_while_the_panels_are_frozen() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut app = demo::app(demo::TWO_CONTAINERS, 0, Lang::En, t0);
    app.enable_autoplay(settings(1000), t0);
    press(&mut app, KeyCode::Char('f'), at(500));
    assert!(app.is_frozen());
    for ms in [1000, 5000, 60_000] {
        assert!(tick(&mut app, at(ms)).is_empty());
    }
    press(&mut app, KeyCode::Char('f'), at(60_000));
    assert!(tick(&mut app, at(60_999)).is_empty());
    assert_eq!(tick(&mut app, at(61_000)), vec![NEXT]);
}

/// In a replay, freezing holds the frame: the trace's next observation arrives with the step
/// and is kept for when the panels are unfrozen.
#[test]
fn a_frozen_replay_holds_its_frame() {
    let trace = shipped_trace();
    let now = Instant::now();
    let mut app = replay_app(&trace, "two-containers.trace.jsonl", Lang::En, now);
    let taken =
        |o: Option<&Observation>| o.and_then(|o| o.snapshot.as_ref()).map(|s| s.taken_at_ms);
    let first = taken(app.shown());
    assert!(first.is_some());
    press(&mut app, KeyCode::Char('f'), now);
    let (tx, rx) = mpsc::channel();
    let mut host = ReplayHost::new(trace.clone(), tx);
    assert_eq!(press(&mut app, KeyCode::Char(' '), now), vec![NEXT]);
    host.engine(EngineCmd::Next);
    for event in rx.try_iter() {
        app.handle(event, now);
    }
    assert_eq!(app.engine_done, 1);
    assert_ne!(
        taken(app.observed.as_ref()),
        first,
        "the step's observation arrived"
    );
    assert_eq!(taken(app.shown()), first, "the frame is held");
    press(&mut app, KeyCode::Char('f'), now);
    assert_eq!(taken(app.shown()), taken(app.observed.as_ref()));
}

/// Zoom in presenter mode: the focused panel fills the screen under the step counter.
#[test]
fn presenter_mode_zooms_the_focused_panel() {
    let now = Instant::now();
    for lang in [Lang::En, Lang::Zh] {
        let mut app = demo::app(demo::TWO_CONTAINERS, 4, lang, now);
        app.set_presenter();
        // From the narration to the events: the last panel.
        press(&mut app, KeyCode::BackTab, now);
        press(&mut app, KeyCode::Char('z'), now);
        for (w, h) in [(100u16, 30u16), (160, 48)] {
            let text = app_screen(&app, w, h, now);
            let lines: Vec<&str> = text.lines().collect();
            assert!(lines[0].starts_with(" Step 5 / 6 ") || lines[0].starts_with(" 步骤 5 / 6 "));
            let events = podlab::tui::app::Focus::Events.title().get(lang);
            assert!(lines[1].contains(&format!("[{events}]")), "{text}");
            assert!(lines[h as usize - 3].starts_with('└'), "{text}");
            assert_eq!(text.matches('┌').count(), 1, "{text}");
        }
    }
}

/// The explorer's step checks read the newest observation, not the frozen picture: a step
/// taken while frozen is done once what it made is observed.
#[test]
fn an_explorer_step_is_checked_on_what_arrives_while_frozen() {
    let t0 = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let mut script = Script::from_plan(&demo::plan(&pod));
    script.steps[0].checks = vec![Arc::new(CgroupMade)];
    let mut app = App::new(
        Session::Pod {
            uid: demo::UID.into(),
            name: "two-containers".into(),
        },
        script,
        0,
        Lang::En,
    );
    app.handle(Event::Observed(Box::new(demo::observation(&pod, 0))), t0);
    press(&mut app, KeyCode::Char('f'), t0);
    assert_eq!(press(&mut app, KeyCode::Char(' '), t0), vec![NEXT]);
    app.handle(Event::Engine(EngineReply::StepDone { next: 1 }), t0);
    assert_eq!(app.script_done, 0, "waiting for the check");
    app.handle(Event::Observed(Box::new(demo::observation(&pod, 1))), t0);
    assert_eq!(app.script_done, 1);
    assert_eq!(app.activity, Activity::Idle);
    assert!(app.is_frozen());
    assert!(app
        .shown()
        .and_then(|o| o.state.as_ref())
        .is_some_and(|s| s.cgroup.is_empty()));
}
