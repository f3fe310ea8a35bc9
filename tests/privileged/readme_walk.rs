//! End to end (root): the README's run command, typed into a terminal as a newcomer would, in
//! English and Chinese, at 80×24 and 160×48. The lesson list opens; Enter opens lesson 01,
//! whose first steps build a real pod (checked in /proc); q comes back to the list with the
//! pod deleted; `e` opens the explorer, whose steps build its pod up; q comes back to the list;
//! q ends podlab with status 0 and the terminal as it was. While a pod is deleted, q once more
//! kills it at once, as both screens offer. Each stage waits for an outcome
//! (a screen, a pod, a process), not for a number of keys, so it holds as lessons change.

use crate::common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::tmux::Tmux;
use podlab::i18n::Lang;
use podlab::kube::pod_state::{ContainerState, PodState};
use podlab::lesson::{load_lesson, Lesson};
use podlab::runtime::lookup::live_pod_named;

/// The first build of the release binary (by the README's own command) can take minutes.
const FIRST_START: Duration = Duration::from_secs(900);
const STAGE: Duration = Duration::from_secs(60);
/// The pod the explorer opens when `e` is pressed in the list (main.rs's default manifest).
const EXPLORER_POD: &str = "two-containers";

#[test]
fn readme_run_command_walks_list_lesson_explorer_in_two_languages_and_sizes() {
    let Some(_machine) = common::privileged_shipped_pods() else {
        return;
    };
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let run = readme_run_command(repo);
    let lesson = load_lesson(&repo.join("lessons/01-process.yaml")).expect("lesson 01 loads");
    for (lang, width, height) in [
        (Lang::En, 80, 24),
        (Lang::Zh, 160, 48),
        (Lang::Zh, 80, 24),
        (Lang::En, 160, 48),
    ] {
        walk(repo, &run, &lesson, lang, width, height);
    }
}

/// The command under "The two commands" that runs podlab: the first line of its first sh block.
fn readme_run_command(repo: &Path) -> String {
    let readme = std::fs::read_to_string(repo.join("README.md")).expect("README.md");
    let section = readme
        .split_once("## The two commands")
        .expect("README has a section \"The two commands\"")
        .1;
    let block = section
        .split_once("```sh\n")
        .expect("the section has a sh block")
        .1;
    let command = block.lines().next().expect("a command").trim().to_string();
    assert!(!command.is_empty(), "the README's run command is empty");
    command
}

fn walk(repo: &Path, run: &str, lesson: &Lesson, lang: Lang, width: u16, height: u16) {
    let what = format!("{lang:?} at {width}x{height}");
    // A newcomer's own progress store, empty at the start: the list opens on lesson 01.
    let state_home = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "readme-walk-{}-{lang:?}-{width}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&state_home);
    std::fs::create_dir_all(&state_home).expect("a state dir");
    let locale = match lang {
        Lang::En => "LANG=C.UTF-8",
        Lang::Zh => "LANG=zh_CN.UTF-8",
    };
    let env = [
        locale.to_string(),
        "LC_ALL=".to_string(),
        format!("XDG_STATE_HOME={}", state_home.display()),
    ];
    let socket = format!("podlab-walk-{}-{lang:?}-{width}", std::process::id());
    let tmux = Tmux::start_in(&socket, width, height, repo, &env);
    let title = lesson.file.title.get(lang);
    let first_step = lesson.steps()[0].title.get(lang);
    let pod_name = lesson.main_pod().to_string();

    // The lesson list.
    tmux.keys(&[&format!("{run}; echo podlab-exited-$?"), "Enter"]);
    let list = |s: &str| s.contains("01-process") && s.contains(title) && !s.contains(first_step);
    let started = Instant::now();
    tmux.wait_for(&format!("the lesson list ({what})"), FIRST_START, list);
    eprintln!(
        "{what}: the list after {:.1}s",
        started.elapsed().as_secs_f64()
    );

    // Enter opens lesson 01; Space takes steps until its pod runs.
    tmux.keys(&["Enter"]);
    tmux.wait_for(&format!("lesson 01 ({what})"), STAGE, |s| {
        s.contains(first_step)
    });
    let pod = step_until_running(&tmux, &pod_name, &what, lesson.steps().len());
    assert_real_pod(&pod);

    // q (and yes) comes back to the list, with the pod deleted.
    quit_to_list(&tmux, &what, list);
    common::assert_nothing_left(&pod);

    // e opens the explorer on the default pod; its steps build the pod up.
    tmux.keys(&["e"]);
    tmux.wait_for(&format!("the explorer ({what})"), STAGE, |s| {
        s.contains(&format!("pod/{EXPLORER_POD}"))
    });
    let explored = step_until_running(&tmux, EXPLORER_POD, &what, 10);
    assert_real_pod(&explored);
    quit_to_list(&tmux, &what, list);
    common::assert_nothing_left(&explored);

    // q in the list ends podlab: status 0, the shell's prompt, the normal screen.
    tmux.keys(&["q"]);
    tmux.wait_for(&format!("podlab's end ({what})"), STAGE, |s| {
        s.contains("podlab-exited-0") && s.trim_end().ends_with("e2e-prompt$")
    });
    assert_eq!(
        tmux.pane_format("#{alternate_on}"),
        "0",
        "the terminal is still on the alternate screen ({what})"
    );
    eprintln!("{what}: walked in {:.1}s", started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&state_home);
}

/// Press Space until the pod `name` runs with every container (at most `steps` times). After
/// each Space, the next comes once the screen has taken the step: its title bar (the step count
/// and the pod's status) changed, then held still. The panels below change all the time.
fn step_until_running(tmux: &Tmux, name: &str, what: &str, steps: usize) -> PodState {
    for _ in 0..steps {
        let title = || tmux.screen().lines().next().unwrap_or_default().to_string();
        let before = title();
        tmux.keys(&["Space"]);
        let until = Instant::now() + Duration::from_secs(10);
        let mut last = before.clone();
        let mut still_since = Instant::now();
        while Instant::now() < until {
            if let Some(pod) = running(name) {
                return pod;
            }
            answer_a_question(tmux);
            let now = title();
            if now != last {
                last = now;
                still_since = Instant::now();
            } else if last != before && still_since.elapsed() > Duration::from_millis(1500) {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
    panic!(
        "pod {name} did not run after {steps} steps ({what}); the screen:\n{}",
        tmux.screen()
    );
}

/// A step that asks first ("Predict, then watch") waits for an answer, as a newcomer gives
/// one: 1 picks the first choice, or is typed and sent with Enter.
fn answer_a_question(tmux: &Tmux) {
    let asking = || {
        let screen = tmux.screen();
        screen.contains("Predict, then watch") || screen.contains("先预测，再观察")
    };
    if !asking() {
        return;
    }
    tmux.keys(&["1"]);
    std::thread::sleep(Duration::from_millis(500));
    if asking() {
        tmux.keys(&["Enter"]);
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn running(name: &str) -> Option<PodState> {
    let pod = live_pod_named(name).ok().flatten()?;
    let all_running = !pod.containers.is_empty()
        && pod
            .containers
            .iter()
            .filter(|c| c.kind == podlab::kube::pod_state::ContainerKind::App)
            .all(|c| matches!(c.state, ContainerState::Running { .. }) && c.process.is_some());
    (all_running && pod.sandbox.is_some()).then_some(pod)
}

/// The pod as the kernel shows it: pause is a live `pause`, and every container is a live
/// process in pause's net namespace.
fn assert_real_pod(pod: &PodState) {
    let pause = pod.sandbox.as_ref().expect("a sandbox").pause.pid;
    let comm = std::fs::read_to_string(format!("/proc/{pause}/comm")).expect("pause in /proc");
    assert_eq!(comm.trim(), "pause", "pid {pause} is not pause");
    let net = |pid: i32| std::fs::read_link(format!("/proc/{pid}/ns/net")).expect("ns/net");
    for c in &pod.containers {
        let Some(p) = c.process else { continue };
        assert_eq!(
            net(p.pid),
            net(pause),
            "container {} (pid {}) is not in pause's net namespace",
            c.name,
            p.pid
        );
    }
}

/// q, then y if podlab asks, until the list is back; while the pod is deleted (the grace
/// period of a container that ignores SIGTERM), q once more kills it now, as the screen offers.
fn quit_to_list(tmux: &Tmux, what: &str, list: impl Fn(&str) -> bool) {
    let back = |within: Duration| {
        let until = Instant::now() + within;
        while Instant::now() < until {
            if list(&tmux.screen()) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    };
    tmux.keys(&["q"]);
    if back(Duration::from_secs(2)) {
        return;
    }
    tmux.keys(&["y"]);
    if back(Duration::from_secs(3)) {
        return;
    }
    tmux.wait_for(&format!("the offer to kill now ({what})"), STAGE, |s| {
        s.contains("q: ") || s.contains("q：")
    });
    tmux.keys(&["q"]);
    tmux.wait_for(&format!("the lesson list again ({what})"), STAGE, list);
}

/// `cargo run` builds only podlab: a podlab without its pause binary says how to build it
/// before anything is made, instead of failing in the middle of a lesson's first step.
#[test]
fn a_podlab_without_pause_says_how_to_build_it_before_any_pod() {
    let Some(_machine) = common::privileged() else {
        return;
    };
    let dir =
        PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("no-pause-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a scratch dir");
    let lonely = dir.join("podlab");
    std::fs::copy(common::PODLAB, &lonely).expect("copy podlab");
    let name = common::unique_name("no-pause");
    let manifest = common::write_manifest(
        &name,
        &format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  containers:\n    \
             - name: app\n      image: busybox:1.36\n      command: [sleep, '60']\n"
        ),
    );
    let out = std::process::Command::new(&lonely)
        .args(["run", "--detach"])
        .arg(&manifest)
        .output()
        .expect("run the copied podlab");
    let stderr = common::stderr(&out);
    assert!(!out.status.success(), "podlab ran without pause: {stderr}");
    assert!(
        stderr.contains("the pause binary is missing") && stderr.contains("cargo build"),
        "no word on how to build pause: {stderr}"
    );
    assert!(
        live_pod_named(&name).expect("list pods").is_none(),
        "a pod {name} was made without pause"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
