//! What a lesson names in its actions and checks: `web`, `pause`, `host`, `node`, `pod` or
//! `other-pod/web`.

use std::fmt;

/// Who a reference points at, once its pod is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The host's namespaces (those of PID 1).
    Host,
    /// The node's namespaces, where the pod's shim runs: the host's when podlab runs as root;
    /// without root, the user and net namespaces of the learner's podlab-node.
    Node,
    /// The pod's pause (Infra) process.
    Pause,
    /// The pod itself (its pod-level cgroup).
    Pod,
    Container(String),
}

/// A reference resolved to a pod name and a subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ref {
    pub pod: String,
    pub who: Who,
}

impl Ref {
    /// `text` is `name` (in `default_pod`) or `pod/name`.
    pub fn parse(text: &str, default_pod: &str) -> Ref {
        let (pod, name) = match text.split_once('/') {
            Some((pod, name)) => (pod, name),
            None => (default_pod, text),
        };
        let who = match name {
            "host" => Who::Host,
            "node" => Who::Node,
            "pause" => Who::Pause,
            "pod" => Who::Pod,
            other => Who::Container(other.to_string()),
        };
        Ref {
            pod: pod.to_string(),
            who,
        }
    }
}

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.who {
            // Names, not phrases: the same text reads in English and in Chinese.
            Who::Host => write!(f, "host"),
            Who::Node => write!(f, "node"),
            Who::Pause => write!(f, "{}/pause", self.pod),
            Who::Pod => write!(f, "{}/pod", self.pod),
            Who::Container(name) => write!(f, "{}/{name}", self.pod),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_and_qualified_names() {
        assert_eq!(
            Ref::parse("web", "demo"),
            Ref {
                pod: "demo".into(),
                who: Who::Container("web".into())
            }
        );
        assert_eq!(Ref::parse("other/pause", "demo").pod, "other");
        assert_eq!(Ref::parse("other/pause", "demo").who, Who::Pause);
        assert_eq!(Ref::parse("host", "demo").who, Who::Host);
        assert_eq!(Ref::parse("node", "demo").who, Who::Node);
        assert_eq!(Ref::parse("pod", "demo").to_string(), "demo/pod");
    }
}
