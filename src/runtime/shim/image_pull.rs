//! kubelet's image step before a container is created: `imagePullPolicy` decides whether to
//! pull; the pull runs in a process of its own (`podlab pull --progress-json`, whose async
//! runtime never enters the shim) while the shim's loop goes on, reading the pull's progress
//! (layers, bytes) into the container's status, with kubelet's Pulling / Pulled / Failed
//! events. The first pull of a container is the creation step `pull:NAME`; a pull again (after
//! ErrImagePull, or at a restart with `Always`) runs the same way before that start.
//!
//! A pull that fails for want of a network lets the image already in the store, or podlab's
//! busybox stand-in, run instead, and says so; any other failure leaves the container waiting
//! (ErrImagePull, then ImagePullBackOff) and tried again with back-off.

use std::os::fd::RawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use eyre::Result;

use super::tasks::{Finished, Outcome, Purpose};
use super::Shim;
use crate::kube::events;
use crate::kube::image::{is_offline_error, PullPolicy, PullProgress, Reference};
use crate::kube::machine;
use crate::runtime::client::offline_from_env;
use crate::runtime::image_store::pull::PullReport;
use crate::runtime::images::{local_name, ImageStore, AVAILABLE};

/// A pull that takes longer than this is stopped and counts as failed.
const PULL_TIMEOUT: Duration = Duration::from_secs(30 * 60);

/// A start that waits: the container's image is being pulled, and the start happens when the
/// pull has ended.
#[derive(Debug)]
pub(super) struct PullUnderway;

impl std::fmt::Display for PullUnderway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the image is being pulled")
    }
}

impl std::error::Error for PullUnderway {}

/// A pull running for a container: when it began, and its result once its last line came.
pub(super) struct PullUnderwayFor {
    started: Instant,
    result: Option<PullReport>,
}

/// Whether kubelet would pull `spec`'s image before starting it: not offline, and the pull
/// policy says so given what the store holds.
pub(super) fn wants_pull(images: &ImageStore, spec: &crate::spec::Container) -> bool {
    if offline_from_env() {
        return false;
    }
    let Ok(reference) = Reference::parse(&spec.image) else {
        return false; // resolving it says what is wrong
    };
    let present = images
        .store()
        .find(&reference.to_string())
        .ok()
        .flatten()
        .is_some();
    PullPolicy::of(spec.image_pull_policy.as_deref(), &spec.image).pulls(present)
}

fn pull_purpose(container: &str) -> Purpose {
    Purpose::Pull {
        container: container.to_string(),
    }
}

impl Shim {
    /// Before a start: Ok(true) when the image was pulled for this start, Ok(false) when no
    /// pull was needed (or a stand-in serves), Err([`PullUnderway`]) when a pull runs now.
    pub(super) fn ensure_image(&mut self, spec: &crate::spec::Container) -> Result<bool> {
        if let Some(pulled_now) = self.pulled.remove(&spec.name) {
            return Ok(pulled_now);
        }
        if self.pulling(&spec.name) {
            return Err(PullUnderway.into());
        }
        if !wants_pull(&self.images, spec) {
            return Ok(false);
        }
        self.begin_pull(spec)?;
        Err(PullUnderway.into())
    }

    /// Whether `container`'s image is being pulled now.
    pub(super) fn pulling(&self, container: &str) -> bool {
        self.tasks.running(&pull_purpose(container))
    }

    /// Start the pull of `spec`'s image in a process of its own.
    pub(super) fn begin_pull(&mut self, spec: &crate::spec::Container) -> Result<()> {
        let name = spec.name.clone();
        let exe = self.podlab_exe.clone();
        let image = spec.image.clone();
        self.tasks
            .spawn(pull_purpose(&name), PULL_TIMEOUT, move |fd| {
                exec_pull(&exe, &image, fd)
            })?;
        self.record_for(&name, events::pulling(&spec.image));
        self.pulls.insert(
            name.clone(),
            PullUnderwayFor {
                started: Instant::now(),
                result: None,
            },
        );
        if let Some(s) = self.status_mut(&name) {
            s.pull = Some(PullProgress::default());
        }
        Ok(())
    }

    /// Read what the running pulls reported so far into their containers' status.
    pub(super) fn read_pull_progress(&mut self) {
        let names: Vec<String> = self.pulls.keys().cloned().collect();
        for name in names {
            let reports: Vec<PullReport> = self
                .tasks
                .take_lines(&pull_purpose(&name))
                .iter()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            for report in reports {
                if let Some(progress) = self.status_mut(&name).and_then(|s| s.pull.as_mut()) {
                    report.apply(progress);
                }
                if matches!(report, PullReport::Pulled { .. } | PullReport::Error { .. }) {
                    if let Some(pull) = self.pulls.get_mut(&name) {
                        pull.result = Some(report);
                    }
                }
            }
        }
    }

    /// A pull ended: the events kubelet records, then the start it was for (unless a creation
    /// step waits for it: the step ends and the container's own step starts it).
    pub(super) fn pull_finished(&mut self, container: &str, done: Finished) {
        let underway = self.pulls.remove(container);
        let started = underway.as_ref().map_or_else(Instant::now, |p| p.started);
        let Some(spec) = self.container_spec(container).cloned() else {
            return;
        };
        if let Some(s) = self.status_mut(container) {
            s.pull = None;
        }
        // The result is the last line: read with the progress, or left in the output.
        let last = done
            .output
            .lines()
            .filter_map(|l| serde_json::from_str::<PullReport>(l).ok())
            .rfind(|r| matches!(r, PullReport::Pulled { .. } | PullReport::Error { .. }))
            .or(underway.and_then(|p| p.result));
        let error = match (done.outcome, last) {
            (Outcome::Exited(0), Some(PullReport::Pulled { size, .. })) => {
                let took = format!("{:.3}s", started.elapsed().as_secs_f64());
                self.record_for(container, events::pulled(&spec.image, &took, &took, size));
                self.pulled_for_start(container, true);
                return;
            }
            (Outcome::TimedOut, _) => format!(
                "the pull took longer than {} minutes and was stopped",
                PULL_TIMEOUT.as_secs() / 60
            ),
            (_, Some(PullReport::Error { message })) => message,
            (Outcome::Exited(code), _) => {
                format!("podlab pull ended with exit code {code} and no result")
            }
        };
        let present = Reference::parse(&spec.image).is_ok_and(|r| {
            self.images
                .store()
                .find(&r.to_string())
                .ok()
                .flatten()
                .is_some()
        });
        let stand_in = AVAILABLE.contains(&local_name(&spec.image));
        if is_offline_error(&error) && (present || stand_in) {
            let instead = if present {
                "the image already in podlab's image store"
            } else {
                "podlab's stand-in"
            };
            self.record_for(
                container,
                events::pull_offline(&spec.image, &error, instead),
            );
            self.pulled_for_start(container, false);
            return;
        }
        self.record_for(container, events::failed_to_pull(&spec.image, &error));
        self.record_for(container, events::failed("ErrImagePull"));
        self.feed(machine::Event::PullFailed {
            container: container.to_string(),
            error,
        });
    }

    /// The image is there for the next start; start now unless a creation step waits for the
    /// pull (then the container's own step starts it).
    fn pulled_for_start(&mut self, container: &str, pulled_now: bool) {
        self.pulled.insert(container.to_string(), pulled_now);
        if self.pull_step.as_deref() != Some(container) {
            let _ = self.start_container(container);
        }
    }
}

/// In the forked child: become `podlab pull --progress-json IMAGE` with stdout on the pipe.
fn exec_pull(exe: &std::path::Path, image: &str, fd: RawFd) -> i32 {
    // SAFETY: the shim is single-threaded, so the child may allocate; `fd` is the pipe's write
    // end, owned by this child until exec.
    unsafe {
        // Not the shim's blocked signals.
        let mut empty: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut empty);
        libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
        if libc::dup2(fd, 1) < 0 {
            return 126;
        }
    }
    let err = Command::new(exe)
        .arg0("podlab-pull")
        .args(["pull", "--progress-json", image])
        .stdin(Stdio::null())
        .exec();
    let line = PullReport::Error {
        message: format!("failed to start podlab pull: {err}"),
    };
    if let Ok(text) = serde_json::to_string(&line) {
        println!("{text}");
    }
    127
}
