//! Where podlab keeps what it makes, so every resource can be found again and removed.
//!
//! Root keeps its state in `/run/podlab` and its images in `/var/lib/podlab/images`. A user
//! without root keeps both in their own directories ([`crate::runtime::rootless`]): state in
//! `$XDG_RUNTIME_DIR/podlab` (or `/tmp/podlab-<uid>`, 0700, when that is unset or not theirs,
//! as after `su`), images in `$XDG_DATA_HOME/podlab/images` (`~/.local/share/podlab/images`).
//! So each user finds, lists, deletes and collects only their own pods.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::rootless::{self, Builder};

/// Root's runtime state (root-only, 0700).
pub const SYSTEM_STATE_ROOT: &str = "/run/podlab";
/// Root's built images (a cache like containerd's content store; kept between runs).
pub const SYSTEM_IMAGE_ROOT: &str = "/var/lib/podlab/images";

struct Roots {
    state: PathBuf,
    data: PathBuf,
}

fn roots() -> &'static Roots {
    static ROOTS: OnceLock<Roots> = OnceLock::new();
    ROOTS.get_or_init(|| match rootless::builder() {
        Builder::Root => Roots {
            state: PathBuf::from(SYSTEM_STATE_ROOT),
            data: PathBuf::from("/var/lib/podlab"),
        },
        Builder::User { uid, .. } => {
            let euid = nix::unistd::geteuid().as_raw();
            let state = user_state_root(
                std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
                uid,
                euid,
            );
            let home = nix::unistd::User::from_uid(nix::unistd::geteuid())
                .ok()
                .flatten()
                .map(|u| u.dir);
            let env = |name: &str| std::env::var_os(name).map(PathBuf::from);
            let data = user_data_dir(&[env("XDG_DATA_HOME"), env("HOME"), home], euid)
                .unwrap_or_else(|| state.join("data"));
            Roots { state, data }
        }
    })
}

/// A user's state dir: under `$XDG_RUNTIME_DIR` when it is an absolute directory of theirs
/// that nobody else may enter, else the named fallback `/tmp/podlab-<uid>`.
fn user_state_root(runtime_dir: Option<PathBuf>, host_uid: u32, euid: u32) -> PathBuf {
    let usable = |dir: &Path| {
        dir.is_absolute()
            && std::fs::symlink_metadata(dir)
                .is_ok_and(|m| m.is_dir() && m.uid() == euid && m.mode() & 0o077 == 0)
    };
    match runtime_dir {
        Some(dir) if usable(&dir) => dir.join("podlab"),
        _ => PathBuf::from(format!("/tmp/podlab-{host_uid}")),
    }
}

/// The first of `$XDG_DATA_HOME/podlab`, `$HOME/.local/share/podlab` and the same below the
/// home of the passwd entry whose directory is the user's own (`su` without `-` leaves root's
/// HOME; a system user may have none). None: the caller keeps images with the state.
fn user_data_dir(candidates: &[Option<PathBuf>; 3], euid: u32) -> Option<PathBuf> {
    let ours = |dir: &Path| {
        dir.is_absolute() && std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.uid() == euid)
    };
    let [xdg, home, passwd_home] = candidates;
    xdg.as_deref()
        .filter(|d| ours(d))
        .map(|d| d.join("podlab"))
        .or_else(|| {
            [home, passwd_home]
                .into_iter()
                .flatten()
                .find(|d| ours(d))
                .map(|d| d.join(".local/share/podlab"))
        })
}

/// Root of all runtime state.
pub fn state_root() -> &'static Path {
    &roots().state
}

/// Where podlab keeps what lasts between runs (images, a downloaded busybox).
pub fn data_dir() -> &'static Path {
    &roots().data
}

/// Built images.
pub fn image_root() -> PathBuf {
    match rootless::builder() {
        Builder::Root => PathBuf::from(SYSTEM_IMAGE_ROOT),
        Builder::User { .. } => data_dir().join("images"),
    }
}

pub fn pods_dir() -> PathBuf {
    state_root().join("pods")
}

pub fn pod_dir(uid: &str) -> PathBuf {
    pods_dir().join(uid)
}

pub fn state_file(uid: &str) -> PathBuf {
    pod_dir(uid).join("state.json")
}

pub fn shim_socket(uid: &str) -> PathBuf {
    pod_dir(uid).join("shim.sock")
}

/// Held with flock by a live shim: gc may only remove a pod whose lock it can take.
pub fn shim_lock(uid: &str) -> PathBuf {
    pod_dir(uid).join("shim.lock")
}

pub fn logs_dir(uid: &str) -> PathBuf {
    pod_dir(uid).join("logs")
}

/// The log of a container's current (or last) instance.
pub fn log_file(uid: &str, container: &str) -> PathBuf {
    logs_dir(uid).join(format!("{container}.log"))
}

/// The log of the instance before it, as kubelet keeps one file per restart and
/// `kubectl logs --previous` reads the one before the last.
pub fn previous_log_file(uid: &str, container: &str) -> PathBuf {
    logs_dir(uid).join(format!("{container}.previous.log"))
}

pub fn volumes_dir(uid: &str) -> PathBuf {
    pod_dir(uid).join("volumes")
}

pub fn containers_dir(uid: &str) -> PathBuf {
    pod_dir(uid).join("containers")
}

/// Machine-wide lock for bridge, IPAM and gc (per user without root: each has their own node).
pub fn global_lock() -> PathBuf {
    state_root().join("lock")
}

/// Held while a client hands the user's node to a new shim, and by the node when it decides
/// to exit (rootless only).
pub fn node_lock() -> PathBuf {
    state_root().join("node.lock")
}

/// The user's running node (`podlab-node`), as [`rootless::node::NodeRecord`].
pub fn node_file() -> PathBuf {
    state_root().join("node.json")
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn a_runtime_dir_is_used_only_when_it_is_private_and_ours() {
        let euid = nix::unistd::geteuid().as_raw();
        let dir = tempfile::tempdir().expect("temp dir");
        let private = dir.path().join("private");
        std::fs::create_dir(&private).expect("mkdir");
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o700)).expect("chmod");
        assert_eq!(
            user_state_root(Some(private.clone()), 4242, euid),
            private.join("podlab")
        );
        let open = dir.path().join("open");
        std::fs::create_dir(&open).expect("mkdir");
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let fallback = PathBuf::from("/tmp/podlab-4242");
        assert_eq!(user_state_root(Some(open), 4242, euid), fallback);
        // Another user's runtime dir, as `su` without `-` leaves it in the environment.
        assert_eq!(
            user_state_root(Some(private.clone()), 4242, euid + 1),
            fallback
        );
        assert_eq!(user_state_root(None, 4242, euid), fallback);
        assert_eq!(
            user_state_root(Some("relative".into()), 4242, euid),
            fallback
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&private, &link).expect("symlink");
        assert_eq!(user_state_root(Some(link), 4242, euid), fallback);
    }

    #[test]
    fn images_go_below_a_home_of_the_users_own() {
        let euid = nix::unistd::geteuid().as_raw();
        let dir = tempfile::tempdir().expect("temp dir");
        let home = dir.path().to_path_buf();
        let share = Some(home.join("share"));
        std::fs::create_dir(home.join("share")).expect("mkdir");
        assert_eq!(
            user_data_dir(&[share.clone(), Some(home.clone()), None], euid),
            Some(home.join("share/podlab"))
        );
        assert_eq!(
            user_data_dir(&[None, Some(home.clone()), None], euid),
            Some(home.join(".local/share/podlab"))
        );
        // Someone else's HOME (su without -): the passwd entry's, else none.
        assert_eq!(
            user_data_dir(&[None, Some(home.clone()), Some(home.clone())], euid + 1),
            None
        );
        assert_eq!(
            user_data_dir(
                &[None, Some("/nonexistent".into()), Some(home.clone())],
                euid
            ),
            Some(home.join(".local/share/podlab"))
        );
    }
}
