//! Every shipped trace (assets/traces/, a new one is covered as soon as it is there) replays
//! headless to its end, in English and Chinese, without root: the explorer's in the explorer,
//! a lesson's in the lesson player with every check as it passed when recorded. Every lesson
//! has one. Snapshots of a lesson's replay screen.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use podlab::i18n::Lang;
use podlab::tui::autoplay::AutoplaySettings;
use podlab::tui::event::Event;
use podlab::tui::lesson_player::StepState;
use podlab::tui::lesson_replay::{replay_player, LessonReplayHost};
use podlab::tui::record::trace::{Trace, VERSION};
use podlab::tui::replay::{replay_app, ReplayHost};
use podlab::tui::{event_loop, run, ui};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

use crate::common;

use common::screen::{player_screen, text_of};

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/traces")
}

fn shipped_traces() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_dir())
        .expect("assets/traces")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".trace.jsonl"))
        .collect();
    files.sort();
    files
}

fn play_to_the_end() -> AutoplaySettings {
    AutoplaySettings {
        speed: 1.0,
        hold: Some(Duration::ZERO),
        quit_at_end: true,
    }
}

/// A lesson's trace in the lesson player, played to the end; returns the last screen.
fn replay_lesson(trace: &Trace, name: &str, lang: Lang) -> String {
    let now = Instant::now();
    let mut player = replay_player(trace, name, lang, now).expect("a lesson trace");
    player.enable_autoplay(play_to_the_end(), now);
    let (tx, rx) = mpsc::channel::<Event>();
    let mut host = LessonReplayHost::new(trace.clone(), tx.clone());
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    run(&mut terminal, &mut player, &rx, &tx, &mut host)
        .unwrap_or_else(|e| panic!("{name} ({lang:?}): {e:#}"));
    assert!(player.all_done(), "{name} ({lang:?}) did not reach its end");
    for (i, step) in player.steps.iter().enumerate() {
        assert!(
            matches!(step.state, StepState::Passed(_)),
            "{name} ({lang:?}) step {}: {:?}",
            i + 1,
            step.state
        );
    }
    player_screen(&player, 160, 48, now)
}

/// The explorer's trace, played to the end; returns the last screen.
fn replay_explorer(trace: &Trace, name: &str, lang: Lang) -> String {
    let now = Instant::now();
    let mut app = replay_app(trace, name, lang, now);
    app.enable_autoplay(play_to_the_end(), now);
    let (tx, rx) = mpsc::channel();
    let mut host = ReplayHost::new(trace.clone(), tx.clone());
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    event_loop::run(&mut terminal, &mut app, &rx, &tx, &mut host)
        .unwrap_or_else(|e| panic!("{name} ({lang:?}): {e:#}"));
    assert_eq!(app.script_done, trace.steps(), "{name} ({lang:?})");
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    terminal
        .draw(|f| ui::draw(f, &app, now))
        .expect("draw on the test backend");
    text_of(terminal.backend().buffer())
}

#[test]
fn every_shipped_trace_replays_to_its_end_in_both_languages() {
    let files = shipped_traces();
    assert!(!files.is_empty(), "no traces in {}", traces_dir().display());
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let trace = Trace::load(&file).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(trace.header.version <= VERSION, "{name}");
        assert!(trace.steps() > 0, "{name} has no steps");
        for lang in [Lang::En, Lang::Zh] {
            let last = match &trace.header.lesson {
                Some(lesson) => {
                    let screen = replay_lesson(&trace, &name, lang);
                    assert!(screen.contains(&lesson.id), "{name}:\n{screen}");
                    screen
                }
                None => {
                    let screen = replay_explorer(&trace, &name, lang);
                    assert!(
                        screen.contains(&format!("pod/{}", trace.header.pod)),
                        "{name}:\n{screen}"
                    );
                    screen
                }
            };
            let replay = match lang {
                Lang::En => "replay",
                Lang::Zh => "回放",
            };
            assert!(
                last.lines().next().is_some_and(|l| l.contains(replay)),
                "{name}: the title bar says it is a replay:\n{last}"
            );
        }
    }
}

#[test]
fn every_lesson_has_a_trace_recorded_from_it() {
    let lessons = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
    let files = podlab::lesson::lesson_files(&lessons).expect("the lessons");
    for file in files {
        let lesson = podlab::lesson::load_lesson(&file).unwrap_or_else(|e| panic!("{e}"));
        let number = lesson
            .id()
            .split('-')
            .next()
            .unwrap_or_default()
            .to_string();
        let path = traces_dir().join(format!("lesson-{number}.trace.jsonl"));
        let trace = Trace::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
        let recorded = trace.header.lesson.as_ref().map(|l| l.id.as_str());
        assert_eq!(recorded, Some(lesson.id()), "{}", path.display());
        // Small enough to ship: only what the panels need.
        let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        assert!(size < 400_000, "{} is {size} bytes", path.display());
    }
}

fn check(name: &str, text: String) {
    // What changes when the trace is recorded again: PIDs, inodes, the pod's UID, addresses,
    // and so the padding up to a panel's right border.
    insta::with_settings!({filters => vec![
        (r"--uid [0-9a-f-]+…?", "--uid [UID]"),
        (r"fe80::[0-9a-f:]+…?", "fe80::[LINK-LOCAL]"),
        (r"\d+", "#"),
        (r" +│", " │"),
    ]}, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn a_lesson_replay_screen() {
    let path = traces_dir().join("lesson-01.trace.jsonl");
    let trace = Trace::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let now = Instant::now();
        let mut player = replay_player(&trace, "lesson-01.trace.jsonl", lang, now).expect("lesson");
        let (tx, rx) = mpsc::channel::<Event>();
        let mut host = LessonReplayHost::new(trace.clone(), tx.clone());
        // One step, as Space would take it, then the screen as it stands at step 2 (whose
        // question Space would ask next).
        let mut feed = vec![Event::Lesson(podlab::tui::event::LessonReply::Resumed {
            outcomes: Vec::new(),
            first_undone: 0,
            pods: vec![(trace.header.pod.clone(), String::new())],
        })];
        for _ in 0..1 {
            feed.push(podlab::tui::event::Event::Key(
                ratatui::crossterm::event::KeyEvent::new(
                    ratatui::crossterm::event::KeyCode::Char(' '),
                    ratatui::crossterm::event::KeyModifiers::NONE,
                ),
            ));
        }
        for event in feed {
            let mut effects = player.handle(event, now).effects;
            loop {
                for effect in effects.drain(..) {
                    if let podlab::tui::event::Effect::Lesson(cmd) = effect {
                        podlab::tui::Host::lesson(&mut host, cmd);
                    }
                }
                match rx.try_recv() {
                    Ok(e) => effects = player.handle(e, now).effects,
                    Err(_) => break,
                }
            }
        }
        assert_eq!(player.current, 1);
        // Far enough on that no change is marked any more.
        let later = now + Duration::from_secs(60);
        player.handle(podlab::tui::event::Event::Tick, later);
        check(
            &format!("lesson_01_replay_step2_{tag}_160x48"),
            player_screen(&player, 160, 48, later),
        );
    }
}
