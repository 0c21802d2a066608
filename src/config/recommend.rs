//! The `[recommend]` section: how recommendations blend their signals.

use serde::{Deserialize, Serialize};

/// How recommendations blend their signals (`[recommend]` in the
/// configuration).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendSettings {
    /// Share of playlist co-occurrence, against audio similarity, in
    /// `recommendForPlaylist` and `recommendForUser`, 0 to 1. The default,
    /// 0.9, is the best NDCG@50 of `timbre evaluate` on the shared dataset
    /// (docs/EVALUATION.md): co-occurrence does the ranking, and audio
    /// similarity breaks its many near-ties and brings in tracks no
    /// playlist relates yet. Every weight from 0.5 to 0.95 scores within
    /// noise of it; 1 (no audio) and 0.25 or less score clearly worse.
    pub blend_weight: f32,
}

impl Default for RecommendSettings {
    fn default() -> Self {
        RecommendSettings { blend_weight: 0.9 }
    }
}
