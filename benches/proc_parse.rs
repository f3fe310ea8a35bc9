//! The cost of parsing the /proc files observe reads, without the reads: each file is read
//! once from this machine and parsed many times from memory. A tick's reads cost 8–14 µs per
//! small file here; this says how much of a tick the parsing is.
//!
//! Run: `cargo bench --bench proc_parse` (no root needed).

use std::hint::black_box;
use std::time::{Duration, Instant};

use podlab::observe::model::Proto;
use podlab::observe::net::{parse_net_dev, parse_route, parse_sockets};
use podlab::observe::procfs_read::{parse_cgroup, parse_stat, parse_status};

const ROUNDS: usize = 15;
const PER_ROUND: usize = 20_000;

/// Median over `ROUNDS` of the time of one call, from `PER_ROUND` calls each.
fn per_call(f: &dyn Fn()) -> Duration {
    let mut times: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..PER_ROUND {
                f();
            }
            start.elapsed() / PER_ROUND as u32
        })
        .collect();
    times.sort();
    times[ROUNDS / 2]
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn main() {
    type Parse = fn(&[u8]);
    let files: [(&str, Parse); 6] = [
        ("/proc/self/stat", |b| {
            black_box(parse_stat(b));
        }),
        ("/proc/self/status", |b| {
            black_box(parse_status(b));
        }),
        ("/proc/self/cgroup", |b| {
            black_box(parse_cgroup(b));
        }),
        ("/proc/net/tcp", |b| {
            black_box(parse_sockets(text(b), Proto::Tcp));
        }),
        ("/proc/net/dev", |b| {
            black_box(parse_net_dev(text(b)));
        }),
        ("/proc/net/route", |b| {
            black_box(parse_route(text(b)));
        }),
    ];
    println!("| file (parsed from memory) | bytes | median per parse |");
    println!("|---|---|---|");
    for (path, parse) in files {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("failed to read {path}: {e}"));
        let took = per_call(&|| parse(black_box(&bytes)));
        println!(
            "| `{path}` | {} | {:.2} µs |",
            bytes.len(),
            took.as_nanos() as f64 / 1000.0
        );
    }
}
