//! The facts `podlab doctor` reads about a machine: who runs podlab, the cgroup layout and
//! what is delegated to the user, the user-namespace settings, `newuidmap` and the subordinate
//! id ranges, busybox and the CNI plugins.
//!
//! Read-only, and every path is below `root` (`/` on the machine; a fixture tree in tests),
//! so the whole machine can be described by a directory. A fact that cannot be read is
//! [`Unknown`], with the path and the reason; nothing here panics or stops on one.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::runtime::cgroups::layout::DEFAULT_CGROUP_ROOT;
use crate::runtime::cgroups::CgroupLayout;

/// A fact that could not be read: where it was looked for, and why it is not known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unknown {
    pub path: PathBuf,
    pub why: String,
}

impl Unknown {
    fn new(path: impl Into<PathBuf>, why: impl ToString) -> Unknown {
        Unknown {
            path: path.into(),
            why: why.to_string(),
        }
    }
}

impl std::fmt::Display for Unknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.why)
    }
}

pub type Known<T> = Result<T, Unknown>;

/// Everything `podlab doctor` reads (the user-namespace trial is apart: it is the one thing
/// that does something, see `trial`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    pub user: Known<User>,
    pub cgroups: Known<Cgroups>,
    pub userns: UserNsSettings,
    pub subids: SubIds,
    pub busybox: Busybox,
    /// The directory holding the CNI plugins bridge, host-local and loopback.
    pub cni: Option<PathBuf>,
    /// apt-get is there, so podlab's set-up can install busybox-static itself.
    pub apt_get: bool,
}

/// The user podlab runs as (from `/proc/self/status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// The effective uid.
    pub uid: u32,
    pub gid: u32,
    /// The name in `/etc/passwd`, if it has one.
    pub name: Option<String>,
    /// CAP_SYS_ADMIN in the effective set (root in a container may lack it).
    pub cap_sys_admin: bool,
}

impl User {
    pub fn is_root(&self) -> bool {
        self.uid == 0
    }

    /// The name, or the uid when the user has none.
    pub fn label(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.uid.to_string())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CgroupVersion {
    /// cgroup v1 only.
    V1,
    /// v1 controllers plus a cgroup2 mount without controllers.
    Hybrid,
    /// One cgroup v2 tree at /sys/fs/cgroup.
    V2,
}

impl CgroupVersion {
    pub fn name(self) -> &'static str {
        match self {
            CgroupVersion::V1 => "cgroup v1",
            CgroupVersion::Hybrid => {
                "hybrid (cgroup v1 controllers, cgroup v2 without controllers)"
            }
            CgroupVersion::V2 => "cgroup v2",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cgroups {
    pub version: CgroupVersion,
    /// The controllers podlab can use as root: the mounted v1 controllers, or those the v2
    /// root offers (`cgroup.controllers`).
    pub controllers: Vec<String>,
    /// This process's cgroup in the v2 tree (the `0::` line of /proc/self/cgroup).
    pub own: Option<String>,
    /// On v2, for a user who is not root: the user's own subtree (systemd's
    /// `user@UID.service`). None: there is none (no systemd user session).
    pub user_subtree: Option<Known<Subtree>>,
}

impl Cgroups {
    pub fn has_controllers(&self, names: &[&str]) -> bool {
        names
            .iter()
            .all(|n| self.controllers.iter().any(|c| c == n))
    }
}

/// A cgroup v2 subtree, as its user sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subtree {
    /// Its path in the v2 tree, e.g. `/user.slice/user-1000.slice/user@1000.service`.
    pub path: String,
    /// `cgroup.controllers`: what its parent hands down to it, so what its owner can use.
    pub controllers: Vec<String>,
    /// `cgroup.subtree_control`: what it hands down to its own children now.
    pub subtree_control: Vec<String>,
    /// The user owns it (the directory, `cgroup.procs` and `cgroup.subtree_control`), as
    /// systemd leaves a delegated subtree.
    pub writable: bool,
}

impl Subtree {
    pub fn delegates(&self, names: &[&str]) -> bool {
        self.writable
            && names
                .iter()
                .all(|n| self.controllers.iter().any(|c| c == n))
    }
}

/// A sysctl as read from /proc/sys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Setting {
    /// This kernel has no such setting.
    Absent,
    Value(i64),
    Unreadable(String),
}

impl Setting {
    pub fn is(&self, value: i64) -> bool {
        *self == Setting::Value(value)
    }
}

/// What decides whether a user may create and use user namespaces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserNsSettings {
    /// `user.max_user_namespaces`: 0 forbids them for everyone.
    pub max_user_namespaces: Setting,
    /// Debian's `kernel.unprivileged_userns_clone` (0: only root may create them).
    pub unprivileged_userns_clone: Setting,
    /// Ubuntu 24.04's `kernel.apparmor_restrict_unprivileged_userns` (1: a user namespace is
    /// created, but using it fails, unless the program's AppArmor profile says `userns,`).
    pub apparmor_restrict: Setting,
    /// The AppArmor label podlab runs under (`/proc/self/attr/apparmor/current`), if any.
    pub apparmor_label: Option<String>,
}

impl UserNsSettings {
    /// podlab runs under its own AppArmor profile (`contrib/apparmor/podlab`).
    pub fn under_podlab_profile(&self) -> bool {
        self.apparmor_label
            .as_deref()
            .is_some_and(|l| l == "podlab" || l.starts_with("podlab "))
    }
}

/// `newuidmap`/`newgidmap` and the subordinate ids of the user: what maps 65536 ids into a
/// user namespace, as a real node has, instead of the user alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubIds {
    pub newuidmap: Helper,
    pub newgidmap: Helper,
    /// The user's ranges in `/etc/subuid` (none when the file is missing).
    pub subuid: Known<Vec<IdRange>>,
    pub subgid: Known<Vec<IdRange>>,
}

impl SubIds {
    /// Both helpers can map, and the user has both kinds of ranges.
    pub fn usable(&self) -> bool {
        self.newuidmap.works()
            && self.newgidmap.works()
            && self.subuid.as_ref().is_ok_and(|r| !r.is_empty())
            && self.subgid.as_ref().is_ok_and(|r| !r.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Helper {
    Missing,
    /// Found; `privileged`: setuid root or with file capabilities, as it must be to map
    /// other ids.
    Present {
        path: PathBuf,
        privileged: bool,
    },
}

impl Helper {
    pub fn works(&self) -> bool {
        matches!(
            self,
            Helper::Present {
                privileged: true,
                ..
            }
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdRange {
    pub start: u64,
    pub count: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Busybox {
    /// A static busybox: podlab builds its images from it.
    Static(PathBuf),
    /// Only a dynamically linked one, which cannot run inside a container's rootfs.
    Dynamic(PathBuf),
    Missing,
    Unknown(Unknown),
}

/// Where the machine's files are: `/` on the machine itself.
#[derive(Debug, Clone)]
pub struct Root(PathBuf);

impl Root {
    pub fn new(dir: impl Into<PathBuf>) -> Root {
        Root(dir.into())
    }

    /// A path as the machine names it (absolute), below the root.
    pub fn path(&self, absolute: impl AsRef<Path>) -> PathBuf {
        let p = absolute.as_ref();
        self.0.join(p.strip_prefix("/").unwrap_or(p))
    }

    fn read(&self, absolute: impl AsRef<Path>) -> Known<String> {
        let path = self.path(&absolute);
        std::fs::read_to_string(&path).map_err(|e| Unknown::new(absolute.as_ref(), e))
    }

    fn setting(&self, absolute: &str) -> Setting {
        match std::fs::read_to_string(self.path(absolute)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Setting::Absent,
            Err(e) => Setting::Unreadable(e.to_string()),
            Ok(text) => match text.trim().parse() {
                Ok(v) => Setting::Value(v),
                Err(_) => Setting::Unreadable(format!("not a number: {:?}", text.trim())),
            },
        }
    }
}

impl Facts {
    /// Read the facts of the machine whose root directory is `root`.
    pub fn read(root: &Root) -> Facts {
        let user = read_user(root);
        let uid = user.as_ref().ok().map(|u| u.uid);
        Facts {
            cgroups: read_cgroups(root, uid),
            userns: UserNsSettings {
                max_user_namespaces: root.setting("/proc/sys/user/max_user_namespaces"),
                unprivileged_userns_clone: root
                    .setting("/proc/sys/kernel/unprivileged_userns_clone"),
                apparmor_restrict: root
                    .setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"),
                apparmor_label: read_apparmor_label(root),
            },
            subids: read_subids(root, user.as_ref().ok()),
            busybox: find_busybox(root),
            cni: crate::runtime::network::cni::find_plugin_dir_under(&root.0),
            apt_get: ["/usr/bin/apt-get", "/bin/apt-get"]
                .iter()
                .any(|p| root.path(p).is_file()),
            user,
        }
    }
}

fn read_user(root: &Root) -> Known<User> {
    const STATUS: &str = "/proc/self/status";
    let text = root.read(STATUS)?;
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .map(str::split_whitespace)
            .ok_or_else(|| Unknown::new(STATUS, format!("no {name} line")))
    };
    // "Uid: real effective saved filesystem"
    let effective = |name: &str| -> Known<u32> {
        field(name)?
            .nth(1)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| Unknown::new(STATUS, format!("unreadable {name} line")))
    };
    let uid = effective("Uid:")?;
    let gid = effective("Gid:")?;
    let cap_eff = field("CapEff:")?
        .next()
        .and_then(|v| u64::from_str_radix(v, 16).ok())
        .ok_or_else(|| Unknown::new(STATUS, "unreadable CapEff line"))?;
    const CAP_SYS_ADMIN: u32 = 21;
    Ok(User {
        uid,
        gid,
        name: user_name(root, uid),
        cap_sys_admin: cap_eff & (1 << CAP_SYS_ADMIN) != 0,
    })
}

/// The name of `uid` in /etc/passwd.
fn user_name(root: &Root, uid: u32) -> Option<String> {
    let passwd = root.read("/etc/passwd").ok()?;
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

fn read_cgroups(root: &Root, uid: Option<u32>) -> Known<Cgroups> {
    const MOUNTINFO: &str = "/proc/self/mountinfo";
    let mountinfo = root.read(MOUNTINFO)?;
    let layout = CgroupLayout::from_mountinfo(mountinfo.as_bytes(), Path::new(DEFAULT_CGROUP_ROOT))
        .map_err(|e| Unknown::new(MOUNTINFO, e))?;
    // The v2 line (hierarchy 0) of the process's own cgroups.
    let own = root.read("/proc/self/cgroup").ok().and_then(|text| {
        crate::observe::procfs_read::parse_cgroup(text.as_bytes())?
            .into_iter()
            .find(|m| m.hierarchy == 0)
            .map(|m| m.path)
    });
    match layout {
        CgroupLayout::Legacy {
            controllers,
            unified,
        } => Ok(Cgroups {
            version: if unified.is_some() {
                CgroupVersion::Hybrid
            } else {
                CgroupVersion::V1
            },
            controllers: controllers.into_keys().collect(),
            own,
            user_subtree: None,
        }),
        CgroupLayout::Unified { root: mount } => {
            let list = |dir: &Path, file: &str| -> Known<Vec<String>> {
                let path = dir.join(file);
                std::fs::read_to_string(&path)
                    .map(|t| t.split_whitespace().map(str::to_string).collect())
                    .map_err(|e| Unknown::new(strip_root(root, &path), e))
            };
            let top = root.path(&mount);
            let controllers = list(&top, "cgroup.controllers")?;
            let user_subtree = match uid {
                Some(uid) if uid != 0 => user_subtree_path(&top, own.as_deref(), uid).map(|path| {
                    let dir = top.join(path.trim_start_matches('/'));
                    Ok(Subtree {
                        controllers: list(&dir, "cgroup.controllers")?,
                        subtree_control: list(&dir, "cgroup.subtree_control")?,
                        writable: owned_by(&dir, uid),
                        path,
                    })
                }),
                _ => None,
            };
            Ok(Cgroups {
                version: CgroupVersion::V2,
                controllers,
                own,
                user_subtree,
            })
        }
    }
}

/// The machine's name of a path below the root (for messages).
fn strip_root(root: &Root, path: &Path) -> PathBuf {
    path.strip_prefix(&root.0)
        .map(|p| Path::new("/").join(p))
        .unwrap_or_else(|_| path.to_path_buf())
}

/// systemd's `user@UID.service` above our cgroup, or else where systemd puts it.
fn user_subtree_path(top: &Path, own: Option<&str>, uid: u32) -> Option<String> {
    let unit = format!("user@{uid}.service");
    if let Some(own) = own {
        let mut path = String::new();
        for part in own.split('/').filter(|p| !p.is_empty()) {
            path.push('/');
            path.push_str(part);
            if part == unit {
                return Some(path);
            }
        }
    }
    let usual = format!("/user.slice/user-{uid}.slice/{unit}");
    top.join(usual.trim_start_matches('/'))
        .is_dir()
        .then_some(usual)
}

/// Whether `uid` owns the directory and the files a delegated subtree's owner writes.
fn owned_by(dir: &Path, uid: u32) -> bool {
    ["", "cgroup.procs", "cgroup.subtree_control"]
        .iter()
        .all(|f| std::fs::metadata(dir.join(f)).is_ok_and(|m| m.uid() == uid))
}

fn read_apparmor_label(root: &Root) -> Option<String> {
    [
        "/proc/self/attr/apparmor/current",
        "/proc/self/attr/current",
    ]
    .iter()
    .find_map(|p| root.read(p).ok())
    .map(|l| l.trim_end_matches(['\n', '\0']).to_string())
    .filter(|l| !l.is_empty() && l != "unconfined")
}

fn read_subids(root: &Root, user: Option<&User>) -> SubIds {
    let ranges = |file: &str| -> Known<Vec<IdRange>> {
        let Some(user) = user else {
            return Err(Unknown::new(file, "the user is not known"));
        };
        let text = match std::fs::read_to_string(root.path(file)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            other => other.map_err(|e| Unknown::new(file, e))?,
        };
        Ok(parse_subid_ranges(&text, user))
    };
    SubIds {
        newuidmap: find_helper(root, "newuidmap"),
        newgidmap: find_helper(root, "newgidmap"),
        subuid: ranges("/etc/subuid"),
        subgid: ranges("/etc/subgid"),
    }
}

/// The ranges of `user` in a subuid/subgid file: `name:start:count` or `uid:start:count`.
fn parse_subid_ranges(text: &str, user: &User) -> Vec<IdRange> {
    let uid = user.uid.to_string();
    text.lines()
        .filter_map(|line| {
            let mut fields = line.trim().split(':');
            let who = fields.next()?;
            let start = fields.next()?.parse().ok()?;
            let count = fields.next()?.parse().ok()?;
            (who == uid || user.name.as_deref() == Some(who)).then_some(IdRange { start, count })
        })
        .collect()
}

const BIN_DIRS: [&str; 6] = [
    "/usr/local/bin",
    "/usr/bin",
    "/bin",
    "/usr/local/sbin",
    "/usr/sbin",
    "/sbin",
];

fn find_helper(root: &Root, name: &str) -> Helper {
    for dir in BIN_DIRS {
        let path = Path::new(dir).join(name);
        let Ok(meta) = std::fs::metadata(root.path(&path)) else {
            continue;
        };
        let setuid_root = meta.permissions().mode() & 0o4000 != 0 && meta.uid() == 0;
        let privileged = setuid_root || has_file_caps(&root.path(&path));
        return Helper::Present { path, privileged };
    }
    Helper::Missing
}

/// File capabilities (`security.capability`), as distributions give newuidmap instead of
/// setuid.
fn has_file_caps(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(cpath) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: both strings are NUL-terminated; a null buffer of size 0 asks for the size only.
    let size = unsafe {
        libc::getxattr(
            cpath.as_ptr(),
            c"security.capability".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    size > 0
}

fn find_busybox(root: &Root) -> Busybox {
    let mut dynamic = None;
    for dir in BIN_DIRS {
        let path = Path::new(dir).join("busybox");
        let on_disk = root.path(&path);
        if !on_disk.is_file() {
            continue;
        }
        match crate::runtime::images::is_static_elf(&on_disk) {
            Ok(true) => return Busybox::Static(path),
            Ok(false) => {
                dynamic.get_or_insert(path);
            }
            Err(e) => return Busybox::Unknown(Unknown::new(path, format!("{e:#}"))),
        }
    }
    dynamic.map_or(Busybox::Missing, Busybox::Dynamic)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(uid: u32, name: &str) -> User {
        User {
            uid,
            gid: uid,
            name: Some(name.into()),
            cap_sys_admin: false,
        }
    }

    #[test]
    fn subordinate_ranges_are_found_by_name_or_uid() {
        let text = "alice:100000:65536\n1001:165536:65536\nbob:231072:65536\nbroken line\n";
        assert_eq!(
            parse_subid_ranges(text, &user(1000, "alice")),
            vec![IdRange {
                start: 100000,
                count: 65536
            }]
        );
        assert_eq!(
            parse_subid_ranges(text, &user(1001, "carol")),
            vec![IdRange {
                start: 165536,
                count: 65536
            }]
        );
        assert!(parse_subid_ranges(text, &user(1002, "dave")).is_empty());
    }

    #[test]
    fn the_user_subtree_is_found_above_our_cgroup() {
        let dir = tempfile::tempdir().expect("tempdir");
        let own = "/user.slice/user-1000.slice/user@1000.service/app.slice/podlab.scope";
        assert_eq!(
            user_subtree_path(dir.path(), Some(own), 1000).as_deref(),
            Some("/user.slice/user-1000.slice/user@1000.service")
        );
        // A login session's scope is not inside it: the usual place, only if it exists.
        let session = "/user.slice/user-1000.slice/session-2.scope";
        assert_eq!(user_subtree_path(dir.path(), Some(session), 1000), None);
        std::fs::create_dir_all(
            dir.path()
                .join("user.slice/user-1000.slice/user@1000.service"),
        )
        .expect("mkdir");
        assert_eq!(
            user_subtree_path(dir.path(), Some(session), 1000).as_deref(),
            Some("/user.slice/user-1000.slice/user@1000.service")
        );
    }
}
