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
pub mod images;
pub mod init;
pub mod lock;
pub mod lookup;
pub mod manifest_dir;
pub mod network;
pub mod paths;
pub mod pod_cgroups;
pub mod rootfs;
pub mod sandbox;
pub mod security;
pub mod shim;
pub mod state_file;
pub mod sys;
pub mod teardown;
pub mod volumes;

use std::path::{Path, PathBuf};

use eyre::{eyre, Result};

/// The pause binary installed next to podlab (cargo builds and installs both together).
pub fn pause_binary_near(podlab_exe: &Path) -> Result<PathBuf> {
    let dir = podlab_exe
        .parent()
        .ok_or_else(|| eyre!("cannot tell where podlab is installed"))?;
    let pause = dir.join("pause");
    if pause.is_file() {
        Ok(pause)
    } else {
        Err(eyre!(
            "the pause binary is missing: expected it at {} (build it with: cargo build --bins)",
            pause.display()
        ))
    }
}
