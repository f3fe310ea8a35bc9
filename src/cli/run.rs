//! `podlab run FILE`: create a pod from a manifest, all at once or step by step, then keep it
//! while this command runs (Ctrl-C deletes it) or leave it running with `--detach`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use eyre::{Context, Result};

use crate::i18n::Lang;
use crate::kube::pod_state::{PodPhase, PodState};
use crate::kube::protocol::{Request, Response};
use crate::kube::steps::StepPlan;
use crate::runtime::client::{start_pod, ShimConnection, StartOptions};
use crate::runtime::network::NetworkChoice;
use crate::spec;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// A Kubernetes v1 Pod manifest (YAML or JSON).
    pub file: PathBuf,
    /// Leave the pod running after this command exits (delete it with `podlab delete`).
    #[arg(long, short = 'd')]
    pub detach: bool,
    /// Stop before each kernel step and show what it will do.
    #[arg(long)]
    pub step: bool,
    /// Scale kubelet's timers (crash-loop back-off, probe delays, periods and timeouts), e.g.
    /// 0.1 for ten times faster; events then say "back-off 10s (×0.1)". Grace periods are not
    /// scaled.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Who wires the pod's network: podlab's own netlink code, the installed CNI plugins, or
    /// nothing but loopback.
    #[arg(long, value_enum, default_value_t = NetworkChoice::Native)]
    pub network: NetworkChoice,
    /// The pod IP range (default 10.88.0.0/16, as containerd's reference CNI config).
    #[arg(long)]
    pub pod_cidr: Option<String>,
    /// Pull no image: run what the image store has, or podlab's busybox stand-ins.
    #[arg(long)]
    pub offline: bool,
}

pub fn run(args: &RunArgs, lang: Lang) -> Result<ExitCode> {
    let loaded = spec::load_pod_file(&args.file).map_err(|e| eyre::eyre!("{}", e.render(lang)))?;
    crate::runtime::setup::require_builder("podlab run", lang)?;
    crate::runtime::setup::say_rootless("podlab run", lang);
    crate::runtime::ensure_ready(lang)?;
    let _ = crate::runtime::gc::collect();
    for warning in &loaded.warnings {
        eprintln!("{}", warning.render(lang));
    }
    let interrupts = Arc::new(AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(signal, Arc::clone(&interrupts), 1)?;
    }
    let options = StartOptions {
        manifest_path: std::fs::canonicalize(&args.file)
            .unwrap_or_else(|_| args.file.clone())
            .display()
            .to_string(),
        detach: args.detach,
        time_scale: args.time_scale,
        network: args.network.config(args.pod_cidr.as_deref())?,
        podlab_exe: None,
        pod_max_pids: None,
        offline: args.offline,
    };
    let (_uid, mut conn) = start_pod(&loaded.pod, &options)?;
    let name = loaded.pod.metadata.name.clone();
    let created = if args.step {
        run_step_by_step(&mut conn, lang, &interrupts)
    } else {
        conn.request(&Request::RunAll).map(|_| true)
    };
    match created {
        Ok(true) => {}
        Ok(false) => {
            println!(
                "{}",
                t(lang, "stopped; deleting the pod", "已停止；正在删除 Pod")
            );
            conn.delete(Some(0))?;
            return Ok(ExitCode::from(130));
        }
        Err(e) => {
            let _ = conn.delete(Some(0));
            return Err(e.wrap_err(format!("failed to create pod {name}")));
        }
    }
    if let Ok(state) = conn.status() {
        crate::runtime::setup::say_node(&state, lang);
    }
    if args.detach {
        conn.request(&Request::Detach)?;
        println!("pod/{name} created");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "pod/{name} {}",
        t(lang, "created; Ctrl-C deletes it", "已创建；按 Ctrl-C 删除")
    );
    watch_until_done(&mut conn, lang, &interrupts)
}

fn t(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

/// Print each step and wait for Enter (when stdin is a terminal). Returns false if the user quit.
fn run_step_by_step(
    conn: &mut ShimConnection,
    lang: Lang,
    interrupts: &AtomicUsize,
) -> Result<bool> {
    let (steps, mut next) = conn.plan()?;
    let interactive = std::io::stdin().is_terminal();
    let stdin = std::io::stdin();
    while next < steps.len() {
        print_step(&steps[next], next, steps.len(), lang);
        if interactive {
            print!(
                "{}",
                t(
                    lang,
                    "Enter: run this step · q: quit › ",
                    "回车：执行这一步 · q：退出 › "
                )
            );
            std::io::stdout().flush()?;
            let mut line = String::new();
            if stdin.lock().read_line(&mut line)? == 0 || line.trim() == "q" {
                return Ok(false);
            }
        }
        if interrupts.load(Ordering::Relaxed) > 0 {
            return Ok(false);
        }
        match conn.request(&Request::Next)? {
            Response::StepDone { next: n, .. } => next = n,
            other => return Err(eyre::eyre!("unexpected answer: {other:?}")),
        }
        let state = conn.status()?;
        print_after_step(&steps[next - 1], &state, lang);
    }
    Ok(true)
}

fn print_step(step: &StepPlan, index: usize, total: usize, lang: Lang) {
    println!();
    println!("── {}/{total} {} ──", index + 1, step.title.get(lang));
    println!("{}", step.explain.get(lang));
    println!("  {}", t(lang, "by hand:", "手工命令："));
    for c in &step.commands {
        println!("    $ {c}");
    }
    println!("  {}", t(lang, "syscalls:", "系统调用："));
    for s in &step.syscalls {
        println!("    {s}");
    }
}

fn print_after_step(step: &StepPlan, state: &PodState, lang: Lang) {
    use crate::kube::steps::StepKind;
    let took = state
        .steps
        .iter()
        .find(|s| s.id == step.id)
        .and_then(|s| s.duration_ms);
    if let Some(ms) = took {
        println!("  ✓ {} {ms:.1} ms", t(lang, "done in", "用时"));
    }
    let pid = match &step.kind {
        StepKind::PodCgroup => {
            println!(
                "    {} {} ({})",
                t(lang, "cgroup", "cgroup"),
                state.cgroup,
                state.qos_class
            );
            return;
        }
        StepKind::Namespaces | StepKind::StartPause | StepKind::Network => {
            state.sandbox.as_ref().map(|s| s.pause.pid)
        }
        StepKind::Pull(_) => return, // its events say what the pull did
        StepKind::InitContainer(n) | StepKind::AppContainer(n) => state
            .containers
            .iter()
            .find(|c| &c.name == n)
            .and_then(|c| c.process.map(|p| p.pid)),
    };
    let Some(pid) = pid else { return };
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    println!("    {} {pid} ({})", t(lang, "pid", "进程"), comm.trim());
    let inodes: Vec<String> = ["net", "ipc", "uts", "pid", "mnt"]
        .iter()
        .map(|ns| {
            let link = std::fs::read_link(format!("/proc/{pid}/ns/{ns}"))
                .map(|l| l.display().to_string())
                .unwrap_or_else(|_| format!("{ns}:?"));
            link
        })
        .collect();
    println!("    {}", inodes.join("  "));
}

/// Show events as they happen until the pod completes or the user interrupts.
fn watch_until_done(
    conn: &mut ShimConnection,
    lang: Lang,
    interrupts: &AtomicUsize,
) -> Result<ExitCode> {
    let mut shown = 0;
    let mut deleting = 0;
    loop {
        let state = match conn.status() {
            Ok(s) => s,
            Err(_) => return Ok(ExitCode::SUCCESS), // the pod is gone
        };
        for e in state.events.iter().skip(shown) {
            println!(
                "{:<8} {:<18} {:<28} {}",
                format!("{:?}", e.kind),
                e.reason,
                e.object,
                e.message
            );
        }
        shown = state.events.len();
        let n = interrupts.load(Ordering::Relaxed);
        if n > deleting {
            deleting = n;
            let grace = if n == 1 { None } else { Some(0) };
            if n == 1 {
                let secs = state.pod.spec.grace_period_seconds();
                println!(
                    "{} {} (grace {secs}s; {})",
                    t(lang, "deleting pod", "正在删除 Pod"),
                    state.name,
                    t(lang, "Ctrl-C again to kill now", "再按 Ctrl-C 立即杀死")
                );
            }
            send_delete(&state.uid, grace)?;
        }
        if deleting == 0 && matches!(state.phase, PodPhase::Succeeded | PodPhase::Failed) {
            println!("pod/{} {:?}", state.name, state.phase);
            conn.delete(Some(0))?;
            return Ok(if state.phase == PodPhase::Succeeded {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            });
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Ask for deletion on a separate connection, without waiting: our own connection keeps
/// watching, and a second Ctrl-C can shorten the grace period.
fn send_delete(uid: &str, grace_seconds: Option<i64>) -> Result<()> {
    let mut conn = ShimConnection::connect(uid).wrap_err("failed to reach the shim")?;
    std::thread::spawn(move || {
        let _ = conn.delete(grace_seconds);
    });
    Ok(())
}
