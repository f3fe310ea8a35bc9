//! Pod start and teardown: pause + 2 containers on the busybox image, without and with the pod
//! network. Measures from the client's first call until every container has exec'd (the shim
//! answers RunAll only then), and the delete until everything is removed.
//!
//! Run as root: `cargo bench --bench pod_start` (results go to BENCHMARKS.md by hand).

use std::time::{Duration, Instant};

use podlab::kube::protocol::Request;
use podlab::runtime::client::{start_pod, StartOptions};
use podlab::runtime::network;

const ITERATIONS: usize = 30;

fn pod(name: &str) -> podlab::spec::Pod {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  \
         - {{name: a, image: busybox, command: [sleep, \"3600\"]}}\n  - {{name: b, image: busybox, command: [sleep, \"3600\"]}}\n"
    );
    podlab::spec::parse_pod(&yaml, "bench.yaml")
        .expect("valid manifest")
        .pod
}

struct Stats {
    samples: Vec<Duration>,
}

impl Stats {
    fn percentile(&self, p: f64) -> Duration {
        let mut s = self.samples.clone();
        s.sort();
        s[((s.len() - 1) as f64 * p).round() as usize]
    }
    fn line(&self, what: &str) -> String {
        format!(
            "| {what} | {:.1} | {:.1} | {:.1} |",
            self.percentile(0.5).as_secs_f64() * 1e3,
            self.percentile(0.9).as_secs_f64() * 1e3,
            self.percentile(0.0).as_secs_f64() * 1e3
        )
    }
}

fn measure(with_network: bool) -> (Stats, Stats) {
    let exe = std::path::PathBuf::from(env!("CARGO_BIN_EXE_podlab"));
    let mut start = Stats { samples: vec![] };
    let mut stop = Stats { samples: vec![] };
    for i in 0..ITERATIONS + 2 {
        let pod = pod(&format!(
            "bench-{}-{i}",
            if with_network { "net" } else { "lo" }
        ));
        let options = StartOptions {
            manifest_path: "bench.yaml".into(),
            detach: false,
            time_scale: 1.0,
            network: with_network.then(network::Config::default),
            podlab_exe: Some(exe.clone()),
            pod_max_pids: None,
            offline: true,
        };
        let t0 = Instant::now();
        let (_uid, mut conn) = start_pod(&pod, &options).expect("start the pod");
        conn.request(&Request::RunAll).expect("create every step");
        let started = t0.elapsed();
        let t1 = Instant::now();
        conn.delete(Some(0)).expect("delete");
        let stopped = t1.elapsed();
        if i >= 2 {
            // The first runs warm the page cache and build nothing: they are not counted.
            start.samples.push(started);
            stop.samples.push(stopped);
        }
    }
    (start, stop)
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("pod_start needs root");
        std::process::exit(1);
    }
    println!("{ITERATIONS} pods each, pause + 2 busybox containers; milliseconds");
    println!("| measurement | median | p90 | min |");
    println!("|---|---|---|---|");
    let (start, stop) = measure(false);
    println!(
        "{}",
        start.line("start, no network (until every container exec'd)")
    );
    println!(
        "{}",
        stop.line("delete, no network (grace 0, until all removed)")
    );
    let (start, stop) = measure(true);
    println!(
        "{}",
        start.line("start, with network (veth + IP on podlab0)")
    );
    println!("{}", stop.line("delete, with network"));
}
