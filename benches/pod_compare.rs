//! Pod start and teardown: podlab against runc (the way containerd drives it) and against the
//! syscall floor, without and with the pod network, alternating in the same run.
//!
//! Each pod is pause + 2 busybox `sleep 3600` containers joining pause's net, ipc and uts.
//! "start" ends when both containers' processes have exec'd; "delete" when every process is
//! gone and everything made for the pod is removed. Run as root:
//!
//! ```sh
//! apt-get install runc          # the bench checks and says so if it is missing
//! cargo bench --bench pod_compare
//! ```

#[path = "support/floor.rs"]
mod floor;
#[path = "support/runc.rs"]
mod runc;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use podlab::kube::pod_network::PodNetwork;
use podlab::kube::protocol::Request;
use podlab::runtime::client::{start_pod, StartOptions};
use podlab::runtime::images::ImageStore;
use podlab::runtime::network;

const ROUNDS: usize = 20;
const WARM_UP: usize = 2;

#[derive(Default)]
struct Samples {
    start: Vec<Duration>,
    delete: Vec<Duration>,
}

fn median(samples: &[Duration]) -> f64 {
    percentile(samples, 0.5)
}

fn percentile(samples: &[Duration], p: f64) -> f64 {
    let mut s = samples.to_vec();
    s.sort();
    s.get(((s.len().saturating_sub(1)) as f64 * p).round() as usize)
        .map_or(f64::NAN, |d| d.as_secs_f64() * 1e3)
}

type Result<T> = std::result::Result<T, String>;

fn manifest(name: &str) -> Result<podlab::spec::Pod> {
    let yaml = format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}}}\nspec:\n  terminationGracePeriodSeconds: 0\n  containers:\n  \
         - {{name: a, image: busybox, command: [sleep, \"3600\"]}}\n  - {{name: b, image: busybox, command: [sleep, \"3600\"]}}\n"
    );
    podlab::spec::parse_pod(&yaml, "bench.yaml")
        .map(|loaded| loaded.pod)
        .map_err(|e| format!("the bench manifest is invalid: {e}"))
}

fn podlab_round(name: &str, with_network: bool, out: &mut Samples) -> Result<()> {
    let options = StartOptions {
        manifest_path: "bench.yaml".into(),
        detach: false,
        time_scale: 1.0,
        network: with_network.then(network::Config::default),
        podlab_exe: Some(PathBuf::from(env!("CARGO_BIN_EXE_podlab"))),
        pod_max_pids: None,
        offline: true,
    };
    let pod = manifest(name)?;
    let t0 = Instant::now();
    // If anything fails, dropping the connection makes the shim delete the pod.
    let (_uid, mut conn) = start_pod(&pod, &options).map_err(|e| format!("podlab start: {e:#}"))?;
    conn.request(&Request::RunAll)
        .map_err(|e| format!("podlab create: {e:#}"))?;
    out.start.push(t0.elapsed());
    let t1 = Instant::now();
    conn.delete(Some(0))
        .map_err(|e| format!("podlab delete: {e:#}"))?;
    out.delete.push(t1.elapsed());
    Ok(())
}

/// The pod network the same way for runc and the floor: podlab's netlink code (veth on the
/// bridge, address, route, lease), as containerd runs CNI once pause's namespace exists.
fn wire(uid: &str, name: &str, pause: i32) -> Result<PodNetwork> {
    network::setup_pod(&network::Config::default(), uid, name, pause)
        .map_err(|e| format!("network for {name}: {e}"))
}

fn unwire(uid: &str, net: Option<Result<PodNetwork>>) -> Result<()> {
    match net {
        Some(net) => network::teardown_pod(uid, &net?)
            .map(|_| ())
            .map_err(|e| format!("network teardown of {uid}: {e}")),
        None => Ok(()),
    }
}

fn runc_round(
    bench: &mut runc::RuncBench,
    i: usize,
    with_network: bool,
    out: &mut Samples,
) -> Result<()> {
    let uid = format!("bench-runc-{}-{i}", std::process::id());
    let mut net = None;
    let t0 = Instant::now();
    let pod = bench
        .start_pod(|pause| {
            if with_network {
                net = Some(wire(&uid, "runc", pause));
            }
        })
        .map_err(|e| format!("runc start: {e}"))?;
    out.start.push(t0.elapsed());
    let t1 = Instant::now();
    let unwired = unwire(&uid, net);
    bench
        .delete_pod(&pod)
        .map_err(|e| format!("runc delete: {e}"))?;
    unwired?;
    out.delete.push(t1.elapsed());
    Ok(())
}

fn floor_round(
    pause: &Path,
    sleep: &Path,
    i: usize,
    with_network: bool,
    out: &mut Samples,
) -> Result<()> {
    let uid = format!("bench-floor-{}-{i}", std::process::id());
    let mut net = None;
    let t0 = Instant::now();
    let pod = floor::FloorPod::start(pause, sleep, 2, |pid| {
        if with_network {
            net = Some(wire(&uid, "floor", pid));
        }
    })
    .map_err(|e| format!("floor start: {e}"))?;
    out.start.push(t0.elapsed());
    let t1 = Instant::now();
    let unwired = unwire(&uid, net);
    pod.stop();
    unwired?;
    out.delete.push(t1.elapsed());
    Ok(())
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn main() -> Result<()> {
    if !nix::unistd::geteuid().is_root() {
        return Err("pod_compare needs root (namespaces, cgroups, network devices)".into());
    }
    // podlab's busybox stand-in is one directory, which runc can use as its rootfs.
    let rootfs = ImageStore::default()
        .resolve("busybox")
        .map_err(|e| format!("the busybox image: {e:#}"))?
        .lowers
        .into_iter()
        .next()
        .ok_or("the busybox image has no rootfs")?;
    let pause = PathBuf::from(env!("CARGO_BIN_EXE_pause"));
    let sleep = rootfs.join("bin/sleep");
    // Dropped on every way out of main: removes runc's containers, bundles and cgroups.
    let mut runc_bench = runc::RuncBench::new(&rootfs, &pause).map_err(|e| e.to_string())?;

    println!("load average before: {}", loadavg());
    println!(
        "{ROUNDS} rounds after {WARM_UP} warm-up rounds; each round runs podlab, runc and the floor \
         once, in a rotating order; milliseconds, median (p90)"
    );
    for with_network in [false, true] {
        let (mut p, mut r, mut f) = (Samples::default(), Samples::default(), Samples::default());
        for i in 0..ROUNDS + WARM_UP {
            let (mut ps, mut rs, mut fs) =
                (Samples::default(), Samples::default(), Samples::default());
            for turn in 0..3 {
                match (i + turn) % 3 {
                    0 => podlab_round(
                        &format!("cmp-{}-{i}", if with_network { "net" } else { "lo" }),
                        with_network,
                        &mut ps,
                    )?,
                    1 => runc_round(&mut runc_bench, i, with_network, &mut rs)?,
                    _ => floor_round(&pause, &sleep, i, with_network, &mut fs)?,
                }
            }
            if i >= WARM_UP {
                for (all, one) in [(&mut p, ps), (&mut r, rs), (&mut f, fs)] {
                    all.start.extend(one.start);
                    all.delete.extend(one.delete);
                }
            }
        }
        let net = if with_network {
            "with network"
        } else {
            "no network"
        };
        println!();
        println!("| {net} | podlab | runc | floor | podlab / runc | podlab / floor |");
        println!("|---|---|---|---|---|---|");
        for (what, pick) in [
            (
                "start",
                (|s: &Samples| s.start.clone()) as fn(&Samples) -> Vec<Duration>,
            ),
            ("delete", |s: &Samples| s.delete.clone()),
        ] {
            let (pv, rv, fv) = (pick(&p), pick(&r), pick(&f));
            println!(
                "| {what} | {:.1} ({:.1}) | {:.1} ({:.1}) | {:.2} ({:.2}) | {:.2}× | {:.1}× |",
                median(&pv),
                percentile(&pv, 0.9),
                median(&rv),
                percentile(&rv, 0.9),
                median(&fv),
                percentile(&fv, 0.9),
                median(&pv) / median(&rv),
                median(&pv) / median(&fv),
            );
        }
    }
    println!();
    println!("load average after: {}", loadavg());
    Ok(())
}
