//! A small file-backed IPAM like CNI's host-local: one file per leased address, named after the
//! address and holding the pod UID and its host veth, created with O_EXCL so two pods can never
//! hold the same address. Callers hold the machine lock around allocate/release/gc.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use super::error::{NetworkError, Result};
use crate::kube::pod_network::Ipv4Cidr;

/// The system IPAM directory.
pub fn system_dir() -> PathBuf {
    crate::runtime::paths::state_root().join("ipam")
}

/// One leased address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    pub ip: Ipv4Addr,
    pub uid: String,
    pub host_veth: String,
}

pub struct Ipam {
    dir: PathBuf,
}

impl Ipam {
    pub fn new(dir: impl Into<PathBuf>) -> Ipam {
        Ipam { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn lease_path(&self, ip: Ipv4Addr) -> PathBuf {
        self.dir.join(ip.to_string())
    }

    /// Where the last address handed out in `cidr` is kept, so the next pod gets the next one
    /// (a freed address is not reused at once: peers may still have it in their ARP cache).
    fn last_reserved_path(&self, cidr: &Ipv4Cidr) -> PathBuf {
        self.dir.join(format!(
            "last_reserved_ip.{}_{}",
            cidr.network(),
            cidr.prefix_len()
        ))
    }

    /// Every lease on the machine (all ranges). Files that are not leases are ignored.
    pub fn leases(&self) -> Result<Vec<Lease>> {
        let entries = match fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(NetworkError::os(
                    format!("failed to list {}", self.dir.display()),
                    e,
                ))
            }
        };
        let mut leases = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| {
                NetworkError::os(format!("failed to list {}", self.dir.display()), e)
            })?;
            let Some(ip) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<Ipv4Addr>().ok())
            else {
                continue;
            };
            if let Some(lease) = self.lease(ip)? {
                leases.push(lease);
            }
        }
        leases.sort_by_key(|l| l.ip);
        Ok(leases)
    }

    /// The lease of `ip`, if any.
    pub fn lease(&self, ip: Ipv4Addr) -> Result<Option<Lease>> {
        let path = self.lease_path(ip);
        match fs::read_to_string(&path) {
            Ok(text) => {
                let mut lines = text.lines();
                let uid = lines.next().unwrap_or_default().trim().to_string();
                let host_veth = lines.next().unwrap_or_default().trim().to_string();
                Ok(Some(Lease { ip, uid, host_veth }))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(NetworkError::os(
                format!("failed to read lease {}", path.display()),
                e,
            )),
        }
    }

    /// Lease the next free pod address of `cidr` to `uid`.
    pub fn allocate(&self, cidr: &Ipv4Cidr, uid: &str, host_veth: &str) -> Result<Ipv4Addr> {
        if uid.is_empty() || uid.contains(['\n', '\r', '/']) {
            return Err(NetworkError::InvalidConfig(format!(
                "pod uid {uid:?} cannot name a lease"
            )));
        }
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| NetworkError::os(format!("failed to create {}", self.dir.display()), e))?;
        let last = self.last_reserved(cidr);
        let after_last = cidr.pod_addresses().skip_while(|ip| Some(*ip) <= last);
        let from_start = cidr.pod_addresses().take_while(|ip| Some(*ip) <= last);
        for ip in after_last.chain(from_start) {
            let path = self.lease_path(ip);
            let created = OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .custom_flags(libc::O_CLOEXEC)
                .open(&path);
            let mut file = match created {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => {
                    return Err(NetworkError::os(
                        format!("failed to create lease {}", path.display()),
                        e,
                    ))
                }
            };
            if let Err(e) = file.write_all(format!("{uid}\n{host_veth}\n").as_bytes()) {
                let _ = fs::remove_file(&path);
                return Err(NetworkError::os(
                    format!("failed to write lease {}", path.display()),
                    e,
                ));
            }
            // Only a hint for round-robin: losing it just restarts from the range's start.
            let _ = crate::runtime::sys::write_in_place(
                &self.last_reserved_path(cidr),
                ip.to_string().as_bytes(),
            );
            return Ok(ip);
        }
        Err(NetworkError::Exhausted { cidr: *cidr })
    }

    fn last_reserved(&self, cidr: &Ipv4Cidr) -> Option<Ipv4Addr> {
        let text = fs::read_to_string(self.last_reserved_path(cidr)).ok()?;
        text.trim().parse().ok().filter(|ip| cidr.contains(*ip))
    }

    /// Free `ip` if `uid` holds it. Returns whether a lease was removed.
    pub fn release(&self, ip: Ipv4Addr, uid: &str) -> Result<bool> {
        match self.lease(ip)? {
            Some(lease) if lease.uid == uid => self.remove(ip).map(|_| true),
            _ => Ok(false),
        }
    }

    /// Remove the lease of `ip` whoever holds it (gc).
    pub fn remove(&self, ip: Ipv4Addr) -> Result<()> {
        let path = self.lease_path(ip);
        match fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(NetworkError::os(
                format!("failed to remove lease {}", path.display()),
                e,
            )),
        }
    }

    /// Forget the round-robin position of `cidr` (when its last pod is gone), and remove the
    /// directory once nothing is left in it.
    pub fn forget_range(&self, cidr: &Ipv4Cidr) {
        let _ = fs::remove_file(self.last_reserved_path(cidr));
        // Fails while other ranges still have files: that is fine.
        let _ = fs::remove_dir(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setup() -> (tempfile::TempDir, Ipam, Ipv4Cidr) {
        let dir = tempfile::tempdir().expect("tempdir");
        let ipam = Ipam::new(dir.path().join("ipam"));
        (dir, ipam, "10.0.0.0/29".parse().expect("cidr"))
    }

    #[test]
    fn allocates_in_order_and_records_the_owner() {
        let (_dir, ipam, cidr) = setup();
        assert_eq!(
            ipam.allocate(&cidr, "uid-a", "pl-a").expect("a"),
            Ipv4Addr::new(10, 0, 0, 2)
        );
        assert_eq!(
            ipam.allocate(&cidr, "uid-b", "pl-b").expect("b"),
            Ipv4Addr::new(10, 0, 0, 3)
        );
        let leases = ipam.leases().expect("leases");
        assert_eq!(leases.len(), 2);
        assert_eq!(
            leases[1],
            Lease {
                ip: Ipv4Addr::new(10, 0, 0, 3),
                uid: "uid-b".into(),
                host_veth: "pl-b".into()
            }
        );
    }

    #[test]
    fn freed_addresses_come_back_after_the_rest() {
        let (_dir, ipam, cidr) = setup();
        let a = ipam.allocate(&cidr, "a", "pl-a").expect("a");
        assert!(ipam.release(a, "a").expect("release"));
        assert_eq!(
            ipam.allocate(&cidr, "b", "pl-b").expect("b"),
            Ipv4Addr::new(10, 0, 0, 3)
        );
    }

    #[test]
    fn range_runs_out_and_wraps() {
        let (_dir, ipam, cidr) = setup();
        // 10.0.0.0/29: .2 ..= .6 are pod addresses.
        let ips: Vec<_> = (0..5)
            .map(|i| ipam.allocate(&cidr, &format!("u{i}"), "pl-x").expect("ip"))
            .collect();
        assert_eq!(ips.last(), Some(&Ipv4Addr::new(10, 0, 0, 6)));
        assert!(matches!(
            ipam.allocate(&cidr, "u9", "pl-x"),
            Err(NetworkError::Exhausted { .. })
        ));
        assert!(ipam
            .release(Ipv4Addr::new(10, 0, 0, 3), "u1")
            .expect("release"));
        assert_eq!(
            ipam.allocate(&cidr, "u9", "pl-x").expect("wrapped"),
            Ipv4Addr::new(10, 0, 0, 3)
        );
    }

    #[test]
    fn release_only_frees_the_owners_address() {
        let (_dir, ipam, cidr) = setup();
        let a = ipam.allocate(&cidr, "a", "pl-a").expect("a");
        assert!(!ipam.release(a, "someone-else").expect("release"));
        assert!(ipam.lease(a).expect("lease").is_some());
        assert!(!ipam
            .release(Ipv4Addr::new(10, 0, 0, 6), "a")
            .expect("release of unleased"));
    }

    #[test]
    fn rejects_uids_that_would_corrupt_the_file() {
        let (_dir, ipam, cidr) = setup();
        assert!(ipam.allocate(&cidr, "a\nb", "pl-a").is_err());
        assert!(ipam.allocate(&cidr, "", "pl-a").is_err());
    }

    #[test]
    fn unrelated_files_are_not_leases() {
        let (_dir, ipam, cidr) = setup();
        ipam.allocate(&cidr, "a", "pl-a").expect("a");
        fs::write(ipam.dir().join("lock"), "x").expect("write");
        assert_eq!(ipam.leases().expect("leases").len(), 1);
    }

    #[test]
    fn forgetting_the_last_range_removes_the_directory() {
        let (_dir, ipam, cidr) = setup();
        let a = ipam.allocate(&cidr, "a", "pl-a").expect("a");
        ipam.forget_range(&cidr);
        assert!(ipam.dir().exists(), "a lease is still there");
        ipam.release(a, "a").expect("release");
        ipam.forget_range(&cidr);
        assert!(!ipam.dir().exists());
    }
}
