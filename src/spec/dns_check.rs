//! The API server's checks of the names a pod gives its resolver (`pkg/apis/core/validation`):
//!
//! * `dnsPolicy: None` and `dnsConfig` (`validatePodDNSConfig`): at most 3 nameservers, each an
//!   IP address; at most 32 search domains of at most 2048 characters in all, each a DNS
//!   subdomain (underscores allowed, as RelaxedDNSSearchValidation allows them since 1.32);
//!   every option named.
//! * `hostAliases` (`ValidateHostAliases`): an IP address and DNS subdomains.

use crate::i18n::Text;
use crate::kube::dns::{MAX_NAMESERVERS, MAX_SEARCH_LIST_CHARS, MAX_SEARCH_PATHS};

use super::types::{DnsPolicy, PodSpec};
use super::validate::Violation;
use super::yaml::FieldPath;

pub fn check(spec: &PodSpec) -> Vec<Violation> {
    let mut out = Vec::new();
    let at = FieldPath::root().key("spec").key("dnsConfig");
    let mut add = |path: FieldPath, en: String, zh: String, expected: &str, expected_zh: &str| {
        out.push(Violation {
            path,
            message: Text::new(en, zh),
            expected: Some(Text::new(expected, expected_zh)),
            hint: None,
        })
    };
    for (i, alias) in spec.host_aliases.iter().enumerate() {
        let at = FieldPath::root().key("spec").key("hostAliases").index(i);
        if alias.ip.parse::<std::net::IpAddr>().is_err() {
            add(
                at.key("ip"),
                format!("{:?} is not an IP address", alias.ip),
                format!("{:?} 不是 IP 地址", alias.ip),
                "an IPv4 or IPv6 address such as 10.0.0.10",
                "IPv4 或 IPv6 地址，例如 10.0.0.10",
            );
        }
        for (j, name) in alias.hostnames.iter().enumerate() {
            if !is_subdomain(name, false) {
                add(
                    at.key("hostnames").index(j),
                    format!("{name:?} is not a DNS name"),
                    format!("{name:?} 不是 DNS 名称"),
                    "lowercase letters, digits and '-' in dot-separated labels, such as db.local",
                    "用点分隔的标签，由小写字母、数字和 '-' 组成，例如 db.local",
                );
            }
        }
    }
    let none = spec.dns_policy == Some(DnsPolicy::None);
    let Some(config) = &spec.dns_config else {
        if none {
            add(
                FieldPath::root().key("spec").key("dnsPolicy"),
                "dnsPolicy None needs a dnsConfig".into(),
                "dnsPolicy 为 None 时必须提供 dnsConfig".into(),
                "a dnsConfig with at least one nameserver",
                "至少含一个 nameserver 的 dnsConfig",
            );
        }
        return out;
    };
    if none && config.nameservers.is_empty() {
        add(
            at.clone(),
            "dnsPolicy None needs at least one nameserver in dnsConfig".into(),
            "dnsPolicy 为 None 时，dnsConfig 里至少要有一个 nameserver".into(),
            "nameservers: [an IP address]",
            "nameservers: [一个 IP 地址]",
        );
    }
    if config.nameservers.len() > MAX_NAMESERVERS {
        add(
            at.key("nameservers"),
            format!(
                "{} nameservers are more than {MAX_NAMESERVERS}",
                config.nameservers.len()
            ),
            format!(
                "{} 个 nameserver 超过了 {MAX_NAMESERVERS} 个",
                config.nameservers.len()
            ),
            "at most 3 nameservers",
            "最多 3 个 nameserver",
        );
    }
    for (i, server) in config.nameservers.iter().enumerate() {
        if server.parse::<std::net::IpAddr>().is_err() {
            add(
                at.key("nameservers").index(i),
                format!("{server:?} is not an IP address"),
                format!("{server:?} 不是 IP 地址"),
                "an IPv4 or IPv6 address such as 10.0.0.10",
                "IPv4 或 IPv6 地址，例如 10.0.0.10",
            );
        }
    }
    if config.searches.len() > MAX_SEARCH_PATHS {
        add(
            at.key("searches"),
            format!(
                "{} search domains are more than {MAX_SEARCH_PATHS}",
                config.searches.len()
            ),
            format!(
                "{} 个搜索域超过了 {MAX_SEARCH_PATHS} 个",
                config.searches.len()
            ),
            "at most 32 search domains",
            "最多 32 个搜索域",
        );
    }
    let chars = config.searches.join(" ").len();
    if chars > MAX_SEARCH_LIST_CHARS {
        add(
            at.key("searches"),
            format!("the search list has {chars} characters (spaces included), more than {MAX_SEARCH_LIST_CHARS}"),
            format!("搜索域列表有 {chars} 个字符（含空格），超过了 {MAX_SEARCH_LIST_CHARS}"),
            "at most 2048 characters",
            "最多 2048 个字符",
        );
    }
    for (i, search) in config.searches.iter().enumerate() {
        if !is_search_domain(search) {
            add(
                at.key("searches").index(i),
                format!("{search:?} is not a DNS domain"),
                format!("{search:?} 不是 DNS 域名"),
                "lowercase letters, digits, '-' and '_' in dot-separated labels, such as ns1.svc.cluster.local",
                "用点分隔的标签，由小写字母、数字、'-' 和 '_' 组成，例如 ns1.svc.cluster.local",
            );
        }
    }
    for (i, option) in config.options.iter().enumerate() {
        if option.name.is_empty() {
            add(
                at.key("options").index(i),
                "a DNS option has no name".into(),
                "DNS 选项没有名字".into(),
                "name: ndots (and a value: \"2\")",
                "name: ndots（以及 value: \"2\"）",
            );
        }
    }
    out
}

/// A DNS-1123 subdomain that may hold underscores, with an optional trailing dot; `.` alone
/// is allowed too.
fn is_search_domain(search: &str) -> bool {
    search == "." || is_subdomain(search.strip_suffix('.').unwrap_or(search), true)
}

/// A DNS-1123 subdomain (with `underscore`, labels may hold '_').
fn is_subdomain(name: &str, underscore: bool) -> bool {
    let label_ok = |label: &str| {
        let b = label.as_bytes();
        let edge =
            |c: &u8| c.is_ascii_lowercase() || c.is_ascii_digit() || (underscore && *c == b'_');
        !b.is_empty()
            && b.first().is_some_and(edge)
            && b.last().is_some_and(edge)
            && b.iter().all(|c| edge(c) || *c == b'-')
    };
    !name.is_empty() && name.len() <= 253 && name.split('.').all(label_ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_domains_are_subdomains_with_underscores_allowed() {
        for good in ["cluster.local", "a.b.", "_srv.example", ".", "x-1.y"] {
            assert!(is_search_domain(good), "{good}");
        }
        for bad in ["", "..", "Upper.case", "-a.b", "a..b", "a b"] {
            assert!(!is_search_domain(bad), "{bad}");
        }
    }
}
