//! The lesson file as data (`schema: 1`, or `schema: 2` with the learner's tasks and
//! questions of `learner`): what a lesson author writes in `lessons/*.yaml`.
//!
//! Every learner-visible text is a [`Text`] with both languages. Containers are named by
//! [`Ref`]: `web` (a container of the step's pod), `pause`, `host` (the host's PID 1), or
//! `other-pod/web` for a container of another pod of the lesson.

use serde::{Deserialize, Serialize};

use crate::i18n::Text;
use crate::observe::NsKind;

use super::card::{Difficulty, Recap};
use super::hint::Hint;
use super::learner::{QuestionSpec, TaskSpec};

/// The newest schema version this podlab reads.
pub const SCHEMA_VERSION: u32 = 2;
/// The oldest it still reads.
pub const OLDEST_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonFile {
    pub schema: u32,
    /// Stable id, e.g. `01-process`; progress is keyed by it.
    pub id: String,
    pub title: Text,
    pub summary: Text,
    /// The lesson's pod: a Kubernetes Pod manifest, relative to the lesson file.
    pub manifest: String,
    /// More pods the lesson starts, named by their metadata.name in refs and `pod:`.
    #[serde(default)]
    pub extra_manifests: Vec<String>,
    #[serde(default)]
    pub options: LessonOptions,
    pub steps: Vec<StepSpec>,
    /// What the learner will have seen and can explain afterwards (the lesson list shows them).
    #[serde(default)]
    pub objectives: Vec<Text>,
    /// About how long the lesson takes.
    #[serde(default)]
    pub minutes: Option<u32>,
    #[serde(default)]
    pub difficulty: Option<Difficulty>,
    /// Shown when every step is done: what was seen, what to try next.
    #[serde(default)]
    pub recap: Option<Recap>,
    /// What the learner makes by hand on the host (a cgroup, a veth, processes with a host
    /// name), which the lesson owns by a name prefix and removes when it ends.
    #[serde(default)]
    pub owns: Option<Owns>,
    /// What the lesson was called before, so saved progress follows a renamed or renumbered
    /// lesson and renamed steps.
    #[serde(default)]
    pub formerly: Formerly,
}

/// Everything on the host named with `prefix` belongs to the lesson: cgroup directories
/// directly below a hierarchy's root, network interfaces of the host, and processes whose
/// uts namespace has a host name starting with it (or that are in those cgroups). The
/// player removes them when the lesson ends, is quit or gets Ctrl-C; `podlab gc` removes
/// them once the player is gone (after a kill -9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Owns {
    /// `podlab-` and up to 7 more lower-case letters, digits or dashes, so that the prefix
    /// and one more character still make an interface name (15 bytes at most).
    pub prefix: String,
}

impl Owns {
    /// Longest prefix: an interface name is 15 bytes, and a veth end is the prefix + `0`.
    pub const MAX_PREFIX: usize = 14;

    /// Why `prefix` cannot be a lesson's, if it cannot.
    pub fn problem(&self) -> Option<String> {
        let p = &self.prefix;
        let Some(rest) = p.strip_prefix("podlab-") else {
            return Some(format!("owns.prefix {p:?} must start with podlab-"));
        };
        (rest.is_empty()
            || p.len() > Owns::MAX_PREFIX
            || !rest
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
        .then(|| {
            format!(
                "owns.prefix {p:?}: podlab- then 1 to {} lower-case letters, digits or dashes",
                Owns::MAX_PREFIX - "podlab-".len()
            )
        })
    }
}

/// A lesson's earlier ids and step ids. Progress saved under an earlier lesson id is read
/// when none is saved under the current one; an earlier step id counts as done the steps it
/// maps to (a step split in several maps to all of them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Formerly {
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default)]
    pub steps: std::collections::BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LessonOptions {
    /// kubelet's timers (back-off, probes) are multiplied by this, to keep lessons short.
    #[serde(default = "one")]
    pub time_scale: f64,
    /// false: loopback only (no veth, no pod IP).
    #[serde(default = "yes")]
    pub network: bool,
    /// How long a check is polled before it fails, unless the step says otherwise.
    #[serde(default = "default_check_timeout")]
    pub check_timeout_seconds: f64,
    /// kubelet's podPidsLimit (`--pod-max-pids`) for the lesson's pods, when not podlab's
    /// 1024: each pod's cgroup gets this pids.max.
    #[serde(default)]
    pub pod_pids_limit: Option<i64>,
}

impl Default for LessonOptions {
    fn default() -> LessonOptions {
        LessonOptions {
            time_scale: 1.0,
            network: true,
            check_timeout_seconds: default_check_timeout(),
            pod_pids_limit: None,
        }
    }
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

fn default_check_timeout() -> f64 {
    10.0
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Stable id; progress is keyed by it, so a renamed step is listed in the lesson's
    /// `formerly.steps`.
    pub id: String,
    pub title: Text,
    pub body: Text,
    /// The pod the action and the refs without a `pod/` prefix are about (default: the
    /// lesson's first pod).
    #[serde(default)]
    pub pod: Option<String>,
    #[serde(default)]
    pub action: Action,
    /// What the learner would type to do or see the same, shown as written (schema 1 files;
    /// the shipped lessons write `try:` and `cluster:` lines instead).
    #[serde(default)]
    pub commands: Vec<String>,
    /// Commands that work on this machine, with placeholders filled from the live pod
    /// (`lesson::commands`): the player runs or copies the selected one.
    #[serde(default, rename = "try")]
    pub try_lines: Vec<String>,
    /// The same on a real cluster (kubectl), labelled so.
    #[serde(default)]
    pub cluster: Vec<String>,
    /// Shown one at a time when the learner asks, when the step fails, or by themselves on
    /// a condition or after a delay (`lesson::hint`).
    #[serde(default)]
    pub hints: Vec<Hint>,
    /// For the teacher: talking points and the questions students ask (presenter mode,
    /// `podlab lessons notes ID`).
    #[serde(default)]
    pub teacher_notes: Option<Text>,
    #[serde(default)]
    pub check: Option<Check>,
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    /// One sentence on what a real cluster does that podlab does not.
    #[serde(default)]
    pub simplified: Option<Text>,
    /// Schema 2: what the learner does while the step is shown (a step with tasks has no
    /// action of its own).
    #[serde(default)]
    pub tasks: Vec<TaskSpec>,
    /// Schema 2: a question asked before the step's action and graded after it.
    #[serde(default)]
    pub question: Option<QuestionSpec>,
}

/// hostPath directories below this prefix belong to lessons and are removed when a lesson
/// ends (a hostPath outlives its pod, which is the point of showing it, not of keeping it).
pub const LESSON_HOST_DIR_PREFIX: &str = "/tmp/podlab-lesson";

/// What a step does to the system before its check is polled.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Action {
    /// Nothing: the step explains or waits for its check.
    #[default]
    Read,
    /// Start the pod if needed and take its creation steps up to and including this engine
    /// step id (`cgroup`, `namespaces`, `pause`, `network`, `init:NAME`, `container:NAME`).
    RunTo(String),
    /// Start the pod if needed and take every remaining creation step.
    RunAll,
    /// Run a command in a container, wait for it (with the step's timeout) and show its output.
    Exec(ExecAction),
    /// Send a signal (`TERM`, `KILL`, `INT`, …) to a container's main process or to `pause`.
    Signal(SignalAction),
    /// Delete the pod (preStop, SIGTERM, grace period, SIGKILL); the time it took is kept for
    /// a `deleted` check.
    Delete(DeleteAction),
    /// Delete the pod and create it again from the same manifest (a new UID).
    Recreate,
    /// Wait this many seconds.
    Sleep(f64),
    /// Start the lesson's kubelet (`podlab kubelet --manifests DIR`). The lesson owns it: the
    /// kubelet, its pods and DIR are gone when the lesson ends.
    Kubelet(KubeletAction),
    /// Copy the step pod's manifest into the kubelet's directory under this file name.
    PutManifest(ManifestFileAction),
    /// Edit a manifest file of the kubelet's directory, as `sed -i 's/replace/with/'` does.
    EditManifest(EditManifestAction),
    /// Remove a manifest file from the kubelet's directory.
    RemoveManifest(ManifestFileAction),
    /// Edit the step pod's manifest (the learner's own copy, as the `m` key opens it) as
    /// `sed -i 's/replace/with/'` does, then delete and create the pod again from it, as
    /// `kubectl replace --force` does.
    ReplacePod(EditPodAction),
    /// Run the step's `try:` line with this index (from 0) on the host, filled, as the
    /// learner does with `x` or in another terminal; it must exit 0. What it starts in the
    /// background keeps running. Only in a lesson that `owns` what such lines make.
    TryLine(usize),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditPodAction {
    /// Text of the manifest to replace (every occurrence).
    pub replace: String,
    pub with: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletAction {
    /// The directory to watch (kubelet's staticPodPath); below `/tmp/podlab-lesson`.
    pub manifests: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManifestFileAction {
    /// A file name in the kubelet's directory, e.g. `static-web.yaml`.
    pub file: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EditManifestAction {
    pub file: String,
    /// Text of the file to replace (every occurrence).
    pub replace: String,
    pub with: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecAction {
    pub container: String,
    pub command: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignalAction {
    pub container: String,
    pub signal: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeleteAction {
    /// Seconds between SIGTERM and SIGKILL (default: the pod's terminationGracePeriodSeconds).
    #[serde(default)]
    pub grace_seconds: Option<i64>,
}

/// An assertion on the live system.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// Every check of the list passes.
    All(Vec<Check>),
    /// `a` and `b` are (or are not) in the same namespaces of these kinds.
    Namespace(NamespaceCheck),
    /// `a` and `b` see the same (or a different) pod IP on their non-loopback interfaces.
    Ip(IpCheck),
    /// An interface of `target`'s net namespace; with `ipv4: true`, it has an address.
    Interface(InterfaceCheck),
    /// A file inside a container.
    File(FileCheck),
    /// A file on the host (e.g. below a hostPath volume).
    HostFile(HostFileCheck),
    /// `wget` from a container to a URL.
    Http(HttpCheck),
    /// Run a command in a container and look at its exit code and output.
    Exec(ExecCheck),
    /// cgroup values of a container (or the pod, `target: pod`), in Kubernetes units.
    Cgroup(CgroupCheck),
    /// A container's state, reason, readiness and restarts as kubelet reports them.
    Container(ContainerCheck),
    /// An event of the pod, like `kubectl describe` lists.
    Event(EventCheck),
    /// The processes of `target`'s PID namespace.
    Processes(ProcessesCheck),
    /// One process: its comm, state, parent, binary size, start order.
    Process(ProcessCheck),
    /// A listening TCP socket of a container (an endpoint: pod IP + port).
    Listener(ListenerCheck),
    /// The pod's QoS class, phase, readiness and Kubernetes Namespace.
    Pod(PodCheck),
    /// What a container wrote to its stdout and stderr, as `podlab logs` (`kubectl logs`)
    /// shows it.
    Logs(LogsCheck),
    /// These containers ran one after another: each finished before the next started.
    RanInOrder(Vec<String>),
    /// Something about the pod changed (or not) since the end of an earlier step.
    Changed(ChangedCheck),
    /// The last `delete` action took between these many seconds.
    Deleted(DeletedCheck),
    /// The lesson's kubelet runs (and runs this many static pods).
    Kubelet(KubeletCheck),
    /// The step's pod runs as a static pod of the lesson's kubelet, under the name kubelet
    /// gives it (NAME-<node>), from a file of its directory.
    StaticPod(StaticPodCheck),
    /// What the learner made by hand, found by the lesson's `owns` prefix.
    Owned(OwnedCheck),
}

/// The learner's hand-made pod, found by the lesson's prefix. Every field set must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnedCheck {
    /// The cgroup named PREFIX exists below the root of every hierarchy podlab reads (one on
    /// cgroup v2; cpu, memory and pids on v1).
    #[serde(default)]
    pub cgroup: bool,
    /// Its pids.max holds this.
    #[serde(default)]
    pub pids_max: Option<u64>,
    /// A process holds new net, ipc, uts and pid namespaces, with PREFIX as host name: the
    /// PID 1 of that PID namespace (the holder, the pod's pause).
    #[serde(default)]
    pub holder: bool,
    /// The holder is in the PREFIX cgroup (in every hierarchy).
    #[serde(default)]
    pub in_cgroup: bool,
    /// The holder's net namespace has this interface (with an IPv4 address when `ipv4`).
    #[serde(default)]
    pub interface: Option<String>,
    #[serde(default)]
    pub ipv4: bool,
    /// At least this many processes outside the holder's process tree share its net, ipc
    /// and uts namespaces (containers that joined it).
    #[serde(default)]
    pub joined: Option<usize>,
    /// The host view (`podlab inspect --host`) groups them as a pod-shaped sandbox whose
    /// holder is the learner's.
    #[serde(default)]
    pub recognized: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KubeletCheck {
    #[serde(default)]
    pub pods: Option<usize>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticPodCheck {
    /// The manifest file (in the kubelet's directory) it runs from.
    #[serde(default)]
    pub file: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceCheck {
    pub a: String,
    pub b: String,
    pub kinds: Vec<NsKind>,
    pub same: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IpCheck {
    pub a: String,
    pub b: String,
    pub same: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterfaceCheck {
    pub target: String,
    pub name: String,
    #[serde(default)]
    pub ipv4: Option<bool>,
    /// true: the net namespace has no interface of that name (yet).
    #[serde(default)]
    pub absent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileCheck {
    pub container: String,
    pub path: String,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub equals: Option<String>,
    /// true: the file must not exist.
    #[serde(default)]
    pub absent: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HostFileCheck {
    pub path: String,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub absent: bool,
    /// Whether its owner on the host is root (uid 0): a file a container wrote, or
    /// `/proc/<pid>`, which belongs to the process's user.
    #[serde(default)]
    pub root_owned: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub from: String,
    pub url: String,
    #[serde(default)]
    pub contains: Option<String>,
    /// true: the request must fail (nothing listens, or the server errs).
    #[serde(default)]
    pub fails: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecCheck {
    pub container: String,
    pub command: Vec<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// true: any exit code but 0.
    #[serde(default)]
    pub fails: bool,
    /// Text expected in stdout or stderr.
    #[serde(default)]
    pub output_contains: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CgroupCheck {
    /// A container, or `pod` for the pod-level cgroup.
    pub target: String,
    /// CPU request (e.g. `100m`), as read back from cpu.shares / cpu.weight.
    #[serde(default)]
    pub cpu_request: Option<String>,
    /// CPU limit (e.g. `250m`) from the CFS quota, or `none`.
    #[serde(default)]
    pub cpu_limit: Option<String>,
    /// Memory limit (e.g. `128Mi`), or `none`.
    #[serde(default)]
    pub memory_limit: Option<String>,
    /// true: the CFS scheduler has throttled the group at least once.
    #[serde(default)]
    pub throttled: Option<bool>,
    /// true: the group is being throttled now (its throttle count grows while the check
    /// watches a few periods), whatever it counted before: a task's check that a learner's
    /// busy loop hits the limit.
    #[serde(default)]
    pub throttling: Option<bool>,
    /// The tasks (processes and threads) in the cgroup and below it, as `pids.current`
    /// counts them: 0 for a pod cgroup before pause.
    #[serde(default)]
    pub tasks: Option<u64>,
}

impl CgroupCheck {
    /// It reads a value kubelet wrote (a request or limit) or the throttle counters, which
    /// only an enforcing cgroup has; `tasks` alone asks only who is in it.
    pub fn reads_values(&self) -> bool {
        self.cpu_request.is_some()
            || self.cpu_limit.is_some()
            || self.memory_limit.is_some()
            || self.throttled.is_some()
            || self.throttling.is_some()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContainerCheck {
    pub name: String,
    /// `running`, `waiting` or `terminated`.
    #[serde(default)]
    pub state: Option<StateName>,
    /// The reason of the current state (or of the last one, with `last: true`).
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub exit_code: Option<i32>,
    /// Look at the last termination (`lastState`) instead of the current state.
    #[serde(default)]
    pub last: bool,
    #[serde(default)]
    pub ready: Option<bool>,
    #[serde(default)]
    pub restarts: Option<u32>,
    #[serde(default)]
    pub restarts_at_least: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StateName {
    Running,
    Waiting,
    Terminated,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCheck {
    pub reason: String,
    #[serde(default)]
    pub message_contains: Option<String>,
    /// The container the event is about (its field path, `spec.containers{NAME}` or
    /// `spec.initContainers{NAME}`): since 1.35 kubelet's messages no longer name it.
    #[serde(default)]
    pub container: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessesCheck {
    /// Whose PID namespace.
    pub target: String,
    #[serde(default)]
    pub count_at_least: Option<usize>,
    #[serde(default)]
    pub count_at_most: Option<usize>,
    /// The comm of PID 1 of that namespace.
    #[serde(default)]
    pub pid1: Option<String>,
    #[serde(default)]
    pub zombies: Option<usize>,
    /// A process with this comm is (or with `present: false`, is not) in the namespace.
    #[serde(default)]
    pub has: Option<String>,
    #[serde(default = "yes")]
    pub present: bool,
    /// With `has`: only processes whose parent has this comm count.
    #[serde(default)]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProcessCheck {
    /// A container's main process, or `pause`.
    pub target: String,
    #[serde(default)]
    pub comm: Option<String>,
    /// The state letters allowed (e.g. `S`).
    #[serde(default)]
    pub state: Option<String>,
    /// The comm of its parent process.
    #[serde(default)]
    pub parent: Option<String>,
    /// Its executable is at most this many bytes.
    #[serde(default)]
    pub max_binary_bytes: Option<u64>,
    /// It started before this other process.
    #[serde(default)]
    pub started_before: Option<String>,
    /// It used at most this much CPU time (user + system) since it started.
    #[serde(default)]
    pub max_cpu_seconds: Option<f64>,
    /// The host name of its uts namespace.
    #[serde(default)]
    pub hostname: Option<String>,
    /// The kernel function it sleeps in (`/proc/PID/wchan`) contains this, e.g. `pause` for
    /// a process sitting in pause(2) (`__do_sys_pause`, or `sys_pause` on older kernels).
    #[serde(default)]
    pub wchan: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerCheck {
    pub container: String,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PodCheck {
    #[serde(default)]
    pub qos_class: Option<String>,
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub ready: Option<bool>,
    /// true: the pod no longer exists.
    #[serde(default)]
    pub gone: bool,
    /// Its Kubernetes Namespace (`metadata.namespace`, `default` when the manifest has none):
    /// a name in the API, not a Linux namespace.
    #[serde(default)]
    pub namespace: Option<String>,
    /// true: a scheduler would place the pod on this node (its effective request fits the
    /// node's allocatable); false: kube-scheduler would leave it Pending (podlab runs it).
    #[serde(default)]
    pub fits_node: Option<bool>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogsCheck {
    pub container: String,
    /// Text expected in the log.
    pub contains: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChangedCheck {
    pub what: Fingerprint,
    /// The step at whose end the earlier value was taken.
    pub since: String,
    pub changed: bool,
}

/// A property of a pod that a [`ChangedCheck`] compares across steps.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Fingerprint {
    Uid,
    Ip,
    /// The pause process (pid and start time).
    Pause,
    /// pause's namespace of this kind.
    Namespace(NsKind),
    /// The main process of this container (pid and start time).
    Container(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeletedCheck {
    #[serde(default)]
    pub min_seconds: Option<f64>,
    #[serde(default)]
    pub max_seconds: Option<f64>,
}

impl Check {
    /// This check and the ones it contains.
    pub fn flatten(&self) -> Vec<&Check> {
        match self {
            Check::All(checks) => checks.iter().flat_map(Check::flatten).collect(),
            other => vec![other],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_owned_prefix_is_podlab_s_and_fits_an_interface_name() {
        let problem = |p: &str| {
            Owns {
                prefix: p.to_string(),
            }
            .problem()
        };
        assert_eq!(problem("podlab-hand"), None);
        assert_eq!(problem("podlab-hand-22"), None);
        assert!(problem("hand").is_some(), "not podlab's");
        assert!(problem("podlab-").is_some(), "nothing after podlab-");
        assert!(
            problem("podlab-hand-made").is_some(),
            "too long for an interface"
        );
        assert!(problem("podlab-Hand").is_some(), "upper case");
    }
}
