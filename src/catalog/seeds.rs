//! Seeds in the feature space: every seed entry of a request (a track, an
//! album, an artist, a genre, a set of feature values) becomes one point,
//! a track's vector or the centroid of its group's tracks, with the mean
//! feature values that explanations compare against.

use crate::domain::feature::FEATURE_COUNT;
use crate::domain::{Feature, FeatureValues, Seeds, TrackFields, TrackId};
use crate::error::{Error, Result};

use super::{Catalog, TrackRef};

/// What kind of seed a point came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SeedKind {
    Track,
    Album,
    Artist,
    Genre,
    Features,
    /// No seed: the request's target values alone.
    Target,
}

/// The seed a result is closest to, as the request named it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRef {
    pub kind: SeedKind,
    /// A readable name: the track's title and artist, the album's or
    /// artist's name as the catalog spells it, the genre.
    pub name: String,
    /// The track or album id, where there is one.
    pub id: Option<String>,
}

/// One seed entry placed in the feature space.
#[derive(Debug, Clone)]
pub struct SeedPoint {
    pub seed: SeedRef,
    pub vector: Vec<f32>,
    /// Mean feature values of the seed's tracks (or the values given).
    pub values: FeatureValues,
    /// The seed's own track, for a track seed.
    pub track: Option<TrackId>,
}

impl Catalog {
    /// Places every seed entry in the feature space.
    ///
    /// # Errors
    /// [`Error::TrackNotFound`], [`Error::GenreNotFound`], or
    /// [`Error::Invalid`] for an album or artist without tracks.
    pub fn seed_points(&self, seeds: &Seeds) -> Result<Vec<SeedPoint>> {
        let mut points = Vec::with_capacity(seeds.len());
        for id in &seeds.track_ids {
            let track = self.get(id).ok_or(Error::TrackNotFound(*id))?;
            points.push(SeedPoint {
                seed: SeedRef {
                    kind: SeedKind::Track,
                    name: title(&track),
                    id: Some(id.to_string()),
                },
                vector: self.vector_of(&track),
                values: track.features().values(),
                track: Some(*id),
            });
        }
        for (kind, names) in [
            (SeedKind::Album, &seeds.albums),
            (SeedKind::Artist, &seeds.artists),
            (SeedKind::Genre, &seeds.genres),
        ] {
            for name in names {
                points.push(self.group_point(kind, name.trim())?);
            }
        }
        for values in &seeds.features {
            points.push(SeedPoint {
                seed: SeedRef {
                    kind: SeedKind::Features,
                    name: describe(values),
                    id: None,
                },
                vector: self.space.encode(values),
                values: *values,
                track: None,
            });
        }
        Ok(points)
    }

    /// The track's vector as indexed (or freshly encoded).
    pub(crate) fn vector_of(&self, track: &impl TrackFields) -> Vec<f32> {
        self.index
            .get(&track.id())
            .map(<[f32]>::to_vec)
            .unwrap_or_else(|| self.space.encode(&track.features().values()))
    }

    /// The centroid of an album's, artist's or genre's tracks, cached until
    /// the next write: finding the tracks scans the catalog, and the same
    /// artists and genres come back request after request. The cache holds
    /// at most one entry per album, artist and genre of the catalog.
    fn group_point(&self, kind: SeedKind, wanted: &str) -> Result<SeedPoint> {
        let key = (kind, wanted.to_lowercase());
        if let Some(point) = self.groups.lock().get(&key) {
            return Ok(point.clone());
        }
        let point = match kind {
            SeedKind::Album => {
                let tracks = self.matching(|t| t.on_album(wanted));
                let first = tracks.first().ok_or_else(|| {
                    Error::invalid(format!(
                        "no album named {wanted:?} (or with that id) in the catalog"
                    ))
                })?;
                let seed = SeedRef {
                    kind,
                    name: first.album().name.clone().unwrap_or_else(|| wanted.into()),
                    id: first.album().id.clone(),
                };
                self.centroid_point(seed, &tracks)
            }
            SeedKind::Artist => {
                let tracks = self.matching(|t| t.credits(wanted));
                let first = tracks.first().ok_or_else(|| {
                    Error::invalid(format!("no track by artist {wanted:?} in the catalog"))
                })?;
                let name = first
                    .artists()
                    .iter()
                    .find(|a| a.eq_ignore_ascii_case(wanted))
                    .cloned()
                    .unwrap_or_else(|| wanted.into());
                let seed = SeedRef {
                    kind,
                    name,
                    id: None,
                };
                self.centroid_point(seed, &tracks)
            }
            _ => {
                let name = key.1.clone();
                let tracks =
                    self.matching(|t| t.genres().contains(&name) || t.subgenres().contains(&name));
                if tracks.is_empty() {
                    return Err(Error::GenreNotFound(name));
                }
                let seed = SeedRef {
                    kind: SeedKind::Genre,
                    name,
                    id: None,
                };
                self.centroid_point(seed, &tracks)
            }
        };
        self.groups.lock().insert(key, point.clone());
        Ok(point)
    }

    /// The tracks `keep` accepts, in id order (so the first names the
    /// group the same way every time).
    fn matching(&self, keep: impl Fn(&TrackRef<'_>) -> bool) -> Vec<TrackRef<'_>> {
        self.tracks().filter(|t| keep(t)).collect()
    }

    fn centroid_point(&self, seed: SeedRef, tracks: &[TrackRef<'_>]) -> SeedPoint {
        let vectors: Vec<Vec<f32>> = tracks.iter().map(|t| self.vector_of(t)).collect();
        let values: Vec<FeatureValues> = tracks.iter().map(|t| t.features().values()).collect();
        SeedPoint {
            seed,
            vector: mean(vectors.iter().map(Vec::as_slice)),
            values: mean_values(values.iter()),
            track: None,
        }
    }
}

/// "Title by Artist", or the id for an untitled track.
fn title(track: &impl TrackFields) -> String {
    let name = track
        .name()
        .map_or_else(|| track.id().to_string(), str::to_string);
    match track.artists().first() {
        Some(a) => format!("{name} by {a}"),
        None => name,
    }
}

/// "energy 0.8, tempo 124": the values a feature seed gives.
fn describe(values: &FeatureValues) -> String {
    Feature::ALL
        .iter()
        .filter_map(|f| values[*f as usize].map(|v| format!("{f} {v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Element-wise mean of equally long vectors.
pub(crate) fn mean<'a>(vectors: impl Iterator<Item = &'a [f32]>) -> Vec<f32> {
    let mut sum: Vec<f32> = Vec::new();
    let mut n = 0usize;
    for v in vectors {
        if sum.is_empty() {
            sum = vec![0.0; v.len()];
        }
        sum.iter_mut().zip(v).for_each(|(s, x)| *s += x);
        n += 1;
    }
    sum.iter_mut().for_each(|s| *s /= n.max(1) as f32);
    sum
}

/// Per-feature mean of the values known in each set.
pub(crate) fn mean_values<'a>(values: impl Iterator<Item = &'a FeatureValues>) -> FeatureValues {
    let mut sum = [(0.0, 0usize); FEATURE_COUNT];
    for v in values {
        for (s, x) in sum.iter_mut().zip(v) {
            if let Some(x) = x {
                s.0 += x;
                s.1 += 1;
            }
        }
    }
    sum.map(|(s, n)| (n > 0).then(|| s / n as f64))
}
