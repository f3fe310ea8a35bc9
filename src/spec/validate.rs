//! API-server-style checks of a parsed Pod (`pkg/apis/core/validation` in Kubernetes),
//! limited to what podlab models. All violations are collected, not just the first.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use crate::i18n::Text;

use super::names::{is_dns_label, is_env_var_name, is_port_name, suggest_dns_label};
use super::quantity::Quantity;
use super::types::*;
use super::yaml::FieldPath;

/// One broken rule, at a field path (located later against the source).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub path: FieldPath,
    pub message: Text,
    pub expected: Option<Text>,
    pub hint: Option<Text>,
}

fn t(en: impl Into<String>, zh: impl Into<String>) -> Text {
    Text::new(en, zh)
}

/// Checks every rule; an empty list means the pod is valid.
pub fn validate(pod: &Pod) -> Vec<Violation> {
    let mut checker = Checker::default();
    checker.pod(pod);
    checker.violations
}

#[derive(Default)]
struct Checker {
    violations: Vec<Violation>,
    /// The pod's terminationGracePeriodSeconds (a sleep hook must fit in it).
    grace: i64,
    /// `spec.os.name` is set (a stop signal needs it).
    os_named: bool,
}

fn root() -> FieldPath {
    FieldPath::root()
}

impl Checker {
    fn add(&mut self, path: FieldPath, message: Text, expected: Option<Text>, hint: Option<Text>) {
        self.violations.push(Violation {
            path,
            message,
            expected,
            hint,
        });
    }

    fn pod(&mut self, pod: &Pod) {
        if pod.kind != "Pod" {
            self.add(
                root().key("kind"),
                t(format!("kind {:?} is not a Pod", pod.kind), format!("kind {:?} 不是 Pod", pod.kind)),
                Some(t("Pod", "Pod")),
                Some(t(
                    "podlab runs single Pods; for a Deployment or Job, copy its spec.template into a Pod manifest",
                    "podlab 只运行单个 Pod；对于 Deployment 或 Job，把它的 spec.template 复制到一个 Pod 清单里",
                )),
            );
        }
        if pod.api_version != "v1" {
            self.add(
                root().key("apiVersion"),
                t(
                    format!(
                        "apiVersion {:?} is not the API version of Pods",
                        pod.api_version
                    ),
                    format!("apiVersion {:?} 不是 Pod 的 API 版本", pod.api_version),
                ),
                Some(t("v1", "v1")),
                None,
            );
        }
        let meta = root().key("metadata");
        self.dns_label(meta.key("name"), &pod.metadata.name, "pod name", "Pod 名称");
        if let Some(namespace) = &pod.metadata.namespace {
            self.dns_label(meta.key("namespace"), namespace, "namespace", "命名空间");
        }
        self.spec(&pod.spec);
    }

    fn spec(&mut self, spec: &PodSpec) {
        let path = root().key("spec");
        self.grace = spec.grace_period_seconds();
        if let Some(os) = &spec.os {
            self.os_named = true;
            if os.name != "linux" {
                self.add(
                    path.key("os").key("name"),
                    t(
                        format!("podlab runs Linux pods, not {:?}", os.name),
                        format!("podlab 只运行 Linux Pod，不支持 {:?}", os.name),
                    ),
                    Some(t("linux", "linux")),
                    None,
                );
            }
        }
        if spec.containers.is_empty() {
            self.add(
                path.key("containers"),
                t("the pod has no containers", "Pod 里没有容器"),
                Some(t("at least one container", "至少一个容器")),
                None,
            );
        }
        if let Some(sc) = &spec.security_context {
            let at = path.key("securityContext");
            self.id_field(at.key("runAsUser"), sc.run_as_user, "runAsUser");
            self.id_field(at.key("runAsGroup"), sc.run_as_group, "runAsGroup");
            self.id_field(at.key("fsGroup"), sc.fs_group, "fsGroup");
            for (i, g) in sc.supplemental_groups.iter().enumerate() {
                self.id_field(
                    at.key("supplementalGroups").index(i),
                    Some(*g),
                    "a supplemental group",
                );
            }
        }
        let volumes = self.volumes(&path, &spec.volumes);
        let mut names: HashMap<&str, FieldPath> = HashMap::new();
        let groups = [
            ("initContainers", &spec.init_containers, true),
            ("containers", &spec.containers, false),
        ];
        for (field, containers, init) in groups {
            for (i, container) in containers.iter().enumerate() {
                let at = path.key(field).index(i);
                if let Some(first) = names.get(container.name.as_str()) {
                    self.add(
                        at.key("name"),
                        t(
                            format!(
                                "the container name {:?} is already used by {first}",
                                container.name
                            ),
                            format!("容器名 {:?} 已被 {first} 使用", container.name),
                        ),
                        Some(t(
                            "container names unique across initContainers and containers",
                            "initContainers 和 containers 中的容器名互不相同",
                        )),
                        None,
                    );
                } else {
                    names.insert(&container.name, at.key("name"));
                }
                self.container(&at, container, init, &volumes);
            }
        }
        self.violations.extend(super::env_check::check(spec));
        self.violations.extend(super::dns_check::check(spec));
        if let Some(resources) = &spec.resources {
            self.resources(&path.key("resources"), resources);
            self.pod_level_resources(&path.key("resources"), spec);
        }
        if let Some(grace) = spec.termination_grace_period_seconds {
            self.non_negative(path.key("terminationGracePeriodSeconds"), grace);
        }
        if let Some(hostname) = &spec.hostname {
            self.dns_label(path.key("hostname"), hostname, "hostname", "主机名");
        }
        if spec.own_user_namespace() {
            // The API server's rule: a pod with a user namespace of its own shares no other
            // namespace with the host.
            for (field, shared) in [
                ("hostNetwork", spec.host_network),
                ("hostPID", spec.host_pid),
                ("hostIPC", spec.host_ipc),
            ] {
                if shared {
                    self.add(
                        path.key("hostUsers"),
                        t(
                            format!("hostUsers: false cannot be used with {field}: true"),
                            format!("hostUsers: false 不能和 {field}: true 一起使用"),
                        ),
                        Some(t(
                            "no host namespace in a pod with its own user namespace",
                            "有自己 user 命名空间的 Pod 不共享宿主机的任何命名空间",
                        )),
                        None,
                    );
                }
            }
        }
        let pod_seccomp = spec
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref());
        if let Some(profile) = pod_seccomp {
            let at = path.key("securityContext").key("seccompProfile");
            self.violations
                .extend(super::seccomp::validate(at, profile));
        }
        if spec.share_process_namespace && spec.host_pid {
            self.add(
                path.key("shareProcessNamespace"),
                t(
                    "shareProcessNamespace and hostPID cannot both be true",
                    "shareProcessNamespace 和 hostPID 不能同时为 true",
                ),
                Some(t("at most one of them", "最多其中之一")),
                None,
            );
        }
    }

    /// Checks the volumes and returns the declared names.
    fn volumes<'a>(&mut self, spec: &FieldPath, volumes: &'a [Volume]) -> HashSet<&'a str> {
        let mut names = HashSet::new();
        for (i, volume) in volumes.iter().enumerate() {
            let at = spec.key("volumes").index(i);
            self.dns_label(at.key("name"), &volume.name, "volume name", "卷名");
            if !names.insert(volume.name.as_str()) {
                self.add(
                    at.key("name"),
                    t(
                        format!("the volume name {:?} is declared twice", volume.name),
                        format!("卷名 {:?} 重复声明", volume.name),
                    ),
                    Some(t("unique volume names", "互不相同的卷名")),
                    None,
                );
            }
            match (&volume.empty_dir, &volume.host_path) {
                (Some(_), Some(_)) => self.add(
                    at.key("hostPath"),
                    t(
                        "the volume has two sources, emptyDir and hostPath",
                        "这个卷有两个来源：emptyDir 和 hostPath",
                    ),
                    Some(t("exactly one volume source", "恰好一个卷来源")),
                    None,
                ),
                (None, None) => self.add(
                    at.clone(),
                    t("the volume has no source", "这个卷没有来源"),
                    Some(t(
                        "exactly one of emptyDir or hostPath",
                        "emptyDir 或 hostPath 中的一个",
                    )),
                    None,
                ),
                _ => {}
            }
            if let Some(empty_dir) = &volume.empty_dir {
                self.empty_dir(&at.key("emptyDir"), empty_dir);
            }
            if let Some(host_path) = &volume.host_path {
                self.absolute_path(at.key("hostPath").key("path"), &host_path.path, false);
            }
        }
        names
    }

    fn empty_dir(&mut self, at: &FieldPath, empty_dir: &EmptyDirVolumeSource) {
        if !matches!(empty_dir.medium.as_str(), "" | "Memory") {
            self.add(
                at.key("medium"),
                t(
                    format!(
                        "the medium {:?} is not supported by podlab",
                        empty_dir.medium
                    ),
                    format!("podlab 不支持介质 {:?}", empty_dir.medium),
                ),
                Some(t(
                    "\"\" (node disk) or \"Memory\" (tmpfs)",
                    "\"\"（节点磁盘）或 \"Memory\"（tmpfs）",
                )),
                None,
            );
        }
        if let Some(size) = &empty_dir.size_limit {
            self.non_negative_quantity(at.key("sizeLimit"), size);
        }
    }

    fn container(&mut self, at: &FieldPath, c: &Container, init: bool, volumes: &HashSet<&str>) {
        self.dns_label(at.key("name"), &c.name, "container name", "容器名");
        if c.image.trim().is_empty() {
            self.add(
                at.key("image"),
                t("the image is empty", "镜像为空"),
                Some(t(
                    "an image name such as busybox or nginx:1.27",
                    "镜像名，例如 busybox 或 nginx:1.27",
                )),
                None,
            );
        } else if c.image.trim() != c.image {
            self.add(
                at.key("image"),
                t(
                    "the image name has leading or trailing spaces",
                    "镜像名前后有空格",
                ),
                Some(t("an image name without spaces", "不带空格的镜像名")),
                None,
            );
        }
        if let Some(policy) = &c.image_pull_policy {
            if crate::kube::image::PullPolicy::parse(policy).is_none() {
                self.add(
                    at.key("imagePullPolicy"),
                    t(
                        "imagePullPolicy is Always, IfNotPresent or Never",
                        "imagePullPolicy 只能是 Always、IfNotPresent 或 Never",
                    ),
                    Some(t(
                        "Always, IfNotPresent or Never (or leave it out: the default depends on the tag)",
                        "Always、IfNotPresent 或 Never（或者不写：默认值取决于标签）",
                    )),
                    None,
                );
            }
        }
        self.restart_rules(at, c, init);
        let sidecar = init && c.restart_policy == Some(ContainerRestartPolicy::Always);
        self.resize_policy(at, c, init && !sidecar);
        for (i, env) in c.env.iter().enumerate() {
            if !is_env_var_name(&env.name) {
                self.add(
                    at.key("env").index(i).key("name"),
                    t(
                        format!("{:?} is not a valid environment variable name", env.name),
                        format!("{:?} 不是合法的环境变量名", env.name),
                    ),
                    Some(t(
                        "letters, digits, '_', '-' or '.', not starting with a digit",
                        "字母、数字、'_'、'-' 或 '.'，且不以数字开头",
                    )),
                    None,
                );
            }
        }
        if let Some(sc) = &c.security_context {
            self.security_context(&at.key("securityContext"), sc);
        }
        self.ports(at, &c.ports);
        self.resources(&at.key("resources"), &c.resources);
        self.mounts(at, &c.volume_mounts, volumes);
        let probes = [
            ("livenessProbe", &c.liveness_probe, true),
            ("readinessProbe", &c.readiness_probe, false),
            ("startupProbe", &c.startup_probe, true),
        ];
        for (field, probe, success_must_be_one) in probes {
            let Some(probe) = probe else { continue };
            if init && !sidecar {
                self.only_on_sidecars(at.key(field));
            }
            self.probe(&at.key(field), probe, success_must_be_one);
        }
        if let Some(profile) = c
            .security_context
            .as_ref()
            .and_then(|s| s.seccomp_profile.as_ref())
        {
            let at = at.key("securityContext").key("seccompProfile");
            self.violations
                .extend(super::seccomp::validate(at, profile));
        }
        if let Some(lifecycle) = &c.lifecycle {
            if init && !sidecar {
                self.only_on_sidecars(at.key("lifecycle"));
            }
            if let Some(signal) = &lifecycle.stop_signal {
                self.stop_signal(at.key("lifecycle").key("stopSignal"), signal);
            }
            for (field, handler) in [
                ("postStart", &lifecycle.post_start),
                ("preStop", &lifecycle.pre_stop),
            ] {
                if let Some(handler) = handler {
                    let handlers = [
                        ("exec", handler.exec.is_some()),
                        ("httpGet", handler.http_get.is_some()),
                        ("tcpSocket", handler.tcp_socket.is_some()),
                        ("sleep", handler.sleep.is_some()),
                    ];
                    self.one_handler(&at.key("lifecycle").key(field), &handlers);
                    if let Some(sleep) = &handler.sleep {
                        self.sleep(
                            at.key("lifecycle").key(field).key("sleep").key("seconds"),
                            sleep.seconds,
                        );
                    }
                    self.actions(
                        &at.key("lifecycle").key(field),
                        &handler.exec,
                        &handler.http_get,
                        &handler.tcp_socket,
                    );
                }
            }
        }
    }

    /// A uid or gid: the API server's `IsValidUserID` / `IsValidGroupID`.
    fn id_field(&mut self, at: FieldPath, value: Option<i64>, what: &str) {
        let Some(value) = value else { return };
        if !(0..=i64::from(i32::MAX)).contains(&value) {
            self.add(
                at,
                t(
                    format!("{what} {value} must be between 0 and 2147483647, inclusive"),
                    format!("{what} {value} 必须在 0 到 2147483647 之间（含两端）"),
                ),
                Some(t(
                    "a uid or gid from 0 to 2147483647",
                    "0 到 2147483647 之间的 uid 或 gid",
                )),
                None,
            );
        }
    }

    /// A capability as Kubernetes writes it: `NET_ADMIN`, not `CAP_NET_ADMIN`; `ALL`.
    fn capability_name(&mut self, at: FieldPath, name: &str) {
        if name == "ALL" || crate::kube::security::capability_bit(name).is_some() {
            return;
        }
        let (message, hint) = if let Some(bare) = name
            .strip_prefix("CAP_")
            .or_else(|| name.strip_prefix("cap_"))
        {
            (
                t(
                    format!("{name}: Kubernetes writes capabilities without CAP_"),
                    format!("{name}：Kubernetes 写 capability 时不带 CAP_"),
                ),
                Some(t(
                    format!("write {}: containerd puts CAP_ in front of every name, and runc ignores a CAP_CAP_ it does not know, so on a cluster this line would do nothing", bare.to_ascii_uppercase()),
                    format!("写成 {}：containerd 会在每个名字前加 CAP_，runc 会忽略它不认识的 CAP_CAP_，所以在集群里这一行什么也不做", bare.to_ascii_uppercase()),
                )),
            )
        } else if name.eq_ignore_ascii_case("all") {
            (
                t(
                    format!("{name}: write ALL in capitals"),
                    format!("{name}：请用大写的 ALL"),
                ),
                Some(t(
                    "containerd recognises only ALL; any other spelling adds or drops nothing",
                    "containerd 只认识 ALL；其他写法既不会添加也不会去掉任何 capability",
                )),
            )
        } else {
            (
                t(
                    format!("{name} is not a Linux capability"),
                    format!("{name} 不是 Linux capability"),
                ),
                None,
            )
        };
        self.add(
            at,
            message,
            Some(t(
                "a capability name such as NET_ADMIN, SYS_TIME or CHOWN (see capabilities(7)), or ALL",
                "capability 名字，例如 NET_ADMIN、SYS_TIME 或 CHOWN（见 capabilities(7)），或 ALL",
            )),
            hint,
        );
    }

    /// The API server's `ValidateSecurityContext` rules for what podlab models.
    fn security_context(&mut self, at: &FieldPath, sc: &SecurityContext) {
        self.id_field(at.key("runAsUser"), sc.run_as_user, "runAsUser");
        self.id_field(at.key("runAsGroup"), sc.run_as_group, "runAsGroup");
        if let Some(caps) = &sc.capabilities {
            for (field, names) in [("add", &caps.add), ("drop", &caps.drop)] {
                for (i, name) in names.iter().enumerate() {
                    self.capability_name(at.key("capabilities").key(field).index(i), name);
                }
            }
            let sys_admin = caps.add.iter().any(|n| n.eq_ignore_ascii_case("SYS_ADMIN"));
            if sys_admin && sc.allow_privilege_escalation == Some(false) {
                self.add(
                    at.key("allowPrivilegeEscalation"),
                    t(
                        "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN",
                        "不能同时把 `allowPrivilegeEscalation` 设为 false、在 `capabilities.add` 里加 SYS_ADMIN",
                    ),
                    Some(t(
                        "one of them: CAP_SYS_ADMIN is enough to gain any privilege",
                        "二者选其一：有了 CAP_SYS_ADMIN 就能获得任何权限",
                    )),
                    None,
                );
            }
        }
        if sc.privileged == Some(true) && sc.allow_privilege_escalation == Some(false) {
            self.add(
                at.key("allowPrivilegeEscalation"),
                t(
                    "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                    "不能同时把 `allowPrivilegeEscalation` 设为 false、把 `privileged` 设为 true",
                ),
                Some(t(
                    "one of them: a privileged container may always gain privileges",
                    "二者选其一：特权容器总是可以提升权限",
                )),
                None,
            );
        }
    }

    /// The API server's rules for `lifecycle.stopSignal` with ContainerStopSignals on.
    fn stop_signal(&mut self, at: FieldPath, signal: &str) {
        if !self.os_named {
            self.add(
                at,
                t(
                    "a stop signal may only be set when the pod names its OS",
                    "只有 Pod 指明了操作系统，才能设置停止信号",
                ),
                Some(t("spec.os.name: linux", "spec.os.name: linux")),
                Some(t(
                    "add `os: {name: linux}` under spec, as the API server asks",
                    "在 spec 下加上 `os: {name: linux}`，API server 也这样要求",
                )),
            );
        } else if !crate::kube::stop_signal::is_linux_stop_signal(signal) {
            self.add(
                at,
                t(
                    format!("{signal:?} is not a stop signal Linux pods may use"),
                    format!("{signal:?} 不是 Linux Pod 可用的停止信号"),
                ),
                Some(t(
                    "a signal name such as SIGTERM, SIGQUIT, SIGUSR1 or SIGRTMIN+1",
                    "信号名，例如 SIGTERM、SIGQUIT、SIGUSR1 或 SIGRTMIN+1",
                )),
                None,
            );
        }
    }

    /// The API server's rules for a container's `restartPolicy` and `restartPolicyRules`
    /// (ContainerRestartRules, beta and on in 1.35): an init container's may only be Always
    /// (a sidecar); rules need the container's own restartPolicy and exit codes to match.
    fn restart_rules(&mut self, at: &FieldPath, c: &Container, init: bool) {
        if init
            && c.restart_policy
                .is_some_and(|p| p != ContainerRestartPolicy::Always)
        {
            self.add(
                at.key("restartPolicy"),
                t(
                    "an init container's restartPolicy may only be Always (it makes it a sidecar)",
                    "init 容器的 restartPolicy 只能是 Always（这让它成为边车容器）",
                ),
                Some(t(
                    "Always, or no restartPolicy",
                    "Always，或者不写 restartPolicy",
                )),
                None,
            );
        }
        if c.restart_policy_rules.is_empty() {
            return;
        }
        let rules = at.key("restartPolicyRules");
        if init {
            self.add(
                rules.clone(),
                t(
                    "podlab models restartPolicyRules on app containers only",
                    "podlab 只在普通容器上支持 restartPolicyRules",
                ),
                Some(t(
                    "restartPolicyRules on containers",
                    "在 containers 里写 restartPolicyRules",
                )),
                None,
            );
            return;
        }
        if c.restart_policy.is_none() {
            self.add(
                rules.clone(),
                t(
                    "restartPolicyRules need the container's own restartPolicy",
                    "restartPolicyRules 需要容器自己的 restartPolicy",
                ),
                Some(t(
                    "a restartPolicy (Always, OnFailure or Never) next to the rules",
                    "在规则旁边写 restartPolicy（Always、OnFailure 或 Never）",
                )),
                None,
            );
        }
        for (i, rule) in c.restart_policy_rules.iter().enumerate() {
            let at = rules.index(i);
            match &rule.exit_codes {
                None => self.add(
                    at.key("exitCodes"),
                    t("a rule needs exitCodes", "规则需要 exitCodes"),
                    Some(t(
                        "exitCodes: {operator: In or NotIn, values: [codes]}",
                        "exitCodes: {operator: In 或 NotIn, values: [退出码]}",
                    )),
                    None,
                ),
                Some(codes) => {
                    let bad = codes.values.iter().find(|v| !(0..=255).contains(*v));
                    if codes.values.is_empty() || bad.is_some() {
                        self.add(
                            at.key("exitCodes").key("values"),
                            t(
                                "exit codes are a non-empty list of numbers from 0 to 255",
                                "退出码是 0 到 255 之间的数字组成的非空列表",
                            ),
                            Some(t("values such as [42]", "例如 [42] 这样的 values")),
                            None,
                        );
                    }
                }
            }
        }
    }

    /// The API server's rules for `resizePolicy`: one entry per resource, and none on an init
    /// container that runs to completion (its resources cannot be resized).
    fn resize_policy(&mut self, at: &FieldPath, c: &Container, plain_init: bool) {
        if plain_init && !c.resize_policy.is_empty() {
            self.add(
                at.key("resizePolicy"),
                t(
                    "resizePolicy is not allowed on an init container without restartPolicy: Always",
                    "没有 restartPolicy: Always 的 init 容器不能设置 resizePolicy",
                ),
                Some(t(
                    "resizePolicy only on containers and sidecars",
                    "只在普通容器和边车容器上设置 resizePolicy",
                )),
                None,
            );
        }
        let mut seen = HashSet::new();
        for (i, p) in c.resize_policy.iter().enumerate() {
            if !seen.insert(p.resource_name) {
                self.add(
                    at.key("resizePolicy").index(i).key("resourceName"),
                    t(
                        "this resource already has a resizePolicy",
                        "这个资源已经有 resizePolicy 了",
                    ),
                    Some(t(
                        "one entry each for cpu and memory",
                        "cpu 和 memory 各写一条",
                    )),
                    None,
                );
            }
        }
    }

    /// The API server's rules for `spec.resources` (PodLevelResources): the pod's request is
    /// at least what its containers request together, and no container's limit is above the
    /// pod's.
    fn pod_level_resources(&mut self, at: &FieldPath, spec: &PodSpec) {
        use crate::kube::qos::pod_requests;
        use crate::kube::resources::{PodResources, ResourceAmounts};
        let Some(pod) = PodResources::from_spec(spec).pod_level else {
            return;
        };
        let summed = pod_requests(&PodResources {
            pod_level: None,
            ..PodResources::from_spec(spec)
        });
        let pick = |a: &ResourceAmounts, cpu: bool| if cpu { a.cpu_millis } else { a.memory_bytes };
        for (name, cpu) in [("cpu", true), ("memory", false)] {
            if let (Some(p), Some(sum)) = (pick(&pod.requests, cpu), pick(&summed, cpu)) {
                if p < sum {
                    self.add(
                        at.key("requests").key(name),
                        t(
                            format!("the pod-level {name} request is less than its containers request together"),
                            format!("Pod 级别的 {name} 请求小于各容器请求之和"),
                        ),
                        Some(t(
                            format!("a pod-level {name} request at least the sum of the containers' requests"),
                            format!("Pod 级别的 {name} 请求不小于各容器请求之和"),
                        )),
                        None,
                    );
                }
            }
            let Some(limit) = pick(&pod.limits, cpu) else {
                continue;
            };
            let containers = spec.init_containers.iter().chain(&spec.containers);
            for c in containers {
                let own = ResourceAmounts::from_list(&c.resources.limits);
                if pick(&own, cpu).is_some_and(|l| l > limit) {
                    self.add(
                        at.key("limits").key(name),
                        t(
                            format!(
                                "container {:?} has a higher {name} limit than the pod",
                                c.name
                            ),
                            format!("容器 {:?} 的 {name} 上限高于 Pod 的上限", c.name),
                        ),
                        Some(t(
                            format!("a pod-level {name} limit at least every container's"),
                            format!("Pod 级别的 {name} 上限不低于每个容器的上限"),
                        )),
                        None,
                    );
                }
            }
        }
    }

    fn only_on_sidecars(&mut self, at: FieldPath) {
        self.add(
            at,
            t(
                "init containers run to completion, so they cannot have probes or lifecycle hooks",
                "init 容器运行到结束为止，不能有探针或生命周期钩子",
            ),
            Some(t(
                "this only on containers or on init containers with restartPolicy: Always",
                "只在普通容器或 restartPolicy: Always 的 init 容器上设置",
            )),
            None,
        );
    }

    fn ports(&mut self, at: &FieldPath, ports: &[ContainerPort]) {
        let mut names = HashSet::new();
        for (i, port) in ports.iter().enumerate() {
            let p = at.key("ports").index(i);
            if port.container_port == 0 {
                self.port_range(p.key("containerPort"), i64::from(port.container_port));
            }
            if let Some(name) = &port.name {
                if !is_port_name(name) {
                    self.add(
                        p.key("name"),
                        t(format!("{name:?} is not a valid port name"), format!("{name:?} 不是合法的端口名")),
                        Some(t(
                            "at most 15 characters: lowercase letters, digits and '-', with at least one letter",
                            "最多 15 个字符：小写字母、数字和 '-'，至少含一个字母",
                        )),
                        None,
                    );
                }
                if !names.insert(name.as_str()) {
                    self.add(
                        p.key("name"),
                        t(
                            format!("the port name {name:?} is used twice in this container"),
                            format!("端口名 {name:?} 在这个容器里重复"),
                        ),
                        Some(t(
                            "unique port names in a container",
                            "同一容器内互不相同的端口名",
                        )),
                        None,
                    );
                }
            }
        }
    }

    fn port_range(&mut self, at: FieldPath, port: i64) {
        self.add(
            at,
            t(
                format!("{port} is not a valid port number"),
                format!("{port} 不是合法的端口号"),
            ),
            Some(t(
                "a port number from 1 to 65535",
                "1 到 65535 之间的端口号",
            )),
            None,
        );
    }

    fn resources(&mut self, at: &FieldPath, resources: &ResourceRequirements) {
        let pairs = [
            ("cpu", &resources.requests.cpu, &resources.limits.cpu),
            (
                "memory",
                &resources.requests.memory,
                &resources.limits.memory,
            ),
        ];
        for (name, request, limit) in pairs {
            if let Some(q) = request {
                self.non_negative_quantity(at.key("requests").key(name), q);
            }
            if let Some(q) = limit {
                self.non_negative_quantity(at.key("limits").key(name), q);
            }
            if let (Some(request), Some(limit)) = (request, limit) {
                if request.cmp_value(limit) == Ordering::Greater {
                    self.add(
                        at.key("requests").key(name),
                        t(
                            format!("the {name} request {request} is more than its limit {limit}"),
                            format!("{name} 的请求 {request} 大于它的上限 {limit}"),
                        ),
                        Some(t(format!("a {name} request at most the limit {limit}"), format!("不超过上限 {limit} 的 {name} 请求"))),
                        Some(t(
                            "a container can never get more than its limit; lower the request or raise the limit",
                            "容器永远拿不到超过上限的资源；降低请求或提高上限",
                        )),
                    );
                }
            }
        }
    }

    fn mounts(&mut self, at: &FieldPath, mounts: &[VolumeMount], volumes: &HashSet<&str>) {
        let mut paths: HashMap<&str, usize> = HashMap::new();
        for (i, mount) in mounts.iter().enumerate() {
            let m = at.key("volumeMounts").index(i);
            if !volumes.contains(mount.name.as_str()) {
                self.add(
                    m.key("name"),
                    t(
                        format!(
                            "the volume {:?} is not declared in spec.volumes",
                            mount.name
                        ),
                        format!("卷 {:?} 没有在 spec.volumes 中声明", mount.name),
                    ),
                    Some(t(
                        "the name of a volume in spec.volumes",
                        "spec.volumes 中某个卷的名字",
                    )),
                    Some(t(
                        "add it under spec.volumes (e.g. an emptyDir) or fix the name",
                        "在 spec.volumes 下添加它（例如一个 emptyDir），或改正名字",
                    )),
                );
            }
            self.absolute_path(m.key("mountPath"), &mount.mount_path, true);
            if let Some(first) = paths.insert(mount.mount_path.as_str(), i) {
                self.add(
                    m.key("mountPath"),
                    t(
                        format!(
                            "{:?} is already the mountPath of volumeMounts[{first}]",
                            mount.mount_path
                        ),
                        format!(
                            "{:?} 已经是 volumeMounts[{first}] 的挂载路径",
                            mount.mount_path
                        ),
                    ),
                    Some(t(
                        "a different mountPath for each mount of a container",
                        "同一容器的每个挂载使用不同的路径",
                    )),
                    None,
                );
            }
            if let Some(sub_path) = &mount.sub_path {
                if sub_path.starts_with('/') || sub_path.split('/').any(|part| part == "..") {
                    self.add(
                        m.key("subPath"),
                        t(
                            format!("{sub_path:?} leaves the volume"),
                            format!("{sub_path:?} 超出了卷的范围"),
                        ),
                        Some(t(
                            "a relative path inside the volume, without '..'",
                            "卷内的相对路径，不含 '..'",
                        )),
                        None,
                    );
                }
            }
        }
    }

    fn probe(&mut self, at: &FieldPath, probe: &Probe, success_must_be_one: bool) {
        let handlers = [
            ("exec", probe.exec.is_some()),
            ("httpGet", probe.http_get.is_some()),
            ("tcpSocket", probe.tcp_socket.is_some()),
            ("grpc", probe.grpc.is_some()),
        ];
        self.one_handler(at, &handlers);
        self.actions(at, &probe.exec, &probe.http_get, &probe.tcp_socket);
        if let Some(grpc) = &probe.grpc {
            if grpc.port == 0 {
                self.port_range(at.key("grpc").key("port"), 0);
            }
        }
        let numbers = [
            ("initialDelaySeconds", probe.initial_delay_seconds),
            ("periodSeconds", probe.period_seconds),
            ("timeoutSeconds", probe.timeout_seconds),
            ("successThreshold", probe.success_threshold),
            ("failureThreshold", probe.failure_threshold),
        ];
        for (field, value) in numbers {
            if let Some(value) = value {
                self.non_negative(at.key(field), value);
            }
        }
        if success_must_be_one && probe.success_threshold.is_some_and(|s| s != 1) {
            self.add(
                at.key("successThreshold"),
                t(
                    "liveness and startup probes must succeed once to count",
                    "存活探针和启动探针成功一次即算成功",
                ),
                Some(t("1", "1")),
                None,
            );
        }
    }

    fn one_handler(&mut self, at: &FieldPath, handlers: &[(&str, bool)]) {
        let set: Vec<&str> = handlers
            .iter()
            .filter(|(_, set)| *set)
            .map(|(name, _)| *name)
            .collect();
        let all: Vec<&str> = handlers.iter().map(|(name, _)| *name).collect();
        let all = all.join(", ");
        match set.len() {
            1 => {}
            0 => self.add(
                at.clone(),
                t("no handler is given", "没有指定处理方式"),
                Some(t(
                    format!("exactly one of {all}"),
                    format!("{all} 中的恰好一个"),
                )),
                None,
            ),
            _ => {
                let given = set.join(" and ");
                self.add(
                    at.key(set[1]),
                    t(
                        format!("more than one handler is given: {given}"),
                        format!("指定了多个处理方式：{given}"),
                    ),
                    Some(t(
                        format!("exactly one of {all}"),
                        format!("{all} 中的恰好一个"),
                    )),
                    None,
                );
            }
        }
    }

    fn actions(
        &mut self,
        at: &FieldPath,
        exec: &Option<ExecAction>,
        http_get: &Option<HttpGetAction>,
        tcp_socket: &Option<TcpSocketAction>,
    ) {
        if exec.as_ref().is_some_and(|e| e.command.is_empty()) {
            self.add(
                at.key("exec").key("command"),
                t("the command is empty", "命令为空"),
                Some(t(
                    "a command to run, e.g. [cat, /tmp/healthy]",
                    "要运行的命令，例如 [cat, /tmp/healthy]",
                )),
                None,
            );
        }
        if let Some(http) = http_get {
            self.port_ref(at.key("httpGet").key("port"), &http.port);
        }
        if let Some(tcp) = tcp_socket {
            self.port_ref(at.key("tcpSocket").key("port"), &tcp.port);
        }
    }

    fn port_ref(&mut self, at: FieldPath, port: &PortRef) {
        match port {
            PortRef::Number(0) => self.port_range(at, 0),
            PortRef::Number(_) => {}
            PortRef::Name(name) if is_port_name(name) => {}
            PortRef::Name(name) => self.add(
                at,
                t(
                    format!("{name:?} is neither a port number nor a port name"),
                    format!("{name:?} 既不是端口号也不是端口名"),
                ),
                Some(t(
                    "a port number (1-65535) or the name of a container port",
                    "端口号（1-65535）或容器端口的名字",
                )),
                None,
            ),
        }
    }

    fn dns_label(&mut self, at: FieldPath, name: &str, what: &str, what_zh: &str) {
        if is_dns_label(name) {
            return;
        }
        let hint = suggest_dns_label(name).map(|s| t(format!("try {s:?}"), format!("试试 {s:?}")));
        self.add(
            at,
            t(format!("{name:?} is not a valid {what}"), format!("{name:?} 不是合法的{what_zh}")),
            Some(t(
                "a DNS label: at most 63 characters, lowercase letters, digits and '-', starting and ending with a letter or digit",
                "DNS 标签：最多 63 个字符，小写字母、数字和 '-'，以字母或数字开头和结尾",
            )),
            hint,
        );
    }

    fn absolute_path(&mut self, at: FieldPath, path: &str, allow_dots: bool) {
        if !path.starts_with('/') {
            self.add(
                at,
                t(
                    format!("{path:?} is not an absolute path"),
                    format!("{path:?} 不是绝对路径"),
                ),
                Some(t("an absolute path such as /data", "绝对路径，例如 /data")),
                None,
            );
        } else if !allow_dots && path.split('/').any(|part| part == "..") {
            self.add(
                at,
                t(
                    format!("{path:?} contains '..'"),
                    format!("{path:?} 含有 '..'"),
                ),
                Some(t("a path without '..'", "不含 '..' 的路径")),
                None,
            );
        }
    }

    /// kubelet's validateSleepAction (with PodLifecycleSleepActionAllowZero, GA in 1.34): from
    /// 0 to the pod's terminationGracePeriodSeconds.
    fn sleep(&mut self, at: FieldPath, seconds: i64) {
        let grace = self.grace.max(0);
        if !(0..=grace).contains(&seconds) {
            self.add(
                at,
                t(
                    format!("a sleep of {seconds} s does not fit in terminationGracePeriodSeconds ({grace})"),
                    format!("睡眠 {seconds} 秒超出了 terminationGracePeriodSeconds（{grace}）的范围"),
                ),
                Some(t(format!("0 to {grace}"), format!("0 到 {grace}"))),
                None,
            );
        }
    }

    fn non_negative(&mut self, at: FieldPath, value: i64) {
        if value < 0 {
            self.add(
                at,
                t(format!("{value} is negative"), format!("{value} 是负数")),
                Some(t("0 or more", "0 或更大")),
                None,
            );
        }
    }

    fn non_negative_quantity(&mut self, at: FieldPath, q: &Quantity) {
        if q.is_negative() {
            self.add(
                at,
                t(
                    format!("the quantity {q} is negative"),
                    format!("数量 {q} 是负数"),
                ),
                Some(t("a quantity of 0 or more", "0 或更大的数量")),
                None,
            );
        }
    }
}
