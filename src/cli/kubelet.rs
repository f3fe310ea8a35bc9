//! `podlab kubelet --manifests DIR`: run the static pods of a directory, as kubelet does with
//! its `staticPodPath`. A new file starts a pod, a changed file replaces it (a new pod, a new
//! UID), a removed file deletes it. kubelet rescans the directory every 20 seconds; podlab
//! watches it with inotify and reacts at once (and rescans every 20 seconds too). Ctrl-C stops
//! watching and deletes the pods it started.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use eyre::{eyre, Result};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::inotify::{AddWatchFlags, InitFlags, Inotify};

use crate::i18n::Lang;
use crate::kube::protocol::Request;
use crate::kube::static_pods::{self, Change, Scan};
use crate::runtime::client::{start_pod, ShimConnection, StartOptions};
use crate::runtime::network::NetworkChoice;
use crate::runtime::{lookup, manifest_dir};
use crate::spec;

/// println! that does not panic when stdout is gone (the lesson that started this kubelet was
/// killed): the pods must still be deleted.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

/// eprintln!, likewise.
macro_rules! complain {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// kubelet's `fileCheckFrequency`.
const RESCAN_EVERY: Duration = Duration::from_secs(20);
/// Events come in bursts while a file is written: wait this long for the burst to end.
const SETTLE: Duration = Duration::from_millis(150);

#[derive(Debug, clap::Args)]
pub struct KubeletArgs {
    /// The directory of Pod manifests (kubelet's staticPodPath): every file in it whose name
    /// does not start with '.' (subdirectories are ignored). kubelet rescans it every 20s;
    /// podlab watches it with inotify and reacts at once.
    #[arg(long)]
    pub manifests: PathBuf,
    /// Scale kubelet's timers (back-off, probes), e.g. 0.1 for ten times faster.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// Who wires the pods' network (as for podlab run).
    #[arg(long, value_enum, default_value_t = NetworkChoice::Native)]
    pub network: NetworkChoice,
}

/// A pod started from a file.
struct StaticPod {
    name: String,
    uid: String,
}

struct Watcher {
    dir: PathBuf,
    node: String,
    options: StartOptions,
    lang: Lang,
    /// Every manifest file as last read (also those whose pod failed to start).
    seen: Scan,
    pods: BTreeMap<PathBuf, StaticPod>,
}

pub fn run(args: &KubeletArgs, lang: Lang) -> Result<ExitCode> {
    crate::runtime::setup::require_builder("podlab kubelet", lang)?;
    crate::runtime::ensure_ready(lang)?;
    let _ = crate::runtime::gc::collect();
    let dir = std::fs::canonicalize(&args.manifests).map_err(|e| {
        eyre!(
            "failed to open the manifests directory {}: {e}",
            args.manifests.display()
        )
    })?;
    let interrupts = Arc::new(AtomicUsize::new(0));
    for signal in [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGHUP,
    ] {
        signal_hook::flag::register_usize(signal, Arc::clone(&interrupts), 1)?;
    }
    let inotify = Inotify::init(InitFlags::IN_NONBLOCK | InitFlags::IN_CLOEXEC)
        .map_err(|e| eyre!("failed to start inotify: {e}"))?;
    let mask = AddWatchFlags::IN_CLOSE_WRITE
        | AddWatchFlags::IN_CREATE
        | AddWatchFlags::IN_DELETE
        | AddWatchFlags::IN_MOVED_TO
        | AddWatchFlags::IN_MOVED_FROM
        | AddWatchFlags::IN_ATTRIB;
    inotify
        .add_watch(&dir, mask)
        .map_err(|e| eyre!("failed to watch {}: {e}", dir.display()))?;
    let node = static_pods::node_name();
    let options = StartOptions {
        manifest_path: String::new(),
        detach: true,
        time_scale: args.time_scale,
        network: args.network.config(None)?,
        podlab_exe: None,
        pod_max_pids: None,
        offline: false,
    };
    let mut watcher = Watcher {
        dir,
        node,
        options,
        lang,
        seen: Scan::new(),
        pods: BTreeMap::new(),
    };
    say!(
        "{} {} ({})",
        t(lang, "watching", "正在监视"),
        watcher.dir.display(),
        t(
            lang,
            "kubelet rescans its staticPodPath every 20s; podlab reacts to inotify events at once. Ctrl-C stops and deletes these pods",
            "kubelet 每 20 秒重新扫描 staticPodPath；podlab 通过 inotify 立即响应。按 Ctrl-C 停止并删除这些 Pod"
        )
    );
    watcher.sync();
    let mut last_scan = Instant::now();
    while interrupts.load(Ordering::Relaxed) == 0 {
        let mut fds = [PollFd::new(inotify.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(500u16)) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(eyre!("failed to wait for inotify events: {e}")),
        }
        let changed = fds[0].revents().is_some_and(|r| !r.is_empty());
        if changed {
            std::thread::sleep(SETTLE);
            while matches!(inotify.read_events(), Ok(events) if !events.is_empty()) {}
        }
        if changed || last_scan.elapsed() >= RESCAN_EVERY {
            watcher.sync();
            last_scan = Instant::now();
        } else {
            // kubelet's pod lifecycle relists every second: a pod gone without its file
            // changing is noticed without waiting for the next rescan.
            watcher.restart_gone();
        }
    }
    say!(
        "{}",
        t(
            lang,
            "stopping: deleting the static pods",
            "正在停止：删除静态 Pod"
        )
    );
    watcher.delete_all();
    Ok(ExitCode::SUCCESS)
}

fn t(lang: Lang, en: &'static str, zh: &'static str) -> &'static str {
    match lang {
        Lang::En => en,
        Lang::Zh => zh,
    }
}

impl Watcher {
    /// Bring the pods in line with the directory.
    fn sync(&mut self) {
        let now = match manifest_dir::scan(&self.dir) {
            Ok(s) => s,
            Err(e) => {
                complain!("podlab kubelet: {e:#}");
                return;
            }
        };
        for change in static_pods::changes(&self.seen, &now) {
            match change {
                Change::Add(path) => self.start(&path),
                Change::Update(path) => {
                    self.delete(&path);
                    self.start(&path);
                }
                Change::Remove(path) => self.delete(&path),
            }
        }
        self.restart_gone();
        self.seen = now;
    }

    /// A static pod someone deleted by hand comes back, as kubelet keeps static pods running.
    fn restart_gone(&mut self) {
        let gone: Vec<PathBuf> = self
            .pods
            .iter()
            .filter(|(_, p)| !lookup::shim_alive(&p.uid))
            .map(|(path, _)| path.clone())
            .collect();
        for path in gone {
            // The same file gives the same UID: what the dead pod left (after a kill -9 of
            // its shim) must go first, as kubelet's garbage collection would remove it.
            if let Some(pod) = self.pods.remove(&path) {
                if crate::runtime::paths::pod_dir(&pod.uid).exists() {
                    if let Err(e) = crate::runtime::gc::collect() {
                        complain!("podlab kubelet: gc: {e:#}");
                    }
                }
            }
            self.start(&path);
        }
    }

    fn start(&mut self, path: &Path) {
        match self.try_start(path) {
            Ok(pod) => {
                say!(
                    "{} {} ← {} (uid {})",
                    t(self.lang, "started static pod", "已启动静态 Pod"),
                    pod.name,
                    path.display(),
                    pod.uid
                );
                self.pods.insert(path.to_path_buf(), pod);
            }
            Err(e) => complain!("podlab kubelet: {}: {e:#}", path.display()),
        }
    }

    fn try_start(&self, path: &Path) -> Result<StaticPod> {
        let loaded = spec::load_pod_file(path).map_err(|e| eyre!("{}", e.render(self.lang)))?;
        for warning in &loaded.warnings {
            complain!("{}", warning.render(self.lang));
        }
        let mut pod = loaded.pod;
        pod.metadata.name = static_pods::static_pod_name(&pod.metadata.name, &self.node);
        let bytes =
            std::fs::read(path).map_err(|e| eyre!("failed to read {}: {e}", path.display()))?;
        let uid = manifest_dir::static_pod_uid(&bytes, &self.node, path);
        let annotations = &mut pod.metadata.annotations;
        annotations.insert(static_pods::CONFIG_SOURCE.into(), "file".into());
        annotations.insert(static_pods::CONFIG_HASH.into(), uid.clone());
        pod.metadata.uid = Some(uid);
        let options = StartOptions {
            manifest_path: path.display().to_string(),
            ..self.options.clone()
        };
        let (uid, mut conn) = start_pod(&pod, &options)?;
        if let Err(e) = conn.request(&Request::Start) {
            let _ = conn.delete(Some(0));
            return Err(e);
        }
        Ok(StaticPod {
            name: pod.metadata.name,
            uid,
        })
    }

    fn delete(&mut self, path: &Path) {
        let Some(pod) = self.pods.remove(path) else {
            return;
        };
        let deleted = ShimConnection::connect(&pod.uid).and_then(|mut c| c.delete(None));
        match deleted {
            Ok(()) => say!(
                "{} {}",
                t(self.lang, "deleted static pod", "已删除静态 Pod"),
                pod.name
            ),
            Err(e) if !lookup::shim_alive(&pod.uid) => {
                let _ = e; // already gone
            }
            Err(e) => complain!("podlab kubelet: failed to delete pod {}: {e:#}", pod.name),
        }
    }

    fn delete_all(&mut self) {
        let paths: Vec<PathBuf> = self.pods.keys().cloned().collect();
        for path in paths {
            self.delete(&path);
        }
    }
}
