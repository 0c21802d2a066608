//! The `[limits]` section: what protects the server from expensive
//! requests, whichever adapter receives them.

use serde::{Deserialize, Serialize};

/// Limits that protect the server from expensive requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting of selections a query may have. Default 12.
    pub max_depth: usize,
    /// Largest complexity a query may have: each field costs 1, list fields
    /// multiply their children by `first`. Default 5,000.
    pub max_complexity: usize,
    /// Most aliases a request may use. Default 30.
    pub max_aliases: usize,
    /// Largest `first` (page size) of any list. Default 100.
    pub max_page_size: usize,
    /// Largest HTTP request body, in bytes. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_complexity: 5_000,
            max_aliases: 30,
            max_page_size: 100,
            max_body_bytes: 1 << 20,
        }
    }
}
