//! Starting one container from the shim: its config for `podlab init`, its files, and the
//! sync pipe that says when it has exec'd (or why it could not).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use eyre::{eyre, Context, Result};
use nix::fcntl::OFlag;
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::unistd::pipe2;

use super::images::ResolvedImage;
use super::init::{InitConfig, CONFIG_FD, DEFAULT_PATH, SYNC_FD};
use super::paths;
use super::pod_cgroups::ContainerPlacement;
use super::rootfs::{RootfsConfig, VolumeBind};
use super::sys::LiveProcess;
use crate::kube::namespaces::ContainerNamespaces;
use crate::kube::pod_state::ProcessRef;
use crate::kube::security::{self, ProcessUser};
use crate::spec::{Container, Pod};

/// How long a container may take from fork to exec before we give up on it.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// What every container of one pod shares.
pub struct PodContext<'a> {
    pub uid: &'a str,
    pub pod: &'a Pod,
    pub sandbox_pid: i32,
    pub podlab_exe: &'a Path,
    /// `hostUsers: false`: the pod's range of ids.
    pub user_ids: Option<crate::kube::userns::IdRange>,
    /// What the container's fieldRefs and resourceFieldRefs read.
    pub env: crate::kube::env::EnvContext,
}

/// The command a container runs, with Kubernetes' rules: `command` replaces the image's
/// Entrypoint, `args` its Cmd; `$(VAR)` in command and args is expanded from the container's
/// own variables `vars`.
pub fn container_argv(
    c: &Container,
    image: &ResolvedImage,
    vars: &[(String, String)],
) -> Vec<String> {
    let (command, args) = crate::kube::env::expand_command_and_args(&c.command, &c.args, vars);
    crate::kube::image::container_command(
        &command,
        &args,
        &image.config.entrypoint,
        &image.config.cmd,
    )
}

/// What kubelet knows of the pod and the node when it starts a container: the uid, the node's
/// name and allocatable, the pod's IP and the node's (the bridge's address, by which the pod
/// reaches this machine; for a hostNetwork pod, the address of the default route's interface).
pub fn env_context(state: &crate::kube::pod_state::PodState) -> crate::kube::env::EnvContext {
    let sandbox = state.sandbox.as_ref();
    let host_ips: Vec<String> = match sandbox.and_then(|s| s.network.as_ref()) {
        Some(net) => vec![net.gateway.to_string()],
        None if state.pod.spec.host_network => node_ip().into_iter().collect(),
        None => Vec::new(),
    };
    let pod_ips = match sandbox.and_then(|s| s.ip.clone()) {
        Some(ip) => vec![ip],
        None if state.pod.spec.host_network => host_ips.clone(),
        None => Vec::new(),
    };
    let node_allocatable = super::pod_cgroups::node_capacity()
        .map(crate::kube::scheduling::allocatable)
        .unwrap_or_default();
    crate::kube::env::EnvContext {
        uid: state.uid.clone(),
        node_name: crate::kube::static_pods::node_name(),
        pod_ips,
        host_ips,
        node_allocatable,
    }
}

/// The address this machine sends from on its default route: kubelet's node IP when none is
/// configured. A UDP socket "connected" to an outside address sends nothing; the kernel only
/// picks the route and the source address. None without a default route.
fn node_ip() -> Option<String> {
    let socket = std::net::UdpSocket::bind("0.0.0.0:0").ok()?;
    socket.connect("192.0.2.1:9").ok()?;
    Some(socket.local_addr().ok()?.ip().to_string())
}

/// A container's environment: PATH, HOSTNAME and HOME, the image's Env over them, the
/// container's variables `vars` (resolved by [`crate::kube::env::container_vars`]) over all.
pub fn container_env(
    pod: &Pod,
    c: &Container,
    vars: &[(String, String)],
    image_env: &[String],
    home: &str,
) -> Vec<String> {
    let mut base = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={}", super::volumes::container_hostname(pod)),
        format!("HOME={home}"),
    ];
    if c.tty {
        base.push("TERM=xterm".into());
    }
    let with_image = crate::kube::image::merge_env(
        base.iter().map(String::as_str),
        image_env.iter().filter_map(|line| {
            let (name, value) = line.split_once('=')?;
            Some((name.to_string(), value.to_string()))
        }),
    );
    crate::kube::image::merge_env(with_image.iter().map(String::as_str), vars.iter().cloned())
}

/// A container whose securityContext cannot be met (kubelet's CreateContainerConfigError):
/// it waits with the reason and is not started.
#[derive(Debug)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Who the container's process is: its securityContext (and the pod's) over the image's
/// `User`, looked up in the image's own /etc/passwd and /etc/group (the topmost layer that
/// has them). runAsNonRoot is checked first, as kubelet does before it asks for a container.
pub fn process_user(ctx: &PodContext, c: &Container, image: &ResolvedImage) -> Result<ProcessUser> {
    let eff = security::effective(&ctx.pod.spec, c);
    let namespace = ctx.pod.metadata.namespace.as_deref().unwrap_or("default");
    let pod = crate::kube::events::format_pod(&ctx.pod.metadata.name, namespace, ctx.uid);
    security::verify_run_as_non_root(&eff, &image.config.user, &pod, &c.name)
        .map_err(|e| eyre::Report::new(ConfigError(e)))?;
    let passwd = image_file(&image.lowers, "etc/passwd");
    let group = image_file(&image.lowers, "etc/group");
    security::process_user(&eff, &image.config.user, &passwd, &group).map_err(|e| eyre!("{e}"))
}

/// A small text file of the image, as the merged rootfs would show it: from the topmost layer
/// that has it as a regular file (a link is not followed: it would point into the host).
fn image_file(lowers: &[PathBuf], rel: &str) -> String {
    use std::os::unix::fs::FileTypeExt;
    for layer in lowers {
        let path = layer.join(rel);
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() && m.len() < 1 << 20 => {
                return std::fs::read_to_string(&path).unwrap_or_default()
            }
            // A whiteout, or something that is not a file, hides the layers below.
            Ok(m) if m.file_type().is_char_device() || !m.is_file() => return String::new(),
            _ => {}
        }
    }
    String::new()
}

/// Where a volume's content lives on the host.
pub fn volume_source(uid: &str, pod: &Pod, name: &str) -> Option<PathBuf> {
    let volume = pod.spec.volumes.iter().find(|v| v.name == name)?;
    if let Some(host) = &volume.host_path {
        return Some(PathBuf::from(&host.path));
    }
    Some(paths::volumes_dir(uid).join(name))
}

pub fn init_config(
    ctx: &PodContext,
    c: &Container,
    image: &ResolvedImage,
    placement: Option<ContainerPlacement>,
) -> Result<InitConfig> {
    let dir = paths::containers_dir(ctx.uid).join(&c.name);
    // A restarted container gets a fresh writable layer, as a new container would.
    let _ = std::fs::remove_dir_all(&dir);
    for sub in ["upper", "work", "rootfs"] {
        std::fs::create_dir_all(dir.join(sub))
            .wrap_err_with(|| format!("failed to create {}/{sub}", dir.display()))?;
    }
    if let Some(range) = ctx.user_ids {
        // The writable layer is the pod's root's: `/` inside is root's, and what the
        // container writes is 65536·N on the host.
        super::userns::chown_to_root_inside(&dir.join("upper"), range)?;
    }
    // The layers this container stacks, so that gc keeps them while the pod lives.
    let layer_list: String = image
        .lowers
        .iter()
        .map(|l| format!("{}\n", l.display()))
        .collect();
    std::fs::write(dir.join("layers"), layer_list)
        .wrap_err_with(|| format!("failed to write {}/layers", dir.display()))?;
    let user = process_user(ctx, c, image)?;
    // runc's HOME when the image sets none: the user's, else "/" (root's "/root").
    let home = user
        .home
        .clone()
        .unwrap_or_else(|| if user.uid == 0 { "/root" } else { "/" }.to_string());
    let eff = security::effective(&ctx.pod.spec, c);
    let exec_process = super::exec::ExecProcess {
        user: Some(user.clone()),
        privileged: eff.privileged,
        capabilities: eff.capabilities,
        no_new_privs: eff.no_new_privs,
    };
    std::fs::write(
        dir.join(super::exec::EXEC_PROCESS_FILE),
        serde_json::to_vec(&exec_process)?,
    )
    .wrap_err_with(|| {
        format!(
            "failed to write {}/{}",
            dir.display(),
            super::exec::EXEC_PROCESS_FILE
        )
    })?;
    let mut mounts = Vec::new();
    for m in &c.volume_mounts {
        let source = volume_source(ctx.uid, ctx.pod, &m.name)
            .ok_or_else(|| eyre!("volume {:?} is not declared in the pod", m.name))?;
        let source = match &m.sub_path {
            Some(sub) if !sub.is_empty() => {
                let p = source.join(sub);
                std::fs::create_dir_all(&p)?;
                p
            }
            _ => source,
        };
        mounts.push(VolumeBind {
            source,
            destination: m.mount_path.clone(),
            read_only: m.read_only,
        });
    }
    mounts.push(termination_log(&dir, c)?);
    let pod_dir = paths::pod_dir(ctx.uid);
    let vars = crate::kube::env::container_vars(ctx.pod, c, &ctx.env);
    let unified = placement.as_ref().is_some_and(|p| p.unified_dir.is_some());
    let (cgroup_procs, cgroup_dir, cgroup_view, oom_score_adj) = match placement {
        Some(p) => (
            p.procs_files,
            p.unified_dir,
            Some(p.view),
            Some(p.oom_score_adj),
        ),
        None => (Vec::new(), None, None, None),
    };
    Ok(InitConfig {
        container: c.name.clone(),
        sandbox_pid: ctx.sandbox_pid,
        namespaces: ContainerNamespaces::for_container(ctx.pod, c.is_privileged(), unified),
        cgroup_procs,
        cgroup_dir,
        oom_score_adj,
        rootfs: RootfsConfig {
            lower: image.lowers.clone(),
            upper: dir.join("upper"),
            work: dir.join("work"),
            merged: dir.join("rootfs"),
            mounts,
            // hostIPC: the host's /dev/shm, as containerd binds it.
            shm: if ctx.pod.spec.host_ipc {
                PathBuf::from("/dev/shm")
            } else {
                pod_dir.join("shm")
            },
            etc_hosts: pod_dir.join("etc-hosts"),
            etc_hostname: pod_dir.join("etc-hostname"),
            etc_resolv_conf: pod_dir.join("resolv.conf"),
            cgroup: cgroup_view,
            idmapped_lower: ctx.user_ids.map(|_| dir.join("lower")),
            pod_root: ctx.user_ids.map(|r| r.first_id),
            read_only: eff.read_only_root_filesystem,
        },
        argv: container_argv(c, image, &vars),
        env: container_env(ctx.pod, c, &vars, &image.config.env, &home),
        cwd: c
            .working_dir
            .clone()
            .filter(|d| !d.is_empty())
            .unwrap_or_else(|| image.config.working_dir.clone()),
        user,
        privileged: eff.privileged,
        capabilities: eff.capabilities,
        no_new_privs: eff.no_new_privs,
        seccomp: super::seccomp::for_container(ctx.pod, c)?,
    })
}

/// The file in the container's directory (new for each instance) where the container may write
/// why it ended, 0666 whatever the umask, as kubelet makes it; bound at its
/// terminationMessagePath.
fn termination_log(dir: &Path, c: &Container) -> Result<VolumeBind> {
    use std::os::unix::fs::PermissionsExt;
    let file = termination_log_file(dir);
    File::create(&file).wrap_err_with(|| format!("failed to create {}", file.display()))?;
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o666))
        .wrap_err_with(|| format!("failed to make {} writable", file.display()))?;
    Ok(VolumeBind {
        source: file,
        destination: crate::kube::termination_message::path(c),
        read_only: false,
    })
}

/// Where a container's termination message file is kept, in its directory `dir`.
pub fn termination_log_file(dir: &Path) -> PathBuf {
    dir.join("termination-log")
}

/// At most the last `max` bytes of a file (None: it cannot be read).
pub fn read_end(path: &Path, max: u64) -> Option<Vec<u8>> {
    use std::io::{Seek, SeekFrom};
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    file.seek(SeekFrom::Start(len.saturating_sub(max))).ok()?;
    let mut out = Vec::new();
    file.take(max).read_to_end(&mut out).ok()?;
    Some(out)
}

/// Start `podlab init` with `config` and wait until the container has exec'd.
pub fn start(ctx: &PodContext, config: &InitConfig, log: &File) -> Result<ProcessRef> {
    let (config_read, config_write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| eyre!("pipe: {e}"))?;
    let (sync_read, sync_write) = pipe2(OFlag::O_CLOEXEC).map_err(|e| eyre!("pipe: {e}"))?;
    let mut config_write = File::from(config_write);
    config_write.write_all(&serde_json::to_vec(config)?)?;
    drop(config_write);
    let mut cmd = Command::new(ctx.podlab_exe);
    cmd.arg0("podlab-init")
        .arg("init")
        .env_clear()
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log.try_clone()?);
    let fds = [config_read.as_raw_fd(), sync_write.as_raw_fd()];
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // The shim blocks SIGTERM, SIGCHLD and others for its signalfd; a container must
            // start with none blocked, or a TERM trap would never run.
            let mut empty: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut empty);
            libc::sigprocmask(libc::SIG_SETMASK, &empty, std::ptr::null_mut());
            place_fds(&[(fds[0], CONFIG_FD), (fds[1], SYNC_FD)])?;
            Ok(())
        });
    }
    let child = cmd.spawn().wrap_err_with(|| {
        format!(
            "failed to start podlab init for container {:?}",
            config.container
        )
    })?;
    drop(config_read);
    drop(sync_write);
    // The shim's SIGCHLD handler reaps podlab init; we only need what it reports.
    std::mem::forget(child);
    let report = read_sync(sync_read)?;
    let mut pid = None;
    for line in report.lines() {
        if let Some(p) = line.strip_prefix("pid ") {
            pid = p.trim().parse::<i32>().ok();
        } else if let Some(msg) = line.strip_prefix("error ") {
            return Err(eyre!("{msg}"));
        }
    }
    let pid = pid.ok_or_else(|| eyre!("podlab init exited without starting the container"))?;
    // The process may already have exited (a command that ends at once): keep its pid anyway.
    Ok(ProcessRef::of(pid).unwrap_or(ProcessRef { pid, start_time: 0 }))
}

/// Put each source descriptor at its target number. The sources are first copied above every
/// target, so that placing one cannot overwrite another that is still to be moved (the config
/// pipe may well be fd 4 and the sync pipe fd 3). dup2 clears O_CLOEXEC on the targets.
fn place_fds(moves: &[(i32, i32)]) -> std::io::Result<()> {
    const ABOVE_TARGETS: i32 = 10;
    let mut copies = [0i32; 8];
    for (i, (from, _)) in moves.iter().enumerate() {
        let copy = unsafe { libc::fcntl(*from, libc::F_DUPFD_CLOEXEC, ABOVE_TARGETS) };
        if copy < 0 {
            return Err(std::io::Error::last_os_error());
        }
        copies[i] = copy;
    }
    for (i, (_, to)) in moves.iter().enumerate() {
        if unsafe { libc::dup2(copies[i], *to) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Read the sync pipe to EOF (EOF means: exec done, or everyone holding it has died).
fn read_sync(fd: OwnedFd) -> Result<String> {
    let deadline = std::time::Instant::now() + START_TIMEOUT;
    let mut file = File::from(fd);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Err(eyre!(
                "the container did not start within {}s",
                START_TIMEOUT.as_secs()
            ));
        }
        let mut fds = [PollFd::new(
            std::os::fd::AsFd::as_fd(&file),
            PollFlags::POLLIN,
        )];
        let ms = u16::try_from(left.as_millis()).unwrap_or(u16::MAX);
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => continue,
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(eyre!("failed to wait for the container to start: {e}")),
        }
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(eyre!("failed to read the container's start report: {e}")),
        }
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}
