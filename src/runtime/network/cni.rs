//! Real CNI: run the standard `bridge`, `host-local` and `loopback` plugins the way containerd
//! does (CNI_COMMAND, CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME, CNI_PATH in the environment, the
//! network config on stdin, the result JSON on stdout), when they are installed.
//!
//! Differences from containerd's reference config, to keep the network host-only: `isGateway`
//! and `ipMasq` are off (the bridge plugin would otherwise turn on net.ipv4.ip_forward and add
//! an iptables MASQUERADE rule), and podlab gives the bridge its gateway address itself before
//! the plugin runs. host-local keeps its leases under /run/podlab/cni instead of /var/lib/cni.

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{json, Value};

use super::error::{NetworkError, Result};
use super::netns::NetNs;
use crate::kube::pod_network::narrate::{self, NetStep};
use crate::kube::pod_network::{CniState, Ipv4Cidr, POD_INTERFACE};

/// Where distributions and the CNI release tarball put the plugins.
const PLUGIN_DIRS: [&str; 2] = ["/opt/cni/bin", "/usr/lib/cni"];
const NEEDED_PLUGINS: [&str; 3] = ["bridge", "host-local", "loopback"];
const CNI_VERSION: &str = "1.0.0";

/// The first plugin directory that has bridge, host-local and loopback.
pub fn find_plugin_dir() -> Option<PathBuf> {
    find_plugin_dir_under(Path::new("/"))
}

/// The same, on the machine whose root directory is `root` (a fixture tree in tests); the
/// directory is given as that machine sees it.
pub fn find_plugin_dir_under(root: &Path) -> Option<PathBuf> {
    PLUGIN_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|dir| has_plugins(&root.join(dir.strip_prefix("/").unwrap_or(dir))))
}

fn has_plugins(dir: &Path) -> bool {
    NEEDED_PLUGINS.iter().all(|p| dir.join(p).is_file())
}

/// host-local's lease directory; one subdirectory per network name.
pub fn ipam_data_dir() -> PathBuf {
    crate::runtime::paths::state_root()
        .join("cni")
        .join("networks")
}

/// The network name host-local files leases under: one per bridge.
pub fn network_name(bridge: &str) -> String {
    format!("podlab-{bridge}")
}

/// The bridge plugin's network config: containerd's reference config, host-only. host-local
/// leases from the upper half of the range: podlab's own IPAM leases from the bottom of the same
/// range on the same bridge, so pods of both modes running at once never get the same address.
pub fn bridge_config(bridge: &str, cidr: &Ipv4Cidr) -> Value {
    let upper_half = u32::from(cidr.network()).saturating_add((cidr.size() / 2) as u32);
    let range_start = std::net::Ipv4Addr::from(upper_half).max(cidr.gateway());
    json!({
        "cniVersion": CNI_VERSION,
        "name": network_name(bridge),
        "type": "bridge",
        "bridge": bridge,
        "isGateway": false,
        "ipMasq": false,
        "ipam": {
            "type": "host-local",
            "ranges": [[{
                "subnet": cidr.to_string(),
                "gateway": cidr.gateway().to_string(),
                "rangeStart": range_start.to_string(),
            }]],
            "routes": [{ "dst": "0.0.0.0/0" }],
            "dataDir": ipam_data_dir().to_string_lossy(),
        }
    })
}

fn loopback_config() -> Value {
    json!({ "cniVersion": CNI_VERSION, "name": "cni-loopback", "type": "loopback" })
}

/// One plugin call.
struct Call<'a> {
    plugin_dir: &'a Path,
    command: &'a str,
    container_id: &'a str,
    netns: Option<&'a str>,
    ifname: &'a str,
    config: &'a Value,
}

impl Call<'_> {
    fn plugin(&self) -> PathBuf {
        let kind = self
            .config
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        self.plugin_dir.join(kind)
    }

    /// How to do the same in a shell.
    fn shown(&self) -> String {
        let netns = self
            .netns
            .map(|n| format!(" CNI_NETNS={n}"))
            .unwrap_or_default();
        format!(
            "echo '{}' | CNI_COMMAND={} CNI_CONTAINERID={}{netns} CNI_IFNAME={} CNI_PATH={} {}",
            self.config,
            self.command,
            self.container_id,
            self.ifname,
            self.plugin_dir.display(),
            self.plugin().display()
        )
    }

    fn run(&self) -> Result<Value> {
        let plugin = self.plugin();
        let what = format!(
            "CNI {} of {} for pod {}",
            self.command,
            plugin.display(),
            self.container_id
        );
        let mut command = Command::new(&plugin);
        command
            .env_clear()
            .env("CNI_COMMAND", self.command)
            .env("CNI_CONTAINERID", self.container_id)
            .env("CNI_NETNS", self.netns.unwrap_or_default())
            .env("CNI_IFNAME", self.ifname)
            .env("CNI_PATH", self.plugin_dir)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .map_err(|e| NetworkError::os(format!("failed to start {}", plugin.display()), e))?;
        if let Some(mut stdin) = child.stdin.take() {
            let body = serde_json::to_vec(self.config).unwrap_or_default();
            stdin
                .write_all(&body)
                .map_err(|e| NetworkError::os(format!("failed to send the config to {what}"), e))?;
        }
        let output = child
            .wait_with_output()
            .map_err(|e| NetworkError::os(format!("failed to wait for {what}"), e))?;
        let reply: Option<Value> = serde_json::from_slice(&output.stdout).ok();
        if !output.status.success() {
            // CNI errors are JSON on stdout: {"code": …, "msg": …, "details": …}.
            let message = reply
                .as_ref()
                .and_then(|r| r.get("msg").and_then(Value::as_str).map(str::to_string))
                .unwrap_or_else(|| String::from_utf8_lossy(&output.stderr).trim().to_string());
            return Err(NetworkError::Cni {
                action: what,
                message,
            });
        }
        Ok(reply.unwrap_or(Value::Null))
    }
}

/// What ADD produced, read from the result JSON.
pub struct Added {
    pub ip: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
    pub host_veth: String,
    pub state: CniState,
}

/// ADD: bridge (with host-local) on eth0, then loopback on lo.
pub fn add(
    plugin_dir: &Path,
    bridge: &str,
    cidr: &Ipv4Cidr,
    uid: &str,
    sandbox: &NetNs,
    steps: &mut Vec<NetStep>,
) -> Result<Added> {
    let pid = sandbox.pid();
    let netns = format!("/proc/{pid}/ns/net");
    let config = bridge_config(bridge, cidr);
    let call = Call {
        plugin_dir,
        command: "ADD",
        container_id: uid,
        netns: Some(&netns),
        ifname: POD_INTERFACE,
        config: &config,
    };
    let result = call.run()?;
    steps.push(narrate::cni_call(&call.shown(), "bridge"));
    let state = CniState {
        plugin_dir: plugin_dir.to_path_buf(),
        config: config.clone(),
        result: result.clone(),
        sandbox_pid: pid,
        netns_inode: sandbox.inode()?,
    };
    let added = parse_result(&result).map(|(ip, prefix_len, gateway, host_veth)| Added {
        ip,
        prefix_len,
        gateway: gateway.unwrap_or(cidr.gateway()),
        host_veth,
        state: state.clone(),
    });
    let added = match added {
        Some(added) => added,
        None => {
            let _ = delete(&state, uid);
            return Err(NetworkError::Cni {
                action: format!("CNI ADD of the bridge plugin for pod {uid}"),
                message: format!("the result has no IPv4 address or host interface: {result}"),
            });
        }
    };
    let lo = loopback_config();
    let call = Call {
        plugin_dir,
        command: "ADD",
        container_id: uid,
        netns: Some(&netns),
        ifname: "lo",
        config: &lo,
    };
    if let Err(e) = call.run() {
        let _ = delete(&state, uid);
        return Err(e);
    }
    steps.push(narrate::cni_call(&call.shown(), "loopback"));
    Ok(added)
}

/// DEL, in reverse order of ADD. Without the pod's namespace only the lease is released (when
/// pause is gone, its namespace took the veth pair with it).
pub fn delete(state: &CniState, uid: &str) -> Result<Vec<NetStep>> {
    let pid = state.sandbox_pid;
    let same_namespace = NetNs::of_pid(pid)
        .and_then(|ns| ns.inode())
        .is_ok_and(|inode| inode == state.netns_inode);
    let netns = same_namespace.then(|| format!("/proc/{pid}/ns/net"));
    let mut steps = Vec::new();
    let lo = loopback_config();
    let plugin_dir = state.plugin_dir.as_path();
    if netns.is_some() {
        let call = Call {
            plugin_dir,
            command: "DEL",
            container_id: uid,
            netns: netns.as_deref(),
            ifname: "lo",
            config: &lo,
        };
        call.run()?;
        steps.push(narrate::cni_call(&call.shown(), "loopback"));
    }
    let mut config = state.config.clone();
    if let Some(object) = config.as_object_mut() {
        object.insert("prevResult".to_string(), state.result.clone());
    }
    let call = Call {
        plugin_dir,
        command: "DEL",
        container_id: uid,
        netns: netns.as_deref(),
        ifname: POD_INTERFACE,
        config: &config,
    };
    call.run()?;
    steps.push(narrate::cni_call(&call.shown(), "bridge"));
    Ok(steps)
}

/// DEL for a pod whose state is lost (gc): releases its lease; its namespace is gone.
pub fn delete_lease(plugin_dir: &Path, bridge: &str, cidr: &Ipv4Cidr, uid: &str) -> Result<()> {
    let config = bridge_config(bridge, cidr);
    let call = Call {
        plugin_dir,
        command: "DEL",
        container_id: uid,
        netns: None,
        ifname: POD_INTERFACE,
        config: &config,
    };
    call.run().map(|_| ())
}

/// host-local's leases for a network: (address, container id).
pub fn leases(bridge: &str) -> Vec<(Ipv4Addr, String)> {
    let dir = ipam_data_dir().join(network_name(bridge));
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let ip: Ipv4Addr = e.file_name().to_str()?.parse().ok()?;
            let text = std::fs::read_to_string(e.path()).ok()?;
            Some((
                ip,
                text.lines().next().unwrap_or_default().trim().to_string(),
            ))
        })
        .collect()
}

/// Remove host-local's directory for a network with no leases left, and its parents if empty.
pub fn forget_network(bridge: &str) {
    let dir = ipam_data_dir().join(network_name(bridge));
    if leases(bridge).is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
        if let Some(networks) = dir.parent() {
            let _ = std::fs::remove_dir(networks);
            if let Some(cni) = networks.parent() {
                let _ = std::fs::remove_dir(cni);
            }
        }
    }
}

/// (pod IPv4, prefix, gateway, host-side interface) from a CNI 1.0 result.
fn parse_result(result: &Value) -> Option<(Ipv4Addr, u8, Option<Ipv4Addr>, String)> {
    let ips = result.get("ips")?.as_array()?;
    let (ip, prefix_len, gateway) = ips.iter().find_map(|entry| {
        let (ip, len) = entry.get("address")?.as_str()?.split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let gateway = entry
            .get("gateway")
            .and_then(Value::as_str)
            .and_then(|g| g.parse().ok());
        Some((ip, len.parse().ok()?, gateway))
    })?;
    let interfaces = result.get("interfaces")?.as_array()?;
    // The host end of the veth: no "sandbox" (it is in the host namespace) and not the bridge.
    let host_veth = interfaces.iter().find_map(|i| {
        let name = i.get("name")?.as_str()?;
        let in_sandbox = i
            .get("sandbox")
            .and_then(Value::as_str)
            .is_some_and(|s| !s.is_empty());
        (!in_sandbox && name.starts_with("veth")).then(|| name.to_string())
    })?;
    Some((ip, prefix_len, gateway, host_veth))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_bridge_plugin_result() {
        let result = json!({
            "cniVersion": "1.0.0",
            "interfaces": [
                { "name": "podlab0", "mac": "aa:bb:cc:dd:ee:ff" },
                { "name": "veth1234abcd", "mac": "aa:bb:cc:dd:ee:01" },
                { "name": "eth0", "mac": "aa:bb:cc:dd:ee:02", "sandbox": "/proc/42/ns/net" }
            ],
            "ips": [{ "interface": 2, "address": "10.88.0.2/16", "gateway": "10.88.0.1" }],
            "routes": [{ "dst": "0.0.0.0/0" }]
        });
        let (ip, len, gateway, veth) = parse_result(&result).expect("parsed");
        assert_eq!(
            (ip, len, gateway, veth.as_str()),
            (
                Ipv4Addr::new(10, 88, 0, 2),
                16,
                Some(Ipv4Addr::new(10, 88, 0, 1)),
                "veth1234abcd"
            )
        );
        assert!(parse_result(&json!({})).is_none());
    }

    #[test]
    fn the_config_is_host_only() {
        let config = bridge_config("podlab0", &Ipv4Cidr::CONTAINERD_DEFAULT);
        assert_eq!(config["isGateway"], json!(false));
        assert_eq!(config["ipMasq"], json!(false));
        assert_eq!(
            config["ipam"]["ranges"][0][0]["subnet"],
            json!("10.88.0.0/16")
        );
        // The upper half: podlab's own leases start at the bottom of the same range.
        assert_eq!(
            config["ipam"]["ranges"][0][0]["rangeStart"],
            json!("10.88.128.0")
        );
        assert_eq!(config["name"], json!("podlab-podlab0"));
    }

    #[test]
    fn the_call_is_shown_as_a_shell_command() {
        let config = loopback_config();
        let call = Call {
            plugin_dir: Path::new("/opt/cni/bin"),
            command: "ADD",
            container_id: "uid-1",
            netns: Some("/proc/42/ns/net"),
            ifname: "lo",
            config: &config,
        };
        assert_eq!(
            call.shown(),
            r#"echo '{"cniVersion":"1.0.0","name":"cni-loopback","type":"loopback"}' | CNI_COMMAND=ADD CNI_CONTAINERID=uid-1 CNI_NETNS=/proc/42/ns/net CNI_IFNAME=lo CNI_PATH=/opt/cni/bin /opt/cni/bin/loopback"#
        );
    }
}
