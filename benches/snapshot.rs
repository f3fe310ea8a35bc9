//! Observe-layer timings, with `lsns` and `pstree -p` timed in the same run for comparison.
//!
//! Run as root: `cargo bench --bench snapshot`. Starts a podlab pod (pause + 3 containers), a
//! small unshare'd process group and 2,000 `sleep` processes, and removes all of them when
//! done (also on panic). Wall time and the CPU time of this process (all threads) are given,
//! since the CPU time does not depend on what else the machine is doing.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use podlab::observe::{Collector, Sources, Target};

const SLEEPERS: usize = 2000;
const ROUNDS: usize = 15;
const PODLAB: &str = env!("CARGO_BIN_EXE_podlab");

const POD_YAML: &str = "apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  containers:
    - name: a
      image: busybox
      command: [\"sleep\", \"3600\"]
    - name: b
      image: busybox
      command: [\"sleep\", \"3600\"]
    - name: web
      image: busybox
      command: [\"httpd\", \"-f\", \"-p\", \"8080\"]
";

/// A detached podlab pod, deleted when dropped.
struct Pod {
    name: String,
    manifest: std::path::PathBuf,
}

impl Pod {
    fn run() -> Pod {
        let name = format!("observe-bench-{}", std::process::id());
        let manifest = std::env::temp_dir().join(format!("{name}.yaml"));
        std::fs::write(&manifest, POD_YAML.replace("{name}", &name))
            .unwrap_or_else(|e| panic!("failed to write {}: {e}", manifest.display()));
        let pod = Pod { name, manifest };
        let out = Command::new(PODLAB)
            .args(["run", "--detach"])
            .arg(&pod.manifest)
            .output()
            .expect("run podlab");
        assert!(
            out.status.success(),
            "podlab run failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let running = podlab::runtime::lookup::find_pod(&pod.name).is_ok_and(|s| {
                s.containers.len() == 3 && s.containers.iter().all(|c| c.process.is_some())
            });
            if running {
                return pod;
            }
            assert!(Instant::now() < deadline, "the benchmark pod did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Pod {
    fn drop(&mut self) {
        let _ = Command::new(PODLAB)
            .args(["delete", "--grace-period", "0", &self.name])
            .output();
        let _ = std::fs::remove_file(&self.manifest);
    }
}

/// CPU time (user + system) of this process, all threads, to the microsecond.
fn cpu_time() -> Duration {
    use nix::sys::resource::{getrusage, UsageWho};
    let Ok(usage) = getrusage(UsageWho::RUSAGE_SELF) else {
        return Duration::ZERO;
    };
    let micros = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec() as u64) + Duration::from_micros(t.tv_usec() as u64)
    };
    micros(usage.user_time()) + micros(usage.system_time())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_default()
}

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

/// Wall and CPU time of one measurement (medians).
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (cpu {})", ms(self.wall), ms(self.cpu))
    }
}

/// Medians of `ROUNDS` first ticks (fresh collector each) and of the `ROUNDS` ticks after
/// each (the same collector, right away).
fn time_snapshot(target: &Target, listeners: bool) -> (Timing, Timing) {
    let (mut first, mut first_cpu) = (Vec::new(), Vec::new());
    let (mut next, mut next_cpu) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let mut c = Collector::new(Sources::default());
        c.set_listeners(listeners);
        let (start, cpu) = (Instant::now(), cpu_time());
        c.snapshot(target).expect("snapshot");
        first.push(start.elapsed());
        first_cpu.push(cpu_time().saturating_sub(cpu));
        let (start, cpu) = (Instant::now(), cpu_time());
        c.snapshot(target).expect("snapshot");
        next.push(start.elapsed());
        next_cpu.push(cpu_time().saturating_sub(cpu));
    }
    (
        Timing {
            wall: median(first),
            cpu: median(first_cpu),
        },
        Timing {
            wall: median(next),
            cpu: median(next_cpu),
        },
    )
}

/// All measurements at one host size.
struct Column {
    processes: usize,
    load: String,
    pod: (Timing, Timing),
    pod_quiet: (Timing, Timing),
    small: (Timing, Timing),
    host: (Timing, Timing),
    host_quiet: (Timing, Timing),
    lsns: Duration,
    pstree: Duration,
}

fn measure(pod: &Target, small: &Target) -> Column {
    let load = load_average();
    Column {
        processes: count_processes(),
        pod: time_snapshot(pod, true),
        pod_quiet: time_snapshot(pod, false),
        small: time_snapshot(small, true),
        host: time_snapshot(&Target::Host, true),
        host_quiet: time_snapshot(&Target::Host, false),
        lsns: time_command("lsns", &[]),
        pstree: time_command("pstree", &["-p"]),
        load: format!("{load} → {}", load_average()),
    }
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
    let pod = Pod::run();
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
    let pod_target = Target::Pod(pod.name.clone());
    let small = Target::Pids(vec![holder as i32]);
    let idle = measure(&pod_target, &small);

    let mut sleepers = Procs::default();
    for _ in 0..SLEEPERS {
        sleepers.spawn("sleep", &["600"]);
    }
    std::thread::sleep(Duration::from_millis(300));
    let busy = measure(&pod_target, &small);
    drop(sleepers);
    drop(procs);
    drop(pod);

    let (a, b) = (&idle, &busy);
    println!(
        "| measurement (median of {ROUNDS}) | {} processes | {} processes |",
        a.processes, b.processes
    );
    println!("|---|---|---|");
    let rows: [(&str, Timing, Timing); 10] = [
        ("one pod (pause + 3), first tick", a.pod.0, b.pod.0),
        ("one pod, next tick", a.pod.1, b.pod.1),
        (
            "one pod without listeners, first tick",
            a.pod_quiet.0,
            b.pod_quiet.0,
        ),
        (
            "one pod without listeners, next tick",
            a.pod_quiet.1,
            b.pod_quiet.1,
        ),
        (
            "small group (unshare + child), first tick",
            a.small.0,
            b.small.0,
        ),
        ("small group, next tick", a.small.1, b.small.1),
        ("whole host (`--host`), first tick", a.host.0, b.host.0),
        ("whole host, next tick", a.host.1, b.host.1),
        (
            "whole host without listeners, first tick",
            a.host_quiet.0,
            b.host_quiet.0,
        ),
        (
            "whole host without listeners, next tick",
            a.host_quiet.1,
            b.host_quiet.1,
        ),
    ];
    for (name, x, y) in rows {
        println!("| {name} | {x} | {y} |");
    }
    println!("| `lsns` | {} | {} |", ms(a.lsns), ms(b.lsns));
    println!("| `pstree -p` | {} | {} |", ms(a.pstree), ms(b.pstree));
    println!(
        "| load average (1 min) before → after | {} | {} |",
        a.load, b.load
    );
}
