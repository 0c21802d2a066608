//! The query root. Each resolver takes its arguments apart, makes one call
//! into the service and converts the answer; logic lives below.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{Context, Object, SimpleObject, ID};

use super::error::{invalid, ApiResult};
use super::features::{FeatureName, FeaturesInput};
use super::genre::{GenreLevel, GenreObject};
use super::ingest::IngestStatusObject;
use super::inputs::{page_size, parse_id, parse_ids, TasteSeedInput, TrackFilterInput};
use super::loader::{load_track, load_tracks};
use super::recommendation::{GenreSuggestionObject, SimilarTrack};
use super::track::{selected_parts, TrackObject};
use super::{ingest_status, limits, service};
use crate::catalog::Seed;
use crate::domain::{TrackId, TrendQuery, YearTrend};
use crate::error::Error;
use crate::service::CatalogInfo;

/// Read-only queries over the catalog.
#[derive(Default)]
pub struct CatalogQuery;

/// Longest wait `ingested` accepts, in milliseconds.
const MAX_WAIT_MS: i32 = 30_000;

/// The tracks of a listing, with the total count of matches.
#[derive(SimpleObject)]
pub struct TrackConnectionFields {
    /// Number of tracks matching the filter, over all pages.
    total_count: usize,
}

#[Object]
impl CatalogQuery {
    /// One track by its Spotify id. Unknown ids give `TRACK_NOT_FOUND`.
    async fn track(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<TrackObject>> {
        let id = parse_id(&id).api()?;
        match load_track(ctx, id).await? {
            Some(track) => Ok(Some(TrackObject(track))),
            None => Err(Error::TrackNotFound(id)).api(),
        }
    }

    /// Tracks by id, in the order asked; unknown ids are skipped.
    #[graphql(complexity = "ids.len() * child_complexity")]
    async fn tracks_by_ids(
        &self,
        ctx: &Context<'_>,
        ids: Vec<ID>,
    ) -> async_graphql::Result<Vec<TrackObject>> {
        let max = limits(ctx).max_page_size;
        if ids.len() > max {
            return Err(invalid(format!("at most {max} ids per request")));
        }
        let ids = parse_ids(ids).api()?;
        let found = load_tracks(ctx, &ids).await?;
        Ok(ids
            .iter()
            .filter_map(|id| found.get(id).cloned().map(TrackObject))
            .collect())
    }

    /// Tracks matching a filter, in track-id order, as a Relay cursor
    /// connection. `after` is the cursor of the last edge already seen.
    #[graphql(complexity = "first as usize * child_complexity")]
    async fn tracks(
        &self,
        ctx: &Context<'_>,
        filter: Option<TrackFilterInput>,
        #[graphql(default = 20)] first: i32,
        after: Option<String>,
    ) -> async_graphql::Result<Connection<String, TrackObject, TrackConnectionFields>> {
        let first = page_size(ctx, first, "first")?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let after = after
            .map(|c| TrackId::parse(&c).map_err(|_| invalid(format!("invalid cursor {c:?}"))))
            .transpose()?;
        let page = service(ctx).page(filter, after, first).await.api()?;
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            page.more,
            TrackConnectionFields {
                total_count: page.total,
            },
        );
        connection.edges.extend(
            page.tracks
                .into_iter()
                .map(|t| Edge::new(t.id.to_string(), TrackObject(t))),
        );
        Ok(connection)
    }

    /// Tracks whose title or an artist's name contains `text`
    /// (case-insensitive), best match first: titles that start with it,
    /// titles that contain it, then artists; popular tracks first within
    /// each. For search boxes: it scans the catalogue (about 1 ms per
    /// 10,000 tracks). Blank text gives `INVALID_ARGUMENT`.
    #[graphql(complexity = "first as usize * child_complexity")]
    async fn search_tracks(
        &self,
        ctx: &Context<'_>,
        text: String,
        #[graphql(default = 10)] first: i32,
    ) -> async_graphql::Result<Vec<TrackObject>> {
        let first = page_size(ctx, first, "first")?;
        let found = service(ctx).search_tracks(&text, first).await.api()?;
        Ok(found.into_iter().map(TrackObject).collect())
    }

    /// Every genre (or subgenre) with its profile, sorted by name.
    async fn genres(
        &self,
        ctx: &Context<'_>,
        #[graphql(default)] level: GenreLevel,
    ) -> async_graphql::Result<Vec<GenreObject>> {
        let all = service(ctx).genre_profiles(level.into()).await.api()?;
        Ok(all.iter().cloned().map(GenreObject).collect())
    }

    /// One genre (or subgenre) by name, case-insensitive. Unknown names give
    /// `GENRE_NOT_FOUND`.
    async fn genre(
        &self,
        ctx: &Context<'_>,
        name: String,
        #[graphql(default)] level: GenreLevel,
    ) -> async_graphql::Result<Option<GenreObject>> {
        let found = service(ctx).genre(&name, level.into()).await.api()?;
        Ok(Some(GenreObject(found)))
    }

    /// The tracks nearest a seed, nearest first: give exactly one of
    /// `trackId` (the track itself is never returned) or `features` (target
    /// values; omitted features count as the catalog average). The filter is
    /// applied during the index search, so `first` results come back
    /// whenever that many tracks match.
    #[graphql(complexity = "first as usize * child_complexity")]
    async fn similar(
        &self,
        ctx: &Context<'_>,
        track_id: Option<ID>,
        features: Option<FeaturesInput>,
        #[graphql(default = 10)] first: i32,
        filter: Option<TrackFilterInput>,
    ) -> async_graphql::Result<Vec<SimilarTrack>> {
        let first = page_size(ctx, first, "first")?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let seed = match (track_id, features) {
            (Some(id), None) => Seed::Track(parse_id(&id).api()?),
            (None, Some(f)) => Seed::Features(f.into_domain().api()?),
            _ => return Err(invalid("give exactly one of trackId and features")),
        };
        let parts = selected_parts(ctx.look_ahead().field("track"));
        let found = service(ctx)
            .similar(seed, first, filter, parts)
            .await
            .api()?;
        Ok(found.into_iter().map(SimilarTrack).collect())
    }

    /// Genres the seed does not contain yet, ranked by how close their
    /// nearest tracks lie to the seed's taste, each with the `evidence`
    /// tracks that make its case.
    #[graphql(complexity = "first as usize * evidence as usize * child_complexity")]
    async fn discover_genres(
        &self,
        ctx: &Context<'_>,
        seed: TasteSeedInput,
        #[graphql(default = 5)] first: i32,
        #[graphql(default)] level: GenreLevel,
        #[graphql(default = 3)] evidence: i32,
    ) -> async_graphql::Result<Vec<GenreSuggestionObject>> {
        let first = page_size(ctx, first, "first")?;
        if !(1..=20).contains(&evidence) {
            return Err(invalid("evidence must lie within 1..=20"));
        }
        let seed = seed.into_domain().api()?;
        let found = service(ctx)
            .discover_genres(seed, first, level.into(), evidence as usize)
            .await
            .api()?;
        Ok(found.into_iter().map(GenreSuggestionObject::from).collect())
    }

    /// Per genre and release year: track count, mean popularity and the
    /// mean of each audio feature, for trend dashboards. `genres` empty or
    /// absent means every genre; `from` and `to` bound the release years
    /// (inclusive). Computed by MongoDB aggregations when MongoDB is the
    /// store, over the in-memory catalog otherwise.
    async fn genre_trends(
        &self,
        ctx: &Context<'_>,
        genres: Option<Vec<String>>,
        from: Option<i32>,
        to: Option<i32>,
        #[graphql(default)] level: GenreLevel,
    ) -> async_graphql::Result<Vec<GenreTrend>> {
        let year = |y: Option<i32>| {
            y.map(|y| u16::try_from(y).ok().filter(|y| *y <= 9999))
                .map(|y| y.ok_or_else(|| invalid("years lie within 0..=9999")))
                .transpose()
        };
        let query = TrendQuery {
            level: level.into(),
            genres: genres
                .unwrap_or_default()
                .iter()
                .map(|g| g.trim().to_lowercase())
                .collect(),
            from: year(from)?,
            to: year(to)?,
        };
        if let (Some(f), Some(t)) = (query.from, query.to) {
            if f > t {
                return Err(invalid(format!("year range {f}..{t} is empty")));
            }
        }
        let trends = service(ctx).genre_trends(query).await.api()?;
        Ok(trends.into_iter().map(GenreTrend::from).collect())
    }

    /// The state of streaming ingest from Kafka: applied messages, dead
    /// letters, lag, freshness and broker health.
    async fn ingest_status(&self, ctx: &Context<'_>) -> IngestStatusObject {
        ingest_status(ctx).snapshot().into()
    }

    /// Whether the Kafka message at `offset` of `partition` of the tracks
    /// topic has been applied (its track stored and searchable, or the
    /// message dead-lettered). Waits up to `waitMs` (at most 30,000) for it
    /// first, so a producer can hold its next read until its write shows:
    /// give the partition and offset the broker acknowledged. Answers
    /// `NOT_CONFIGURED` on a server that consumes no topic.
    async fn ingested(
        &self,
        ctx: &Context<'_>,
        partition: i32,
        offset: i64,
        #[graphql(default = 0)] wait_ms: i32,
    ) -> async_graphql::Result<bool> {
        let status = ingest_status(ctx);
        if !status.enabled() {
            return Err(Error::NotConfigured(
                "this server consumes no Kafka topic".into(),
            ))
            .api();
        }
        if !(0..=MAX_WAIT_MS).contains(&wait_ms) || partition < 0 || offset < 0 {
            return Err(invalid(format!(
                "partition and offset must not be negative, waitMs must lie within 0..={MAX_WAIT_MS}"
            )));
        }
        let wait = std::time::Duration::from_millis(wait_ms as u64);
        Ok(status.wait_applied(partition, offset, wait).await)
    }

    /// Size of the catalog and the state of its index, for operators.
    async fn catalog(&self, ctx: &Context<'_>) -> CatalogInfoObject {
        CatalogInfoObject(service(ctx).catalog_info())
    }
}

/// One genre in one release year.
#[derive(SimpleObject)]
pub struct GenreTrend {
    genre: String,
    year: i32,
    track_count: usize,
    /// Mean popularity (0 to 100) of the tracks that have one.
    popularity: Option<f64>,
    /// Mean of each audio feature, in the feature's units.
    features: Vec<FeatureMean>,
}

/// The mean of one feature.
#[derive(SimpleObject)]
pub struct FeatureMean {
    feature: FeatureName,
    mean: f64,
}

impl From<YearTrend> for GenreTrend {
    fn from(t: YearTrend) -> Self {
        GenreTrend {
            genre: t.genre,
            year: i32::from(t.year),
            track_count: t.track_count,
            popularity: t.popularity,
            features: t
                .features
                .into_iter()
                .map(|(f, mean)| FeatureMean {
                    feature: f.into(),
                    mean,
                })
                .collect(),
        }
    }
}

/// The catalog's size and the state of its vector index.
pub struct CatalogInfoObject(CatalogInfo);

/// The catalog's size and the state of its vector index.
#[Object(name = "CatalogInfo")]
impl CatalogInfoObject {
    /// Tracks in the catalog.
    async fn tracks(&self) -> usize {
        self.0.tracks
    }
    /// Live vectors in the index (equals `tracks`).
    async fn indexed(&self) -> usize {
        self.0.indexed
    }
    /// Deleted or replaced vectors awaiting compaction.
    async fn tombstones(&self) -> usize {
        self.0.tombstones
    }
    /// Vectors not yet in the HNSW graph: the pending tail, which every
    /// search scans exactly until the background catch-up inserts them
    /// (tombstoned ones included).
    async fn pending(&self) -> usize {
        self.0.pending
    }
    /// Dimensions of the feature space.
    async fn dimensions(&self) -> usize {
        self.0.dimensions
    }
    /// Version of the feature space the vectors were made with.
    async fn feature_space_version(&self) -> i32 {
        self.0.feature_space_version as i32
    }
}
