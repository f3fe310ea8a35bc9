//! What a container may do: containerd's default capability set and no_new_privs.

use caps::{CapSet, Capability, CapsHashSet};
use eyre::{eyre, Result};

/// containerd's default capabilities (oci/spec.go `defaultUnixCaps`, the same as Docker's).
pub const DEFAULT_CAPABILITIES: &[Capability] = &[
    Capability::CAP_CHOWN,
    Capability::CAP_DAC_OVERRIDE,
    Capability::CAP_FSETID,
    Capability::CAP_FOWNER,
    Capability::CAP_MKNOD,
    Capability::CAP_NET_RAW,
    Capability::CAP_SETGID,
    Capability::CAP_SETUID,
    Capability::CAP_SETFCAP,
    Capability::CAP_SETPCAP,
    Capability::CAP_NET_BIND_SERVICE,
    Capability::CAP_SYS_CHROOT,
    Capability::CAP_KILL,
    Capability::CAP_AUDIT_WRITE,
];

pub fn default_capabilities() -> CapsHashSet {
    DEFAULT_CAPABILITIES.iter().copied().collect()
}

/// Drop every capability outside the default set from all sets.
pub fn drop_to_default_capabilities() -> Result<()> {
    let keep = default_capabilities();
    for cap in caps::all() {
        if !keep.contains(&cap) {
            // The bounding set needs CAP_SETPCAP, which we keep until the end.
            caps::drop(None, CapSet::Bounding, cap)
                .map_err(|e| eyre!("failed to drop {cap} from the bounding set: {e}"))?;
        }
    }
    caps::clear(None, CapSet::Ambient)
        .map_err(|e| eyre!("failed to clear ambient capabilities: {e}"))?;
    // containerd leaves the inheritable set empty (CVE-2022-24769).
    caps::clear(None, CapSet::Inheritable)
        .map_err(|e| eyre!("failed to clear inheritable capabilities: {e}"))?;
    for set in [CapSet::Effective, CapSet::Permitted] {
        let current =
            caps::read(None, set).map_err(|e| eyre!("failed to read {set:?} capabilities: {e}"))?;
        let wanted: CapsHashSet = current.intersection(&keep).copied().collect();
        caps::set(None, set, &wanted)
            .map_err(|e| eyre!("failed to set {set:?} capabilities: {e}"))?;
    }
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
