//! A made-up but realistic pod, at any step of its creation, as the observer would report it.
//! Tests and benchmarks drive the explorer with it (deterministic: fixed PIDs, inodes, times);
//! nothing here reads the machine.

use std::collections::BTreeMap;

use crate::i18n::Lang;
use crate::kube::pod_state::{
    ContainerKind, ContainerState, ContainerStatus, Event, EventType, PodPhase, PodState,
    ProcessRef, SandboxState, StepStatus,
};
use crate::kube::steps::{self, PlanContext, StepPlan};
use crate::observe::{
    CgroupInfo, CgroupLayout, CgroupMembership, ContainerInfo, ContainerView, HostInfo, Interface,
    Limit, Listener, NetNamespace, NsId, NsKind, PodEvent, PodInfo, ProcState, ProcessInfo, Proto,
    Role, Sandbox, SandboxKind, Scope, Snapshot,
};
use crate::spec::Pod;

use super::app::{App, Session};
use super::observed::Observation;
use super::script::Script;

/// The default lesson pod: nginx and a busybox sidecar.
pub const TWO_CONTAINERS: &str = include_str!("../../assets/pods/two-containers.yaml");

/// Three containers, for measurements.
pub const THREE_CONTAINERS: &str = "apiVersion: v1
kind: Pod
metadata:
  name: three-containers
spec:
  terminationGracePeriodSeconds: 2
  containers:
    - name: web
      image: nginx:1.27
      ports: [{containerPort: 80}]
      resources:
        requests: {cpu: 100m, memory: 64Mi}
        limits: {cpu: 250m, memory: 128Mi}
    - name: sidecar
      image: busybox:1.36
      command: [sh, -c, 'while true; do sleep 5; done']
    - name: logger
      image: busybox:1.36
      command: [sh, -c, 'while true; do date; sleep 10; done']
";

pub const UID: &str = "0a1b2c3d-4e5f-6789-abcd-ef0123456789";
/// Wall clock of the first observation (seconds since the epoch).
pub const T0: f64 = 1_700_000_000.0;
const SHIM: i32 = 4100;
const PAUSE: i32 = 4101;
const POD_IP: &str = "10.88.0.7";

pub fn pod(manifest: &str) -> Pod {
    match crate::spec::parse_pod(manifest, "demo") {
        Ok(loaded) => loaded.pod,
        Err(e) => panic!("the demo manifest is invalid: {}", e.render(Lang::En)),
    }
}

pub fn plan(pod: &Pod) -> Vec<StepPlan> {
    steps::plan(
        pod,
        PlanContext {
            cgroup_v2: false,
            pod_network: true,
            rootless: None,
            pod_max_pids: None,
        },
    )
}

fn host_ns() -> BTreeMap<NsKind, NsId> {
    [
        (NsKind::Cgroup, 4026531835),
        (NsKind::Ipc, 4026531839),
        (NsKind::Mnt, 4026531841),
        (NsKind::Net, 4026531840),
        (NsKind::Pid, 4026531836),
        (NsKind::PidForChildren, 4026531836),
        (NsKind::Time, 4026531834),
        (NsKind::User, 4026531837),
        (NsKind::Uts, 4026531838),
    ]
    .into_iter()
    .map(|(k, inode)| {
        (
            k,
            NsId {
                inode,
                dev: Some(4),
            },
        )
    })
    .collect()
}

fn with(mut ns: BTreeMap<NsKind, NsId>, changes: &[(NsKind, u64)]) -> BTreeMap<NsKind, NsId> {
    for (k, inode) in changes {
        ns.insert(
            *k,
            NsId {
                inode: *inode,
                dev: Some(4),
            },
        );
    }
    ns
}

fn pause_ns() -> BTreeMap<NsKind, NsId> {
    with(
        host_ns(),
        &[
            (NsKind::Net, 4026532300),
            (NsKind::Ipc, 4026532298),
            (NsKind::Uts, 4026532297),
            (NsKind::Pid, 4026532299),
            (NsKind::PidForChildren, 4026532299),
            (NsKind::Mnt, 4026532296),
        ],
    )
}

fn container_ns(i: u64) -> BTreeMap<NsKind, NsId> {
    with(
        pause_ns(),
        &[
            (NsKind::Pid, 4026532310 + i),
            (NsKind::PidForChildren, 4026532310 + i),
            (NsKind::Mnt, 4026532320 + i),
        ],
    )
}

#[allow(clippy::too_many_arguments)]
fn process(
    pid: i32,
    ppid: i32,
    ns_pids: Vec<i32>,
    comm: &str,
    cmdline: &[&str],
    namespaces: BTreeMap<NsKind, NsId>,
    cgroup: &str,
    role: Role,
) -> ProcessInfo {
    ProcessInfo {
        pid,
        ppid,
        ns_pids,
        comm: comm.into(),
        cmdline: cmdline.iter().map(|s| s.to_string()).collect(),
        state: ProcState('S'),
        uid: Some(0),
        start_time: 90_000 + pid as u64,
        kernel_thread: false,
        namespaces,
        cgroups: vec![CgroupMembership {
            hierarchy: 4,
            controllers: vec!["memory".into()],
            path: cgroup.into(),
        }],
        role,
        seccomp: None,
    }
}

fn cgroup(
    path: &str,
    cpu_req: u64,
    cpu_lim: Option<u64>,
    mem_lim: Option<u64>,
    used: u64,
) -> CgroupInfo {
    CgroupInfo {
        version: 1,
        path: path.into(),
        cpu_quota_us: Some(cpu_lim.map_or(Limit::Unlimited, |m| Limit::Value(m * 100))),
        cpu_period_us: Some(100_000),
        cpu_limit_millis: Some(cpu_lim.map_or(Limit::Unlimited, Limit::Value)),
        cpu_shares: Some(cpu_req * 1024 / 1000),
        cpu_weight: None,
        cpu_request_millis: Some(cpu_req),
        cpu_request_source: Some(crate::observe::CpuRequestSource::Shares),
        cpu_request_millis_old_runc: None,
        nr_periods: Some(1200),
        nr_throttled: Some(if cpu_lim.is_some() { 3 } else { 0 }),
        throttled_usec: Some(41_000),
        memory_limit: Some(mem_lim.map_or(Limit::Unlimited, Limit::Value)),
        memory_usage: Some(used),
        memory_failcnt: Some(0),
        oom: Some(0),
        oom_kill: Some(0),
        pids_current: Some(2),
        pids_max: Some(Limit::Unlimited),
        // The demo is a v1 machine: no pressure files.
        cpu_pressure: None,
        memory_pressure: None,
    }
}

fn event(time: f64, reason: &str, object: &str, message: String) -> Event {
    Event {
        time,
        kind: EventType::Normal,
        reason: reason.into(),
        object: object.into(),
        message,
        count: 1,
        first_time: time,
    }
}

/// The observation after `done` of the pod's creation steps have run.
pub fn observation(pod: &Pod, done: usize) -> Observation {
    let plan = plan(pod);
    let done = done.min(plan.len());
    let ran = |id: &str| plan[..done].iter().any(|s| s.id == id);
    let now = T0 + 10.0 * done as f64;
    let pod_cgroup = "/podlab/kubepods/burstable/pod0a1b2c3d";
    let mut processes = vec![process(
        SHIM,
        1,
        vec![SHIM],
        "podlab-shim",
        &["podlab-shim", "shim", "--uid", UID],
        host_ns(),
        "/",
        Role::Shim,
    )];
    let mut events = vec![event(
        T0,
        "Scheduled",
        "pod",
        format!(
            "Successfully assigned default/{} to this machine",
            pod.metadata.name
        ),
    )];
    let mut containers_view = Vec::new();
    let mut statuses = Vec::new();
    let sandbox_up = ran("namespaces");
    if sandbox_up {
        let comm = if ran("pause") { "pause" } else { "podlab-shim" };
        processes.push(process(
            PAUSE,
            SHIM,
            vec![PAUSE, 1],
            comm,
            &[comm],
            pause_ns(),
            &format!("{pod_cgroup}/pause"),
            Role::Pause,
        ));
        containers_view.push(ContainerView {
            name: "pause".into(),
            is_pause: true,
            main_pid: Some(PAUSE),
            pids: vec![PAUSE],
            shared_with_pause: vec![],
            own: vec![],
            cgroup: Some(cgroup(
                &format!("{pod_cgroup}/pause"),
                2,
                None,
                None,
                262_144,
            )),
            status: None,
        });
    }
    for (i, c) in pod.spec.containers.iter().enumerate() {
        let started = ran(&format!("container:{}", c.name));
        let pid = 4110 + 10 * i as i32;
        let res = &c.resources;
        let cpu_req = res
            .requests
            .cpu
            .as_ref()
            .map_or(0, |q| q.milli_value().max(0) as u64);
        let cpu_lim = res
            .limits
            .cpu
            .as_ref()
            .map(|q| q.milli_value().max(0) as u64);
        let mem_lim = res.limits.memory.as_ref().map(|q| q.value().max(0) as u64);
        let path = format!("{pod_cgroup}/{}", c.name);
        let state = if started {
            ContainerState::Running {
                started_at: T0 + 10.0 * (4 + i) as f64,
            }
        } else {
            ContainerState::Waiting {
                reason: "ContainerCreating".into(),
            }
        };
        let mut pids = vec![];
        if started {
            let argv: Vec<&str> = if c.command.is_empty() {
                vec!["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
            } else {
                c.command.iter().map(String::as_str).collect()
            };
            let comm = argv[0].rsplit('/').next().unwrap_or("sh");
            processes.push(process(
                pid,
                SHIM,
                vec![pid, 1],
                comm,
                &argv,
                container_ns(i as u64),
                &path,
                Role::Container(c.name.clone()),
            ));
            pids.push(pid);
            if comm == "sh" {
                processes.push(process(
                    pid + 1,
                    pid,
                    vec![pid + 1, 2],
                    "sleep",
                    &["sleep", "5"],
                    container_ns(i as u64),
                    &path,
                    Role::Container(c.name.clone()),
                ));
                pids.push(pid + 1);
            }
            for made in [
                crate::kube::events::pulled_already_present(&c.image),
                crate::kube::events::created(),
                crate::kube::events::started(),
            ] {
                events.push(event(
                    T0 + 10.0 * (4 + i) as f64,
                    &made.reason,
                    &format!("spec.containers{{{}}}", c.name),
                    made.message,
                ));
            }
        }
        let info = ContainerInfo {
            kind: ContainerKind::App,
            image: c.image.clone(),
            state: state.clone(),
            restart_count: 0,
            ready: started,
        };
        containers_view.push(ContainerView {
            name: c.name.clone(),
            is_pause: false,
            main_pid: started.then_some(pid),
            pids: pids.clone(),
            shared_with_pause: if started {
                vec![NsKind::Ipc, NsKind::Net, NsKind::Uts]
            } else {
                vec![]
            },
            own: if started {
                vec![NsKind::Mnt, NsKind::Pid, NsKind::PidForChildren]
            } else {
                vec![]
            },
            cgroup: started.then(|| {
                cgroup(
                    &path,
                    cpu_req,
                    cpu_lim,
                    mem_lim,
                    (3 + 2 * i as u64) * 1024 * 1024,
                )
            }),
            status: Some(info),
        });
        statuses.push(ContainerStatus {
            name: c.name.clone(),
            kind: ContainerKind::App,
            image: c.image.clone(),
            image_served_by: "podlab's stand-in".into(),
            process: started.then_some(ProcessRef {
                pid,
                start_time: 90_000 + pid as u64,
            }),
            state,
            last_state: None,
            restart_count: 0,
            ready: started,
            started,
            state_message: None,
            pull: None,
            stop_signal: None,
        });
    }
    let ip = ran("network").then(|| POD_IP.to_string());
    let mut networks = Vec::new();
    if sandbox_up {
        let mut interfaces = vec![Interface {
            name: "lo".into(),
            ipv4: if ran("network") {
                vec!["127.0.0.1/8".into()]
            } else {
                vec![]
            },
            ipv6: vec![],
            rx_bytes: 0,
            rx_packets: 0,
            tx_bytes: 0,
            tx_packets: 0,
        }];
        if ran("network") {
            interfaces.push(Interface {
                name: "eth0".into(),
                ipv4: vec![format!("{POD_IP}/16")],
                ipv6: vec![],
                rx_bytes: 1436,
                rx_packets: 12,
                tx_bytes: 796,
                tx_packets: 8,
            });
        }
        let listeners = containers_view
            .iter()
            .filter(|c| c.name == "nginx" || c.name == "web")
            .filter_map(|c| c.main_pid.map(|p| (c.name.clone(), p)))
            .map(|(name, pid)| Listener {
                proto: Proto::Tcp,
                address: "0.0.0.0".into(),
                port: 80,
                inode: 77_001,
                pids: vec![pid],
                container: Some(name),
            })
            .collect();
        networks.push(NetNamespace {
            id: NsId {
                inode: 4026532300,
                dev: Some(4),
            },
            read_via: PAUSE,
            interfaces,
            routes: vec![],
            listeners,
        });
    }
    let phase = if statuses.iter().all(|s| s.ready) {
        PodPhase::Running
    } else {
        PodPhase::Pending
    };
    let sandbox_state = sandbox_up.then(|| SandboxState {
        pause: ProcessRef {
            pid: PAUSE,
            start_time: 90_000 + PAUSE as u64,
        },
        hostname: pod.metadata.name.clone(),
        ip: ip.clone(),
        network: None,
    });
    let pod_events: Vec<PodEvent> = events.iter().map(PodEvent::from).collect();
    let snapshot = Snapshot {
        taken_at_ms: (now * 1000.0) as u64,
        scope: Scope::Pod { name: UID.into() },
        host: HostInfo {
            clock_ticks: 100,
            boot_time: Some(1_699_990_000),
            cgroup_layout: CgroupLayout::Hybrid,
            namespaces: host_ns(),
            process_count: 112,
        },
        processes,
        sandboxes: vec![Sandbox {
            kind: SandboxKind::PodlabPod,
            name: pod.metadata.name.clone(),
            uid: Some(UID.into()),
            shim: Some(SHIM),
            pause: sandbox_up.then_some(PAUSE),
            pause_zombie: false,
            net: sandbox_up.then_some(NsId {
                inode: 4026532300,
                dev: Some(4),
            }),
            containers: containers_view,
            cgroup: ran("cgroup").then(|| {
                cgroup(
                    pod_cgroup,
                    150,
                    Some(350),
                    Some(160 * 1024 * 1024),
                    9 * 1024 * 1024,
                )
            }),
            pod: Some(PodInfo {
                namespace: "default".into(),
                phase,
                terminating: false,
                hostname: Some(pod.metadata.name.clone()),
                ip: ip.clone(),
                events: pod_events,
            }),
        }],
        networks,
        gaps: vec![],
    };
    let state = PodState {
        uid: UID.into(),
        name: pod.metadata.name.clone(),
        namespace: "default".into(),
        manifest_path: "assets/pods/demo.yaml".into(),
        pod: pod.clone(),
        created_at: T0,
        shim: ProcessRef {
            pid: SHIM,
            start_time: 90_000 + SHIM as u64,
        },
        detached: false,
        phase,
        terminating: false,
        qos_class: "Burstable".into(),
        cgroup: if ran("cgroup") {
            pod_cgroup.into()
        } else {
            String::new()
        },
        rootless: None,
        user_namespace: None,
        resize: Default::default(),
        sandbox: sandbox_state,
        containers: statuses,
        steps: plan
            .iter()
            .enumerate()
            .map(|(i, s)| StepStatus {
                id: s.id.clone(),
                done: i < done,
                duration_ms: (i < done).then_some(0.5),
            })
            .collect(),
        events,
    };
    Observation {
        snapshot: Some(snapshot),
        state: Some(state),
        error: None,
    }
}

/// An explorer on the demo pod with `done` steps run, as if it had been stepping along (so
/// what the last step changed is highlighted), at `now`.
pub fn app(manifest: &str, done: usize, lang: Lang, now: std::time::Instant) -> App {
    let pod = pod(manifest);
    let plan = plan(&pod);
    let mut app = App::new(
        Session::Pod {
            uid: UID.into(),
            name: pod.metadata.name.clone(),
        },
        Script::from_plan(&plan),
        done,
        lang,
    );
    if done > 0 {
        app.handle(
            super::event::Event::Observed(Box::new(observation(&pod, done - 1))),
            now,
        );
    }
    app.handle(
        super::event::Event::Observed(Box::new(observation(&pod, done))),
        now,
    );
    app
}
