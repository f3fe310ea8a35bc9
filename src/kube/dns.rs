//! The pod's /etc/resolv.conf as kubelet decides it (`GetPodDNS` in
//! `pkg/kubelet/network/dns/dns.go`) and containerd writes it (`parseDNSOptions` in
//! `internal/cri/server/podsandbox/sandbox_run_linux.go`).
//!
//! * `Default`: the node's resolv.conf, as kubelet parses it (its `--resolv-conf`).
//! * `ClusterFirst` (the default): the cluster DNS service. podlab has no cluster DNS, so, as
//!   a kubelet without `--cluster-dns` does, it falls back to `Default` with a
//!   `MissingClusterDNS` warning. A hostNetwork pod with `ClusterFirst` gets `Default` without
//!   a warning; `ClusterFirstWithHostNet` is `ClusterFirst` for it.
//! * `None`: nothing but the pod's `dnsConfig`.
//!
//! `dnsConfig` is added to any of them; then at most 3 nameservers and 32 search domains of at
//! most 2048 characters are kept, with a `DNSConfigForming` warning when some are cut.

use super::events::{Event, EventType};
use crate::spec::{DnsPolicy, PodSpec};

/// The API server's limits (`pkg/apis/core/validation`).
pub const MAX_NAMESERVERS: usize = 3;
pub const MAX_SEARCH_PATHS: usize = 32;
pub const MAX_SEARCH_LIST_CHARS: usize = 2048;
/// A search domain longer than a DNS-1123 subdomain aborts some resolvers: kubelet drops it.
const MAX_SEARCH_LEN: usize = 253;

pub const MISSING_CLUSTER_DNS: &str = "MissingClusterDNS";
pub const DNS_CONFIG_FORMING: &str = "DNSConfigForming";

/// Nameservers, search domains and options, in resolv.conf's terms.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsConfig {
    pub servers: Vec<String>,
    pub searches: Vec<String>,
    pub options: Vec<String>,
}

/// The node's resolv.conf as kubelet's `parseResolvConf` reads it: nameservers add up, the
/// last `search` line wins (without `.` and trailing dots), options add up with a later one
/// of the same name replacing the earlier (kubelet keeps them in a Go map, whose order is
/// random; podlab keeps the order they first appear in).
pub fn parse_resolv_conf(text: &str) -> DnsConfig {
    let mut config = DnsConfig::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        match fields.next() {
            Some("nameserver") => config.servers.extend(fields.next().map(String::from)),
            Some("search") => {
                config.searches = fields
                    .filter(|s| *s != ".")
                    .map(|s| s.strip_suffix('.').unwrap_or(s).to_string())
                    .collect();
            }
            Some("options") => {
                for option in fields {
                    set_option(&mut config.options, option.to_string());
                }
            }
            _ => {}
        }
    }
    config
}

/// Add an option, replacing one of the same name (the part before ':').
fn set_option(options: &mut Vec<String>, option: String) {
    let name = |o: &str| o.split(':').next().unwrap_or_default().to_string();
    let wanted = name(&option);
    match options.iter_mut().find(|o| name(o) == wanted) {
        Some(slot) => *slot = option,
        None => options.push(option),
    }
}

/// What kubelet decides for a pod: its DNS settings and the warnings it records on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct PodDns {
    pub config: DnsConfig,
    pub events: Vec<Event>,
}

/// `GetPodDNS` on a node without cluster DNS. `host`: the node's resolv.conf, parsed; `pod`:
/// the pod as kubelet names it in events (`name_namespace(uid)`).
pub fn pod_dns(spec: &PodSpec, host: &DnsConfig, pod: &str) -> PodDns {
    let mut events = Vec::new();
    let policy = spec.dns_policy.unwrap_or_default();
    let cluster = match policy {
        DnsPolicy::None => false,
        DnsPolicy::ClusterFirstWithHostNet => true,
        DnsPolicy::ClusterFirst => !spec.host_network,
        DnsPolicy::Default => false,
    };
    let mut config = match policy {
        DnsPolicy::None => DnsConfig::default(),
        _ => host.clone(),
    };
    if cluster {
        events.push(Event {
            kind: EventType::Warning,
            reason: MISSING_CLUSTER_DNS.into(),
            message: format!(
                "pod: {pod:?}. kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy."
            ),
        });
    }
    if let Some(extra) = &spec.dns_config {
        for server in &extra.nameservers {
            if !config.servers.contains(server) {
                config.servers.push(server.clone());
            }
        }
        for search in &extra.searches {
            if !config.searches.contains(search) {
                config.searches.push(search.clone());
            }
        }
        for option in &extra.options {
            let text = match option.value.as_deref().filter(|v| !v.is_empty()) {
                Some(value) => format!("{}:{value}", option.name),
                None => option.name.clone(),
            };
            set_option(&mut config.options, text);
        }
    }
    fit_limits(&mut config, &mut events);
    PodDns { config, events }
}

/// `formDNSConfigFitsLimits`.
fn fit_limits(config: &mut DnsConfig, events: &mut Vec<Event>) {
    let mut cut = config.searches.len() > MAX_SEARCH_PATHS;
    config.searches.truncate(MAX_SEARCH_PATHS);
    let before = config.searches.len();
    config.searches.retain(|s| s.len() <= MAX_SEARCH_LEN);
    cut |= config.searches.len() != before;
    while config.searches.join(" ").len() > MAX_SEARCH_LIST_CHARS {
        config.searches.pop();
        cut = true;
    }
    if cut {
        events.push(forming(format!(
            "Search Line limits were exceeded, some search paths have been omitted, the applied search line is: {}",
            config.searches.join(" ")
        )));
    }
    if config.servers.len() > MAX_NAMESERVERS {
        config.servers.truncate(MAX_NAMESERVERS);
        events.push(forming(format!(
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: {}",
            config.servers.join(" ")
        )));
    }
}

fn forming(message: String) -> Event {
    Event {
        kind: EventType::Warning,
        reason: DNS_CONFIG_FORMING.into(),
        message,
    }
}

/// The file containerd writes: `search`, then one `nameserver` line each, then `options`.
/// None when all three are empty: containerd then copies the node's /etc/resolv.conf as it is.
pub fn resolv_conf(config: &DnsConfig) -> Option<String> {
    let mut out = String::new();
    if !config.searches.is_empty() {
        out.push_str(&format!("search {}\n", config.searches.join(" ")));
    }
    for server in &config.servers {
        out.push_str(&format!("nameserver {server}\n"));
    }
    if !config.options.is_empty() {
        out.push_str(&format!("options {}\n", config.options.join(" ")));
    }
    (!out.is_empty()).then_some(out)
}

/// Which file kubelet reads as the node's: `/etc/resolv.conf`, unless it names only
/// systemd-resolved's local stub (127.0.0.53), which a pod's network namespace cannot reach;
/// kubeadm then points kubelet at `/run/systemd/resolve/resolv.conf`, the upstream servers.
pub fn uses_resolved_stub(etc_resolv_conf: &str) -> bool {
    let servers = parse_resolv_conf(etc_resolv_conf).servers;
    !servers.is_empty() && servers.iter().all(|s| s == "127.0.0.53")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{PodDnsConfig, PodDnsConfigOption};

    fn spec(policy: Option<DnsPolicy>, host_network: bool) -> PodSpec {
        PodSpec {
            dns_policy: policy,
            host_network,
            ..Default::default()
        }
    }

    fn strings(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// kubelet's TestParseResolvConf cases.
    #[test]
    fn the_nodes_resolv_conf_is_read_as_kubelet_reads_it() {
        /// (file, nameservers, searches, options)
        type Case<'a> = (&'a str, &'a [&'a str], &'a [&'a str], &'a [&'a str]);
        let cases: &[Case] = &[
            ("", &[], &[], &[]),
            (" ", &[], &[], &[]),
            ("\n", &[], &[], &[]),
            ("\t\n\t", &[], &[], &[]),
            ("#comment\n", &[], &[], &[]),
            (" #comment\n", &[], &[], &[]),
            ("#comment\n#comment", &[], &[], &[]),
            ("#comment\nnameserver", &[], &[], &[]),
            ("nameserver 1.2.3.4", &["1.2.3.4"], &[], &[]),
            (" nameserver 1.2.3.4", &["1.2.3.4"], &[], &[]),
            ("\tnameserver 1.2.3.4", &["1.2.3.4"], &[], &[]),
            ("nameserver\t1.2.3.4", &["1.2.3.4"], &[], &[]),
            ("nameserver \t 1.2.3.4", &["1.2.3.4"], &[], &[]),
            ("nameserver 1.2.3.4\nnameserver 5.6.7.8", &["1.2.3.4", "5.6.7.8"], &[], &[]),
            ("nameserver 1.2.3.4 #comment", &["1.2.3.4"], &[], &[]),
            ("search ", &[], &[], &[]),
            ("search .", &[], &[], &[]),
            ("search foo", &[], &["foo"], &[]),
            ("search foo bar", &[], &["foo", "bar"], &[]),
            ("search foo. bar", &[], &["foo", "bar"], &[]),
            ("search foo bar bat\n", &[], &["foo", "bar", "bat"], &[]),
            ("search foo\nsearch bar", &[], &["bar"], &[]),
            ("nameserver 1.2.3.4\nsearch foo bar", &["1.2.3.4"], &["foo", "bar"], &[]),
            ("nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar", &["1.2.3.4", "5.6.7.8"], &["bar"], &[]),
            ("#comment\nnameserver 1.2.3.4\n#comment\nsearch foo\ncomment", &["1.2.3.4"], &["foo"], &[]),
            ("options ", &[], &[], &[]),
            ("options ndots:5 attempts:2", &[], &[], &["ndots:5", "attempts:2"]),
            ("options ndots:1\noptions ndots:5 attempts:3", &[], &[], &["ndots:5", "attempts:3"]),
            ("nameserver 1.2.3.4\nsearch foo\nnameserver 5.6.7.8\nsearch bar\noptions ndots:5 attempts:4", &["1.2.3.4", "5.6.7.8"], &["bar"], &["ndots:5", "attempts:4"]),
        ];
        for (text, servers, searches, options) in cases {
            assert_eq!(
                parse_resolv_conf(text),
                DnsConfig {
                    servers: strings(servers),
                    searches: strings(searches),
                    options: strings(options),
                },
                "{text:?}"
            );
        }
    }

    fn host() -> DnsConfig {
        parse_resolv_conf("nameserver 10.0.0.2\nsearch lan\noptions edns0\n")
    }

    /// kubelet's TestGetPodDNSType, on a node without cluster DNS: ClusterFirst falls back to
    /// the node's file with a warning; a hostNetwork pod's ClusterFirst is Default.
    #[test]
    fn each_policy_gives_the_node_file_or_nothing_and_cluster_first_warns() {
        let pod = "web_default(1234)";
        let cases = [
            (None, false, true, true),
            (Some(DnsPolicy::ClusterFirst), false, true, true),
            (Some(DnsPolicy::ClusterFirst), true, true, false),
            (Some(DnsPolicy::ClusterFirstWithHostNet), true, true, true),
            (Some(DnsPolicy::ClusterFirstWithHostNet), false, true, true),
            (Some(DnsPolicy::Default), false, true, false),
            (Some(DnsPolicy::Default), true, true, false),
        ];
        for (policy, host_network, node_file, warns) in cases {
            let dns = pod_dns(&spec(policy, host_network), &host(), pod);
            assert_eq!(dns.config == host(), node_file, "{policy:?} {host_network}");
            let reasons: Vec<&str> = dns.events.iter().map(|e| e.reason.as_str()).collect();
            let expected: &[&str] = if warns { &[MISSING_CLUSTER_DNS] } else { &[] };
            assert_eq!(reasons, expected, "{policy:?} {host_network}");
        }
        let warning = &pod_dns(&spec(None, false), &host(), pod).events[0];
        assert_eq!(
            warning.message,
            "pod: \"web_default(1234)\". kubelet does not have ClusterDNS IP configured and cannot create Pod using \"ClusterFirst\" policy. Falling back to \"Default\" policy."
        );
    }

    fn dns_config(
        servers: &[&str],
        searches: &[&str],
        options: &[(&str, Option<&str>)],
    ) -> PodDnsConfig {
        PodDnsConfig {
            nameservers: strings(servers),
            searches: strings(searches),
            options: options
                .iter()
                .map(|(name, value)| PodDnsConfigOption {
                    name: name.to_string(),
                    value: value.map(String::from),
                })
                .collect(),
        }
    }

    /// kubelet's TestGetPodDNSCustom: None takes only dnsConfig; any other policy adds it to
    /// its base, duplicates left out and an option of the same name replaced.
    #[test]
    fn dns_config_is_the_whole_file_with_none_and_added_otherwise() {
        let mut none = spec(Some(DnsPolicy::None), false);
        none.dns_config = Some(dns_config(
            &["203.0.113.1"],
            &["my.dns.search.suffix"],
            &[("ndots", Some("2")), ("edns0", None)],
        ));
        let dns = pod_dns(&none, &host(), "p");
        assert_eq!(
            resolv_conf(&dns.config).unwrap(),
            "search my.dns.search.suffix\nnameserver 203.0.113.1\noptions ndots:2 edns0\n"
        );
        assert!(dns.events.is_empty());
        let mut default = spec(Some(DnsPolicy::Default), false);
        default.dns_config = Some(dns_config(
            &["10.0.0.2", "203.0.113.1"],
            &["lan", "extra"],
            &[("edns0", None), ("ndots", Some("1"))],
        ));
        let dns = pod_dns(&default, &host(), "p");
        assert_eq!(
            dns.config,
            DnsConfig {
                servers: strings(&["10.0.0.2", "203.0.113.1"]),
                searches: strings(&["lan", "extra"]),
                options: strings(&["edns0", "ndots:1"]),
            }
        );
    }

    /// kubelet's TestFormDNSSearchFitsLimits and TestFormDNSNameserversFitsLimits.
    #[test]
    fn too_many_nameservers_or_search_domains_are_cut_with_a_warning() {
        let node = DnsConfig {
            servers: strings(&["1.1.1.1", "2.2.2.2", "3.3.3.3", "4.4.4.4"]),
            searches: (0..40).map(|i| format!("d{i}.example")).collect(),
            options: vec![],
        };
        let dns = pod_dns(&spec(Some(DnsPolicy::Default), false), &node, "p");
        assert_eq!(dns.config.servers.len(), 3);
        assert_eq!(dns.config.searches.len(), 32);
        let messages: Vec<&str> = dns.events.iter().map(|e| e.message.as_str()).collect();
        assert!(messages[0].starts_with("Search Line limits were exceeded, some search paths have been omitted, the applied search line is: d0.example d1.example"), "{messages:?}");
        assert_eq!(
            messages[1],
            "Nameserver limits were exceeded, some nameservers have been omitted, the applied nameserver line is: 1.1.1.1 2.2.2.2 3.3.3.3"
        );
        // A domain longer than 253 characters is left out; the line is kept under 2048.
        let long = DnsConfig {
            servers: vec![],
            searches: vec!["a".repeat(254), "b".repeat(250)]
                .into_iter()
                .chain((0..9).map(|i| format!("{i}{}", "c".repeat(249))))
                .collect(),
            options: vec![],
        };
        let dns = pod_dns(&spec(Some(DnsPolicy::Default), false), &long, "p");
        assert!(!dns.config.searches.contains(&"a".repeat(254)));
        assert!(dns.config.searches.join(" ").len() <= MAX_SEARCH_LIST_CHARS);
        assert_eq!(dns.config.searches.len(), 8);
        assert_eq!(dns.events.len(), 1);
    }

    #[test]
    fn an_empty_result_copies_the_nodes_file_and_the_resolved_stub_is_seen_through() {
        assert_eq!(resolv_conf(&DnsConfig::default()), None);
        assert!(uses_resolved_stub(
            "nameserver 127.0.0.53\noptions edns0 trust-ad\n"
        ));
        assert!(!uses_resolved_stub("nameserver 10.255.255.53\n"));
        assert!(!uses_resolved_stub(""));
    }
}
