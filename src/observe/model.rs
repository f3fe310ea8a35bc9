//! The snapshot as data: what one tick read from /proc and /sys/fs/cgroup.
//!
//! Everything here is plain `serde` data so a run can be recorded and rendered later without
//! root (replay). Values that could not be read are `None` and listed in `Snapshot::gaps`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::kube::namespaces::Namespace;
use crate::kube::pod_state::{ContainerKind, ContainerState, Event, EventType, PodPhase};

/// One observation of a set of processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Milliseconds since the Unix epoch when the tick started (an integer, so a recorded
    /// snapshot reads back exactly).
    pub taken_at_ms: u64,
    pub scope: Scope,
    pub host: HostInfo,
    /// The processes shown, sorted by host PID. In the host view every process is listed,
    /// but those outside sandboxes carry only what `stat` gives (pid, ppid, comm, state, start
    /// time, kernel thread): their `cmdline`, `ns_pids`, `uid`, `namespaces` and `cgroups` are
    /// left empty, not read (no gap for them).
    pub processes: Vec<ProcessInfo>,
    /// Processes grouped into pods, containers and other isolated groups.
    pub sandboxes: Vec<Sandbox>,
    /// One entry per network namespace that a shown sandbox uses.
    pub networks: Vec<NetNamespace>,
    /// What could not be read (vanished processes, permission denied, missing files).
    pub gaps: Vec<Gap>,
}

/// What was asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// A podlab pod, by name or UID as given.
    Pod { name: String },
    /// These processes and their descendants.
    Pids { pids: Vec<i32> },
    /// Every process on the host.
    Host,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostInfo {
    /// Clock ticks per second (`start_time` is in ticks since boot).
    pub clock_ticks: u64,
    /// Boot time in seconds since the Unix epoch (`btime` in /proc/stat).
    pub boot_time: Option<u64>,
    pub cgroup_layout: CgroupLayout,
    /// The host's namespaces (PID 1's, or this observer's when PID 1 cannot be read).
    pub namespaces: BTreeMap<NsKind, NsId>,
    /// How many processes /proc listed at its last listing (the host view lists it every
    /// tick; a pod or PID view on its first tick and every 10th).
    pub process_count: usize,
}

/// A Linux namespace type as named under /proc/<pid>/ns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NsKind {
    Cgroup,
    Ipc,
    Mnt,
    Net,
    Pid,
    PidForChildren,
    Time,
    User,
    Uts,
}

impl NsKind {
    pub const ALL: [NsKind; 9] = [
        NsKind::Cgroup,
        NsKind::Ipc,
        NsKind::Mnt,
        NsKind::Net,
        NsKind::Pid,
        NsKind::PidForChildren,
        NsKind::Time,
        NsKind::User,
        NsKind::Uts,
    ];

    /// The file name under /proc/<pid>/ns.
    pub fn file_name(self) -> &'static str {
        match self {
            NsKind::Cgroup => "cgroup",
            NsKind::Ipc => "ipc",
            NsKind::Mnt => "mnt",
            NsKind::Net => "net",
            NsKind::Pid => "pid",
            NsKind::PidForChildren => "pid_for_children",
            NsKind::Time => "time",
            NsKind::User => "user",
            NsKind::Uts => "uts",
        }
    }
}

/// The namespaces podlab makes and joins are a subset of what /proc shows.
impl From<Namespace> for NsKind {
    fn from(kind: Namespace) -> NsKind {
        match kind {
            Namespace::Pid => NsKind::Pid,
            Namespace::Uts => NsKind::Uts,
            Namespace::Ipc => NsKind::Ipc,
            Namespace::Net => NsKind::Net,
            Namespace::Cgroup => NsKind::Cgroup,
            Namespace::Mnt => NsKind::Mnt,
        }
    }
}

/// A namespace's identity: the nsfs inode, and the device when `stat` could tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NsId {
    pub inode: u64,
    /// None when only the link text (`net:[4026531840]`) could be read.
    pub dev: Option<u64>,
}

impl NsId {
    /// Same namespace: equal inodes, and equal devices when both are known.
    pub fn same_as(&self, other: &NsId) -> bool {
        self.inode == other.inode
            && match (self.dev, other.dev) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            }
    }
}

/// Process state letter from `stat` (R, S, D, Z, T, t, X, I, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcState(pub char);

impl ProcState {
    pub fn is_zombie(self) -> bool {
        self.0 == 'Z'
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    /// PID in the host's (this /proc's) PID namespace.
    pub pid: i32,
    pub ppid: i32,
    /// PIDs from the outermost PID namespace to the innermost (`NSpid:`); the last is what the
    /// process itself sees. Empty when `status` could not be read.
    pub ns_pids: Vec<i32>,
    pub comm: String,
    /// Empty for kernel threads, zombies, or when it could not be read.
    pub cmdline: Vec<String>,
    pub state: ProcState,
    /// Real UID (`Uid:` in status).
    pub uid: Option<u32>,
    /// Start time in clock ticks since boot (field 22 of `stat`).
    pub start_time: u64,
    pub kernel_thread: bool,
    /// The namespaces that could be read; missing kinds are listed in the gaps.
    pub namespaces: BTreeMap<NsKind, NsId>,
    /// Lines of /proc/<pid>/cgroup.
    pub cgroups: Vec<CgroupMembership>,
    pub role: Role,
    /// `Seccomp:` and `Seccomp_filters:` of status; None when it could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seccomp: Option<SeccompState>,
}

/// A process's seccomp, as /proc/<pid>/status says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeccompState {
    /// 0: none, 1: strict, 2: filter.
    pub mode: u32,
    /// How many filters are stacked (`Seccomp_filters:`, Linux 5.9+).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filters: Option<u32>,
}

impl SeccompState {
    pub const FILTER: u32 = 2;

    pub fn is_filtered(&self) -> bool {
        self.mode == Self::FILTER
    }
}

impl ProcessInfo {
    /// The PID this process sees for itself (innermost PID namespace).
    pub fn local_pid(&self) -> i32 {
        self.ns_pids.last().copied().unwrap_or(self.pid)
    }
}

/// What a process is in a sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "container")]
pub enum Role {
    /// podlab-shim, containerd-shim, conmon: the supervisor above a pod or container.
    Shim,
    /// The sandbox's pause process (holds the pod's namespaces).
    Pause,
    /// Main process of the named container, or one of its descendants.
    Container(String),
    Other,
}

/// One line of /proc/<pid>/cgroup: `hierarchy-ID:controller-list:path`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupMembership {
    pub hierarchy: u32,
    /// Empty for the v2 (unified) hierarchy.
    pub controllers: Vec<String>,
    pub path: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CgroupLayout {
    /// Only cgroup v2 at the cgroup root.
    Unified,
    /// Only v1 controller hierarchies.
    Legacy,
    /// v1 controllers plus a cgroup2 mount (usually empty of controllers).
    Hybrid,
    Unknown,
}

/// A group of processes isolated together: a pod, a container, or an unshare'd process tree.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sandbox {
    pub kind: SandboxKind,
    /// Pod name, container ID (short), or "net:[inode]" for plain unshare'd groups.
    pub name: String,
    pub uid: Option<String>,
    /// Supervisor (podlab-shim, containerd-shim, conmon) when known.
    pub shim: Option<i32>,
    pub pause: Option<i32>,
    /// Whether the pause process is a zombie (its namespaces are then unreadable).
    pub pause_zombie: bool,
    pub net: Option<NsId>,
    pub containers: Vec<ContainerView>,
    /// The pod-level cgroup (e.g. kubepods/burstable/pod<UID>).
    pub cgroup: Option<CgroupInfo>,
    /// For podlab pods: phase and events from state.json.
    pub pod: Option<PodInfo>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SandboxKind {
    PodlabPod,
    KubernetesPod,
    Docker,
    Podman,
    /// Processes in their own network namespace without a known runtime (unshare, ip netns).
    Unshared,
    /// The same, shaped like a pod: one process tree holds the net, ipc and uts namespaces
    /// and other processes joined all three (a pod built by hand with unshare and nsenter).
    /// Its holder is shown as the sandbox's pause.
    PodShaped,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerView {
    pub name: String,
    pub is_pause: bool,
    /// Main process (host PID).
    pub main_pid: Option<i32>,
    /// The main process and its descendants (host PIDs).
    pub pids: Vec<i32>,
    /// Namespace kinds identical to pause's, and the container's own ones. Both empty when the
    /// container or pause could not be read.
    pub shared_with_pause: Vec<NsKind>,
    pub own: Vec<NsKind>,
    pub cgroup: Option<CgroupInfo>,
    /// From state.json for podlab pods.
    pub status: Option<ContainerInfo>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContainerInfo {
    pub kind: ContainerKind,
    pub image: String,
    pub state: ContainerState,
    pub restart_count: u32,
    pub ready: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodInfo {
    pub namespace: String,
    pub phase: PodPhase,
    pub terminating: bool,
    pub hostname: Option<String>,
    pub ip: Option<String>,
    pub events: Vec<PodEvent>,
}

/// An event as state.json records it (the fields `kubectl describe` shows).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PodEvent {
    pub time: f64,
    pub kind: EventType,
    pub reason: String,
    pub object: String,
    pub message: String,
}

impl From<&Event> for PodEvent {
    fn from(e: &Event) -> PodEvent {
        PodEvent {
            time: e.time,
            kind: e.kind,
            reason: e.reason.clone(),
            object: e.object.clone(),
            message: e.message.clone(),
        }
    }
}

/// A limit that can be "max" (no limit).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Unlimited,
    Value(u64),
}

/// How a CPU request in millicores was derived from the cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuRequestSource {
    /// v1 `cpu.shares`: millicores = shares * 1000 / 1024.
    Shares,
    /// v2 `cpu.weight`, inverted with runc ≥ 1.3.2's formula (approximate: many requests
    /// give the same weight).
    WeightRuncNew,
    /// v2 `cpu.weight` equal to the weight of the request in the pod's spec: that request.
    WeightAsWritten,
    /// v2 `cpu.weight` of a pod cgroup, which kubelet writes itself: inverted with its linear
    /// `CpuSharesToCpuWeight` (runc's curve is only for container leaves).
    WeightKubelet,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CgroupInfo {
    pub version: u8,
    /// Path below the hierarchy root (memory controller's on v1).
    pub path: String,
    pub cpu_quota_us: Option<Limit>,
    pub cpu_period_us: Option<u64>,
    /// Limit in millicores from quota/period.
    pub cpu_limit_millis: Option<Limit>,
    pub cpu_shares: Option<u64>,
    pub cpu_weight: Option<u64>,
    /// Request in millicores from shares or weight.
    pub cpu_request_millis: Option<u64>,
    pub cpu_request_source: Option<CpuRequestSource>,
    /// v2 only: the request with runc ≤ 1.3.1's linear weight formula, for comparison.
    pub cpu_request_millis_old_runc: Option<u64>,
    pub nr_periods: Option<u64>,
    pub nr_throttled: Option<u64>,
    /// Total throttled time in microseconds.
    pub throttled_usec: Option<u64>,
    pub memory_limit: Option<Limit>,
    pub memory_usage: Option<u64>,
    /// v1 `memory.failcnt`: times usage hit the limit.
    pub memory_failcnt: Option<u64>,
    /// Times the OOM killer was invoked for this cgroup (v2 `oom`, v1 under_oom is a flag).
    pub oom: Option<u64>,
    pub oom_kill: Option<u64>,
    pub pids_current: Option<u64>,
    pub pids_max: Option<Limit>,
    /// cgroup v2 pressure stall information (`cpu.pressure`), when the kernel has PSI.
    #[serde(default)]
    pub cpu_pressure: Option<Pressure>,
    /// `memory.pressure`.
    #[serde(default)]
    pub memory_pressure: Option<Pressure>,
}

/// One `*.pressure` file: the share of the last 10 seconds in which some (or all) of the
/// cgroup's tasks were stalled waiting for the resource, in percent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Pressure {
    pub some_avg10: f64,
    /// None for cpu.pressure on kernels before 5.13, which have no "full" line there.
    pub full_avg10: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetNamespace {
    pub id: NsId,
    /// The process whose /proc/<pid>/net was read.
    pub read_via: i32,
    pub interfaces: Vec<Interface>,
    pub routes: Vec<Route>,
    pub listeners: Vec<Listener>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interface {
    pub name: String,
    pub ipv4: Vec<String>,
    pub ipv6: Vec<String>,
    pub rx_bytes: u64,
    pub rx_packets: u64,
    pub tx_bytes: u64,
    pub tx_packets: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub interface: String,
    /// CIDR, e.g. "10.88.0.0/16" or "0.0.0.0/0".
    pub destination: String,
    pub gateway: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Proto {
    Tcp,
    Tcp6,
    Udp,
    Udp6,
}

/// A listening TCP socket or a bound UDP socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listener {
    pub proto: Proto,
    pub address: String,
    pub port: u16,
    pub inode: u64,
    /// Processes holding the socket (host PIDs); empty when no shown process holds it.
    pub pids: Vec<i32>,
    /// The container of the first holder, when it belongs to one.
    pub container: Option<String>,
}

/// Something the tick could not read, and why. A gap never fails the snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gap {
    pub pid: Option<i32>,
    /// What was being read, e.g. "ns/net", "status", "cgroup memory.max".
    pub what: String,
    pub reason: GapReason,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GapReason {
    /// The process exited while it was being read (ENOENT/ESRCH).
    Vanished,
    /// EACCES/EPERM (hidepid, another user's process, a restricted /proc).
    PermissionDenied,
    /// A zombie has no namespaces, cmdline or fds left to read.
    Zombie,
    /// The file does not exist (controller not mounted, feature not in this kernel).
    Missing,
    /// The file was there but its content was not understood.
    Unparsable,
    Other(String),
}

impl GapReason {
    pub fn from_io(err: &std::io::Error) -> GapReason {
        match err.raw_os_error() {
            Some(libc::ENOENT) | Some(libc::ESRCH) => GapReason::Vanished,
            Some(libc::EACCES) | Some(libc::EPERM) => GapReason::PermissionDenied,
            _ => GapReason::Other(err.to_string()),
        }
    }
}

/// What to observe.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A podlab pod by name or UID: its shim and everything below it.
    Pod(String),
    /// These processes and their descendants.
    Pids(Vec<i32>),
    /// Every process on the host, grouped into sandboxes.
    Host,
}
