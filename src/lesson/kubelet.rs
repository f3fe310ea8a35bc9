//! The lesson's kubelet: `podlab kubelet --manifests DIR` as a child process that the lesson
//! owns, with the directory it watches. Dropping it (or [`LessonKubelet::stop`]) stops the
//! kubelet (which deletes its static pods), deletes any static pod of the directory still
//! there, and removes the directory. The kubelet also gets SIGTERM if the lesson dies
//! (PR_SET_PDEATHSIG), so a killed lesson leaves no pods either.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use eyre::{eyre, Context, Result};

use crate::kube::pod_state::PodState;
use crate::kube::static_pods;
use crate::lesson::pace::Pace;
use crate::runtime::client::ShimConnection;
use crate::runtime::sys;
use crate::runtime::{lookup, network};

/// How long the kubelet may take to start watching.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long the kubelet may take to delete its pods when asked to stop.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// The lines of the kubelet's output kept for error messages.
const LOG_LINES: usize = 50;
/// A hidden file (kubelet skips names starting with '.') that marks the directory as in use.
const LOCK_FILE: &str = ".podlab-lesson.lock";

/// kubelet's `config.source` annotation on a pod read from a file.
const SOURCE_ANNOTATION: &str = "kubernetes.io/config.source";

/// What a check may know about the lesson's kubelet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeletView {
    pub dir: PathBuf,
    pub pid: u32,
    pub node: String,
    /// None while it runs; how it ended otherwise.
    pub exited: Option<String>,
    /// The last line it printed on stderr (a pod that failed to start, …).
    pub last_error: Option<String>,
}

impl KubeletView {
    /// The live static pods this kubelet started (read from their state files).
    pub fn pods(&self) -> Vec<PodState> {
        static_pods_of(&self.dir)
    }
}

pub struct LessonKubelet {
    dir: PathBuf,
    node: String,
    child: Option<Child>,
    exited: Option<String>,
    errors: Arc<Mutex<VecDeque<String>>>,
    /// Held while the lesson owns the directory.
    _lock: File,
}

impl LessonKubelet {
    /// Make `dir` (empty; a directory a killed lesson left is emptied first) and start
    /// `podlab kubelet` on it. Returns once the kubelet watches the directory. Its pods get
    /// podlab's default range and bridge, wired as `network` says (None: loopback only).
    pub fn start(
        podlab_exe: &Path,
        dir: &Path,
        time_scale: f64,
        network: Option<&network::Config>,
    ) -> Result<Self> {
        let dir = own_directory(dir)?;
        let lock = take_directory(&dir)?;
        let parent = std::process::id();
        let mut command = Command::new(podlab_exe);
        command
            .args(["--lang", "en", "kubelet", "--manifests"])
            .arg(&dir)
            .args(["--time-scale", &time_scale.to_string()])
            .args(["--network", network_choice(network)])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // SAFETY: setsid, prctl and getppid are async-signal-safe. Its own session keeps a
        // Ctrl-C in the terminal for the lesson, which stops the kubelet itself; the death
        // signal stops it if the lesson is killed.
        unsafe {
            command.pre_exec(move || {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM, 0, 0, 0) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::other("the lesson is gone"));
                }
                Ok(())
            });
        }
        let mut child = command
            .spawn()
            .wrap_err_with(|| format!("failed to start podlab kubelet on {}", dir.display()))?;
        let errors = Arc::new(Mutex::new(VecDeque::new()));
        let (ready_tx, ready_rx) = mpsc::channel();
        if let Some(stdout) = child.stdout.take() {
            std::thread::spawn(move || {
                let mut lines = BufReader::new(stdout).lines();
                if let Some(Ok(first)) = lines.next() {
                    let _ = ready_tx.send(first);
                }
                // Keep reading so the kubelet never blocks on a full pipe.
                for _ in lines {}
            });
        }
        if let Some(stderr) = child.stderr.take() {
            let errors = Arc::clone(&errors);
            std::thread::spawn(move || keep_lines(stderr, &errors));
        }
        let mut kubelet = LessonKubelet {
            dir,
            node: static_pods::node_name(),
            child: Some(child),
            exited: None,
            errors,
            _lock: lock,
        };
        let deadline = Instant::now() + Pace::of_machine().wall(START_TIMEOUT);
        loop {
            match ready_rx.recv_timeout(Duration::from_millis(100)) {
                Ok(_) => return Ok(kubelet),
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if kubelet.view().exited.is_some() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
        let why = kubelet
            .view()
            .last_error
            .unwrap_or_else(|| "it did not start watching in time".into());
        let dir = kubelet.dir.display().to_string();
        let _ = kubelet.shut_down();
        Err(eyre!("failed to start podlab kubelet on {dir}: {why}"))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn node(&self) -> &str {
        &self.node
    }

    /// Where the kubelet stands now.
    pub fn view(&mut self) -> KubeletView {
        if self.exited.is_none() {
            if let Some(child) = self.child.as_mut() {
                match child.try_wait() {
                    Ok(Some(status)) => self.exited = Some(status.to_string()),
                    Ok(None) => {}
                    Err(e) => self.exited = Some(format!("cannot be waited for: {e}")),
                }
            }
        }
        KubeletView {
            dir: self.dir.clone(),
            pid: self.child.as_ref().map_or(0, Child::id),
            node: self.node.clone(),
            exited: self.exited.clone(),
            last_error: self
                .errors
                .lock()
                .ok()
                .and_then(|lines| lines.back().cloned()),
        }
    }

    fn file(&self, name: &str) -> Result<PathBuf> {
        manifest_path(&self.dir, name)
    }

    /// Write a manifest into the directory, as a new file renamed over the old one (what
    /// `cp` to a temporary name and `mv`, or `sed -i`, do): the kubelet never reads half a file.
    pub fn put(&self, name: &str, content: &str) -> Result<PathBuf> {
        let path = self.file(name)?;
        let hidden = self.dir.join(format!(".{name}.tmp"));
        std::fs::write(&hidden, content)
            .wrap_err_with(|| format!("failed to write {}", hidden.display()))?;
        std::fs::rename(&hidden, &path).wrap_err_with(|| {
            let _ = std::fs::remove_file(&hidden);
            format!("failed to move {} to {}", hidden.display(), path.display())
        })?;
        Ok(path)
    }

    /// Replace `from` by `to` in a manifest of the directory (like `sed -i 's/from/to/'`).
    pub fn edit(&self, name: &str, from: &str, to: &str) -> Result<PathBuf> {
        let path = self.file(name)?;
        let text = std::fs::read_to_string(&path)
            .wrap_err_with(|| format!("failed to read {}", path.display()))?;
        if !text.contains(from) {
            return Err(eyre!("{} does not contain {from:?}", path.display()));
        }
        self.put(name, &text.replace(from, to))
    }

    pub fn remove(&self, name: &str) -> Result<PathBuf> {
        let path = self.file(name)?;
        std::fs::remove_file(&path)
            .wrap_err_with(|| format!("failed to remove {}", path.display()))?;
        Ok(path)
    }

    /// Stop the kubelet, delete what it left, remove the directory.
    pub fn stop(mut self) -> Result<()> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<()> {
        let mut first_error = None;
        if let Some(mut child) = self.child.take() {
            // SIGTERM: the kubelet deletes its static pods, then exits.
            let pid = nix::unistd::Pid::from_raw(child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            let deadline = Instant::now() + STOP_TIMEOUT;
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(20))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        first_error.get_or_insert(eyre!(
                            "podlab kubelet (pid {pid}) did not stop within {}s and was killed",
                            STOP_TIMEOUT.as_secs()
                        ));
                        break;
                    }
                }
            }
        }
        // A kubelet that died on its own left its pods: they go too.
        for pod in static_pods_of(&self.dir) {
            let deleted = ShimConnection::connect(&pod.uid).and_then(|mut c| c.delete(Some(0)));
            if let Err(e) = deleted {
                if lookup::shim_alive(&pod.uid) {
                    first_error.get_or_insert(
                        e.wrap_err(format!("failed to delete static pod {}", pod.name)),
                    );
                }
            }
        }
        if self.dir.exists() {
            if let Err(e) = std::fs::remove_dir_all(&self.dir) {
                first_error.get_or_insert(eyre!(
                    "failed to remove the manifests directory {}: {e}",
                    self.dir.display()
                ));
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl Drop for LessonKubelet {
    fn drop(&mut self) {
        let _ = self.shut_down();
    }
}

/// Create `dir` (or take the one there), refusing what someone else could have put in /tmp
/// for us to empty and remove: a symlink, or a directory of another user.
fn own_directory(dir: &Path) -> Result<PathBuf> {
    std::fs::create_dir_all(dir)
        .wrap_err_with(|| format!("failed to create the manifests directory {}", dir.display()))?;
    let meta = std::fs::symlink_metadata(dir)
        .wrap_err_with(|| format!("failed to read {}", dir.display()))?;
    let me = nix::unistd::geteuid().as_raw();
    if !meta.file_type().is_dir() || meta.uid() != me {
        return Err(eyre!(
            "refusing to use {} as the manifests directory: it is a symlink or not a directory \
             of user {me}; remove it first",
            dir.display()
        ));
    }
    let resolved = std::fs::canonicalize(dir)
        .wrap_err_with(|| format!("failed to resolve {}", dir.display()))?;
    // A symlink further up could lead elsewhere; the lesson only owns what resolves to the
    // same place (below /tmp/podlab-lesson, as `lessons check` makes sure).
    if resolved != dir && dir.is_absolute() {
        return Err(eyre!(
            "refusing to use {}: it resolves to {}",
            dir.display(),
            resolved.display()
        ));
    }
    Ok(resolved)
}

/// The path of a manifest file in `dir`: a plain file name only.
fn manifest_path(dir: &Path, name: &str) -> Result<PathBuf> {
    if name.is_empty() || name.contains('/') || name == "." || name == ".." {
        return Err(eyre!("{name:?} is not a file name"));
    }
    Ok(dir.join(name))
}

/// Lock `dir` for this lesson. A directory whose lock nobody holds is what a killed lesson
/// left: it is emptied.
fn take_directory(dir: &Path) -> Result<File> {
    let lock_path = dir.join(LOCK_FILE);
    let lock = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .wrap_err_with(|| format!("failed to open {}", lock_path.display()))?;
    let taken = sys::lock_file(&lock, false)
        .wrap_err_with(|| format!("failed to lock {}", lock_path.display()))?;
    if !taken {
        return Err(eyre!(
            "{} is in use by another lesson's kubelet; finish that lesson first",
            dir.display()
        ));
    }
    for pod in static_pods_of(dir) {
        let _ = ShimConnection::connect(&pod.uid).and_then(|mut c| c.delete(Some(0)));
    }
    let entries =
        std::fs::read_dir(dir).wrap_err_with(|| format!("failed to read {}", dir.display()))?;
    for entry in entries.flatten() {
        if entry.file_name() == LOCK_FILE {
            continue;
        }
        let path = entry.path();
        let removed = if path.is_dir() && !path.is_symlink() {
            std::fs::remove_dir_all(&path)
        } else {
            std::fs::remove_file(&path)
        };
        removed.wrap_err_with(|| format!("failed to remove the leftover {}", path.display()))?;
    }
    Ok(lock)
}

/// Live pods that a kubelet started from a file in `dir`.
pub fn static_pods_of(dir: &Path) -> Vec<PodState> {
    lookup::all_pods()
        .into_iter()
        .filter(|p| p.shim_alive)
        .filter_map(|p| p.state)
        .filter(|s| {
            s.pod
                .metadata
                .annotations
                .get(SOURCE_ANNOTATION)
                .map(String::as_str)
                == Some("file")
                && Path::new(&s.manifest_path).parent() == Some(dir)
        })
        .collect()
}

/// `podlab kubelet --network`'s value for a pod network.
fn network_choice(network: Option<&network::Config>) -> &'static str {
    match network.map(|n| &n.mode) {
        None => "none",
        Some(network::Mode::Native) => "native",
        Some(network::Mode::Cni { .. }) => "cni",
    }
}

fn keep_lines(from: impl Read, into: &Mutex<VecDeque<String>>) {
    for line in BufReader::new(from).lines().map_while(Result::ok) {
        if let Ok(mut lines) = into.lock() {
            if lines.len() == LOG_LINES {
                lines.pop_front();
            }
            lines.push_back(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_plain_file_names_in_the_directory() {
        let dir = Path::new("/tmp/podlab-lesson-x");
        assert_eq!(
            manifest_path(dir, "web.yaml").ok(),
            Some(dir.join("web.yaml"))
        );
        for bad in ["", ".", "..", "../web.yaml", "sub/web.yaml"] {
            assert!(manifest_path(dir, bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_symlink_is_not_taken_as_the_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = dir.path().join("elsewhere");
        std::fs::create_dir(&target).expect("mkdir");
        let link = dir.path().join("manifests");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        assert!(own_directory(&link).is_err());
        assert!(
            own_directory(&link.join("sub")).is_err(),
            "through a symlink"
        );
        let base = std::fs::canonicalize(dir.path()).expect("resolve");
        assert_eq!(
            own_directory(&base.join("fresh")).ok(),
            Some(base.join("fresh"))
        );
    }

    #[test]
    fn the_network_choice_follows_the_lesson() {
        assert_eq!(network_choice(None), "none");
        assert_eq!(network_choice(Some(&network::Config::default())), "native");
    }

    #[test]
    fn a_leftover_directory_is_emptied_and_a_locked_one_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("web.yaml"), "x").expect("write");
        std::fs::create_dir(dir.path().join("sub")).expect("mkdir");
        let lock = take_directory(dir.path()).expect("take the directory");
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .expect("read")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(left, vec![LOCK_FILE.to_string()]);
        let again = take_directory(dir.path());
        assert!(
            again.is_err_and(|e| e.to_string().contains("in use by another lesson")),
            "a second lesson may not take it"
        );
        drop(lock);
        assert!(take_directory(dir.path()).is_ok(), "free again");
    }
}
