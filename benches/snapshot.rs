//! Observe-layer timings, with `lsns` and `pstree -p` timed in the same run for comparison.
//!
//! Run as root: `cargo bench --bench snapshot`. Starts a small unshare'd process group and
//! 2,000 `sleep` processes, and kills and reaps all of them when done (also on panic).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podlab::observe::{Collector, Sources, Target};

const SLEEPERS: usize = 2000;
const ROUNDS: usize = 15;

/// Kills and reaps its children when dropped.
#[derive(Default)]
struct Procs(Vec<Child>);

impl Procs {
    fn spawn(&mut self, program: &str, args: &[&str]) -> u32 {
        let child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("failed to start {program}: {e}"));
        let pid = child.id();
        self.0.push(child);
        pid
    }
}

impl Drop for Procs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
        }
        for c in &mut self.0 {
            let _ = c.wait();
        }
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn time_command(program: &str, args: &[&str]) -> Duration {
    median(
        (0..ROUNDS)
            .map(|_| {
                let start = Instant::now();
                let status = Command::new(program)
                    .args(args)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .unwrap_or_else(|e| panic!("failed to run {program}: {e}"));
                assert!(status.success(), "{program} failed");
                start.elapsed()
            })
            .collect(),
    )
}

/// Median of `ROUNDS` first ticks (fresh collector each) and of `ROUNDS` next ticks.
fn time_snapshot(target: &Target) -> (Duration, Duration) {
    let mut first = Vec::new();
    let mut next = Vec::new();
    for _ in 0..ROUNDS {
        let mut c = Collector::new(Sources::default());
        let start = Instant::now();
        c.snapshot(target).expect("snapshot");
        first.push(start.elapsed());
        let start = Instant::now();
        c.snapshot(target).expect("snapshot");
        next.push(start.elapsed());
    }
    (median(first), median(next))
}

fn count_processes() -> usize {
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().parse::<u32>().is_ok())
                .count()
        })
        .unwrap_or(0)
}

fn main() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "run the benchmark as root"
    );
    let mut procs = Procs::default();
    let holder = procs.spawn(
        "unshare",
        &[
            "--net",
            "--ipc",
            "--uts",
            "--pid",
            "--kill-child",
            "--mount-proc",
            "sleep",
            "600",
        ],
    );
    std::thread::sleep(Duration::from_millis(200));
    let small = Target::Pids(vec![holder as i32]);

    let n0 = count_processes();
    let (small_first, small_next) = time_snapshot(&small);
    let (host_first_idle, host_next_idle) = time_snapshot(&Target::Host);
    let lsns_idle = time_command("lsns", &[]);
    let pstree_idle = time_command("pstree", &["-p"]);

    let mut sleepers = Procs::default();
    for _ in 0..SLEEPERS {
        sleepers.spawn("sleep", &["600"]);
    }
    std::thread::sleep(Duration::from_millis(300));
    let n1 = count_processes();
    let (small_first_busy, small_next_busy) = time_snapshot(&small);
    let (host_first, host_next) = time_snapshot(&Target::Host);
    let lsns = time_command("lsns", &[]);
    let pstree = time_command("pstree", &["-p"]);
    drop(sleepers);
    drop(procs);

    println!("| measurement (median of {ROUNDS}) | {n0} processes | {n1} processes |");
    println!("|---|---|---|");
    println!(
        "| small group (unshare + child), first tick | {} | {} |",
        ms(small_first),
        ms(small_first_busy)
    );
    println!(
        "| small group, next tick | {} | {} |",
        ms(small_next),
        ms(small_next_busy)
    );
    println!(
        "| whole host (`--host`), first tick | {} | {} |",
        ms(host_first_idle),
        ms(host_first)
    );
    println!(
        "| whole host, next tick | {} | {} |",
        ms(host_next_idle),
        ms(host_next)
    );
    println!("| `lsns` | {} | {} |", ms(lsns_idle), ms(lsns));
    println!("| `pstree -p` | {} | {} |", ms(pstree_idle), ms(pstree));
}
