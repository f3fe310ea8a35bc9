//! What kubelet decides about a pod's volumes before anything is mounted.

/// The size of a memory-backed emptyDir's tmpfs (SizeMemoryBackedVolumes, GA in 1.32:
/// `calculateEmptyDirMemorySize`, `pkg/volume/emptydir`): the node's allocatable memory, or the
/// pod's memory limit when it has one and it is smaller, or the volume's `sizeLimit` when that
/// is smaller still. Without it the kernel would give half the machine's RAM.
pub fn memory_volume_size(
    node_allocatable: i64,
    pod_memory_limit: Option<i64>,
    size_limit: Option<i64>,
) -> i64 {
    let mut size = node_allocatable;
    for limit in [pod_memory_limit, size_limit].into_iter().flatten() {
        if limit > 0 && limit <= size {
            size = limit;
        }
    }
    size
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: i64 = 1024 * 1024;

    #[test]
    fn the_smallest_of_allocatable_pod_limit_and_size_limit() {
        assert_eq!(memory_volume_size(8000 * MI, None, None), 8000 * MI);
        assert_eq!(memory_volume_size(8000 * MI, Some(64 * MI), None), 64 * MI);
        assert_eq!(
            memory_volume_size(8000 * MI, Some(64 * MI), Some(16 * MI)),
            16 * MI
        );
        // A sizeLimit above what the pod may use is not used.
        assert_eq!(
            memory_volume_size(8000 * MI, Some(64 * MI), Some(128 * MI)),
            64 * MI
        );
        assert_eq!(memory_volume_size(100 * MI, None, Some(200 * MI)), 100 * MI);
        // Zero means unset, as kubelet's `0 < value` test.
        assert_eq!(memory_volume_size(100 * MI, Some(0), Some(0)), 100 * MI);
    }
}
