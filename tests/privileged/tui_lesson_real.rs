//! The lesson player on real lessons (root): lessons 03 and 13 (their schema-1 copies) open in the player on a
//! TestBackend, with the real lesson thread, observer and pods; Space takes every step, every
//! check passes, q deletes the lesson's pods (and stops lesson 13's kubelet), and nothing is
//! left behind.

use crate::common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{assert_nothing_left, kubelet_processes, privileged_shipped_pods, PODLAB};
use podlab::i18n::Lang;
use podlab::kube::pod_state::PodState;
use podlab::lesson::{load_lesson, ProgressStore, Runner, RunnerOptions};
use podlab::observe::Target;
use podlab::tui::event::{Event, LessonCmd};
use podlab::tui::lesson_player::{Player, StepState};
use podlab::tui::lesson_worker::LessonWorker;
use podlab::tui::workers::{Observer, SharedTarget};
use podlab::tui::{run, Host};
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

/// How long the whole lesson may take.
const LESSON_DEADLINE: Duration = Duration::from_secs(180);

struct TestHost<'a> {
    worker: &'a LessonWorker,
    target: &'a SharedTarget,
}

impl Host for TestHost<'_> {
    fn lesson(&mut self, cmd: LessonCmd) {
        self.worker.send(cmd);
    }

    fn observe(&mut self, target: Target) {
        if let Ok(mut t) = self.target.lock() {
            *t = target;
        }
    }

    fn run_shell(
        &mut self,
        _uid: &str,
        _container: &str,
        _command: &[String],
    ) -> eyre::Result<i32> {
        Err(eyre::eyre!("no shell on a test backend"))
    }
}

/// Pass observations (and keep the last pod state seen, to check it is all gone at the end).
fn forward(from: Receiver<Event>, to: Sender<Event>, last: Arc<Mutex<Option<PodState>>>) {
    std::thread::spawn(move || {
        while let Ok(e) = from.recv() {
            if let Event::Observed(obs) = &e {
                if let (Some(state), Ok(mut last)) = (&obs.state, last.lock()) {
                    *last = Some(state.clone());
                }
            }
            if to.send(e).is_err() {
                return;
            }
        }
    });
}

/// Press Space every few hundred milliseconds until the progress file lists every step (or
/// time is up), then q and y.
fn press_through(to: Sender<Event>, progress: PathBuf, steps: Vec<String>, stop: Arc<AtomicBool>) {
    std::thread::spawn(move || {
        let press = |code| {
            to.send(Event::Key(KeyEvent::new(code, KeyModifiers::NONE)))
                .is_ok()
        };
        let deadline = Instant::now() + LESSON_DEADLINE;
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            let saved = std::fs::read_to_string(&progress).unwrap_or_default();
            if steps.iter().all(|s| saved.contains(&format!("\"{s}\""))) {
                break;
            }
            if !press(KeyCode::Char(' ')) {
                return;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
        let _ = press(KeyCode::Char('q'));
        let _ = press(KeyCode::Char('y'));
    });
}

/// Play a lesson in the player with the real lesson thread and observer, Space through every
/// step, then q. Returns the player and the last pod state the panels saw. The lessons are
/// schema-1 copies of shipped ones (tests/fixtures/lessons), where Space takes every step: the
/// shipped lessons' tasks and questions are played headless with their solutions
/// (tests/privileged/lessons.rs).
fn play_in_player(file: &str) -> (Player, Vec<String>, Option<PodState>) {
    podlab::runtime::images::ensure_busybox(podlab::i18n::Lang::En)
        .expect("busybox for the lesson's images");
    let lesson_path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lessons")
        .join(file);
    let lesson = load_lesson(&lesson_path).unwrap_or_else(|e| panic!("lesson {file}: {e}"));
    let steps: Vec<String> = lesson.steps().iter().map(|s| s.id.clone()).collect();
    let progress_dir = tempfile::tempdir().expect("a directory for progress");
    let store = ProgressStore::at(progress_dir.path().to_path_buf());
    let progress_file = progress_dir.path().join(format!("{}.json", lesson.id()));
    let runner = Runner::new(
        lesson.clone(),
        RunnerOptions {
            podlab_exe: Some(PathBuf::from(PODLAB)),
            progress: Some(store),
            ..RunnerOptions::default()
        },
    )
    .expect("a runner for the lesson");

    let (app_tx, app_rx) = mpsc::channel::<Event>();
    let (tx, rx) = mpsc::channel::<Event>();
    let last_state = Arc::new(Mutex::new(None));
    forward(app_rx, tx.clone(), Arc::clone(&last_state));
    // Dropped in reverse order on a failure: the observer stops, then the pods are deleted.
    let worker = LessonWorker::spawn(runner, tx.clone()).expect("the lesson thread");
    let target: SharedTarget = Arc::new(Mutex::new(Target::Pids(Vec::new())));
    let observer = Observer::spawn(Arc::clone(&target), 4.0, app_tx.clone()).expect("observer");
    let stop = Arc::new(AtomicBool::new(false));
    press_through(tx.clone(), progress_file, steps.clone(), Arc::clone(&stop));

    let mut player = Player::new(lesson, false, Lang::En);
    let mut terminal = Terminal::new(TestBackend::new(160, 48)).expect("test terminal");
    let mut host = TestHost {
        worker: &worker,
        target: &target,
    };
    let result = run(&mut terminal, &mut player, &rx, &tx, &mut host);
    stop.store(true, Ordering::Relaxed);
    drop(observer);
    let finished = worker.finish();
    result.expect("the player's loop");
    finished.expect("the lesson's pods deleted");

    for (i, view) in player.steps.iter().enumerate() {
        assert!(
            matches!(view.state, StepState::Passed(_)),
            "step {} ({}) did not pass: {:?}",
            i + 1,
            steps[i],
            view.state
        );
    }
    assert_eq!(player.done_count(), steps.len());
    let state = last_state.lock().ok().and_then(|s| s.clone());
    (player, steps, state)
}

#[test]
fn lesson_03_plays_in_the_player_with_every_check_passing() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    let (_, _, state) = play_in_player("sharing-schema1.yaml");
    let state = state.expect("the panels saw the lesson's pod");
    assert_eq!(state.name, "web-sidecar");
    assert_nothing_left(&state);
}

/// Lesson 13's pods are started by the lesson's kubelet, not by the runner: the panels follow
/// the static pod as it is replaced, and quitting stops the kubelet and removes its directory.
#[test]
fn lesson_13_plays_in_the_player_with_its_kubelet_cleaned_up() {
    let Some(_machine) = privileged_shipped_pods() else {
        return;
    };
    let (_, _, state) = play_in_player("static-pods-schema1.yaml");
    let state = state.expect("the panels saw the static pod");
    let node = podlab::kube::static_pods::node_name();
    assert_eq!(state.name, format!("static-web-{node}"));
    assert_nothing_left(&state);
    assert!(
        !std::path::Path::new("/tmp/podlab-lesson-static").exists(),
        "the kubelet's directory is removed"
    );
    assert!(
        kubelet_processes("/tmp/podlab-lesson-static").is_empty(),
        "the lesson's kubelet is stopped"
    );
}
