//! The ids a rootless pod's user namespace maps.
//!
//! A user can always map one id: itself, as root inside (`unshare --map-root-user`). With
//! `newuidmap`/`newgidmap` (the setuid helpers of the `uidmap` package) and a subordinate range
//! in `/etc/subuid` and `/etc/subgid`, the namespace gets ids 1..=65536 too, as a node has: then
//! pause runs as 65535 like kubelet's, and a container can switch users.

use std::path::{Path, PathBuf};
use std::process::Command;

use eyre::{eyre, Context, Result};
use serde::{Deserialize, Serialize};

use crate::i18n::Lang;

/// How many subordinate ids a node-like namespace needs: 1..=65536 inside.
pub const RANGE_SIZE: u32 = 65536;

/// The id pause runs as when the namespace has it: the pause image's `USER 65535:65535`.
pub const PAUSE_ID: u32 = 65535;

/// The ids of the node's user namespace.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum IdMapping {
    /// Only the learner, as root (`0 <uid> 1`); setgroups(2) is denied, as the kernel requires
    /// for a mapping written without privilege.
    Single {
        uid: u32,
        gid: u32,
        /// Why there is no range.
        why: SingleBecause,
    },
    /// The learner as root and a subordinate range as 1..=count, written by newuidmap.
    Range {
        uid: u32,
        gid: u32,
        sub_uid: u32,
        sub_gid: u32,
        count: u32,
    },
}

/// Why the namespace maps only the learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", content = "detail", rename_all = "snake_case")]
pub enum SingleBecause {
    /// newuidmap or newgidmap is not installed.
    NoHelpers,
    /// No range for the user in /etc/subuid or /etc/subgid (or a smaller one than a node needs).
    NoRange,
    /// newuidmap or newgidmap refused; what it said.
    HelperFailed(String),
}

impl SingleBecause {
    pub fn explain(&self, lang: Lang) -> String {
        match self {
            SingleBecause::NoHelpers => lang
                .pick(
                    "newuidmap is not installed (Debian/Ubuntu: apt-get install uidmap), so the user namespace maps only you, as root",
                    "没有安装 newuidmap（Debian/Ubuntu：apt-get install uidmap），所以 user 命名空间里只映射了你自己（作为 root）",
                )
                .to_string(),
            SingleBecause::NoRange => lang
                .pick(
                    "you have no range of 65536 ids in /etc/subuid and /etc/subgid (an admin adds one with: usermod --add-subuids 100000-165535 --add-subgids 100000-165535 USER), so the user namespace maps only you, as root",
                    "/etc/subuid 和 /etc/subgid 里没有你的 65536 个从属 ID（管理员可以用 usermod --add-subuids 100000-165535 --add-subgids 100000-165535 用户名 添加），所以 user 命名空间里只映射了你自己（作为 root）",
                )
                .to_string(),
            SingleBecause::HelperFailed(said) => format!(
                "{} {said}",
                lang.pick(
                    "newuidmap refused the range, so the user namespace maps only you, as root:",
                    "newuidmap 拒绝了从属 ID 范围，所以 user 命名空间里只映射了你自己（作为 root）：",
                )
            ),
        }
    }
}

impl IdMapping {
    /// The learner's ids on the host.
    pub fn host_ids(&self) -> (u32, u32) {
        match *self {
            IdMapping::Single { uid, gid, .. } | IdMapping::Range { uid, gid, .. } => (uid, gid),
        }
    }

    /// What `/proc/<pid>/uid_map` shows for it, one line per range.
    pub fn uid_map(&self) -> String {
        match *self {
            IdMapping::Single { uid, .. } => format!("0 {uid} 1\n"),
            IdMapping::Range {
                uid,
                sub_uid,
                count,
                ..
            } => format!("0 {uid} 1\n1 {sub_uid} {count}\n"),
        }
    }

    /// What `/proc/<pid>/gid_map` shows for it.
    pub fn gid_map(&self) -> String {
        match *self {
            IdMapping::Single { gid, .. } => format!("0 {gid} 1\n"),
            IdMapping::Range {
                gid,
                sub_gid,
                count,
                ..
            } => format!("0 {gid} 1\n1 {sub_gid} {count}\n"),
        }
    }

    /// The uid and gid pause runs as inside: 65535 when the namespace has it, else root (None).
    pub fn pause_id(&self) -> Option<u32> {
        match *self {
            IdMapping::Range { count, .. } if count >= PAUSE_ID => Some(PAUSE_ID),
            _ => None,
        }
    }

    /// One sentence for the learner: who is who inside.
    pub fn explain(&self, lang: Lang) -> String {
        match self {
            IdMapping::Single { uid, why, .. } => format!(
                "{} {uid}; {}",
                lang.pick(
                    "user namespace: root inside is you, uid",
                    "user 命名空间：里面的 root 就是你，uid"
                ),
                why.explain(lang)
            ),
            IdMapping::Range {
                uid,
                sub_uid,
                count,
                ..
            } => match lang {
                Lang::En => format!(
                    "user namespace: root inside is you (uid {uid}); ids 1-{count} are your subordinate ids {sub_uid}-{}; pause runs as 65535",
                    sub_uid + count - 1
                ),
                Lang::Zh => format!(
                    "user 命名空间：里面的 root 就是你（uid {uid}）；ID 1-{count} 是你的从属 ID {sub_uid}-{}；pause 以 65535 运行",
                    sub_uid + count - 1
                ),
            },
        }
    }
}

/// The id outside a user namespace that `inside` maps to, from a `uid_map`/`gid_map` text
/// (`inside-start outside-start count` per line).
pub fn outside_id(map: &str, inside: u32) -> Option<u32> {
    map.lines().find_map(|line| {
        let mut fields = line.split_whitespace().map(|f| f.parse::<u64>().ok());
        let (start, outside, count) = (fields.next()??, fields.next()??, fields.next()??);
        let inside = u64::from(inside);
        (inside >= start && inside - start < count)
            .then(|| u32::try_from(outside + (inside - start)).ok())
            .flatten()
    })
}

/// The first range of at least [`RANGE_SIZE`] ids for the user (by name or by uid) in a
/// `/etc/subuid`-style text (`name:start:count` per line).
pub fn subordinate_range(text: &str, name: Option<&str>, id: u32) -> Option<u32> {
    text.lines().find_map(|line| {
        let mut fields = line.trim().splitn(3, ':');
        let (owner, start, count) = (fields.next()?, fields.next()?, fields.next()?);
        let ours = Some(owner) == name || owner.parse::<u32>().ok() == Some(id);
        let start: u32 = start.trim().parse().ok()?;
        let count: u32 = count.trim().parse().ok()?;
        (ours && count >= RANGE_SIZE && start.checked_add(RANGE_SIZE).is_some()).then_some(start)
    })
}

/// What the machine offers the user: the helpers' paths and the two range files' texts.
pub struct Offer {
    pub helpers: Option<(PathBuf, PathBuf)>,
    pub subuid: String,
    pub subgid: String,
}

impl Offer {
    /// Read from this machine.
    pub fn of_this_machine() -> Offer {
        let find = |name: &str| {
            ["/usr/bin", "/bin", "/usr/sbin", "/sbin", "/usr/local/bin"]
                .iter()
                .map(|dir| Path::new(dir).join(name))
                .find(|p| p.is_file())
        };
        Offer {
            helpers: find("newuidmap").zip(find("newgidmap")),
            subuid: std::fs::read_to_string("/etc/subuid").unwrap_or_default(),
            subgid: std::fs::read_to_string("/etc/subgid").unwrap_or_default(),
        }
    }
}

/// The mapping to ask for: a range when the helpers and both ranges are there, else only the
/// learner, with the reason.
pub fn plan(uid: u32, gid: u32, name: Option<&str>, offer: &Offer) -> IdMapping {
    if offer.helpers.is_none() {
        return IdMapping::Single {
            uid,
            gid,
            why: SingleBecause::NoHelpers,
        };
    }
    let group = nix::unistd::Group::from_gid(nix::unistd::Gid::from_raw(gid))
        .ok()
        .flatten()
        .map(|g| g.name);
    let sub_uid = subordinate_range(&offer.subuid, name, uid);
    // newgidmap looks the range up by the user's name (or uid), not the group's.
    let sub_gid = subordinate_range(&offer.subgid, name, uid)
        .or_else(|| subordinate_range(&offer.subgid, group.as_deref(), gid));
    match (sub_uid, sub_gid) {
        (Some(sub_uid), Some(sub_gid)) => IdMapping::Range {
            uid,
            gid,
            sub_uid,
            sub_gid,
            count: RANGE_SIZE,
        },
        _ => IdMapping::Single {
            uid,
            gid,
            why: SingleBecause::NoRange,
        },
    }
}

/// Write `mapping` for the process `pid`, which has just made its user namespace. Called from
/// the parent namespace; the single mapping needs no helper (setgroups is denied first, as the
/// kernel requires), a range goes through newuidmap and newgidmap.
pub fn apply(pid: i32, mapping: &IdMapping, offer: &Offer) -> Result<()> {
    match mapping {
        IdMapping::Single { .. } => {
            let write = |file: &str, text: &str| {
                let path = format!("/proc/{pid}/{file}");
                std::fs::write(&path, text).wrap_err_with(|| format!("failed to write {path}"))
            };
            write("setgroups", "deny")?;
            write("uid_map", &mapping.uid_map())?;
            write("gid_map", &mapping.gid_map())
        }
        IdMapping::Range { .. } => {
            let (newuidmap, newgidmap) = offer
                .helpers
                .as_ref()
                .ok_or_else(|| eyre!("newuidmap is not installed"))?;
            for (helper, map) in [
                (newuidmap, mapping.uid_map()),
                (newgidmap, mapping.gid_map()),
            ] {
                let args: Vec<String> = std::iter::once(pid.to_string())
                    .chain(map.split_whitespace().map(String::from))
                    .collect();
                let out = Command::new(helper)
                    .args(&args)
                    .output()
                    .wrap_err_with(|| format!("failed to run {}", helper.display()))?;
                if !out.status.success() {
                    return Err(eyre!(
                        "{} {}: {}",
                        helper.display(),
                        args.join(" "),
                        String::from_utf8_lossy(&out.stderr).trim()
                    ));
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_map_through_every_line_of_a_map() {
        let initial = "         0          0 4294967295\n";
        assert_eq!(outside_id(initial, 1000), Some(1000));
        assert_eq!(outside_id(initial, 0), Some(0));
        let single = "         0       1001          1\n";
        assert_eq!(outside_id(single, 0), Some(1001));
        assert_eq!(outside_id(single, 1), None);
        let range = "0 1000 1\n1 100000 65536\n";
        assert_eq!(outside_id(range, 0), Some(1000));
        assert_eq!(outside_id(range, 1), Some(100000));
        assert_eq!(outside_id(range, 65535), Some(165534));
        assert_eq!(outside_id(range, 65537), None);
        assert_eq!(outside_id("", 0), None);
        assert_eq!(outside_id("0 x 1\n", 0), None);
    }

    #[test]
    fn a_range_is_found_by_name_or_uid_and_must_be_big_enough() {
        let text = "alice:100000:65536\n1001:300000:65536\nbob:200000:1000\n\ngarbage\n";
        assert_eq!(subordinate_range(text, Some("alice"), 1000), Some(100000));
        assert_eq!(subordinate_range(text, Some("carol"), 1001), Some(300000));
        assert_eq!(
            subordinate_range(text, Some("bob"), 1002),
            None,
            "too small"
        );
        assert_eq!(subordinate_range(text, None, 4242), None);
        assert_eq!(
            subordinate_range("eve:4294967290:65536\n", Some("eve"), 7),
            None
        );
    }

    #[test]
    fn the_plan_needs_the_helpers_and_both_ranges() {
        let offer = |helpers: bool, subuid: &str, subgid: &str| Offer {
            helpers: helpers.then(|| ("/usr/bin/newuidmap".into(), "/usr/bin/newgidmap".into())),
            subuid: subuid.into(),
            subgid: subgid.into(),
        };
        let ranges = "alice:100000:65536\n";
        let no_helpers = plan(1000, 1000, Some("alice"), &offer(false, ranges, ranges));
        assert!(matches!(
            no_helpers,
            IdMapping::Single {
                why: SingleBecause::NoHelpers,
                ..
            }
        ));
        assert_eq!(no_helpers.uid_map(), "0 1000 1\n");
        assert_eq!(no_helpers.pause_id(), None);
        let no_gids = plan(1000, 1000, Some("alice"), &offer(true, ranges, ""));
        assert!(matches!(
            no_gids,
            IdMapping::Single {
                why: SingleBecause::NoRange,
                ..
            }
        ));
        let range = plan(1000, 1000, Some("alice"), &offer(true, ranges, ranges));
        assert_eq!(range.uid_map(), "0 1000 1\n1 100000 65536\n");
        assert_eq!(range.gid_map(), "0 1000 1\n1 100000 65536\n");
        assert_eq!(range.pause_id(), Some(65535));
        for lang in [Lang::En, Lang::Zh] {
            assert!(range.explain(lang).contains("100000-165535"));
            assert!(no_helpers.explain(lang).contains("apt-get install uidmap"));
        }
    }
}
