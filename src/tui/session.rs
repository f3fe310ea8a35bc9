//! Starting the explorer for real: the pod (or the read-only view), the threads, the terminal,
//! signals, and the teardown that always runs.

use std::io::IsTerminal;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use eyre::{eyre, Result, WrapErr};
use ratatui::backend::CrosstermBackend;
use ratatui::Terminal;

use super::app::{App, AppEvent, EngineCmd, Session};
use super::input::Input;
use super::runner::{self, Host};
use super::script::Script;
use super::theme::ThemeKind;
use super::workers::{Engine, Observer, PodRecipe, SharedTarget};
use super::{terminal, words};
use crate::cli::run::NetworkChoice;
use crate::i18n::Lang;
use crate::observe::Target;
use crate::runtime::steps::{self, PlanContext};
use crate::spec;

#[derive(Debug, Clone, clap::Args)]
pub struct ExploreArgs {
    /// A Kubernetes v1 Pod manifest (default: the two-container lesson pod).
    pub file: Option<PathBuf>,
    /// Observations per second for the live panels.
    #[arg(long, default_value_t = 4.0)]
    pub rate: f64,
    /// Colours: default, high-contrast (projectors) or mono (`t` cycles them).
    #[arg(long, value_enum)]
    pub theme: Option<ThemeKind>,
    /// Who wires the pod's network (as `podlab run --network`).
    #[arg(long, value_enum, default_value_t = NetworkChoice::Native)]
    pub network: NetworkChoice,
    /// Scale kubelet's timers (back-off), e.g. 0.1 for ten times faster.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
}

/// Root and CAP_SYS_ADMIN: what building a pod needs.
fn can_build_pods() -> bool {
    nix::unistd::geteuid().is_root()
        && caps::has_cap(
            None,
            caps::CapSet::Effective,
            caps::Capability::CAP_SYS_ADMIN,
        )
        .unwrap_or(false)
}

/// The user's own processes that are not children of another of theirs: the roots of what
/// they run (their shells, this explorer's parent, …).
fn own_process_roots() -> Vec<i32> {
    use std::os::unix::fs::MetadataExt;
    let me = nix::unistd::getuid().as_raw();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![std::process::id() as i32];
    };
    let mine: Vec<(i32, i32)> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            std::fs::metadata(format!("/proc/{pid}"))
                .map(|m| m.uid() == me)
                .unwrap_or(false)
        })
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let ppid = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            Some((pid, ppid))
        })
        .collect();
    let pids: Vec<i32> = mine.iter().map(|(p, _)| *p).collect();
    let roots: Vec<i32> = mine
        .iter()
        .filter(|(_, ppid)| !pids.contains(ppid))
        .map(|(p, _)| *p)
        .collect();
    if roots.is_empty() {
        vec![std::process::id() as i32]
    } else {
        roots
    }
}

pub fn explore(args: &ExploreArgs, default_manifest: PathBuf, lang: Lang) -> Result<ExitCode> {
    let file = args.file.clone().unwrap_or(default_manifest);
    let loaded = spec::load_pod_file(&file).map_err(|e| eyre!("{}", e.render(lang)))?;
    if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 50.0) {
        return Err(eyre!(
            "--rate must be between 0 and 50 observations per second, not {}",
            args.rate
        ));
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(eyre!(
            "podlab explore needs a terminal; to build a pod without one use: podlab run {}",
            file.display()
        ));
    }
    let (tx, rx) = std::sync::mpsc::channel::<AppEvent>();
    let pod = loaded.pod;
    let building = can_build_pods();
    let target: SharedTarget;
    let mut engine = None;
    let mut app = if building {
        super::super::cli::setup::ensure_busybox()?;
        let _ = crate::runtime::gc::collect();
        for warning in &loaded.warnings {
            eprintln!("{}", warning.render(lang));
        }
        let recipe = PodRecipe {
            manifest_path: std::fs::canonicalize(&file)
                .unwrap_or_else(|_| file.clone())
                .display()
                .to_string(),
            time_scale: args.time_scale,
            network: crate::cli::run::RunArgs {
                file: file.clone(),
                detach: false,
                step: true,
                time_scale: args.time_scale,
                network: args.network,
                pod_cidr: None,
            }
            .network_config()?,
            pod: pod.clone(),
        };
        let (uid, mut conn) = recipe.start()?;
        let (plan, next) = conn.plan()?;
        target = Arc::new(Mutex::new(Target::Pod(uid.clone())));
        engine = Some(Engine::spawn(
            conn,
            recipe,
            Arc::clone(&target),
            tx.clone(),
        )?);
        App::new(
            Session::Pod {
                uid,
                name: pod.metadata.name.clone(),
            },
            Script::from_plan(&plan),
            next,
            lang,
        )
    } else {
        let ctx = PlanContext {
            cgroup_v2: std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists(),
            pod_network: args.network != NetworkChoice::None,
        };
        target = Arc::new(Mutex::new(Target::Pids(own_process_roots())));
        App::new(
            Session::ReadOnly,
            Script::from_plan(&steps::plan(&pod, ctx)),
            0,
            lang,
        )
    };
    if let Some(theme) = args.theme {
        app.set_theme(theme);
    }
    let result = run_screen(&mut app, &target, args.rate, &tx, rx, engine.as_ref());
    // Whatever happened on screen, the pod goes (and we wait until it is gone).
    if let Some(engine) = engine {
        engine.finish();
    }
    result?;
    if let Session::Pod { name, .. } = &app.session {
        println!("pod/{name} {}", words::tr(app.lang, "deleted", "已删除"));
    }
    Ok(ExitCode::SUCCESS)
}

fn run_screen(
    app: &mut App,
    target: &SharedTarget,
    rate: f64,
    tx: &Sender<AppEvent>,
    rx: std::sync::mpsc::Receiver<AppEvent>,
    engine: Option<&Engine>,
) -> Result<()> {
    let in_child = Arc::new(AtomicBool::new(false));
    let signals = spawn_signal_thread(tx.clone(), Arc::clone(&in_child))?;
    let _observer = Observer::spawn(Arc::clone(target), rate, tx.clone())?;
    terminal::install_panic_hook();
    let _restore = terminal::Restore::take_over()?;
    let input = Input::spawn(tx.clone())?;
    let mut term = Terminal::new(CrosstermBackend::new(std::io::stdout()))
        .wrap_err("failed to set up the terminal")?;
    let mut host = RealHost {
        input: &input,
        in_child: &in_child,
        engine,
    };
    let result = runner::run(&mut term, app, &rx, tx, &mut host);
    signals.close();
    result
}

struct RealHost<'a> {
    input: &'a Input,
    in_child: &'a AtomicBool,
    engine: Option<&'a Engine>,
}

impl Host for RealHost<'_> {
    fn engine(&mut self, cmd: EngineCmd) {
        if let Some(e) = self.engine {
            e.send(cmd);
        }
    }

    /// Suspend (input paused and confirmed, normal screen, cooked mode), run
    /// `podlab exec UID -c C -- CMD` on this terminal, then take the terminal back.
    fn run_shell(&mut self, uid: &str, container: &str, command: &[String]) -> Result<i32> {
        self.input.pause()?;
        terminal::leave();
        println!(
            "podlab: {container} $ {}   (exit: back to podlab)",
            command.join(" ")
        );
        // Ctrl-C in the shell reaches our process group too; it is the shell's, not ours.
        self.in_child.store(true, Ordering::SeqCst);
        let status = std::process::Command::new("/proc/self/exe")
            .arg0("podlab")
            .args(["exec", uid, "-c", container, "--"])
            .args(command)
            .status();
        self.in_child.store(false, Ordering::SeqCst);
        reclaim_foreground();
        let entered = terminal::enter();
        self.input.resume();
        entered?;
        let status = status.wrap_err("failed to run podlab exec")?;
        Ok(status.code().unwrap_or(128 + status_signal(&status)))
    }
}

/// Make our process group the terminal's foreground again. An interactive shell in the
/// container moves the terminal to its own group and, living in another PID namespace, cannot
/// give it back; a background process touching the terminal would be stopped (SIGTTOU).
fn reclaim_foreground() {
    use nix::sys::signal::{pthread_sigmask, SigSet, SigmaskHow, Signal};
    use std::os::fd::AsFd;
    let mut ttou = SigSet::empty();
    ttou.add(Signal::SIGTTOU);
    // With SIGTTOU blocked, tcsetpgrp from the background proceeds instead of stopping us.
    let mut old = SigSet::empty();
    if pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&ttou), Some(&mut old)).is_err() {
        return;
    }
    let stdin = std::io::stdin();
    let _ = nix::unistd::tcsetpgrp(stdin.as_fd(), nix::unistd::getpgrp());
    let _ = pthread_sigmask(SigmaskHow::SIG_SETMASK, Some(&old), None);
}

fn status_signal(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().unwrap_or(0)
}

/// SIGINT, SIGTERM and SIGHUP end the explorer cleanly (terminal restored, pod deleted).
/// SIGINT is ignored while a shell runs in a container: that Ctrl-C was meant for it.
fn spawn_signal_thread(
    tx: Sender<AppEvent>,
    in_child: Arc<AtomicBool>,
) -> Result<signal_hook::iterator::Handle> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])
        .wrap_err("failed to set up signal handling")?;
    let handle = signals.handle();
    std::thread::Builder::new()
        .name("podlab-signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGINT && in_child.load(Ordering::SeqCst) {
                    continue;
                }
                if tx.send(AppEvent::Terminate).is_err() {
                    return;
                }
            }
        })
        .wrap_err("failed to start the signal thread")?;
    Ok(handle)
}
