//! Evaluating a step's check once against the live system.
//!
//! Namespaces, addresses, listeners, processes and cgroups come from the observe snapshot of
//! the pod (the same data the panels show); container states and events from the pod's
//! state.json (what `kubectl describe` shows); files and HTTP from a command run inside the
//! container. Every result says what was found, in English and Chinese.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::Duration;

use crate::i18n::Text;
use crate::kube::namespaces::SandboxNamespaces;
use crate::kube::pod_state::{
    describe_state, describe_state_zh, ContainerState, PodState, ProcessRef,
};
use crate::kube::resources::{
    milli_cpu_to_shares, WeightFormula, KUBELET_WEIGHT_FORMULA, WEIGHT_FORMULA_IN_USE,
};
use crate::observe::procfs_read::{read_stat, ProcDir};
use crate::observe::{
    CgroupInfo, Collector, ContainerView, Limit, NsId, NsKind, ProcessInfo, Sandbox, Snapshot,
    Target,
};
use crate::runtime::{lookup, paths, state_file};
use crate::spec::Quantity;

use super::exec::{exec_in, ExecOutput};
use super::fill::fill_check;
use super::kubelet::KubeletView;
use super::outcome::CheckResult;
use super::pace::Pace;
use super::refs::{Ref, Who};
use super::schema::*;

/// What a pod looked like at the end of a step, for `changed` checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PodMark {
    pub uid: String,
    pub ip: Option<String>,
    pub pause: Option<ProcessRef>,
    pub namespaces: BTreeMap<NsKind, u64>,
    pub containers: BTreeMap<String, ProcessRef>,
}

impl PodMark {
    pub fn of(state: &PodState) -> PodMark {
        let pause = state.sandbox.as_ref().map(|s| s.pause);
        let mut namespaces = BTreeMap::new();
        if let Some(dir) = pause.and_then(|p| ProcDir::open(Path::new("/proc"), p.pid).ok()) {
            for kind in SandboxNamespaces::HELD.map(NsKind::from) {
                if let Ok(id) = dir.namespace(kind) {
                    namespaces.insert(kind, id.inode);
                }
            }
        }
        PodMark {
            uid: state.uid.clone(),
            ip: state.sandbox.as_ref().and_then(|s| s.ip.clone()),
            pause,
            namespaces,
            containers: state
                .containers
                .iter()
                .filter_map(|c| c.process.map(|p| (c.name.clone(), p)))
                .collect(),
        }
    }

    fn value(&self, what: &Fingerprint) -> String {
        match what {
            Fingerprint::Uid => self.uid.clone(),
            Fingerprint::Ip => self.ip.clone().unwrap_or_default(),
            Fingerprint::Pause => show_process(self.pause.as_ref()),
            Fingerprint::Namespace(kind) => self
                .namespaces
                .get(kind)
                .map_or("-".into(), |ino| format!("{}:[{ino}]", kind.file_name())),
            Fingerprint::Container(name) => show_process(self.containers.get(name)),
        }
    }
}

/// A process as "pid N" (its start time tells a re-used pid apart, so it is compared too).
fn show_process(process: Option<&ProcessRef>) -> String {
    process.map_or("-".into(), |p| {
        format!("pid {} (start {})", p.pid, p.start_time)
    })
}

/// Everything a check may look at, read lazily and at most once per evaluation.
pub(crate) struct World<'r> {
    pub collector: &'r mut Collector,
    /// Live pods of the lesson: name → UID.
    pub uids: &'r HashMap<String, String>,
    /// Marks taken at the end of each finished step: step id → pod name → mark.
    pub marks: &'r HashMap<String, HashMap<String, PodMark>>,
    /// Static pods: name → the name kubelet runs it under.
    pub live_names: &'r HashMap<String, String>,
    pub last_delete: Option<Duration>,
    /// The lesson's kubelet, if one was started.
    pub kubelet: Option<KubeletView>,
    pub podlab_exe: &'r Path,
    pub exec_timeout: Duration,
    /// What the lesson owns by prefix (the learner's hand-made pod), if anything.
    pub owns: Option<Owns>,
    states: HashMap<String, Option<PodState>>,
    snapshots: HashMap<String, Result<Snapshot, String>>,
}

impl<'r> World<'r> {
    pub fn new(
        collector: &'r mut Collector,
        uids: &'r HashMap<String, String>,
        marks: &'r HashMap<String, HashMap<String, PodMark>>,
        live_names: &'r HashMap<String, String>,
        podlab_exe: &'r Path,
        exec_timeout: Duration,
    ) -> World<'r> {
        World {
            collector,
            uids,
            marks,
            live_names,
            last_delete: None,
            kubelet: None,
            podlab_exe,
            exec_timeout,
            owns: None,
            states: HashMap::new(),
            snapshots: HashMap::new(),
        }
    }

    /// Why the pod has no cgroup at all: built without root where no cgroup subtree is
    /// delegated (its processes then stay in the learner's own cgroup, which is not the pod's).
    pub fn no_cgroup_made(&mut self, pod: &str) -> Option<Text> {
        self.state(pod)?.rootless?.limits_not_enforced
    }

    /// The pod's state.json, if its shim is alive.
    pub fn state(&mut self, pod: &str) -> Option<PodState> {
        if !self.states.contains_key(pod) {
            let state = self.uids.get(pod).and_then(|uid| {
                if !lookup::shim_alive(uid) {
                    return None;
                }
                state_file::read(&paths::state_file(uid)).ok()
            });
            self.states.insert(pod.to_string(), state);
        }
        self.states.get(pod).cloned().flatten()
    }

    pub(crate) fn snapshot(&mut self, pod: &str) -> Result<Snapshot, CheckResult> {
        if !self.snapshots.contains_key(pod) {
            let result = match self.uids.get(pod) {
                None => Err(format!("pod {pod} is not running")),
                Some(uid) => self
                    .collector
                    .snapshot(&Target::Pod(uid.clone()))
                    .map_err(|e| format!("{e:#}")),
            };
            self.snapshots.insert(pod.to_string(), result);
        }
        match self.snapshots.get(pod) {
            Some(Ok(s)) => Ok(s.clone()),
            Some(Err(e)) => Err(CheckResult::fail(
                format!("cannot observe pod {pod}: {e}"),
                format!("无法观察 Pod {pod}：{e}"),
            )),
            None => Err(not_running(pod)),
        }
    }

    fn exec(
        &mut self,
        pod: &str,
        container: &str,
        argv: &[String],
    ) -> Result<ExecOutput, CheckResult> {
        let pod = self.live_names.get(pod).map_or(pod, String::as_str);
        exec_in(self.podlab_exe, pod, container, argv, self.exec_timeout).map_err(|e| {
            CheckResult::fail(
                format!("cannot run a command in {container}: {e:#}"),
                format!("无法在 {container} 中运行命令：{e:#}"),
            )
        })
    }
}

/// The container a reference names, or why it names none.
fn container_name(r: &Ref) -> Result<&str, CheckResult> {
    match &r.who {
        Who::Container(name) => Ok(name),
        _ => Err(CheckResult::fail(
            format!("{r} is not a container"),
            format!("{r} 不是容器"),
        )),
    }
}

fn not_running(pod: &str) -> CheckResult {
    CheckResult::fail(
        format!("pod {pod} is not running"),
        format!("Pod {pod} 没有在运行"),
    )
}

/// Evaluate `check` once; refs without a pod prefix are about `pod`.
pub(crate) fn evaluate(check: &Check, world: &mut World<'_>, pod: &str) -> CheckResult {
    match fill_check(check, world, pod) {
        None => evaluate_filled(check, world, pod),
        Some(Ok(filled)) => evaluate_filled(&filled, world, pod),
        Some(Err(why)) => CheckResult::fail(why.en, why.zh),
    }
}

/// Evaluate a check whose placeholders are filled.
fn evaluate_filled(check: &Check, world: &mut World<'_>, pod: &str) -> CheckResult {
    let outcome = match check {
        Check::All(checks) => return all(checks, world, pod),
        Check::Namespace(c) => namespace(c, world, pod),
        Check::Ip(c) => ip(c, world, pod),
        Check::Interface(c) => interface(c, world, pod),
        Check::File(c) => file(c, world, pod),
        Check::HostFile(c) => Ok(host_file(c)),
        Check::Http(c) => http(c, world, pod),
        Check::Exec(c) => exec_check(c, world, pod),
        Check::Cgroup(c) => cgroup(c, world, pod),
        Check::Container(c) => container(c, world, pod),
        Check::Event(c) => event(c, world, pod),
        Check::Processes(c) => processes(c, world, pod),
        Check::Process(c) => process(c, world, pod),
        Check::Listener(c) => listener(c, world, pod),
        Check::Pod(c) => Ok(pod_check(c, world, pod)),
        Check::Logs(c) => logs(c, world, pod),
        Check::RanInOrder(names) => ran_in_order(names, world, pod),
        Check::Changed(c) => changed(c, world, pod),
        Check::Deleted(c) => Ok(deleted(c, world.last_delete)),
        Check::Kubelet(c) => kubelet(c, world),
        Check::StaticPod(c) => static_pod(c, world, pod),
        Check::Owned(c) => Ok(match &world.owns {
            Some(owns) => super::owned::check(owns, c),
            None => CheckResult::fail(
                "this lesson owns no prefix (owns:)",
                "这一课没有声明 owns 前缀",
            ),
        }),
    };
    outcome.unwrap_or_else(|failure| failure)
}

fn all(checks: &[Check], world: &mut World<'_>, pod: &str) -> CheckResult {
    let mut en = Vec::new();
    let mut zh = Vec::new();
    for check in checks {
        let r = evaluate(check, world, pod);
        if !r.passed {
            return r;
        }
        en.push(r.message.en);
        zh.push(r.message.zh);
    }
    CheckResult::pass(en.join("\n"), zh.join("\n"))
}

type Outcome = Result<CheckResult, CheckResult>;

/// The sandbox of a pod's snapshot.
fn sandbox<'s>(snapshot: &'s Snapshot, pod: &str) -> Result<&'s Sandbox, CheckResult> {
    snapshot.sandboxes.first().ok_or_else(|| not_running(pod))
}

fn container_view<'s>(sandbox: &'s Sandbox, name: &str) -> Result<&'s ContainerView, CheckResult> {
    sandbox
        .containers
        .iter()
        .find(|c| c.name == name && !c.is_pause)
        .ok_or_else(|| {
            CheckResult::fail(
                format!("container {name} has no running process"),
                format!("容器 {name} 没有正在运行的进程"),
            )
        })
}

/// The host PID of a subject (pause or a container's main process).
pub(crate) fn subject_pid(snapshot: &Snapshot, r: &Ref) -> Result<i32, CheckResult> {
    let sb = sandbox(snapshot, &r.pod)?;
    let pid = match &r.who {
        Who::Pause => sb.pause,
        Who::Container(name) => container_view(sb, name)?.main_pid,
        // The shim runs in the node's namespaces (its mount namespace aside).
        Who::Node => sb.shim,
        Who::Host | Who::Pod => None,
    };
    pid.ok_or_else(|| {
        CheckResult::fail(
            format!("{r} has no running process"),
            format!("{r} 没有正在运行的进程"),
        )
    })
}

fn process_info(snapshot: &Snapshot, pid: i32) -> Option<&ProcessInfo> {
    snapshot.processes.iter().find(|p| p.pid == pid)
}

pub(super) fn namespaces_of(
    world: &mut World<'_>,
    r: &Ref,
) -> Result<BTreeMap<NsKind, NsId>, CheckResult> {
    let snapshot = world.snapshot(&r.pod)?;
    if r.who == Who::Host {
        return Ok(snapshot.host.namespaces.clone());
    }
    let pid = subject_pid(&snapshot, r)?;
    process_info(&snapshot, pid)
        .map(|p| p.namespaces.clone())
        .ok_or_else(|| {
            CheckResult::fail(
                format!("the process of {r} (pid {pid}) could not be read"),
                format!("无法读取 {r} 的进程（pid {pid}）"),
            )
        })
}

fn namespace(c: &NamespaceCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let a = Ref::parse(&c.a, pod);
    let b = Ref::parse(&c.b, pod);
    let ns_a = namespaces_of(world, &a)?;
    let ns_b = namespaces_of(world, &b)?;
    let mut found = Vec::new();
    for kind in &c.kinds {
        let (Some(x), Some(y)) = (ns_a.get(kind), ns_b.get(kind)) else {
            return Err(CheckResult::fail(
                format!(
                    "the {} namespace of {a} or {b} could not be read",
                    kind.file_name()
                ),
                format!("无法读取 {a} 或 {b} 的 {} 命名空间", kind.file_name()),
            ));
        };
        let same = x.same_as(y);
        found.push(format!("{}:[{}]/[{}]", kind.file_name(), x.inode, y.inode));
        if same != c.same {
            let (en, zh) = if same {
                ("the same", "相同的")
            } else {
                ("different", "不同的")
            };
            return Err(CheckResult::fail(
                format!(
                    "{a} and {b} are in {en} {} namespaces ({} / {})",
                    kind.file_name(),
                    x.inode,
                    y.inode
                ),
                format!(
                    "{a} 和 {b} 处在{zh} {} 命名空间（{} / {}）",
                    kind.file_name(),
                    x.inode,
                    y.inode
                ),
            ));
        }
    }
    let (en, zh) = if c.same {
        ("share", "共享")
    } else {
        ("do not share", "不共享")
    };
    Ok(CheckResult::pass(
        format!("{a} and {b} {en}: {}", found.join(" ")),
        format!("{a} 和 {b} {zh}：{}", found.join(" ")),
    ))
}

/// The IPv4 addresses of the non-loopback interfaces in a subject's net namespace.
fn addresses(world: &mut World<'_>, r: &Ref) -> Result<Vec<String>, CheckResult> {
    let snapshot = world.snapshot(&r.pod)?;
    let pid = subject_pid(&snapshot, r)?;
    let net = process_info(&snapshot, pid).and_then(|p| p.namespaces.get(&NsKind::Net).copied());
    let netns = net.and_then(|id| snapshot.networks.iter().find(|n| n.id.same_as(&id)));
    let Some(netns) = netns else {
        return Err(CheckResult::fail(
            format!("the network of {r} could not be read"),
            format!("无法读取 {r} 的网络"),
        ));
    };
    Ok(netns
        .interfaces
        .iter()
        .filter(|i| i.name != "lo")
        .flat_map(|i| i.ipv4.iter().cloned())
        .collect())
}

fn ip(c: &IpCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let a = Ref::parse(&c.a, pod);
    let b = Ref::parse(&c.b, pod);
    let ips_a = addresses(world, &a)?;
    let ips_b = addresses(world, &b)?;
    if ips_a.is_empty() || ips_b.is_empty() {
        return Err(CheckResult::fail(
            format!("no pod IP yet: {a} has {ips_a:?}, {b} has {ips_b:?}"),
            format!(
                "还没有 Pod IP：{a} 有 {}，{b} 有 {}",
                listed_zh(&ips_a),
                listed_zh(&ips_b)
            ),
        ));
    }
    let same = ips_a == ips_b;
    let shown = format!("{} / {}", ips_a.join(","), ips_b.join(","));
    if same == c.same {
        let (en, zh) = if same {
            ("the same IP", "同一个 IP")
        } else {
            ("different IPs", "不同的 IP")
        };
        Ok(CheckResult::pass(
            format!("{a} and {b} have {en}: {shown}"),
            format!("{a} 和 {b} 有{zh}：{shown}"),
        ))
    } else {
        let (en, zh) = if same {
            ("the same IP", "同一个 IP")
        } else {
            ("different IPs", "不同的 IP")
        };
        Err(CheckResult::fail(
            format!("{a} and {b} have {en}: {shown}"),
            format!("{a} 和 {b} 有{zh}：{shown}"),
        ))
    }
}

fn interface(c: &InterfaceCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let r = Ref::parse(&c.target, pod);
    let snapshot = world.snapshot(&r.pod)?;
    let pid = subject_pid(&snapshot, &r)?;
    let net = process_info(&snapshot, pid).and_then(|p| p.namespaces.get(&NsKind::Net).copied());
    let network = net.and_then(|id| snapshot.networks.iter().find(|n| n.id.same_as(&id)));
    let iface = network.and_then(|n| n.interfaces.iter().find(|i| i.name == c.name));
    if c.absent {
        let Some(network) = network else {
            return Err(CheckResult::fail(
                format!("the net namespace of {r} could not be read"),
                format!("无法读取 {r} 的网络命名空间"),
            ));
        };
        let names: Vec<String> = network.interfaces.iter().map(|i| i.name.clone()).collect();
        return match iface {
            None => Ok(CheckResult::pass(
                format!("{r} has no {}, only {}", c.name, names.join(",")),
                format!("{r} 还没有网卡 {}，只有{}", c.name, listed_zh(&names)),
            )),
            Some(_) => Err(CheckResult::fail(
                format!("{r} already has {}", c.name),
                format!("{r} 已经有网卡 {}", c.name),
            )),
        };
    }
    let Some(iface) = iface else {
        return Err(CheckResult::fail(
            format!("{r} has no interface {}", c.name),
            format!("{r} 没有网卡 {}", c.name),
        ));
    };
    if let Some(want) = c.ipv4 {
        if want == iface.ipv4.is_empty() {
            return Err(CheckResult::fail(
                format!("{} of {r} has addresses {:?}", c.name, iface.ipv4),
                format!("{r} 的 {} 的地址是 {}", c.name, listed_zh(&iface.ipv4)),
            ));
        }
    }
    Ok(CheckResult::pass(
        format!("{r} has {} {}", c.name, iface.ipv4.join(",")),
        format!("{r} 有网卡 {} {}", c.name, iface.ipv4.join(",")),
    ))
}

fn exec_subject(
    world: &mut World<'_>,
    text: &str,
    pod: &str,
    argv: &[String],
) -> Result<(Ref, ExecOutput), CheckResult> {
    let r = Ref::parse(text, pod);
    let name = container_name(&r)?.to_string();
    let pod_name = r.pod.clone();
    let out = world.exec(&pod_name, &name, argv)?;
    Ok((r, out))
}

fn first_line(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or("").trim();
    line.chars().take(60).collect()
}

fn file(c: &FileCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let argv = vec!["cat".to_string(), c.path.clone()];
    let (r, out) = exec_subject(world, &c.container, pod, &argv)?;
    if c.absent {
        return if out.succeeded() {
            Err(CheckResult::fail(
                format!("{} still exists in {r}", c.path),
                format!("{r} 中的 {} 还存在", c.path),
            ))
        } else {
            Ok(CheckResult::pass(
                format!("{} does not exist in {r}", c.path),
                format!("{r} 中没有 {}", c.path),
            ))
        };
    }
    if !out.succeeded() {
        return Err(CheckResult::fail(
            format!("cannot read {} in {r}: {}", c.path, first_line(&out.output)),
            format!("无法读取 {r} 中的 {}：{}", c.path, first_line(&out.output)),
        ));
    }
    let content = out.output.trim_end_matches('\n');
    let ok = c
        .equals
        .as_ref()
        .is_none_or(|e| content == e.trim_end_matches('\n'))
        && c.contains
            .as_ref()
            .is_none_or(|s| content.contains(s.as_str()));
    let shown = first_line(content);
    if ok {
        Ok(CheckResult::pass(
            format!("{} in {r}: {shown}", c.path),
            format!("{r} 中的 {}：{shown}", c.path),
        ))
    } else {
        Err(CheckResult::fail(
            format!("{} in {r} holds {shown:?}", c.path),
            format!("{r} 中的 {} 内容是「{shown}」", c.path),
        ))
    }
}

fn host_file(c: &HostFileCheck) -> CheckResult {
    if let (Some(want), false) = (c.root_owned, c.absent) {
        let uid = match host_owner(&c.path) {
            Ok(uid) => uid,
            Err(failed) => return failed,
        };
        if (uid == 0) != want {
            return CheckResult::fail(
                format!("{} is owned by uid {uid} on the host", c.path),
                format!("宿主机上 {} 的所有者是 uid {uid}", c.path),
            );
        }
        if c.contains.is_none() {
            return CheckResult::pass(
                format!("{} is owned by uid {uid} on the host", c.path),
                format!("宿主机上 {} 的所有者是 uid {uid}", c.path),
            );
        }
    }
    let content = std::fs::read_to_string(&c.path);
    match (content, c.absent) {
        (Err(_), true) => CheckResult::pass(
            format!("{} does not exist on the host", c.path),
            format!("宿主机上没有 {}", c.path),
        ),
        (Ok(_), true) => CheckResult::fail(
            format!("{} still exists on the host", c.path),
            format!("宿主机上的 {} 还存在", c.path),
        ),
        (Err(e), false) => CheckResult::fail(
            format!("cannot read {} on the host: {e}", c.path),
            format!("无法读取宿主机上的 {}：{e}", c.path),
        ),
        (Ok(text), false) => {
            let shown = first_line(&text);
            if c.contains
                .as_ref()
                .is_none_or(|s| text.contains(s.as_str()))
            {
                CheckResult::pass(
                    format!("{} on the host: {shown}", c.path),
                    format!("宿主机上的 {}：{shown}", c.path),
                )
            } else {
                CheckResult::fail(
                    format!("{} on the host holds {shown:?}", c.path),
                    format!("宿主机上的 {} 内容是「{shown}」", c.path),
                )
            }
        }
    }
}

/// The uid that owns `path` on the host.
fn host_owner(path: &str) -> Result<u32, CheckResult> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path).map(|m| m.uid()).map_err(|e| {
        CheckResult::fail(
            format!("cannot read {path} on the host: {e}"),
            format!("无法读取宿主机上的 {path}：{e}"),
        )
    })
}

fn http(c: &HttpCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    // No -T: busybox 1.35's wget crashes with it; the exec deadline bounds the wait instead.
    let argv: Vec<String> = ["wget", "-q", "-O", "-", &c.url]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let (r, out) = exec_subject(world, &c.from, pod, &argv)?;
    let shown = first_line(&out.output);
    match (out.succeeded(), c.fails) {
        (false, true) => Ok(CheckResult::pass(
            format!("from {r}, {} does not answer: {shown}", c.url),
            format!("从 {r} 访问 {} 没有回应：{shown}", c.url),
        )),
        (true, true) => Err(CheckResult::fail(
            format!("from {r}, {} answers: {shown}", c.url),
            format!("从 {r} 访问 {} 有回应：{shown}", c.url),
        )),
        (false, false) => Err(CheckResult::fail(
            format!("from {r}, {} fails: {shown}", c.url),
            format!("从 {r} 访问 {} 失败：{shown}", c.url),
        )),
        (true, false) => {
            if c.contains
                .as_ref()
                .is_none_or(|s| out.output.contains(s.as_str()))
            {
                Ok(CheckResult::pass(
                    format!("from {r}, {} answers: {shown}", c.url),
                    format!("从 {r} 访问 {} 得到：{shown}", c.url),
                ))
            } else {
                Err(CheckResult::fail(
                    format!("from {r}, {} answers {shown:?}", c.url),
                    format!("从 {r} 访问 {} 得到「{shown}」", c.url),
                ))
            }
        }
    }
}

fn exec_check(c: &ExecCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let (r, out) = exec_subject(world, &c.container, pod, &c.command)?;
    let code = out.exit_code;
    let shown = first_line(&out.output);
    let code_ok = match (c.exit_code, c.fails) {
        (Some(want), _) => code == Some(want),
        (None, true) => code.is_some_and(|c| c != 0),
        (None, false) => code == Some(0),
    };
    let text_ok = c
        .output_contains
        .as_ref()
        .is_none_or(|s| out.output.contains(s.as_str()));
    let command = c.command.join(" ");
    let code_text = code.map_or("killed at the deadline".to_string(), |c| {
        format!("exit {c}")
    });
    let code_zh = code.map_or("超时被杀".to_string(), |c| format!("退出码 {c}"));
    if code_ok && text_ok {
        Ok(CheckResult::pass(
            format!("{command} in {r}: {code_text}: {shown}"),
            format!("在 {r} 中运行 {command}：{code_zh}：{shown}"),
        ))
    } else {
        Err(CheckResult::fail(
            format!("{command} in {r}: {code_text}: {shown}"),
            format!("在 {r} 中运行 {command}：{code_zh}：{shown}"),
        ))
    }
}

/// A quantity as the cgroup check compares it: millicores or bytes; `none` is no limit.
fn expected_limit(text: &str, cpu: bool) -> Option<Limit> {
    if text == "none" {
        return Some(Limit::Unlimited);
    }
    let q = Quantity::parse(text).ok()?;
    let v = if cpu { q.milli_value() } else { q.value() };
    u64::try_from(v).ok().map(Limit::Value)
}

/// Whether the cgroup holds the CPU request `want` (millicores), compared where the kernel
/// keeps it: `cpu.shares` on v1, `cpu.weight` on v2 (where several requests give one weight,
/// so the request cannot be read back exactly, only its weight).
/// `formula`: who wrote the weight (kubelet on the pod cgroup, runc on a leaf).
fn cpu_request_matches(info: &CgroupInfo, want: Option<Limit>, formula: WeightFormula) -> bool {
    let Some(Limit::Value(want)) = want else {
        return false;
    };
    let shares = milli_cpu_to_shares(i64::try_from(want).unwrap_or(i64::MAX));
    match (info.cpu_weight, info.cpu_shares) {
        (Some(weight), _) => formula.shares_to_weight(shares) == weight,
        (None, Some(read)) => read == shares,
        (None, None) => false,
    }
}

fn show_limit(limit: Option<Limit>, cpu: bool) -> String {
    match limit {
        None => "?".into(),
        Some(Limit::Unlimited) => "none".into(),
        Some(Limit::Value(v)) if cpu => format!("{v}m"),
        Some(Limit::Value(v)) if v % (1024 * 1024) == 0 => format!("{}Mi", v / (1024 * 1024)),
        Some(Limit::Value(v)) => format!("{v}"),
    }
}

/// The cgroup values of a container, pause or the pod, as one snapshot read them.
fn cgroup_info(snapshot: &Snapshot, r: &Ref) -> Result<Option<CgroupInfo>, CheckResult> {
    let sb = sandbox(snapshot, &r.pod)?;
    Ok(match &r.who {
        Who::Pod => sb.cgroup.clone(),
        Who::Pause => sb
            .containers
            .iter()
            .find(|c| c.is_pause)
            .and_then(|c| c.cgroup.clone()),
        Who::Container(name) => container_view(sb, name)?.cgroup.clone(),
        Who::Host | Who::Node => None,
    })
}

/// How long `throttling` watches the throttle counter: a few CFS periods of 100 ms.
const THROTTLING_WATCH: Duration = Duration::from_millis(350);

/// Periods throttled while [`THROTTLING_WATCH`] went by: a fresh snapshot after the first.
fn throttled_meanwhile(world: &mut World<'_>, r: &Ref, first: &CgroupInfo) -> Option<u64> {
    std::thread::sleep(THROTTLING_WATCH);
    let uid = world.uids.get(&r.pod)?.clone();
    let later = world.collector.snapshot(&Target::Pod(uid)).ok()?;
    let now = cgroup_info(&later, r).ok()??.nr_throttled?;
    Some(now.saturating_sub(first.nr_throttled?))
}

fn cgroup(c: &CgroupCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let r = Ref::parse(&c.target, pod);
    let snapshot = world.snapshot(&r.pod)?;
    let info = cgroup_info(&snapshot, &r)?;
    let not_made = world.no_cgroup_made(&r.pod);
    let Some(info) = info.filter(|_| not_made.is_none()) else {
        return no_cgroup(c, not_made, &r);
    };
    // What was read, in both languages; the first value not as expected.
    let mut seen = Vec::new();
    let mut seen_zh = Vec::new();
    let mut wrong: Option<(String, String)> = None;
    if let Some(want) = &c.cpu_request {
        let got = info.cpu_request_millis;
        let shown = got.map_or("?".into(), |m| format!("{m}m"));
        seen.push(format!("cpu request {shown}"));
        seen_zh.push(format!("CPU 请求 {shown}"));
        let want_m = expected_limit(want, true);
        let formula = match r.who {
            Who::Pod => KUBELET_WEIGHT_FORMULA,
            _ => WEIGHT_FORMULA_IN_USE,
        };
        if !cpu_request_matches(&info, want_m, formula) {
            wrong.get_or_insert((format!("cpu request {want}"), format!("CPU 请求 {want}")));
        }
    }
    if let Some(want) = &c.cpu_limit {
        let got = info.cpu_limit_millis;
        let shown = show_limit(got, true);
        seen.push(format!("cpu limit {shown}"));
        seen_zh.push(format!("CPU 上限 {}", zh_none(&shown)));
        if got != expected_limit(want, true) {
            wrong.get_or_insert((format!("cpu limit {want}"), format!("CPU 上限 {want}")));
        }
    }
    if let Some(want) = &c.memory_limit {
        let got = info.memory_limit;
        let shown = show_limit(got, false);
        seen.push(format!("memory limit {shown}"));
        seen_zh.push(format!("内存上限 {}", zh_none(&shown)));
        // v1 writes "no limit" as a huge page-rounded number.
        let got = match got {
            Some(Limit::Value(v)) if v >= i64::MAX as u64 / 2 => Some(Limit::Unlimited),
            other => other,
        };
        if got != expected_limit(want, false) {
            wrong.get_or_insert((format!("memory limit {want}"), format!("内存上限 {want}")));
        }
    }
    if let Some(want) = c.throttled {
        let n = info.nr_throttled.unwrap_or(0);
        seen.push(format!("throttled {n} times"));
        seen_zh.push(format!("被限流 {n} 次"));
        if (n > 0) != want {
            wrong.get_or_insert(if want {
                ("throttling".into(), "发生限流".into())
            } else {
                ("no throttling".into(), "没有限流".into())
            });
        }
    }
    if let Some(want) = c.throttling {
        let n = throttled_meanwhile(world, &r, &info).unwrap_or(0);
        let ms = THROTTLING_WATCH.as_millis();
        seen.push(format!("throttled in {n} periods of the last {ms} ms"));
        seen_zh.push(format!("最近 {ms} 毫秒里有 {n} 个周期被限流"));
        if (n > 0) != want {
            wrong.get_or_insert(if want {
                ("throttling now".into(), "正在被限流".into())
            } else {
                ("no throttling now".into(), "现在没有被限流".into())
            });
        }
    }
    if let Some(want) = c.tasks {
        let shown = info.pids_current.map_or("?".into(), |n| n.to_string());
        seen.push(format!("{shown} tasks (pids.current)"));
        seen_zh.push(format!("{shown} 个任务（pids.current）"));
        if info.pids_current != Some(want) {
            wrong.get_or_insert((format!("{want} tasks"), format!("{want} 个任务")));
        }
    }
    let seen = seen.join(", ");
    let seen_zh = seen_zh.join("，");
    match wrong {
        None => Ok(CheckResult::pass(
            format!("cgroup of {r}: {seen}"),
            format!("{r} 的 cgroup：{seen_zh}"),
        )),
        Some((expected, expected_zh)) => Err(CheckResult::fail(
            format!("cgroup of {r}: {seen}; expected {expected}"),
            format!("{r} 的 cgroup：{seen_zh}；应为 {expected_zh}"),
        )),
    }
}

/// A cgroup that is not there. Where podlab made none (`why`, see
/// [`World::no_cgroup_made`]), a check that only asks how many tasks the cgroup holds passes,
/// saying so, since the stage did what it does on this machine; a check of a value cannot hold.
fn no_cgroup(c: &CgroupCheck, why: Option<Text>, r: &Ref) -> Outcome {
    match why {
        Some(why) if !c.reads_values() => Ok(CheckResult::pass(
            format!("no cgroup for {r} without root here: {}", why.en),
            format!("不用 root 时这里没有 {r} 的 cgroup：{}", why.zh),
        )),
        Some(why) => Err(CheckResult::fail(
            format!("no cgroup for {r}: {}", why.en),
            format!("没有 {r} 的 cgroup：{}", why.zh),
        )),
        None => Err(CheckResult::fail(
            format!("the cgroup of {r} could not be read"),
            format!("无法读取 {r} 的 cgroup"),
        )),
    }
}

/// `none` (no limit) in a Chinese sentence.
fn zh_none(shown: &str) -> &str {
    if shown == "none" {
        "无"
    } else {
        shown
    }
}

/// A list of values in a Chinese sentence: 「a、b」, or 「无」.
fn listed_zh(values: &[String]) -> String {
    if values.is_empty() {
        "「无」".into()
    } else {
        format!("「{}」", values.join("、"))
    }
}

fn state_of(world: &mut World<'_>, pod: &str) -> Result<PodState, CheckResult> {
    world.state(pod).ok_or_else(|| not_running(pod))
}

fn container(c: &ContainerCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let r = Ref::parse(&c.name, pod);
    let name = container_name(&r)?;
    let state = state_of(world, &r.pod)?;
    let Some(status) = state.container(name) else {
        return Err(CheckResult::fail(
            format!("{r} is not in the pod's status"),
            format!("Pod 状态里没有 {r}"),
        ));
    };
    let looked_at = if c.last {
        status.last_state.clone()
    } else {
        Some(status.state.clone())
    };
    let shown = format!(
        "{r}: {}, restarts {}, ready {}{}",
        looked_at
            .as_ref()
            .map_or("no last state".into(), describe_state),
        status.restart_count,
        status.ready,
        if c.last { " (last state)" } else { "" }
    );
    let shown_zh = format!(
        "{r}{}：{}，重启 {} 次，{}",
        if c.last { " 的上一个状态" } else { "" },
        looked_at
            .as_ref()
            .map_or("没有上一个状态".into(), describe_state_zh),
        status.restart_count,
        if status.ready {
            "已就绪"
        } else {
            "未就绪"
        }
    );
    let state_ok = matches!(
        (&looked_at, c.state),
        (_, None)
            | (
                Some(ContainerState::Running { .. }),
                Some(StateName::Running)
            )
            | (
                Some(ContainerState::Waiting { .. }),
                Some(StateName::Waiting)
            )
            | (
                Some(ContainerState::Terminated { .. }),
                Some(StateName::Terminated)
            )
    );
    let reason_ok = c.reason.as_ref().is_none_or(|want| match &looked_at {
        Some(ContainerState::Waiting { reason })
        | Some(ContainerState::Terminated { reason, .. }) => reason == want,
        _ => false,
    });
    let code_ok = c.exit_code.is_none_or(|want| {
        matches!(&looked_at, Some(ContainerState::Terminated { exit_code, .. }) if *exit_code == want)
    });
    let ready_ok = c.ready.is_none_or(|want| status.ready == want);
    let restarts_ok = c.restarts.is_none_or(|n| status.restart_count == n)
        && c.restarts_at_least
            .is_none_or(|n| status.restart_count >= n);
    if state_ok && reason_ok && code_ok && ready_ok && restarts_ok {
        Ok(CheckResult::pass(shown, shown_zh))
    } else {
        Err(CheckResult::fail(shown, shown_zh))
    }
}

fn event(c: &EventCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let state = state_of(world, pod)?;
    let found = state.events.iter().find(|e| {
        e.reason == c.reason
            && c.message_contains
                .as_ref()
                .is_none_or(|m| e.message.contains(m.as_str()))
    });
    match found {
        Some(e) => Ok(CheckResult::pass(
            format!("event {}: {}", e.reason, e.message),
            format!("事件 {}：{}", e.reason, e.message),
        )),
        None => {
            let reasons: Vec<&str> = state.events.iter().map(|e| e.reason.as_str()).collect();
            Err(CheckResult::fail(
                format!("no {} event yet; events: {}", c.reason, reasons.join(", ")),
                format!("还没有 {} 事件；已有事件：{}", c.reason, reasons.join("、")),
            ))
        }
    }
}

/// The processes of `r`'s PID namespace (what `ps` shows inside it), from its pod's snapshot.
pub(super) fn pid_namespace_members(
    world: &mut World<'_>,
    r: &Ref,
) -> Result<Vec<ProcessInfo>, CheckResult> {
    let snapshot = world.snapshot(&r.pod)?;
    let pid = subject_pid(&snapshot, r)?;
    let Some(pid_ns) =
        process_info(&snapshot, pid).and_then(|p| p.namespaces.get(&NsKind::Pid).copied())
    else {
        return Err(CheckResult::fail(
            format!("the PID namespace of {r} could not be read"),
            format!("无法读取 {r} 的 PID 命名空间"),
        ));
    };
    Ok(snapshot
        .processes
        .iter()
        .filter(|p| {
            p.namespaces
                .get(&NsKind::Pid)
                .is_some_and(|n| n.same_as(&pid_ns))
        })
        .cloned()
        .collect())
}

fn processes(c: &ProcessesCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let r = Ref::parse(&c.target, pod);
    let members = pid_namespace_members(world, &r)?;
    let members: Vec<&ProcessInfo> = members.iter().collect();
    let names: Vec<String> = members
        .iter()
        .map(|p| format!("{}:{}", p.local_pid(), p.comm))
        .collect();
    let zombies = members.iter().filter(|p| p.state.is_zombie()).count();
    let pid1 = members
        .iter()
        .find(|p| p.local_pid() == 1)
        .map(|p| p.comm.clone());
    let shown_en = format!("PID namespace of {r}: {}", names.join(" "));
    let shown_zh = format!("{r} 的 PID 命名空间：{}", names.join(" "));
    let mut wrong: Option<(String, String)> = None;
    let n = members.len();
    if c.count_at_least.is_some_and(|m| n < m) || c.count_at_most.is_some_and(|m| n > m) {
        wrong = Some((format!("{n} processes"), format!("{n} 个进程")));
    }
    if let Some(want) = &c.pid1 {
        if pid1.as_deref() != Some(want.as_str()) {
            wrong.get_or_insert((
                format!("PID 1 is not {want}"),
                format!("1 号进程不是 {want}"),
            ));
        }
    }
    if c.zombies.is_some_and(|z| z != zombies) {
        wrong.get_or_insert((
            format!("{zombies} zombies"),
            format!("{zombies} 个僵尸进程"),
        ));
    }
    if let Some(comm) = &c.has {
        // With `parent`: a process of that comm whose parent has the other comm.
        let parent_matches = |p: &&&ProcessInfo| match &c.parent {
            None => true,
            Some(parent) => members.iter().any(|q| q.pid == p.ppid && &q.comm == parent),
        };
        let found = members
            .iter()
            .filter(|p| &p.comm == comm && !p.state.is_zombie())
            .find(parent_matches);
        let what = match &c.parent {
            Some(parent) => format!("{comm} (child of {parent})"),
            None => comm.clone(),
        };
        if found.is_some() != c.present {
            wrong.get_or_insert(if c.present {
                (format!("no {what}"), format!("没有 {what}"))
            } else {
                (format!("{what} is still there"), format!("{what} 还在"))
            });
        }
    }
    match wrong {
        None => Ok(CheckResult::pass(shown_en, shown_zh)),
        Some((en, zh)) => Err(CheckResult::fail(
            format!("{shown_en}; {en}"),
            format!("{shown_zh}；{zh}"),
        )),
    }
}

fn process(c: &ProcessCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let r = Ref::parse(&c.target, pod);
    let snapshot = world.snapshot(&r.pod)?;
    let pid = subject_pid(&snapshot, &r)?;
    let Some(info) = process_info(&snapshot, pid).cloned() else {
        return Err(CheckResult::fail(
            format!("process {pid} of {r} is gone"),
            format!("{r} 的进程 {pid} 已经不在了"),
        ));
    };
    let parent = process_info(&snapshot, info.ppid)
        .map(|p| p.comm.clone())
        .or_else(|| {
            std::fs::read_to_string(format!("/proc/{}/comm", info.ppid))
                .ok()
                .map(|s| s.trim().to_string())
        });
    let mut facts = vec![format!("pid {pid} {} state {}", info.comm, info.state.0)];
    let mut facts_zh = vec![format!("进程 {pid} {} 状态 {}", info.comm, info.state.0)];
    let mut ok = c.comm.as_ref().is_none_or(|want| &info.comm == want)
        && c.state
            .as_ref()
            .is_none_or(|letters| letters.contains(info.state.0));
    if let Some(want) = &c.parent {
        facts.push(format!("parent {}", parent.as_deref().unwrap_or("?")));
        facts_zh.push(format!("父进程 {}", parent.as_deref().unwrap_or("?")));
        ok &= parent.as_deref() == Some(want.as_str());
    }
    if let Some(max) = c.max_binary_bytes {
        let size = std::fs::metadata(format!("/proc/{pid}/exe"))
            .map(|m| m.len())
            .ok();
        let shown = size.map_or("?".into(), |s| format!("{} KiB", s.div_ceil(1024)));
        facts.push(format!("binary {shown}"));
        facts_zh.push(format!("可执行文件 {shown}"));
        ok &= size.is_some_and(|s| s <= max);
    }
    if let Some(max) = c.max_cpu_seconds {
        let used = cpu_seconds(pid);
        let shown = used.map_or("?".into(), |s| format!("{s:.2}s"));
        let pace = Pace::of_machine();
        if pace.checks_cpu_time() {
            facts.push(format!("CPU time {shown}"));
            facts_zh.push(format!("CPU 时间 {shown}"));
            ok &= used.is_some_and(|s| s <= max);
        } else {
            let skipped = pace.cpu_bound_skipped(max);
            facts.push(format!("CPU time {shown} ({})", skipped.en));
            facts_zh.push(format!("CPU 时间 {shown}（{}）", skipped.zh));
        }
    }
    if let Some(want) = &c.hostname {
        let name = crate::runtime::sys::uts_hostname(pid);
        let shown = name.as_deref().unwrap_or("?");
        facts.push(format!("hostname {shown}"));
        facts_zh.push(format!("主机名 {shown}"));
        ok &= name.as_deref() == Some(want.as_str());
    }
    if let Some(want) = &c.wchan {
        // "0" is what a kernel that does not name wait channels (or hides them) shows.
        let channel = std::fs::read_to_string(format!("/proc/{pid}/wchan"))
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty() && s != "0");
        let shown = channel.as_deref().unwrap_or("?");
        facts.push(format!("sleeps in {shown}"));
        facts_zh.push(format!("睡在 {shown}"));
        ok &= channel.is_some_and(|name| name.contains(want.as_str()));
    }
    if let Some(other) = &c.started_before {
        let o = Ref::parse(other, pod);
        let other_snapshot = world.snapshot(&o.pod)?;
        let other_pid = subject_pid(&other_snapshot, &o)?;
        let other_start = process_info(&other_snapshot, other_pid).map(|p| p.start_time);
        let before = other_start.is_some_and(|t| info.start_time <= t);
        facts.push(format!(
            "started {} {o}",
            if before { "before" } else { "after" }
        ));
        facts_zh.push(format!(
            "在 {o} {}启动",
            if before { "之前" } else { "之后" }
        ));
        ok &= before;
    }
    let en = format!("{r}: {}", facts.join(", "));
    let zh = format!("{r}：{}", facts_zh.join("，"));
    if ok {
        Ok(CheckResult::pass(en, zh))
    } else {
        Err(CheckResult::fail(en, zh))
    }
}

/// utime + stime of a process, from /proc/<pid>/stat.
fn cpu_seconds(pid: i32) -> Option<f64> {
    read_stat(Path::new("/proc"), pid)
        .ok()
        .map(|s| s.cpu_seconds())
}

fn listener(c: &ListenerCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let r = Ref::parse(&c.container, pod);
    let name = container_name(&r)?;
    let snapshot = world.snapshot(&r.pod)?;
    let ip = snapshot
        .sandboxes
        .first()
        .and_then(|s| s.pod.as_ref())
        .and_then(|p| p.ip.clone());
    let all: Vec<String> = snapshot
        .networks
        .iter()
        .flat_map(|n| n.listeners.iter())
        .map(|l| {
            format!(
                "{}:{} ({})",
                l.address,
                l.port,
                l.container.as_deref().unwrap_or("?")
            )
        })
        .collect();
    let found = snapshot
        .networks
        .iter()
        .flat_map(|n| n.listeners.iter())
        .any(|l| l.port == c.port && l.container.as_deref() == Some(name));
    let endpoint = format!("{}:{}", ip.as_deref().unwrap_or("<pod IP>"), c.port);
    if found {
        Ok(CheckResult::pass(
            format!("{r} listens on port {}: endpoint {endpoint}", c.port),
            format!("{r} 在端口 {} 上监听：端点 {endpoint}", c.port),
        ))
    } else {
        Err(CheckResult::fail(
            format!(
                "{r} does not listen on port {}; listeners: {}",
                c.port,
                all.join(", ")
            ),
            format!("{r} 没有在端口 {} 上监听；监听：{}", c.port, all.join("，")),
        ))
    }
}

fn pod_check(c: &PodCheck, world: &mut World<'_>, pod: &str) -> CheckResult {
    let state = world.state(pod);
    if c.gone {
        let name = world.live_names.get(pod).map_or(pod, String::as_str);
        return match state {
            None => CheckResult::pass(
                format!("pod {name} is gone"),
                format!("Pod {name} 已经不存在"),
            ),
            Some(_) => CheckResult::fail(
                format!("pod {name} still exists"),
                format!("Pod {name} 还存在"),
            ),
        };
    }
    let Some(state) = state else {
        return not_running(pod);
    };
    let phase = format!("{:?}", state.phase);
    let shown = format!(
        "pod {pod} in Kubernetes Namespace {}: {phase}, QoS {}, ready {}",
        state.namespace,
        state.qos_class,
        state.ready()
    );
    let shown_zh = format!(
        "Pod {pod}（Kubernetes Namespace {}）：{phase}，QoS 类别 {}，{}",
        state.namespace,
        state.qos_class,
        if state.ready() {
            "已就绪"
        } else {
            "未就绪"
        }
    );
    let ok = c.qos_class.as_ref().is_none_or(|q| &state.qos_class == q)
        && c.phase.as_ref().is_none_or(|p| &phase == p)
        && c.ready.is_none_or(|r| state.ready() == r)
        && c.namespace.as_ref().is_none_or(|n| &state.namespace == n);
    let Some(want) = c.fits_node else {
        return CheckResult {
            passed: ok,
            message: Text::new(shown, shown_zh),
        };
    };
    let fit = match fits_node(&state.pod.spec) {
        Ok(fit) => fit,
        Err(failure) => return failure,
    };
    CheckResult {
        passed: ok && fit.passed == want,
        message: Text::new(
            format!("{shown}\n{}", fit.message.en),
            format!("{shown_zh}\n{}", fit.message.zh),
        ),
    }
}

/// The container's log (stdout and stderr) holds the text.
fn logs(c: &LogsCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let r = Ref::parse(&c.container, pod);
    let name = container_name(&r)?;
    let state = state_of(world, &r.pod)?;
    let path = paths::log_file(&state.uid, name);
    let log = std::fs::read(&path).unwrap_or_default();
    let log = String::from_utf8_lossy(&log);
    let lines = log.lines().count();
    let passed = log.contains(c.contains.as_str());
    let (en, zh) = match passed {
        true => ("holds", "里有"),
        false => ("does not hold", "里还没有"),
    };
    Ok(CheckResult {
        passed,
        message: Text::new(
            format!("the log of {r} {en} {:?} ({lines} lines)", c.contains),
            format!("{r} 的日志{zh}“{}”（共 {lines} 行）", c.contains),
        ),
    })
}

/// Whether a scheduler would place a pod of this spec on this node, with what it compared:
/// `passed` is the verdict.
fn fits_node(spec: &crate::spec::PodSpec) -> Outcome {
    use crate::kube::resources::{PodResources, ResourceAmounts};
    use crate::kube::scheduling::{
        allocatable, effective_request, failed_scheduling_message, insufficient,
    };
    use crate::present::text::{bytes, millicores};
    let capacity = crate::runtime::pod_cgroups::node_capacity().map_err(|e| {
        CheckResult::fail(
            format!("cannot read this node's capacity: {e}"),
            format!("读不到这个节点的容量：{e}"),
        )
    })?;
    let request = effective_request(&PodResources::from_spec(spec));
    let node = allocatable(capacity);
    let show = |a: &ResourceAmounts| {
        format!(
            "cpu {}, memory {}",
            millicores(a.cpu().max(0) as u64),
            bytes(a.memory().max(0) as u64)
        )
    };
    let none = ResourceAmounts::new(Some(0), Some(0));
    let verdict = failed_scheduling_message(&insufficient(&request, &node, &none));
    let (en, zh) = match &verdict {
        None => ("fits".to_string(), "放得下".to_string()),
        Some(m) => (format!("would not fit: {m}"), format!("放不下：{m}")),
    };
    Ok(CheckResult {
        passed: verdict.is_none(),
        message: Text::new(
            format!(
                "requests {} against this node's allocatable {}: {en}",
                show(&request),
                show(&node)
            ),
            format!(
                "请求 {}，本节点可分配 {}：{zh}",
                show(&request),
                show(&node)
            ),
        ),
    })
}

fn ran_in_order(names: &[String], world: &mut World<'_>, pod: &str) -> Outcome {
    let state = state_of(world, pod)?;
    let mut spans = Vec::new();
    for name in names {
        let span = match state.container(name).map(|c| &c.state) {
            Some(ContainerState::Terminated {
                started_at,
                finished_at,
                ..
            }) => (*started_at, Some(*finished_at)),
            Some(ContainerState::Running { started_at }) => (*started_at, None),
            _ => {
                return Err(CheckResult::fail(
                    format!("{name} has not run yet"),
                    format!("{name} 还没有运行"),
                ))
            }
        };
        spans.push((name, span));
    }
    let mut shown = Vec::new();
    let mut shown_zh = Vec::new();
    for pair in spans.windows(2) {
        let (a, (_, a_end)) = &pair[0];
        let (b, (b_start, _)) = &pair[1];
        let Some(a_end) = a_end else {
            return Err(CheckResult::fail(
                format!("{a} is still running while {b} runs"),
                format!("{b} 运行时 {a} 还在运行"),
            ));
        };
        if a_end > b_start {
            return Err(CheckResult::fail(
                format!("{b} started before {a} finished"),
                format!("{b} 在 {a} 结束前就启动了"),
            ));
        }
        shown.push(format!(
            "{a} ended {:.1}s before {b} started",
            b_start - a_end
        ));
        shown_zh.push(format!("{a} 结束 {:.1} 秒后 {b} 才启动", b_start - a_end));
    }
    let order = names.join(" → ");
    Ok(CheckResult::pass(
        format!("{order}: {}", shown.join("; ")),
        format!("{order}：{}", shown_zh.join("；")),
    ))
}

fn changed(c: &ChangedCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let Some(before) = world.marks.get(&c.since).and_then(|m| m.get(pod)).cloned() else {
        return Err(CheckResult::fail(
            format!("nothing was recorded about pod {pod} at step {}", c.since),
            format!("在步骤 {} 没有记录 Pod {pod} 的信息", c.since),
        ));
    };
    let state = state_of(world, pod)?;
    let now = PodMark::of(&state);
    let (old, new) = (before.value(&c.what), now.value(&c.what));
    let (what, what_zh) = match &c.what {
        Fingerprint::Uid => ("UID".to_string(), "UID".to_string()),
        Fingerprint::Ip => ("IP".to_string(), "IP".to_string()),
        Fingerprint::Pause => ("pause".to_string(), "pause 进程".to_string()),
        Fingerprint::Namespace(kind) => (
            format!("{} namespace", kind.file_name()),
            format!("{} 命名空间", kind.file_name()),
        ),
        Fingerprint::Container(name) => (format!("process of {name}"), format!("{name} 的进程")),
    };
    let is_changed = old != new;
    let (old_zh, new_zh) = (mark_zh(&short(&old)), mark_zh(&short(&new)));
    let en = format!("{what}: {} → {}", short(&old), short(&new));
    let zh = format!("{what_zh}：{old_zh} → {new_zh}");
    if is_changed == c.changed {
        Ok(CheckResult::pass(en, zh))
    } else if c.changed {
        Err(CheckResult::fail(
            format!("{what} has not changed: {}", short(&old)),
            format!("{what_zh}没有变化：{old_zh}"),
        ))
    } else {
        Err(CheckResult::fail(
            format!("{what} changed: {en}"),
            format!("{what_zh}变了：{old_zh} → {new_zh}"),
        ))
    }
}

/// A mark's value in a Chinese sentence: `pid 9517 (start 123)` → `pid 9517（启动于 123）`.
fn mark_zh(value: &str) -> String {
    value.replace(" (start ", "（启动于 ").replace(')', "）")
}

fn short(value: &str) -> String {
    value.chars().take(40).collect()
}

fn deleted(c: &DeletedCheck, last: Option<Duration>) -> CheckResult {
    let Some(took) = last else {
        return CheckResult::fail("the pod was not deleted yet", "Pod 还没有被删除");
    };
    let secs = took.as_secs_f64();
    // A lower bound stays (a grace period is waited out however slow the machine); an upper
    // bound grows with the machine's slowdown.
    let max = c.max_seconds.map(|m| Pace::of_machine().wall_seconds(m));
    let ok = c.min_seconds.is_none_or(|m| secs >= m) && max.is_none_or(|m| secs <= m);
    let en = format!("deleting the pod took {secs:.1}s");
    let zh = format!("删除 Pod 用了 {secs:.1} 秒");
    CheckResult {
        passed: ok,
        message: Text::new(en, zh),
    }
}

fn no_kubelet() -> CheckResult {
    CheckResult::fail(
        "no kubelet runs in this lesson yet",
        "这节课还没有运行 kubelet",
    )
}

/// The kubelet is still running (its last error line says why not, if it stopped).
fn running_kubelet(world: &World<'_>) -> Result<KubeletView, CheckResult> {
    let kubelet = world.kubelet.clone().ok_or_else(no_kubelet)?;
    if let Some(how) = &kubelet.exited {
        let why = kubelet
            .last_error
            .as_deref()
            .map(|e| format!(": {e}"))
            .unwrap_or_default();
        return Err(CheckResult::fail(
            format!(
                "podlab kubelet (pid {}) has stopped ({how}){why}",
                kubelet.pid
            ),
            format!(
                "podlab kubelet（pid {}）已经停止（{how}）{why}",
                kubelet.pid
            ),
        ));
    }
    Ok(kubelet)
}

fn kubelet(c: &KubeletCheck, world: &mut World<'_>) -> Outcome {
    let kubelet = running_kubelet(world)?;
    let names: Vec<String> = kubelet.pods().into_iter().map(|s| s.name).collect();
    let dir = kubelet.dir.display();
    let (listed, listed_zh) = if names.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!(": {}", names.join(", ")),
            format!("：{}", names.join("、")),
        )
    };
    let en = format!(
        "podlab kubelet (pid {}) watches {dir}, {} static pod(s){listed}",
        kubelet.pid,
        names.len()
    );
    let zh = format!(
        "podlab kubelet（pid {}）监视 {dir}，{} 个静态 Pod{listed_zh}",
        kubelet.pid,
        names.len()
    );
    if c.pods.is_some_and(|want| want != names.len()) {
        Err(CheckResult::fail(en, zh))
    } else {
        Ok(CheckResult::pass(en, zh))
    }
}

fn static_pod(c: &StaticPodCheck, world: &mut World<'_>, pod: &str) -> Outcome {
    let kubelet = running_kubelet(world)?;
    let expected = crate::kube::static_pods::static_pod_name(pod, &kubelet.node);
    let Some(state) = world.state(pod) else {
        let running: Vec<String> = kubelet.pods().into_iter().map(|s| s.name).collect();
        let (listed, listed_zh) = if running.is_empty() {
            ("none".to_string(), "无".to_string())
        } else {
            (running.join(", "), running.join("、"))
        };
        return Err(CheckResult::fail(
            format!("no pod {expected} yet; the kubelet's pods: {listed}"),
            format!("还没有 Pod {expected}；kubelet 的 Pod：{listed_zh}"),
        ));
    };
    let source = state
        .pod
        .metadata
        .annotations
        .get("kubernetes.io/config.source")
        .cloned()
        .unwrap_or_default();
    let from = Path::new(&state.manifest_path);
    let file_ok = c.file.as_ref().is_none_or(|f| from == kubelet.dir.join(f));
    let uid: String = state.uid.chars().take(8).collect();
    let en = format!(
        "pod {} (uid {uid}) runs from {}: {pod} + \"-{}\", the node name",
        state.name, state.manifest_path, kubelet.node
    );
    let zh = format!(
        "Pod {}（uid {uid}）来自 {}：{pod} 加上节点名 “-{}”",
        state.name, state.manifest_path, kubelet.node
    );
    if state.name == expected && source == "file" && file_ok {
        Ok(CheckResult::pass(en, zh))
    } else {
        Err(CheckResult::fail(en, zh))
    }
}
