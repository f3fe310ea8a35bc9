//! `--network`: who wires a pod's network, and the network config that choice gives.

use eyre::{eyre, Result};

use super::{Config, Mode};

/// Who wires the pod's network: podlab's own netlink code, the installed CNI plugins, or
/// nothing but loopback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NetworkChoice {
    Native,
    Cni,
    None,
}

impl NetworkChoice {
    /// The config the shim wires the pod with (None: loopback only), in `pod_cidr` when given
    /// (`--pod-cidr`), else in containerd's default range. CNI mode needs the plugins installed.
    pub fn config(self, pod_cidr: Option<&str>) -> Result<Option<Config>> {
        let mut cfg = Config::default();
        if let Some(cidr) = pod_cidr {
            cfg.cidr = cidr.parse().map_err(|e| eyre!("--pod-cidr {cidr}: {e}"))?;
        }
        match self {
            NetworkChoice::None => return Ok(None),
            NetworkChoice::Native => {}
            NetworkChoice::Cni => {
                cfg.mode = Mode::cni_if_installed().ok_or_else(|| {
                    eyre!(
                        "--network cni needs the CNI plugins bridge, host-local and loopback in /opt/cni/bin or /usr/lib/cni (Debian/Ubuntu: apt-get install containernetworking-plugins)"
                    )
                })?;
            }
        }
        Ok(Some(cfg))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_gives_its_config() {
        assert_eq!(NetworkChoice::None.config(None).expect("none"), None);
        assert_eq!(
            NetworkChoice::Native.config(None).expect("native"),
            Some(Config::default())
        );
        let cfg = NetworkChoice::Native
            .config(Some("10.99.0.0/16"))
            .expect("native in another range")
            .expect("a config");
        assert_eq!(cfg.cidr.to_string(), "10.99.0.0/16");
        assert_eq!(cfg.mode, Mode::Native);
        assert!(NetworkChoice::Native.config(Some("10.99.0.0/99")).is_err());
    }
}
