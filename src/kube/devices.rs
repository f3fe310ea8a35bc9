//! Which devices a container may use: runc's default allow-list, the rules the kernel's device
//! controller enforces (cgroup v1 `devices.allow` lines, or a cgroup v2 device program).
//!
//! containerd's default spec denies every device (`pkg/oci/spec.go`, `Resources.Devices`:
//! `{Allow: false, Access: "rwm"}`); runc appends its own `AllowedDevices`
//! (`libcontainer/specconv/spec_linux.go`) after the spec's rules. So a container may create
//! (mknod) any device node, but open only the few runc lists: /dev/null, zero, full, random,
//! urandom, tty, the pseudo-terminals and /dev/net/tun. A root container keeps CAP_MKNOD, so
//! `mknod /dev/x c 10 232` succeeds — and opening it fails with EPERM. A privileged container
//! gets every device (containerd's `WithAllDevicesAllowed`).

use std::fmt;

/// Device type of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceType {
    Char,
    Block,
}

impl DeviceType {
    /// The letter the cgroup v1 files use.
    pub fn letter(self) -> char {
        match self {
            DeviceType::Char => 'c',
            DeviceType::Block => 'b',
        }
    }
}

/// What a rule allows: read, write, mknod (runc's "rwm").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceAccess {
    pub read: bool,
    pub write: bool,
    pub mknod: bool,
}

impl DeviceAccess {
    pub const RWM: DeviceAccess = DeviceAccess {
        read: true,
        write: true,
        mknod: true,
    };
    pub const MKNOD: DeviceAccess = DeviceAccess {
        read: false,
        write: false,
        mknod: true,
    };

    pub fn is_all(self) -> bool {
        self == DeviceAccess::RWM
    }
}

impl fmt::Display for DeviceAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (on, letter) in [(self.read, 'r'), (self.write, 'w'), (self.mknod, 'm')] {
            if on {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// One allow rule; None for a major or minor is runc's wildcard (`*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceRule {
    pub kind: DeviceType,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: DeviceAccess,
}

impl DeviceRule {
    const fn new(kind: DeviceType, major: Option<u32>, minor: Option<u32>, rwm: bool) -> Self {
        DeviceRule {
            kind,
            major,
            minor,
            access: if rwm {
                DeviceAccess::RWM
            } else {
                DeviceAccess::MKNOD
            },
        }
    }

    /// Whether the rule allows `access` to device `kind` `major:minor` (an open asks for read
    /// and/or write, mknod for mknod).
    pub fn allows(&self, kind: DeviceType, major: u32, minor: u32, access: DeviceAccess) -> bool {
        let covered = (!access.read || self.access.read)
            && (!access.write || self.access.write)
            && (!access.mknod || self.access.mknod);
        self.kind == kind
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
            && covered
    }
}

/// The line cgroup v1 `devices.allow` takes: `c 1:3 rwm`, `b *:* m`.
impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or_else(|| "*".to_string(), |n| n.to_string());
        write!(
            f,
            "{} {}:{} {}",
            self.kind.letter(),
            number(self.major),
            number(self.minor),
            self.access
        )
    }
}

use DeviceType::{Block, Char};

/// runc's `AllowedDevices`, in its order.
pub const RUNC_ALLOWED_DEVICES: &[DeviceRule] = &[
    // mknod of any device (the node is useless: opening it is what the rules below decide)
    DeviceRule::new(Char, None, None, false),
    DeviceRule::new(Block, None, None, false),
    DeviceRule::new(Char, Some(1), Some(3), true), // /dev/null
    DeviceRule::new(Char, Some(1), Some(8), true), // /dev/random
    DeviceRule::new(Char, Some(1), Some(7), true), // /dev/full
    DeviceRule::new(Char, Some(5), Some(0), true), // /dev/tty
    DeviceRule::new(Char, Some(1), Some(5), true), // /dev/zero
    DeviceRule::new(Char, Some(1), Some(9), true), // /dev/urandom
    DeviceRule::new(Char, Some(136), None, true),  // /dev/pts/*
    DeviceRule::new(Char, Some(5), Some(2), true), // /dev/ptmx
    DeviceRule::new(Char, Some(10), Some(200), true), // /dev/net/tun
];

/// What a container's device controller is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DevicePolicy {
    /// Deny every device, then allow runc's list (every container and pause).
    AllowList,
    /// Every device (`privileged: true`).
    All,
}

impl DevicePolicy {
    pub fn for_container(privileged: bool) -> DevicePolicy {
        if privileged {
            DevicePolicy::All
        } else {
            DevicePolicy::AllowList
        }
    }

    /// The rules allowed after "deny all"; None: everything is allowed.
    pub fn allowed(self) -> Option<&'static [DeviceRule]> {
        match self {
            DevicePolicy::AllowList => Some(RUNC_ALLOWED_DEVICES),
            DevicePolicy::All => None,
        }
    }

    /// Whether `access` to a device is allowed.
    pub fn allows(self, kind: DeviceType, major: u32, minor: u32, access: DeviceAccess) -> bool {
        self.allowed()
            .is_none_or(|rules| rules.iter().any(|r| r.allows(kind, major, minor, access)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const READ: DeviceAccess = DeviceAccess {
        read: true,
        write: false,
        mknod: false,
    };

    #[test]
    fn v1_lines_are_runcs() {
        let lines: Vec<String> = RUNC_ALLOWED_DEVICES.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            lines,
            [
                "c *:* m",
                "b *:* m",
                "c 1:3 rwm",
                "c 1:8 rwm",
                "c 1:7 rwm",
                "c 5:0 rwm",
                "c 1:5 rwm",
                "c 1:9 rwm",
                "c 136:* rwm",
                "c 5:2 rwm",
                "c 10:200 rwm"
            ]
        );
    }

    #[test]
    fn default_container_may_mknod_but_not_open_host_devices() {
        let policy = DevicePolicy::for_container(false);
        // /dev/kvm and a loop device: the node can be made, not opened.
        assert!(policy.allows(Char, 10, 232, DeviceAccess::MKNOD));
        assert!(!policy.allows(Char, 10, 232, READ));
        assert!(policy.allows(Block, 7, 0, DeviceAccess::MKNOD));
        assert!(!policy.allows(Block, 7, 0, READ));
        assert!(!policy.allows(Block, 8, 0, DeviceAccess::RWM));
        for (major, minor) in [
            (1, 3),
            (1, 5),
            (1, 7),
            (1, 8),
            (1, 9),
            (5, 0),
            (5, 2),
            (136, 4),
        ] {
            assert!(policy.allows(Char, major, minor, DeviceAccess::RWM));
        }
        // The same numbers as a block device are not the same device.
        assert!(!policy.allows(Block, 1, 3, READ));
    }

    #[test]
    fn privileged_container_gets_every_device() {
        let policy = DevicePolicy::for_container(true);
        assert_eq!(policy.allowed(), None);
        assert!(policy.allows(Block, 8, 0, DeviceAccess::RWM));
    }
}
