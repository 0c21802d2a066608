//! The conditions `recommend` added to [`TrackFilter`]: artist exclusion,
//! the explicit flag, excluded ids and per-feature bounds.

use super::super::track::tests_support::track;
use super::*;
use crate::domain::Track;

fn queen() -> Track {
    let mut t = track("0000000000000000000001", &["rock"], "Queen", 80, 1975);
    t.artists.push("David Bowie".into());
    t
}

fn passes(filter: TrackFilter, track: &Track) -> bool {
    let filter = filter.new().unwrap();
    assert!(!filter.is_empty(), "{filter:?} lets everything through");
    filter.matches(track)
}

#[test]
fn excluded_artists_drop_tracks_crediting_any_of_them() {
    let t = queen();
    let excluding = |names: &[&str]| TrackFilter {
        exclude_artists: names.iter().map(|n| n.to_string()).collect(),
        ..Default::default()
    };
    // A featured artist counts as much as the main one; case is ignored.
    assert!(!passes(excluding(&["  DAVID BOWIE "]), &t));
    assert!(!passes(excluding(&["abba", "queen"]), &t));
    assert!(passes(excluding(&["abba"]), &t));
    // Lower-cased once, on construction.
    assert_eq!(
        excluding(&[" Abba "]).new().unwrap().exclude_artists,
        ["abba"]
    );
}

#[test]
fn the_explicit_flag_passes_unknown_tracks_as_clean() {
    let explicit = |wanted: bool| TrackFilter {
        explicit: Some(wanted),
        ..Default::default()
    };
    let mut t = queen();
    for (flag, clean, only_explicit) in [
        (None, true, false),
        (Some(false), true, false),
        (Some(true), false, true),
    ] {
        t.explicit = flag;
        assert_eq!(passes(explicit(false), &t), clean, "{flag:?}");
        assert_eq!(passes(explicit(true), &t), only_explicit, "{flag:?}");
    }
}

#[test]
fn excluded_ids_drop_exactly_those_tracks() {
    let t = queen();
    let other = TrackId::parse("0000000000000000000002").unwrap();
    let excluding = |ids: &[TrackId]| TrackFilter {
        exclude_ids: ids.iter().copied().collect(),
        ..Default::default()
    };
    assert!(!passes(excluding(&[other, t.id]), &t));
    assert!(passes(excluding(&[other]), &t));
}

#[test]
fn feature_bounds_are_inclusive_and_fail_unknown_values() {
    // The sample plays at 122 BPM with energy 0.8 and no time signature.
    let mut t = queen();
    let bounded = |feature: Feature, lo: Option<f64>, hi: Option<f64>| {
        let mut f = TrackFilter::default();
        f.features[feature as usize] = (lo, hi);
        f
    };
    assert!(passes(
        bounded(Feature::Tempo, Some(120.0), Some(130.0)),
        &t
    ));
    assert!(passes(
        bounded(Feature::Tempo, Some(122.0), Some(122.0)),
        &t
    ));
    assert!(!passes(bounded(Feature::Tempo, Some(123.0), None), &t));
    assert!(!passes(bounded(Feature::Energy, None, Some(0.5)), &t));
    assert!(passes(
        bounded(Feature::Loudness, Some(-6.0), Some(-5.0)),
        &t
    ));
    assert!(!passes(
        bounded(Feature::TimeSignature, Some(3.0), None),
        &t
    ));
    t.features.tempo = None;
    assert!(!passes(bounded(Feature::Tempo, Some(0.0), None), &t));
    // Bounds on several features must all hold.
    let mut both = bounded(Feature::Energy, Some(0.5), None);
    both.features[Feature::Danceability as usize] = (None, Some(0.5));
    assert!(!passes(both, &t));
}

#[test]
fn an_empty_feature_range_is_an_invalid_argument() {
    let mut f = TrackFilter::default();
    f.features[Feature::Tempo as usize] = (Some(130.0), Some(120.0));
    let err = f.new().unwrap_err();
    assert!(
        matches!(&err, DomainError::InvalidArgument(m) if m.contains("tempo")),
        "{err}"
    );
}

#[test]
fn a_bound_equal_to_a_stored_f32_value_keeps_the_track() {
    let mut t = queen();
    t.features.energy = 0.6;
    let mut bounds = TrackFilter::default();
    bounds.features[Feature::Energy as usize] = (Some(0.6), Some(0.6));
    assert!(passes(bounds, &t), "0.6 read back from f32 is 0.6000000238");
}
