//! The device controller of a container's leaf, as runc sets it: cgroup v1 `devices.deny` "a"
//! then one `devices.allow` line per rule; cgroup v2 (which has no device files) a
//! `BPF_PROG_TYPE_CGROUP_DEVICE` program attached to the leaf, which the kernel runs on every
//! open and mknod of a device node and which answers 1 (allow) or 0 (EPERM).
//!
//! The program is generated here from the rules (a few instructions per rule), the way runc's
//! `devicefilter` does: load the request, then for each rule "if it matches, return 1", and
//! at the end "return 0".

use std::io;
use std::path::Path;

use super::fs::CgroupFs;
use super::CgroupError;
use crate::kube::devices::{DevicePolicy, DeviceRule, DeviceType};

/// The devices controller of cgroup v1.
pub const CONTROLLER: &str = "devices";
pub const V1_DENY: &str = "devices.deny";
pub const V1_ALLOW: &str = "devices.allow";

/// cgroup v1: "deny all", then the allow-list; for `All`, "allow all".
pub fn apply_v1(fs: &dyn CgroupFs, dir: &Path, policy: DevicePolicy) -> Result<(), CgroupError> {
    let write = |file: &str, line: &str| {
        fs.write(&dir.join(file), line)
            .map_err(|e| CgroupError::io_with(format!("write {line:?} to"), dir.join(file), e))
    };
    match policy.allowed() {
        None => write(V1_ALLOW, "a"),
        Some(rules) => {
            write(V1_DENY, "a")?;
            for rule in rules {
                write(V1_ALLOW, &rule.to_string())?;
            }
            Ok(())
        }
    }
}

/// cgroup v2: the program for the allow-list, attached to `dir`. `All` attaches nothing: a
/// cgroup without a device program may use every device.
pub fn apply_v2(fs: &dyn CgroupFs, dir: &Path, policy: DevicePolicy) -> Result<(), CgroupError> {
    let Some(rules) = policy.allowed() else {
        return Ok(());
    };
    let program = program_for(rules);
    match fs.attach_device_program(dir, &program) {
        Ok(()) => Ok(()),
        // Without root (a delegated subtree), loading a device program is refused. The user
        // namespace such a pod runs in already forbids mknod of a device and opening one on a
        // mount it made, so the container is no less confined.
        Err(e) if e.raw_os_error() == Some(libc::EPERM) && !nix::unistd::geteuid().is_root() => {
            Ok(())
        }
        Err(e) => Err(CgroupError::io("attach a device program to", dir, e)),
    }
}

/// One eBPF instruction (`struct bpf_insn`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u8,
    /// dst_reg in the low 4 bits, src_reg in the high 4 (on a little-endian machine).
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes (linux/bpf.h, linux/bpf_common.h).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54; // BPF_ALU | BPF_AND | BPF_K
const ALU32_RSH_K: u8 = 0x74; // BPF_ALU | BPF_RSH | BPF_K
const ALU32_MOV_K: u8 = 0xb4; // BPF_ALU | BPF_MOV | BPF_K
const ALU32_MOV_X: u8 = 0xbc; // BPF_ALU | BPF_MOV | BPF_X
const JMP_JNE_K: u8 = 0x55; // BPF_JMP | BPF_JNE | BPF_K
const JMP_EXIT: u8 = 0x95; // BPF_JMP | BPF_EXIT

// `struct bpf_cgroup_dev_ctx`: access_type (type in the low 16 bits, access above), major, minor.
const BPF_DEVCG_DEV_BLOCK: i32 = 1;
const BPF_DEVCG_DEV_CHAR: i32 = 2;
const BPF_DEVCG_ACC_MKNOD: i32 = 1;
const BPF_DEVCG_ACC_READ: i32 = 2;
const BPF_DEVCG_ACC_WRITE: i32 = 4;

// Registers: r1 the context; r2 type, r3 access, r4 major, r5 minor; r0 the answer.
const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R4: u8 = 4;
const R5: u8 = 5;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> BpfInsn {
    let regs = if cfg!(target_endian = "little") {
        (src << 4) | dst
    } else {
        (dst << 4) | src
    };
    BpfInsn {
        code,
        regs,
        off,
        imm,
    }
}

/// The conditions of one rule, each "if the request differs, skip the rest of the rule".
fn rule_checks(rule: &DeviceRule) -> Vec<(u8, Option<BpfInsn>, i32)> {
    let mut checks = vec![];
    let kind = match rule.kind {
        DeviceType::Char => BPF_DEVCG_DEV_CHAR,
        DeviceType::Block => BPF_DEVCG_DEV_BLOCK,
    };
    checks.push((R2, None, kind));
    if !rule.access.is_all() {
        // Asked for something the rule does not give: (access & ~allowed) != 0.
        let mut allowed = 0;
        for (on, bit) in [
            (rule.access.read, BPF_DEVCG_ACC_READ),
            (rule.access.write, BPF_DEVCG_ACC_WRITE),
            (rule.access.mknod, BPF_DEVCG_ACC_MKNOD),
        ] {
            if on {
                allowed |= bit;
            }
        }
        let not_allowed =
            !allowed & (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD);
        checks.push((R1, Some(insn(ALU32_AND_K, R1, 0, 0, not_allowed)), 0));
    }
    if let Some(major) = rule.major {
        checks.push((R4, None, major as i32));
    }
    if let Some(minor) = rule.minor {
        checks.push((R5, None, minor as i32));
    }
    checks
}

/// The device program for an allow-list: 1 for a request a rule allows, 0 for the rest.
pub fn program_for(rules: &[DeviceRule]) -> Vec<BpfInsn> {
    let mut program = vec![
        insn(LDX_MEM_W, R2, R1, 0, 0),
        insn(ALU32_AND_K, R2, 0, 0, 0xffff),
        insn(LDX_MEM_W, R3, R1, 0, 0),
        insn(ALU32_RSH_K, R3, 0, 0, 16),
        insn(LDX_MEM_W, R4, R1, 4, 0),
        insn(LDX_MEM_W, R5, R1, 8, 0),
    ];
    for rule in rules {
        let mut block = vec![];
        let mut jumps = vec![];
        for (reg, before, value) in rule_checks(rule) {
            if let Some(before) = before {
                block.push(insn(ALU32_MOV_X, R1, R3, 0, 0));
                block.push(before);
            }
            jumps.push(block.len());
            block.push(insn(JMP_JNE_K, reg, 0, 0, value));
        }
        block.push(insn(ALU32_MOV_K, R0, 0, 0, 1));
        block.push(insn(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for at in jumps {
            // Past the end of this rule's block.
            block[at].off = (len - at - 1) as i16;
        }
        program.extend(block);
    }
    program.push(insn(ALU32_MOV_K, R0, 0, 0, 0));
    program.push(insn(JMP_EXIT, 0, 0, 0, 0));
    program
}

// bpf(2) commands, program and attach types (linux/bpf.h).
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Several programs may be attached to one cgroup and its ancestors; every one must allow.
const BPF_F_ALLOW_MULTI: u32 = 2;

/// The `BPF_PROG_LOAD` part of `union bpf_attr`.
#[repr(C, align(8))]
#[derive(Default)]
struct ProgLoadAttr {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
    prog_name: [u8; 16],
    prog_ifindex: u32,
    expected_attach_type: u32,
}

/// The `BPF_PROG_ATTACH` part of `union bpf_attr`.
#[repr(C, align(8))]
#[derive(Default)]
struct ProgAttachAttr {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
    replace_bpf_fd: u32,
}

/// The `BPF_PROG_QUERY` part of `union bpf_attr`.
#[repr(C, align(8))]
#[derive(Default)]
struct ProgQueryAttr {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
}

fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> io::Result<i64> {
    // SAFETY: attr is a valid, initialised `union bpf_attr` prefix of the size passed.
    let ret = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T as *mut libc::c_void,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Load `program` and attach it to the cgroup at `dir`, unless a device program is attached
/// there already (a restarted container reuses its leaf).
pub fn attach_to_cgroup(dir: &Path, program: &[BpfInsn]) -> io::Result<()> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let cgroup = std::fs::File::open(dir)?;
    let mut query = ProgQueryAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        ..Default::default()
    };
    bpf(BPF_PROG_QUERY, &mut query)?;
    if query.prog_cnt > 0 {
        return Ok(());
    }
    let license = c"Apache-2.0";
    let mut name = [0u8; 16];
    name[..13].copy_from_slice(b"podlab_device");
    let mut load = ProgLoadAttr {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: program.len() as u32,
        insns: program.as_ptr() as u64,
        license: license.as_ptr() as u64,
        prog_name: name,
        ..Default::default()
    };
    let fd = bpf(BPF_PROG_LOAD, &mut load)?;
    // SAFETY: the kernel just returned this descriptor to us.
    let prog = unsafe { OwnedFd::from_raw_fd(fd as i32) };
    let mut attach = ProgAttachAttr {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: BPF_F_ALLOW_MULTI,
        ..Default::default()
    };
    // The cgroup holds the program from now on; closing our descriptor does not detach it,
    // and removing the cgroup frees it.
    bpf(BPF_PROG_ATTACH, &mut attach).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kube::devices::{DeviceAccess, RUNC_ALLOWED_DEVICES};

    /// Runs a device program the way the kernel would, on one request.
    fn run(program: &[BpfInsn], kind: i32, access: i32, major: u32, minor: u32) -> i32 {
        let ctx = [((access << 16) | kind) as u32, major, minor];
        let mut regs = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = program[pc];
            let (dst, src) = ((i.regs & 0xf) as usize, (i.regs >> 4) as usize);
            pc += 1;
            match i.code {
                LDX_MEM_W => {
                    assert_eq!(src, 1, "loads only from the context");
                    regs[dst] = u64::from(ctx[i.off as usize / 4]);
                }
                ALU32_AND_K => regs[dst] = (regs[dst] as u32 & i.imm as u32) as u64,
                ALU32_RSH_K => regs[dst] = ((regs[dst] as u32) >> i.imm) as u64,
                ALU32_MOV_K => regs[dst] = i.imm as u32 as u64,
                ALU32_MOV_X => regs[dst] = regs[src] as u32 as u64,
                JMP_JNE_K => {
                    if regs[dst] != i.imm as i64 as u64 {
                        pc += i.off as usize;
                    }
                }
                JMP_EXIT => return regs[0] as i32,
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
    }

    #[test]
    fn program_answers_like_the_rules() {
        let program = program_for(RUNC_ALLOWED_DEVICES);
        let policy = DevicePolicy::AllowList;
        let accesses = [
            (BPF_DEVCG_ACC_MKNOD, DeviceAccess::MKNOD),
            (
                BPF_DEVCG_ACC_READ,
                DeviceAccess {
                    read: true,
                    write: false,
                    mknod: false,
                },
            ),
            (
                BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE,
                DeviceAccess {
                    read: true,
                    write: true,
                    mknod: false,
                },
            ),
        ];
        let kinds = [
            (BPF_DEVCG_DEV_CHAR, DeviceType::Char),
            (BPF_DEVCG_DEV_BLOCK, DeviceType::Block),
        ];
        for (major, minor) in [
            (1, 3),
            (1, 4),
            (5, 2),
            (7, 0),
            (8, 0),
            (10, 200),
            (10, 232),
            (136, 9),
        ] {
            for (kind_bits, kind) in kinds {
                for (access_bits, access) in accesses {
                    let expected = i32::from(policy.allows(kind, major, minor, access));
                    assert_eq!(
                        run(&program, kind_bits, access_bits, major, minor),
                        expected,
                        "{kind:?} {major}:{minor} {access}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_jump_lands_inside_the_program() {
        let program = program_for(RUNC_ALLOWED_DEVICES);
        for (pc, i) in program.iter().enumerate() {
            if i.code == JMP_JNE_K {
                let target = pc + 1 + i.off as usize;
                assert!(target < program.len(), "jump at {pc} to {target}");
            }
        }
        assert_eq!(program.last().map(|i| i.code), Some(JMP_EXIT));
    }
}
