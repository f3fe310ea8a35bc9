//! Wiring one pod: bridge (once), lease, veth pair, and the pod side of it.

use std::net::Ipv4Addr;

use super::cleanup;
use super::cni;
use super::error::{NetworkError, Result};
use super::ipam::Ipam;
use super::links::{self, Link};
use super::lock::MachineLock;
use super::netlink::Netlink;
use super::netns::NetNs;
use super::{Config, Mode};
use crate::kube::pod_network::narrate::{self, NetStep};
use crate::kube::pod_network::{names, Ipv4Cidr, PodNetwork, POD_INTERFACE};

/// Give the pod whose pause runs as `sandbox_pid` an `eth0` with its own IP on the bridge.
///
/// Runs under the machine lock; on failure everything made so far is removed again.
pub fn setup_pod(cfg: &Config, uid: &str, pod_name: &str, sandbox_pid: i32) -> Result<PodNetwork> {
    cfg.validate()?;
    let netns = NetNs::of_pid(sandbox_pid)?;
    if netns.is_current()? {
        return Err(NetworkError::HostNamespace { pid: sandbox_pid });
    }
    let _lock = MachineLock::acquire(&crate::runtime::paths::global_lock())?;
    let mut host = Netlink::open()
        .map_err(|e| NetworkError::os("failed to open a netlink socket on the host", e))?;
    let ipam = Ipam::new(super::ipam_dir());
    if let Some(lease) = ipam
        .leases()?
        .into_iter()
        .find(|l| l.uid == uid && cfg.cidr.contains(l.ip))
    {
        return Err(NetworkError::AlreadySetUp {
            uid: uid.to_string(),
            ip: lease.ip,
            cidr: cfg.cidr,
        });
    }

    let mut made = Made::default();
    let result = wire(
        cfg,
        uid,
        pod_name,
        &netns,
        sandbox_pid,
        &mut host,
        &ipam,
        &mut made,
    );
    if result.is_err() {
        made.undo(cfg, &mut host, &ipam);
    }
    result
}

/// What this setup created, so a failure can take it back.
#[derive(Default)]
struct Made {
    bridge: bool,
    lease: Option<(Ipv4Addr, String)>,
    host_veth: Option<String>,
}

impl Made {
    fn undo(&self, cfg: &Config, host: &mut Netlink, ipam: &Ipam) {
        if let Some(veth) = &self.host_veth {
            if let Ok(Some(link)) = links::find_link(host, veth) {
                let _ = links::delete_link(host, link.index);
            }
        }
        if let Some((ip, uid)) = &self.lease {
            let _ = ipam.release(*ip, uid);
        }
        let in_use = cleanup::range_in_use(ipam, &cfg.cidr, &cfg.bridge).unwrap_or(true);
        if self.bridge && !in_use {
            if let Ok(Some(bridge)) = links::find_link(host, &cfg.bridge) {
                let _ = links::delete_link(host, bridge.index);
            }
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn wire(
    cfg: &Config,
    uid: &str,
    pod_name: &str,
    netns: &NetNs,
    pid: i32,
    host: &mut Netlink,
    ipam: &Ipam,
    made: &mut Made,
) -> Result<PodNetwork> {
    let mut steps = Vec::new();
    let host_links = links::list_links(host)
        .map_err(|e| NetworkError::os("failed to list host interfaces", e))?;
    let bridge_index = host_links
        .iter()
        .find(|l| l.name == cfg.bridge)
        .map_or(0, |l| l.index);
    // Check before creating anything: a refused range must leave nothing behind.
    check_no_overlap(&cfg.cidr, bridge_index, host, &host_links)?;
    let (bridge, host_links) = ensure_bridge(cfg, host, host_links, &mut steps, made)?;

    if let Mode::Cni { plugin_dir } = &cfg.mode {
        // The plugins make the veth pair and lease the address; on failure they undo it (DEL).
        let added = cni::add(plugin_dir, &cfg.bridge, &cfg.cidr, uid, netns, &mut steps)?;
        return Ok(PodNetwork {
            ip: added.ip,
            prefix_len: added.prefix_len,
            gateway: added.gateway,
            bridge: cfg.bridge.clone(),
            host_veth: added.host_veth,
            pod_interface: POD_INTERFACE.to_string(),
            steps,
            cni: Some(added.state),
        });
    }

    let leases = ipam.leases()?;
    let taken = |name: &str| {
        host_links.iter().any(|l| l.name == name) || leases.iter().any(|l| l.host_veth == name)
    };
    let host_veth = names::host_veth_name(pod_name, &taken).ok_or_else(|| {
        NetworkError::InvalidConfig(format!("no free host veth name for pod {pod_name:?}"))
    })?;

    let ip = ipam.allocate(&cfg.cidr, uid, &host_veth)?;
    made.lease = Some((ip, uid.to_string()));
    let ipam_file = ipam.dir().join(ip.to_string());
    steps.push(narrate::ip_leased(
        &ipam_file.to_string_lossy(),
        uid,
        &host_veth,
        ip,
    ));

    let on_host = |what: &str, e| NetworkError::os(format!("failed to {what}"), e);
    links::add_veth_pair(host, &host_veth, bridge.index, POD_INTERFACE, netns.fd()).map_err(
        |e| {
            on_host(
                &format!("create veth pair {host_veth} / {POD_INTERFACE} for pause (pid {pid})"),
                e,
            )
        },
    )?;
    made.host_veth = Some(host_veth.clone());
    steps.push(narrate::veth_added(&host_veth, POD_INTERFACE, pid));
    steps.push(narrate::veth_attached(&host_veth, &cfg.bridge));
    let veth = links::find_link(host, &host_veth)
        .map_err(|e| on_host(&format!("look up {host_veth}"), e))?
        .ok_or_else(|| {
            on_host(
                &format!("find {host_veth} after creating it"),
                std::io::ErrorKind::NotFound.into(),
            )
        })?;
    links::set_up(host, veth.index).map_err(|e| on_host(&format!("set {host_veth} up"), e))?;
    steps.push(narrate::veth_up(&host_veth));

    configure_pod_side(netns, pid, ip, &cfg.cidr, &mut steps)?;

    Ok(PodNetwork {
        ip,
        prefix_len: cfg.cidr.prefix_len(),
        gateway: cfg.cidr.gateway(),
        bridge: cfg.bridge.clone(),
        host_veth,
        pod_interface: POD_INTERFACE.to_string(),
        steps,
        cni: None,
    })
}

/// The bridge with the gateway address, created if missing. Returns it and the host's links.
/// The bridge is only ever made with the machine lock held, so two pods never race to make it.
fn ensure_bridge(
    cfg: &Config,
    host: &mut Netlink,
    mut host_links: Vec<Link>,
    steps: &mut Vec<NetStep>,
    made: &mut Made,
) -> Result<(Link, Vec<Link>)> {
    let name = &cfg.bridge;
    let fail = |what: String, e| NetworkError::os(what, e);
    let list = |host: &mut Netlink| {
        links::list_links(host).map_err(|e| fail("failed to list host interfaces".into(), e))
    };
    let (gateway, prefix_len) = (cfg.cidr.gateway(), cfg.cidr.prefix_len());

    let bridge = match host_links.iter().find(|l| &l.name == name) {
        Some(existing) => {
            if existing.kind.as_deref() != Some("bridge") {
                return Err(NetworkError::InvalidConfig(format!(
                    "{name} exists but is a {} device, not a bridge",
                    existing.kind.as_deref().unwrap_or("physical")
                )));
            }
            let existing = existing.clone();
            let addresses = links::ipv4_addresses(host, existing.index)
                .map_err(|e| fail(format!("failed to read the addresses of bridge {name}"), e))?;
            if !addresses.contains(&(gateway, prefix_len)) {
                if let Some((ip, len)) = addresses.first() {
                    return Err(NetworkError::BridgeMismatch {
                        bridge: name.clone(),
                        has: format!("{ip}/{len}"),
                        wanted: format!("{gateway}/{prefix_len}"),
                    });
                }
                links::add_address(host, existing.index, gateway, prefix_len).map_err(|e| {
                    fail(
                        format!("failed to give bridge {name} address {gateway}/{prefix_len}"),
                        e,
                    )
                })?;
                steps.push(narrate::bridge_address(name, gateway, prefix_len));
            } else {
                steps.push(narrate::bridge_reused(name));
            }
            existing
        }
        None => {
            links::add_bridge(host, name)
                .map_err(|e| fail(format!("failed to create bridge {name}"), e))?;
            made.bridge = true;
            steps.push(narrate::bridge_added(name));
            host_links = list(host)?;
            let created = host_links
                .iter()
                .find(|l| &l.name == name)
                .cloned()
                .ok_or_else(|| {
                    fail(
                        format!("failed to find bridge {name} after creating it"),
                        std::io::ErrorKind::NotFound.into(),
                    )
                })?;
            links::add_address(host, created.index, gateway, prefix_len).map_err(|e| {
                fail(
                    format!("failed to give bridge {name} address {gateway}/{prefix_len}"),
                    e,
                )
            })?;
            steps.push(narrate::bridge_address(name, gateway, prefix_len));
            created
        }
    };
    links::set_up(host, bridge.index)
        .map_err(|e| fail(format!("failed to set bridge {name} up"), e))?;
    if made.bridge {
        steps.push(narrate::bridge_up(name));
    }
    Ok((bridge, host_links))
}

/// Refuse a range that some host route (other than our bridge's own) already covers.
fn check_no_overlap(
    cidr: &Ipv4Cidr,
    bridge_index: u32,
    host: &mut Netlink,
    host_links: &[Link],
) -> Result<()> {
    let routes = links::ipv4_routes(host, host_links)
        .map_err(|e| NetworkError::os("failed to list the host's routes", e))?;
    let foreign: Vec<_> = routes
        .iter()
        .filter(|r| r.output_interface != Some(bridge_index) || bridge_index == 0)
        .collect();
    if let Some(clash) = foreign.iter().find(|r| r.destination.overlaps(cidr)) {
        let taken: Vec<Ipv4Cidr> = foreign.iter().map(|r| r.destination).collect();
        return Err(NetworkError::Overlap {
            cidr: *cidr,
            route: clash.shown.clone(),
            suggestion: cidr.free_alternative(&taken),
        });
    }
    Ok(())
}

/// Inside the pod: lo up, eth0 with the pod IP and up, default route via the gateway.
fn configure_pod_side(
    netns: &NetNs,
    pid: i32,
    ip: Ipv4Addr,
    cidr: &Ipv4Cidr,
    steps: &mut Vec<NetStep>,
) -> Result<()> {
    let mut pod = Netlink::from_fd(netns.netlink_socket()?).map_err(|e| {
        NetworkError::os(
            format!("failed to use a netlink socket in the net namespace of pause (pid {pid})"),
            e,
        )
    })?;
    let fail = |what: String, e| {
        NetworkError::os(
            format!("failed to {what} in the net namespace of pause (pid {pid})"),
            e,
        )
    };
    let pod_links = links::list_links(&mut pod).map_err(|e| fail("list interfaces".into(), e))?;
    let find = |name: &str| {
        pod_links
            .iter()
            .find(|l| l.name == name)
            .map(|l| l.index)
            .ok_or_else(|| fail(format!("find {name}"), std::io::ErrorKind::NotFound.into()))
    };
    let (lo, eth0) = (find("lo")?, find(POD_INTERFACE)?);

    links::set_up(&mut pod, lo).map_err(|e| fail("set lo up".into(), e))?;
    steps.push(narrate::loopback_up(pid));
    links::add_address(&mut pod, eth0, ip, cidr.prefix_len()).map_err(|e| {
        fail(
            format!("add {ip}/{} to {POD_INTERFACE}", cidr.prefix_len()),
            e,
        )
    })?;
    steps.push(narrate::pod_address(
        pid,
        POD_INTERFACE,
        ip,
        cidr.prefix_len(),
    ));
    links::set_up(&mut pod, eth0).map_err(|e| fail(format!("set {POD_INTERFACE} up"), e))?;
    steps.push(narrate::pod_interface_up(pid, POD_INTERFACE));
    links::add_default_route(&mut pod, cidr.gateway())
        .map_err(|e| fail(format!("add a default route via {}", cidr.gateway()), e))?;
    steps.push(narrate::default_route(pid, cidr.gateway()));
    Ok(())
}
