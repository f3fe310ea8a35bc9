//! kubelet's image step before a container is created: `imagePullPolicy` decides whether to
//! pull; the pull runs in a helper process (`podlab pull`, whose async runtime never enters
//! the shim) while the shim waits, with kubelet's Pulling / Pulled / Failed events. A pull that
//! fails for want of a network lets the image already in the store, or podlab's busybox
//! stand-in, run instead, and says so; any other failure leaves the container waiting
//! (ErrImagePull, then ImagePullBackOff) and tried again with back-off.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Instant;

use eyre::Result;

use super::Shim;
use crate::kube::events;
use crate::kube::image::{is_offline_error, PullPolicy, Reference};
use crate::runtime::client::offline_from_env;
use crate::runtime::images::{local_name, AVAILABLE};

/// A pull that failed: the container waits and the pull is tried again.
#[derive(Debug)]
pub(super) struct PullFailed(pub String);

impl std::fmt::Display for PullFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for PullFailed {}

impl Shim {
    /// Pull the container's image when its policy says so. True when it was pulled now.
    pub(super) fn ensure_image(&mut self, spec: &crate::spec::Container) -> Result<bool> {
        if offline_from_env() {
            return Ok(false);
        }
        let Ok(reference) = Reference::parse(&spec.image) else {
            return Ok(false); // resolving it says what is wrong
        };
        let store = self.images.store();
        let present = store.find(&reference.to_string()).ok().flatten().is_some();
        let pull = match PullPolicy::of(spec.image_pull_policy.as_deref(), &spec.image) {
            PullPolicy::Always => true,
            PullPolicy::IfNotPresent => !present,
            PullPolicy::Never => false,
        };
        if !pull {
            return Ok(false);
        }
        let name = spec.name.clone();
        self.record_for(&name, events::pulling(&spec.image));
        let started = Instant::now();
        let mut cmd = Command::new(&self.podlab_exe);
        cmd.arg0("podlab-pull")
            .args(["pull", &spec.image])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                // Not the shim's blocked signals; and gone if the shim dies.
                let mut empty: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut empty);
                libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let error = match cmd.output() {
            Ok(out) if out.status.success() => {
                let size = store
                    .find(&reference.to_string())
                    .ok()
                    .flatten()
                    .map_or(0, |i| i.size);
                let took = format!("{:.3}s", started.elapsed().as_secs_f64());
                self.record_for(&name, events::pulled(&spec.image, &took, &took, size));
                return Ok(true);
            }
            Ok(out) => {
                let text = String::from_utf8_lossy(&out.stderr);
                let text = text.trim();
                text.strip_prefix("podlab: ").unwrap_or(text).to_string()
            }
            Err(e) => format!("failed to start podlab pull: {e}"),
        };
        let stand_in = AVAILABLE.contains(&local_name(&spec.image));
        if is_offline_error(&error) && (present || stand_in) {
            let instead = if present {
                "the image already in podlab's image store"
            } else {
                "podlab's stand-in"
            };
            self.record_for(&name, events::pull_offline(&spec.image, &error, instead));
            return Ok(false);
        }
        self.record_for(&name, events::failed_to_pull(&spec.image, &error));
        self.record_for(&name, events::failed("ErrImagePull"));
        Err(PullFailed(error).into())
    }
}
