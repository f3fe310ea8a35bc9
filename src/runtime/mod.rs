//! Everything that changes the system: the per-pod shim, pause, container init, images, volumes,
//! state on disk and garbage collection.

pub mod cgroups;
pub mod client;
pub mod container;
pub mod exec;
pub mod gc;
pub mod images;
pub mod init;
pub mod lifecycle;
pub mod lock;
pub mod lookup;
pub mod network;
pub mod paths;
pub mod pod_cgroups;
pub mod protocol;
pub mod rootfs;
pub mod sandbox;
pub mod security;
pub mod shim;
pub mod state;
pub mod static_pods;
pub mod steps;
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
