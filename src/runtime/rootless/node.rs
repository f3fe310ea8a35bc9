//! `podlab-node`: the learner's node, one process per user that holds a user namespace and a
//! net namespace for every rootless pod of that user.
//!
//! What rootlesskit does for rootless containerd: the user namespace maps the learner to root
//! ([`super::idmap`]), so the shim can make namespaces, mounts and network devices in it; the
//! net namespace is the node's network, where the bridge `podlab0` and the host ends of the
//! pods' veths live (the learner's own network stays untouched, and reaches a pod through
//! `podlab exec` and `podlab port-forward`).
//!
//! Lifetime: the client that starts a pod makes sure the node runs ([`ensure`], under
//! `node.lock` in the user's state dir) and hands it to the shim, which joins both namespaces
//! first thing ([`join`]). podlab-node checks every second whether any other process is still
//! in its user namespace; a second after the last shim has gone it exits, and the kernel frees
//! the namespaces with the bridge in them. `podlab gc` stops a podlab-node that no pod uses
//! ([`collect`]).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use eyre::{eyre, Context, Result};
use nix::sched::{setns, CloneFlags};
use serde::{Deserialize, Serialize};

use super::idmap::{self, IdMapping, Offer};
use crate::kube::pod_state::ProcessRef;
use crate::runtime::paths;
use crate::runtime::sys::{self, LiveProcess};

/// The node's process name in `ps`.
pub const NODE_NAME: &str = "podlab-node";

/// How often podlab-node looks for processes in its user namespace.
const IDLE_CHECK: Duration = Duration::from_secs(1);

/// What the user's state dir records about the running node (`node.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeRecord {
    /// The podlab-node process.
    pub holder: ProcessRef,
    pub ids: IdMapping,
}

impl NodeRecord {
    /// Whether this very podlab-node still runs.
    pub fn is_alive(&self) -> bool {
        self.holder.is_alive()
            && std::fs::read_to_string(format!("/proc/{}/comm", self.holder.pid))
                .is_ok_and(|comm| comm.trim() == NODE_NAME)
    }
}

/// The node, held for the caller while a shim joins it: the node cannot decide it is unused
/// and exit meanwhile (it takes `node.lock` before it does).
pub struct NodeGuard {
    _lock: File,
    pub node: NodeRecord,
}

/// The user's running node, started first if there is none.
pub fn ensure(podlab_exe: &Path) -> Result<NodeGuard> {
    crate::runtime::lock::ensure_state_root()?;
    let lock = sys::hold_lock(&paths::node_lock())
        .wrap_err_with(|| format!("failed to lock {}", paths::node_lock().display()))?;
    if let Some(node) = read_record().filter(NodeRecord::is_alive) {
        return Ok(NodeGuard { _lock: lock, node });
    }
    let node = start(podlab_exe)?;
    let path = paths::node_file();
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec(&node)?)
        .and_then(|()| std::fs::rename(&tmp, &path))
        .wrap_err_with(|| format!("failed to write {}", path.display()))?;
    Ok(NodeGuard { _lock: lock, node })
}

/// The node as `node.json` records it (alive or not).
pub fn read_record() -> Option<NodeRecord> {
    let text = std::fs::read(paths::node_file()).ok()?;
    serde_json::from_slice(&text).ok()
}

/// Run `podlab node` and read the record it prints once the node is up.
fn start(podlab_exe: &Path) -> Result<NodeRecord> {
    let mut cmd = Command::new(podlab_exe);
    cmd.arg0(NODE_NAME).arg("node");
    // In a session of its own: a Ctrl-C in this terminal is for the client, never the node.
    match crate::runtime::client::start_in_own_session(&mut cmd, &[])
        .wrap_err("failed to start podlab-node")?
    {
        Ok(json) => serde_json::from_str(&json).wrap_err("failed to read podlab-node's record"),
        Err(said) => Err(eyre!(
            "failed to start podlab-node: {}",
            said.strip_prefix("podlab: ").unwrap_or(&said)
        )),
    }
}

/// `podlab node`: clone the node process into a new user and net namespace, map the user's ids
/// onto it from here (the parent namespace, as newuidmap requires), let it go and print its
/// record. Must be called single-threaded.
pub fn run() -> Result<()> {
    let builder = super::builder();
    let super::Builder::User { uid, gid } = builder else {
        return Err(eyre!("podlab node is for building pods without root"));
    };
    let name = nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
        .ok()
        .flatten()
        .map(|u| u.name);
    let offer = Offer::of_this_machine();
    let mut ids = idmap::plan(uid, gid, name.as_deref(), &offer);
    let (go_read, go_write) =
        nix::unistd::pipe().map_err(|e| eyre!("failed to make a pipe: {e}"))?;
    let (up_read, up_write) =
        nix::unistd::pipe().map_err(|e| eyre!("failed to make a pipe: {e}"))?;
    let flags = libc::CLONE_NEWUSER | libc::CLONE_NEWNET;
    // SAFETY: single-threaded (just started); the child only reads a pipe before it runs on.
    let child = match unsafe { sys::clone_fork(flags) } {
        Err(e) => {
            return Err(eyre!(
                "failed to create the node's user and net namespaces: {e}"
            ))
        }
        Ok(None) => {
            drop(go_write);
            drop(up_read);
            let mut byte = [0u8; 1];
            if File::from(go_read).read_exact(&mut byte).is_err() {
                unsafe { libc::_exit(1) };
            }
            hold(File::from(up_write))
        }
        Ok(Some(pid)) => pid,
    };
    drop(go_read);
    drop(up_write);
    let kill = || {
        let _ = nix::sys::signal::kill(child, nix::sys::signal::Signal::SIGKILL);
        let _ = nix::sys::wait::waitpid(child, None);
    };
    if let Err(e) = idmap::apply(child.as_raw(), &ids, &offer) {
        match ids {
            // A range the helpers refuse: the learner alone still works, and we say why.
            IdMapping::Range { .. } => {
                let single = IdMapping::Single {
                    uid,
                    gid,
                    why: idmap::SingleBecause::HelperFailed(format!("{e:#}")),
                };
                if let Err(e) = idmap::apply(child.as_raw(), &single, &offer) {
                    kill();
                    return Err(e.wrap_err("failed to map your ids into the node's user namespace"));
                }
                ids = single;
            }
            IdMapping::Single { .. } => {
                kill();
                return Err(e.wrap_err("failed to map your ids into the node's user namespace"));
            }
        }
    }
    if File::from(go_write).write_all(&[1]).is_err() {
        kill();
        return Err(eyre!("podlab-node died before it started"));
    }
    let mut up = String::new();
    let _ = File::from(up_read).read_to_string(&mut up);
    if up.trim() != "up" {
        kill();
        return Err(eyre!("podlab-node could not start: {}", up.trim()));
    }
    let record = NodeRecord {
        holder: ProcessRef::of(child.as_raw())?,
        ids,
    };
    println!("ready {}", serde_json::to_string(&record)?);
    std::io::stdout().flush()?;
    Ok(())
}

/// The node process: in its own session, name and working directory, holding the namespaces
/// until nothing else is in its user namespace. Never returns.
fn hold(mut up: File) -> ! {
    let _ = nix::unistd::setsid();
    sys::set_process_name(NODE_NAME);
    let _ = std::env::set_current_dir("/");
    let ready = (|| -> Result<()> {
        let null = File::open("/dev/null")?;
        for fd in 0..=2 {
            nix::unistd::dup2(null.as_raw_fd(), fd)?;
        }
        Ok(())
    })();
    let said = match &ready {
        Ok(()) => "up".to_string(),
        Err(e) => format!("{e:#}"),
    };
    let _ = up.write_all(said.as_bytes());
    drop(up);
    if ready.is_err() {
        std::process::exit(1);
    }
    // SAFETY: setting dispositions of signals nobody else handles in this process.
    unsafe {
        libc::signal(libc::SIGINT, libc::SIG_IGN);
        libc::signal(libc::SIGHUP, libc::SIG_IGN);
    }
    let me = std::process::id() as i32;
    loop {
        std::thread::sleep(IDLE_CHECK);
        // A client that holds the lock is handing this node to a shim. (Without a state dir
        // no client can find this node any more: only its members keep it.)
        let lock = std::fs::OpenOptions::new()
            .write(true)
            .truncate(false)
            .open(paths::node_lock());
        // Held (when there is one) until this round ends, or until we exit.
        if let Ok(lock) = &lock {
            if !matches!(sys::lock_file(lock, false), Ok(true)) {
                continue;
            }
        }
        if members(me).is_empty() {
            if read_record().is_some_and(|r| r.holder.pid == me) {
                let _ = std::fs::remove_file(paths::node_file());
            }
            std::process::exit(0);
        }
    }
}

/// The processes other than the node itself in the node's user namespace (ours, when called
/// from outside it: a process can always look into the namespaces it owns).
pub fn members(node_pid: i32) -> Vec<i32> {
    let Ok(ns) = std::fs::metadata(format!("/proc/{node_pid}/ns/user")) else {
        return vec![];
    };
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != node_pid)
        .filter(|pid| {
            std::fs::metadata(format!("/proc/{pid}/ns/user"))
                .is_ok_and(|m| m.dev() == ns.dev() && m.ino() == ns.ino())
        })
        .collect()
}

/// Join the node's user and net namespaces (in the shim, first thing, single-threaded). The
/// namespaces are opened before the node is checked, so they cannot vanish in between.
pub fn join(node: &NodeRecord) -> Result<()> {
    let pid = node.holder.pid;
    let open = |kind: &str| {
        File::open(format!("/proc/{pid}/ns/{kind}")).wrap_err_with(|| {
            format!("failed to open the {kind} namespace of {NODE_NAME} (pid {pid})")
        })
    };
    let (user, net) = (open("user")?, open("net")?);
    if !node.is_alive() {
        return Err(eyre!("{NODE_NAME} (pid {pid}) is gone"));
    }
    setns(user.as_fd(), CloneFlags::CLONE_NEWUSER)
        .map_err(|e| eyre!("failed to join the user namespace of {NODE_NAME} (pid {pid}): {e}"))?;
    setns(net.as_fd(), CloneFlags::CLONE_NEWNET)
        .map_err(|e| eyre!("failed to join the net namespace of {NODE_NAME} (pid {pid}): {e}"))?;
    Ok(())
}

/// For `podlab gc`: stop a podlab-node that no process uses any more, and forget a dead one.
/// Returns the stopped node's pid.
pub fn collect() -> Result<Option<i32>> {
    if !paths::node_file().exists() {
        return Ok(None);
    }
    let _lock = sys::hold_lock(&paths::node_lock())
        .wrap_err_with(|| format!("failed to lock {}", paths::node_lock().display()))?;
    let Some(node) = read_record() else {
        let _ = std::fs::remove_file(paths::node_file());
        return Ok(None);
    };
    if !node.is_alive() {
        let _ = std::fs::remove_file(paths::node_file());
        return Ok(None);
    }
    if !members(node.holder.pid).is_empty() {
        return Ok(None);
    }
    node.holder.signal(nix::sys::signal::Signal::SIGKILL);
    let _ = std::fs::remove_file(paths::node_file());
    Ok(Some(node.holder.pid))
}
