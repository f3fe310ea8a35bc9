//! kubelet's policy as pure functions: QoS, cgroup values, oom_score_adj, back-off, events.
