//! Scaling: 1, 10 and 50 pods of pause + 3 busybox containers, with the pod network. For each
//! count: the start time per pod, the time of an observe snapshot of the whole host and of one
//! pod, the memory of the shims and of all pod processes, and the delete time per pod. Every pod
//! is deleted before the next count (and by its shim if the bench dies: the pods are not
//! detached). Run as root: `cargo bench --bench scaling`.

use std::time::{Duration, Instant};

use podlab::kube::protocol::Request;
use podlab::observe::{Collector, Sources, Target};
use podlab::runtime::client::{start_pod, StartOptions};
use podlab::runtime::lookup;
use podlab::runtime::network;

const COUNTS: [usize; 3] = [1, 10, 50];
const SNAPSHOT_ROUNDS: usize = 7;

fn fail(message: &str) -> ! {
    eprintln!("scaling: {message}");
    std::process::exit(1)
}

fn manifest(name: &str) -> podlab::spec::Pod {
    let container =
        |c: &str| format!("  - {{name: {c}, image: busybox, command: [sleep, \"3600\"]}}\n");
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n{}{}{}",
        container("a"),
        container("b"),
        container("c")
    );
    podlab::spec::parse_pod(&yaml, "bench.yaml")
        .unwrap_or_else(|e| fail(&format!("the bench manifest is invalid: {e}")))
        .pod
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

/// (RSS, PSS) in KiB from /proc/<pid>/smaps_rollup.
fn memory_kib(pid: i32) -> (u64, u64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    (field("Rss:"), field("Pss:"))
}

/// First and next tick of a fresh collector, medians over a few rounds.
fn time_snapshot(target: &Target) -> (Duration, Duration) {
    let mut first = vec![];
    let mut next = vec![];
    for _ in 0..SNAPSHOT_ROUNDS {
        let mut collector = Collector::new(Sources::default());
        let t = Instant::now();
        if let Err(e) = collector.snapshot(target) {
            fail(&format!("snapshot: {e:#}"));
        }
        first.push(t.elapsed());
        let t = Instant::now();
        if let Err(e) = collector.snapshot(target) {
            fail(&format!("snapshot: {e:#}"));
        }
        next.push(t.elapsed());
    }
    (median(first), median(next))
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        fail("needs root");
    }
    let options = StartOptions {
        manifest_path: "bench.yaml".into(),
        detach: false,
        time_scale: 1.0,
        network: Some(network::Config::default()),
        podlab_exe: Some(std::path::PathBuf::from(env!("CARGO_BIN_EXE_podlab"))),
        pod_max_pids: None,
        offline: true,
    };
    println!(
        "pods of pause + 3 busybox containers, with the pod network; times in ms, memory in MiB"
    );
    println!("| pods | start per pod, median (max) | host snapshot, first / next | one pod snapshot, first / next | shim RSS each | shims PSS total | all pod processes PSS total | delete per pod, median |");
    println!("|---|---|---|---|---|---|---|---|");
    for count in COUNTS {
        let mut pods = vec![];
        let mut starts = vec![];
        for i in 0..count {
            let name = format!("scale-{count}-{i}");
            let t = Instant::now();
            let (_uid, mut conn) = start_pod(&manifest(&name), &options)
                .unwrap_or_else(|e| fail(&format!("start {name}: {e:#}")));
            if let Err(e) = conn.request(&Request::RunAll) {
                fail(&format!("create {name}: {e:#}"));
            }
            starts.push(t.elapsed());
            pods.push((name, conn));
        }
        let host = time_snapshot(&Target::Host);
        let one = time_snapshot(&Target::Pod(pods[0].0.clone()));

        let mut shim_rss = vec![];
        let (mut shims_pss, mut all_pss) = (0u64, 0u64);
        for (name, _) in &pods {
            let state = lookup::find_pod(name).unwrap_or_else(|e| fail(&format!("{e:#}")));
            let (rss, pss) = memory_kib(state.shim.pid);
            shim_rss.push(rss);
            shims_pss += pss;
            all_pss += pss;
            let others = state.sandbox.iter().map(|s| s.pause.pid).chain(
                state
                    .containers
                    .iter()
                    .filter_map(|c| c.process.map(|p| p.pid)),
            );
            all_pss += others.map(|pid| memory_kib(pid).1).sum::<u64>();
        }
        shim_rss.sort_unstable();
        let shim_rss_median = shim_rss.get(shim_rss.len() / 2).copied().unwrap_or(0);

        let mut deletes = vec![];
        for (name, mut conn) in pods {
            let t = Instant::now();
            if let Err(e) = conn.delete(Some(0)) {
                fail(&format!("delete {name}: {e:#}"));
            }
            deletes.push(t.elapsed());
        }
        println!(
            "| {count} | {:.1} ({:.1}) | {:.1} / {:.1} | {:.1} / {:.2} | {:.1} | {:.1} | {:.1} | {:.1} |",
            ms(median(starts.clone())),
            ms(starts.iter().max().copied().unwrap_or_default()),
            ms(host.0),
            ms(host.1),
            ms(one.0),
            ms(one.1),
            shim_rss_median as f64 / 1024.0,
            shims_pss as f64 / 1024.0,
            all_pss as f64 / 1024.0,
            ms(median(deletes)),
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "\nload average at the end: {}",
        load.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
}
