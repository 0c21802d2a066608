//! Listener behaviour from the interaction log: interactions per day by
//! kind (and by genre), the most played tracks and artists, and the skip
//! rate of each genre. The embedded engine folds the log here; Spark runs
//! the same definitions as SQL (`spark/sql.rs`), and the tests compare.
//!
//! The definitions, which both engines follow:
//! - a day is the UTC day of the interaction;
//! - per-day totals count every interaction in the window; per-genre rows
//!   and everything about artists count only interactions with tracks in
//!   the catalogue (a deleted track has no genre), once per genre or
//!   artist the track lists;
//! - a play is a `PLAY` interaction; the skip rate of a genre is
//!   `skips / (plays + skips)`;
//! - ties rank by track id or artist name.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{GenreLevel, Interaction, InteractionKind, TrackFields, TrackId};

const DAY_MS: i64 = 86_400_000;

/// The UTC day of a time, `YYYY-MM-DD`.
pub fn utc_day(at_ms: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_millis(at_ms.max(0) as u64);
    humantime::format_rfc3339_seconds(at).to_string()[..10].to_string()
}

/// The start of a `YYYY-MM-DD` day, in ms since the epoch; `None` for text
/// that is not such a day.
pub fn day_start_ms(day: &str) -> Option<i64> {
    if day.len() != 10 {
        return None;
    }
    let at = humantime::parse_rfc3339(&format!("{day}T00:00:00Z")).ok()?;
    let ms = at.duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    i64::try_from(ms).ok()
}

/// Interactions of one kind on one day, for one genre or (`genre: None`)
/// in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    pub day: String,
    pub kind: InteractionKind,
    pub genre: Option<String>,
    pub count: u64,
}

/// A track and how often it was played.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackPlays {
    pub track_id: TrackId,
    pub plays: u64,
}

/// An artist and how often their tracks were played.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArtistPlays {
    pub artist: String,
    pub plays: u64,
}

/// Plays and skips of a genre's tracks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkipRate {
    pub genre: String,
    pub plays: u64,
    pub skips: u64,
    /// `skips / (plays + skips)`; `None` without either.
    pub rate: Option<f64>,
}

impl SkipRate {
    pub fn new(genre: String, plays: u64, skips: u64) -> Self {
        let seen = plays + skips;
        SkipRate {
            genre,
            plays,
            skips,
            rate: (seen > 0).then(|| skips as f64 / seen as f64),
        }
    }
}

/// What the listener behaviour job gives.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Behaviour {
    /// Sorted by day, kind, then genre (totals first).
    pub days: Vec<DayCount>,
    /// Most played first.
    pub top_tracks: Vec<TrackPlays>,
    /// Most played first.
    pub top_artists: Vec<ArtistPlays>,
    /// Sorted by genre.
    pub skip_rates: Vec<SkipRate>,
}

impl Behaviour {
    /// Puts every list in its order (and cuts the top lists to `top`), so
    /// that results from any engine compare equal.
    pub fn normalise(&mut self, top: usize) {
        self.days.sort_by(|a, b| {
            (&a.day, kind_rank(a.kind), &a.genre).cmp(&(&b.day, kind_rank(b.kind), &b.genre))
        });
        self.top_tracks
            .sort_by(|a, b| b.plays.cmp(&a.plays).then(a.track_id.cmp(&b.track_id)));
        self.top_tracks.truncate(top);
        self.top_artists
            .sort_by(|a, b| b.plays.cmp(&a.plays).then(a.artist.cmp(&b.artist)));
        self.top_artists.truncate(top);
        self.skip_rates.sort_by(|a, b| a.genre.cmp(&b.genre));
    }
}

fn kind_rank(kind: InteractionKind) -> u8 {
    match kind {
        InteractionKind::Play => 0,
        InteractionKind::Like => 1,
        InteractionKind::Skip => 2,
        InteractionKind::Dislike => 3,
    }
}

/// Which interactions count: those in `[since, until)` (ms), all when
/// unset.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
}

impl Window {
    pub fn holds(&self, at_ms: i64) -> bool {
        self.since_ms.is_none_or(|s| at_ms >= s) && self.until_ms.is_none_or(|u| at_ms < u)
    }
}

/// The log folded to counts per day, kind and track: small enough to keep
/// while the log streams past, and all the job needs from it.
#[derive(Debug, Clone, Default)]
pub struct BehaviourCounts {
    window: Window,
    cells: FxHashMap<(i64, InteractionKind, TrackId), u64>,
}

impl BehaviourCounts {
    pub fn new(window: Window) -> Self {
        BehaviourCounts {
            window,
            cells: FxHashMap::default(),
        }
    }

    /// Counts one interaction, if it is in the window.
    pub fn add(&mut self, interaction: &Interaction) {
        if self.window.holds(interaction.at_ms) {
            let day = interaction.at_ms.div_euclid(DAY_MS);
            *self
                .cells
                .entry((day, interaction.kind, interaction.track))
                .or_default() += 1;
        }
    }

    /// The behaviour, with `lookup` finding the catalogue's tracks; genre
    /// rows only for `genres` when not empty; `top` entries per top list.
    pub fn finish<T: TrackFields>(
        self,
        level: GenreLevel,
        genres: &[String],
        top: usize,
        lookup: impl Fn(&TrackId) -> Option<T>,
    ) -> Behaviour {
        let wanted = |g: &String| genres.is_empty() || genres.contains(g);
        let mut days: FxHashMap<(i64, InteractionKind, Option<String>), u64> = FxHashMap::default();
        let mut tracks: FxHashMap<TrackId, u64> = FxHashMap::default();
        let mut artists: FxHashMap<String, u64> = FxHashMap::default();
        let mut skips: FxHashMap<String, (u64, u64)> = FxHashMap::default();
        for ((day, kind, id), n) in self.cells {
            *days.entry((day, kind, None)).or_default() += n;
            if kind == InteractionKind::Play {
                *tracks.entry(id).or_default() += n;
            }
            let Some(track) = lookup(&id) else { continue };
            for genre in level.of(&track).iter().filter(|g| wanted(g)) {
                *days.entry((day, kind, Some(genre.clone()))).or_default() += n;
                let counts = skips.entry(genre.clone()).or_default();
                match kind {
                    InteractionKind::Play => counts.0 += n,
                    InteractionKind::Skip => counts.1 += n,
                    _ => {}
                }
            }
            if kind == InteractionKind::Play {
                for artist in track.artists() {
                    *artists.entry(artist.clone()).or_default() += n;
                }
            }
        }
        let mut behaviour = Behaviour {
            days: days
                .into_iter()
                .map(|((day, kind, genre), count)| DayCount {
                    day: utc_day(day * DAY_MS),
                    kind,
                    genre,
                    count,
                })
                .collect(),
            top_tracks: tracks
                .into_iter()
                .map(|(track_id, plays)| TrackPlays { track_id, plays })
                .collect(),
            top_artists: artists
                .into_iter()
                .map(|(artist, plays)| ArtistPlays { artist, plays })
                .collect(),
            skip_rates: skips
                .into_iter()
                .filter(|(_, (plays, skips))| plays + skips > 0)
                .map(|(genre, (plays, skips))| SkipRate::new(genre, plays, skips))
                .collect(),
        };
        behaviour.normalise(top);
        behaviour
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::track::tests_support::track;
    use crate::domain::{Track, UserId};

    fn id(n: u8) -> TrackId {
        TrackId::parse(&format!("{n:022}")).unwrap()
    }

    fn event(track: u8, kind: InteractionKind, at_ms: i64) -> Interaction {
        Interaction {
            user: UserId::parse("u").unwrap(),
            track: id(track),
            kind,
            at_ms,
        }
    }

    #[test]
    fn counts_by_day_kind_genre_with_tops_and_skip_rates() {
        use InteractionKind::{Like, Play, Skip};
        let catalogue: Vec<Track> = vec![
            track(&format!("{:022}", 1), &["pop", "rock"], "ann", 50, 2000),
            track(&format!("{:022}", 2), &["rock"], "bob", 50, 2000),
        ];
        let day2 = DAY_MS + 5;
        let mut counts = BehaviourCounts::new(Window {
            since_ms: Some(0),
            until_ms: Some(2 * DAY_MS),
        });
        for e in [
            event(1, Play, 10),
            event(1, Play, 20),
            event(2, Skip, 30),
            event(2, Play, day2),
            event(9, Play, day2),
            event(9, Play, day2 + 1),
            event(9, Play, day2 + 2),
            event(1, Like, 2 * DAY_MS), // outside the window
        ] {
            counts.add(&e);
        }
        let b = counts.finish(GenreLevel::Genre, &[], 10, |t| {
            catalogue.iter().find(|x| x.id == *t)
        });
        let day = |d: &str, k, g: Option<&str>| {
            b.days
                .iter()
                .find(|c| c.day == d && c.kind == k && c.genre.as_deref() == g)
                .map(|c| c.count)
        };
        assert_eq!(day("1970-01-01", Play, None), Some(2));
        assert_eq!(day("1970-01-01", Play, Some("rock")), Some(2));
        assert_eq!(day("1970-01-02", Play, None), Some(4));
        assert_eq!(day("1970-01-02", Play, Some("rock")), Some(1));
        assert_eq!(day("1970-01-03", Like, None), None);
        assert_eq!(b.days[0].genre, None, "totals first");
        let tops: Vec<(TrackId, u64)> =
            b.top_tracks.iter().map(|t| (t.track_id, t.plays)).collect();
        assert_eq!(tops, [(id(9), 3), (id(1), 2), (id(2), 1)]);
        let artists: Vec<(&str, u64)> = b
            .top_artists
            .iter()
            .map(|a| (a.artist.as_str(), a.plays))
            .collect();
        assert_eq!(artists, [("ann", 2), ("bob", 1)]);
        let rock = b.skip_rates.iter().find(|s| s.genre == "rock").unwrap();
        assert_eq!((rock.plays, rock.skips), (3, 1));
        assert_eq!(rock.rate, Some(0.25));
        let only_pop = {
            let mut c = BehaviourCounts::new(Window::default());
            c.add(&event(2, Play, 0));
            c.add(&event(1, Play, 0));
            c.finish(GenreLevel::Genre, &["pop".into()], 1, |t| {
                catalogue.iter().find(|x| x.id == *t)
            })
        };
        assert!(only_pop
            .days
            .iter()
            .all(|d| d.genre.is_none() || d.genre.as_deref() == Some("pop")));
        assert_eq!(only_pop.top_tracks.len(), 1);
    }

    #[test]
    fn days_parse_and_print_in_utc() {
        assert_eq!(day_start_ms("1970-01-02"), Some(DAY_MS));
        assert_eq!(utc_day(DAY_MS - 1), "1970-01-01");
        for junk in ["", "1970-1-2", "1970-01-32", "yesterday"] {
            assert_eq!(day_start_ms(junk), None, "{junk}");
        }
    }
}
