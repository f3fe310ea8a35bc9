//! Starting the explorer for real: the pod (or the read-only view), the threads, the terminal,
//! signals, and the teardown that always runs.

use std::io::IsTerminal;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};

use eyre::{eyre, Result};

use super::app::{App, Session};
use super::event::Event;
use super::live_host::LiveHost;
use super::on_terminal::run_on_terminal;
use super::player::{open_screen, PlayerArgs};
use super::script::Script;
use super::terminal;
use super::words;
use super::workers::{Engine, Observer, PodRecipe, SharedTarget};
use crate::i18n::Lang;
use crate::kube::steps::{self, PlanContext};
use crate::observe::procfs_read::user_process_roots;
use crate::observe::Target;
use crate::runtime::network::NetworkChoice;
use crate::spec;

#[derive(Debug, Clone, clap::Args)]
pub struct ExploreArgs {
    /// A Kubernetes v1 Pod manifest (default: the two-container lesson pod).
    pub file: Option<PathBuf>,
    /// Observations per second for the live panels.
    #[arg(long, default_value_t = OBSERVATIONS_PER_SECOND)]
    pub rate: f64,
    /// Who wires the pod's network (as `podlab run --network`).
    #[arg(long, value_enum, default_value_t = NetworkChoice::Native)]
    pub network: NetworkChoice,
    /// Scale kubelet's timers (back-off), e.g. 0.1 for ten times faster.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    #[command(flatten)]
    pub player: PlayerArgs,
}

/// How often the live panels read the kernel unless told otherwise.
pub const OBSERVATIONS_PER_SECOND: f64 = 4.0;

impl Default for ExploreArgs {
    /// The command line's defaults (`podlab explore` with nothing typed).
    fn default() -> ExploreArgs {
        super::player::command_line_defaults()
    }
}

/// What building a pod needs: root with CAP_SYS_ADMIN, or user namespaces a user may make
/// (rootless).
pub(super) fn can_build_pods() -> bool {
    why_no_pods(Lang::En).is_none()
}

/// Why this process cannot build pods, if it cannot.
pub(super) fn why_no_pods(lang: Lang) -> Option<String> {
    if crate::runtime::rootless::is_rootless() {
        return crate::runtime::rootless::check::probe()
            .err()
            .map(|b| b.explain(lang));
    }
    let admin = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_ADMIN,
    )
    .unwrap_or(false);
    (!admin).then(|| {
        lang.pick(
            "podlab runs as root without CAP_SYS_ADMIN (in a container?), which namespaces, mounts and cgroups need",
            "podlab 以 root 运行但没有 CAP_SYS_ADMIN（在容器里？），而命名空间、挂载点和 cgroup 需要它",
        )
        .to_string()
    })
}

/// The user's own processes that are not children of another of theirs: the roots of what
/// they run (their shells, this explorer's parent, …).
fn own_process_roots() -> Vec<i32> {
    let me = nix::unistd::getuid().as_raw();
    let roots = user_process_roots(std::path::Path::new("/proc"), me);
    if roots.is_empty() {
        vec![std::process::id() as i32]
    } else {
        roots
    }
}

/// `podlab explore`: the explorer until it is quit, then a line saying the pod is deleted.
pub fn explore(args: &ExploreArgs, default_manifest: PathBuf, lang: Lang) -> Result<ExitCode> {
    let ended = explore_screen(args, default_manifest, lang)?;
    if let Some(name) = &ended.pod {
        terminal::say_last(&format!(
            "pod/{name} {}",
            words::tr(ended.lang, "deleted", "已删除")
        ));
    }
    Ok(terminal::signal_exit_code().unwrap_or(ExitCode::SUCCESS))
}

/// How an explorer ended: the language it was in, and its pod (deleted by now), if it had one.
pub(super) struct Explored {
    pub lang: Lang,
    pub pod: Option<String>,
}

/// The explorer on this terminal until it is quit (or a signal ends it); the pod is deleted
/// before this returns.
pub(super) fn explore_screen(
    args: &ExploreArgs,
    default_manifest: PathBuf,
    lang: Lang,
) -> Result<Explored> {
    let file = args.file.clone().unwrap_or(default_manifest);
    let loaded = spec::load_pod_file(&file).map_err(|e| eyre!("{}", e.render(lang)))?;
    args.player.check()?;
    super::fault::check_setting()?;
    if !(args.rate.is_finite() && args.rate > 0.0 && args.rate <= 50.0) {
        return Err(eyre!(
            "--rate must be between 0 and 50 observations per second, not {}",
            args.rate
        ));
    }
    if !std::io::stdout().is_terminal() || !std::io::stdin().is_terminal() {
        return Err(eyre!(
            "podlab explore {} podlab run {}",
            lang.pick(
                "needs a terminal; to build a pod without one use:",
                "需要一个终端；没有终端时构建 Pod 请用："
            ),
            file.display()
        ));
    }
    let (tx, rx) = std::sync::mpsc::channel::<Event>();
    let pod = loaded.pod;
    let building = can_build_pods();
    let target: SharedTarget;
    let mut engine = None;
    let mut app = if building {
        crate::runtime::ensure_ready(lang)?;
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
            network: args.network.config(None)?,
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
            rootless: None,
            pod_max_pids: None,
        };
        target = Arc::new(Mutex::new(Target::Pids(own_process_roots())));
        App::new(
            Session::ReadOnly,
            Script::from_plan(&steps::plan(&pod, ctx)),
            0,
            lang,
        )
    };
    args.player.apply(&mut app, std::time::Instant::now());
    let title = format!("podlab explore: pod/{}", pod.metadata.name);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| {
        run_screen(&mut app, &target, args, &title, &tx, rx, engine.as_ref())
    }));
    // Whatever happened on screen (a panic included), the pod goes, and we wait until it is.
    if let Some(engine) = engine {
        engine.finish();
    }
    let result = result.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    terminal::screen_result(result)?;
    let pod = match &app.session {
        Session::Pod { name, .. } => Some(name.clone()),
        _ => None,
    };
    Ok(Explored {
        lang: app.lang,
        pod,
    })
}

fn run_screen(
    app: &mut App,
    target: &SharedTarget,
    args: &ExploreArgs,
    title: &str,
    tx: &Sender<Event>,
    rx: std::sync::mpsc::Receiver<Event>,
    engine: Option<&Engine>,
) -> Result<()> {
    let _observer = Observer::spawn(Arc::clone(target), args.rate, tx.clone())?;
    run_on_terminal(
        app,
        (tx, &rx),
        args.player.clean_start(),
        open_screen(&args.player, title),
        |terminal| LiveHost {
            terminal,
            engine,
            lesson: None,
            target: None,
        },
    )
}
