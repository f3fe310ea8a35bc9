//! A seccomp profile in the OCI/Docker JSON form (what containerd's RuntimeDefault is, and
//! what a `Localhost` profile file holds), and the rules it gives one container: its
//! architecture, its bounding capabilities and the running kernel decide which entries count.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::syscalls::Arch;

/// The profile file. Unknown fields are refused: a field podlab would skip could change what
/// the container may do.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProfileFile {
    #[serde(default)]
    pub comment: Option<String>,
    pub default_action: String,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    /// The ABIs the profile covers. podlab filters the native one only (see `bpf`).
    #[serde(default)]
    pub architectures: Vec<String>,
    #[serde(default)]
    pub arch_map: Vec<serde_json::Value>,
    #[serde(default)]
    pub syscalls: Vec<SyscallEntry>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SyscallEntry {
    #[serde(default)]
    pub comment: Option<String>,
    #[serde(default)]
    pub names: Vec<String>,
    /// The older Docker form: one name.
    #[serde(default)]
    pub name: Option<String>,
    pub action: String,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Vec<ArgEntry>,
    #[serde(default)]
    pub includes: Filter,
    #[serde(default)]
    pub excludes: Filter,
}

/// When an entry applies (`includes`: all of these hold) or does not (`excludes`: any holds).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Filter {
    #[serde(default)]
    pub arches: Vec<String>,
    #[serde(default)]
    pub caps: Vec<String>,
    #[serde(default)]
    pub min_kernel: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ArgEntry {
    pub index: u32,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: String,
}

/// What a filter returns for a call (`SECCOMP_RET_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Allow,
    Errno(u16),
    KillThread,
    KillProcess,
    Trap,
    Trace(u16),
    Log,
}

impl Action {
    /// runc's reading of an OCI action: ERRNO and TRACE without a number mean EPERM.
    fn parse(name: &str, errno: Option<u32>) -> Result<Action, String> {
        let data = || -> Result<u16, String> {
            let n = errno.unwrap_or(libc::EPERM as u32);
            u16::try_from(n).map_err(|_| format!("errnoRet {n} is too large"))
        };
        Ok(match name {
            "SCMP_ACT_ALLOW" => Action::Allow,
            "SCMP_ACT_ERRNO" => Action::Errno(data()?),
            "SCMP_ACT_KILL" | "SCMP_ACT_KILL_THREAD" => Action::KillThread,
            "SCMP_ACT_KILL_PROCESS" => Action::KillProcess,
            "SCMP_ACT_TRAP" => Action::Trap,
            "SCMP_ACT_TRACE" => Action::Trace(data()?),
            "SCMP_ACT_LOG" => Action::Log,
            "SCMP_ACT_NOTIFY" => {
                return Err(
                    "SCMP_ACT_NOTIFY needs a listener (listenerPath), which podlab does not run"
                        .into(),
                )
            }
            other => return Err(format!("unknown action {other:?}")),
        })
    }

    /// The filter's return value.
    pub fn ret(self) -> u32 {
        match self {
            Action::KillProcess => 0x8000_0000,
            Action::KillThread => 0,
            Action::Trap => 0x0003_0000,
            Action::Errno(e) => 0x0005_0000 | u32::from(e),
            Action::Trace(d) => 0x7ff0_0000 | u32::from(d),
            Action::Log => 0x7ffc_0000,
            Action::Allow => 0x7fff_0000,
        }
    }
}

/// A comparison of one argument (`SCMP_CMP_*`); `MaskedEq(mask, value)`: arg & mask == value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cmp {
    Ne(u64),
    Lt(u64),
    Le(u64),
    Eq(u64),
    Ge(u64),
    Gt(u64),
    MaskedEq(u64, u64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Condition {
    /// 0 to 5.
    pub arg: u8,
    pub cmp: Cmp,
}

impl Condition {
    fn parse(a: &ArgEntry) -> Result<Condition, String> {
        let arg = u8::try_from(a.index)
            .ok()
            .filter(|i| *i < 6)
            .ok_or_else(|| format!("argument index {} is not 0 to 5", a.index))?;
        let cmp = match a.op.as_str() {
            "SCMP_CMP_NE" => Cmp::Ne(a.value),
            "SCMP_CMP_LT" => Cmp::Lt(a.value),
            "SCMP_CMP_LE" => Cmp::Le(a.value),
            "SCMP_CMP_EQ" => Cmp::Eq(a.value),
            "SCMP_CMP_GE" => Cmp::Ge(a.value),
            "SCMP_CMP_GT" => Cmp::Gt(a.value),
            "SCMP_CMP_MASKED_EQ" => Cmp::MaskedEq(a.value, a.value_two),
            other => return Err(format!("unknown comparison {other:?}")),
        };
        Ok(Condition { arg, cmp })
    }
}

/// One rule of one call: every condition holds → the action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub conditions: Vec<Condition>,
    pub action: Action,
}

/// For whom the rules are made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub arch: Arch,
    /// The container's bounding capabilities, as `CAP_SYS_ADMIN`.
    pub caps: Vec<String>,
    /// The running kernel, (major, minor).
    pub kernel: (u32, u32),
}

/// The profile for one container: the default action, and per call number its rules in
/// profile order (the first that matches decides).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rules {
    pub default: Action,
    pub calls: BTreeMap<u32, Vec<Rule>>,
    /// The highest number the profile names on this architecture (runc answers ENOSYS above
    /// it, for calls newer than the profile).
    pub last_named: Option<u32>,
}

impl ProfileFile {
    pub fn parse(text: &str) -> Result<ProfileFile, String> {
        serde_json::from_str(text).map_err(|e| e.to_string())
    }

    /// The rules that apply to `target`.
    pub fn rules_for(&self, target: &Target) -> Result<Rules, String> {
        let default = Action::parse(&self.default_action, self.default_errno_ret)
            .map_err(|e| format!("defaultAction: {e}"))?;
        let numbers = target.arch.numbers();
        let mut calls: BTreeMap<u32, Vec<Rule>> = BTreeMap::new();
        let mut last_named = None;
        for (i, entry) in self.syscalls.iter().enumerate() {
            let at = |e: String| format!("syscalls[{i}]: {e}");
            if !entry.includes.holds_all(target).map_err(at)?
                || entry.excludes.holds_any(target).map_err(at)?
            {
                continue;
            }
            let action = Action::parse(&entry.action, entry.errno_ret).map_err(at)?;
            let conditions = entry
                .args
                .iter()
                .map(Condition::parse)
                .collect::<Result<Vec<_>, _>>()
                .map_err(at)?;
            // runc: when two conditions test the same argument, each becomes a rule of its own
            // (they are OR'ed, not AND'ed); containerd's profile is written around this.
            let repeated = conditions
                .iter()
                .enumerate()
                .any(|(j, c)| conditions[..j].iter().any(|d| d.arg == c.arg));
            let rules: Vec<Rule> = if repeated {
                conditions
                    .iter()
                    .map(|c| Rule {
                        conditions: vec![*c],
                        action,
                    })
                    .collect()
            } else {
                vec![Rule { conditions, action }]
            };
            let names = entry.names.iter().chain(entry.name.iter());
            for name in names {
                let Some(&number) = numbers.get(name.as_str()) else {
                    continue;
                };
                last_named = last_named.max(Some(number));
                calls
                    .entry(number)
                    .or_default()
                    .extend(rules.iter().cloned());
            }
        }
        Ok(Rules {
            default,
            calls,
            last_named,
        })
    }
}

impl Filter {
    fn holds_all(&self, target: &Target) -> Result<bool, String> {
        Ok(
            (self.arches.is_empty() || self.arches.iter().any(|a| target.arch.is_named(a)))
                && self.caps.iter().all(|c| target.caps.contains(c))
                && match &self.min_kernel {
                    None => true,
                    Some(v) => target.kernel >= kernel_version(v)?,
                },
        )
    }

    fn holds_any(&self, target: &Target) -> Result<bool, String> {
        if self.min_kernel.is_some() {
            return Err("excludes.minKernel is not a field of the format".into());
        }
        Ok(self.arches.iter().any(|a| target.arch.is_named(a))
            || self.caps.iter().any(|c| target.caps.contains(c)))
    }
}

/// "4.8" → (4, 8).
pub fn kernel_version(text: &str) -> Result<(u32, u32), String> {
    let mut parts = text.split(['.', '-']);
    let mut next = || -> Option<u32> { parts.next()?.parse().ok() };
    match (next(), next()) {
        (Some(major), Some(minor)) => Ok((major, minor)),
        _ => Err(format!("{text:?} is not a kernel version such as 4.8")),
    }
}
