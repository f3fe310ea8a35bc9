//! The creation of a pod as a list of explicit kernel steps, each with what it does, the shell
//! commands that would do the same by hand, and the syscalls podlab makes. The namespaces each
//! step names come from `kube::namespaces`, the same plan the shim carries out.

use serde::{Deserialize, Serialize};

use super::namespaces::{clone_flag_names, ContainerNamespaces, Namespace, SandboxNamespaces};
use crate::i18n::Text;
use crate::spec::seccomp::{Seccomp, UnconfinedBecause};
use crate::spec::{Container, Pod};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "container", rename_all = "snake_case")]
pub enum StepKind {
    PodCgroup,
    Namespaces,
    StartPause,
    Network,
    /// kubelet pulls the container's image before it creates the container (`pull:NAME`).
    Pull(String),
    InitContainer(String),
    AppContainer(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StepPlan {
    pub id: String,
    pub kind: StepKind,
    pub title: Text,
    pub explain: Text,
    pub commands: Vec<String>,
    pub syscalls: Vec<String>,
}

/// The pod's hostname as kubelet gives it to the sandbox (`kube::hosts::pod_hostname`).
pub fn hostname_of(pod: &Pod) -> String {
    super::hosts::pod_hostname(pod)
}

/// The steps that create `pod`, in the order kubelet and containerd take them.
/// What the machine and the options decide about the steps' commands.
#[derive(Debug, Clone, Copy, Default)]
pub struct PlanContext {
    pub cgroup_v2: bool,
    /// A veth on the bridge and an IP (otherwise only loopback).
    pub pod_network: bool,
    /// kubelet's podPidsLimit (`--pod-max-pids`), when not podlab's default.
    pub pod_max_pids: Option<i64>,
    /// Built without root, inside the learner's podlab-node (None: as root, on the host).
    pub rootless: Option<Rootless>,
}

/// What building without root changes in the steps' commands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rootless {
    /// A delegated cgroup subtree enforces the pod's limits.
    pub limits_enforced: bool,
}

pub fn plan(pod: &Pod, ctx: PlanContext) -> Vec<StepPlan> {
    let mut steps = plan_as_root(pod, ctx);
    if let Some(rootless) = ctx.rootless {
        for step in &mut steps {
            without_root(step, rootless);
        }
    }
    steps
}

/// nsenter's options that enter a user namespace one owns as its root: the user namespace, and
/// no setgroups(2) (the kernel denies it where only the learner is mapped).
pub const AS_OWNER: &str = "--user --preserve-credentials";

/// The same step inside the learner's node: every command enters podlab-node's (or pause's)
/// user namespace first, where the learner is root, as the shim does; without a delegated
/// subtree there is no cgroup to make.
fn without_root(step: &mut StepPlan, rootless: Rootless) {
    let (en, zh) = match step.kind {
        StepKind::PodCgroup if !rootless.limits_enforced => {
            step.commands = vec![
                "# without root and without a delegated cgroup v2 subtree, no cgroup is made: the pod runs without limits (podlab describe says why)".into(),
            ];
            step.syscalls.clear();
            (
                " Without root this machine enforces no limits: no cgroup is made, and the pod runs without them.",
                "不用 root 时这台机器不执行资源限制：不创建 cgroup，Pod 在没有限制的情况下运行。",
            )
        }
        StepKind::Namespaces => (
            " Without root, this happens inside podlab-node's user namespace, where you are root.",
            "不用 root 时，这一步发生在 podlab-node 的 user 命名空间里，你在其中是 root。",
        ),
        _ => ("", ""),
    };
    step.explain.en.push_str(en);
    step.explain.zh.push_str(zh);
    if step.kind == StepKind::PodCgroup {
        // A delegated subtree is the user's own: no namespace to enter.
        return;
    }
    for command in &mut step.commands {
        *command = if let Some(rest) = command.strip_prefix("nsenter --target <pause> ") {
            format!("nsenter --target <pause> {AS_OWNER} {rest}")
        } else if command.starts_with('#') || command == "exec /pause" {
            continue;
        } else {
            format!("nsenter --target <podlab-node> {AS_OWNER} --net {command}")
        };
    }
}

fn plan_as_root(pod: &Pod, ctx: PlanContext) -> Vec<StepPlan> {
    let spec = &pod.spec;
    let host = hostname_of(pod);
    let mut steps = vec![pod_cgroup_step(pod, ctx.cgroup_v2, ctx.pod_max_pids)];

    steps.push(namespaces_step(pod, &host));
    steps.push(StepPlan {
        id: "pause".into(),
        kind: StepKind::StartPause,
        title: Text::new("Start pause, the Infra container", "启动 pause（Infra 容器）"),
        explain: Text::new(
            "The waiting process execs pause. pause does nothing but sleep in pause(); it is PID 1 \
             of the pod's PID namespace and reaps orphans. It exists to hold the namespaces that \
             every other container of the pod will join.",
            "等待中的进程 exec 成 pause。pause 只是在 pause() 里睡眠；它是 Pod 的 PID 命名空间里的 \
             1 号进程，负责回收孤儿进程。它存在的意义，就是持有其他容器要加入的命名空间。",
        )
        .followed_by(pause_seccomp_text(pod)),
        commands: vec!["exec /pause".into()],
        syscalls: vec![
            seccomp_syscall(&Seccomp::of_sandbox(pod)),
            "execve(\"pause\", [\"pause\"], [])".into(),
            "rt_sigaction(SIGINT|SIGTERM|SIGCHLD)".into(),
            "pause()".into(),
        ],
    });
    if SandboxNamespaces::for_pod(pod).net {
        steps.push(StepPlan {
            id: "network".into(),
            kind: StepKind::Network,
            title: Text::new("Configure the network of pause's net namespace", "配置 pause 网络命名空间里的网络"),
            explain: Text::new(
                "Only the Infra container's net namespace is configured, as a CNI plugin does. The \
                 containers that join it later get its interfaces and address for free.",
                "像 CNI 插件那样，只配置 Infra 容器的网络命名空间。之后加入它的容器，自然就拥有同样的网卡和地址。",
            ),
            commands: network_commands(pod, ctx.pod_network),
            syscalls: if ctx.pod_network {
                vec![
                    "socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE)".into(),
                    "sendmsg(RTM_NEWLINK veth, IFLA_NET_NS_FD=/proc/<pause>/ns/net)".into(),
                    "setns(/proc/<pause>/ns/net) in a helper; sendmsg(RTM_NEWADDR, RTM_NEWROUTE)".into(),
                ]
            } else {
                vec![
                    "setns(/proc/<pause>/ns/net, CLONE_NEWNET)".into(),
                    "ioctl(SIOCSIFFLAGS, lo, IFF_UP)".into(),
                ]
            },
        });
    }
    for c in &spec.init_containers {
        let sidecar = c.restart_policy.is_some();
        let (title, explain) = if sidecar {
            (
                Text::new(
                    format!("Start sidecar \"{}\" (init container, restartPolicy: Always)", c.name),
                    format!("启动边车容器 \"{}\"（restartPolicy: Always 的 init 容器）", c.name),
                ),
                Text::new(
                    "A native sidecar starts in init order and keeps running; the next init container \
                     starts once it is running.",
                    "原生边车容器按 init 顺序启动并一直运行；它运行起来后，下一个 init 容器才启动。",
                ),
            )
        } else {
            (
                Text::new(
                    format!("Run init container \"{}\" to completion", c.name),
                    format!("运行 init 容器 \"{}\" 直到完成", c.name),
                ),
                Text::new(
                    "Init containers run one at a time; each must exit 0 before the next starts.",
                    "init 容器逐个运行；每一个都必须以 0 退出，下一个才会启动。",
                ),
            )
        };
        steps.push(container_step(
            pod,
            c,
            StepKind::InitContainer(c.name.clone()),
            title,
            explain,
        ));
    }
    for c in &spec.containers {
        steps.push(container_step(
            pod,
            c,
            StepKind::AppContainer(c.name.clone()),
            Text::new(
                format!("Start container \"{}\" in the sandbox", c.name),
                format!("在沙箱中启动容器 \"{}\"", c.name),
            ),
            {
                let joined: Vec<&str> = ContainerNamespaces::ALWAYS_JOINED
                    .iter()
                    .map(|ns| ns.proc_name())
                    .collect();
                Text::new(
                    format!(
                        "podlab init joins pause's {} namespaces, makes its own mount namespace, \
                         pivots into the image's rootfs and execs the command.",
                        english_list(&joined)
                    ),
                    format!(
                        "podlab init 加入 pause 的 {} 命名空间，创建自己的 mount 命名空间，\
                         切换到镜像的根文件系统，然后 exec 目标命令。",
                        joined.join("、")
                    ),
                )
            },
        ));
    }
    steps
}

/// The sandbox's step: clone a process into the namespaces [`SandboxNamespaces::for_pod`]
/// gives, the same plan the shim hands to the sandbox.
fn namespaces_step(pod: &Pod, host: &str) -> StepPlan {
    let namespaces = SandboxNamespaces::for_pod(pod);
    let created = namespaces.created();
    let shared: Vec<&str> = namespaces
        .shared_with_host()
        .iter()
        .map(|ns| ns.proc_name())
        .collect();
    let (named_en, named_zh) = if namespaces.sets_hostname() {
        (
            format!(" and names the pod's host \"{host}\""),
            format!("，并把主机名设为 \"{host}\""),
        )
    } else {
        (
            "; the pod keeps the host's name".to_string(),
            "；Pod 沿用宿主机的主机名".to_string(),
        )
    };
    let (host_note_en, host_note_zh) = if shared.is_empty() {
        (String::new(), String::new())
    } else {
        (
            format!(
                " This pod uses the host's {} namespace, so no new one is made for it.",
                shared.join(", ")
            ),
            format!(
                "这个 Pod 使用宿主机的 {} 命名空间，所以不为它新建。",
                shared.join("、")
            ),
        )
    };
    // hostUsers: false: a user namespace first, owning the rest, with kubelet's range.
    let (user_flag, user_option) = if namespaces.user {
        (
            "CLONE_NEWUSER | ",
            "--user --map-users=0:<65536·N>:65536 --map-groups=0:<65536·N>:65536 ",
        )
    } else {
        ("", "")
    };
    let clone = format!("clone({user_flag}{} | SIGCHLD)", clone_flag_names(&created));
    let mut syscalls = vec![clone];
    if namespaces.user {
        syscalls.push("write(/proc/<pid>/uid_map, \"0 <65536·N> 65536\")".into());
        syscalls.push("write(/proc/<pid>/gid_map, \"0 <65536·N> 65536\")".into());
        syscalls.push("setresuid(0, 0, 0)".into());
    }
    let script = if namespaces.sets_hostname() {
        syscalls.push(format!("sethostname(\"{host}\")"));
        format!("hostname {host}; exec sleep infinity")
    } else {
        "exec sleep infinity".to_string()
    };
    let (user_note_en, user_note_zh) = if namespaces.user {
        (
            " With hostUsers: false the first is a user namespace of the pod's own: kubelet gives \
             the pod 65536 ids of the node from 65536·N, so root inside is 65536·N outside, and \
             the other namespaces belong to it.",
            "因为设置了 hostUsers: false，第一个是 Pod 自己的 user 命名空间：kubelet 从节点的 ID 中\
             分给它从 65536·N 开始的 65536 个，所以里面的 root 在外面是 65536·N，其他命名空间都归它所有。",
        )
    } else {
        ("", "")
    };
    syscalls.push("prctl(PR_SET_PDEATHSIG, SIGKILL)".into());
    StepPlan {
        id: "namespaces".into(),
        kind: StepKind::Namespaces,
        title: Text::new("Create the sandbox's namespaces", "创建沙箱的命名空间"),
        explain: Text::new(
            format!(
                "The shim clones one process into new namespaces{named_en}. \
                 Nothing runs in them yet: the process waits. containerd pins the net namespace in \
                 /var/run/netns instead; a process is how podlab holds them.{user_note_en}{host_note_en}"
            ),
            format!(
                "shim 克隆出一个进程，放进新的命名空间{named_zh}。\
                 此时里面还没有运行任何程序：这个进程在等待。containerd 用 /var/run/netns 里的文件\
                 固定网络命名空间；podlab 用一个进程来持有它们。{user_note_zh}{host_note_zh}"
            ),
        ),
        commands: vec![format!(
            "unshare {user_option}{} sh -c '{script}'",
            unshare_options(&created, false)
        )],
        syscalls,
    }
}

/// Put a `pull:NAME` step before the step of each container whose image is pulled, where
/// kubelet pulls it: right before it creates that container (`EnsureImageExists` in
/// `startContainer`). Which images are pulled is the machine's business (the pull policy, the
/// image store, offline or not): `pulls` says.
pub fn insert_pulls(steps: &mut Vec<StepPlan>, pod: &Pod, pulls: impl Fn(&Container) -> bool) {
    let containers = pod.spec.init_containers.iter().chain(&pod.spec.containers);
    for c in containers.filter(|c| pulls(c)) {
        let at = steps.iter().position(|s| match &s.kind {
            StepKind::InitContainer(n) | StepKind::AppContainer(n) => n == &c.name,
            _ => false,
        });
        if let Some(at) = at {
            steps.insert(at, pull_step(c));
        }
    }
}

/// The step id of the pull of `container`'s image.
pub fn pull_step_id(container: &str) -> String {
    format!("pull:{container}")
}

fn pull_step(c: &Container) -> StepPlan {
    use super::image::{PullPolicy, Reference};
    let policy = PullPolicy::of(c.image_pull_policy.as_deref(), &c.image);
    let (why_en, why_zh) = match policy {
        PullPolicy::Always => (
            "imagePullPolicy is Always: kubelet pulls at every start of the container",
            "imagePullPolicy 是 Always：容器每次启动前 kubelet 都拉取",
        ),
        _ => (
            "imagePullPolicy is IfNotPresent and the image is not on this machine yet",
            "imagePullPolicy 是 IfNotPresent，而这台机器上还没有这个镜像",
        ),
    };
    let (registry, repository) = Reference::parse(&c.image)
        .map(|r| (r.registry, r.repository))
        .unwrap_or_else(|_| ("<registry>".into(), "<repository>".into()));
    StepPlan {
        id: pull_step_id(&c.name),
        kind: StepKind::Pull(c.name.clone()),
        title: Text::new(
            format!("Pull image \"{}\" for container \"{}\"", c.image, c.name),
            format!("为容器 \"{}\" 拉取镜像 \"{}\"", c.name, c.image),
        ),
        explain: Text::new(
            format!(
                "Before it creates a container, kubelet makes sure its image is on the machine; \
                 {why_en}. The pull reads the image's manifest from the registry, then fetches each \
                 layer, checks it against its sha256 digest and unpacks it into a directory of its \
                 own. Layers already on the machine are not fetched again. The container's root \
                 filesystem will be an overlay of these layer directories."
            ),
            format!(
                "创建容器之前，kubelet 先确保它的镜像在这台机器上；{why_zh}。拉取时先从镜像仓库读取镜像的 \
                 manifest，再逐层下载，用 sha256 摘要校验每一层，然后解包到各自的目录里。机器上已有的层不会再下载。\
                 容器的根文件系统就是这些层目录叠起来的 overlay。"
            ),
        ),
        commands: vec![
            format!("crictl pull {}   # what kubelet asks the runtime for", c.image),
            format!("podlab pull {}", c.image),
        ],
        syscalls: vec![
            format!("connect(<{registry}>); GET /v2/{repository}/manifests/<tag>"),
            format!("GET /v2/{repository}/blobs/<digest> (the config, then each layer)"),
            "mkdirat, openat, write, symlinkat (each layer unpacked into its own directory)".into(),
        ],
    }
}

/// "a, b and c".
fn english_list(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
    }
}

/// The nsenter(1) options that enter `kinds`, e.g. `--uts --ipc --net`.
fn options(kinds: &[Namespace]) -> String {
    kinds
        .iter()
        .map(|ns| ns.option())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The unshare(1) options that make `kinds`: a new PID namespace needs `--fork` (the first
/// child is its PID 1), and a container mounts its own /proc there.
fn unshare_options(kinds: &[Namespace], mount_proc: bool) -> String {
    let mut out = vec![];
    for ns in kinds {
        out.push(ns.option());
        if *ns == Namespace::Pid {
            out.push("--fork");
            if mount_proc {
                out.push("--mount-proc");
            }
        }
    }
    out.join(" ")
}

fn network_commands(pod: &Pod, pod_network: bool) -> Vec<String> {
    let in_pod = |cmd: &str| format!("nsenter --target <pause> --net {cmd}");
    if !pod_network {
        return vec![in_pod("ip link set lo up")];
    }
    let veth: String = format!(
        "pl-{}",
        pod.metadata.name.chars().take(12).collect::<String>()
    );
    vec![
        format!("ip link add {veth} type veth peer name eth0 netns <pause>"),
        format!("ip link set {veth} master podlab0 up"),
        in_pod("ip link set lo up"),
        in_pod("ip addr add <pod IP>/16 dev eth0"),
        in_pod("ip link set eth0 up"),
        in_pod("ip route add default via 10.88.0.1"),
    ]
}

/// On cgroup v2, when the pod's `cpu.weight` (kubelet's linear line) differs from what the same
/// shares give on a container leaf (runc's curve): both numbers, as a 1.35 node shows them.
fn two_weights(values: &super::resources::CgroupValues) -> Text {
    use super::resources::WEIGHT_FORMULA_IN_USE;
    let (Some(shares), Some(pod)) = (values.cpu_shares, values.cpu_weight()) else {
        return Text::new("", "");
    };
    let leaf = WEIGHT_FORMULA_IN_USE.shares_to_weight(shares);
    if leaf == pod {
        return Text::new("", "");
    }
    Text::new(
        format!(
            " kubelet writes the pod's cpu.weight itself with its own linear formula: {shares} shares \
             → weight {pod}. A container's leaf is written by runc (≥ 1.3.2) on a log curve, where \
             the same {shares} shares give {leaf}: on a real node the two levels show different \
             numbers for the same CPU."
        ),
        format!(
            "kubelet 自己用线性公式写 Pod 的 cpu.weight：{shares} shares → 权重 {pod}。容器的叶子 cgroup \
             由 runc（≥ 1.3.2）按对数曲线写入，同样的 {shares} shares 在那里是 {leaf}：在真实节点上，\
             同样的 CPU 在这两层显示不同的数字。"
        ),
    )
}

/// kubelet creates the pod's cgroup before anything else (SyncPod → "Create Cgroups for the pod").
fn pod_cgroup_step(pod: &Pod, cgroup_v2: bool, pod_max_pids: Option<i64>) -> StepPlan {
    use super::qos::{pod_cgroup_values, pod_qos};
    use super::resources::{
        pod_pids_limit, PodResources, NO_QUOTA, POD_PIDS_LIMIT, WEIGHT_FORMULA_IN_USE,
    };
    let resources = PodResources::from_spec(&pod.spec);
    let qos = pod_qos(&resources);
    let values = pod_cgroup_values(&resources);
    let pids_limit = pod_pids_limit(pod_max_pids.unwrap_or(POD_PIDS_LIMIT));
    let tier = qos
        .cgroup_dir()
        .map(|d| format!("{d}/"))
        .unwrap_or_default();
    let relative = format!("podlab/kubepods/{tier}pod<uid>");
    let mut commands = vec![];
    if cgroup_v2 {
        let dir = format!("/sys/fs/cgroup/{relative}");
        commands.push(
            "echo +cpu +memory +pids +hugetlb > /sys/fs/cgroup/podlab/cgroup.subtree_control  # and below"
                .into(),
        );
        commands.push(format!("mkdir -p {dir}"));
        if let (Some(shares), Some(weight)) = (values.cpu_shares, values.cpu_weight()) {
            commands.push(format!(
                "echo {weight} > {dir}/cpu.weight   # shares {shares}, kubelet's {}",
                values.weight_formula.formula()
            ));
            let leaf = WEIGHT_FORMULA_IN_USE.shares_to_weight(shares);
            if leaf != weight {
                commands.push(format!(
                    "# a container's leaf gets its weight from runc's curve: {shares} shares there → {leaf}"
                ));
            }
        }
        if let (Some(quota), Some(period)) = (values.cpu_quota_us, values.cpu_period_us) {
            if quota != NO_QUOTA {
                commands.push(format!("echo '{quota} {period}' > {dir}/cpu.max"));
            }
        }
        if let Some(mem) = values.memory_limit_bytes {
            commands.push(format!("echo {mem} > {dir}/memory.max"));
        }
        if let Some(pids) = pids_limit {
            commands.push(format!(
                "echo {pids} > {dir}/pids.max   # kubelet --pod-max-pids (default: no limit)"
            ));
        }
        if values.no_hugetlb {
            commands.push(format!(
                "for f in {dir}/hugetlb.*.max; do echo 0 > $f; done   # no huge pages requested"
            ));
        }
    } else {
        commands.push(format!(
            "mkdir -p /sys/fs/cgroup/{{cpu,memory,pids}}/{relative}"
        ));
        if let Some(shares) = values.cpu_shares {
            commands.push(format!(
                "echo {shares} > /sys/fs/cgroup/cpu/{relative}/cpu.shares"
            ));
        }
        if let (Some(quota), Some(period)) = (values.cpu_quota_us, values.cpu_period_us) {
            if quota != NO_QUOTA {
                commands.push(format!(
                    "echo {period} > /sys/fs/cgroup/cpu/{relative}/cpu.cfs_period_us"
                ));
                commands.push(format!(
                    "echo {quota} > /sys/fs/cgroup/cpu/{relative}/cpu.cfs_quota_us"
                ));
            }
        }
        if let Some(mem) = values.memory_limit_bytes {
            commands.push(format!(
                "echo {mem} > /sys/fs/cgroup/memory/{relative}/memory.limit_in_bytes"
            ));
        }
        if let Some(pids) = pids_limit {
            commands.push(format!(
                "echo {pids} > /sys/fs/cgroup/pids/{relative}/pids.max   # kubelet --pod-max-pids (default: no limit)"
            ));
        }
    }
    let qos_name = qos.as_str();
    let weights = if cgroup_v2 {
        two_weights(&values)
    } else {
        Text::new("", "")
    };
    StepPlan {
        id: "cgroup".into(),
        kind: StepKind::PodCgroup,
        title: Text::new(
            format!("Create the pod's cgroup (QoS class {qos_name})"),
            format!("创建 Pod 的 cgroup（QoS 类别 {qos_name}）"),
        ),
        explain: Text::new(
            format!(
                "Before any process exists, kubelet makes the pod's cgroup and writes the limits it \
                 computed from the containers' requests and limits. {qos_name}: {}.{}",
                qos.explanation().en,
                weights.en
            ),
            format!(
                "在任何进程出现之前，kubelet 先创建 Pod 的 cgroup，写入它根据各容器 requests 和 limits \
                 算出的限制。{qos_name}：{}。{}",
                qos.explanation().zh,
                weights.zh
            ),
        ),
        commands,
        syscalls: vec![
            "mkdir(\"…/pod<uid>\", 0755)".into(),
            "openat(…/cpu.shares) + write(…)".into(),
        ],
    }
}

fn container_step(
    pod: &Pod,
    c: &Container,
    kind: StepKind,
    title: Text,
    mut explain: Text,
) -> StepPlan {
    let namespaces = ContainerNamespaces::for_pod(pod);
    if namespaces.share_pid {
        explain
            .en
            .push_str(" shareProcessNamespace: it joins pause's PID namespace too.");
        explain
            .zh
            .push_str("shareProcessNamespace：它也加入 pause 的 PID 命名空间。");
    } else if namespaces.own_pid {
        explain
            .en
            .push_str(" It gets its own PID namespace: that is Kubernetes' default.");
        explain
            .zh
            .push_str("它有自己的 PID 命名空间：这是 Kubernetes 的默认做法。");
    }
    if !c.env.is_empty() {
        explain.en.push_str(
            " kubelet resolves its environment first: fieldRef and resourceFieldRef values, then \
             $(VAR) in the values, command and args. There is no API server and no Service, so \
             no KUBERNETES_SERVICE_* variables.",
        );
        explain.zh.push_str(
            "kubelet 先解析它的环境变量：fieldRef 和 resourceFieldRef 的值，再展开值、command 和 args \
             里的 $(VAR)。这里没有 API server，也没有 Service，所以没有 KUBERNETES_SERVICE_* 变量。",
        );
    }
    let joined = namespaces.joined();
    let created = namespaces.created();
    let mut syscalls: Vec<String> = vec![];
    if namespaces.join_user {
        explain.en.push_str(
            " First it joins the pod's user namespace and becomes its root, 65536·N on the host.",
        );
        explain
            .zh
            .push_str("它先加入 Pod 的 user 命名空间，成为其中的 root，也就是宿主机上的 65536·N。");
        syscalls.push("setns(/proc/<pause>/ns/user, CLONE_NEWUSER)".into());
        syscalls.push("setresuid(0, 0, 0)".into());
    }
    syscalls.extend(
        joined
            .iter()
            .map(|ns| format!("setns(/proc/<pause>/ns/{}, 0)", ns.proc_name())),
    );
    syscalls.push(format!("unshare({})", clone_flag_names(&created)));
    syscalls.extend([
        "clone(CLONE_PARENT | SIGCHLD)".to_string(),
        "mount(\"overlay\", rootfs, \"overlay\", …)".into(),
        "mount(\"proc\", rootfs/proc, \"proc\", …)".into(),
        "pivot_root(\".\", \".\"); umount2(\".\", MNT_DETACH)".into(),
        "capset(containerd defaults); prctl(PR_SET_NO_NEW_PRIVS)".into(),
    ]);
    let seccomp = Seccomp::of(pod, c);
    if seccomp.is_filtered() {
        syscalls.push(seccomp_syscall(&seccomp));
    }
    explain = explain.followed_by(container_seccomp_text(&seccomp));
    syscalls.extend([format!(
        "execve({:?}, …)",
        c.command
            .first()
            .map(String::as_str)
            .unwrap_or("<image default>")
    )]);
    let mut command = c.command.clone();
    command.extend(c.args.iter().cloned());
    let shown = if command.is_empty() {
        "<image default command>".to_string()
    } else {
        command.join(" ")
    };
    StepPlan {
        id: match &kind {
            StepKind::InitContainer(n) => format!("init:{n}"),
            _ => format!("container:{}", c.name),
        },
        kind,
        title,
        explain,
        commands: vec![format!(
            "nsenter --target <pause> {} unshare {} chroot <rootfs of {}> {shown}",
            options(&joined),
            unshare_options(&created, true),
            c.image
        )],
        syscalls,
    }
}

/// The install of a filter as the syscall list shows it.
fn seccomp_syscall(seccomp: &Seccomp) -> String {
    match seccomp {
        Seccomp::Unconfined(_) => "# no seccomp filter (Unconfined)".into(),
        Seccomp::RuntimeDefault => {
            "seccomp(SECCOMP_SET_MODE_FILTER, 0, <RuntimeDefault as BPF>)".into()
        }
        Seccomp::Localhost(path) => {
            format!("seccomp(SECCOMP_SET_MODE_FILTER, 0, <{path} as BPF>)")
        }
    }
}

fn pause_seccomp_text(pod: &Pod) -> Text {
    match Seccomp::of_sandbox(pod) {
        Seccomp::Unconfined(_) => Text::new(
            " A container of this pod is privileged, so the sandbox is too, and containerd gives \
             pause no seccomp filter.",
            "这个 Pod 里有特权容器，所以沙箱也是特权的，containerd 不给 pause 加 seccomp 过滤器。",
        ),
        _ => Text::new(
            " Right before exec it installs containerd's default seccomp filter (RuntimeDefault): \
             kubelet asks for it for every sandbox, whatever the pod sets.",
            "在 exec 之前，它装上 containerd 的默认 seccomp 过滤器（RuntimeDefault）：\
             不管 Pod 怎么设置，kubelet 都为每个沙箱要求它。",
        ),
    }
}

fn container_seccomp_text(seccomp: &Seccomp) -> Text {
    match seccomp {
        Seccomp::RuntimeDefault => Text::new(
            " seccompProfile RuntimeDefault: right before exec it installs containerd's default \
             filter; a call outside it fails with EPERM.",
            "seccompProfile 为 RuntimeDefault：在 exec 之前装上 containerd 的默认过滤器；\
             不在名单里的系统调用返回 EPERM。",
        ),
        Seccomp::Localhost(path) => Text::new(
            format!(
                " seccompProfile Localhost: right before exec it installs the filter of {path}."
            ),
            format!("seccompProfile 为 Localhost：在 exec 之前装上 {path} 的过滤器。"),
        ),
        Seccomp::Unconfined(UnconfinedBecause::NotSet) => Text::new(
            " No seccompProfile: kubelet 1.35 (seccompDefault off, its default) runs it \
             Unconfined, with no filter; only pause gets RuntimeDefault.",
            "没有设置 seccompProfile：kubelet 1.35（seccompDefault 默认关闭）让它以 Unconfined \
             运行，没有过滤器；只有 pause 得到 RuntimeDefault。",
        ),
        Seccomp::Unconfined(UnconfinedBecause::Asked) => Text::new(
            " seccompProfile Unconfined: no filter.",
            "seccompProfile 为 Unconfined：没有过滤器。",
        ),
        Seccomp::Unconfined(UnconfinedBecause::Privileged) => Text::new(
            " Privileged: containerd installs no seccomp filter.",
            "特权容器：containerd 不装 seccomp 过滤器。",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(extra: &str) -> Pod {
        let yaml = format!(
            "apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec:\n{extra}  containers:\n  \
             - {{name: app, image: busybox, command: [sleep, '60']}}\n"
        );
        crate::spec::parse_pod(&yaml, "test.yaml")
            .expect("valid pod")
            .pod
    }

    fn step<'a>(steps: &'a [StepPlan], id: &str) -> &'a StepPlan {
        steps
            .iter()
            .find(|s| s.id == id)
            .unwrap_or_else(|| panic!("no step {id}"))
    }

    /// The namespaces step says exactly what the sandbox is given: the clone flags, the
    /// unshare options, and a hostname only in a uts namespace of the pod's own.
    #[test]
    fn the_narration_is_the_sandbox_plan() {
        for extra in [
            "",
            "  hostNetwork: true\n",
            "  hostPID: true\n",
            "  hostIPC: true\n",
            "  hostNetwork: true\n  hostPID: true\n  hostIPC: true\n",
            "  shareProcessNamespace: true\n",
            "  hostUsers: false\n",
        ] {
            let pod = pod(extra);
            let plan = SandboxNamespaces::for_pod(&pod);
            let steps = super::plan(&pod, PlanContext::default());
            let ns = step(&steps, "namespaces");
            let clone = &ns.syscalls[0];
            let unshare = &ns.commands[0];
            for kind in Namespace::ALL {
                let named = clone.contains(kind.clone_flag_name());
                let option = unshare.split_whitespace().any(|w| w == kind.option());
                assert_eq!(named, plan.creates(kind), "{kind:?} in {clone} ({extra:?})");
                assert_eq!(
                    option,
                    plan.creates(kind),
                    "{kind:?} in {unshare} ({extra:?})"
                );
            }
            assert_eq!(clone.contains("CLONE_NEWUSER"), plan.user, "{extra:?}");
            assert_eq!(unshare.contains("--user "), plan.user, "{extra:?}");
            let sets_hostname = ns.syscalls.iter().any(|s| s.starts_with("sethostname("));
            assert_eq!(sets_hostname, plan.sets_hostname(), "{extra:?}");
            assert_eq!(unshare.contains("hostname web"), plan.sets_hostname());
            assert_eq!(
                steps.iter().any(|s| s.kind == StepKind::Network),
                plan.creates(Namespace::Net),
                "a network step only for a net namespace of the pod's own ({extra:?})"
            );
        }
    }

    #[test]
    fn a_host_network_pod_gets_no_uts_namespace_and_no_hostname() {
        let steps = plan(&pod("  hostNetwork: true\n"), PlanContext::default());
        let ns = step(&steps, "namespaces");
        assert_eq!(
            ns.syscalls[0],
            "clone(CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNS | SIGCHLD)"
        );
        assert!(!ns.syscalls.iter().any(|s| s.contains("sethostname")));
        assert_eq!(
            ns.commands,
            ["unshare --pid --fork --ipc --mount sh -c 'exec sleep infinity'"]
        );
        assert!(ns.explain.en.contains("uses the host's uts, net namespace"));
        assert!(ns.explain.en.contains("keeps the host's name"));
    }

    #[test]
    fn a_default_pod_gets_every_namespace_and_its_name() {
        let steps = plan(&pod(""), PlanContext::default());
        let ns = step(&steps, "namespaces");
        assert_eq!(
            ns.syscalls[..2],
            [
                "clone(CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWNS | SIGCHLD)",
                "sethostname(\"web\")",
            ]
        );
        assert_eq!(
            ns.commands,
            ["unshare --pid --fork --uts --ipc --net --mount sh -c 'hostname web; exec sleep infinity'"]
        );
    }

    /// A container's step joins what init joins, in the same order, and makes what init makes.
    #[test]
    fn container_steps_are_the_container_plan() {
        for extra in ["", "  shareProcessNamespace: true\n", "  hostPID: true\n"] {
            let pod = pod(extra);
            let plan = ContainerNamespaces::for_pod(&pod);
            let steps = super::plan(&pod, PlanContext::default());
            let app = step(&steps, "container:app");
            let setns: Vec<&str> = app
                .syscalls
                .iter()
                .filter_map(|s| s.strip_prefix("setns(/proc/<pause>/ns/"))
                .filter_map(|s| s.strip_suffix(", 0)"))
                .collect();
            let joined: Vec<&str> = plan.joined().iter().map(|k| k.proc_name()).collect();
            assert_eq!(setns, joined, "{extra:?}");
            let unshare = format!("unshare({})", clone_flag_names(&plan.created()));
            assert!(app.syscalls.contains(&unshare), "{unshare} ({extra:?})");
            assert!(app.commands[0].starts_with(&format!(
                "nsenter --target <pause> {} unshare {} chroot",
                options(&plan.joined()),
                unshare_options(&plan.created(), true)
            )));
        }
    }

    /// Without root every command enters the node's (or pause's) user namespace first, as
    /// the shim does; without enforced limits the cgroup step makes nothing and says so.
    #[test]
    fn without_root_the_commands_enter_the_nodes_user_namespace() {
        let pod = pod("");
        let ctx = |limits_enforced| PlanContext {
            pod_network: true,
            rootless: Some(Rootless { limits_enforced }),
            ..PlanContext::default()
        };
        let steps = super::plan(&pod, ctx(false));
        let cgroup = step(&steps, "cgroup");
        assert_eq!(cgroup.commands.len(), 1);
        assert!(cgroup.commands[0].starts_with("# without root"));
        assert!(cgroup.explain.zh.contains("不创建 cgroup"));
        let ns = step(&steps, "namespaces");
        assert!(ns.commands[0].starts_with(
            "nsenter --target <podlab-node> --user --preserve-credentials --net unshare "
        ));
        assert!(ns.explain.en.contains("podlab-node's user namespace"));
        assert_eq!(step(&steps, "pause").commands, ["exec /pause"]);
        let network = step(&steps, "network");
        assert!(network.commands.iter().all(|c| {
            c.starts_with("nsenter --target <podlab-node> --user --preserve-credentials --net ip ")
                || c.starts_with("nsenter --target <pause> --user --preserve-credentials --net ip ")
        }));
        let app = step(&steps, "container:app");
        assert!(app.commands[0]
            .starts_with("nsenter --target <pause> --user --preserve-credentials --uts"));
        // With a delegated subtree the cgroup step is the root one: the subtree is the user's.
        let delegated = super::plan(&pod, ctx(true));
        let as_root = super::plan(
            &pod,
            PlanContext {
                pod_network: true,
                ..PlanContext::default()
            },
        );
        assert_eq!(
            step(&delegated, "cgroup").commands,
            step(&as_root, "cgroup").commands
        );
    }

    /// A pull is a step of its own right before the container it is for, only for the images
    /// the machine really pulls.
    #[test]
    fn pulls_come_right_before_their_container() {
        let yaml = "apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  initContainers:\n  \
             - {name: setup, image: busybox, command: ['true']}\n  containers:\n  \
             - {name: app, image: 'nginx:1.29'}\n  - {name: side, image: busybox, command: [sleep, '60']}\n";
        let pod = crate::spec::parse_pod(yaml, "test.yaml")
            .expect("valid pod")
            .pod;
        let mut steps = super::plan(&pod, PlanContext::default());
        let without: Vec<String> = steps.iter().map(|s| s.id.clone()).collect();
        insert_pulls(&mut steps, &pod, |c| c.image != "busybox");
        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        let at = ids
            .iter()
            .position(|id| *id == "pull:app")
            .expect("pull:app");
        assert_eq!(ids[at + 1], "container:app");
        assert_eq!(ids.len(), without.len() + 1);
        let pull = step(&steps, "pull:app");
        assert_eq!(pull.kind, StepKind::Pull("app".into()));
        assert!(pull.explain.en.contains("IfNotPresent"));
        assert!(pull.commands.iter().any(|c| c == "podlab pull nginx:1.29"));
        assert!(
            pull.syscalls[0].contains("docker.io") && pull.syscalls[0].contains("library/nginx")
        );
        // busybox untagged is Always; an init container's pull is before it too.
        insert_pulls(&mut steps, &pod, |c| c.name == "setup");
        let ids: Vec<&str> = steps.iter().map(|s| s.id.as_str()).collect();
        let at = ids
            .iter()
            .position(|id| *id == "pull:setup")
            .expect("pull:setup");
        assert_eq!(ids[at + 1], "init:setup");
        assert!(step(&steps, "pull:setup").explain.en.contains("Always"));
    }
}
