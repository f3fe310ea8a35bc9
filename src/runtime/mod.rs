//! Everything that changes the system: the per-pod shim, pause, container init, images, volumes,
//! state on disk and garbage collection.
//!
//! Only a host build (`cfg(podlab_host)`: Linux with the "host" feature) has the code that
//! touches the machine. The data it records and shows (`state`, `steps`, the pod network as
//! set up, the shim protocol's messages) builds anywhere, so a trace replays on any OS.

#[cfg(podlab_host)]
pub mod cgroups;
#[cfg(podlab_host)]
pub mod client;
#[cfg(podlab_host)]
pub mod container;
#[cfg(podlab_host)]
pub mod exec;
#[cfg(podlab_host)]
pub mod gc;
#[cfg(podlab_host)]
pub mod images;
#[cfg(podlab_host)]
pub mod init;
#[cfg(podlab_host)]
pub mod lock;
#[cfg(podlab_host)]
pub mod lookup;
#[cfg(podlab_host)]
pub mod manifest_dir;
pub mod network;
#[cfg(podlab_host)]
pub mod paths;
#[cfg(podlab_host)]
pub mod pod_cgroups;
#[cfg(podlab_host)]
pub mod rootfs;
#[cfg(podlab_host)]
pub mod sandbox;
#[cfg(podlab_host)]
pub mod security;
#[cfg(podlab_host)]
pub mod shim;
#[cfg(podlab_host)]
pub mod state_file;
#[cfg(podlab_host)]
pub mod sys;
#[cfg(podlab_host)]
pub mod teardown;
#[cfg(podlab_host)]
pub mod volumes;

#[cfg(podlab_host)]
use std::path::{Path, PathBuf};

#[cfg(podlab_host)]
use eyre::{eyre, Result};

/// The pause binary installed next to podlab (cargo builds and installs both together).
#[cfg(podlab_host)]
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
