//! The machine-wide lock around bridge creation/removal, IP allocation and gc.

use std::fs::{DirBuilder, OpenOptions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::Path;

use nix::fcntl::{Flock, FlockArg};

use super::error::{NetworkError, Result};

/// Held while alive. flock locks belong to the open file, so a second `acquire` in the same
/// process waits like any other: never call setup/teardown/gc while holding one.
pub struct MachineLock {
    _file: Flock<std::fs::File>,
}

impl MachineLock {
    pub fn acquire(path: &Path) -> Result<MachineLock> {
        if let Some(dir) = path.parent() {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| NetworkError::os(format!("failed to create {}", dir.display()), e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| NetworkError::os(format!("failed to open lock {}", path.display()), e))?;
        let mut file = file;
        loop {
            match Flock::lock(file, FlockArg::LockExclusive) {
                Ok(locked) => return Ok(MachineLock { _file: locked }),
                Err((back, nix::errno::Errno::EINTR)) => file = back,
                Err((_, errno)) => {
                    return Err(NetworkError::os(
                        format!("failed to lock {}", path.display()),
                        errno.into(),
                    ))
                }
            }
        }
    }
}
