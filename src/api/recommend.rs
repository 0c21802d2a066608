//! `recommend` and `recommendForPlaylist`: their inputs, result objects and
//! resolvers. The logic lives in `catalog::recommend` and
//! `catalog::playlist`; this file only converts.

use std::sync::Arc;

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};

use super::error::{invalid, ApiResult};
use super::features::{FeatureShiftInput, FeaturesInput};
use super::inputs::{page_size, parse_ids, TasteSeedInput, TrackFilterInput};
use super::recommendation::Explanation;
use super::track::{selected_parts, TrackObject};
use super::{limits, service};
use crate::catalog::{Continuation, PlaylistSeed, Recommendation, SeedRef};
use crate::domain::{FeatureValues, RecommendQuery, TrackFilter};
use crate::error::Error;

/// `recommend` and `recommendForPlaylist`.
#[derive(Default)]
pub struct RecommendQueries;

/// What to recommend: any mix of seeds, targets, bounds and filters, the
/// way Spotify's `/recommendations` took `seed_*`, `target_*`, `min_*` and
/// `max_*`.
#[derive(InputObject, Default)]
pub struct RecommendInput {
    /// Recommend like these. At most 50 entries.
    pub seeds: Option<TasteSeedInput>,
    /// Steer away from these (negative seeds). At most 50 entries.
    pub avoid: Option<TasteSeedInput>,
    /// Values the results should have: they replace what the seeds say
    /// about these features ("tempo 128").
    pub target: Option<FeaturesInput>,
    /// Changes to the seeds' values, in each feature's unit ("energy +0.2":
    /// like these, but more energetic).
    pub shift: Option<FeatureShiftInput>,
    /// Lowest value of each feature a result may have (inclusive).
    pub min: Option<FeaturesInput>,
    /// Highest value of each feature a result may have (inclusive).
    pub max: Option<FeaturesInput>,
    /// Which tracks may be returned; applied during the index search, so the
    /// list is full whenever enough tracks match.
    pub filter: Option<TrackFilterInput>,
    /// Most results by one main artist.
    pub max_per_artist: Option<i32>,
    /// Diversity by maximal marginal relevance, 0 to 1: 0 (the default)
    /// ranks by relevance alone; higher values trade relevance for results
    /// that differ from those above them.
    #[graphql(default = 0.0)]
    pub diversity: f64,
    /// Number of results.
    #[graphql(default = 10)]
    pub first: i32,
}

impl RecommendInput {
    /// The domain query.
    ///
    /// # Errors
    /// [`Error::Invalid`] for any malformed part.
    fn into_domain(self, max_page: usize) -> crate::error::Result<RecommendQuery> {
        if self.first < 1 || self.first as usize > max_page {
            return Err(Error::invalid(format!(
                "first must lie within 1..={max_page}, got {}",
                self.first
            )));
        }
        let values = |f: Option<FeaturesInput>| -> crate::error::Result<FeatureValues> {
            f.map(FeaturesInput::into_domain)
                .transpose()
                .map(Option::unwrap_or_default)
        };
        let mut filter = self.filter.unwrap_or_default().into_domain()?;
        let (min, max) = (values(self.min)?, values(self.max)?);
        for (bound, (lo, hi)) in filter.features.iter_mut().zip(min.iter().zip(&max)) {
            *bound = (*lo, *hi);
        }
        Ok(RecommendQuery {
            seeds: self.seeds.unwrap_or_default().into_domain()?,
            avoid: self.avoid.unwrap_or_default().into_domain()?,
            target: values(self.target)?,
            shift: self.shift.unwrap_or_default().into_domain()?,
            filter: TrackFilter::new(filter)?,
            max_per_artist: self
                .max_per_artist
                .map(|n| {
                    usize::try_from(n)
                        .ok()
                        .filter(|n| *n >= 1)
                        .ok_or_else(|| Error::invalid("maxPerArtist must be at least 1"))
                })
                .transpose()?,
            diversity: self.diversity as f32,
            first: self.first as usize,
        })
    }
}

#[Object]
impl RecommendQueries {
    /// Tracks recommended from seeds, targets and filters, best first, each
    /// with the seed it lies closest to and why. See `RecommendInput`.
    #[graphql(complexity = "10 * child_complexity")]
    async fn recommend(
        &self,
        ctx: &Context<'_>,
        input: RecommendInput,
    ) -> async_graphql::Result<Vec<RecommendedTrack>> {
        let query = input.into_domain(limits(ctx).max_page_size).api()?;
        let parts = selected_parts(ctx.look_ahead().field("track"));
        let found = service(ctx).recommend(query, parts).await.api()?;
        Ok(found.into_iter().map(RecommendedTrack).collect())
    }

    /// Tracks to add to a playlist, best first: give exactly one of
    /// `playlistId` (a playlist of the catalog) or `trackIds` (any set of
    /// tracks). Never returns a track the playlist already holds. Blends
    /// playlist co-occurrence with audio similarity (`recommend.blend_weight`
    /// in the configuration); falls back to popularity when no track of the
    /// playlist is known.
    #[graphql(complexity = "first as usize * child_complexity")]
    async fn recommend_for_playlist(
        &self,
        ctx: &Context<'_>,
        playlist_id: Option<ID>,
        track_ids: Option<Vec<ID>>,
        #[graphql(default = 10)] first: i32,
        filter: Option<TrackFilterInput>,
    ) -> async_graphql::Result<Vec<BlendedTrack>> {
        let first = page_size(ctx, first, "first")?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let seeds = match (playlist_id, track_ids) {
            (Some(id), None) => PlaylistSeed::Playlist(id.to_string()),
            (None, Some(ids)) if !ids.is_empty() && ids.len() <= 500 => {
                PlaylistSeed::Tracks(parse_ids(ids).api()?)
            }
            (None, Some(_)) => return Err(invalid("trackIds must hold 1 to 500 ids")),
            _ => return Err(invalid("give exactly one of playlistId and trackIds")),
        };
        let found = service(ctx)
            .continue_playlist(seeds, first, filter)
            .await
            .api()?;
        Ok(found.into_iter().map(BlendedTrack).collect())
    }
}

/// A recommended track, the seed it is closest to, and why.
pub struct RecommendedTrack(pub Recommendation);

#[Object(name = "Recommendation")]
impl RecommendedTrack {
    async fn track(&self) -> TrackObject {
        TrackObject(Arc::clone(&self.0.neighbour.track))
    }
    /// Similarity to the request's taste, in (0, 1]: 1 / (1 + distance).
    async fn score(&self) -> f32 {
        self.0.neighbour.score
    }
    /// Euclidean distance to the request's taste in the feature space.
    async fn distance(&self) -> f32 {
        self.0.neighbour.distance
    }
    /// The seed this track lies closest to.
    async fn because(&self) -> SeedReference {
        SeedReference::from(&self.0.because)
    }
    /// How the track's features compare with that seed's (after `shift`
    /// and `target`), in the features' own units.
    async fn explanation(&self) -> Explanation {
        Explanation::of(&self.0.neighbour)
    }
}

/// A seed, as a result refers to it.
#[derive(SimpleObject)]
pub struct SeedReference {
    kind: SeedKindName,
    /// "Title by Artist", the album's or artist's name, the genre, or the
    /// feature values given.
    name: String,
    /// The track or album id, where there is one.
    id: Option<String>,
}

impl From<&SeedRef> for SeedReference {
    fn from(s: &SeedRef) -> Self {
        SeedReference {
            kind: s.kind.into(),
            name: s.name.clone(),
            id: s.id.clone(),
        }
    }
}

/// What kind of seed.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "SeedKind", remote = "crate::catalog::SeedKind")]
pub enum SeedKindName {
    Track,
    Album,
    Artist,
    Genre,
    Features,
    /// No seed was given: the target values alone.
    Target,
}

/// Which signal recommended a track.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "RecommendationSource", remote = "crate::catalog::Source")]
pub enum SourceName {
    /// Audio features close to the seeds.
    Content,
    /// Playlists (or listeners) holding the seeds also hold it.
    CoOccurrence,
    /// Popular in the catalog: the fallback when nothing is known.
    Popularity,
}

/// A track recommended by the blend of co-occurrence and audio similarity.
pub struct BlendedTrack(pub Continuation);

#[Object]
impl BlendedTrack {
    async fn track(&self) -> TrackObject {
        TrackObject(Arc::clone(&self.0.track))
    }
    /// The blended score: `weight * coOccurrence + (1 - weight) * content`.
    async fn score(&self) -> f32 {
        self.0.score
    }
    /// Which term gave the track more of its score (or `POPULARITY` for the
    /// fallback).
    async fn source(&self) -> SourceName {
        self.0.source.into()
    }
    /// Co-occurrence with the seeds, 0 to 1 (1 = the best candidate).
    async fn co_occurrence(&self) -> f32 {
        self.0.co_occurrence
    }
    /// Audio similarity to the seeds, 0 to 1 over the candidates.
    async fn content(&self) -> f32 {
        self.0.content
    }
}
