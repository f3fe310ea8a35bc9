//! Kubernetes resource quantities (`250m`, `0.5`, `64Mi`, `1G`, `1e3`).

use serde::{Deserialize, Serialize};

/// A quantity as written in the manifest, with its exact value in milli-units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "serde_yaml::Value", into = "String")]
pub struct Quantity {
    text: String,
}

impl TryFrom<serde_yaml::Value> for Quantity {
    type Error = String;
    fn try_from(v: serde_yaml::Value) -> Result<Self, Self::Error> {
        match v {
            serde_yaml::Value::String(s) => Ok(Quantity { text: s }),
            serde_yaml::Value::Number(n) => Ok(Quantity {
                text: n.to_string(),
            }),
            _ => Err("expected a quantity such as 250m, 0.5, 64Mi or 1G".into()),
        }
    }
}

impl From<Quantity> for String {
    fn from(q: Quantity) -> String {
        q.text
    }
}
