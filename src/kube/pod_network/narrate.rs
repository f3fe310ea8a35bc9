//! The narration of each network step: the `ip` command that does the same, and what it means.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::i18n::Text;

/// One thing podlab did, as a command the learner can run themselves, and what it is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetStep {
    pub command: String,
    pub what: Text,
}

fn step(command: String, en: String, zh: String) -> NetStep {
    NetStep {
        command,
        what: Text::new(en, zh),
    }
}

/// Commands run inside the pod's net namespace are shown through nsenter, which joins it.
fn in_pod(pid: i32, command: &str) -> String {
    format!("nsenter -t {pid} -n {command}")
}

pub fn bridge_added(bridge: &str) -> NetStep {
    step(
        format!("ip link add {bridge} type bridge"),
        format!("Create the bridge {bridge}: a virtual switch on the host that every pod plugs into (CNI's bridge plugin calls it cni0)."),
        format!("创建网桥 {bridge}：宿主机上的一台虚拟交换机，每个 Pod 都接在上面（CNI 的 bridge 插件把它叫作 cni0）。"),
    )
}

pub fn bridge_address(bridge: &str, gateway: Ipv4Addr, prefix_len: u8) -> NetStep {
    step(
        format!("ip addr add {gateway}/{prefix_len} dev {bridge}"),
        format!(
            "Give the bridge the gateway address {gateway}: the host's door into the pod network."
        ),
        format!("给网桥配上网关地址 {gateway}：这是宿主机进入 Pod 网络的门。"),
    )
}

pub fn bridge_up(bridge: &str) -> NetStep {
    step(
        format!("ip link set {bridge} up"),
        format!("Switch the bridge {bridge} on."),
        format!("启用网桥 {bridge}。"),
    )
}

pub fn bridge_reused(bridge: &str) -> NetStep {
    step(
        format!("ip link show {bridge}"),
        format!("The bridge {bridge} is already there: all pods on this machine share it."),
        format!("网桥 {bridge} 已经存在：本机所有 Pod 共用它。"),
    )
}

pub fn ip_leased(ipam_file: &str, uid: &str, host_veth: &str, ip: Ipv4Addr) -> NetStep {
    step(
        format!("printf '%s\\n' {uid} {host_veth} > {ipam_file}"),
        format!("Lease {ip} to this pod: like CNI's host-local IPAM, one file per address holding the pod's UID, so no two pods share it."),
        format!("把 {ip} 租给这个 Pod：和 CNI 的 host-local IPAM 一样，每个地址一个文件，里面写着 Pod 的 UID，所以两个 Pod 不会拿到同一个地址。"),
    )
}

pub fn veth_added(host_veth: &str, pod_interface: &str, pid: i32) -> NetStep {
    step(
        format!("ip link add {host_veth} type veth peer name {pod_interface} netns {pid}"),
        format!("Create a veth pair, a virtual cable: {host_veth} stays on the host, {pod_interface} is born inside the pod's net namespace (held by pause, pid {pid})."),
        format!("创建一对 veth，也就是一根虚拟网线：{host_veth} 留在宿主机，{pod_interface} 直接出生在 Pod 的网络命名空间里（由 pause 持有，pid {pid}）。"),
    )
}

pub fn veth_attached(host_veth: &str, bridge: &str) -> NetStep {
    step(
        format!("ip link set {host_veth} master {bridge}"),
        format!("Plug the host end {host_veth} into the bridge {bridge}."),
        format!("把宿主机这一端 {host_veth} 插到网桥 {bridge} 上。"),
    )
}

pub fn veth_up(host_veth: &str) -> NetStep {
    step(
        format!("ip link set {host_veth} up"),
        format!("Switch {host_veth} on."),
        format!("启用 {host_veth}。"),
    )
}

pub fn loopback_up(pid: i32) -> NetStep {
    step(
        in_pod(pid, "ip link set lo up"),
        "Switch on lo inside the pod: containers of one pod talk over localhost because they share this namespace.".to_string(),
        "启用 Pod 里的 lo：同一个 Pod 的容器共享这个命名空间，所以能通过 localhost 互相访问。".to_string(),
    )
}

pub fn pod_address(pid: i32, pod_interface: &str, ip: Ipv4Addr, prefix_len: u8) -> NetStep {
    step(
        in_pod(pid, &format!("ip addr add {ip}/{prefix_len} dev {pod_interface}")),
        format!("Give {pod_interface} the pod IP {ip}: every container of the pod will have this one IP."),
        format!("给 {pod_interface} 配上 Pod IP {ip}：这个 Pod 的所有容器都用这一个 IP。"),
    )
}

pub fn pod_interface_up(pid: i32, pod_interface: &str) -> NetStep {
    step(
        in_pod(pid, &format!("ip link set {pod_interface} up")),
        format!("Switch {pod_interface} on inside the pod."),
        format!("启用 Pod 里的 {pod_interface}。"),
    )
}

pub fn default_route(pid: i32, gateway: Ipv4Addr) -> NetStep {
    step(
        in_pod(pid, &format!("ip route add default via {gateway}")),
        format!("Send everything not on the pod network to the gateway {gateway}, the bridge on the host."),
        format!("不在 Pod 网段内的流量都发给网关 {gateway}，也就是宿主机上的网桥。"),
    )
}

pub fn veth_deleted(host_veth: &str) -> NetStep {
    step(
        format!("ip link del {host_veth}"),
        format!("Delete {host_veth}: the kernel removes its peer eth0 inside the pod with it."),
        format!("删除 {host_veth}：内核会连同 Pod 里的另一端 eth0 一起删除。"),
    )
}

pub fn ip_released(ipam_file: &str, ip: Ipv4Addr) -> NetStep {
    step(
        format!("rm {ipam_file}"),
        format!("Give {ip} back to the pool."),
        format!("把 {ip} 还回地址池。"),
    )
}

pub fn bridge_deleted(bridge: &str) -> NetStep {
    step(
        format!("ip link del {bridge}"),
        format!("No pod uses {bridge} any more: remove the bridge."),
        format!("已经没有 Pod 使用 {bridge}：删除网桥。"),
    )
}

pub fn cni_call(command: &str, plugin: &str) -> NetStep {
    step(
        command.to_string(),
        format!("Run the CNI {plugin} plugin as containerd does: the command and the pod's namespace in environment variables, the network config on stdin, the result as JSON on stdout."),
        format!("像 containerd 一样运行 CNI {plugin} 插件：命令和 Pod 的命名空间放在环境变量里，网络配置从 stdin 传入，结果以 JSON 从 stdout 返回。"),
    )
}
