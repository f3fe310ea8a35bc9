//! A lesson recorded for real (root): `podlab lesson 01 --autoplay --quit-at-end --record …
//! --size 100x30 --trace …` in a detached tmux session. Autoplay takes every step once its
//! check passed, quits and deletes the lesson's pod; the recording is asciicast v2 with a
//! marker per step that asciinema plays; the trace replays every step in the lesson player
//! without root; nothing is left behind.

use crate::common;

use std::path::Path;
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use podlab::i18n::Lang;
use podlab::lesson::load_lesson;
use podlab::tui::autoplay::AutoplaySettings;
use podlab::tui::event::Event;
use podlab::tui::lesson_player::StepState;
use podlab::tui::lesson_replay::{replay_player, LessonReplayHost};
use podlab::tui::record::trace::Trace;
use podlab::tui::run;
use ratatui::backend::TestBackend;
use ratatui::Terminal;

/// How long the whole lesson may take.
const DEADLINE: Duration = Duration::from_secs(240);

/// A tmux server of our own, killed when dropped, even on failure (the player then gets
/// SIGHUP and deletes its pods).
struct Tmux {
    socket: String,
}

impl Tmux {
    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test installs it)")
    }

    fn screen(&self) -> String {
        common::stdout(&self.run(&["capture-pane", "-p", "-t", "demo"]))
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

fn asciinema_plays(cast: &Path) -> String {
    let found = Command::new("asciinema")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "asciinema is not installed (./scripts/test installs the Debian package asciinema)"
    );
    // `asciinema cat` opens /dev/tty: give it one with script(1).
    let out = Command::new("script")
        .args([
            "-qec",
            &format!("asciinema cat {}", cast.display()),
            "/dev/null",
        ])
        .env("TERM", "xterm-256color")
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run script(1) with asciinema cat");
    let printed = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "asciinema cat failed: {printed}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    printed
}

#[test]
fn lesson_01_autoplays_records_and_traces_for_real() {
    let Some(_machine) = common::privileged_shipped_pods() else {
        return;
    };
    let lesson_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/01-process.yaml");
    let lesson = load_lesson(&lesson_path).unwrap_or_else(|e| panic!("lesson 01: {e}"));
    let steps: Vec<(String, String)> = lesson
        .steps()
        .iter()
        .map(|s| (s.id.clone(), s.title.en.clone()))
        .collect();
    let dir = tempfile::tempdir().expect("a directory for the outputs");
    let cast = dir.path().join("lesson.cast");
    let trace_path = dir.path().join("lesson.trace.jsonl");
    let status = dir.path().join("status");
    let tmux = Tmux {
        socket: format!("podlab-lesson-demo-{}", std::process::id()),
    };
    let command = format!(
        "{} lesson 01 --autoplay --hold 0.3 --quit-at-end --record {} --size 100x30 \
         --trace {}; echo $? > {}",
        common::PODLAB,
        cast.display(),
        trace_path.display(),
        status.display()
    );
    let out = tmux.run(&[
        "new-session",
        "-d",
        "-s",
        "demo",
        "-x",
        "120",
        "-y",
        "40",
        "sh",
        "-c",
        &command,
    ]);
    assert!(
        out.status.success(),
        "tmux new-session: {}",
        common::stderr(&out)
    );
    let deadline = Instant::now() + DEADLINE;
    let mut last_screen = String::new();
    while !status.exists() {
        let screen = tmux.screen();
        if !screen.trim().is_empty() {
            last_screen = screen;
        }
        assert!(
            Instant::now() < deadline,
            "the lesson did not end by itself; the screen:\n{last_screen}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    let code = std::fs::read_to_string(&status).unwrap_or_default();
    assert_eq!(
        code.trim(),
        "0",
        "podlab lesson failed; the screen:\n{last_screen}"
    );

    // The recording: asciicast v2 at 100x30, a marker per step with its id and title.
    let text = std::fs::read_to_string(&cast).expect("the recording");
    let mut lines = text.lines();
    let header: serde_json::Value =
        serde_json::from_str(lines.next().expect("a header")).expect("the header is JSON");
    assert_eq!(
        (
            header["version"].as_u64(),
            header["width"].as_u64(),
            header["height"].as_u64()
        ),
        (Some(2), Some(100), Some(30))
    );
    assert!(header["title"]
        .as_str()
        .is_some_and(|t| t.contains("01-process")));
    assert!(header["env"]["TERM"].is_string() && header["env"]["SHELL"].is_string());
    let mut markers = Vec::new();
    let mut outputs = 0;
    for line in lines {
        let (_, kind, data): (f64, String, String) =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("bad event {line}: {e}"));
        match kind.as_str() {
            "o" => outputs += 1,
            "m" => markers.push(data),
            other => panic!("unexpected event type {other}"),
        }
    }
    assert!(outputs > steps.len(), "{outputs} frames");
    assert_eq!(markers.len(), steps.len() + 1, "{markers:?}");
    for (i, (id, title)) in steps.iter().enumerate() {
        assert_eq!(markers[i], format!("{} {id}: {title}", i + 1));
    }
    let printed = asciinema_plays(&cast);
    assert!(printed.contains("01-process"), "{printed}");

    // The trace: every step's check passed, and it replays every step without root.
    let trace = Trace::load(&trace_path).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(trace.steps(), steps.len());
    for done in 1..=steps.len() {
        let check = trace.result(done).and_then(|r| r.check.clone());
        assert!(
            check.as_ref().is_some_and(|c| c.passed),
            "step {done}: {check:?}"
        );
    }
    let now = Instant::now();
    let mut player = replay_player(&trace, "lesson.trace.jsonl", Lang::En, now).expect("lesson");
    player.enable_autoplay(
        AutoplaySettings {
            speed: 1.0,
            hold: Some(Duration::ZERO),
            quit_at_end: true,
        },
        now,
    );
    let (tx, rx) = mpsc::channel::<Event>();
    let mut host = LessonReplayHost::new(trace.clone(), tx.clone());
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("terminal");
    run(&mut terminal, &mut player, &rx, &tx, &mut host).expect("the replay ends");
    assert!(player
        .steps
        .iter()
        .all(|s| matches!(s.state, StepState::Passed(_))));

    // The lesson's pod is gone, with everything it had.
    let state = (0..=steps.len())
        .rev()
        .find_map(|k| trace.own_observation(k).and_then(|o| o.state.clone()))
        .expect("the trace saw the lesson's pod");
    common::assert_nothing_left(&state);
    assert!(
        podlab::runtime::lookup::live_pod_named(&state.name)
            .expect("list pods")
            .is_none(),
        "pod {} is still listed",
        state.name
    );
}
