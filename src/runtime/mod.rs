//! Everything that touches the machine: the per-pod shim, pause, container init, images,
//! volumes, cgroups, the pod network, state on disk and garbage collection.
//!
//! It exists only in a host build (`cfg(podlab_host)`: Linux with the "host" feature, one gate
//! at `mod runtime`). What it records and shows (the pod's state, its steps, the pod network as
//! set up, the shim's messages) is `kube`, which builds anywhere, so a trace replays on any OS.

pub mod cgroups;
pub mod client;
pub mod container;
pub mod exec;
pub mod gc;
pub mod hand_made;
pub mod image_store;
pub mod images;
pub mod init;
pub mod lock;
pub mod lookup;
pub mod manifest_dir;
pub mod network;
pub mod paths;
pub mod pod_cgroups;
pub mod port_forward;
pub mod rootfs;
pub mod rootless;
pub mod sandbox;
pub mod seccomp;
pub mod security;
pub mod setup;
pub mod shim;
pub mod state_file;
pub mod sys;
pub mod teardown;
pub mod userns;
pub mod volumes;

use std::path::{Path, PathBuf};

use eyre::{eyre, Result};

/// What building a pod needs besides root, checked before any screen or pod is made: a static
/// busybox for the images (offered with apt-get) and the pause binary next to podlab.
pub fn ensure_ready(lang: crate::i18n::Lang) -> Result<()> {
    images::ensure_busybox(lang)?;
    let exe = std::fs::read_link("/proc/self/exe")
        .map_err(|e| eyre!("failed to find podlab's own binary: {e}"))?;
    pause_binary_near(&exe).map(|_| ())
}

/// The pause binary installed next to podlab (cargo builds and installs both together).
pub fn pause_binary_near(podlab_exe: &Path) -> Result<PathBuf> {
    let dir = podlab_exe
        .parent()
        .ok_or_else(|| eyre!("cannot tell where podlab is installed"))?;
    let pause = dir.join("pause");
    if pause.is_file() {
        return Ok(pause);
    }
    // `cargo run` builds only podlab; `cargo build` builds pause too, in the same profile.
    let build = if dir.ends_with("release") {
        "cargo build --release"
    } else {
        "cargo build"
    };
    Err(eyre!(
        "the pause binary is missing: expected it at {} (build it with: {build})",
        pause.display()
    ))
}
