//! Pod manifests: parsing with source locations, API-server-style validation, quantities.
//!
//! `load_pod_file`/`parse_pod` are the entry points; `yaml` is the one door to YAML for
//! the whole project.

mod dns_check;
mod env_check;
mod error;
pub mod names;
mod parse;
pub mod quantity;
pub mod seccomp;
pub mod types;
pub mod validate;
pub mod yaml;

pub use error::{Problem, SpecError, Warning};
pub use parse::{load_pod_file, parse_pod, LoadedPod};
pub use quantity::{Quantity, QuantityError};
pub use types::*;
pub use yaml::{FieldPath, Location};
