//! The domain core: tracks, audio features, the feature space, filters,
//! genre analytics and the scoring behind recommendations. No I/O here:
//! everything is plain data and functions, unit-tested without a runtime.

pub mod behaviour;
pub mod bounds;
pub mod cooccurrence;
mod error;
pub mod feature;
pub mod feature_space;
pub mod filter;
pub mod genre;
pub mod job;
pub mod listener;
pub mod neighbours;
pub mod recommend;
mod release_date;
pub mod text_search;
pub mod track;
mod track_id;

pub use cooccurrence::CoOccurrence;
pub use error::{DomainError, Result};
pub use feature::{AudioFeatures, Feature, FeatureKind, FeatureValues, RawFeatures};
pub use feature_space::{Explanation, FeatureComparison, FeatureSpace};
pub use filter::TrackFilter;
pub use genre::{GenreLevel, GenreProfile, Summary, TrendQuery, YearTrend};
pub use job::{
    EngineKind, JobFailure, JobFilter, JobKind, JobParams, JobProgress, JobRecord, JobResult,
    JobState,
};
pub use listener::{Interaction, InteractionKind, Leaning, ListenerProfile, TrackSignal, UserId};
pub use neighbours::Neighbours;
pub use recommend::{RecommendQuery, Seeds};
pub use track::{Album, Playlist, ReleaseDate, Track, TrackFields, TrackId, TrackParts};
