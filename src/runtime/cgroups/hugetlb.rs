//! The hugetlb controller: kubelet gives every container and every pod cgroup a limit of 0 for
//! each huge page size the kernel offers, unless the pod requests `hugepages-<size>`
//! (`GetHugepageLimitsFromResources`, `maybeSetHugetlb`). podlab models no such request, so
//! each size is 0: nothing in a pod can take huge pages from the node.

use std::path::Path;

use super::fs::{write_value, CgroupFs};
use super::CgroupError;
use crate::kube::resources::CgroupValues;

pub const CONTROLLER: &str = "hugetlb";
/// Where the kernel lists its huge page sizes (`hugepages-2048kB`, `hugepages-1048576kB`).
pub const SYS_HUGEPAGES: &str = "/sys/kernel/mm/hugepages";

/// The huge page sizes of this machine as cgroup file names spell them ("2MB", "1GB"), read
/// from [`SYS_HUGEPAGES`] as kubelet's `HugePageSizes` does; none if the kernel has none.
pub fn host_page_sizes() -> Vec<String> {
    let Ok(dir) = std::fs::read_dir(SYS_HUGEPAGES) else {
        return Vec::new();
    };
    let mut sizes: Vec<(u64, String)> = dir
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_str()?.to_string();
            let kb = name.strip_prefix("hugepages-")?.strip_suffix("kB")?;
            let kb: u64 = kb.parse().ok()?;
            Some((kb, page_size_name(kb)))
        })
        .collect();
    sizes.sort();
    sizes.into_iter().map(|(_, name)| name).collect()
}

/// A page size in KiB as the hugetlb files name it: the largest binary unit that divides it
/// (2048 → "2MB", 1048576 → "1GB", 64 → "64KB"), as runc's `HugePageSizes` prints it.
pub fn page_size_name(kb: u64) -> String {
    let units = ["KB", "MB", "GB", "TB", "PB"];
    let mut value = kb;
    let mut unit = 0;
    while value >= 1024 && value.is_multiple_of(1024) && unit + 1 < units.len() {
        value /= 1024;
        unit += 1;
    }
    format!("{value}{}", units[unit])
}

/// v2: `hugetlb.<size>.max` = 0 for each size (and `hugetlb.<size>.rsvd.max`, the reservation
/// limit, where the kernel has it, as runc writes both), if the values ask for no huge pages.
pub fn apply_v2(
    fs: &dyn CgroupFs,
    dir: &Path,
    sizes: &[String],
    values: &CgroupValues,
) -> Result<(), CgroupError> {
    if !values.no_hugetlb {
        return Ok(());
    }
    for size in sizes {
        let max = format!("hugetlb.{size}.max");
        if !fs.exists(&dir.join(&max)) {
            continue;
        }
        write_value(fs, dir, &max, "0")?;
        let rsvd = format!("hugetlb.{size}.rsvd.max");
        if fs.exists(&dir.join(&rsvd)) {
            write_value(fs, dir, &rsvd, "0")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_are_named_like_the_cgroup_files() {
        assert_eq!(page_size_name(2048), "2MB");
        assert_eq!(page_size_name(1_048_576), "1GB");
        assert_eq!(page_size_name(64), "64KB");
        assert_eq!(page_size_name(32_768), "32MB");
        assert_eq!(page_size_name(16 * 1024 * 1024), "16GB");
    }
}
