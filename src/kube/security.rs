//! kubelet's and containerd's security rules for a container, pure: what its securityContext
//! (and the pod's) asks for, who the process runs as, with which capabilities
//! (`pkg/securitycontext/util.go`, `pkg/kubelet/kuberuntime/security_context.go`,
//! `kuberuntime_container.go`; containerd's `WithUser`, `WithAdditionalGIDs`, capabilities in
//! `container_create_linux.go`).

use serde::{Deserialize, Serialize};

use crate::spec::{Container, PodSpec, SecurityContext};

/// Capability names as Kubernetes writes them (no `CAP_`), by the kernel's number.
pub const CAPABILITY_NAMES: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// containerd's default set (`defaultUnixCaps`, the same as Docker's): `CapEff` 00000000a80425fb.
pub const DEFAULT_CAPABILITIES: u64 = 0xa804_25fb;

/// Every capability podlab knows (the kernel may know fewer; the runtime keeps what it has).
pub const ALL_CAPABILITIES: u64 = (1 << CAPABILITY_NAMES.len()) - 1;

/// A capability's bit, from its name as Kubernetes writes it (any case, as containerd upper-
/// cases it). None for a name the kernel does not have.
pub fn capability_bit(name: &str) -> Option<u64> {
    let upper = name.to_ascii_uppercase();
    CAPABILITY_NAMES
        .iter()
        .position(|n| *n == upper)
        .map(|i| 1u64 << i)
}

/// The names in a capability mask, `CAP_` prefixed, in the kernel's order.
pub fn capability_names(mask: u64) -> Vec<String> {
    CAPABILITY_NAMES
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1 << i) != 0)
        .map(|(_, n)| format!("CAP_{n}"))
        .collect()
}

/// The capability set (bounding, permitted and effective alike; inheritable and ambient
/// empty) of a non-privileged container: the default set, then `add: [ALL]`, `drop: [ALL]`,
/// each other added name, each other dropped one — in containerd's order, so
/// `add: [NET_ADMIN], drop: [ALL]` leaves NET_ADMIN alone.
pub fn capabilities(sc: Option<&SecurityContext>) -> u64 {
    let mut set = DEFAULT_CAPABILITIES;
    let Some(caps) = sc.and_then(|sc| sc.capabilities.as_ref()) else {
        return set;
    };
    if caps.add.iter().any(|n| n == "ALL") {
        set = ALL_CAPABILITIES;
    }
    if caps.drop.iter().any(|n| n == "ALL") {
        set = 0;
    }
    for name in caps.add.iter().filter(|n| *n != "ALL") {
        set |= capability_bit(name).unwrap_or(0);
    }
    for name in caps.drop.iter().filter(|n| *n != "ALL") {
        set &= !capability_bit(name).unwrap_or(0);
    }
    set
}

/// kubelet's `AddNoNewPrivileges`: no_new_privs only when the container says
/// `allowPrivilegeEscalation: false`. Unset (the usual case) means a container runs without it,
/// so a setuid binary inside still works.
pub fn no_new_privs(sc: Option<&SecurityContext>) -> bool {
    sc.and_then(|sc| sc.allow_privilege_escalation) == Some(false)
}

/// The container's securityContext with the pod's filled in where the container says nothing
/// (kubelet's `DetermineEffectiveSecurityContext`), and the pod's groups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EffectiveSecurity {
    pub run_as_user: Option<i64>,
    pub run_as_group: Option<i64>,
    pub run_as_non_root: bool,
    /// fsGroup first, then supplementalGroups (kubelet's order).
    pub supplemental_groups: Vec<i64>,
    pub read_only_root_filesystem: bool,
    pub privileged: bool,
    pub capabilities: u64,
    pub no_new_privs: bool,
}

pub fn effective(pod: &PodSpec, c: &Container) -> EffectiveSecurity {
    let sc = c.security_context.as_ref();
    let pod_sc = pod.security_context.as_ref();
    let run_as_non_root = sc
        .and_then(|s| s.run_as_non_root)
        .or(pod_sc.and_then(|p| p.run_as_non_root));
    let mut supplemental_groups = vec![];
    if let Some(pod_sc) = pod_sc {
        supplemental_groups.extend(pod_sc.fs_group);
        supplemental_groups.extend(&pod_sc.supplemental_groups);
    }
    EffectiveSecurity {
        run_as_user: sc
            .and_then(|s| s.run_as_user)
            .or(pod_sc.and_then(|p| p.run_as_user)),
        run_as_group: sc
            .and_then(|s| s.run_as_group)
            .or(pod_sc.and_then(|p| p.run_as_group)),
        run_as_non_root: run_as_non_root == Some(true),
        supplemental_groups,
        read_only_root_filesystem: sc.and_then(|s| s.read_only_root_filesystem) == Some(true),
        privileged: c.is_privileged(),
        capabilities: if c.is_privileged() {
            ALL_CAPABILITIES
        } else {
            capabilities(sc)
        },
        no_new_privs: no_new_privs(sc),
    }
}

/// kubelet's `verifyRunAsNonRoot`, with the image's user as the runtime reports it (a
/// numeric uid, or a name; no `User` at all counts as uid 0). The error is the container's
/// CreateContainerConfigError.
pub fn verify_run_as_non_root(
    eff: &EffectiveSecurity,
    image_user: &str,
    pod: &str,
    container: &str,
) -> Result<(), String> {
    if !eff.run_as_non_root {
        return Ok(());
    }
    if let Some(uid) = eff.run_as_user {
        if uid == 0 {
            return Err(format!(
                "container's runAsUser breaks non-root policy (pod: {pod:?}, container: {container})"
            ));
        }
        return Ok(());
    }
    let user = image_user.split(':').next().unwrap_or_default().trim();
    match user.parse::<i64>() {
        Ok(0) => Err(format!(
            "container has runAsNonRoot and image will run as root (pod: {pod:?}, container: {container})"
        )),
        Ok(_) => Ok(()),
        Err(_) if user.is_empty() => Err(format!(
            "container has runAsNonRoot and image will run as root (pod: {pod:?}, container: {container})"
        )),
        Err(_) => Err(format!(
            "container has runAsNonRoot and image has non-numeric user ({user}), cannot verify user is non-root (pod: {pod:?}, container: {container})"
        )),
    }
}

/// Who the container's process is: uid, gid, and every group (the gid first).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcessUser {
    pub uid: u32,
    pub gid: u32,
    pub groups: Vec<u32>,
    /// From the image's /etc/passwd; None: not in it.
    #[serde(default)]
    pub home: Option<String>,
}

struct PasswdEntry<'a> {
    name: &'a str,
    uid: u32,
    gid: u32,
    home: &'a str,
}

fn passwd_entries(passwd: &str) -> impl Iterator<Item = PasswdEntry<'_>> {
    passwd.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 4 {
            return None;
        }
        Some(PasswdEntry {
            name: f[0],
            uid: f[2].parse().ok()?,
            gid: f[3].parse().ok()?,
            home: f.get(5).copied().unwrap_or(""),
        })
    })
}

/// (name, gid, members) of each line of /etc/group.
fn group_entries(group: &str) -> impl Iterator<Item = (&str, u32, Vec<&str>)> {
    group.lines().filter_map(|line| {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 {
            return None;
        }
        let members = f
            .get(3)
            .map(|m| m.split(',').filter(|m| !m.is_empty()).collect())
            .unwrap_or_default();
        Some((f[0], f[2].parse().ok()?, members))
    })
}

fn id(value: i64, what: &str) -> Result<u32, String> {
    u32::try_from(value).map_err(|_| format!("{what} {value} is out of range"))
}

/// Who the process runs as, the way kubelet and containerd decide it together:
///
/// * the user: runAsUser, else the user of the image's `User` (kubelet passes only its uid or
///   name on: the image's group is not used), else root; looked up in the image's /etc/passwd
///   for its group (containerd's `WithUser`: a uid that is not there gets gid 0, a name that
///   is not there is an error);
/// * the group: runAsGroup, else the passwd entry's;
/// * the groups: the gid, the groups of /etc/group that list the user (containerd's
///   `WithAdditionalGIDs`), then the pod's fsGroup and supplementalGroups.
pub fn process_user(
    eff: &EffectiveSecurity,
    image_user: &str,
    passwd: &str,
    group: &str,
) -> Result<ProcessUser, String> {
    let image_name = image_user.split(':').next().unwrap_or_default().trim();
    let by_uid = |uid: u32| match passwd_entries(passwd).find(|e| e.uid == uid) {
        Some(e) => (uid, e.gid, Some(e.name), Some(e.home)),
        None => (uid, 0, None, None),
    };
    let (uid, mut gid, name, home) = match eff.run_as_user {
        Some(uid) => by_uid(id(uid, "runAsUser")?),
        None if image_name.is_empty() => by_uid(0),
        None => match image_name.parse::<u32>() {
            Ok(uid) => by_uid(uid),
            Err(_) => match passwd_entries(passwd).find(|e| e.name == image_name) {
                Some(e) => (e.uid, e.gid, Some(e.name), Some(e.home)),
                None => {
                    return Err(format!(
                        "unable to find user {image_name}: no matching entries in passwd file"
                    ))
                }
            },
        },
    };
    if let Some(g) = eff.run_as_group {
        gid = id(g, "runAsGroup")?;
    }
    let mut groups = vec![gid];
    if let Some(name) = name {
        for (group_name, group_gid, members) in group_entries(group) {
            if group_name != name && members.contains(&name) && !groups.contains(&group_gid) {
                groups.push(group_gid);
            }
        }
    }
    for g in &eff.supplemental_groups {
        let g = id(*g, "supplemental group")?;
        if !groups.contains(&g) {
            groups.push(g);
        }
    }
    Ok(ProcessUser {
        uid,
        gid,
        groups,
        home: home.map(str::to_string),
    })
}

/// The pause image's `USER` (`build/pause/Dockerfile`): pause is not root.
pub const PAUSE_USER: u32 = 65535;

/// Who pause runs as: the pod's runAsUser / runAsGroup (kubelet gives them to the sandbox,
/// containerd's `sandboxContainerSpecOpts`), else the pause image's `65535:65535`; the pause
/// image has no /etc/passwd, so a runAsUser alone gets gid 0. Its groups: the gid, then
/// fsGroup and supplementalGroups. None: a value out of range (validation refuses it first).
pub fn sandbox_user(pod: &PodSpec) -> Option<ProcessUser> {
    let sc = pod.security_context.as_ref();
    let run_as_user = sc.and_then(|s| s.run_as_user);
    let run_as_group = sc.and_then(|s| s.run_as_group);
    let (uid, mut gid) = match run_as_user {
        Some(uid) => (u32::try_from(uid).ok()?, 0),
        None => (PAUSE_USER, PAUSE_USER),
    };
    if let Some(g) = run_as_group {
        gid = u32::try_from(g).ok()?;
    }
    let mut groups = vec![gid];
    if let Some(sc) = sc {
        for g in sc.fs_group.iter().chain(&sc.supplemental_groups) {
            let g = u32::try_from(*g).ok()?;
            if !groups.contains(&g) {
                groups.push(g);
            }
        }
    }
    Some(ProcessUser {
        uid,
        gid,
        groups,
        home: None,
    })
}

/// pause's capability set (its bounding set; none stays in effect once a non-root pause
/// execs): containerd's default, or every capability when a container of the pod is
/// privileged, since kubelet then makes the whole sandbox privileged.
pub fn sandbox_capabilities(pod: &PodSpec) -> u64 {
    let privileged = pod
        .init_containers
        .iter()
        .chain(&pod.containers)
        .any(Container::is_privileged);
    if privileged {
        ALL_CAPABILITIES
    } else {
        DEFAULT_CAPABILITIES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Capabilities, PodSecurityContext};

    const PASSWD: &str = "root:x:0:0:root:/root:/bin/sh\ndaemon:x:1:1:daemon:/usr/sbin:/bin/false\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\nnobody:x:65534:65534:nobody:/home:/bin/false\n";
    const GROUP: &str =
        "root:x:0:\nwheel:x:10:root\ntty:x:5:\nnginx:x:101:\nstaff:x:50:nginx,daemon\nnogroup:x:65534:\n";

    fn sc(f: impl FnOnce(&mut SecurityContext)) -> Option<SecurityContext> {
        let mut sc = SecurityContext::default();
        f(&mut sc);
        Some(sc)
    }

    fn container(sc: Option<SecurityContext>) -> Container {
        Container {
            name: "app".into(),
            security_context: sc,
            ..Container::default()
        }
    }

    #[test]
    fn pause_keeps_every_capability_in_a_pod_with_a_privileged_container() {
        let privileged = Container {
            security_context: sc(|s| s.privileged = Some(true)),
            ..container(None)
        };
        let pod = |c: Container| PodSpec {
            containers: vec![container(None), c],
            ..PodSpec::default()
        };
        assert_eq!(
            sandbox_capabilities(&pod(container(None))),
            DEFAULT_CAPABILITIES
        );
        assert_eq!(sandbox_capabilities(&pod(privileged)), ALL_CAPABILITIES);
    }

    #[test]
    fn pause_is_65535_unless_the_pod_says_otherwise() {
        let user = |sc: Option<PodSecurityContext>| {
            sandbox_user(&PodSpec {
                security_context: sc,
                ..PodSpec::default()
            })
            .map(|u| (u.uid, u.gid, u.groups))
        };
        assert_eq!(user(None), Some((65535, 65535, vec![65535])));
        assert_eq!(
            user(Some(PodSecurityContext {
                run_as_user: Some(1000),
                ..PodSecurityContext::default()
            })),
            Some((1000, 0, vec![0]))
        );
        assert_eq!(
            user(Some(PodSecurityContext {
                run_as_group: Some(3000),
                fs_group: Some(2000),
                supplemental_groups: vec![4000],
                ..PodSecurityContext::default()
            })),
            Some((65535, 3000, vec![3000, 2000, 4000]))
        );
    }

    #[test]
    fn no_new_privs_only_when_escalation_is_forbidden() {
        let with = |allow| sc(|s| s.allow_privilege_escalation = allow);
        assert!(!no_new_privs(None));
        assert!(!no_new_privs(with(None).as_ref()));
        assert!(!no_new_privs(with(Some(true)).as_ref()));
        assert!(no_new_privs(with(Some(false)).as_ref()));
    }

    #[test]
    fn capabilities_add_and_drop_in_containerds_order() {
        let caps = |add: &[&str], drop: &[&str]| {
            capabilities(
                sc(|s| {
                    s.capabilities = Some(Capabilities {
                        add: add.iter().map(|s| s.to_string()).collect(),
                        drop: drop.iter().map(|s| s.to_string()).collect(),
                    })
                })
                .as_ref(),
            )
        };
        assert_eq!(capabilities(None), 0xa80425fb);
        assert_eq!(
            capability_names(DEFAULT_CAPABILITIES).len(),
            14,
            "containerd's 14"
        );
        assert_eq!(caps(&["NET_ADMIN"], &[]), 0xa80425fb | 1 << 12);
        assert_eq!(caps(&["net_admin"], &[]), 0xa80425fb | 1 << 12);
        assert_eq!(caps(&[], &["NET_RAW"]), 0xa80425fb & !(1 << 13));
        assert_eq!(caps(&[], &["ALL"]), 0);
        assert_eq!(caps(&["NET_BIND_SERVICE"], &["ALL"]), 1 << 10);
        assert_eq!(caps(&["ALL"], &[]), ALL_CAPABILITIES);
        assert_eq!(caps(&["ALL"], &["ALL"]), 0);
        assert_eq!(
            caps(&["ALL"], &["SYS_ADMIN"]),
            ALL_CAPABILITIES & !(1 << 21)
        );
        // A drop wins over an add of the same name.
        assert_eq!(caps(&["CHOWN"], &["CHOWN"]), 0xa80425fb & !1);
        assert_eq!(capability_bit("CHECKPOINT_RESTORE"), Some(1 << 40));
        assert_eq!(capability_bit("CAP_CHOWN"), None);
    }

    #[test]
    fn the_pod_fills_in_what_the_container_leaves_out() {
        let pod = PodSpec {
            security_context: Some(PodSecurityContext {
                run_as_user: Some(1000),
                run_as_group: Some(3000),
                run_as_non_root: Some(true),
                supplemental_groups: vec![4000, 4001],
                fs_group: Some(2000),
                ..PodSecurityContext::default()
            }),
            ..PodSpec::default()
        };
        let eff = effective(&pod, &container(None));
        assert_eq!(eff.run_as_user, Some(1000));
        assert_eq!(eff.run_as_group, Some(3000));
        assert!(eff.run_as_non_root);
        assert_eq!(eff.supplemental_groups, [2000, 4000, 4001]);
        let own = container(sc(|s| {
            s.run_as_user = Some(2001);
            s.run_as_non_root = Some(false);
        }));
        let eff = effective(&pod, &own);
        assert_eq!(eff.run_as_user, Some(2001));
        assert_eq!(eff.run_as_group, Some(3000));
        assert!(!eff.run_as_non_root);
    }

    #[test]
    fn run_as_non_root_with_kubelets_messages() {
        let pod = "web_default(1234)";
        let eff = |user: Option<i64>| EffectiveSecurity {
            run_as_user: user,
            run_as_non_root: true,
            ..EffectiveSecurity::default()
        };
        assert_eq!(
            verify_run_as_non_root(&eff(Some(1000)), "", pod, "app"),
            Ok(())
        );
        assert_eq!(
            verify_run_as_non_root(&eff(Some(0)), "1000", pod, "app"),
            Err("container's runAsUser breaks non-root policy (pod: \"web_default(1234)\", container: app)".into())
        );
        for root in ["", "0", "0:0"] {
            assert_eq!(
                verify_run_as_non_root(&eff(None), root, pod, "app"),
                Err("container has runAsNonRoot and image will run as root (pod: \"web_default(1234)\", container: app)".into()),
                "{root:?}"
            );
        }
        assert_eq!(
            verify_run_as_non_root(&eff(None), "101:101", pod, "app"),
            Ok(())
        );
        assert_eq!(
            verify_run_as_non_root(&eff(None), "nginx", pod, "app"),
            Err("container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root (pod: \"web_default(1234)\", container: app)".into())
        );
        let off = EffectiveSecurity::default();
        assert_eq!(verify_run_as_non_root(&off, "", pod, "app"), Ok(()));
    }

    #[test]
    fn the_process_user_from_run_as_user_the_image_and_its_files() {
        let user = |run_as_user, run_as_group, image: &str, supplemental: Vec<i64>| {
            let eff = EffectiveSecurity {
                run_as_user,
                run_as_group,
                supplemental_groups: supplemental,
                ..EffectiveSecurity::default()
            };
            process_user(&eff, image, PASSWD, GROUP).map(|u| (u.uid, u.gid, u.groups))
        };
        // Root of an image without User: its groups from /etc/group, like `id` in docker.
        assert_eq!(user(None, None, "", vec![]), Ok((0, 0, vec![0, 10])));
        assert_eq!(
            user(None, None, "nginx", vec![]),
            Ok((101, 101, vec![101, 50]))
        );
        // The image's group is not passed on by kubelet: the passwd entry's group applies.
        assert_eq!(
            user(None, None, "nginx:tty", vec![]),
            Ok((101, 101, vec![101, 50]))
        );
        assert_eq!(
            user(None, None, "101:7", vec![]),
            Ok((101, 101, vec![101, 50]))
        );
        // A uid the image does not know: gid 0 (containerd's WithUserID).
        assert_eq!(
            user(Some(1000), None, "nginx", vec![]),
            Ok((1000, 0, vec![0]))
        );
        assert_eq!(
            user(Some(1000), Some(3000), "", vec![2000, 4000]),
            Ok((1000, 3000, vec![3000, 2000, 4000]))
        );
        assert_eq!(user(Some(1), None, "", vec![]), Ok((1, 1, vec![1, 50])));
        assert_eq!(
            user(None, Some(3000), "nginx", vec![]),
            Ok((101, 3000, vec![3000, 50]))
        );
        assert_eq!(
            user(None, None, "ghost", vec![]),
            Err("unable to find user ghost: no matching entries in passwd file".into())
        );
        assert!(user(Some(-1), None, "", vec![]).is_err());
    }
}
