//! cgroup files as the observe layer reads them, v1 and v2, with any content: numbers at the
//! edges of u64/i64, "max", garbage. Input: version byte, then the files' texts in a fixed
//! order separated by NUL (a missing text is a missing file).
#![no_main]

use std::path::{Path, PathBuf};

use libfuzzer_sys::fuzz_target;
use podlab::observe::cgroup::{info_from_files, CgroupLocation};

const FILES: &[&str] = &[
    "cpu.cfs_quota_us",
    "cpu.cfs_period_us",
    "cpu.shares",
    "cpu.stat",
    "memory.limit_in_bytes",
    "memory.usage_in_bytes",
    "memory.failcnt",
    "memory.oom_control",
    "cpu.max",
    "cpu.weight",
    "memory.max",
    "memory.current",
    "memory.events",
    "pids.max",
    "pids.current",
];

fuzz_target!(|data: &[u8]| {
    let Some((&version, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let texts: Vec<&str> = text.split('\0').collect();
    let loc = CgroupLocation {
        version: if version % 2 == 0 { 1 } else { 2 },
        path: "/kubepods/pod".into(),
        cpu: Some(PathBuf::from("/cpu")),
        memory: Some(PathBuf::from("/memory")),
        pids: Some(PathBuf::from("/pids")),
    };
    let mut read = |_dir: &Path, file: &str| {
        let index = FILES.iter().position(|f| *f == file)?;
        texts.get(index).map(|t| t.to_string())
    };
    let info = info_from_files(&loc, &mut read);
    let _ = loc.parent();
    let _ = format!("{info:?}");
});
