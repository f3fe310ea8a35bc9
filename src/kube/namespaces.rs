//! The Linux namespaces podlab uses, in one table, and which of them a pod's sandbox and its
//! containers create or join.
//!
//! The table's order is the order namespaces are joined, as youki joins them: pid, uts, ipc,
//! net, cgroup, and mnt last (after it, the host's /proc paths are gone). The user namespace is
//! not in the table: by default containers run as the host's root, like Kubernetes' default;
//! a pod with `hostUsers: false` gets one of its own, made with the sandbox and joined first
//! (as youki joins it), before every other, since it owns them ([`SandboxNamespaces::user`]).
//!
//! The sandbox, container init, `podlab exec` and the narration of the steps all read the plan
//! from here ([`SandboxNamespaces::for_pod`], [`ContainerNamespaces::for_pod`]), so what a
//! step says is what the shim does.

use serde::{Deserialize, Serialize};

use crate::spec::Pod;

/// A namespace kind podlab creates, joins or shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Namespace {
    Pid,
    Uts,
    Ipc,
    Net,
    Cgroup,
    Mnt,
}

/// One row of the table.
struct Row {
    kind: Namespace,
    /// The file under /proc/<pid>/ns.
    proc_name: &'static str,
    /// The flag's value in Linux's ABI (`<linux/sched.h>`); runtime hands it to clone, unshare
    /// and setns.
    clone_flag: i32,
    clone_flag_name: &'static str,
    /// The long option of nsenter(1) and unshare(1).
    option: &'static str,
}

/// In join order; the n-th row is the n-th kind of [`Namespace`].
const TABLE: [Row; 6] = [
    Row {
        kind: Namespace::Pid,
        proc_name: "pid",
        clone_flag: 0x2000_0000,
        clone_flag_name: "CLONE_NEWPID",
        option: "--pid",
    },
    Row {
        kind: Namespace::Uts,
        proc_name: "uts",
        clone_flag: 0x0400_0000,
        clone_flag_name: "CLONE_NEWUTS",
        option: "--uts",
    },
    Row {
        kind: Namespace::Ipc,
        proc_name: "ipc",
        clone_flag: 0x0800_0000,
        clone_flag_name: "CLONE_NEWIPC",
        option: "--ipc",
    },
    Row {
        kind: Namespace::Net,
        proc_name: "net",
        clone_flag: 0x4000_0000,
        clone_flag_name: "CLONE_NEWNET",
        option: "--net",
    },
    Row {
        kind: Namespace::Cgroup,
        proc_name: "cgroup",
        clone_flag: 0x0200_0000,
        clone_flag_name: "CLONE_NEWCGROUP",
        option: "--cgroup",
    },
    Row {
        kind: Namespace::Mnt,
        proc_name: "mnt",
        clone_flag: 0x0002_0000,
        clone_flag_name: "CLONE_NEWNS",
        option: "--mount",
    },
];

impl Namespace {
    /// Every kind, in join order.
    pub const ALL: [Namespace; 6] = [
        Namespace::Pid,
        Namespace::Uts,
        Namespace::Ipc,
        Namespace::Net,
        Namespace::Cgroup,
        Namespace::Mnt,
    ];

    fn row(self) -> &'static Row {
        let row = &TABLE[self as usize];
        debug_assert_eq!(row.kind, self, "the table's rows follow the enum's order");
        row
    }

    /// The file name under /proc/<pid>/ns.
    pub fn proc_name(self) -> &'static str {
        self.row().proc_name
    }

    /// The CLONE_NEW* flag's value, as clone(2), unshare(2) and setns(2) take it.
    pub fn clone_flag(self) -> i32 {
        self.row().clone_flag
    }

    /// The flag as the narration and strace name it, e.g. `CLONE_NEWUTS`.
    pub fn clone_flag_name(self) -> &'static str {
        self.row().clone_flag_name
    }

    /// The long option of nsenter(1) and unshare(1), e.g. `--uts`.
    pub fn option(self) -> &'static str {
        self.row().option
    }
}

/// The namespaces a pod's sandbox (pause) gets of its own; the others are the host's.
///
/// mnt is always new; pid, ipc and net unless the pod asks for the host's (hostPID, hostIPC,
/// hostNetwork); uts goes with net, as kubelet does: a hostNetwork pod keeps the host's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SandboxNamespaces {
    /// A user namespace of the pod's own (`hostUsers: false`), owning the others.
    pub user: bool,
    pub pid: bool,
    pub uts: bool,
    pub ipc: bool,
    pub net: bool,
}

/// The sysctls containerd 2.x sets in every sandbox with a net namespace of its own
/// (`enable_unprivileged_ports`, `enable_unprivileged_icmp`, both on by default): any user in
/// the pod may bind ports below 1024 and ping. As /proc/sys paths, with their values;
/// `highest_gid` is the highest group id mapped where the namespace is made.
pub fn pod_net_sysctls(highest_gid: u32) -> [(&'static str, String); 2] {
    [
        ("/proc/sys/net/ipv4/ip_unprivileged_port_start", "0".into()),
        (
            "/proc/sys/net/ipv4/ping_group_range",
            format!("0 {}", highest_gid.min(PING_GROUP_MAX)),
        ),
    ]
}

/// The highest value `ping_group_range` takes (containerd's "0 2147483647"). Inside a user
/// namespace the kernel refuses groups that are not mapped there, so a pod with a user
/// namespace of its own (or a rootless node) gets the groups it has.
pub const PING_GROUP_MAX: u32 = 2147483647;

/// The highest group id inside a namespace with this `gid_map` (lines "inside outside count").
pub fn highest_mapped_id(map: &str) -> u32 {
    map.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace().map(|f| f.parse::<u64>().ok());
            let (inside, _, count) = (fields.next()??, fields.next()??, fields.next()??);
            (count > 0).then(|| inside + count - 1)
        })
        .max()
        .map_or(0, |id| u32::try_from(id).unwrap_or(u32::MAX))
}

impl SandboxNamespaces {
    /// The namespaces a sandbox holds for its pod, its own or the host's: the ones its
    /// containers may join, and a lesson fingerprints.
    pub const HELD: [Namespace; 5] = [
        Namespace::Pid,
        Namespace::Uts,
        Namespace::Ipc,
        Namespace::Net,
        Namespace::Mnt,
    ];

    pub fn for_pod(pod: &Pod) -> SandboxNamespaces {
        let spec = &pod.spec;
        SandboxNamespaces {
            user: spec.own_user_namespace(),
            pid: !spec.host_pid,
            uts: !spec.host_network,
            ipc: !spec.host_ipc,
            net: !spec.host_network,
        }
    }

    /// Whether the sandbox gets a new namespace of `kind`.
    pub fn creates(&self, kind: Namespace) -> bool {
        match kind {
            Namespace::Pid => self.pid,
            Namespace::Uts => self.uts,
            Namespace::Ipc => self.ipc,
            Namespace::Net => self.net,
            Namespace::Cgroup => false,
            Namespace::Mnt => true,
        }
    }

    /// The namespaces cloned for the sandbox, in join order.
    pub fn created(&self) -> Vec<Namespace> {
        Namespace::ALL
            .into_iter()
            .filter(|&kind| self.creates(kind))
            .collect()
    }

    /// The host's namespaces the pod keeps instead, in join order.
    pub fn shared_with_host(&self) -> Vec<Namespace> {
        Self::HELD
            .into_iter()
            .filter(|&kind| !self.creates(kind))
            .collect()
    }

    /// The pod's hostname is set only in a UTS namespace of its own.
    pub fn sets_hostname(&self) -> bool {
        self.uts
    }
}

/// The namespaces a container joins from its sandbox and the ones it makes for itself.
///
/// It always joins pause's uts, ipc and net and makes its own mnt. Its PID namespace is its
/// own (Kubernetes' default), pause's with shareProcessNamespace, or the host's with hostPID.
/// On cgroup v2 a container that is not privileged also gets a cgroup namespace of its own
/// (containerd's `WithNamespaces` on a unified host), rooted at its own cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerNamespaces {
    /// Join pause's user namespace first (`hostUsers: false`).
    #[serde(default)]
    pub join_user: bool,
    /// Join pause's PID namespace (shareProcessNamespace).
    pub share_pid: bool,
    /// Make a PID namespace of its own.
    pub own_pid: bool,
    /// Make a cgroup namespace of its own, once in its cgroup.
    #[serde(default)]
    pub own_cgroup: bool,
}

impl ContainerNamespaces {
    /// What every container joins from pause, in join order (pid only with
    /// shareProcessNamespace).
    pub const ALWAYS_JOINED: [Namespace; 3] = [Namespace::Uts, Namespace::Ipc, Namespace::Net];

    pub fn for_pod(pod: &Pod) -> ContainerNamespaces {
        let spec = &pod.spec;
        // Validation refuses shareProcessNamespace with hostPID; hostPID wins if both came.
        ContainerNamespaces {
            join_user: spec.own_user_namespace(),
            share_pid: spec.share_process_namespace && !spec.host_pid,
            own_pid: !spec.share_process_namespace && !spec.host_pid,
            own_cgroup: false,
        }
    }

    /// The plan for one container on this host: a cgroup namespace of its own on cgroup v2
    /// unless it is privileged (containerd keeps privileged containers and every container
    /// on cgroup v1 in the host's).
    pub fn for_container(
        pod: &Pod,
        privileged: bool,
        unified_cgroups: bool,
    ) -> ContainerNamespaces {
        ContainerNamespaces {
            own_cgroup: unified_cgroups && !privileged,
            ..ContainerNamespaces::for_pod(pod)
        }
    }

    /// The sandbox's namespaces the container enters, in join order.
    pub fn joined(&self) -> Vec<Namespace> {
        let mut kinds = vec![];
        if self.share_pid {
            kinds.push(Namespace::Pid);
        }
        kinds.extend(Self::ALWAYS_JOINED);
        kinds
    }

    /// The namespaces the container makes for itself, in join order.
    pub fn created(&self) -> Vec<Namespace> {
        let mut kinds = vec![];
        if self.own_pid {
            kinds.push(Namespace::Pid);
        }
        if self.own_cgroup {
            kinds.push(Namespace::Cgroup);
        }
        kinds.push(Namespace::Mnt);
        kinds
    }
}

/// Namespaces as a flags expression, e.g. `CLONE_NEWPID | CLONE_NEWNS`.
pub fn clone_flag_names(kinds: &[Namespace]) -> String {
    kinds
        .iter()
        .map(|k| k.clone_flag_name())
        .collect::<Vec<_>>()
        .join(" | ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(extra: &str) -> Pod {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec:\n{extra}  containers:\n  - {{name: app, image: busybox}}\n"
        );
        crate::spec::parse_pod(&yaml, "test.yaml")
            .expect("valid pod")
            .pod
    }

    #[test]
    fn the_table_is_in_join_order_and_each_row_is_its_kind() {
        for (i, kind) in Namespace::ALL.into_iter().enumerate() {
            assert_eq!(TABLE[i].kind, kind);
            assert_eq!(kind as usize, i);
        }
        let names: Vec<&str> = Namespace::ALL.iter().map(|k| k.proc_name()).collect();
        assert_eq!(names, ["pid", "uts", "ipc", "net", "cgroup", "mnt"]);
        // mnt last: after joining it the host's /proc/<pid>/ns paths are out of reach.
        assert_eq!(Namespace::ALL.last(), Some(&Namespace::Mnt));
    }

    #[test]
    fn clone_flags_are_distinct_single_bits() {
        let mut all = 0;
        for kind in Namespace::ALL {
            let flag = kind.clone_flag();
            assert_eq!(flag.count_ones(), 1, "{kind:?}");
            assert_eq!(all & flag, 0, "{kind:?}");
            all |= flag;
        }
    }

    #[test]
    fn a_default_pod_gets_every_sandbox_namespace_of_its_own() {
        let ns = SandboxNamespaces::for_pod(&pod(""));
        assert_eq!(
            ns.created(),
            [
                Namespace::Pid,
                Namespace::Uts,
                Namespace::Ipc,
                Namespace::Net,
                Namespace::Mnt
            ]
        );
        assert!(ns.shared_with_host().is_empty());
        assert!(ns.sets_hostname());
    }

    #[test]
    fn host_network_keeps_the_hosts_net_and_uts() {
        let ns = SandboxNamespaces::for_pod(&pod("  hostNetwork: true\n"));
        assert!(!ns.creates(Namespace::Net) && !ns.creates(Namespace::Uts));
        assert_eq!(ns.shared_with_host(), [Namespace::Uts, Namespace::Net]);
        assert!(!ns.sets_hostname());
    }

    #[test]
    fn containers_join_pause_and_make_their_own_pid_namespace_by_default() {
        let ns = ContainerNamespaces::for_pod(&pod(""));
        assert_eq!(
            ns.joined(),
            [Namespace::Uts, Namespace::Ipc, Namespace::Net]
        );
        assert_eq!(ns.created(), [Namespace::Pid, Namespace::Mnt]);
        let shared = ContainerNamespaces::for_pod(&pod("  shareProcessNamespace: true\n"));
        assert_eq!(shared.joined()[0], Namespace::Pid);
        assert_eq!(shared.created(), [Namespace::Mnt]);
        let host = ContainerNamespaces::for_pod(&pod("  hostPID: true\n"));
        assert!(!host.joined().contains(&Namespace::Pid));
        assert_eq!(host.created(), [Namespace::Mnt]);
    }

    #[test]
    fn host_users_false_gives_the_sandbox_a_user_namespace_its_containers_join() {
        assert!(!SandboxNamespaces::for_pod(&pod("")).user);
        assert!(!SandboxNamespaces::for_pod(&pod("  hostUsers: true\n")).user);
        let own = pod("  hostUsers: false\n");
        assert!(SandboxNamespaces::for_pod(&own).user);
        assert!(ContainerNamespaces::for_pod(&own).join_user);
        assert!(!ContainerNamespaces::for_pod(&pod("")).join_user);
    }

    #[test]
    fn on_cgroup_v2_an_unprivileged_container_gets_its_own_cgroup_namespace() {
        let p = pod("");
        let v2 = ContainerNamespaces::for_container(&p, false, true);
        assert_eq!(
            v2.created(),
            [Namespace::Pid, Namespace::Cgroup, Namespace::Mnt]
        );
        assert!(!ContainerNamespaces::for_container(&p, true, true).own_cgroup);
        assert!(!ContainerNamespaces::for_container(&p, false, false).own_cgroup);
    }

    #[test]
    fn ping_groups_stay_within_the_mapped_ids() {
        assert_eq!(
            highest_mapped_id("         0          0 4294967295\n"),
            4294967294
        );
        assert_eq!(highest_mapped_id("0 1000 1\n1 100000 65536\n"), 65536);
        assert_eq!(highest_mapped_id("0 655360 65536\n"), 65535);
        assert_eq!(highest_mapped_id(""), 0);
        assert_eq!(pod_net_sysctls(4294967294)[1].1, "0 2147483647");
        assert_eq!(pod_net_sysctls(65535)[1].1, "0 65535");
    }
}
