//! The pod's /etc/hosts and hostname as kubelet makes them (`ensureHostsFile`,
//! `managedHostsFileContent`, `nodeHostsFileContent`, `hostsEntriesFromHostAliases` and
//! `GeneratePodHostNameAndDomain` in `pkg/kubelet/kubelet_pods.go`), and the hostname containerd
//! writes to /etc/hostname and HOSTNAME.
//!
//! * A pod on the pod network gets kubelet's managed file: a header, the localhost lines, its
//!   IP with its hostname, then `hostAliases`.
//! * A hostNetwork pod gets the node's /etc/hosts under kubelet's "(host network)" header,
//!   then `hostAliases`; kubelet gives it no hostname, so containerd uses the node's.

use crate::spec::{HostAlias, Pod};

pub const MANAGED_HEADER: &str = "# Kubernetes-managed hosts file.\n";
pub const HOST_NETWORK_HEADER: &str = "# Kubernetes-managed hosts file (host network).\n";

/// A hostname's length limit (64 bytes with the terminating NUL).
const HOSTNAME_MAX_LEN: usize = 63;

/// The pod's hostname: spec.hostname, else the pod's name, cut to 63 bytes and then stripped
/// of trailing '-' and '.' (`truncatePodHostnameIfNeeded`). Names are ASCII once validated.
pub fn pod_hostname(pod: &Pod) -> String {
    let name = pod.spec.hostname.as_deref().unwrap_or(&pod.metadata.name);
    if name.len() <= HOSTNAME_MAX_LEN {
        return name.to_string();
    }
    let mut end = HOSTNAME_MAX_LEN;
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].trim_end_matches(['-', '.']).to_string()
}

/// The hostname a container sees (/etc/hostname, HOSTNAME): the pod's, or for a hostNetwork
/// pod the node's `node_hostname`.
pub fn container_hostname(pod: &Pod, node_hostname: &str) -> String {
    if pod.spec.host_network {
        node_hostname.to_string()
    } else {
        pod_hostname(pod)
    }
}

/// kubelet's managed /etc/hosts for a pod on the pod network (`pod_ips` empty until the
/// network step gave it one).
pub fn managed_hosts(pod_ips: &[String], hostname: &str, aliases: &[HostAlias]) -> String {
    let mut out = String::from(MANAGED_HEADER);
    out.push_str(
        "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n\
         fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n",
    );
    for ip in pod_ips {
        out.push_str(&format!("{ip}\t{hostname}\n"));
    }
    out.push_str(&alias_entries(aliases));
    out
}

/// A hostNetwork pod's /etc/hosts: the node's file, as it is, under kubelet's header.
pub fn node_hosts(node_file: &str, aliases: &[HostAlias]) -> String {
    format!("{HOST_NETWORK_HEADER}{node_file}{}", alias_entries(aliases))
}

/// One line per alias: the IP, then its hostnames separated by tabs.
fn alias_entries(aliases: &[HostAlias]) -> String {
    if aliases.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n# Entries added by HostAliases.\n");
    for alias in aliases {
        out.push_str(&format!("{}\t{}\n", alias.ip, alias.hostnames.join("\t")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aliases() -> Vec<HostAlias> {
        vec![
            HostAlias {
                ip: "123.45.67.89".into(),
                hostnames: vec!["foo".into(), "bar".into(), "baz".into()],
            },
            HostAlias {
                ip: "456.78.90.123".into(),
                hostnames: vec!["park".into(), "doo".into(), "boo".into()],
            },
        ]
    }

    /// kubelet's TestManagedHostsFileContent, the cases without a subdomain.
    #[test]
    fn the_managed_file_has_the_localhost_lines_the_pod_ip_and_the_aliases() {
        let localhost = "# Kubernetes-managed hosts file.\n\
             127.0.0.1\tlocalhost\n\
             ::1\tlocalhost ip6-localhost ip6-loopback\n\
             fe00::0\tip6-localnet\n\
             fe00::0\tip6-mcastprefix\n\
             fe00::1\tip6-allnodes\n\
             fe00::2\tip6-allrouters\n";
        assert_eq!(
            managed_hosts(&["123.45.67.89".into()], "podFoo", &[]),
            format!("{localhost}123.45.67.89\tpodFoo\n")
        );
        assert_eq!(
            managed_hosts(&["203.0.113.1".into()], "podFoo", &aliases()),
            format!(
                "{localhost}203.0.113.1\tpodFoo\n\n\
                 # Entries added by HostAliases.\n\
                 123.45.67.89\tfoo\tbar\tbaz\n\
                 456.78.90.123\tpark\tdoo\tboo\n"
            )
        );
    }

    /// kubelet's TestNodeHostsFileContent.
    #[test]
    fn a_host_network_pod_gets_the_nodes_file_under_kubelets_header() {
        let node = "# hosts file for testing.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n123.45.67.89\tsome.domain\n";
        assert_eq!(
            node_hosts(node, &[]),
            format!("# Kubernetes-managed hosts file (host network).\n{node}")
        );
        assert_eq!(
            node_hosts(node, &aliases()[..1]),
            format!(
                "# Kubernetes-managed hosts file (host network).\n{node}\n# Entries added by HostAliases.\n123.45.67.89\tfoo\tbar\tbaz\n"
            )
        );
    }

    fn pod(name: &str, extra: &str) -> Pod {
        let mut pod = crate::spec::parse_pod(
            &format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: web}}\nspec:\n{extra}  containers:\n  - {{name: app, image: busybox}}\n"
            ),
            "test",
        )
        .unwrap()
        .pod;
        pod.metadata.name = name.into();
        pod
    }

    /// kubelet's TestTruncatePodHostname.
    #[test]
    fn a_long_name_is_cut_to_63_bytes_without_a_trailing_dash_or_dot() {
        let cases = [
            ("test", "test"),
            (
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.1234567",
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.1234567",
            ),
            (
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.1234567.1234567",
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.1234567",
            ),
            (
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.123456.1234567",
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.123456",
            ),
            (
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.123456-1234567",
                "1234567.1234567.1234567.1234567.1234567.1234567.1234567.123456",
            ),
        ];
        for (name, want) in cases {
            assert_eq!(pod_hostname(&pod(name, "")), want, "{name}");
        }
    }

    #[test]
    fn a_host_network_pod_sees_the_nodes_hostname() {
        assert_eq!(container_hostname(&pod("web", ""), "node-1"), "web");
        assert_eq!(
            container_hostname(&pod("web", "  hostNetwork: true\n"), "node-1"),
            "node-1"
        );
    }
}
