//! Tracks by what people type (see [`crate::domain::text_search`]): one
//! pass over the table, keeping matches only.

use std::sync::Arc;

use super::Catalog;
use crate::domain::text_search::{best, Hit, TextQuery};
use crate::domain::{Track, TrackFields, TrackId};

impl Catalog {
    /// The `first` tracks whose title or an artist's name contains the
    /// query, best match first.
    pub fn search_text(&self, query: &TextQuery, first: usize) -> Vec<Arc<Track>> {
        let hits: Vec<Hit<TrackId>> = self
            .rows()
            .filter_map(|t| {
                let rank = query.rank(t.name(), t.artists())?;
                Some(Hit {
                    rank,
                    popularity: t.popularity(),
                    title: t.name().unwrap_or_default().to_string(),
                    key: t.id,
                })
            })
            .collect();
        best(hits, first)
            .into_iter()
            .filter_map(|hit| self.get_owned(&hit.key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use timbre_index::IndexParams;

    use super::*;
    use crate::domain::track::tests_support::track;

    #[test]
    fn finds_by_title_and_artist_best_first() {
        let song = |id: &str, name: &str, artist: &str, popularity: u8| {
            let mut t = track(id, &["pop"], artist, popularity, 2020);
            t.name = Some(name.to_string());
            t
        };
        let tracks = vec![
            song("0000000000000000000001", "Midnight City", "M83", 40),
            song(
                "0000000000000000000002",
                "City of Stars",
                "Ryan Gosling",
                70,
            ),
            song("0000000000000000000003", "Inner City Life", "Goldie", 90),
            song("0000000000000000000004", "Velocity", "Citywide", 10),
            song("0000000000000000000005", "Unrelated", "Nobody", 100),
        ];
        let catalog = Catalog::build(tracks, IndexParams::default()).unwrap();

        let names = |found: Vec<Arc<Track>>| -> Vec<String> {
            found.iter().map(|t| t.name.clone().unwrap()).collect()
        };
        let query = TextQuery::new("city").unwrap();
        assert_eq!(
            names(catalog.search_text(&query, 10)),
            vec![
                "City of Stars",
                "Inner City Life",
                "Midnight City",
                "Velocity"
            ]
        );
        assert_eq!(
            names(catalog.search_text(&query, 2)),
            vec!["City of Stars", "Inner City Life"]
        );
        let by_artist = TextQuery::new("gosling").unwrap();
        assert_eq!(
            names(catalog.search_text(&by_artist, 10)),
            vec!["City of Stars"]
        );
        let nothing = TextQuery::new("zzz").unwrap();
        assert!(catalog.search_text(&nothing, 10).is_empty());
    }
}
