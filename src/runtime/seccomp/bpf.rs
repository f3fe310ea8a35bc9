//! Rules → a classic BPF program for `seccomp(SECCOMP_SET_MODE_FILTER)`.
//!
//! The program, top to bottom:
//! 1. `seccomp_data.arch` is not the native ABI (a 32-bit program, int 0x80) → the default
//!    action, or EPERM when the default would let it through: podlab filters one ABI only,
//!    where runc also filters the 32-bit ones containerd lists.
//! 2. x86_64 only: the x32 ABI (bit 30 of the number) → the same.
//! 3. One block per call number named by the profile: `jeq nr` → its rules in order, each a
//!    chain of argument comparisons (64-bit values compared as two 32-bit words, high first)
//!    ending in its action; when none matches, the default action.
//! 4. A number above the highest the profile names → ENOSYS, as runc's filter answers calls
//!    newer than the profile (so a C library falls back to an older call), unless the
//!    default action allows.
//! 5. The default action.
//!
//! Classic BPF jumps only forward, and a conditional jump at most 255 instructions: the
//! program is built with labels and refused (not truncated) if a jump would not fit.

use super::profile::{Action, Cmp, Condition, Rules};
use super::syscalls::Arch;

/// One instruction, as `struct sock_filter`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const LD_W_ABS: u16 = 0x20; // BPF_LD | BPF_W | BPF_ABS
const JEQ_K: u16 = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
const JGT_K: u16 = 0x25;
const JGE_K: u16 = 0x35;
const JSET_K: u16 = 0x45;
const JA: u16 = 0x05;
const RET_K: u16 = 0x06;
const AND_K: u16 = 0x54; // BPF_ALU | BPF_AND | BPF_K

/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;
fn arg_low(arg: u8) -> u32 {
    16 + 8 * u32::from(arg)
}
fn arg_high(arg: u8) -> u32 {
    arg_low(arg) + 4
}

/// Kernel limit (BPF_MAXINSNS).
const MAX_INSNS: usize = 4096;

type Label = usize;

/// Where a jump goes: the next instruction, or a label placed later.
#[derive(Clone, Copy)]
enum To {
    Next,
    /// Over exactly one instruction.
    Skip,
    L(Label),
}

enum Item {
    Fixed(Insn),
    Jump { code: u16, k: u32, jt: To, jf: To },
    Always(Label),
}

#[derive(Default)]
struct Asm {
    items: Vec<Item>,
    labels: Vec<Option<usize>>,
}

impl Asm {
    fn label(&mut self) -> Label {
        self.labels.push(None);
        self.labels.len() - 1
    }
    fn place(&mut self, l: Label) {
        self.labels[l] = Some(self.items.len());
    }
    fn load(&mut self, offset: u32) {
        self.fixed(LD_W_ABS, offset);
    }
    fn and(&mut self, mask: u32) {
        self.fixed(AND_K, mask);
    }
    fn ret(&mut self, action: Action) {
        self.fixed(RET_K, action.ret());
    }
    fn fixed(&mut self, code: u16, k: u32) {
        self.items.push(Item::Fixed(Insn {
            code,
            jt: 0,
            jf: 0,
            k,
        }));
    }
    fn jump(&mut self, code: u16, k: u32, jt: To, jf: To) {
        self.items.push(Item::Jump { code, k, jt, jf });
    }
    fn always(&mut self, l: Label) {
        self.items.push(Item::Always(l));
    }

    fn finish(self) -> Result<Vec<Insn>, String> {
        let target = |l: Label| self.labels[l].ok_or_else(|| format!("label {l} never placed"));
        let mut out = Vec::with_capacity(self.items.len());
        for (pc, item) in self.items.iter().enumerate() {
            let offset = |to: To| -> Result<usize, String> {
                match to {
                    To::Next => Ok(0),
                    To::Skip => Ok(1),
                    To::L(l) => target(l)?
                        .checked_sub(pc + 1)
                        .ok_or_else(|| "a backward jump".to_string()),
                }
            };
            out.push(match *item {
                Item::Fixed(insn) => insn,
                Item::Jump { code, k, jt, jf } => {
                    let short = |o: usize| {
                        u8::try_from(o).map_err(|_| {
                            format!("a jump of {o} instructions does not fit in classic BPF")
                        })
                    };
                    Insn {
                        code,
                        jt: short(offset(jt)?)?,
                        jf: short(offset(jf)?)?,
                        k,
                    }
                }
                Item::Always(l) => Insn {
                    code: JA,
                    jt: 0,
                    jf: 0,
                    k: u32::try_from(offset(To::L(l))?).map_err(|e| e.to_string())?,
                },
            });
        }
        if out.len() > MAX_INSNS {
            return Err(format!(
                "the filter has {} instructions, more than the kernel's {MAX_INSNS}",
                out.len()
            ));
        }
        Ok(out)
    }
}

/// The action for what the profile cannot describe (another ABI): never more than the default,
/// never an allow.
fn foreign(default: Action) -> Action {
    match default {
        Action::Allow | Action::Log | Action::Trace(_) => Action::Errno(libc::EPERM as u16),
        other => other,
    }
}

pub fn compile(rules: &Rules, arch: Arch) -> Result<Vec<Insn>, String> {
    let mut a = Asm::default();
    a.load(ARCH);
    a.jump(JEQ_K, arch.audit_arch(), To::Skip, To::Next);
    a.ret(foreign(rules.default));
    a.load(NR);
    if let Some(bit) = arch.x32_bit() {
        a.jump(JSET_K, bit, To::Next, To::Skip);
        a.ret(foreign(rules.default));
    }
    for (&number, call_rules) in &rules.calls {
        let unconditional = call_rules.first().filter(|r| r.conditions.is_empty());
        if let Some(rule) = unconditional {
            // The first rule always matches: the rest can never decide.
            a.jump(JEQ_K, number, To::Next, To::Skip);
            a.ret(rule.action);
            continue;
        }
        // Not this call: over the block (which may be longer than a conditional jump reaches).
        let next_call = a.label();
        a.jump(JEQ_K, number, To::Skip, To::Next);
        a.always(next_call);
        for rule in call_rules {
            let next_rule = a.label();
            for condition in &rule.conditions {
                compare(&mut a, condition, next_rule);
            }
            a.ret(rule.action);
            a.place(next_rule);
            if rule.conditions.is_empty() {
                break;
            }
        }
        // The block never falls through, so the argument loads above do not disturb the
        // number in A for the next comparison.
        a.ret(rules.default);
        a.place(next_call);
    }
    if let (Some(last), false) = (
        rules.last_named,
        matches!(rules.default, Action::Allow | Action::Log),
    ) {
        a.jump(JGT_K, last, To::Next, To::Skip);
        a.ret(Action::Errno(libc::ENOSYS as u16));
    }
    a.ret(rules.default);
    a.finish()
}

/// Fall through when `condition` holds; jump to `fail` when it does not.
fn compare(a: &mut Asm, condition: &Condition, fail: Label) {
    let (hi, lo) = (arg_high(condition.arg), arg_low(condition.arg));
    let split = |v: u64| ((v >> 32) as u32, v as u32);
    let fail = To::L(fail);
    match condition.cmp {
        Cmp::Eq(v) => {
            let (vh, vl) = split(v);
            a.load(hi);
            a.jump(JEQ_K, vh, To::Next, fail);
            a.load(lo);
            a.jump(JEQ_K, vl, To::Next, fail);
        }
        Cmp::MaskedEq(mask, v) => {
            let ((mh, ml), (vh, vl)) = (split(mask), split(v));
            a.load(hi);
            a.and(mh);
            a.jump(JEQ_K, vh, To::Next, fail);
            a.load(lo);
            a.and(ml);
            a.jump(JEQ_K, vl, To::Next, fail);
        }
        Cmp::Ne(v) => {
            let (vh, vl) = split(v);
            let pass = a.label();
            a.load(hi);
            a.jump(JEQ_K, vh, To::Next, To::L(pass));
            a.load(lo);
            a.jump(JEQ_K, vl, fail, To::Next);
            a.place(pass);
        }
        // Unsigned 64-bit order: the high words decide unless they are equal.
        Cmp::Gt(v) | Cmp::Ge(v) => {
            let (vh, vl) = split(v);
            let pass = a.label();
            a.load(hi);
            a.jump(JGT_K, vh, To::L(pass), To::Next);
            a.jump(JEQ_K, vh, To::Next, fail);
            a.load(lo);
            let code = if matches!(condition.cmp, Cmp::Gt(_)) {
                JGT_K
            } else {
                JGE_K
            };
            a.jump(code, vl, To::Next, fail);
            a.place(pass);
        }
        Cmp::Lt(v) | Cmp::Le(v) => {
            let (vh, vl) = split(v);
            let pass = a.label();
            a.load(hi);
            a.jump(JGE_K, vh, To::Next, To::L(pass));
            a.jump(JEQ_K, vh, To::Next, fail);
            a.load(lo);
            // lo < vl  ⇔ !(lo >= vl);  lo <= vl ⇔ !(lo > vl)
            let code = if matches!(condition.cmp, Cmp::Lt(_)) {
                JGE_K
            } else {
                JGT_K
            };
            a.jump(code, vl, fail, To::Next);
            a.place(pass);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::profile::{ProfileFile, Target};
    use super::*;

    /// Runs `program` on one `seccomp_data` as the kernel would.
    pub(crate) fn run(program: &[Insn], arch: u32, nr: u32, args: [u64; 6]) -> u32 {
        let word = |offset: u32| -> u32 {
            match offset {
                NR => nr,
                ARCH => arch,
                o if (16..64).contains(&o) => {
                    let arg = args[((o - 16) / 8) as usize];
                    if (o - 16) % 8 == 0 {
                        arg as u32
                    } else {
                        (arg >> 32) as u32
                    }
                }
                o => panic!("load of offset {o}"),
            }
        };
        let (mut pc, mut acc) = (0usize, 0u32);
        loop {
            let i = program[pc];
            pc += 1;
            let branch = |taken: bool| usize::from(if taken { i.jt } else { i.jf });
            match i.code {
                LD_W_ABS => acc = word(i.k),
                AND_K => acc &= i.k,
                JEQ_K => pc += branch(acc == i.k),
                JGT_K => pc += branch(acc > i.k),
                JGE_K => pc += branch(acc >= i.k),
                JSET_K => pc += branch(acc & i.k != 0),
                JA => pc += i.k as usize,
                RET_K => return i.k,
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    const ALLOW: u32 = 0x7fff_0000;
    const EPERM: u32 = 0x0005_0000 | libc::EPERM as u32;
    const ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;
    /// containerd's default set, as every unprivileged container keeps it.
    fn default_caps() -> Vec<String> {
        super::super::bounding_set()
    }

    fn target(arch: Arch, caps: &[String]) -> Target {
        Target {
            arch,
            caps: caps.to_vec(),
            kernel: (6, 18),
        }
    }

    fn program(text: &str, target: &Target) -> Vec<Insn> {
        let rules = ProfileFile::parse(text).unwrap().rules_for(target).unwrap();
        compile(&rules, target.arch).unwrap()
    }

    fn runtime_default(arch: Arch, caps: &[String]) -> impl Fn(&str, [u64; 6]) -> u32 {
        let p = program(super::super::RUNTIME_DEFAULT, &target(arch, caps));
        move |name: &str, args| {
            let nr = arch.number(name).unwrap_or_else(|| panic!("{name}"));
            run(&p, arch.audit_arch(), nr, args)
        }
    }

    fn arg0(v: u64) -> [u64; 6] {
        [v, 0, 0, 0, 0, 0]
    }

    #[test]
    fn runtime_default_allows_the_list_and_denies_the_rest_with_eperm() {
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let call = runtime_default(arch, &default_caps());
            for allowed in [
                "read",
                "write",
                "execve",
                "openat",
                "chroot",
                "capset",
                "setresuid",
            ] {
                assert_eq!(call(allowed, arg0(0)), ALLOW, "{arch:?} {allowed}");
            }
            // Not in the list, and CAP_SYS_ADMIN (which would add them) is not in the set.
            for denied in [
                "unshare", "keyctl", "mount", "setns", "reboot", "add_key", "bpf",
            ] {
                assert_eq!(call(denied, arg0(0)), EPERM, "{arch:?} {denied}");
            }
        }
    }

    #[test]
    fn clone_may_not_make_namespaces_and_clone3_says_enosys_without_sys_admin() {
        let new_user_ns = libc::CLONE_NEWUSER as u64;
        let fork = libc::SIGCHLD as u64;
        let threads = (libc::CLONE_VM | libc::CLONE_THREAD | libc::CLONE_SIGHAND) as u64;
        for arch in [Arch::X86_64, Arch::Aarch64] {
            let call = runtime_default(arch, &default_caps());
            assert_eq!(call("clone", arg0(fork)), ALLOW);
            assert_eq!(call("clone", arg0(threads)), ALLOW);
            assert_eq!(call("clone", arg0(fork | new_user_ns)), EPERM);
            assert_eq!(call("clone", arg0(libc::CLONE_NEWNET as u64)), EPERM);
            assert_eq!(call("clone3", arg0(0)), ENOSYS);
            let mut admin = default_caps();
            admin.push("CAP_SYS_ADMIN".into());
            let call = runtime_default(arch, &admin);
            assert_eq!(call("clone", arg0(fork | new_user_ns)), ALLOW);
            assert_eq!(call("clone3", arg0(0)), ALLOW);
            assert_eq!(call("unshare", arg0(0)), ALLOW);
        }
    }

    #[test]
    fn socket_families_and_personalities_follow_the_argument_conditions() {
        let call = runtime_default(Arch::X86_64, &default_caps());
        for (family, want) in [
            (libc::AF_UNIX as u64, ALLOW),
            (libc::AF_INET as u64, ALLOW),
            (libc::AF_NETLINK as u64, ALLOW),
            (37, ALLOW),
            (libc::AF_ALG as u64, EPERM),
            (39, ALLOW),
            (libc::AF_VSOCK as u64, EPERM),
            (41, ALLOW),
            // The high word counts: this is not AF_INET.
            ((1 << 32) | libc::AF_INET as u64, ALLOW),
        ] {
            assert_eq!(call("socket", arg0(family)), want, "family {family}");
        }
        for (persona, want) in [
            (0, ALLOW),
            (8, ALLOW),
            (0x20000, ALLOW),
            (0x20008, ALLOW),
            (0xffff_ffff, ALLOW),
            (1, EPERM),
            (0x0040_0000, EPERM),
            (0x1_0000_0000, EPERM),
        ] {
            assert_eq!(call("personality", arg0(persona)), want, "{persona:#x}");
        }
    }

    #[test]
    fn other_abis_and_calls_newer_than_the_profile_are_refused() {
        let p = program(
            super::super::RUNTIME_DEFAULT,
            &target(Arch::X86_64, &default_caps()),
        );
        let x86_64 = Arch::X86_64.audit_arch();
        const AUDIT_ARCH_I386: u32 = 3 | 0x4000_0000;
        // read is 3 on i386: a 32-bit program is refused, not let through.
        assert_eq!(run(&p, AUDIT_ARCH_I386, 3, arg0(0)), EPERM);
        // x32: read with bit 30.
        assert_eq!(run(&p, x86_64, 0x4000_0000, arg0(0)), EPERM);
        // open_tree_attr (467), file_getattr (468) and anything later are newer than the
        // profile: ENOSYS, so a program can fall back as on a kernel without them.
        assert_eq!(run(&p, x86_64, 467, arg0(0)), ENOSYS);
        assert_eq!(run(&p, x86_64, 1000, arg0(0)), ENOSYS);
        // An older call the profile leaves out is EPERM.
        let kexec_load = Arch::X86_64.number("kexec_load").unwrap();
        assert_eq!(run(&p, x86_64, kexec_load, arg0(0)), EPERM);
        assert!(p.len() < MAX_INSNS, "{} instructions", p.len());
    }

    #[test]
    fn every_comparison_on_64_bit_values_agrees_with_plain_arithmetic() {
        let values = [
            0u64,
            1,
            7,
            0xffff_ffff,
            0x1_0000_0000,
            0x1_0000_0001,
            0xffff_ffff_0000_0000,
            u64::MAX,
        ];
        let ops = [
            "SCMP_CMP_NE",
            "SCMP_CMP_LT",
            "SCMP_CMP_LE",
            "SCMP_CMP_EQ",
            "SCMP_CMP_GE",
            "SCMP_CMP_GT",
            "SCMP_CMP_MASKED_EQ",
        ];
        for op in ops {
            for &value in &values {
                let text = format!(
                    r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW",
                        "args": [{{"index": 2, "value": {value}, "valueTwo": 1, "op": "{op}"}}]}}]}}"#
                );
                let t = target(Arch::X86_64, &[]);
                let p = program(&text, &t);
                let nr = Arch::X86_64.number("mkdir").unwrap();
                for &arg in &values {
                    let want = match op {
                        "SCMP_CMP_NE" => arg != value,
                        "SCMP_CMP_LT" => arg < value,
                        "SCMP_CMP_LE" => arg <= value,
                        "SCMP_CMP_EQ" => arg == value,
                        "SCMP_CMP_GE" => arg >= value,
                        "SCMP_CMP_GT" => arg > value,
                        _ => arg & value == 1,
                    };
                    let got = run(&p, t.arch.audit_arch(), nr, [0, 0, arg, 0, 0, 0]);
                    assert_eq!(got == ALLOW, want, "{arg:#x} {op} {value:#x}");
                }
            }
        }
    }

    #[test]
    fn a_localhost_profile_may_allow_by_default_and_pick_its_own_errno() {
        let text = r#"{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"],
            "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13},
                         {"names": ["chmod"], "action": "SCMP_ACT_KILL_PROCESS"}]}"#;
        let t = target(Arch::X86_64, &[]);
        let p = program(text, &t);
        let nr = |n| Arch::X86_64.number(n).unwrap();
        let x86_64 = t.arch.audit_arch();
        assert_eq!(run(&p, x86_64, nr("mkdirat"), arg0(0)), 0x0005_0000 | 13);
        assert_eq!(run(&p, x86_64, nr("chmod"), arg0(0)), 0x8000_0000);
        assert_eq!(run(&p, x86_64, nr("unshare"), arg0(0)), ALLOW);
        // Allowing by default never lets another ABI through unfiltered.
        assert_eq!(run(&p, 3 | 0x4000_0000, 39, arg0(0)), EPERM);
        // Nothing is newer than a profile that allows by default.
        assert_eq!(run(&p, x86_64, 1000, arg0(0)), ALLOW);
    }

    #[test]
    fn what_podlab_cannot_do_is_refused_with_the_reason() {
        let t = target(Arch::X86_64, &[]);
        let err = |text: &str| {
            ProfileFile::parse(text)
                .and_then(|p| p.rules_for(&t))
                .unwrap_err()
        };
        assert!(err(r#"{"defaultAction": "SCMP_ACT_NOTIFY"}"#).contains("listener"));
        assert!(
            err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": "/x"}"#)
                .contains("listenerPath")
        );
        assert!(err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_MAYBE"}]}"#)
            .contains("syscalls[0]: unknown action"));
        assert!(err(r#"{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 6, "value": 0, "op": "SCMP_CMP_EQ"}]}]}"#)
            .contains("index 6"));
    }

    #[test]
    fn a_profile_too_long_for_the_kernel_is_refused_not_truncated() {
        let rule = r#"{"names": ["mkdir"], "action": "SCMP_ACT_ALLOW", "args": [{"index": 1, "value": 7, "op": "SCMP_CMP_EQ"}]}"#;
        let text = format!(
            r#"{{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{}]}}"#,
            vec![rule; 1000].join(",")
        );
        let t = target(Arch::X86_64, &[]);
        let rules = ProfileFile::parse(&text).unwrap().rules_for(&t).unwrap();
        let err = compile(&rules, t.arch).unwrap_err();
        assert!(err.contains("more than the kernel's 4096"), "{err}");
    }

    #[test]
    fn conditions_on_the_same_argument_are_separate_rules_as_runc_makes_them() {
        // runc turns `arg0 != 38 && arg0 != 40` into two rules, so each lets the other through.
        let text = r#"{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["socket"], "action": "SCMP_ACT_ALLOW",
            "args": [{"index": 0, "value": 38, "op": "SCMP_CMP_NE"}, {"index": 0, "value": 40, "op": "SCMP_CMP_NE"}]}]}"#;
        let t = target(Arch::X86_64, &[]);
        let p = program(text, &t);
        let socket = Arch::X86_64.number("socket").unwrap();
        assert_eq!(run(&p, t.arch.audit_arch(), socket, arg0(38)), ALLOW);
        assert_eq!(run(&p, t.arch.audit_arch(), socket, arg0(40)), ALLOW);
    }
}
