//! The explorer's costs: frame render time at 160×48 (goal ≤ 2 ms), and, as root with tmux,
//! the real `podlab explore` on a 3-container pod at 4 Hz: idle CPU over 60 s (goal ≤ 1% of a
//! core) and RSS (goal ≤ 30 MB).
//!
//! Run: `cargo bench --bench tui` (PODLAB_BENCH_IDLE_SECS changes the 60 s).

use std::process::Command;
use std::time::{Duration, Instant};

use podlab::i18n::Lang;
use podlab::observe::procfs_read;
use podlab::tui::{demo, ui};
use ratatui::backend::TestBackend;
use ratatui::Terminal;

const FRAMES: usize = 500;

fn frame_times() {
    let now = Instant::now();
    let app = demo::app(demo::THREE_CONTAINERS, 7, Lang::En, now);
    for (w, h) in [(160u16, 48u16), (80, 24)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        let mut times = Vec::with_capacity(FRAMES);
        for _ in 0..FRAMES {
            let t0 = Instant::now();
            terminal.draw(|f| ui::draw(f, &app, now)).expect("draw");
            times.push(t0.elapsed());
        }
        times.sort();
        let median = times[FRAMES / 2];
        let p99 = times[FRAMES * 99 / 100];
        println!(
            "frame {w}x{h}: median {:.3} ms, p99 {:.3} ms ({FRAMES} frames, draw + diff on TestBackend)",
            median.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3
        );
    }
}

fn tmux(socket: &str, args: &[&str]) -> String {
    let out = Command::new("tmux")
        .args(["-L", socket])
        .args(args)
        .output()
        .expect("tmux");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn wait_for(socket: &str, what: &str, check: impl Fn(&str) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let screen = tmux(socket, &["capture-pane", "-p", "-t", "bench"]);
        if check(&screen) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{screen}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// utime + stime in clock ticks, from stat.
fn cpu_ticks(pid: u32) -> u64 {
    procfs_read::read_stat(std::path::Path::new("/proc"), pid as i32)
        .map(|s| s.utime + s.stime)
        .unwrap_or(0)
}

/// VmRSS and VmHWM in kB, from status.
fn rss_and_peak_kb(pid: u32) -> (u64, u64) {
    std::fs::read(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|text| procfs_read::parse_status(&text))
        .map(|s| (s.vmrss.unwrap_or(0), s.vmhwm.unwrap_or(0)))
        .unwrap_or((0, 0))
}

struct KillServer(String);

impl Drop for KillServer {
    fn drop(&mut self) {
        tmux(&self.0, &["kill-server"]);
    }
}

fn idle_run() {
    if !nix::unistd::geteuid().is_root() || Command::new("tmux").arg("-V").output().is_err() {
        println!("idle CPU / RSS: skipped (needs root and tmux)");
        return;
    }
    let secs: u64 = std::env::var("PODLAB_BENCH_IDLE_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("bench");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let manifest = dir.join("three-containers.yaml");
    std::fs::write(&manifest, demo::THREE_CONTAINERS).expect("manifest");
    let socket = format!("podlab-bench-{}", std::process::id());
    let _server = KillServer(socket.clone());
    tmux(
        &socket,
        &[
            "new-session",
            "-d",
            "-s",
            "bench",
            "-x",
            "160",
            "-y",
            "48",
            "bash",
            "--norc",
        ],
    );
    let cmd = format!(
        "{} explore --rate 4 {}",
        env!("CARGO_BIN_EXE_podlab"),
        manifest.display()
    );
    tmux(&socket, &["send-keys", "-t", "bench", &cmd, "Enter"]);
    wait_for(&socket, "the explorer", |s| s.contains("Step 1/7"));
    for step in 1..=7 {
        tmux(&socket, &["send-keys", "-t", "bench", "Space"]);
        wait_for(&socket, "a step", |s| {
            s.contains(&format!("Steps {step}/7"))
        });
    }
    let pid: u32 = tmux(&socket, &["list-panes", "-t", "bench", "-F", "#{pane_pid}"])
        .trim()
        .parse()
        .expect("pane pid");
    let explorer: u32 = String::from_utf8_lossy(
        &Command::new("pgrep")
            .args(["-P", &pid.to_string(), "podlab"])
            .output()
            .expect("pgrep")
            .stdout,
    )
    .trim()
    .parse()
    .expect("the explorer's pid");
    // Let the highlights of the last step expire first.
    std::thread::sleep(Duration::from_secs(5));
    let hz = rustix::param::clock_ticks_per_second() as f64;
    let t0 = Instant::now();
    let c0 = cpu_ticks(explorer);
    std::thread::sleep(Duration::from_secs(secs));
    let c1 = cpu_ticks(explorer);
    let wall = t0.elapsed().as_secs_f64();
    let cpu = (c1 - c0) as f64 / hz / wall * 100.0;
    let (rss, peak) = rss_and_peak_kb(explorer);
    println!(
        "idle, 3-container pod, 4 Hz, {secs} s: CPU {cpu:.2}% of a core; RSS {rss} KiB (peak {peak} KiB)"
    );
    tmux(&socket, &["send-keys", "-t", "bench", "q"]);
    wait_for(&socket, "the quit question", |s| s.contains("Quit?"));
    tmux(&socket, &["send-keys", "-t", "bench", "y"]);
    wait_for(&socket, "the pod's deletion", |s| s.contains("deleted"));
}

fn main() {
    frame_times();
    idle_run();
}
