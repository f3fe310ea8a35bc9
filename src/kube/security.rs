//! kubelet's security rules for a container, pure: what its securityContext asks the runtime
//! for (`pkg/securitycontext/util.go`, `pkg/kubelet/kuberuntime/security_context.go`).

use crate::spec::SecurityContext;

/// kubelet's `AddNoNewPrivileges`: no_new_privs only when the container says
/// `allowPrivilegeEscalation: false`. Unset (the usual case) means a container runs without it,
/// so a setuid binary inside still works.
pub fn no_new_privs(sc: Option<&SecurityContext>) -> bool {
    sc.and_then(|sc| sc.allow_privilege_escalation) == Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_new_privs_only_when_escalation_is_forbidden() {
        let with = |allow| SecurityContext {
            allow_privilege_escalation: allow,
            ..SecurityContext::default()
        };
        assert!(!no_new_privs(None));
        assert!(!no_new_privs(Some(&with(None))));
        assert!(!no_new_privs(Some(&with(Some(true)))));
        assert!(no_new_privs(Some(&with(Some(false)))));
    }
}
