//! A tmux server of our own for end-to-end tests of the TUI: a fixed-size pane running a
//! plain bash, keys sent to it, its screen and modes read back.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A tmux server of our own (its own socket), killed when dropped, even on failure.
pub struct Tmux {
    socket: String,
}

impl Tmux {
    pub fn start(socket: &str, width: u16, height: u16) -> Tmux {
        Tmux::start_in(socket, width, height, Path::new("."), &[])
    }

    /// A pane whose shell runs in `dir` with `env` (NAME=value) added to its environment.
    pub fn start_in(socket: &str, width: u16, height: u16, dir: &Path, env: &[String]) -> Tmux {
        let tmux = Tmux {
            socket: socket.to_string(),
        };
        let (width, height) = (width.to_string(), height.to_string());
        let dir = dir.display().to_string();
        let mut args = vec![
            "new-session",
            "-d",
            "-s",
            "e2e",
            "-x",
            &width,
            "-y",
            &height,
            "-c",
            &dir,
            "env",
            "PS1=e2e-prompt$ ",
        ];
        args.extend(env.iter().map(String::as_str));
        args.extend(["bash", "--norc", "--noprofile"]);
        let out = tmux.run(&args);
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            super::stderr(&out)
        );
        tmux
    }

    pub fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test installs it)")
    }

    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "e2e"];
        args.extend_from_slice(keys);
        let out = self.run(&args);
        assert!(out.status.success(), "send-keys: {}", super::stderr(&out));
    }

    pub fn screen(&self) -> String {
        super::stdout(&self.run(&["capture-pane", "-p", "-t", "e2e"]))
    }

    pub fn wait_for(&self, what: &str, timeout: Duration, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; the screen:\n{screen}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        // SIGHUP to the explorer, which then restores the terminal and deletes its pod.
        let _ = self.run(&["kill-server"]);
    }
}

impl Tmux {
    /// The screen and the lines that scrolled off it.
    pub fn history(&self) -> String {
        super::stdout(&self.run(&["capture-pane", "-p", "-S", "-", "-t", "e2e"]))
    }

    /// A format of the pane, e.g. `#{alternate_on}`.
    pub fn pane_format(&self, format: &str) -> String {
        super::stdout(&self.run(&["display-message", "-p", "-t", "e2e", format]))
            .trim()
            .to_string()
    }

    /// The pid of the pane's shell.
    pub fn shell_pid(&self) -> i32 {
        let pid = self.pane_format("#{pane_pid}");
        pid.parse()
            .unwrap_or_else(|_| panic!("tmux gave no pane pid: {pid:?}"))
    }

    /// The `podlab` the pane's shell runs, directly or not (waiting until it runs).
    pub fn podlab_pid(&self, timeout: Duration) -> RunningPodlab {
        let shell = self.shell_pid();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(pid) = child_named(shell, "podlab") {
                if let Some(start_time) = start_time(pid) {
                    return RunningPodlab { pid, start_time };
                }
            }
            assert!(
                Instant::now() < deadline,
                "no podlab process under the pane's shell (pid {shell})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// A podlab a pane runs. Dropped while it still runs (a test failed before it ended), it is
/// killed, so no podlab outlives its test; its pods go with its shim.
pub struct RunningPodlab {
    pub pid: i32,
    /// Its start time (/proc/PID/stat field 22): a reused pid is never killed.
    start_time: u64,
}

impl Drop for RunningPodlab {
    fn drop(&mut self) {
        if start_time(self.pid) == Some(self.start_time) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(self.pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

/// A process's start time in clock ticks, while it runs (not a zombie).
fn start_time(pid: i32) -> Option<u64> {
    super::proc_stat(pid)
        .filter(|s| s.state.0 != 'Z')
        .map(|s| s.start_time)
}

/// A descendant of `ancestor` (a child, or a child's child: su runs a shell that runs podlab)
/// whose command name is `comm`.
fn child_named(ancestor: i32, comm: &str) -> Option<i32> {
    let parents: Vec<(i32, i32, String)> = std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = super::proc_stat(pid)?;
            Some((pid, stat.ppid, stat.comm))
        })
        .collect();
    let parent_of = |pid: i32| parents.iter().find(|p| p.0 == pid).map(|p| p.1);
    parents
        .iter()
        .filter(|(_, _, name)| name == comm)
        .map(|(pid, _, _)| *pid)
        .find(|&pid| {
            let mut at = pid;
            for _ in 0..8 {
                match parent_of(at) {
                    Some(p) if p == ancestor => return true,
                    Some(p) if p > 1 => at = p,
                    _ => return false,
                }
            }
            false
        })
}

/// Waits until `path` exists (something the pane wrote) and returns its text.
pub fn wait_for_file(path: &Path, timeout: Duration) -> String {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(text) = std::fs::read_to_string(path) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}
