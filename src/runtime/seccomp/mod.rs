//! seccomp: the system calls a container (and pause) may make.
//!
//! A profile in the OCI/Docker JSON form — containerd's default for `RuntimeDefault`
//! (`containerd_default.json`), or a file of the node for `Localhost` — gives the rules for
//! one container's architecture, bounding capabilities and kernel (`profile`); `bpf` turns
//! them into a classic BPF program; `apply` installs it. The shim compiles (it can read files
//! and report errors as a failed start, as containerd does); the container's init and the
//! sandbox's child only install what they were given, as the last step before exec.

pub mod bpf;
pub mod profile;
pub mod syscalls;

use eyre::{eyre, Result};
use serde::{Deserialize, Serialize};

use crate::spec::seccomp::{Seccomp, PROFILE_DIR};
use crate::spec::{Container, Pod};
use profile::{ProfileFile, Target};
use syscalls::Arch;

/// containerd's `DefaultProfile` (see the file's `comment` for where it comes from).
pub const RUNTIME_DEFAULT: &str = include_str!("containerd_default.json");

/// A compiled filter, handed from the shim to the process that installs it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filter {
    pub program: Vec<bpf::Insn>,
}

/// The rules of `profile_text` for `target`, as a BPF program.
pub fn compile(profile_text: &str, target: &Target) -> Result<Filter, String> {
    let profile = ProfileFile::parse(profile_text)?;
    let rules = profile.rules_for(target)?;
    Ok(Filter {
        program: bpf::compile(&rules, target.arch)?,
    })
}

/// The filter for `seccomp` on this machine, for a process whose bounding set is `caps`
/// (names such as `CAP_SYS_ADMIN`); None: unconfined.
pub fn filter_for(seccomp: &Seccomp, caps: &[String]) -> Result<Option<Filter>> {
    let (text, source) = match seccomp {
        Seccomp::Unconfined(_) => return Ok(None),
        Seccomp::RuntimeDefault => (RUNTIME_DEFAULT.to_string(), "RuntimeDefault".to_string()),
        Seccomp::Localhost(path) => {
            let file = localhost_dir().join(path);
            let text = std::fs::read_to_string(&file).map_err(|e| {
                eyre!(
                    "failed to read the Localhost seccomp profile {}: {e}",
                    file.display()
                )
            })?;
            (text, file.display().to_string())
        }
    };
    let arch = Arch::native().ok_or_else(|| {
        eyre!(
            "podlab builds seccomp filters for x86_64 and aarch64 only, not {}",
            std::env::consts::ARCH
        )
    })?;
    let target = Target {
        arch,
        caps: caps.to_vec(),
        kernel: running_kernel(),
    };
    compile(&text, &target)
        .map(Some)
        .map_err(|e| eyre!("seccomp profile {source}: {e}"))
}

/// The filter of `container` (its own profile, else the pod's; none when privileged).
pub fn for_container(pod: &Pod, container: &Container) -> Result<Option<Filter>> {
    filter_for(&Seccomp::of(pod, container), &bounding_set())
}

/// The filter of the pod's pause.
pub fn for_sandbox(pod: &Pod) -> Result<Option<Filter>> {
    filter_for(&Seccomp::of_sandbox(pod), &bounding_set())
}

/// The bounding set the profile's capability-dependent rules look at: containerd's default
/// set, which every unprivileged container and pause keep.
fn bounding_set() -> Vec<String> {
    super::security::DEFAULT_CAPABILITIES
        .iter()
        .map(|c| c.to_string())
        .collect()
}

/// Where `Localhost` profiles are read from: `seccomp/` in podlab's data directory
/// (`/var/lib/podlab/seccomp` as root; kubelet's is `/var/lib/kubelet/seccomp`).
pub fn localhost_dir() -> std::path::PathBuf {
    super::paths::data_dir().join(PROFILE_DIR)
}

fn running_kernel() -> (u32, u32) {
    let release = nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default();
    profile::kernel_version(&release).unwrap_or((0, 0))
}

/// Install `filter` on the calling thread. Async-signal-safe (no allocation), so the sandbox's
/// child can call it between fork and exec. Without no_new_privs this needs CAP_SYS_ADMIN,
/// which is why runc installs before dropping capabilities in that case.
pub fn apply(filter: &Filter) -> std::io::Result<()> {
    // `struct sock_fprog`: the length, then a pointer to `struct sock_filter`s, whose layout
    // `bpf::Insn` has (u16, u8, u8, u32).
    #[repr(C)]
    struct SockFprog {
        len: libc::c_ushort,
        filter: *const bpf::Insn,
    }
    let len = libc::c_ushort::try_from(filter.program.len())
        .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))?;
    let prog = SockFprog {
        len,
        filter: filter.program.as_ptr(),
    };
    const SECCOMP_SET_MODE_FILTER: libc::c_ulong = 1;
    // SAFETY: `prog` points at `len` instructions that outlive the call.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            0 as libc::c_ulong,
            &prog as *const SockFprog,
        )
    };
    if ret < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Whether no_new_privs is set on the calling thread.
pub fn no_new_privs() -> bool {
    // SAFETY: a query with no pointers.
    unsafe { libc::prctl(libc::PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1 }
}
