//! The lesson player and the lesson list without a machine to build pods on: the player is
//! driven with the lesson runner's replies by hand (what the lesson thread would answer) and
//! the demo pod's observations; screens are drawn on ratatui's TestBackend, in English and
//! Chinese, at 80×24 and 160×48.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use podlab::i18n::{Lang, Text};
use podlab::lesson::card::Difficulty;
use podlab::lesson::{load_lesson, ActionOutcome, CheckResult, Lesson};
use podlab::observe::Target;
use podlab::tui::demo;
use podlab::tui::event::{Effect, Event, LessonCmd, LessonReply};
use podlab::tui::lesson_player::{Phase, Player, StepState};
use podlab::tui::picker::{Choice, Picker, PickerEntry};
use podlab::tui::ui;
use ratatui::backend::TestBackend;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui::Terminal;

use crate::common;

use common::screen::{player_screen, text_of};

const UID: &str = "0f3c2a9e-1111-4222-8333-444455556666";

fn lesson_03() -> Lesson {
    // Lesson 03 as it was, frozen: these tests take its steps by index.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lessons/sharing-schema1.yaml");
    load_lesson(&path).unwrap_or_else(|e| panic!("lesson 03 does not load: {e}"))
}

fn picker_screen(picker: &Picker, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal
        .draw(|f| ui::draw_picker(f, picker))
        .expect("draw on the test backend");
    text_of(terminal.backend().buffer())
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

fn press(code: KeyCode) -> Event {
    Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
}

fn pods() -> Vec<(String, String)> {
    vec![("web-sidecar".to_string(), UID.to_string())]
}

fn lesson_cmds(effects: &[Effect]) -> Vec<LessonCmd> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Lesson(cmd) => Some(cmd.clone()),
            _ => None,
        })
        .collect()
}

/// The lesson commands that take steps (perform, poll, complete), without the ones asked on
/// the side: filling a step's try: lines, and its hints' conditions.
fn step_cmds(effects: &[Effect]) -> Vec<LessonCmd> {
    lesson_cmds(effects)
        .into_iter()
        .filter(|c| !matches!(c, LessonCmd::FillTry(_) | LessonCmd::HintConditions(_)))
        .collect()
}

/// A player that resumed with nothing done and shows the demo pod's panels.
fn fresh_player(lang: Lang, now: Instant) -> Player {
    let lesson = lesson_03();
    let pod = lesson.pods[0].pod.clone();
    let mut player = Player::new(lesson, false, lang);
    let start = player.start();
    assert_eq!(
        lesson_cmds(&start.effects),
        vec![LessonCmd::Resume { restart: false }]
    );
    let up = player.handle(
        Event::Lesson(LessonReply::Resumed {
            outcomes: Vec::new(),
            first_undone: 0,
            pods: pods(),
        }),
        now,
    );
    assert!(up
        .effects
        .contains(&Effect::Observe(Target::Pod(UID.to_string()))));
    let done = demo::plan(&pod).len();
    player.handle(
        Event::Observed(Box::new(demo::observation(&pod, done))),
        now,
    );
    player
}

/// Take step `index` through its action and a passing check, as the lesson thread answers.
fn pass_step(player: &mut Player, index: usize, message: &str, now: Instant) {
    let up = player.handle(press(KeyCode::Char(' ')), now);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Perform(index)]);
    let up = player.handle(
        Event::Lesson(LessonReply::Performed {
            index,
            result: Ok(ActionOutcome {
                summary: Text::new("", ""),
                output: String::new(),
            }),
            pods: pods(),
        }),
        now,
    );
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Poll(index)]);
    let up = player.handle(
        Event::Lesson(LessonReply::Checked {
            index,
            result: CheckResult::pass(message, message),
            pods: pods(),
        }),
        now,
    );
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Complete(index)]);
    player.handle(
        Event::Lesson(LessonReply::Completed {
            index,
            result: Ok(()),
        }),
        now,
    );
    assert_eq!(player.current, index + 1);
}

#[test]
fn an_action_is_requested_off_thread_and_its_check_result_is_shown() {
    let now = Instant::now();
    let mut player = fresh_player(Lang::En, now);
    assert_eq!(player.phase, Phase::Ready);

    // Space asks the lesson thread for the action; nothing blocks here.
    let up = player.handle(press(KeyCode::Enter), now);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Perform(0)]);
    assert!(matches!(
        player.steps[0].state,
        StepState::Performing { .. }
    ));
    // A second Space while it runs asks for nothing.
    let up = player.handle(press(KeyCode::Char(' ')), now);
    assert!(lesson_cmds(&up.effects).is_empty());
    assert!(player_screen(&player, 80, 24, now).contains("a step is already running"));

    // The action is done: the check is polled, with no key.
    let up = player.handle(
        Event::Lesson(LessonReply::Performed {
            index: 0,
            result: Ok(ActionOutcome {
                summary: Text::new("pod web-sidecar is created", "Pod web-sidecar 已创建"),
                output: String::new(),
            }),
            pods: pods(),
        }),
        now,
    );
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Poll(0)]);
    let checking = player_screen(&player, 80, 24, now);
    assert!(checking.contains("checking…"), "{checking}");

    // Failing before the timeout: polled again after a pause, on a tick.
    let up = player.handle(
        Event::Lesson(LessonReply::Checked {
            index: 0,
            result: CheckResult::fail("web is waiting", "web 在等待"),
            pods: pods(),
        }),
        now,
    );
    assert!(lesson_cmds(&up.effects).is_empty());
    let wake = player
        .next_deadline(now)
        .expect("a deadline for the next poll");
    assert!(wake <= now + Duration::from_millis(500));
    let later = now + Duration::from_millis(300);
    let up = player.handle(Event::Tick, later);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Poll(0)]);

    // It passes: ✓ with the check's message, and the step is recorded.
    let up = player.handle(
        Event::Lesson(LessonReply::Checked {
            index: 0,
            result: CheckResult::pass("web and sidecar are running", "web 和 sidecar 都在运行"),
            pods: pods(),
        }),
        later,
    );
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Complete(0)]);
    let passed = player_screen(&player, 80, 24, later);
    assert!(passed.contains("✓ web and sidecar are running"), "{passed}");
    player.handle(
        Event::Lesson(LessonReply::Completed {
            index: 0,
            result: Ok(()),
        }),
        later,
    );
    assert_eq!(player.current, 1);
    assert_eq!(player.viewing(), 1);
    // The next step's text is shown; the status line keeps the ✓ of the one that passed.
    let next = player_screen(&player, 80, 24, later);
    assert!(
        next.contains("✓ Step 1: web and sidecar are running"),
        "{next}"
    );
}

#[test]
fn a_check_that_times_out_shows_the_failure_and_a_hint_and_space_tries_again() {
    let now = Instant::now();
    let mut player = fresh_player(Lang::En, now);
    pass_step(&mut player, 0, "both run", now);
    pass_step(&mut player, 1, "shared", now);
    // Step 3 has a hint; its check keeps failing past the timeout (10 s).
    player.handle(press(KeyCode::Char(' ')), now);
    player.handle(
        Event::Lesson(LessonReply::Performed {
            index: 2,
            result: Ok(ActionOutcome {
                summary: Text::new("", ""),
                output: String::new(),
            }),
            pods: pods(),
        }),
        now,
    );
    let late = now + Duration::from_secs(11);
    let up = player.handle(
        Event::Lesson(LessonReply::Checked {
            index: 2,
            result: CheckResult::fail("web and sidecar share mnt", "web 和 sidecar 共享 mnt"),
            pods: pods(),
        }),
        late,
    );
    assert!(lesson_cmds(&up.effects).is_empty());
    assert!(matches!(player.steps[2].state, StepState::Failed(_)));
    assert_eq!(player.steps[2].hints_shown, 1);
    let text = player_screen(&player, 80, 24, late);
    assert!(
        text.contains("not seen within 10s: web and sidecar share mnt"),
        "{text}"
    );
    assert!(text.contains("Hint 1/1"), "{text}");
    check("player_failed_en_80x24", text);
    // Space performs the step again.
    let up = player.handle(press(KeyCode::Char(' ')), late);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Perform(2)]);
}

#[test]
fn hints_come_one_at_a_time_on_h() {
    let now = Instant::now();
    let mut player = fresh_player(Lang::Zh, now);
    pass_step(&mut player, 0, "ok", now);
    pass_step(&mut player, 1, "ok", now);
    assert_eq!(player.steps[2].hints_shown, 0);
    player.handle(press(KeyCode::Char('h')), now);
    assert_eq!(player.steps[2].hints_shown, 1);
    player.handle(press(KeyCode::Char('h')), now);
    assert_eq!(player.steps[2].hints_shown, 1, "there is only one hint");
    let text = player_screen(&player, 80, 24, now);
    assert!(text.contains("shareProcessNamespace"), "{text}");
}

#[test]
fn resumed_steps_are_done_and_quitting_finishes_the_lesson() {
    let now = Instant::now();
    let lesson = lesson_03();
    let mut player = Player::new(lesson, false, Lang::En);
    let outcome = |step: &str| podlab::lesson::StepOutcome {
        step: step.to_string(),
        action: ActionOutcome {
            summary: Text::new("", ""),
            output: String::new(),
        },
        check: Some(CheckResult::pass("ok", "ok")),
    };
    player.handle(
        Event::Lesson(LessonReply::Resumed {
            outcomes: vec![outcome("create"), outcome("shared-namespaces")],
            first_undone: 2,
            pods: pods(),
        }),
        now,
    );
    assert_eq!(player.done_count(), 2);
    assert_eq!(player.current, 2);
    assert!(player_screen(&player, 80, 24, now).contains("resumed"));
    // q asks first; y deletes the lesson's pods through the lesson thread, then exits.
    player.handle(press(KeyCode::Char('q')), now);
    let up = player.handle(press(KeyCode::Char('y')), now);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Finish]);
    // q again while they are deleted: every live pod is killed now, as in the explorer.
    assert!(player_screen(&player, 120, 30, now).contains("q: kill now"));
    let up = player.handle(press(KeyCode::Char('q')), now);
    let killed: Vec<&Effect> = up
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::KillNow { .. }))
        .collect();
    assert_eq!(killed.len(), pods().len(), "{:?}", up.effects);
    let up = player.handle(Event::Lesson(LessonReply::Finished(Ok(()))), now);
    assert!(up.effects.contains(&Effect::Exit));
}

#[test]
fn player_screens_at_a_step() {
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let now = Instant::now();
        let mut player = fresh_player(lang, now);
        pass_step(&mut player, 0, "web: running; sidecar: running", now);
        // Step 2 is being checked.
        player.handle(press(KeyCode::Char(' ')), now);
        player.handle(
            Event::Lesson(LessonReply::Performed {
                index: 1,
                result: Ok(ActionOutcome {
                    summary: Text::new("", ""),
                    output: String::new(),
                }),
                pods: pods(),
            }),
            now,
        );
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            check(
                &format!("player_step2_{tag}_{w}x{h}"),
                player_screen(&player, w, h, now),
            );
        }
    }
}

fn fake_entries() -> Vec<PickerEntry> {
    let entry = |id: &str, en: &str, zh: &str, done: usize, total: usize| PickerEntry {
        id: id.to_string(),
        path: PathBuf::from(format!("/lessons/{id}.yaml")),
        title: Text::new(en, zh),
        summary: Text::new(
            format!("What {en} shows, in a sentence or two."),
            format!("{zh}：一两句话的简介。"),
        ),
        done,
        total,
        // The card: what the lesson shows, about how long, how hard.
        objectives: vec![
            Text::new(
                format!("see what {en} means on this machine"),
                format!("在这台机器上看到 {zh} 的含义"),
            ),
            Text::new("explain it to someone else", "能给别人讲清楚"),
        ],
        minutes: Some(5 + 2 * total as u32),
        difficulty: Some(if total > 6 {
            Difficulty::Intermediate
        } else {
            Difficulty::Beginner
        }),
        here: None,
        trace: None,
    };
    vec![
        entry(
            "01-process",
            "A container is a process",
            "容器就是进程",
            5,
            5,
        ),
        entry("02-pause", "The pause container", "pause 容器", 3, 7),
        entry("03-sharing", "What is shared", "哪些共享", 0, 7),
        entry("04-network", "One IP per pod", "每个 Pod 一个 IP", 0, 6),
    ]
}

#[test]
fn picker_screens() {
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let picker = Picker::new(fake_entries(), lang);
        // It starts at the first lesson not finished.
        assert_eq!(picker.selected, 1);
        for (w, h) in [(80u16, 24u16), (160, 48)] {
            check(
                &format!("picker_{tag}_{w}x{h}"),
                picker_screen(&picker, w, h),
            );
        }
    }
}

#[test]
fn picker_keys() {
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    let mut picker = Picker::new(fake_entries(), Lang::En);
    assert_eq!(picker.key(&key(KeyCode::Down)), None);
    assert_eq!(picker.selected, 2);
    assert_eq!(picker.key(&key(KeyCode::Up)), None);
    assert_eq!(picker.key(&key(KeyCode::Up)), None);
    assert_eq!(picker.selected, 0);
    assert_eq!(
        picker.key(&key(KeyCode::Enter)),
        Some(Choice::Lesson(PathBuf::from("/lessons/01-process.yaml")))
    );
    assert_eq!(picker.key(&key(KeyCode::Char('L'))), None);
    assert_eq!(picker.lang, Lang::Zh);
    assert!(picker_screen(&picker, 80, 24).contains("课程"));
    assert_eq!(picker.key(&key(KeyCode::Char('e'))), Some(Choice::Explorer));
    assert_eq!(picker.key(&key(KeyCode::Char('q'))), Some(Choice::Quit));
    // The hint bar comes from the keymap table.
    let text = picker_screen(&picker, 80, 24);
    assert!(text.contains("e 自由探索"), "{text}");
}

/// The lesson list shows this machine's verdict on each lesson; Enter on one it cannot run
/// plays its recorded trace, or says there is none.
#[test]
fn picker_verdicts_mark_lessons_and_enter_plays_the_trace_of_one_that_cannot_run() {
    use podlab::doctor::{LessonVerdict, Mode};
    let key = |code| KeyEvent::new(code, KeyModifiers::NONE);
    let runs = LessonVerdict {
        mode: Some(Mode::Root),
        blockers: Vec::new(),
        notes: Vec::new(),
    };
    let blocked = LessonVerdict {
        mode: None,
        blockers: vec![Text::new("needs root (sudo)", "需要 root（sudo）")],
        notes: Vec::new(),
    };
    let mut entries = fake_entries();
    entries[0].here = Some(runs);
    entries[1].here = Some(blocked.clone());
    entries[1].trace = Some(PathBuf::from("/traces/lesson-02.trace.jsonl"));
    entries[2].here = Some(blocked);
    let mut picker = Picker::new(entries, Lang::En);
    let text = picker_screen(&picker, 160, 48);
    assert!(text.contains("● 5/5 ✓"), "{text}");
    assert!(
        text.contains("↺ 3/7     02-pause    The pause container · needs root (sudo)"),
        "{text}"
    );
    assert!(
        text.contains("↺ needs root (sudo): Enter plays its recorded trace instead"),
        "{text}"
    );
    picker.selected = 1;
    assert_eq!(
        picker.key(&key(KeyCode::Enter)),
        Some(Choice::Replay {
            trace: PathBuf::from("/traces/lesson-02.trace.jsonl"),
            why: Text::new("needs root (sudo)", "需要 root（sudo）"),
        })
    );
    picker.selected = 2;
    assert_eq!(picker.key(&key(KeyCode::Enter)), None);
    let status = picker.status.clone().expect("a message");
    assert!(status.contains("no recorded trace"), "{status}");
    picker.selected = 0;
    assert_eq!(
        picker.key(&key(KeyCode::Enter)),
        Some(Choice::Lesson(PathBuf::from("/lessons/01-process.yaml")))
    );
    picker.lang = Lang::Zh;
    picker.selected = 1;
    let text = picker_screen(&picker, 160, 48);
    assert!(text.contains("按 Enter 改为回放录制的轨迹"), "{text}");
}

/// Lesson 13's pod is started by the lesson's kubelet after the action returns: the panels
/// pick it up (under kubelet's name for it) from the replies to the polls of its check.
#[test]
fn a_static_pod_that_appears_while_its_check_is_polled_is_shown() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons/13-static-pods.yaml");
    let lesson = load_lesson(&path).unwrap_or_else(|e| panic!("lesson 13 does not load: {e}"));
    let now = Instant::now();
    let mut player = Player::new(lesson, false, Lang::En);
    player.start();
    player.handle(
        Event::Lesson(LessonReply::Resumed {
            outcomes: Vec::new(),
            first_undone: 0,
            pods: Vec::new(),
        }),
        now,
    );
    let screen = player_screen(&player, 80, 24, now);
    assert!(
        screen.contains("$ ls -la /tmp/podlab-lesson-static"),
        "the step's commands are shown:\n{screen}"
    );
    let outcome = |summary: &str| ActionOutcome {
        summary: Text::new(summary, summary),
        output: String::new(),
    };
    for (index, pods_now) in [(0, Vec::new()), (1, Vec::new())] {
        player.handle(press(KeyCode::Char(' ')), now);
        let up = player.handle(
            Event::Lesson(LessonReply::Performed {
                index,
                result: Ok(outcome("done")),
                pods: pods_now,
            }),
            now,
        );
        assert_eq!(step_cmds(&up.effects), vec![LessonCmd::Poll(index)]);
        if index == 0 {
            player.handle(
                Event::Lesson(LessonReply::Checked {
                    index,
                    result: CheckResult::pass("kubelet runs", "kubelet 在运行"),
                    pods: Vec::new(),
                }),
                now,
            );
            player.handle(
                Event::Lesson(LessonReply::Completed {
                    index,
                    result: Ok(()),
                }),
                now,
            );
        }
    }
    // The file is in the directory; the kubelet has not started the pod yet.
    let up = player.handle(
        Event::Lesson(LessonReply::Checked {
            index: 1,
            result: CheckResult::fail("no pod yet", "还没有 Pod"),
            pods: Vec::new(),
        }),
        now,
    );
    assert!(!up
        .effects
        .iter()
        .any(|e| matches!(e, Effect::Observe(Target::Pod(_)))));
    let name = format!("static-web-{}", podlab::kube::static_pods::node_name());
    let up = player.handle(
        Event::Lesson(LessonReply::Checked {
            index: 1,
            result: CheckResult::pass("pod runs", "Pod 在运行"),
            pods: vec![(name.clone(), UID.to_string())],
        }),
        now + Duration::from_secs(1),
    );
    assert!(up
        .effects
        .contains(&Effect::Observe(Target::Pod(UID.to_string()))));
    assert_eq!(step_cmds(&up.effects), vec![LessonCmd::Complete(1)]);
    match &player.app.session {
        podlab::tui::app::Session::Pod { name: shown, .. } => assert_eq!(shown, &name),
        other => panic!("the panels show no pod: {other:?}"),
    }
}

/// Between a passing check and the lesson thread's answer that the step is recorded, Space
/// must not take the step again (its action would run twice: a file removed twice fails).
#[test]
fn space_does_not_repeat_a_step_whose_check_just_passed() {
    let now = Instant::now();
    let mut player = fresh_player(Lang::En, now);
    player.handle(press(KeyCode::Char(' ')), now);
    player.handle(
        Event::Lesson(LessonReply::Performed {
            index: 0,
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
            index: 0,
            result: CheckResult::pass("ok", "ok"),
            pods: pods(),
        }),
        now,
    );
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Complete(0)]);
    let up = player.handle(press(KeyCode::Char(' ')), now);
    assert!(lesson_cmds(&up.effects).is_empty(), "{:?}", up.effects);
    player.handle(
        Event::Lesson(LessonReply::Completed {
            index: 0,
            result: Ok(()),
        }),
        now,
    );
    let up = player.handle(press(KeyCode::Char(' ')), now);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Perform(1)]);
}

/// Freezing the panels (`f`) holds what they draw, not the lesson: the step's action is
/// requested, its check is polled again on the lesson thread's schedule, the step passes and
/// the next one is shown, while the panels keep the picture they had when frozen.
#[test]
fn a_step_is_checked_and_passes_while_the_panels_are_frozen() {
    let now = Instant::now();
    let mut player = fresh_player(Lang::En, now);
    let frozen_mark = "❄ frozen";
    // A row of the process panel (the step's text names httpd too).
    let httpd = "[1] httpd";
    player.handle(press(KeyCode::Char('f')), now);
    assert!(player.app.is_frozen());
    let screen = player_screen(&player, 80, 24, now);
    assert!(
        screen.lines().next().unwrap_or("").contains(frozen_mark),
        "{screen}"
    );
    assert!(screen.contains(httpd), "{screen}");
    // A newer observation, with nothing running yet, reaches the app but is not drawn.
    let pod = lesson_03().pods[0].pod.clone();
    player.handle(Event::Observed(Box::new(demo::observation(&pod, 0))), now);
    assert!(player_screen(&player, 80, 24, now).contains(httpd));

    let up = player.handle(press(KeyCode::Char(' ')), now);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Perform(0)]);
    let up = player.handle(
        Event::Lesson(LessonReply::Performed {
            index: 0,
            result: Ok(ActionOutcome {
                summary: Text::new("", ""),
                output: String::new(),
            }),
            pods: pods(),
        }),
        now,
    );
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Poll(0)]);
    player.handle(
        Event::Lesson(LessonReply::Checked {
            index: 0,
            result: CheckResult::fail("web is waiting", "web 在等待"),
            pods: pods(),
        }),
        now,
    );
    // Polled again on a tick, frozen or not.
    let later = now + Duration::from_millis(300);
    let up = player.handle(Event::Tick, later);
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Poll(0)]);
    let up = player.handle(
        Event::Lesson(LessonReply::Checked {
            index: 0,
            result: CheckResult::pass("web and sidecar are running", "web 和 sidecar 都在运行"),
            pods: pods(),
        }),
        later,
    );
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Complete(0)]);
    player.handle(
        Event::Lesson(LessonReply::Completed {
            index: 0,
            result: Ok(()),
        }),
        later,
    );
    assert_eq!(player.current, 1);
    assert!(matches!(player.steps[0].state, StepState::Passed(_)));
    let screen = player_screen(&player, 80, 24, later);
    assert!(
        screen.contains("✓ Step 1: web and sidecar are running"),
        "{screen}"
    );
    assert!(
        screen.contains(httpd),
        "still the frozen picture:\n{screen}"
    );
    // Unfrozen: the newest observation at once.
    player.handle(press(KeyCode::Char('f')), later);
    let screen = player_screen(&player, 80, 24, later);
    assert!(!screen.contains(frozen_mark), "{screen}");
    assert!(!screen.contains(httpd), "{screen}");
}

/// Autoplay does not take the next step while the panels are frozen (they would not show
/// it); once unfrozen, the screen is held again before the step is taken.
#[test]
fn autoplay_waits_while_the_panels_are_frozen() {
    let now = Instant::now();
    let at = |ms: u64| now + Duration::from_millis(ms);
    let mut player = fresh_player(Lang::En, now);
    player.enable_autoplay(
        podlab::tui::autoplay::AutoplaySettings {
            speed: 1.0,
            hold: Some(Duration::from_millis(100)),
            quit_at_end: false,
        },
        now,
    );
    player.handle(press(KeyCode::Char('f')), now);
    for ms in [100, 1000, 60_000] {
        let up = player.handle(Event::Tick, at(ms));
        assert!(lesson_cmds(&up.effects).is_empty(), "{:?}", up.effects);
    }
    player.handle(press(KeyCode::Char('f')), at(60_000));
    let up = player.handle(Event::Tick, at(60_050));
    assert!(lesson_cmds(&up.effects).is_empty(), "held again first");
    let up = player.handle(Event::Tick, at(60_100));
    assert_eq!(lesson_cmds(&up.effects), vec![LessonCmd::Perform(0)]);
}

/// The lesson's narration pane zooms like a panel (`z`), and Tab moves the zoom on to the
/// panels.
#[test]
fn player_zoomed() {
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let now = Instant::now();
        let mut player = fresh_player(lang, now);
        pass_step(&mut player, 0, "web: running; sidecar: running", now);
        player.handle(press(KeyCode::Char('z')), now);
        assert!(player.app.zoomed);
        let text = player_screen(&player, 80, 24, now);
        assert!(
            text.lines().nth(1).is_some_and(|l| l.starts_with("┌ ")),
            "{text}"
        );
        check(&format!("player_zoom_{tag}_80x24"), text);
        player.handle(press(KeyCode::Tab), now);
        let text = player_screen(&player, 160, 48, now);
        assert!(
            text.lines().nth(1).is_some_and(|l| l.starts_with("┌ [")),
            "{text}"
        );
        assert!(text.contains("httpd"), "{text}");
        player.handle(press(KeyCode::Esc), now);
        assert!(!player.app.zoomed);
    }
}

fn lesson_01() -> Lesson {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lessons/01-process.yaml");
    load_lesson(&path).unwrap_or_else(|e| panic!("lesson 01 does not load: {e}"))
}

/// Lesson 01 resumed at step `first_undone` with the demo pod's panels; the effects of the
/// resume are returned too.
fn player_01_at(first_undone: usize, lang: Lang, now: Instant) -> (Player, Vec<Effect>) {
    let lesson = lesson_01();
    let pod = lesson.pods[0].pod.clone();
    let mut player = Player::new(lesson, false, lang);
    let up = player.handle(
        Event::Lesson(LessonReply::Resumed {
            outcomes: Vec::new(),
            first_undone,
            pods: vec![("lesson-process".to_string(), UID.to_string())],
        }),
        now,
    );
    let done = demo::plan(&pod).len();
    player.handle(
        Event::Observed(Box::new(demo::observation(&pod, done))),
        now,
    );
    (player, up.effects)
}

/// The step of lesson 01 with this id, by its index.
fn step_01(id: &str) -> usize {
    lesson_01()
        .steps()
        .iter()
        .position(|s| s.id == id)
        .unwrap_or_else(|| panic!("lesson 01 has no step {id}"))
}

/// Lesson 01's namespaces step with its try: lines as the lesson thread fills them.
fn filled_namespaces_step(lang: Lang, now: Instant) -> Player {
    use podlab::lesson::commands::FilledLine;
    let index = step_01("namespaces");
    let (mut player, effects) = player_01_at(index, lang, now);
    // Its try: lines are asked for as soon as the step is current.
    assert!(lesson_cmds(&effects).contains(&LessonCmd::FillTry(index)));
    player.handle(
        Event::Lesson(LessonReply::Filled {
            index,
            lines: vec![
                FilledLine {
                    template: "ls -l /proc/{pid:app}/ns".into(),
                    line: Some("ls -l /proc/4110/ns".into()),
                    missing: None,
                    not_here: false,
                },
                FilledLine {
                    template: "ls -l /proc/$$/ns".into(),
                    line: Some("ls -l /proc/$$/ns".into()),
                    missing: None,
                    not_here: false,
                },
            ],
        }),
        now,
    );
    player
}

#[test]
fn try_lines_are_filled_selected_run_and_copied() {
    let now = Instant::now();
    let mut player = filled_namespaces_step(Lang::En, now);
    let up = player.handle(press(KeyCode::Char('y')), now);
    assert!(up.effects.contains(&Effect::Copy {
        text: "ls -l /proc/4110/ns".into()
    }));
    // c selects the next line, x runs it in a shell.
    player.handle(press(KeyCode::Char('c')), now);
    let up = player.handle(press(KeyCode::Char('x')), now);
    assert!(up.effects.contains(&Effect::RunLine {
        line: "ls -l /proc/$$/ns".into()
    }));
}

#[test]
fn challenge_mode_hides_the_commands_until_c() {
    let now = Instant::now();
    let mut player = filled_namespaces_step(Lang::En, now);
    player.set_challenge();
    let screen = player_screen(&player, 100, 30, now);
    assert!(
        screen.contains("challenge: c shows the commands"),
        "{screen}"
    );
    assert!(!screen.contains("/proc/4110/ns"), "{screen}");
    // Nothing to copy while hidden.
    let up = player.handle(press(KeyCode::Char('y')), now);
    assert!(!up.effects.iter().any(|e| matches!(e, Effect::Copy { .. })));
    player.handle(press(KeyCode::Char('c')), now);
    let screen = player_screen(&player, 100, 30, now);
    assert!(screen.contains("$ ls -l /proc/4110/ns"), "{screen}");
}

#[test]
fn player_screens_with_try_and_cluster_lines_and_notes() {
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let now = Instant::now();
        let mut player = filled_namespaces_step(lang, now);
        player.show_notes();
        for (w, h) in [(100u16, 30u16), (160, 48)] {
            check(
                &format!("player_try_{tag}_{w}x{h}"),
                player_screen(&player, w, h, now),
            );
        }
    }
}

#[test]
fn player_screens_at_the_end_show_the_recap() {
    for (lang, tag) in [(Lang::En, "en"), (Lang::Zh, "zh")] {
        let now = Instant::now();
        let (player, _) = player_01_at(lesson_01().steps().len(), lang, now);
        check(
            &format!("player_recap_{tag}_100x30"),
            player_screen(&player, 100, 30, now),
        );
    }
}
