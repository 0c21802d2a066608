//! Listeners: `recordInteraction` (what someone did with a track) and
//! `recommendForUser`. Profiles live in the store; the logic is in
//! `domain::listener` and `catalog::listener`.

use std::time::{SystemTime, UNIX_EPOCH};

use async_graphql::{Context, Enum, Object, SimpleObject, ID};

use super::auth::require;
use super::error::{invalid, ApiResult};
use super::inputs::{page_size, parse_id, TrackFilterInput};
use super::recommend::BlendedTrack;
use super::service;
use crate::config::Role;
use crate::domain::{Interaction, UserId};
use crate::error::Error;

/// What a listener did with a track.
#[derive(Enum, Copy, Clone, Eq, PartialEq)]
#[graphql(name = "InteractionKind", remote = "crate::domain::InteractionKind")]
pub enum InteractionKindName {
    /// Listened to it.
    Play,
    /// Liked it.
    Like,
    /// Skipped it early.
    Skip,
    /// Disliked it: it is never recommended to them again (unless they like
    /// it later).
    Dislike,
}

/// `recordInteraction`.
#[derive(Default)]
pub struct ListenerMutation;

/// An interaction as stored.
#[derive(SimpleObject)]
pub struct RecordedInteraction {
    user_id: ID,
    track_id: ID,
    kind: InteractionKindName,
    /// When it happened, RFC 3339.
    at: String,
}

fn user_id(id: &ID) -> async_graphql::Result<UserId> {
    UserId::parse(id).map_err(Error::from).api()
}

#[Object]
impl ListenerMutation {
    /// Records that a listener played, liked, skipped or disliked a track;
    /// their recommendations change from the next request. `at` (RFC 3339)
    /// defaults to now. Idempotent: recording the same event twice changes
    /// nothing. Needs a `write` key. High volumes belong on the Kafka topic
    /// `timbre.interactions`.
    async fn record_interaction(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        track_id: ID,
        kind: InteractionKindName,
        at: Option<String>,
    ) -> async_graphql::Result<RecordedInteraction> {
        require(ctx, Role::Write)?;
        let user = self::user_id(&user_id)?;
        let track = parse_id(&track_id).api()?;
        let when = match &at {
            Some(text) => humantime::parse_rfc3339_weak(text)
                .map_err(|e| invalid(format!("at {text:?} is not an RFC 3339 time: {e}")))?,
            None => SystemTime::now(),
        };
        let at_ms = when
            .duration_since(UNIX_EPOCH)
            .map_err(|_| invalid("at must not precede 1970"))?
            .as_millis() as i64;
        let event = Interaction {
            user,
            track,
            kind: kind.into(),
            at_ms,
        };
        service(ctx).record_interaction(event).await.api()?;
        Ok(RecordedInteraction {
            user_id,
            track_id,
            kind,
            at: humantime::format_rfc3339_millis(when).to_string(),
        })
    }
}

/// `recommendForUser`.
#[derive(Default)]
pub struct ListenerQuery;

#[Object]
impl ListenerQuery {
    /// Tracks for a listener, best first, from what they played and liked
    /// (pulling) and skipped and disliked (pushing away): playlist
    /// co-occurrence blended with audio similarity, the most popular tracks
    /// for a listener nothing is known of. Never returns a track they
    /// disliked or skipped, nor, unless `includePlayed`, one they played or
    /// liked. Each result says which source produced it.
    #[graphql(complexity = "first as usize * child_complexity")]
    async fn recommend_for_user(
        &self,
        ctx: &Context<'_>,
        user_id: ID,
        #[graphql(default = 10)] first: i32,
        #[graphql(default = false)] include_played: bool,
        filter: Option<TrackFilterInput>,
    ) -> async_graphql::Result<Vec<BlendedTrack>> {
        let first = page_size(ctx, first, "first")?;
        let user = self::user_id(&user_id)?;
        let filter = filter.unwrap_or_default().into_domain().api()?;
        let found = service(ctx)
            .recommend_for_user(&user, first, include_played, filter)
            .await
            .api()?;
        Ok(found.into_iter().map(BlendedTrack).collect())
    }
}
