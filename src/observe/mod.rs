//! Read-only snapshots of processes, namespaces, network and cgroups from /proc and /sys.
