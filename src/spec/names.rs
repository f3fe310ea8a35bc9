//! Name rules of the Kubernetes API (`k8s.io/apimachinery/pkg/util/validation`).

/// RFC 1123 label: what pod, container, volume names and hostnames must be.
pub const DNS_LABEL_MAX: usize = 63;
/// IANA service name: what a port name must be.
pub const PORT_NAME_MAX: usize = 15;

/// At most 63 characters of `[a-z0-9-]`, starting and ending with a letter or digit.
pub fn is_dns_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name.len() <= DNS_LABEL_MAX
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// A DNS label close to `name`, to suggest in a hint (`My_App` → `my-app`).
pub fn suggest_dns_label(name: &str) -> Option<String> {
    let mapped: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let mut suggestion = mapped.trim_matches('-').to_string();
    suggestion.truncate(DNS_LABEL_MAX);
    let suggestion = suggestion.trim_end_matches('-').to_string();
    (is_dns_label(&suggestion) && suggestion != name).then_some(suggestion)
}

/// At most 15 characters of `[a-z0-9-]`, with a letter, no leading, trailing or double `-`.
pub fn is_port_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !name.is_empty()
        && name.len() <= PORT_NAME_MAX
        && bytes
            .iter()
            .all(|&b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && bytes.iter().any(u8::is_ascii_lowercase)
        && !name.starts_with('-')
        && !name.ends_with('-')
        && !name.contains("--")
}

/// `[-._a-zA-Z][-._a-zA-Z0-9]*`, the classic rule for environment variable names.
pub fn is_env_var_name(name: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_');
    let bytes = name.as_bytes();
    bytes.first().is_some_and(|&b| ok(b) && !b.is_ascii_digit()) && bytes.iter().all(|&b| ok(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        for good in ["a", "web", "web-1", "0abc", &"a".repeat(63)] {
            assert!(is_dns_label(good), "{good}");
        }
        for bad in [
            "",
            "Web",
            "-web",
            "web-",
            "we_b",
            "we.b",
            &"a".repeat(64),
            "ä",
        ] {
            assert!(!is_dns_label(bad), "{bad}");
        }
        assert_eq!(suggest_dns_label("My_App").as_deref(), Some("my-app"));
        assert_eq!(suggest_dns_label("-x-").as_deref(), Some("x"));
        assert_eq!(suggest_dns_label("___"), None);
    }

    #[test]
    fn port_and_env_names() {
        assert!(is_port_name("http"));
        assert!(is_port_name("http-2"));
        for bad in [
            "",
            "80",
            "HTTP",
            "-http",
            "http-",
            "ht--tp",
            "a-very-long-port-name",
        ] {
            assert!(!is_port_name(bad), "{bad}");
        }
        for good in ["PATH", "_x", "my.var", "a-b", "x1"] {
            assert!(is_env_var_name(good), "{good}");
        }
        for bad in ["", "1X", "A=B", "A B", "é"] {
            assert!(!is_env_var_name(bad), "{bad}");
        }
    }
}
