//! Taking a pod off the network, and collecting what crashed pods left behind.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use super::cni;
use super::error::{NetworkError, Result};
use super::ipam::Ipam;
use super::links;
use super::lock::MachineLock;
use super::netlink::Netlink;
use super::{Config, Mode};
use crate::kube::pod_network::names::VETH_PREFIX;
use crate::kube::pod_network::narrate::{self, NetStep};
use crate::kube::pod_network::{Ipv4Cidr, PodNetwork};

/// Remove the pod's veth pair and lease; remove the bridge when it was the last pod on it.
///
/// Idempotent: what is already gone is skipped (when pause dies, its namespace takes the veth
/// pair with it). It never removes a veth or lease that another pod holds now, even if a second
/// teardown comes after the name or address was handed out again. Returns what was done.
pub fn teardown_pod(uid: &str, net: &PodNetwork) -> Result<Vec<NetStep>> {
    teardown(uid, net, false)
}

/// Like [`teardown_pod`], but the bridge and the range's round-robin position stay, as with a
/// CNI DEL (the bridge plugin never removes its bridge): used when a pod's sandbox is re-created,
/// so its next address is a new one.
pub fn release_for_new_sandbox(uid: &str, net: &PodNetwork) -> Result<Vec<NetStep>> {
    teardown(uid, net, true)
}

fn teardown(uid: &str, net: &PodNetwork, keep_bridge: bool) -> Result<Vec<NetStep>> {
    let cidr = Ipv4Cidr::new(
        Ipv4Addr::from(u32::from(net.ip) & prefix_mask(net.prefix_len)),
        net.prefix_len,
    )
    .map_err(|e| {
        NetworkError::InvalidConfig(format!("pod network {}/{}: {e}", net.ip, net.prefix_len))
    })?;
    let _lock = MachineLock::acquire(&crate::runtime::paths::global_lock())?;
    let mut host = open_host()?;
    let ipam = Ipam::new(super::ipam_dir());
    let mut steps = Vec::new();

    if let Some(state) = &net.cni {
        steps.extend(cni::delete(state, uid)?);
        if !keep_bridge && remove_bridge_if_unused(&mut host, &ipam, &cidr, &net.bridge)? {
            steps.push(narrate::bridge_deleted(&net.bridge));
        }
        return Ok(steps);
    }

    let leases = ipam.leases()?;
    let ours = leases.iter().find(|l| l.ip == net.ip && l.uid == uid);
    let veth_is_ours = match ours {
        Some(lease) => lease.host_veth == net.host_veth,
        None => !leases.iter().any(|l| l.host_veth == net.host_veth),
    };
    if veth_is_ours && delete_link_named(&mut host, &net.host_veth)? {
        steps.push(narrate::veth_deleted(&net.host_veth));
    }
    if ipam.release(net.ip, uid)? {
        steps.push(narrate::ip_released(
            &ipam.dir().join(net.ip.to_string()).to_string_lossy(),
            net.ip,
        ));
    }
    if !keep_bridge && remove_bridge_if_unused(&mut host, &ipam, &cidr, &net.bridge)? {
        steps.push(narrate::bridge_deleted(&net.bridge));
    }
    Ok(steps)
}

/// What [`gc`] removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GcReport {
    /// Leases of pods that are not live: (address, pod UID).
    pub released: Vec<(Ipv4Addr, String)>,
    /// `pl-*` veths that belonged to no live pod.
    pub removed_links: Vec<String>,
    pub removed_bridge: bool,
}

/// Free every lease in `cfg.cidr` whose pod is not in `live_uids`, delete every `pl-*` veth no
/// remaining lease names, and delete the bridge when no lease is left in the range.
///
/// Leases of other ranges are left alone, so two configurations (e.g. parallel test runs) can
/// share the machine.
pub fn gc(cfg: &Config, live_uids: &[String]) -> Result<GcReport> {
    cfg.validate()?;
    let _lock = MachineLock::acquire(&crate::runtime::paths::global_lock())?;
    let mut host = open_host()?;
    let ipam = Ipam::new(super::ipam_dir());
    let mut report = GcReport {
        released: release_stale_leases(cfg, &ipam, live_uids)?,
        ..GcReport::default()
    };
    let claimed: HashSet<String> = ipam.leases()?.into_iter().map(|l| l.host_veth).collect();
    let host_links = links::list_links(&mut host)
        .map_err(|e| NetworkError::os("failed to list host interfaces", e))?;
    for link in host_links {
        let is_pod_veth =
            link.name.starts_with(VETH_PREFIX) && link.kind.as_deref() == Some("veth");
        if is_pod_veth && !claimed.contains(&link.name) {
            match links::delete_link(&mut host, link.index) {
                Ok(()) => report.removed_links.push(link.name),
                // Its peer's namespace died meanwhile and took it along.
                Err(e) if e.raw_os_error() == Some(libc::ENODEV) => {}
                Err(e) => {
                    return Err(NetworkError::os(
                        format!("failed to delete {}", link.name),
                        e,
                    ))
                }
            }
        }
    }
    report.removed_bridge = remove_bridge_if_unused(&mut host, &ipam, &cfg.cidr, &cfg.bridge)?;
    Ok(report)
}

/// Free every lease in `cfg.cidr` whose pod is not in `live_uids`, and nothing else: for pods
/// built without root, whose veths and bridge live in namespaces the kernel frees by itself.
pub fn gc_leases(cfg: &Config, live_uids: &[String]) -> Result<Vec<(Ipv4Addr, String)>> {
    cfg.validate()?;
    let _lock = MachineLock::acquire(&crate::runtime::paths::global_lock())?;
    release_stale_leases(cfg, &Ipam::new(super::ipam_dir()), live_uids)
}

fn release_stale_leases(
    cfg: &Config,
    ipam: &Ipam,
    live_uids: &[String],
) -> Result<Vec<(Ipv4Addr, String)>> {
    let live: HashSet<&str> = live_uids.iter().map(String::as_str).collect();
    let mut released = vec![];
    for lease in ipam.leases()? {
        if cfg.cidr.contains(lease.ip) && !live.contains(lease.uid.as_str()) {
            ipam.remove(lease.ip)?;
            released.push((lease.ip, lease.uid));
        }
    }
    for (ip, uid) in cni::leases(&cfg.bridge) {
        if cfg.cidr.contains(ip) && !live.contains(uid.as_str()) {
            release_cni_lease(cfg, ip, &uid)?;
            released.push((ip, uid));
        }
    }
    Ok(released)
}

/// Free a CNI lease whose pod is gone: through the plugin when it is installed (as containerd
/// would), else by removing host-local's file.
fn release_cni_lease(cfg: &Config, ip: Ipv4Addr, uid: &str) -> Result<()> {
    let plugin_dir = match &cfg.mode {
        Mode::Cni { plugin_dir } => Some(plugin_dir.clone()),
        Mode::Native => cni::find_plugin_dir(),
    };
    if let Some(dir) = plugin_dir {
        if cni::delete_lease(&dir, &cfg.bridge, &cfg.cidr, uid).is_ok() {
            return Ok(());
        }
    }
    let file = cni::ipam_data_dir()
        .join(cni::network_name(&cfg.bridge))
        .join(ip.to_string());
    match std::fs::remove_file(&file) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetworkError::os(
            format!("failed to remove CNI lease {}", file.display()),
            e,
        )),
    }
}

/// Whether any pod (native or CNI) still holds an address in the range.
pub(super) fn range_in_use(ipam: &Ipam, cidr: &Ipv4Cidr, bridge: &str) -> Result<bool> {
    let native = ipam.leases()?.iter().any(|l| cidr.contains(l.ip));
    Ok(native || cni::leases(bridge).iter().any(|(ip, _)| cidr.contains(*ip)))
}

fn open_host() -> Result<Netlink> {
    Netlink::open().map_err(|e| NetworkError::os("failed to open a netlink socket on the host", e))
}

fn prefix_mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        n => u32::MAX << (32 - u32::from(n.min(32))),
    }
}

/// Delete the interface called `name` if it exists; returns whether it did.
fn delete_link_named(host: &mut Netlink, name: &str) -> Result<bool> {
    let found = links::find_link(host, name)
        .map_err(|e| NetworkError::os("failed to list host interfaces", e))?;
    let Some(link) = found else { return Ok(false) };
    match links::delete_link(host, link.index) {
        Ok(()) => Ok(true),
        Err(e) if e.raw_os_error() == Some(libc::ENODEV) => Ok(false),
        Err(e) => Err(NetworkError::os(format!("failed to delete {name}"), e)),
    }
}

/// The bridge goes when the last lease of its range goes.
fn remove_bridge_if_unused(
    host: &mut Netlink,
    ipam: &Ipam,
    cidr: &Ipv4Cidr,
    bridge: &str,
) -> Result<bool> {
    if range_in_use(ipam, cidr, bridge)? {
        return Ok(false);
    }
    ipam.forget_range(cidr);
    cni::forget_network(bridge);
    let found = links::find_link(host, bridge)
        .map_err(|e| NetworkError::os("failed to list host interfaces", e))?;
    match found {
        Some(link) if link.kind.as_deref() == Some("bridge") => delete_link_named(host, bridge),
        _ => Ok(false),
    }
}
