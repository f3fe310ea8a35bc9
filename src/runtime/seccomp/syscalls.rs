//! System call names to numbers, per architecture (the tables are data: `x86_64.tbl`,
//! `aarch64.tbl`, taken from Linux's own syscall tables).

use std::collections::HashMap;

/// An architecture podlab builds seccomp filters for, with what the kernel calls it in
/// `seccomp_data.arch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    X86_64,
    Aarch64,
}

const X86_64_TABLE: &str = include_str!("x86_64.tbl");
const AARCH64_TABLE: &str = include_str!("aarch64.tbl");

/// `AUDIT_ARCH_*` from `<linux/audit.h>`: the machine, 64-bit, little-endian.
const AUDIT_ARCH_X86_64: u32 = 62 | 0x8000_0000 | 0x4000_0000;
const AUDIT_ARCH_AARCH64: u32 = 183 | 0x8000_0000 | 0x4000_0000;

impl Arch {
    /// The architecture podlab was built for, if it is one podlab can filter.
    pub fn native() -> Option<Arch> {
        if cfg!(target_arch = "x86_64") {
            Some(Arch::X86_64)
        } else if cfg!(target_arch = "aarch64") {
            Some(Arch::Aarch64)
        } else {
            None
        }
    }

    pub fn audit_arch(self) -> u32 {
        match self {
            Arch::X86_64 => AUDIT_ARCH_X86_64,
            Arch::Aarch64 => AUDIT_ARCH_AARCH64,
        }
    }

    /// The names a profile may use for this architecture: Go's (`amd64`, in Docker's and
    /// containerd's profiles), the kernel's, and libseccomp's.
    pub fn is_named(self, name: &str) -> bool {
        let names: &[&str] = match self {
            Arch::X86_64 => &["amd64", "x86_64", "SCMP_ARCH_X86_64"],
            Arch::Aarch64 => &["arm64", "aarch64", "SCMP_ARCH_AARCH64"],
        };
        names.contains(&name)
    }

    /// On x86_64 the x32 ABI enters with the same `arch` and bit 30 set in the number.
    pub fn x32_bit(self) -> Option<u32> {
        match self {
            Arch::X86_64 => Some(0x4000_0000),
            Arch::Aarch64 => None,
        }
    }

    fn table(self) -> &'static str {
        match self {
            Arch::X86_64 => X86_64_TABLE,
            Arch::Aarch64 => AARCH64_TABLE,
        }
    }

    /// The number of the system call `name` on this architecture; None when it has none
    /// (aarch64 has no `open`, x86_64 no `chown32`): a profile naming it skips it, as
    /// libseccomp does.
    pub fn number(self, name: &str) -> Option<u32> {
        self.numbers().get(name).copied()
    }

    /// Every call of the table by name, read once per filter built.
    pub fn numbers(self) -> HashMap<&'static str, u32> {
        self.table()
            .lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (number, call) = line.split_once(' ')?;
                Some((call, number.parse().ok()?))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_each_architectures_table() {
        assert_eq!(Arch::X86_64.number("read"), Some(0));
        assert_eq!(Arch::X86_64.number("clone"), Some(56));
        assert_eq!(Arch::X86_64.number("unshare"), Some(272));
        assert_eq!(Arch::X86_64.number("clone3"), Some(435));
        assert_eq!(Arch::X86_64.number("uretprobe"), Some(335));
        assert_eq!(Arch::X86_64.number("mseal"), Some(462));
        assert_eq!(Arch::Aarch64.number("clone"), Some(220));
        assert_eq!(Arch::Aarch64.number("unshare"), Some(97));
        assert_eq!(Arch::Aarch64.number("mseal"), Some(462));
        // Calls one architecture never had.
        assert_eq!(Arch::Aarch64.number("open"), None);
        assert_eq!(Arch::Aarch64.number("fork"), None);
        assert_eq!(Arch::X86_64.number("chown32"), None);
        assert_eq!(Arch::X86_64.number("no_such_call"), None);
    }

    #[test]
    fn every_table_line_is_a_number_and_a_name_and_no_number_repeats() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let mut seen = std::collections::HashSet::new();
            for line in arch.table().lines().filter(|l| !l.starts_with('#')) {
                let (number, name) = line.split_once(' ').expect(line);
                let number: u32 = number.parse().expect(line);
                assert!(seen.insert(number), "{arch:?}: {number} twice");
                assert!(
                    !name.is_empty()
                        && name
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'),
                    "{arch:?}: {line:?}"
                );
            }
        }
    }
}
