//! A terminal that goes away ends every screen (root, in tmux): the lesson list and a replay,
//! run as root and as the unprivileged user `nobody` (under su, as a learner without sudo
//! would), end within seconds of their tmux session being killed, with exit status 129 (as
//! for SIGHUP), and nothing stays behind spinning on the dead terminal. The explorer and the
//! lesson player are closed the same way in tui_faults.rs, with their pods.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::tmux::{wait_for_file, Tmux};
use common::{privileged, PODLAB};

/// How long podlab may take to end after its terminal went away.
const ENDS_WITHIN: Duration = Duration::from_secs(5);
const SHOWN_WITHIN: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy)]
enum Screen {
    LessonList,
    Replay,
}

impl Screen {
    fn args(self) -> &'static str {
        match self {
            Screen::LessonList => "",
            Screen::Replay => "replay assets/traces/two-containers.trace.jsonl",
        }
    }

    /// Something only this screen shows.
    fn shown(self, screen: &str) -> bool {
        match self {
            Screen::LessonList => screen.contains("01-process"),
            Screen::Replay => screen.contains("pod/two-containers"),
        }
    }
}

/// Run `screen` in a tmux session as `user` (None: root), kill the session once it shows, and
/// check that podlab ended quickly with 129.
fn close_terminal_of(screen: Screen, user: Option<&str>) {
    let tag = format!("{screen:?}-{}", user.unwrap_or("root"));
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("hangup-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&scratch);
    std::fs::create_dir_all(&scratch).expect("scratch dir");
    // The unprivileged user writes its exit status here.
    std::fs::set_permissions(&scratch, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    let status_file = scratch.join("status");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The shell around podlab ignores SIGHUP (podlab itself handles it) so that it lives on to
    // write podlab's exit status once the terminal is gone.
    let inner = format!(
        "trap '' HUP; cd {}; XDG_STATE_HOME={} {PODLAB} {}; echo $? > {}",
        repo.display(),
        scratch.join("state").display(),
        screen.args(),
        status_file.display()
    );
    let line = match user {
        None => inner,
        // In double quotes the outer shell would expand `$?` itself.
        Some(user) => format!(
            "su {user} -s /bin/bash -c \"{}\"",
            inner.replace('$', "\\$")
        ),
    };
    let tmux = Tmux::start(&format!("podlab-hup-{tag}-{}", std::process::id()), 100, 30);
    tmux.keys(&[&line, "Enter"]);
    tmux.wait_for(&format!("{tag} on screen"), SHOWN_WITHIN, |s| {
        screen.shown(s)
    });
    let podlab = tmux.podlab_pid(SHOWN_WITHIN);
    let pid = podlab.pid;
    let _ = tmux.run(&["kill-session", "-t", "e2e"]);
    let closed = Instant::now();
    let status = wait_for_file(&status_file, ENDS_WITHIN + Duration::from_secs(5));
    let took = closed.elapsed();
    assert_eq!(
        status.trim(),
        "129",
        "{tag}: podlab's exit status after its terminal was closed"
    );
    assert!(
        took <= ENDS_WITHIN,
        "{tag}: podlab took {took:?} to end after its terminal was closed"
    );
    assert!(
        !common::is_running(pid),
        "{tag}: podlab (pid {pid}) still runs"
    );
    let _ = std::fs::remove_dir_all(&scratch);
}

#[test]
fn closing_the_terminal_ends_the_lesson_list_and_a_replay_as_root() {
    let Some(_machine) = privileged() else {
        return;
    };
    close_terminal_of(Screen::LessonList, None);
    close_terminal_of(Screen::Replay, None);
}

#[test]
fn closing_the_terminal_ends_the_lesson_list_and_a_replay_as_an_unprivileged_user() {
    let Some(_machine) = privileged() else {
        return;
    };
    close_terminal_of(Screen::LessonList, Some("nobody"));
    close_terminal_of(Screen::Replay, Some("nobody"));
}
