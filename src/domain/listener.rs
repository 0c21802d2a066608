//! Listeners and what they did: interactions (play, like, skip, dislike)
//! and the per-listener profile folded from them.
//!
//! A profile keeps, per track, the latest time of each kind of interaction
//! rather than a log or counters. Folding is then idempotent, commutative
//! and associative (each field is a maximum), so an event delivered twice by
//! Kafka, replayed after a restart or applied by two instances leaves the
//! same profile, whatever the order. Which way a listener leans on a track
//! follows from which of those times is latest: a like after a dislike
//! means they changed their mind.

use std::collections::HashMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DomainError, Result, TrackId};

/// A listener's id as the client application knows it: 1 to 128 printable
/// characters without white space.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

/// Longest user id accepted.
pub const MAX_USER_ID_LEN: usize = 128;

impl UserId {
    /// Parses a user id, trimming surrounding white space.
    ///
    /// # Errors
    /// [`DomainError::Missing`] for an empty id, [`DomainError::InvalidArgument`]
    /// for one that is too long or holds white space or control characters.
    pub fn parse(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::Missing("user id"));
        }
        if text.len() > MAX_USER_ID_LEN || text.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(DomainError::InvalidArgument(format!(
                "invalid user id {:?}: 1 to {MAX_USER_ID_LEN} printable characters without spaces",
                super::bounds::echo(text)
            )));
        }
        Ok(UserId(text.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = DomainError;
    fn try_from(s: String) -> Result<Self> {
        UserId::parse(&s)
    }
}

impl From<UserId> for String {
    fn from(id: UserId) -> String {
        id.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a listener did with a track.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum InteractionKind {
    /// Listened to it (to the end, or far enough for the client to say so).
    Play,
    /// Marked it as liked.
    Like,
    /// Skipped it early.
    Skip,
    /// Marked it as disliked: never recommend it to them again.
    Dislike,
}

/// One event: a listener did something with a track at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interaction {
    pub user: UserId,
    pub track: TrackId,
    pub kind: InteractionKind,
    /// When it happened, in milliseconds since the Unix epoch.
    pub at_ms: i64,
}

/// The latest time of each kind of interaction of one listener with one
/// track, in milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackSignal {
    pub played: Option<i64>,
    pub liked: Option<i64>,
    pub skipped: Option<i64>,
    pub disliked: Option<i64>,
}

/// How a listener leans on a track, from their latest interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaning {
    Liked,
    /// Played, and not skipped since.
    Played,
    /// Skipped since they last played it (or never played it).
    Skipped,
    Disliked,
}

impl TrackSignal {
    /// Folds one interaction in; a replay changes nothing.
    pub fn apply(&mut self, kind: InteractionKind, at_ms: i64) {
        let slot = match kind {
            InteractionKind::Play => &mut self.played,
            InteractionKind::Like => &mut self.liked,
            InteractionKind::Skip => &mut self.skipped,
            InteractionKind::Dislike => &mut self.disliked,
        };
        *slot = (*slot).max(Some(at_ms));
    }

    /// Folds another signal of the same listener and track in (field-wise
    /// maximum): what the stores do when two writers meet.
    pub fn merge(&mut self, other: &TrackSignal) {
        self.played = self.played.max(other.played);
        self.liked = self.liked.max(other.liked);
        self.skipped = self.skipped.max(other.skipped);
        self.disliked = self.disliked.max(other.disliked);
    }

    /// The listener's leaning: an explicit like or dislike (the later one)
    /// outweighs plays and skips.
    pub fn leaning(&self) -> Leaning {
        match (self.liked, self.disliked) {
            (Some(l), d) if d.is_none_or(|d| l >= d) => return Leaning::Liked,
            (_, Some(_)) => return Leaning::Disliked,
            _ => {}
        }
        match (self.played, self.skipped) {
            (Some(p), s) if s.is_none_or(|s| p > s) => Leaning::Played,
            _ => Leaning::Skipped,
        }
    }
}

impl Leaning {
    /// How much the track pulls the listener's taste towards it (negative:
    /// pushes it away). Explicit feedback counts twice a play or a skip.
    pub fn weight(self) -> f32 {
        match self {
            Leaning::Liked => 1.0,
            Leaning::Played => 0.5,
            Leaning::Skipped => -0.5,
            Leaning::Disliked => -1.0,
        }
    }
}

/// One listener's interactions, by track.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ListenerProfile {
    pub tracks: HashMap<TrackId, TrackSignal>,
}

impl ListenerProfile {
    /// Folds one interaction in.
    pub fn apply(&mut self, kind: InteractionKind, track: TrackId, at_ms: i64) {
        self.tracks.entry(track).or_default().apply(kind, at_ms);
    }

    /// Tracks with their leaning, in id order (so that anything computed
    /// from a profile does not depend on hash order).
    pub fn leanings(&self) -> Vec<(TrackId, Leaning)> {
        let mut all: Vec<(TrackId, Leaning)> = self
            .tracks
            .iter()
            .map(|(id, s)| (*id, s.leaning()))
            .collect();
        all.sort_by_key(|(id, _)| *id);
        all
    }

    /// Whether the listener has disliked the track (and not liked it since).
    pub fn dislikes(&self, track: &TrackId) -> bool {
        self.tracks
            .get(track)
            .is_some_and(|s| s.leaning() == Leaning::Disliked)
    }

    /// Whether the listener has played or liked the track.
    pub fn knows(&self, track: &TrackId) -> bool {
        self.tracks
            .get(track)
            .is_some_and(|s| s.played.is_some() || s.liked.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn id(n: u8) -> TrackId {
        TrackId::parse(&format!("{n:022}")).unwrap()
    }

    #[test]
    fn user_ids_are_printable_and_bounded() {
        assert_eq!(UserId::parse(" ada ").unwrap().as_str(), "ada");
        assert!(matches!(UserId::parse(""), Err(DomainError::Missing(_))));
        assert!(UserId::parse("two words").is_err());
        assert!(UserId::parse(&"x".repeat(129)).is_err());
    }

    #[test]
    fn the_latest_explicit_feedback_wins_over_plays_and_skips() {
        let mut s = TrackSignal::default();
        s.apply(InteractionKind::Play, 1);
        assert_eq!(s.leaning(), Leaning::Played);
        s.apply(InteractionKind::Skip, 2);
        assert_eq!(s.leaning(), Leaning::Skipped);
        s.apply(InteractionKind::Play, 3);
        assert_eq!(s.leaning(), Leaning::Played);
        s.apply(InteractionKind::Dislike, 4);
        assert_eq!(s.leaning(), Leaning::Disliked);
        s.apply(InteractionKind::Like, 5);
        assert_eq!(s.leaning(), Leaning::Liked);
        s.apply(InteractionKind::Play, 6);
        assert_eq!(s.leaning(), Leaning::Liked);
    }

    #[test]
    fn a_profile_knows_what_was_played_and_disliked() {
        let mut p = ListenerProfile::default();
        p.apply(InteractionKind::Play, id(1), 10);
        p.apply(InteractionKind::Dislike, id(2), 11);
        assert!(p.knows(&id(1)) && !p.knows(&id(2)));
        assert!(p.dislikes(&id(2)) && !p.dislikes(&id(1)));
        assert_eq!(
            p.leanings(),
            vec![(id(1), Leaning::Played), (id(2), Leaning::Disliked)]
        );
    }

    fn kind() -> impl Strategy<Value = InteractionKind> {
        prop_oneof![
            Just(InteractionKind::Play),
            Just(InteractionKind::Like),
            Just(InteractionKind::Skip),
            Just(InteractionKind::Dislike),
        ]
    }

    proptest! {
        /// Replays, duplicates and reordering leave the same signal.
        #[test]
        fn folding_ignores_order_and_duplicates(
            events in proptest::collection::vec((kind(), 0i64..1_000), 0..20),
        ) {
            let mut forward = TrackSignal::default();
            for (k, at) in &events {
                forward.apply(*k, *at);
            }
            let mut backward = TrackSignal::default();
            for (k, at) in events.iter().rev().chain(&events) {
                backward.apply(*k, *at);
            }
            prop_assert_eq!(forward, backward);
            let mut merged = TrackSignal::default();
            merged.merge(&forward);
            merged.merge(&backward);
            prop_assert_eq!(merged, forward);
        }
    }
}
