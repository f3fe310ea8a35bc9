use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[cfg(podlab_host)]
use podlab::cli;
use podlab::i18n::Lang;

/// podlab: build real Kubernetes pods on this machine, one kernel step at a time.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
struct Cli {
    /// Language of the text: en or zh (default: from LANG).
    #[arg(long, global = true)]
    lang: Option<Lang>,
    #[command(subcommand)]
    command: Option<Command>,
}

/// What this build can do: everything on Linux with the "host" feature (the default); only
/// `replay` elsewhere, where any other command is answered with one sentence saying so.
#[derive(Debug, Subcommand)]
enum Command {
    /// Build a pod step by step in the explorer, with live panels of what the kernel shows
    /// (the default command).
    #[cfg(podlab_host)]
    Explore(podlab::tui::ExploreArgs),
    /// Play a recorded trace (`explore --trace`, `lesson ID --trace`): the same screens,
    /// read-only, without root or pods, on any machine.
    Replay(podlab::tui::replay::ReplayArgs),
    #[cfg(podlab_host)]
    #[command(flatten)]
    Host(HostCommand),
    /// Any other command: this build cannot build pods (the words are not needed to say so).
    #[cfg(not(podlab_host))]
    #[command(external_subcommand)]
    BuildsPods(#[allow(dead_code)] Vec<String>),
}

/// The commands that build, change or read real pods.
#[cfg(podlab_host)]
#[derive(Debug, Subcommand)]
enum HostCommand {
    /// Create a pod from a Kubernetes Pod manifest.
    Run(cli::run::RunArgs),
    /// List pods.
    Ps,
    /// Show a pod's containers, states and events.
    Describe { pod: String },
    /// List pods like kubectl get (`get pods`), or print them as Pod objects with their
    /// status (`get pod NAME -o yaml`, `-o json`).
    Get(cli::get::GetArgs),
    /// Run a command inside a container.
    Exec(cli::pods::ExecArgs),
    /// Print a container's output.
    Logs(cli::pods::LogsArgs),
    /// Forward a port on this machine's localhost to a port on the pod's localhost, as
    /// kubectl port-forward does (LOCAL:REMOTE, or PORT for both; Ctrl-C stops it).
    PortForward {
        pod: String,
        ports: podlab::runtime::port_forward::Ports,
    },
    /// Delete pods: SIGTERM, grace period, SIGKILL, then remove everything they made.
    Delete(cli::pods::DeleteArgs),
    /// Resize a running pod in place, as `kubectl patch pod NAME --subresource resize --patch JSON`.
    Patch(cli::pods::PatchArgs),
    /// Remove what pods whose shim is gone left behind, and image layers no image uses.
    Gc,
    /// Load images from an archive: `docker save` output or an OCI archive.
    Load(cli::images::LoadArgs),
    /// Pull an image from a registry into the store (OCI distribution protocol).
    Pull(cli::images::PullArgs),
    /// List the images in the store.
    Images,
    /// Remove images from the store (their layers go at the next `podlab gc`).
    Rmi {
        #[arg(required = true)]
        images: Vec<String>,
    },
    /// Show a pod (or processes, or the whole host) as read from /proc: process tree,
    /// namespaces, addresses and listeners, cgroups.
    Inspect(cli::inspect::InspectArgs),
    /// Run the static pods of a directory, like kubelet's staticPodPath (inotify: a new file
    /// starts a pod, a changed one replaces it, a removed one deletes it). Pods are named
    /// "<name>-<node name>", as kubelet names them.
    Kubelet(cli::kubelet::KubeletArgs),
    /// What this machine lets podlab do (root, cgroups, user namespaces, busybox, CNI), the
    /// fix for each problem, and which lessons can run here.
    Doctor,
    /// Check, list or reset the lessons.
    Lessons {
        #[command(subcommand)]
        command: cli::lessons::LessonsCommand,
    },
    /// Play a lesson: each step's explanation, the commands, then the step on a real pod and
    /// its check on the live system.
    Lesson(cli::lessons::LessonArgs),
    #[command(hide = true)]
    Shim {
        #[arg(long)]
        uid: String,
        #[arg(long)]
        manifest: String,
        #[arg(long)]
        detach: bool,
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// The pod network as JSON (absent: loopback only).
        #[arg(long)]
        network: Option<String>,
        /// Without root: the user's podlab-node to join, as JSON.
        #[arg(long)]
        node: Option<String>,
        /// kubelet's podPidsLimit for this pod (absent: podlab's).
        #[arg(long)]
        pod_max_pids: Option<i64>,
    },
    #[command(hide = true)]
    Init,
    /// Without root: start the user's podlab-node (see runtime::rootless::node).
    #[command(hide = true)]
    Node,
}

/// The pod `podlab` (and `podlab explore`) opens when given no manifest.
#[cfg(podlab_host)]
const DEFAULT_MANIFEST: &str = "assets/pods/two-containers.yaml";

fn main() -> ExitCode {
    // color-eyre's panic report only: its error hook would symbolize a backtrace for every
    // error, and podlab prints errors as one plain sentence anyway.
    let (panic_hook, _) = color_eyre::config::HookBuilder::default()
        .display_env_section(false)
        .into_hooks();
    panic_hook.install();
    let args = Cli::parse();
    let lang = args.lang.unwrap_or_else(Lang::from_env);
    #[cfg(podlab_host)]
    if builds_pods(&args.command) && podlab::runtime::rootless::is_rootless() {
        // Without root and without a delegated cgroup: in a scope systemd delegates, if the
        // user's systemd is there, so the pods' limits are enforced.
        podlab::runtime::rootless::delegation::restart_in_delegated_scope();
    }
    let result = match args.command {
        Some(Command::Replay(replay)) => podlab::tui::replay::replay(&replay, lang),
        #[cfg(podlab_host)]
        None => podlab::tui::home(default_manifest(), lang),
        #[cfg(podlab_host)]
        Some(Command::Explore(explore)) => podlab::tui::explore(&explore, default_manifest(), lang),
        #[cfg(podlab_host)]
        Some(Command::Host(command)) => host(command, lang),
        #[cfg(not(podlab_host))]
        None | Some(Command::BuildsPods(_)) => Err(eyre::eyre!(
            "{}",
            podlab::tui::words::REPLAY_ONLY_BUILD.get(lang)
        )),
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("podlab: {err:#}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(podlab_host)]
fn host(command: HostCommand, lang: Lang) -> eyre::Result<ExitCode> {
    match command {
        HostCommand::Run(run) => cli::run::run(&run, lang),
        HostCommand::Ps => cli::pods::ps(),
        HostCommand::Describe { pod } => cli::describe::describe(&pod),
        HostCommand::Get(a) => cli::get::get(&a, lang),
        HostCommand::Exec(a) => cli::pods::exec_command(&a),
        HostCommand::Logs(a) => cli::pods::logs(&a),
        HostCommand::PortForward { pod, ports } => {
            podlab::runtime::port_forward::forward(&pod, ports).map(|_| ExitCode::SUCCESS)
        }
        HostCommand::Delete(a) => cli::pods::delete(&a),
        HostCommand::Patch(a) => cli::pods::patch(&a),
        HostCommand::Gc => cli::pods::gc_command(lang),
        HostCommand::Load(a) => cli::images::load(&a, lang),
        HostCommand::Images => cli::images::images(lang),
        HostCommand::Pull(a) => cli::images::pull(&a, lang),
        HostCommand::Rmi { images } => cli::images::rmi(&images, lang),
        HostCommand::Kubelet(a) => cli::kubelet::run(&a, lang),
        HostCommand::Doctor => cli::doctor::doctor(lang),
        HostCommand::Lessons { command } => cli::lessons::lessons(&command, lang),
        HostCommand::Lesson(a) => cli::lessons::lesson(&a, lang),
        HostCommand::Inspect(mut a) => {
            a.lang = Some(lang);
            cli::inspect::run(&a).map(|_| ExitCode::SUCCESS)
        }
        HostCommand::Shim {
            uid,
            manifest,
            detach,
            time_scale,
            network,
            node,
            pod_max_pids,
        } => shim(
            uid,
            manifest,
            detach,
            time_scale,
            network,
            node,
            pod_max_pids,
        ),
        HostCommand::Init => podlab::runtime::init::run().map(|_| ExitCode::SUCCESS),
        HostCommand::Node => podlab::runtime::rootless::node::run().map(|_| ExitCode::SUCCESS),
    }
}

/// The commands that build pods (and so want their limits enforced).
#[cfg(podlab_host)]
fn builds_pods(command: &Option<Command>) -> bool {
    matches!(
        command,
        None | Some(Command::Explore(_))
            | Some(Command::Host(
                HostCommand::Run(_) | HostCommand::Lesson(_) | HostCommand::Kubelet(_)
            ))
    )
}

/// The default manifest, found next to the binary's source tree or the current directory.
#[cfg(podlab_host)]
fn default_manifest() -> std::path::PathBuf {
    let beside_source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MANIFEST);
    if beside_source.exists() {
        beside_source
    } else {
        std::path::PathBuf::from(DEFAULT_MANIFEST)
    }
}

#[cfg(podlab_host)]
fn shim(
    uid: String,
    manifest_path: String,
    detach: bool,
    time_scale: f64,
    network: Option<String>,
    node: Option<String>,
    pod_max_pids: Option<i64>,
) -> eyre::Result<ExitCode> {
    let network = network
        .map(|json| serde_json::from_str(&json))
        .transpose()
        .map_err(|e| eyre::eyre!("bad --network: {e}"))?;
    let node = node
        .map(|json| serde_json::from_str(&json))
        .transpose()
        .map_err(|e| eyre::eyre!("bad --node: {e}"))?;
    let opts = podlab::runtime::shim::ShimOptions {
        uid,
        manifest_path,
        detach,
        time_scale,
        network,
        node,
        pod_max_pids,
    };
    podlab::runtime::shim::run(opts)?;
    Ok(ExitCode::SUCCESS)
}
