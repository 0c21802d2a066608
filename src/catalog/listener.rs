//! Recommendations for a listener, from their profile: what they liked and
//! played pulls, what they skipped and disliked pushes away, through the
//! same blend of co-occurrence and audio similarity as playlist
//! continuation. A listener with no positive signal yet gets the most
//! popular tracks.

use crate::domain::{Leaning, ListenerProfile, TrackFilter, TrackId};
use crate::error::Result;

use super::{Catalog, Continuation};

impl Catalog {
    /// Up to `first` tracks for a listener, best first, never one they
    /// disliked or skipped, nor (unless `include_known`) one they played or
    /// liked. `weight` is the share of co-occurrence in the blend.
    ///
    /// # Errors
    /// An index error (a bug: the taste is made in the catalogue's space).
    pub fn recommend_for_listener(
        &self,
        profile: &ListenerProfile,
        first: usize,
        weight: f32,
        include_known: bool,
        filter: &TrackFilter,
    ) -> Result<Vec<Continuation>> {
        let leanings = profile.leanings();
        let mut filter = filter.clone();
        for (id, leaning) in &leanings {
            let negative = matches!(leaning, Leaning::Disliked | Leaning::Skipped);
            if negative || !include_known {
                filter.exclude_ids.insert(*id);
            }
        }
        let seeds: Vec<(TrackId, f32)> = leanings
            .iter()
            .filter(|(id, _)| self.get(id).is_some())
            .map(|(id, leaning)| (*id, leaning.weight()))
            .collect();
        let model = self.playlist_model();
        let found = self.blend(&model, &seeds, first, weight, &filter, false)?;
        if found.is_empty() {
            return Ok(self.most_popular(&model, first, &filter));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::catalog_of;
    use super::*;
    use crate::catalog::Source;
    use crate::domain::InteractionKind;

    #[test]
    fn dislikes_and_plays_are_left_out_and_a_new_listener_gets_popular_tracks() {
        let catalog = catalog_of(&[(0.10, "a"), (0.12, "a"), (0.14, "a"), (0.90, "b")]);
        let ids: Vec<TrackId> = catalog.tracks().map(|t| t.id).collect();
        let none = TrackFilter::default();

        let new = catalog
            .recommend_for_listener(&ListenerProfile::default(), 2, 0.5, false, &none)
            .unwrap();
        assert_eq!(new.len(), 2);
        assert!(new.iter().all(|c| c.source == Source::Popularity));

        let mut profile = ListenerProfile::default();
        profile.apply(InteractionKind::Like, ids[0], 1);
        profile.apply(InteractionKind::Dislike, ids[1], 2);
        let found = catalog
            .recommend_for_listener(&profile, 3, 0.5, false, &none)
            .unwrap();
        let returned: Vec<TrackId> = found.iter().map(|c| c.track.id).collect();
        assert!(!returned.contains(&ids[0]) && !returned.contains(&ids[1]));
        // The liked track's sound neighbour comes first, from content.
        assert_eq!(returned[0], ids[2]);
        assert_eq!(found[0].source, Source::Content);

        let again = catalog
            .recommend_for_listener(&profile, 3, 0.5, true, &none)
            .unwrap();
        assert!(again.iter().any(|c| c.track.id == ids[0]));
        assert!(again.iter().all(|c| c.track.id != ids[1]));
    }
}
