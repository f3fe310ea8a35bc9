//! Commands on existing pods: ps, logs, exec, delete, gc.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::MetadataExt;
use std::process::ExitCode;
use std::time::Duration;

use eyre::{eyre, Result};

use crate::i18n::Lang;
use crate::kube::pod_state::{human_age, ContainerKind, PodState};
use crate::runtime::client::ShimConnection;
use crate::runtime::{exec, gc, lookup, paths, sys};

#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    pub pod: String,
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Keep printing new lines until the pod is gone.
    #[arg(short = 'f', long)]
    pub follow: bool,
    /// The log of the container's previous instance (before its last restart).
    #[arg(short = 'p', long, conflicts_with = "follow")]
    pub previous: bool,
}

#[derive(Debug, clap::Args)]
pub struct ExecArgs {
    pub pod: String,
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Accepted for kubectl habits: stdin is always passed through.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Accepted for kubectl habits: the command gets this terminal when there is one.
    #[arg(short = 't', long)]
    pub tty: bool,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct DeleteArgs {
    pub pods: Vec<String>,
    /// Seconds to wait after SIGTERM before SIGKILL (default: the pod's terminationGracePeriodSeconds).
    #[arg(long)]
    pub grace_period: Option<i64>,
    /// Same as --grace-period=1.
    #[arg(long)]
    pub now: bool,
    /// Delete every pod.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, clap::Args)]
pub struct PatchArgs {
    pub pod: String,
    /// The subresource to patch: only `resize` (in-place pod resize) is supported.
    #[arg(long)]
    pub subresource: String,
    /// The patch, JSON: {"spec":{"containers":[{"name":N,"resources":{"requests":{…},"limits":{…}}}]}}.
    #[arg(short, long)]
    pub patch: String,
    /// strategic (kubectl's default) or merge; both match containers by name here.
    #[arg(long = "type", default_value = "strategic")]
    pub patch_type: String,
}

/// `kubectl patch pod NAME --subresource resize --patch JSON`: an in-place resize.
pub fn patch(args: &PatchArgs) -> Result<ExitCode> {
    if args.subresource != "resize" {
        return Err(eyre!(
            "--subresource {:?} is not supported: podlab patches only the resize subresource (--subresource resize)",
            args.subresource
        ));
    }
    if !matches!(args.patch_type.as_str(), "strategic" | "merge") {
        return Err(eyre!(
            "--type {:?} is not supported: use strategic (the default) or merge",
            args.patch_type
        ));
    }
    let pod = lookup::find_pod(&args.pod)?;
    let mut shim = ShimConnection::connect(&pod.uid)?;
    let state = shim.resize(&args.patch)?;
    println!("pod/{} patched", state.name);
    if let Some(c) = &state.resize.condition {
        let reason = c.reason.as_deref().unwrap_or("");
        let message = c.message.as_deref().unwrap_or("");
        eprintln!("{}: {reason} {message}", c.kind);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn ps() -> Result<ExitCode> {
    let pods: Vec<PodState> = lookup::all_pods()
        .into_iter()
        .filter(|p| p.shim_alive)
        .filter_map(|p| p.state)
        .collect();
    if pods.is_empty() {
        println!("No pods found.");
        return Ok(ExitCode::SUCCESS);
    }
    print_pod_table(&pods);
    Ok(ExitCode::SUCCESS)
}

/// NAME READY STATUS RESTARTS AGE, one line per pod, as `kubectl get pods` prints them.
pub fn print_pod_table(pods: &[PodState]) {
    let now = sys::now();
    let name_width = pods.iter().map(|p| p.name.len()).max().unwrap_or(4).max(4);
    let status_width = pods
        .iter()
        .map(|p| p.status_text().len())
        .max()
        .unwrap_or(6)
        .max(6);
    println!(
        "{:<name_width$}   READY   {:<status_width$}   RESTARTS   AGE",
        "NAME", "STATUS"
    );
    for p in pods {
        println!(
            "{:<name_width$}   {:<5}   {:<status_width$}   {:<8}   {}",
            p.name,
            p.ready_text(),
            p.status_text(),
            p.restarts(),
            human_age(now - p.created_at)
        );
    }
}

/// The container to use when none is named: kubectl's default, the first app container.
fn default_container(pod: &PodState, asked: Option<&str>) -> Result<String> {
    if let Some(name) = asked {
        if pod.container(name).is_none() {
            let names: Vec<&str> = pod.containers.iter().map(|c| c.name.as_str()).collect();
            return Err(eyre!(
                "container {name:?} is not in pod {}; its containers: {}",
                pod.name,
                names.join(", ")
            ));
        }
        return Ok(name.to_string());
    }
    let apps: Vec<&str> = pod
        .containers
        .iter()
        .filter(|c| c.kind == ContainerKind::App)
        .map(|c| c.name.as_str())
        .collect();
    let first = apps
        .first()
        .ok_or_else(|| eyre!("pod {} has no containers", pod.name))?;
    if apps.len() > 1 {
        eprintln!("Defaulted container {first:?} out of: {}", apps.join(", "));
    }
    Ok(first.to_string())
}

pub fn logs(args: &LogsArgs) -> Result<ExitCode> {
    let pod = lookup::find_pod(&args.pod)?;
    let container = default_container(&pod, args.container.as_deref())?;
    if args.previous {
        let path = paths::previous_log_file(&pod.uid, &container);
        let text = std::fs::read(&path).map_err(|_| {
            eyre!(
                "previous terminated container {container:?} in pod {:?} not found",
                pod.name
            )
        })?;
        std::io::stdout().lock().write_all(&text)?;
        return Ok(ExitCode::SUCCESS);
    }
    let path = paths::log_file(&pod.uid, &container);
    let mut file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(_) if !args.follow => return Ok(ExitCode::SUCCESS), // not started yet: no output
        Err(e) => return Err(eyre!("failed to open the log of {container}: {e}")),
    };
    let mut out = std::io::stdout().lock();
    let mut buf = Vec::new();
    loop {
        buf.clear();
        file.read_to_end(&mut buf)?;
        out.write_all(&buf)?;
        out.flush()?;
        if !args.follow || !lookup::shim_alive(&pod.uid) {
            return Ok(ExitCode::SUCCESS);
        }
        std::thread::sleep(Duration::from_millis(200));
        // A restart starts a new log: follow it, as kubectl logs -f follows the new instance.
        let restarted = match (std::fs::metadata(&path), file.metadata()) {
            (Ok(now), Ok(open)) => now.ino() != open.ino(),
            _ => false,
        };
        if restarted {
            file = std::fs::File::open(&path)?;
        } else {
            let pos = file.stream_position()?;
            file.seek(SeekFrom::Start(pos))?;
        }
    }
}

pub fn exec_command(args: &ExecArgs) -> Result<ExitCode> {
    let pod = lookup::find_pod(&args.pod)?;
    let container = default_container(&pod, args.container.as_deref())?;
    let code = exec::exec(&pod, &container, &args.command)?;
    Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
}

pub fn delete(args: &DeleteArgs) -> Result<ExitCode> {
    let grace = if args.now { Some(1) } else { args.grace_period };
    let targets: Vec<String> = if args.all {
        lookup::all_pods()
            .into_iter()
            .filter(|p| p.shim_alive)
            .filter_map(|p| p.state.map(|s| s.name))
            .collect()
    } else if args.pods.is_empty() {
        return Err(eyre!("name the pods to delete, or use --all"));
    } else {
        args.pods.clone()
    };
    for name in targets {
        let pod = lookup::find_pod(&name)?;
        let mut conn = ShimConnection::connect(&pod.uid)?;
        conn.delete(grace)?;
        println!("pod \"{}\" deleted", pod.name);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn gc_command(lang: Lang) -> Result<ExitCode> {
    let report = gc::collect()?;
    let mut said = false;
    if !report.pods_removed.is_empty() {
        println!(
            "removed {} pod(s) whose shim was gone: {} ({} leftover process(es) killed)",
            report.pods_removed.len(),
            report.pods_removed.join(", "),
            report.processes_killed
        );
        said = true;
    }
    if !report.owned_removed.is_empty() {
        println!(
            "removed what was built by hand in a lesson no longer played: {}",
            report.owned_removed.join(", ")
        );
        said = true;
    }
    if report.cgroups_removed > 0 {
        println!("removed {} pod cgroup(s)", report.cgroups_removed);
        said = true;
    }
    if !report.links_removed.is_empty() {
        println!("removed link(s) {}", report.links_removed.join(", "));
        said = true;
    }
    if report.addresses_released > 0 {
        println!("released {} address(es)", report.addresses_released);
        said = true;
    }
    if let Some(pid) = report.node_stopped {
        println!(
            "{} {pid}{}",
            lang.pick(
                "stopped podlab-node, pid",
                "已停止 podlab-node，pid"
            ),
            lang.pick(
                ", which no pod used (it held your node's user and net namespaces; the kernel freed them with the bridge in them)",
                "，已经没有 Pod 使用它（它持有你的节点的 user 和 net 命名空间；内核随之释放了它们以及其中的网桥）"
            )
        );
        said = true;
    }
    for problem in &report.problems {
        eprintln!("podlab gc: {problem}");
    }
    // Layers of the image store that no image names and no pod's container stacks.
    let store = crate::runtime::image_store::Store::default();
    match store.gc_unused_by_pods() {
        Ok(layers) => {
            if !layers.layers_removed.is_empty() {
                println!(
                    "{} {} {} ({})",
                    lang.pick("removed", "已删除"),
                    layers.layers_removed.len(),
                    lang.pick("image layer(s) no image uses", "个没有镜像使用的镜像层"),
                    crate::present::text::bytes(layers.bytes_freed)
                );
                said = true;
            }
            if layers.leftovers_removed > 0 {
                println!(
                    "{} {}",
                    lang.pick(
                        "removed half-unpacked layer(s) of a load that died:",
                        "已删除中途终止的载入留下的未解包完的层："
                    ),
                    layers.leftovers_removed
                );
                said = true;
            }
        }
        Err(e) => eprintln!("podlab gc: {e:#}"),
    }
    if !said {
        println!("nothing to collect");
    }
    Ok(if report.problems.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
