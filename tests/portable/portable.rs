//! The portable build (`--no-default-features`: no nix, procfs, netlink or caps, as on macOS)
//! is built for real and run: every command but `replay` answers with one sentence and fails,
//! and `podlab replay` plays a shipped trace (the explorer's, a lesson's) to its end without root, headless (autoplay
//! under script(1), recording what it drew).
//!
//! The binary is built once per test run with the same cargo, into a target directory of its
//! own, so the host build's `target/debug/podlab` stays the host build.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use podlab::i18n::Lang;
use podlab::tui::record::trace::Trace;
use podlab::tui::words::REPLAY_ONLY_BUILD;

const TRACE: &str = "assets/traces/two-containers.trace.jsonl";
/// A lesson's trace replays in the lesson player, which the portable build has too.
const LESSON_TRACE: &str = "assets/traces/lesson-03.trace.jsonl";

/// The portable podlab, built on first use; a failed build fails the test with cargo's output.
fn portable_podlab() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("portable");
        let out = Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--no-default-features",
                "--bin",
                "podlab",
            ])
            .arg("--target-dir")
            .arg(&target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .output()
            .expect("run cargo to build the portable podlab");
        assert!(
            out.status.success(),
            "cargo build --no-default-features failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        target_dir.join("debug").join("podlab")
    })
}

/// The portable podlab with `args`, in a fixed language unless `--lang` says otherwise.
fn run_portable(args: &[&str]) -> Output {
    Command::new(portable_podlab())
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .expect("run the portable podlab")
}

#[test]
fn commands_that_build_pods_say_this_build_only_replays() {
    let cases: [(&[&str], Lang); 6] = [
        (&[], Lang::En),
        (&["run", "assets/pods/two-containers.yaml"], Lang::En),
        (&["lesson", "01"], Lang::En),
        (&["explore"], Lang::En),
        (&["ps"], Lang::En),
        (&["--lang", "zh", "lesson", "01"], Lang::Zh),
    ];
    for (args, lang) in cases {
        let out = run_portable(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(1),
            "podlab {args:?} should fail; stderr: {stderr}"
        );
        assert_eq!(
            stderr,
            format!("podlab: {}\n", REPLAY_ONLY_BUILD.get(lang)),
            "podlab {args:?}"
        );
        assert!(out.stdout.is_empty(), "podlab {args:?} printed to stdout");
    }
    // The help lists what this build can do: replay, and nothing that builds pods.
    let help = run_portable(&["--help"]);
    assert!(help.status.success());
    let help = String::from_utf8_lossy(&help.stdout);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| *l != "Commands:")
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(commands, ["replay", "help"], "{help}");
}

/// A child killed (with what it started) if the test ends before it does.
struct KillOnDrop(Child);

impl KillOnDrop {
    fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.0.try_wait().expect("wait for the replay") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the replay did not end within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `[seconds, "m", label]` events of an asciicast v2 file.
fn markers(cast: &str) -> Vec<String> {
    cast.lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<(f64, String, String)>(l).ok())
        .filter(|(_, kind, _)| kind == "m")
        .map(|(_, _, label)| label)
        .collect()
}

#[test]
fn the_portable_build_replays_the_shipped_trace_without_root() {
    replays_to_the_end_without_root(TRACE);
}

#[test]
fn the_portable_build_replays_a_lesson_trace_without_root() {
    replays_to_the_end_without_root(LESSON_TRACE);
}

/// Replays a shipped trace with the portable binary, as nobody, and checks from the recording
/// that every step was shown, in order, to the end.
fn replays_to_the_end_without_root(trace_file: &str) {
    let podlab = portable_podlab();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let trace = Trace::load(&manifest_dir.join(trace_file)).expect("the shipped trace loads");
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cast = dir.path().join("replay.cast");
    let replay = format!(
        "'{}' replay '{}' --autoplay --hold 0 --quit-at-end --size 100x30 --record '{}'",
        podlab.display(),
        manifest_dir.join(trace_file).display(),
        cast.display()
    );
    // script(1) gives the replay the terminal it asks for; as root, the replay runs as
    // nobody, to show that it needs no privilege.
    let mut command = if nix::unistd::geteuid().is_root() {
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .expect("let nobody write the recording");
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", "script"]);
        c
    } else {
        Command::new("script")
    };
    command
        .args(["-qec", &replay, "/dev/null"])
        .env("TERM", "xterm-256color")
        .env("LANG", "C.UTF-8")
        .env_remove("LC_ALL")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = KillOnDrop(
        command
            .spawn()
            .expect("run script(1) (util-linux/bsdutils; scripts/test installs it)"),
    );
    let status = child.wait(Duration::from_secs(60));
    let mut stderr = String::new();
    if let Some(mut err) = child.0.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut err, &mut stderr);
    }
    assert!(status.success(), "the replay failed ({status}): {stderr}");

    let text = std::fs::read_to_string(&cast).expect("the replay wrote its recording");
    let header: serde_json::Value =
        serde_json::from_str(text.lines().next().unwrap_or_default()).expect("a cast header");
    assert_eq!(header["width"], 100);
    assert_eq!(header["height"], 30);
    let title = match &trace.header.lesson {
        Some(lesson) => format!("podlab replay: lesson {}", lesson.id),
        None => format!("podlab replay: pod/{}", trace.header.pod),
    };
    assert_eq!(header["title"], title);
    // Every step of the trace was played, in order, to the end.
    let mut expected: Vec<String> = trace
        .header
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{} {}: {}", i + 1, s.id, s.title.en))
        .collect();
    expected.push(format!("{} done", trace.steps()));
    assert_eq!(markers(&text), expected);
}

#[test]
fn a_replay_ended_by_sigterm_exits_with_128_plus_its_number() {
    let podlab = portable_podlab();
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // No autoplay: the replay waits for keys until the signal comes. `exec` makes podlab
    // script(1)'s child, so the signal goes to podlab itself.
    let replay = format!(
        "exec '{}' replay '{}'",
        podlab.display(),
        manifest_dir.join(TRACE).display()
    );
    let mut child = KillOnDrop(
        Command::new("script")
            .args(["-qec", &replay, "/dev/null"])
            .env("TERM", "xterm-256color")
            .env("LANG", "C.UTF-8")
            .env_remove("LC_ALL")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("run script(1) (util-linux/bsdutils; scripts/test installs it)"),
    );
    let script_pid = child.0.id();
    let deadline = Instant::now() + Duration::from_secs(20);
    let replay_pid = loop {
        let children =
            std::fs::read_to_string(format!("/proc/{script_pid}/task/{script_pid}/children"))
                .unwrap_or_default();
        if let Some(pid) = children
            .split_whitespace()
            .filter_map(|p| p.parse::<i32>().ok())
            .find(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim() == "podlab")
            })
        {
            break pid;
        }
        assert!(Instant::now() < deadline, "the replay did not start");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Let it take the terminal over before the signal comes.
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(replay_pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .expect("SIGTERM the replay");
    let status = child.wait(Duration::from_secs(20));
    assert_eq!(
        status.code(),
        Some(143),
        "exit status after SIGTERM: {status}"
    );
}
