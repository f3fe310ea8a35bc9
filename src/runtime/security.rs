//! What a container's process may do, applied by `podlab init` (and `podlab exec`) just before
//! exec: its capability set, its user and groups, no_new_privs. What the set and the user are
//! is decided in `kube::security`.

use caps::{CapSet, CapsHashSet};
use eyre::{eyre, Result};

use crate::kube::security::ProcessUser;

/// The capabilities of a kernel bit mask that this kernel has.
fn capabilities_in(mask: u64) -> CapsHashSet {
    caps::all()
        .into_iter()
        .filter(|cap| cap.index() < 64 && mask & (1 << cap.index()) != 0)
        .collect()
}

/// Become the container's process, in runc's order: the bounding set cut to `capabilities`
/// (kernel bit numbers; None: privileged, every capability kept), then the user with the
/// permitted set kept across the change of uid (PR_SET_KEEPCAPS), then the permitted and
/// effective sets cut to the same, the inheritable and ambient sets emptied (containerd
/// leaves them empty, CVE-2022-24769). A non-root user then loses the rest at exec, as under
/// runc: its CapEff reads 0 and its CapBnd the set.
pub fn become_process(user: Option<&ProcessUser>, capabilities: Option<u64>) -> Result<()> {
    let keep = capabilities.map(capabilities_in);
    if let Some(keep) = &keep {
        // Only what this kernel has: dropping a capability it does not know fails.
        for cap in caps::runtime::thread_all_supported() {
            if !keep.contains(&cap) {
                // Needs CAP_SETPCAP in the effective set, which is cut last.
                caps::drop(None, CapSet::Bounding, cap)
                    .map_err(|e| eyre!("failed to drop {cap} from the bounding set: {e}"))?;
            }
        }
    }
    if let Some(user) = user {
        keep_capabilities_across_setuid(true)?;
        let became = become_user(user);
        keep_capabilities_across_setuid(false)?;
        became?;
    }
    let Some(keep) = keep else {
        return Ok(());
    };
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| eyre!("failed to clear ambient capabilities: {e}"))?;
    caps::clear(None, CapSet::Inheritable)
        .map_err(|e| eyre!("failed to clear inheritable capabilities: {e}"))?;
    let permitted = caps::read(None, CapSet::Permitted)
        .map_err(|e| eyre!("failed to read the permitted capabilities: {e}"))?;
    let wanted: CapsHashSet = permitted.intersection(&keep).copied().collect();
    // Effective first: it may not hold what permitted no longer has.
    for set in [CapSet::Effective, CapSet::Permitted] {
        caps::set(None, set, &wanted)
            .map_err(|e| eyre!("failed to set {set:?} capabilities: {e}"))?;
    }
    Ok(())
}

fn keep_capabilities_across_setuid(on: bool) -> Result<()> {
    let ret = unsafe { libc::prctl(libc::PR_SET_KEEPCAPS, libc::c_ulong::from(on), 0, 0, 0) };
    if ret < 0 {
        return Err(eyre!(
            "failed to set PR_SET_KEEPCAPS: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}

/// Become `user`, as runc does: the groups, then the gid, then the uid. In a user namespace
/// whose `setgroups` is denied (a node with a single mapped id) the groups stay as they are,
/// as under rootless runc.
fn become_user(user: &ProcessUser) -> Result<()> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    let denied =
        std::fs::read_to_string("/proc/self/setgroups").is_ok_and(|text| text.trim() == "deny");
    if !denied {
        let groups: Vec<Gid> = user.groups.iter().map(|g| Gid::from_raw(*g)).collect();
        setgroups(&groups).map_err(|e| {
            eyre!(
                "failed to set the groups {:?} of the container's user: {e}",
                user.groups
            )
        })?;
    }
    let gid = Gid::from_raw(user.gid);
    setresgid(gid, gid, gid).map_err(|e| eyre!("failed to become gid {gid}: {e}"))?;
    let uid = Uid::from_raw(user.uid);
    setresuid(uid, uid, uid).map_err(|e| eyre!("failed to become uid {uid}: {e}"))?;
    Ok(())
}

/// no_new_privs: from here on, no exec gains privileges (setuid bits and file capabilities are
/// ignored). Kept across fork and exec, never cleared.
pub fn set_no_new_privs() -> Result<()> {
    let ret = unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) };
    if ret < 0 {
        return Err(eyre!(
            "failed to set no_new_privs: {}",
            std::io::Error::last_os_error()
        ));
    }
    Ok(())
}
