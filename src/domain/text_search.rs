//! Finding tracks by what people type: part of a title or an artist's name.
//!
//! A person looking for a seed track remembers words, not Spotify ids. The
//! match is a case-insensitive substring test (no stemming, no typo
//! tolerance: a search engine's job, not a recommender's), ranked so the
//! likeliest meaning comes first: a title that starts with the text, then a
//! title that contains it, then an artist who does; popular tracks first
//! within a rank. It scans every track, which costs about a millisecond
//! per 10,000 tracks: fine for a search box, not for a hot path.

use std::cmp::Ordering;

use super::bounds::{echo, MAX_NAME_CHARS};
use super::{DomainError, Result};

/// How well a track matches, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum MatchRank {
    /// The title starts with the text.
    TitlePrefix,
    /// The title contains the text.
    Title,
    /// An artist's name starts with the text.
    ArtistPrefix,
    /// An artist's name contains the text.
    Artist,
}

/// The text a person typed, folded once for every track it is tested on.
#[derive(Debug, Clone)]
pub struct TextQuery {
    folded: String,
}

impl TextQuery {
    /// The query for `text`.
    ///
    /// # Errors
    /// [`DomainError::Missing`] for text of nothing but white space (which
    /// would match every track), [`DomainError::OutOfBounds`] past
    /// [`MAX_NAME_CHARS`] (no title is longer).
    pub fn new(text: &str) -> Result<Self> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::Missing("search text"));
        }
        if text.chars().count() > MAX_NAME_CHARS {
            return Err(DomainError::OutOfBounds(format!(
                "search text {} is longer than {MAX_NAME_CHARS} characters",
                echo(text)
            )));
        }
        Ok(Self { folded: fold(text) })
    }

    /// How a track with this title and these artists matches, if at all.
    pub fn rank(&self, title: Option<&str>, artists: &[String]) -> Option<MatchRank> {
        let needle = self.folded.as_str();
        if let Some(title) = title.map(fold) {
            if title.starts_with(needle) {
                return Some(MatchRank::TitlePrefix);
            }
            if title.contains(needle) {
                return Some(MatchRank::Title);
            }
        }
        artists
            .iter()
            .map(|artist| fold(artist))
            .filter_map(|artist| {
                if artist.starts_with(needle) {
                    Some(MatchRank::ArtistPrefix)
                } else if artist.contains(needle) {
                    Some(MatchRank::Artist)
                } else {
                    None
                }
            })
            .min()
    }
}

/// One match, ordered best first: by rank, then popularity (unknown
/// last), then title, then `key` so the order is total and stable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hit<K> {
    pub rank: MatchRank,
    pub popularity: Option<u8>,
    pub title: String,
    pub key: K,
}

impl<K: Ord> Ord for Hit<K> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank
            .cmp(&other.rank)
            .then_with(|| other.popularity.cmp(&self.popularity))
            .then_with(|| self.title.cmp(&other.title))
            .then_with(|| self.key.cmp(&other.key))
    }
}

impl<K: Ord> PartialOrd for Hit<K> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The `first` best hits, best first.
pub fn best<K: Ord>(mut hits: Vec<Hit<K>>, first: usize) -> Vec<Hit<K>> {
    if hits.len() > first {
        hits.select_nth_unstable(first);
        hits.truncate(first);
    }
    hits.sort_unstable();
    hits
}

fn fold(text: &str) -> String {
    text.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artists(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| (*s).to_string()).collect()
    }

    #[test]
    fn titles_rank_above_artists_and_prefixes_above_substrings() {
        let query = TextQuery::new("  Love ").unwrap();
        assert_eq!(
            query.rank(Some("Lovely Day"), &[]),
            Some(MatchRank::TitlePrefix)
        );
        assert_eq!(
            query.rank(Some("Crazy in LOVE"), &[]),
            Some(MatchRank::Title)
        );
        assert_eq!(
            query.rank(Some("Halo"), &artists(&["Courtney Love", "Lovers"])),
            Some(MatchRank::ArtistPrefix)
        );
        assert_eq!(
            query.rank(None, &artists(&["Courtney Love"])),
            Some(MatchRank::Artist)
        );
        assert_eq!(query.rank(Some("Halo"), &artists(&["Beyoncé"])), None);
    }

    #[test]
    fn case_folding_covers_more_than_ascii() {
        let query = TextQuery::new("BEYONCÉ").unwrap();
        assert_eq!(
            query.rank(Some("x"), &artists(&["Beyoncé"])),
            Some(MatchRank::ArtistPrefix)
        );
    }

    #[test]
    fn blank_text_is_no_query() {
        assert_eq!(
            TextQuery::new(" \t ").unwrap_err(),
            DomainError::Missing("search text")
        );
        assert!(TextQuery::new("").is_err());
        let long = "a".repeat(MAX_NAME_CHARS + 1);
        assert!(matches!(
            TextQuery::new(&long),
            Err(DomainError::OutOfBounds(_))
        ));
        assert!(TextQuery::new(&long[1..]).is_ok());
    }

    #[test]
    fn best_keeps_the_first_hits_in_rank_then_popularity_order() {
        let hit = |rank, popularity, key: u32| Hit {
            rank,
            popularity,
            title: "t".to_string(),
            key,
        };
        let hits = vec![
            hit(MatchRank::Artist, Some(99), 1),
            hit(MatchRank::Title, Some(10), 2),
            hit(MatchRank::Title, Some(50), 3),
            hit(MatchRank::TitlePrefix, None, 4),
            hit(MatchRank::Title, None, 5),
        ];
        let keys: Vec<u32> = best(hits.clone(), 3).into_iter().map(|h| h.key).collect();
        assert_eq!(keys, vec![4, 3, 2]);
        let all: Vec<u32> = best(hits, 10).into_iter().map(|h| h.key).collect();
        assert_eq!(all, vec![4, 3, 2, 5, 1]);
    }
}
