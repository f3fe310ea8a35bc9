//! The lesson player's classroom features without a machine to build pods on: the lesson
//! thread's replies are given by hand (or by a fake thread) with the demo pod's observations.
//! Autoplay takes a step only after its action is done and its check passed, then holds; a
//! failed step pauses it; Space pauses and resumes; a recording has a marker per lesson step;
//! a lesson's trace replays the same screens in the lesson player; presenter mode.

use std::path::PathBuf;
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use podlab::i18n::{Lang, Text};
use podlab::lesson::{load_lesson, ActionOutcome, CheckResult, Lesson};
use podlab::tui::autoplay::AutoplaySettings;
use podlab::tui::demo;
use podlab::tui::event::{Effect, Event, LessonCmd, LessonReply};
use podlab::tui::event_loop::{RunOptions, Watch};
use podlab::tui::lesson_player::{Player, StepState};
use podlab::tui::lesson_replay::{replay_player, LessonReplayHost};
use podlab::tui::record::backend::FixedBackend;
use podlab::tui::record::cast::{CastHeader, CastWriter, StepMarkers};
use podlab::tui::record::trace::{Trace, TraceRecorder};
use podlab::tui::{run_with, Host};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::layout::Size;
use ratatui::Terminal;

use crate::common;

use common::screen::{player_screen, without_bars};

const UID: &str = "0f3c2a9e-1111-4222-8333-444455556666";

fn lesson_03() -> Lesson {
    // Lesson 03 as it was, frozen: these tests take its steps by index.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lessons/sharing-schema1.yaml");
    load_lesson(&path).unwrap_or_else(|e| panic!("lesson 03 does not load: {e}"))
}

fn pods() -> Vec<(String, String)> {
    vec![("web-sidecar".to_string(), UID.to_string())]
}

fn hold(ms: u64, quit_at_end: bool) -> AutoplaySettings {
    AutoplaySettings {
        speed: 1.0,
        hold: Some(Duration::from_millis(ms)),
        quit_at_end,
    }
}

fn cmds(effects: &[Effect]) -> Vec<LessonCmd> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Lesson(cmd) => Some(cmd.clone()),
            _ => None,
        })
        .collect()
}

fn key(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn tick() -> Event {
    Event::Tick
}

fn reply(r: LessonReply) -> Event {
    Event::Lesson(r)
}

fn performed(index: usize) -> Event {
    reply(LessonReply::Performed {
        index,
        result: Ok(ActionOutcome {
            summary: Text::new(format!("action {index} done"), format!("动作 {index} 完成")),
            output: String::new(),
        }),
        pods: pods(),
    })
}

fn checked(index: usize, passed: bool) -> Event {
    let result = if passed {
        CheckResult::pass(
            format!("check {index} passed"),
            format!("检查 {index} 通过"),
        )
    } else {
        CheckResult::fail("not yet", "还没有")
    };
    reply(LessonReply::Checked {
        index,
        result,
        pods: pods(),
    })
}

/// A player that resumed with nothing done, autoplaying with `settings` from `t0`.
fn autoplaying(settings: AutoplaySettings, t0: Instant) -> Player {
    let mut player = Player::new(lesson_03(), true, Lang::En);
    player.enable_autoplay(settings, t0);
    player.handle(
        reply(LessonReply::Resumed {
            outcomes: Vec::new(),
            first_undone: 0,
            pods: pods(),
        }),
        t0,
    );
    player
}

#[test]
fn autoplay_waits_for_the_action_and_the_passing_check_then_holds() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut player = autoplaying(hold(1000, false), t0);
    // Step 1's text is held first.
    assert_eq!(
        player.next_deadline(t0).map(|d| d - t0),
        Some(Duration::from_secs(1))
    );
    assert!(cmds(&player.handle(tick(), at(999)).effects).is_empty());
    assert_eq!(
        cmds(&player.handle(tick(), at(1000)).effects),
        vec![LessonCmd::Perform(0)]
    );
    // However long the action and the check take, nothing more is asked for.
    for ms in [2000, 10_000, 60_000] {
        assert!(cmds(&player.handle(tick(), at(ms)).effects).is_empty());
    }
    assert_eq!(
        cmds(&player.handle(performed(0), at(61_000)).effects),
        vec![LessonCmd::Poll(0)]
    );
    // A failing evaluation is polled again; autoplay does not move on.
    assert!(cmds(&player.handle(checked(0, false), at(61_100)).effects).is_empty());
    for ms in [61_200, 62_000, 65_000] {
        let effects = cmds(&player.handle(tick(), at(ms)).effects);
        assert!(
            !effects.contains(&LessonCmd::Perform(1)),
            "{effects:?} at {ms}"
        );
    }
    let up = player.handle(checked(0, true), at(65_100));
    assert_eq!(cmds(&up.effects), vec![LessonCmd::Complete(0)]);
    player.handle(
        reply(LessonReply::Completed {
            index: 0,
            result: Ok(()),
        }),
        at(65_200),
    );
    assert_eq!(player.current, 1);
    // Held from the moment it passed, then the next step.
    assert!(cmds(&player.handle(tick(), at(66_100)).effects).is_empty());
    assert_eq!(
        cmds(&player.handle(tick(), at(66_200)).effects),
        vec![LessonCmd::Perform(1)]
    );
}

#[test]
fn a_failed_step_pauses_autoplay_and_space_resumes_it() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut player = autoplaying(hold(100, false), t0);
    assert_eq!(
        cmds(&player.handle(tick(), at(100)).effects),
        vec![LessonCmd::Perform(0)]
    );
    player.handle(
        reply(LessonReply::Performed {
            index: 0,
            result: Err("the pod could not start".into()),
            pods: pods(),
        }),
        at(200),
    );
    assert!(matches!(player.steps[0].state, StepState::Failed(_)));
    assert!(player.autoplay.as_ref().is_some_and(|a| a.paused));
    assert!(cmds(&player.handle(tick(), at(10_000)).effects).is_empty());
    // Space resumes: a full hold, then the step again.
    assert!(cmds(&player.handle(key(KeyCode::Char(' ')), at(10_000)).effects).is_empty());
    assert!(player.autoplay.as_ref().is_some_and(|a| !a.paused));
    player.handle(tick(), at(10_001));
    assert_eq!(
        cmds(&player.handle(tick(), at(10_101)).effects),
        vec![LessonCmd::Perform(0)]
    );
}

#[test]
fn an_unattended_run_ends_at_a_failed_step_and_says_which() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut player = autoplaying(hold(100, true), t0);
    player.handle(tick(), at(100));
    player.handle(performed(0), at(200));
    let up = player.handle(checked(0, false), at(60_000));
    assert_eq!(cmds(&up.effects), vec![LessonCmd::Finish]);
    let failure = player.failure.clone().unwrap_or_default();
    let id = &player.lesson.steps()[0].id;
    assert!(
        failure.starts_with(&format!("step 1 ({id}) failed: not seen within")),
        "{failure}"
    );
}

#[test]
fn space_pauses_and_arrows_still_read_other_steps() {
    let t0 = Instant::now();
    let at = |ms: u64| t0 + Duration::from_millis(ms);
    let mut player = autoplaying(hold(1000, false), t0);
    player.handle(key(KeyCode::Char(' ')), at(10));
    assert!(player.autoplay.as_ref().is_some_and(|a| a.paused));
    assert!(cmds(&player.handle(tick(), at(5000)).effects).is_empty());
    player.handle(key(KeyCode::Right), at(5000));
    assert_eq!(player.viewing(), 1);
    player.handle(key(KeyCode::Left), at(5000));
    assert_eq!(player.viewing(), 0);
    let text = player_screen(&player, 80, 24, at(5000));
    assert!(text.contains("paused"), "{text}");
    assert!(
        text.contains("play"),
        "the hint bar offers to play again:\n{text}"
    );
    player.handle(key(KeyCode::Char(' ')), at(6000));
    player.handle(tick(), at(6001));
    assert!(cmds(&player.handle(tick(), at(6999)).effects).is_empty());
    assert_eq!(
        cmds(&player.handle(tick(), at(7001)).effects),
        vec![LessonCmd::Perform(0)]
    );
}

/// A fake lesson thread: every action is done and every check passes some time later, with
/// the demo pod's observation after each step; it logs what it was asked, in order.
struct FakeLesson {
    tx: Sender<Event>,
    log: Arc<Mutex<Vec<String>>>,
    steps: usize,
}

impl Host for FakeLesson {
    fn lesson(&mut self, cmd: LessonCmd) {
        // The steps' sequence; filling try: lines and hint conditions come beside it.
        let aside = matches!(cmd, LessonCmd::FillTry(_) | LessonCmd::HintConditions(_));
        if let (false, Ok(mut l)) = (aside, self.log.lock()) {
            l.push(format!("{cmd:?}"));
        }
        let pod = demo::pod(demo::TWO_CONTAINERS);
        let last = demo::plan(&pod).len();
        let events = match cmd {
            LessonCmd::Resume { .. } => vec![reply(LessonReply::Resumed {
                outcomes: Vec::new(),
                first_undone: 0,
                pods: pods(),
            })],
            LessonCmd::Perform(i) => vec![
                performed(i),
                Event::Observed(Box::new(demo::observation(&pod, (i + 1).min(last)))),
            ],
            LessonCmd::Poll(i) => vec![checked(i, true)],
            LessonCmd::Complete(i) => vec![reply(LessonReply::Completed {
                index: i,
                result: Ok(()),
            })],
            LessonCmd::Finish => vec![reply(LessonReply::Finished(Ok(())))],
            LessonCmd::FillTry(index) => vec![reply(LessonReply::Filled {
                index,
                lines: Vec::new(),
            })],
            LessonCmd::HintConditions(index) => vec![reply(LessonReply::HintConditions {
                index,
                holding: Vec::new(),
            })],
            // Lesson 03 has no tasks or questions.
            other => panic!("not asked of a lesson without tasks or questions: {other:?}"),
        };
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            for e in events {
                let _ = tx.send(e);
            }
        });
        let _ = self.steps;
    }

    fn observe(&mut self, _target: podlab::observe::Target) {}

    fn run_shell(&mut self, _: &str, _: &str, _: &[String]) -> eyre::Result<i32> {
        Ok(0)
    }
}

/// Play lesson 03 to the end with the fake lesson thread; returns what it was asked.
fn play_through<B: ratatui::backend::Backend>(
    terminal: &mut Terminal<B>,
    player: &mut Player,
    watches: Vec<&mut dyn Watch<Player>>,
) -> Vec<String>
where
    B::Error: Send + Sync + 'static,
{
    let (tx, rx) = mpsc::channel();
    let log = Arc::new(Mutex::new(Vec::new()));
    let mut host = FakeLesson {
        tx: tx.clone(),
        log: Arc::clone(&log),
        steps: player.steps.len(),
    };
    run_with(
        terminal,
        player,
        &rx,
        &tx,
        &mut host,
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
fn autoplay_runs_the_real_loop_one_step_at_a_time_and_quits_at_the_end() {
    let mut player = Player::new(lesson_03(), true, Lang::En);
    player.enable_autoplay(hold(10, true), Instant::now());
    let mut terminal = Terminal::new(TestBackend::new(100, 30)).expect("terminal");
    let log = play_through(&mut terminal, &mut player, Vec::new());
    let mut expected = vec!["Resume { restart: true }".to_string()];
    for i in 0..player.steps.len() {
        expected.push(format!("Perform({i})"));
        expected.push(format!("Poll({i})"));
        expected.push(format!("Complete({i})"));
    }
    expected.push("Finish".into());
    assert_eq!(log, expected);
    assert_eq!(player.done_count(), player.steps.len());
}

#[test]
fn a_lesson_recording_has_a_marker_per_step_with_its_id_and_title() {
    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Sink {
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
    let sink = Sink::default();
    let header = CastHeader::new(100, 30, "podlab lesson 03-sharing");
    let cast = Arc::new(Mutex::new(
        CastWriter::new(Box::new(sink.clone()), &header, "test.cast").expect("cast"),
    ));
    let backend = FixedBackend::new(
        std::io::sink(),
        Some(Size::new(100, 30)),
        Some(Arc::clone(&cast)),
    )
    .expect("backend");
    let mut terminal = Terminal::new(backend).expect("terminal");
    let mut player = Player::new(lesson_03(), true, Lang::En);
    player.enable_autoplay(hold(10, true), Instant::now());
    let mut markers = StepMarkers::new(cast);
    play_through(&mut terminal, &mut player, vec![&mut markers]);
    let text = String::from_utf8_lossy(&sink.0.lock().expect("lock")).into_owned();
    let markers: Vec<String> = text
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<(f64, String, String)>(l).ok())
        .filter(|(_, kind, _)| kind == "m")
        .map(|(_, _, label)| label)
        .collect();
    let steps = player.lesson.steps();
    assert_eq!(markers.len(), steps.len() + 1, "{markers:?}");
    for (i, step) in steps.iter().enumerate() {
        assert_eq!(
            markers[i],
            format!("{} {}: {}", i + 1, step.id, step.title.en),
            "{markers:?}"
        );
    }
}

#[test]
fn a_lesson_trace_replays_the_lesson_players_screens() {
    let t0 = Instant::now();
    let pod = demo::pod(demo::TWO_CONTAINERS);
    let last = demo::plan(&pod).len();
    let mut player = Player::new(lesson_03(), true, Lang::En);
    player.handle(
        reply(LessonReply::Resumed {
            outcomes: Vec::new(),
            first_undone: 0,
            pods: pods(),
        }),
        t0,
    );
    let out = tempfile::NamedTempFile::new().expect("a file for the trace");
    let file = out.reopen().expect("reopen the trace");
    let mut recorder =
        TraceRecorder::new_lesson(Box::new(file), &player, "podlab lesson 03-sharing", "test")
            .expect("trace");
    let steps = player.steps.len();
    let mut live = vec![player_screen(&player, 160, 48, t0)];
    let mut feed = |player: &mut Player, e: Event, now: Instant| {
        let up = player.handle(e, now);
        recorder.handled(player).expect("record");
        up
    };
    for i in 0..steps {
        let now = t0 + Duration::from_secs(10 * (i as u64 + 1));
        feed(&mut player, key(KeyCode::Char(' ')), now);
        // While the step runs, observations still show the previous step.
        feed(
            &mut player,
            Event::Observed(Box::new(demo::observation(&pod, i.min(last)))),
            now,
        );
        feed(&mut player, performed(i), now);
        feed(
            &mut player,
            Event::Observed(Box::new(demo::observation(&pod, (i + 1).min(last)))),
            now,
        );
        feed(&mut player, checked(i, true), now);
        feed(
            &mut player,
            reply(LessonReply::Completed {
                index: i,
                result: Ok(()),
            }),
            now,
        );
        live.push(player_screen(&player, 160, 48, now));
    }
    recorder.finish(&player).expect("finish");

    let trace = Trace::load(out.path()).expect("the trace reads back");
    assert_eq!(trace.steps(), steps);
    let lesson = trace.header.lesson.as_ref().expect("a lesson trace");
    assert_eq!(lesson.id, "03-sharing");
    for done in 1..=steps {
        let result = trace.result(done).expect("each step's result");
        assert_eq!(
            result.check.as_ref().map(|c| c.message.en.clone()),
            Some(format!("check {} passed", done - 1))
        );
    }
    let (tx, rx) = mpsc::channel();
    let mut host = LessonReplayHost::new(trace.clone(), tx);
    let mut replayed = replay_player(&trace, "test", Lang::En, t0).expect("a lesson trace");
    replayed.handle(
        reply(LessonReply::Resumed {
            outcomes: Vec::new(),
            first_undone: 0,
            pods: pods(),
        }),
        t0,
    );
    let first = player_screen(&replayed, 160, 48, t0);
    assert!(
        first.lines().next().is_some_and(|l| l.contains("replay")),
        "{first}"
    );
    for (i, live_screen) in live.iter().enumerate().skip(1) {
        let now = t0 + Duration::from_secs(10 * i as u64);
        let mut effects = replayed.handle(key(KeyCode::Char(' ')), now).effects;
        loop {
            for effect in effects.drain(..) {
                if let Effect::Lesson(cmd) = effect {
                    host.lesson(cmd);
                }
            }
            match rx.try_recv() {
                Ok(event) => effects = replayed.handle(event, now).effects,
                Err(_) => break,
            }
        }
        assert_eq!(replayed.current, i);
        assert_eq!(
            without_bars(&player_screen(&replayed, 160, 48, now)),
            without_bars(live_screen),
            "step {i}"
        );
    }
    // Nothing live can be done in a replay; it says why.
    replayed.handle(key(KeyCode::Char('s')), t0);
    assert!(replayed
        .app
        .status
        .as_ref()
        .is_some_and(|(_, t)| t.contains("replay")));
}

#[test]
fn presenter_mode_puts_the_step_counter_first_and_holds_changes_longer() {
    let now = Instant::now();
    let mut player = autoplaying(hold(1000, false), now);
    player.app.set_presenter();
    let text = player_screen(&player, 100, 30, now);
    let total = player.steps.len();
    assert!(text.starts_with(&format!(" Step 1 / {total} ")), "{text}");
    assert!(text.contains("autoplay"), "{text}");
    assert!(player.app.no_color || player.app.theme == podlab::tui::theme::ThemeKind::HighContrast);
}
