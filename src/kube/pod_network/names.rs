//! Interface names: the host end of a pod's veth pair is named after the pod, `pl-<name>`.

/// Linux limits interface names to 15 bytes (IFNAMSIZ 16 with the NUL).
pub const IFNAME_MAX: usize = 15;
/// Every host-side veth podlab makes starts with this, so gc can find them.
pub const VETH_PREFIX: &str = "pl-";
/// How much of the pod name the host veth keeps.
const POD_NAME_CHARS: usize = IFNAME_MAX - VETH_PREFIX.len();

/// The host veth name for `pod_name` that is not in `taken`: `pl-` + up to 12 characters of the
/// pod name; on a collision the name is shortened and `-2`, `-3`, … appended.
pub fn host_veth_name(pod_name: &str, taken: &dyn Fn(&str) -> bool) -> Option<String> {
    let base = sanitize(pod_name);
    let first = format!("{VETH_PREFIX}{}", truncate(&base, POD_NAME_CHARS));
    if !taken(&first) {
        return Some(first);
    }
    (2..10_000u32).find_map(|n| {
        let suffix = format!("-{n}");
        let name = format!(
            "{VETH_PREFIX}{}{suffix}",
            truncate(&base, POD_NAME_CHARS - suffix.len())
        );
        (!taken(&name)).then_some(name)
    })
}

/// Keep what interface names allow and `ip` prints plainly: lowercase letters, digits, `-`
/// and `.` (a Kubernetes pod name is a DNS subdomain, so this is usually the name itself).
fn sanitize(pod_name: &str) -> String {
    let cleaned: String = pod_name
        .chars()
        .map(|c| c.to_ascii_lowercase())
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if cleaned.is_empty() {
        "pod".to_string()
    } else {
        cleaned
    }
}

fn truncate(s: &str, max: usize) -> &str {
    // sanitize() leaves only ASCII, so every byte index is a char boundary.
    &s[..s.len().min(max)]
}

/// Whether `name` can be a Linux interface name.
pub fn is_valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= IFNAME_MAX
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn none_taken(_: &str) -> bool {
        false
    }

    #[test]
    fn short_names_are_kept() {
        assert_eq!(
            host_veth_name("web", &none_taken).as_deref(),
            Some("pl-web")
        );
    }

    #[test]
    fn long_names_are_cut_to_fifteen_bytes() {
        let name =
            host_veth_name("nginx-deployment-7c5ddbdf54-x2x9k", &none_taken).expect("a name");
        assert_eq!(name, "pl-nginx-deploy");
        assert_eq!(name.len(), IFNAME_MAX);
    }

    #[test]
    fn collisions_get_a_number() {
        let taken = |n: &str| n == "pl-nginx-deploy" || n == "pl-nginx-depl-2";
        assert_eq!(
            host_veth_name("nginx-deployment-a", &taken).as_deref(),
            Some("pl-nginx-depl-3")
        );
        let taken = |n: &str| n == "pl-web";
        assert_eq!(host_veth_name("web", &taken).as_deref(), Some("pl-web-2"));
    }

    #[test]
    fn odd_characters_are_replaced() {
        assert_eq!(
            host_veth_name("Web App/1", &none_taken).as_deref(),
            Some("pl-web-app-1")
        );
        assert_eq!(host_veth_name("", &none_taken).as_deref(), Some("pl-pod"));
        assert_eq!(
            host_veth_name("网页", &none_taken).as_deref(),
            Some("pl---")
        );
    }

    #[test]
    fn valid_ifnames() {
        assert!(is_valid_ifname("podlab0"));
        assert!(!is_valid_ifname("a-name-that-is-too-long"));
        assert!(!is_valid_ifname("a b"));
        assert!(!is_valid_ifname(""));
        assert!(!is_valid_ifname("a/b"));
    }
}
