//! The pod's shared files: emptyDir and hostPath volumes, the shared /dev/shm (a tmpfs
//! `noexec,nosuid,nodev,mode=1777,size=65536k` per sandbox, as containerd makes it), and the
//! /etc/hosts, /etc/hostname and /etc/resolv.conf kubelet and containerd write for every pod.
//!
//! tmpfs mounts are made in the shim's private mount namespace: they vanish with the pod.

use std::os::unix::fs::FileTypeExt;
use std::path::Path;

use eyre::{bail, eyre, Context, Result};
use nix::mount::{mount, MsFlags};

use super::paths;
use crate::kube::events::Event;
use crate::spec::{HostPathType, Pod, PodSpec, Volume};

/// containerd's default size of a pod's /dev/shm (`defaultShmSize`, 64 MiB).
pub const SHM_SIZE: &str = "65536k";

/// `user_ids`: the pod's own range (`hostUsers: false`), whose root gets the emptyDir volumes.
pub fn prepare(uid: &str, pod: &Pod, user_ids: Option<crate::kube::userns::IdRange>) -> Result<()> {
    let pod_dir = paths::pod_dir(uid);
    // The sandbox's /dev/shm, as containerd makes it; a hostIPC pod uses the host's instead.
    if !pod.spec.host_ipc {
        let shm = pod_dir.join("shm");
        std::fs::create_dir_all(&shm)?;
        tmpfs(
            &shm,
            MsFlags::MS_NOEXEC,
            &format!("mode=1777,size={SHM_SIZE}"),
        )?;
    }
    for volume in &pod.spec.volumes {
        prepare_volume(uid, pod, volume, user_ids)
            .wrap_err_with(|| format!("failed to prepare volume {:?}", volume.name))?;
    }
    Ok(())
}

fn tmpfs(target: &Path, extra: MsFlags, options: &str) -> Result<()> {
    mount(
        Some("tmpfs"),
        target,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | extra,
        Some(options),
    )
    .map_err(|e| eyre!("failed to mount tmpfs on {}: {e}", target.display()))
}

/// kubelet's size for a memory-backed emptyDir: the node's allocatable memory, the pod's
/// memory limit or the volume's sizeLimit, whichever is smallest.
fn memory_volume_size(pod: &Pod, empty: &crate::spec::EmptyDirVolumeSource) -> Result<i64> {
    use crate::kube::{qos, resources::PodResources, scheduling};
    let node = super::pod_cgroups::node_capacity()?;
    let allocatable = scheduling::allocatable(node).memory();
    let pod_limit = qos::pod_cgroup_values(&PodResources::from_spec(&pod.spec)).memory_limit_bytes;
    Ok(crate::kube::volumes::memory_volume_size(
        allocatable,
        pod_limit,
        empty.size_limit.as_ref().map(|q| q.value()),
    ))
}

fn prepare_volume(
    uid: &str,
    pod: &Pod,
    volume: &Volume,
    user_ids: Option<crate::kube::userns::IdRange>,
) -> Result<()> {
    if let Some(empty) = &volume.empty_dir {
        let dir = paths::volumes_dir(uid).join(&volume.name);
        std::fs::create_dir_all(&dir)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777))?;
        if empty.medium == "Memory" {
            tmpfs(
                &dir,
                MsFlags::empty(),
                &format!("mode=1777,size={}", memory_volume_size(pod, empty)?),
            )?;
        }
        if let Some(range) = user_ids {
            // The pod's root owns it, so what it writes there is 65536·N on the host.
            super::userns::chown_to_root_inside(&dir, range)?;
        }
        return Ok(());
    }
    if let Some(host) = &volume.host_path {
        return check_host_path(Path::new(&host.path), host.kind);
    }
    bail!(
        "volume {:?} has no source podlab supports (emptyDir or hostPath)",
        volume.name
    )
}

/// kubelet's hostPath type checks (`DirectoryOrCreate`, `FileOrCreate`, …).
pub fn check_host_path(path: &Path, kind: HostPathType) -> Result<()> {
    let meta = std::fs::metadata(path);
    let shown = path.display();
    match kind {
        HostPathType::Unset => Ok(()),
        HostPathType::DirectoryOrCreate => {
            if !path.exists() {
                std::fs::create_dir_all(path)
                    .wrap_err_with(|| format!("failed to create {shown}"))?;
            }
            match std::fs::metadata(path) {
                Ok(m) if m.is_dir() => Ok(()),
                _ => bail!("hostPath {shown} exists but is not a directory"),
            }
        }
        HostPathType::FileOrCreate => {
            if !path.exists() {
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .wrap_err_with(|| format!("failed to create {shown}"))?;
            }
            match std::fs::metadata(path) {
                Ok(m) if m.is_file() => Ok(()),
                _ => bail!("hostPath {shown} exists but is not a file"),
            }
        }
        other => {
            let m = meta.map_err(|_| eyre!("hostPath {shown} does not exist (type {other:?})"))?;
            let t = m.file_type();
            let ok = match other {
                HostPathType::Directory => t.is_dir(),
                HostPathType::File => t.is_file(),
                HostPathType::Socket => t.is_socket(),
                HostPathType::CharDevice => t.is_char_device(),
                HostPathType::BlockDevice => t.is_block_device(),
                _ => true,
            };
            if !ok {
                bail!("hostPath {shown} is not a {other:?}");
            }
            Ok(())
        }
    }
}

/// The node's resolv.conf as kubelet reads it: `/etc/resolv.conf`, or, where that names only
/// systemd-resolved's local stub, the upstream servers' file kubeadm points kubelet at.
pub fn node_resolv_conf() -> String {
    let etc = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    if crate::kube::dns::uses_resolved_stub(&etc) {
        if let Ok(upstream) = std::fs::read_to_string("/run/systemd/resolve/resolv.conf") {
            return upstream;
        }
    }
    etc
}

/// The pod's /etc/resolv.conf per its dnsPolicy and dnsConfig; the warnings kubelet records on
/// the way (MissingClusterDNS, DNSConfigForming) are returned. `pod`: `name_namespace(uid)`.
pub fn write_resolv_conf(uid: &str, spec: &PodSpec, pod: &str) -> Result<Vec<Event>> {
    let node = node_resolv_conf();
    let dns = crate::kube::dns::pod_dns(spec, &crate::kube::dns::parse_resolv_conf(&node), pod);
    // containerd copies the node's file when kubelet's settings are all empty.
    let text = crate::kube::dns::resolv_conf(&dns.config).unwrap_or(node);
    super::sys::write_in_place(&paths::pod_dir(uid).join("resolv.conf"), text.as_bytes())?;
    Ok(dns.events)
}

/// kubelet's /etc/hosts (`kube::hosts`: the managed file, or the node's for a hostNetwork
/// pod) and containerd's /etc/hostname.
pub fn write_etc_files(uid: &str, pod: &Pod, pod_ip: Option<&str>) -> Result<()> {
    use crate::kube::hosts;
    let dir = paths::pod_dir(uid);
    let aliases = &pod.spec.host_aliases;
    let hosts_file = if pod.spec.host_network {
        let node = std::fs::read_to_string("/etc/hosts")
            .wrap_err("failed to read the node's /etc/hosts")?;
        hosts::node_hosts(&node, aliases)
    } else {
        let ips: Vec<String> = pod_ip.map(String::from).into_iter().collect();
        hosts::managed_hosts(&ips, &hosts::pod_hostname(pod), aliases)
    };
    // Rewritten in place: the files are bind-mounted into running containers.
    super::sys::write_in_place(&dir.join("etc-hosts"), hosts_file.as_bytes())?;
    super::sys::write_in_place(
        &dir.join("etc-hostname"),
        format!("{}\n", container_hostname(pod)).as_bytes(),
    )?;
    Ok(())
}

/// The hostname a container of `pod` sees: the pod's, or this machine's for a hostNetwork pod.
pub fn container_hostname(pod: &Pod) -> String {
    let node = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    crate::kube::hosts::container_hostname(pod, &node)
}
