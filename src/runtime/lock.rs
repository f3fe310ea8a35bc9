//! The machine-wide lock around pod creation, name checks, IPAM and gc.

use std::fs::File;

use eyre::{Context, Result};

use super::paths;
use super::sys;

/// Held until dropped.
pub struct GlobalLock {
    _file: File,
}

pub fn global() -> Result<GlobalLock> {
    let path = paths::global_lock();
    ensure_state_root()?;
    let file =
        sys::hold_lock(&path).wrap_err_with(|| format!("failed to lock {}", path.display()))?;
    Ok(GlobalLock { _file: file })
}

/// /run/podlab exists and is root-only.
pub fn ensure_state_root() -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(paths::pods_dir())
        .wrap_err_with(|| format!("failed to create {}", paths::pods_dir().display()))?;
    std::fs::set_permissions(paths::STATE_ROOT, std::fs::Permissions::from_mode(0o700))?;
    Ok(())
}
