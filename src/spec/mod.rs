//! Pod manifests: parsing with source locations, API-server-style validation, quantities.

pub mod quantity;
pub mod types;
pub mod yaml;

pub use types::*;
