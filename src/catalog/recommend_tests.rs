//! `recommend` on small made-up catalogs: tracks that share the sample
//! features and differ in energy (and, where a test says so, tempo, artist,
//! album or genre), so that the expected neighbours can be read off.

use timbre_index::IndexParams;

use super::*;
use crate::domain::track::tests_support::track;
use crate::domain::{Seeds, Track, TrackId};

/// A track of the sample features with this energy, by `artist {i}`.
fn song(i: usize, energy: f32) -> Track {
    let mut t = track(
        &format!("{i:022}"),
        &["pop"],
        &format!("artist {i}"),
        50,
        2000,
    );
    t.features.energy = energy;
    t
}

/// `n + 1` tracks with energies 0, 1/n, …, 1 (track `i` has energy `i/n`).
fn ladder(n: usize) -> Vec<Track> {
    (0..=n).map(|i| song(i, i as f32 / n as f32)).collect()
}

fn build(tracks: Vec<Track>) -> Catalog {
    Catalog::build(tracks, IndexParams::default()).unwrap()
}

fn id(i: usize) -> TrackId {
    TrackId::parse(&format!("{i:022}")).unwrap()
}

fn by_tracks(ids: &[usize]) -> Seeds {
    Seeds {
        track_ids: ids.iter().map(|i| id(*i)).collect(),
        ..Default::default()
    }
}

fn query(seeds: Seeds, first: usize) -> RecommendQuery {
    RecommendQuery {
        seeds,
        first,
        ..Default::default()
    }
}

fn energies(found: &[Recommendation]) -> Vec<f32> {
    found
        .iter()
        .map(|r| r.neighbour.track.features.energy)
        .collect()
}

fn ids(found: &[Recommendation]) -> Vec<TrackId> {
    found.iter().map(|r| r.neighbour.track.id).collect()
}

fn max(xs: &[f32]) -> f32 {
    xs.iter().copied().fold(f32::MIN, f32::max)
}

fn min(xs: &[f32]) -> f32 {
    xs.iter().copied().fold(f32::MAX, f32::min)
}

/// The explanation's comparison of `feature`.
fn compared(r: &Recommendation, feature: Feature) -> crate::domain::FeatureComparison {
    r.neighbour
        .explanation()
        .comparisons
        .into_iter()
        .find(|c| c.feature == feature)
        .unwrap_or_else(|| panic!("{feature} is not explained"))
}

#[test]
fn negative_seeds_push_the_results_away() {
    let catalog = build(ladder(20));
    let like = query(by_tracks(&[10]), 4);
    let plain = energies(&catalog.recommend(&like).unwrap());
    // Without the negative seed the list straddles the seed's 0.5.
    assert!(max(&plain) > 0.5, "{plain:?}");

    let avoiding = RecommendQuery {
        avoid: by_tracks(&[14]),
        ..like
    };
    let found = catalog.recommend(&avoiding).unwrap();
    let pushed = energies(&found);
    assert_eq!(pushed.len(), 4);
    assert!(max(&pushed) < 0.5, "{pushed:?}");
    assert!(!ids(&found).contains(&id(14)));
}

#[test]
fn a_target_replaces_what_the_seeds_say_about_a_feature() {
    let catalog = build(ladder(20));
    let mut q = query(by_tracks(&[4]), 3);
    q.target[Feature::Energy as usize] = Some(0.8);
    let found = catalog.recommend(&q).unwrap();
    let e = energies(&found);
    assert_eq!(e[0], 0.8, "{e:?}");
    assert!(min(&e) >= 0.75, "{e:?}");
    // The explanation compares with the value asked for, not the seed's 0.2.
    let energy = compared(&found[0], Feature::Energy);
    assert!((energy.seed_value - 0.8).abs() < 1e-6, "{energy:?}");
    assert!(energy.difference.abs() < 1e-6, "{energy:?}");
}

#[test]
fn a_shift_moves_the_seeds_value() {
    let catalog = build(ladder(20));
    let like = query(by_tracks(&[6]), 3);
    let plain = energies(&catalog.recommend(&like).unwrap());
    let mut more = like.clone();
    more.shift[Feature::Energy as usize] = Some(0.3);
    let found = catalog.recommend(&more).unwrap();
    let shifted = energies(&found);
    // "Like this, but more energetic": every result beats every result of
    // the plain request on energy, and the best sits at 0.3 + 0.3.
    assert!(min(&shifted) > max(&plain), "{shifted:?} vs {plain:?}");
    assert!((shifted[0] - 0.6).abs() < 1e-6, "{shifted:?}");
    let energy = compared(&found[0], Feature::Energy);
    assert!((energy.seed_value - 0.6).abs() < 1e-6, "{energy:?}");
}

#[test]
fn a_shift_needs_a_seed_that_knows_the_feature() {
    let catalog = build(ladder(10));
    let mut tempo_only = [None; FEATURE_COUNT];
    tempo_only[Feature::Tempo as usize] = Some(120.0);
    let mut q = query(
        Seeds {
            features: vec![tempo_only],
            ..Default::default()
        },
        3,
    );
    q.shift[Feature::Energy as usize] = Some(0.2);
    let err = catalog.recommend(&q).unwrap_err();
    assert!(
        matches!(&err, Error::Invalid(_)) && err.to_string().contains("energy"),
        "{err}"
    );
}

#[test]
fn feature_bounds_hold_on_every_result_and_the_list_stays_full() {
    // Tempo climbs with energy: track i plays at 100 + 2i BPM.
    let tracks: Vec<Track> = ladder(20)
        .into_iter()
        .enumerate()
        .map(|(i, mut t)| {
            t.features.tempo = Some(100.0 + 2.0 * i as f32);
            t
        })
        .collect();
    // The graph walk too, not only the exact scan small catalogs get.
    for params in [IndexParams::default(), IndexParams::default().graph_only()] {
        let catalog = Catalog::build(tracks.clone(), params).unwrap();
        // Seeded at the far end (energy 1, 140 BPM), bounded to 120..=130
        // BPM: six tracks (i = 10..=15) qualify, none of them near the seed.
        let mut q = query(by_tracks(&[20]), 5);
        q.filter.features[Feature::Tempo as usize] = (Some(120.0), Some(130.0));
        let found = catalog.recommend(&q).unwrap();
        assert_eq!(found.len(), 5);
        for r in &found {
            let tempo = r.neighbour.track.features.tempo.unwrap();
            assert!((120.0..=130.0).contains(&tempo), "{tempo}");
        }
        // The nearest of those to the seed come first.
        assert_eq!(ids(&found)[0], id(15));
        // Asking for more than match returns exactly those that match.
        q.first = 10;
        assert_eq!(catalog.recommend(&q).unwrap().len(), 6);
        // Energy bounds combine with tempo bounds.
        q.filter.features[Feature::Energy as usize] = (Some(0.575), None);
        let e = energies(&catalog.recommend(&q).unwrap());
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(min(&e) > 0.575);
    }
}

#[test]
fn excluded_artists_and_ids_are_never_returned() {
    let mut tracks = ladder(20);
    // The two nearest neighbours of track 10 share an artist.
    tracks[9].artists = vec!["The Twins".into()];
    tracks[11].artists = vec!["Guest".into(), "the twins".into()];
    let catalog = build(tracks);
    let mut q = query(by_tracks(&[10]), 6);
    q.filter = TrackFilter {
        exclude_artists: vec!["THE TWINS".into()],
        exclude_ids: [id(8), id(12)].into_iter().collect(),
        ..Default::default()
    }
    .new()
    .unwrap();
    let found = ids(&catalog.recommend(&q).unwrap());
    assert_eq!(found.len(), 6);
    for gone in [9, 11, 8, 12, 10] {
        assert!(!found.contains(&id(gone)), "{gone} returned: {found:?}");
    }
}

#[test]
fn the_cap_per_artist_holds() {
    // Tracks 5..=15 are all by one artist, the rest by one artist each.
    let mut tracks = ladder(20);
    for t in &mut tracks[5..=15] {
        t.artists = vec!["Prolific".into()];
    }
    let catalog = build(tracks);
    let mut q = query(by_tracks(&[10]), 6);
    let uncapped = catalog.recommend(&q).unwrap();
    let prolific = |found: &[Recommendation]| {
        found
            .iter()
            .filter(|r| r.neighbour.track.artists[0] == "Prolific")
            .count()
    };
    assert!(prolific(&uncapped) > 2);
    q.max_per_artist = Some(2);
    let capped = catalog.recommend(&q).unwrap();
    assert_eq!(capped.len(), 6, "the cap makes room for other artists");
    assert_eq!(prolific(&capped), 2);
}

#[test]
fn no_diversity_is_the_relevance_order() {
    let catalog = build(ladder(30));
    let q = query(by_tracks(&[12]), 8);
    let found = catalog.recommend(&q).unwrap();
    let distances: Vec<f32> = found.iter().map(|r| r.neighbour.distance).collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    // The same list as `similar`, which ranks by distance alone.
    let similar = catalog
        .similar(
            &super::super::Seed::Track(id(12)),
            8,
            &TrackFilter::default(),
        )
        .unwrap();
    let by_distance: Vec<f32> = similar.iter().map(|n| n.distance).collect();
    assert_eq!(distances, by_distance);
}

#[test]
fn diversity_breaks_up_near_duplicates() {
    // Around the seed (track 9, energy 0.5): four near-copies just above
    // it, one track a little farther below it, and a few far away.
    let energies_of = [0.55, 0.551, 0.552, 0.553, 0.44, 0.1, 0.2, 0.9, 1.0, 0.5];
    let catalog = build(
        energies_of
            .iter()
            .enumerate()
            .map(|(i, e)| song(i, *e))
            .collect(),
    );
    let copies = |found: &[Recommendation]| {
        energies(found)
            .iter()
            .filter(|e| (**e - 0.55).abs() < 0.01)
            .count()
    };
    let relevance = catalog.recommend(&query(by_tracks(&[9]), 3)).unwrap();
    assert_eq!(copies(&relevance), 3, "{:?}", energies(&relevance));
    let diverse = catalog
        .recommend(&RecommendQuery {
            diversity: 0.5,
            ..query(by_tracks(&[9]), 3)
        })
        .unwrap();
    assert_eq!(diverse.len(), 3);
    assert!(copies(&diverse) < 3, "{:?}", energies(&diverse));
    assert!(ids(&diverse).contains(&id(4)), "{:?}", energies(&diverse));
    // The most relevant track still comes first.
    assert_eq!(ids(&diverse)[0], ids(&relevance)[0]);
}

#[test]
fn every_result_names_the_seed_it_lies_closest_to() {
    let catalog = build(ladder(20));
    let (low, high) = (2, 18);
    let q = query(by_tracks(&[low, high]), 12);
    let found = catalog.recommend(&q).unwrap();
    assert_eq!(found.len(), 12);
    for r in &found {
        let e = r.neighbour.track.features.energy;
        let (to_low, to_high) = ((e - 0.1).abs(), (e - 0.9).abs());
        if (to_low - to_high).abs() < 1e-4 {
            continue;
        }
        let nearest = if to_low < to_high { low } else { high };
        assert_eq!(r.because.kind, SeedKind::Track);
        assert_eq!(r.because.id, Some(id(nearest).to_string()), "energy {e}");
        assert!(r.because.name.contains(&format!("artist {nearest}")));
        // The explanation compares with that seed's own values.
        let energy = compared(r, Feature::Energy);
        assert!((energy.seed_value - nearest as f64 / 20.0).abs() < 1e-6);
        assert!((energy.difference - (energy.value - energy.seed_value)).abs() < 1e-9);
    }
}

#[test]
fn with_a_shift_the_closest_seed_is_judged_after_the_shift() {
    // Seeds at 0.2 and 0.5, both made 0.3 more energetic: 0.5 and 0.8. A
    // result at 0.55 lies closest to the first seed's shifted 0.5, and its
    // explanation compares with that value.
    let catalog = build(ladder(20));
    let mut q = query(by_tracks(&[4, 10]), 6);
    q.shift[Feature::Energy as usize] = Some(0.3);
    let found = catalog.recommend(&q).unwrap();
    let at = found
        .iter()
        .find(|r| r.neighbour.track.id == id(11))
        .expect("energy 0.55 is among the results");
    assert_eq!(at.because.id, Some(id(4).to_string()));
    let energy = compared(at, Feature::Energy);
    assert!((energy.seed_value - 0.5).abs() < 1e-6, "{energy:?}");
    for r in &found {
        let gap = compared(r, Feature::Energy).difference.abs();
        assert!(
            gap <= 0.15 + 1e-6,
            "{:?} explained with a gap of {gap}",
            r.because
        );
    }
}

#[test]
fn target_values_alone_seed_a_request() {
    let catalog = build(ladder(20));
    let mut q = RecommendQuery {
        first: 2,
        ..Default::default()
    };
    q.target[Feature::Energy as usize] = Some(0.04);
    let found = catalog.recommend(&q).unwrap();
    assert_eq!(energies(&found), [0.05, 0.0]);
    assert!(found.iter().all(|r| r.because.kind == SeedKind::Target));
}

/// Three albums of three tracks each, at low, middle and high energy.
fn albums() -> Catalog {
    let names = [
        ("albLOW", "Quiet Songs"),
        ("albMID", "Middle"),
        ("albHIGH", "Loud Songs"),
    ];
    let tracks = (0..9)
        .map(|i| {
            let mut t = song(i, 0.1 + 0.1 * i as f32);
            let (id, name) = names[i / 3];
            t.album.id = Some(id.into());
            t.album.name = Some(name.into());
            t
        })
        .collect();
    build(tracks)
}

#[test]
fn an_album_seeds_by_name_or_by_id() {
    let catalog = albums();
    let by_name = Seeds {
        albums: vec![" loud SONGS ".into()],
        ..Default::default()
    };
    let by_id = Seeds {
        albums: vec!["albHIGH".into()],
        ..Default::default()
    };
    let named = catalog.recommend(&query(by_name, 3)).unwrap();
    let with_id = catalog.recommend(&query(by_id, 3)).unwrap();
    assert_eq!(ids(&named), ids(&with_id));
    // The album's own tracks are the nearest to its centroid.
    assert!(named
        .iter()
        .all(|r| r.neighbour.track.album.id.as_deref() == Some("albHIGH")));
    let because = &named[0].because;
    assert_eq!(because.kind, SeedKind::Album);
    assert_eq!(because.name, "Loud Songs");
    assert_eq!(because.id.as_deref(), Some("albHIGH"));
}

#[test]
fn artist_and_genre_seeds_are_centroids() {
    let mut tracks = ladder(20);
    for t in &mut tracks[16..] {
        t.genres = vec!["metal".into()];
    }
    for t in &mut tracks[..3] {
        t.artists = vec!["Whisper".into()];
    }
    let catalog = build(tracks);
    let genre = Seeds {
        genres: vec!["METAL".into()],
        ..Default::default()
    };
    let found = catalog.recommend(&query(genre, 3)).unwrap();
    assert!(min(&energies(&found)) >= 0.8, "{:?}", energies(&found));
    assert_eq!(found[0].because.kind, SeedKind::Genre);
    assert_eq!(found[0].because.name, "metal");

    let artist = Seeds {
        artists: vec!["whisper".into()],
        ..Default::default()
    };
    let found = catalog.recommend(&query(artist, 3)).unwrap();
    assert!(max(&energies(&found)) <= 0.2, "{:?}", energies(&found));
    assert_eq!(found[0].because.kind, SeedKind::Artist);
    assert_eq!(found[0].because.name, "Whisper");
}

#[test]
fn unknown_seeds_are_errors_of_their_kind() {
    let catalog = albums();
    let seeds = |f: fn(&mut Seeds)| {
        let mut s = Seeds::default();
        f(&mut s);
        query(s, 3)
    };
    let genre = catalog.recommend(&seeds(|s| s.genres = vec!["Polka".into()]));
    assert!(matches!(genre, Err(Error::GenreNotFound(g)) if g == "polka"));
    let artist = catalog.recommend(&seeds(|s| s.artists = vec!["Nobody".into()]));
    assert!(matches!(artist, Err(Error::Invalid(_))));
    let album = catalog.recommend(&seeds(|s| s.albums = vec!["No Such Album".into()]));
    assert!(matches!(album, Err(Error::Invalid(_))));
    let missing = TrackId::parse("zzzzzzzzzzzzzzzzzzzzzz").unwrap();
    let track = catalog.recommend(&query(
        Seeds {
            track_ids: vec![missing],
            ..Default::default()
        },
        3,
    ));
    assert!(matches!(track, Err(Error::TrackNotFound(t)) if t == missing));
    // Unknown negative seeds too.
    let avoid = catalog.recommend(&RecommendQuery {
        avoid: Seeds {
            genres: vec!["polka".into()],
            ..Default::default()
        },
        ..query(by_tracks(&[1]), 3)
    });
    assert!(matches!(avoid, Err(Error::GenreNotFound(_))));
    // And requests validation refuses.
    assert!(matches!(
        catalog.recommend(&query(Seeds::default(), 3)),
        Err(Error::Invalid(_))
    ));
}

#[test]
fn seeds_and_negative_seeds_are_never_returned() {
    let catalog = build(ladder(20));
    let q = RecommendQuery {
        avoid: by_tracks(&[0]),
        ..query(by_tracks(&[9, 10, 11]), 21)
    };
    let found = ids(&catalog.recommend(&q).unwrap());
    assert_eq!(found.len(), 17);
    for seed in [0, 9, 10, 11] {
        assert!(!found.contains(&id(seed)));
    }
}

#[test]
fn a_call_is_cheap_once_its_group_seeds_are_cached_and_while_it_has_no_filter() {
    let catalog = build(ladder(10));
    let by_artist = query(
        Seeds {
            artists: vec!["Artist 3".into()],
            ..Default::default()
        },
        3,
    );
    assert!(catalog.recommend_is_cheap(&query(by_tracks(&[2]), 3)));
    assert!(
        !catalog.recommend_is_cheap(&by_artist),
        "the artist's centroid needs a scan"
    );
    catalog.recommend(&by_artist).unwrap();
    assert!(catalog.recommend_is_cheap(&by_artist), "now it is cached");
    let filtered = RecommendQuery {
        filter: TrackFilter {
            genres: vec!["pop".into()],
            ..Default::default()
        },
        ..by_artist
    };
    assert!(!catalog.recommend_is_cheap(&filtered));
}
