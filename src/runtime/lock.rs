//! The machine-wide lock around pod creation, name checks, IPAM and gc.

use std::fs::File;

use eyre::{eyre, Context, Result};

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

/// The state dir exists, is a directory of ours (never a link someone else placed, as could
/// be in /tmp) and only we may enter it.
pub fn ensure_state_root() -> Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let root = paths::state_root();
    match std::fs::DirBuilder::new().mode(0o700).create(root) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(eyre!("failed to create {}: {e}", root.display())),
    }
    let meta = std::fs::symlink_metadata(root)
        .wrap_err_with(|| format!("failed to read {}", root.display()))?;
    if !meta.is_dir() || meta.uid() != nix::unistd::geteuid().as_raw() {
        return Err(eyre!(
            "{} is not a directory of yours; podlab keeps its state there: remove it, or set XDG_RUNTIME_DIR to a directory of yours",
            root.display()
        ));
    }
    if meta.mode() & 0o777 != 0o700 {
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o700))
            .wrap_err_with(|| format!("failed to make {} private", root.display()))?;
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(paths::pods_dir())
        .wrap_err_with(|| format!("failed to create {}", paths::pods_dir().display()))?;
    Ok(())
}
