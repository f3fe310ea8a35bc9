//! The client side of a pod: starting its shim and talking to it.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use eyre::{eyre, Context, Result};

use super::images::ImageStore;
use super::paths;
use super::shim::read_response;
use crate::kube::pod_state::PodState;
use crate::kube::protocol::{Request, Response};
use crate::kube::steps::StepPlan;
use crate::spec::Pod;

pub struct ShimConnection {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl ShimConnection {
    pub fn connect(uid: &str) -> Result<ShimConnection> {
        let path = paths::shim_socket(uid);
        let stream = UnixStream::connect(&path).wrap_err_with(|| {
            format!("failed to connect to the pod's shim at {}", path.display())
        })?;
        Ok(ShimConnection {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        })
    }

    pub fn request(&mut self, request: &Request) -> Result<Response> {
        let mut line = serde_json::to_vec(request)?;
        line.push(b'\n');
        self.writer
            .write_all(&line)
            .wrap_err("failed to send a request to the shim")?;
        match read_response(&mut self.reader)? {
            Response::Error { message } => Err(eyre!("{message}")),
            other => Ok(other),
        }
    }

    pub fn status(&mut self) -> Result<PodState> {
        match self.request(&Request::Status)? {
            Response::Status { state } => Ok(*state),
            other => Err(unexpected(other)),
        }
    }

    pub fn plan(&mut self) -> Result<(Vec<StepPlan>, usize)> {
        match self.request(&Request::Plan)? {
            Response::Plan { steps, next } => Ok((steps, next)),
            other => Err(unexpected(other)),
        }
    }

    /// Resize the pod in place (`kubectl patch --subresource resize`): the state afterwards.
    pub fn resize(&mut self, patch: &str) -> Result<PodState> {
        let request = Request::Resize {
            patch: patch.to_string(),
        };
        match self.request(&request)? {
            Response::Status { state } => Ok(*state),
            other => Err(unexpected(other)),
        }
    }

    /// Delete the pod and wait until everything it made is gone.
    pub fn delete(&mut self, grace_seconds: Option<i64>) -> Result<()> {
        match self.request(&Request::Delete { grace_seconds }) {
            Ok(Response::Deleted) => Ok(()),
            Ok(other) => Err(unexpected(other)),
            // The shim exits right after answering; a closed connection means the same.
            Err(e) if e.to_string().contains("closed the connection") => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Wait for anything readable from the shim (used to notice that it is gone).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> Result<()> {
        Ok(self.writer.set_read_timeout(timeout)?)
    }
}

fn unexpected(response: Response) -> eyre::Report {
    eyre!("unexpected answer from the shim: {response:?}")
}

#[derive(Debug, Clone)]
pub struct StartOptions {
    pub manifest_path: String,
    pub detach: bool,
    pub time_scale: f64,
    /// None: loopback only. hostNetwork pods never get one.
    pub network: Option<super::network::Config>,
    /// The podlab binary to run the shim from (None: this process's own binary).
    pub podlab_exe: Option<std::path::PathBuf>,
    /// kubelet's podPidsLimit for this pod (None: podlab's, `POD_PIDS_LIMIT`).
    pub pod_max_pids: Option<i64>,
    /// Pull nothing: images come from the store or the busybox stand-ins (`--offline`,
    /// lessons; also when PODLAB_OFFLINE is set).
    pub offline: bool,
}

/// Set in the environment: podlab pulls no image (the tests set it; they pull only from their
/// own loopback registry, explicitly).
pub const OFFLINE_ENV: &str = "PODLAB_OFFLINE";

/// Whether the environment forbids pulling.
pub fn offline_from_env() -> bool {
    std::env::var_os(OFFLINE_ENV).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Start a shim for `pod` and connect to it. The pod exists but none of its steps ran yet.
pub fn start_pod(pod: &Pod, options: &StartOptions) -> Result<(String, ShimConnection)> {
    super::lock::ensure_state_root()?;
    if pod.spec.own_user_namespace() && super::rootless::is_rootless() {
        return Err(eyre!("{}", super::shim::HOST_USERS_ROOTLESS));
    }
    // Resolve every image first: an unknown image is an error before anything starts, unless
    // the shim may pull it.
    let images = ImageStore::default();
    let offline = options.offline || offline_from_env();
    for c in pod.spec.init_containers.iter().chain(&pod.spec.containers) {
        let policy = crate::kube::image::PullPolicy::of(c.image_pull_policy.as_deref(), &c.image);
        if offline || policy == crate::kube::image::PullPolicy::Never {
            images.resolve(&c.image)?;
        }
    }
    // A static pod comes with kubelet's UID from its file; every other pod gets a new one.
    let uid = match &pod.metadata.uid {
        Some(uid) if paths::pod_dir(uid).exists() => {
            return Err(eyre!(
                "a pod with uid {uid} still exists; delete it first (or run podlab gc if its shim is gone)"
            ))
        }
        Some(uid) => uid.clone(),
        None => uuid::Uuid::new_v4().to_string(),
    };
    let exe = match &options.podlab_exe {
        Some(exe) => exe.clone(),
        None => {
            std::fs::read_link("/proc/self/exe").wrap_err("failed to find podlab's own binary")?
        }
    };
    super::pause_binary_near(&exe)?;
    // Without root the shim joins the user's node; holding it keeps the node from exiting
    // before the shim is in it.
    let node = if super::rootless::is_rootless() {
        Some(super::rootless::node::ensure(&exe)?)
    } else {
        None
    };
    let mut cmd = Command::new(&exe);
    cmd.arg0("podlab-shim")
        .args(["shim", "--uid", &uid, "--manifest", &options.manifest_path])
        .args(["--time-scale", &options.time_scale.to_string()]);
    if options.detach {
        cmd.arg("--detach");
    }
    if let Some(node) = &node {
        cmd.args(["--node", &serde_json::to_string(&node.node)?]);
    }
    if offline {
        cmd.env(OFFLINE_ENV, "1");
    }
    if let Some(pids) = options.pod_max_pids {
        cmd.args(["--pod-max-pids", &pids.to_string()]);
    }
    if let Some(network) = options.network.as_ref().filter(|_| !pod.spec.host_network) {
        network.validate().map_err(|e| eyre!("{e}"))?;
        cmd.args(["--network", &serde_json::to_string(network)?]);
    }
    // The shim leaves our session so that a Ctrl-C in this terminal reaches us (we then
    // delete the pod), not the shim.
    let started = start_in_own_session(&mut cmd, &serde_json::to_vec(pod)?)
        .wrap_err("failed to start podlab-shim")?;
    drop(node);
    if let Err(msg) = started {
        let msg = msg.strip_prefix("podlab: ").unwrap_or(&msg);
        return Err(eyre!("the pod's shim failed to start: {msg}"));
    }
    let mut conn = ShimConnection::connect(&uid)?;
    conn.request(&Request::Hello {
        hold: !options.detach,
    })?;
    Ok((uid, conn))
}

/// Start a podlab helper (the shim, podlab-node) in a session of its own with `input` on its
/// stdin, and wait until it says `ready …` on its first line and its first process exits
/// (the helper forks away what lives on). Ok(what followed "ready "), or Err(what it said
/// on stderr instead).
pub(crate) fn start_in_own_session(
    cmd: &mut Command,
    input: &[u8],
) -> std::io::Result<std::result::Result<String, String>> {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // SAFETY: setsid is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            nix::unistd::setsid().map_err(std::io::Error::from)?;
            Ok(())
        });
    }
    let mut child = cmd.spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input)?;
    }
    let mut first = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout).read_line(&mut first)?;
    }
    let mut said = String::new();
    if let Some(mut err) = child.stderr.take() {
        if !first.starts_with("ready ") {
            let _ = err.read_to_string(&mut said);
        }
    }
    let _ = child.wait();
    Ok(match first.strip_prefix("ready ") {
        Some(rest) => Ok(rest.trim().to_string()),
        None => Err(said.trim().to_string()),
    })
}
