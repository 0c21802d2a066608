//! Jobs' results in GraphQL, one type per kind, and `analytics`: the
//! latest succeeded result of each kind, which is what dashboards read.

use async_graphql::{Context, Object, SimpleObject, Union, ID};

use super::error::ApiResult;
use super::genre::{FeatureSummary, SummaryObject};
use super::jobs::{jobs, JobKind, JobObject};
use super::listener::InteractionKindName;
use super::loader::load_track;
use super::query::GenreTrend;
use super::track::TrackObject;
use crate::domain::behaviour::{ArtistPlays, Behaviour, DayCount, SkipRate, TrackPlays};
use crate::domain::job::{Fingerprint, ModelSummary};
use crate::domain::{JobKind as Kind, JobResult};

/// A job's result, by kind.
#[derive(Union)]
#[graphql(name = "JobResult")]
pub enum JobResultUnion {
    GenreTrends(GenreTrendsResult),
    GenreFingerprints(GenreFingerprintsResult),
    ListenerBehaviour(ListenerBehaviourResult),
    CoOccurrenceModel(CoOccurrenceModelResult),
}

impl From<JobResult> for JobResultUnion {
    fn from(result: JobResult) -> Self {
        match result {
            JobResult::GenreTrends(rows) => JobResultUnion::GenreTrends(GenreTrendsResult {
                trends: rows.into_iter().map(GenreTrend::from).collect(),
            }),
            JobResult::GenreFingerprints(rows) => {
                JobResultUnion::GenreFingerprints(GenreFingerprintsResult {
                    genres: rows.into_iter().map(FingerprintObject).collect(),
                })
            }
            JobResult::ListenerBehaviour(b) => {
                JobResultUnion::ListenerBehaviour(ListenerBehaviourResult(b))
            }
            JobResult::CoOccurrenceModel(m) => {
                JobResultUnion::CoOccurrenceModel(CoOccurrenceModelResult(m))
            }
        }
    }
}

/// Genre trends by release year, sorted by genre, then year.
#[derive(SimpleObject)]
pub struct GenreTrendsResult {
    trends: Vec<GenreTrend>,
}

/// Genre fingerprints, sorted by genre.
#[derive(SimpleObject)]
pub struct GenreFingerprintsResult {
    genres: Vec<FingerprintObject>,
}

/// One genre's profile.
pub struct FingerprintObject(pub Fingerprint);

#[Object(name = "GenreFingerprint")]
impl FingerprintObject {
    async fn genre(&self) -> &str {
        &self.0.genre
    }
    async fn track_count(&self) -> usize {
        self.0.track_count
    }
    /// Popularity (0 to 100) of the tracks that have one.
    async fn popularity(&self) -> Option<SummaryObject> {
        self.0.popularity.map(SummaryObject)
    }
    /// Mean, spread and range of every audio feature the tracks know.
    async fn features(&self) -> Vec<FeatureSummary> {
        self.0
            .features
            .iter()
            .map(|(f, s)| FeatureSummary::new(*f, *s))
            .collect()
    }
}

/// Listener behaviour over the job's window of the interaction log.
pub struct ListenerBehaviourResult(Behaviour);

#[Object(name = "ListenerBehaviour")]
impl ListenerBehaviourResult {
    /// Interactions per UTC day and kind: a row without `genre` counts all
    /// of them, one with a genre those with the catalogue's tracks of that
    /// genre. Sorted by day, kind, genre.
    async fn days(&self) -> Vec<DayInteractions> {
        self.0.days.iter().cloned().map(DayInteractions).collect()
    }
    /// The most played tracks, most first (ties by id).
    async fn top_tracks(&self) -> Vec<PlayedTrack> {
        self.0.top_tracks.iter().cloned().map(PlayedTrack).collect()
    }
    /// The most played artists, most first (ties by name).
    async fn top_artists(&self) -> Vec<PlayedArtist> {
        self.0
            .top_artists
            .iter()
            .cloned()
            .map(PlayedArtist)
            .collect()
    }
    /// Plays, skips and `skips / (plays + skips)` per genre, by genre.
    async fn skip_rates(&self) -> Vec<GenreSkipRate> {
        self.0
            .skip_rates
            .iter()
            .cloned()
            .map(GenreSkipRate)
            .collect()
    }
}

/// Interactions of one kind on one day.
pub struct DayInteractions(DayCount);

#[Object]
impl DayInteractions {
    /// `YYYY-MM-DD`, UTC.
    async fn day(&self) -> &str {
        &self.0.day
    }
    async fn kind(&self) -> InteractionKindName {
        self.0.kind.into()
    }
    /// The genre (or subgenre); none for the day's total.
    async fn genre(&self) -> Option<&str> {
        self.0.genre.as_deref()
    }
    async fn count(&self) -> u64 {
        self.0.count
    }
}

/// A track and its plays.
pub struct PlayedTrack(TrackPlays);

#[Object]
impl PlayedTrack {
    async fn track_id(&self) -> ID {
        ID(self.0.track_id.to_string())
    }
    async fn plays(&self) -> u64 {
        self.0.plays
    }
    /// The track, unless it has left the catalogue since.
    async fn track(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<TrackObject>> {
        Ok(load_track(ctx, self.0.track_id).await?.map(TrackObject))
    }
}

/// An artist and the plays of their tracks.
pub struct PlayedArtist(ArtistPlays);

#[Object]
impl PlayedArtist {
    async fn artist(&self) -> &str {
        &self.0.artist
    }
    async fn plays(&self) -> u64 {
        self.0.plays
    }
}

/// How often a genre's tracks are skipped.
pub struct GenreSkipRate(SkipRate);

#[Object]
impl GenreSkipRate {
    async fn genre(&self) -> &str {
        &self.0.genre
    }
    async fn plays(&self) -> u64 {
        self.0.plays
    }
    async fn skips(&self) -> u64 {
        self.0.skips
    }
    /// `skips / (plays + skips)`, 0 to 1.
    async fn rate(&self) -> Option<f64> {
        self.0.rate
    }
}

/// A trained co-occurrence model.
pub struct CoOccurrenceModelResult(ModelSummary);

#[Object(name = "CoOccurrenceModel")]
impl CoOccurrenceModelResult {
    /// Tracks with at least one neighbour.
    async fn tracks(&self) -> usize {
        self.0.tracks
    }
    /// Neighbour entries in all.
    async fn pairs(&self) -> usize {
        self.0.pairs
    }
    /// Neighbours kept per track at most.
    async fn neighbours(&self) -> usize {
        self.0.neighbours
    }
}

/// The latest succeeded result of each job kind: what dashboards show.
/// Each field is empty (or null) until a job of its kind has succeeded.
#[derive(Default)]
pub struct Analytics;

/// The result of the newest succeeded job of `kind`, if any.
async fn latest(ctx: &Context<'_>, kind: Kind) -> async_graphql::Result<Option<JobResult>> {
    Ok(jobs(ctx).latest(kind).await.api()?.and_then(|j| j.result))
}

/// Whether `genre` is asked for (all when `wanted` is empty).
fn asked(wanted: &[String], genre: &str) -> bool {
    wanted.is_empty() || wanted.iter().any(|w| w.trim().eq_ignore_ascii_case(genre))
}

#[Object]
impl Analytics {
    /// The newest succeeded job of a kind (when, on which engine, with
    /// which parameters).
    async fn job(
        &self,
        ctx: &Context<'_>,
        kind: JobKind,
    ) -> async_graphql::Result<Option<JobObject>> {
        Ok(jobs(ctx).latest(kind.into()).await.api()?.map(JobObject))
    }

    /// Genre trends from the latest `GENRE_TRENDS` job, for `genres` (all
    /// the job computed when empty).
    async fn genre_trends(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] genres: Vec<String>,
    ) -> async_graphql::Result<Vec<GenreTrend>> {
        Ok(match latest(ctx, Kind::GenreTrends).await? {
            Some(JobResult::GenreTrends(rows)) => rows
                .into_iter()
                .filter(|r| asked(&genres, &r.genre))
                .map(GenreTrend::from)
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Genre fingerprints from the latest `GENRE_FINGERPRINTS` job.
    async fn genre_fingerprints(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] genres: Vec<String>,
    ) -> async_graphql::Result<Vec<FingerprintObject>> {
        Ok(match latest(ctx, Kind::GenreFingerprints).await? {
            Some(JobResult::GenreFingerprints(rows)) => rows
                .into_iter()
                .filter(|r| asked(&genres, &r.genre))
                .map(FingerprintObject)
                .collect(),
            _ => Vec::new(),
        })
    }

    /// Listener behaviour from the latest `LISTENER_BEHAVIOUR` job.
    async fn listener_behaviour(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<ListenerBehaviourResult>> {
        Ok(match latest(ctx, Kind::ListenerBehaviour).await? {
            Some(JobResult::ListenerBehaviour(b)) => Some(ListenerBehaviourResult(b)),
            _ => None,
        })
    }

    /// The id of the `CO_OCCURRENCE_MODEL` job whose model this server
    /// scores with (null: it scores from the playlists). Replicas on one
    /// store and lake load the newest within `[jobs] model_refresh_s`.
    async fn model_in_use(&self, ctx: &Context<'_>) -> Option<ID> {
        jobs(ctx).model_in_use().map(ID)
    }

    /// The latest `CO_OCCURRENCE_MODEL` job's model (see `modelInUse` for
    /// the one this server scores with).
    async fn co_occurrence_model(
        &self,
        ctx: &Context<'_>,
    ) -> async_graphql::Result<Option<CoOccurrenceModelResult>> {
        Ok(match latest(ctx, Kind::CoOccurrenceModel).await? {
            Some(JobResult::CoOccurrenceModel(m)) => Some(CoOccurrenceModelResult(m)),
            _ => None,
        })
    }
}
