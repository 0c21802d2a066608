//! The feature space: how audio features become the vectors the index
//! compares, and how a distance between two tracks is explained.
//!
//! Raw features live on different scales (tempo in BPM, loudness in dB, the
//! rest in 0..1), so raw Euclidean distance would be decided by tempo and
//! loudness alone. Version 1 of the space therefore encodes each feature as
//! follows, with statistics fitted on the catalog when the index is built:
//!
//! | feature            | encoding                                   | weight |
//! |--------------------|--------------------------------------------|--------|
//! | danceability       | standardised (z-score), clipped to ±3      | 1.0    |
//! | energy             | standardised                               | 1.0    |
//! | valence            | standardised                               | 1.0    |
//! | acousticness       | standardised                               | 1.0    |
//! | instrumentalness   | standardised                               | 0.75   |
//! | speechiness        | standardised                               | 0.75   |
//! | loudness           | standardised                               | 0.75   |
//! | liveness           | standardised                               | 0.5    |
//! | tempo              | standardised log2(BPM)                     | 0.5    |
//! | mode               | standardised 0/1                           | 0.25   |
//! | duration_ms        | standardised ln(ms)                        | 0.25   |
//! | key                | point on the circle of fifths (cos, sin)   | 0.25   |
//!
//! Why: the mood-and-texture features (danceability, energy, valence,
//! acousticness) carry most of what listeners mean by "sounds like"; liveness
//! describes the recording more than the music. Tempo on a log scale makes
//! 60→120 BPM (an octave, the usual tempo-detection error) one step instead
//! of dominating; keys a fifth apart sound related, so they are neighbours on
//! the circle. Clipping keeps the rare extreme values of skewed features
//! (speechiness, instrumentalness) from swamping every other dimension.
//! Time signature is not encoded: it is absent from the shared dataset and
//! 4/4 for most of the rest. Unknown values encode as the catalog mean (0).
//!
//! The space is versioned and stored with the index snapshot: vectors are
//! only comparable when made with the same statistics, so incremental
//! inserts reuse the stored ones and a change of [`FEATURE_SPACE_VERSION`]
//! forces a rebuild.

use serde::{Deserialize, Serialize};
use std::borrow::Borrow;

use super::feature::{FeatureValues, FEATURE_COUNT};
use super::Feature;

/// Version of the encoding rules above. Bump it whenever they change.
pub const FEATURE_SPACE_VERSION: u32 = 1;

/// Values beyond this many standard deviations are clipped.
const CLIP: f64 = 3.0;

/// How one vector dimension is computed from a feature.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Encoding {
    /// `(x - center) / scale`, clipped.
    Standard,
    /// `(ln x - center) / scale`, clipped.
    Log,
    /// `(log2 x - center) / scale`, clipped.
    Log2,
    /// Cosine of the key's angle on the circle of fifths.
    FifthsCos,
    /// Sine of the key's angle on the circle of fifths.
    FifthsSin,
}

/// One dimension of the vector.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub feature: Feature,
    pub encoding: Encoding,
    pub center: f64,
    pub scale: f64,
    pub weight: f64,
}

/// The feature space: its version and one [`Column`] per vector dimension.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureSpace {
    pub version: u32,
    pub columns: Vec<Column>,
}

/// Version-1 columns: (feature, encoding, weight, default center, default
/// scale). The defaults are typical values of popular music, used only until
/// a catalog exists to fit them on.
const V1: [(Feature, Encoding, f64, f64, f64); 13] = [
    (Feature::Danceability, Encoding::Standard, 1.0, 0.65, 0.15),
    (Feature::Energy, Encoding::Standard, 1.0, 0.70, 0.18),
    (Feature::Valence, Encoding::Standard, 1.0, 0.51, 0.23),
    (Feature::Acousticness, Encoding::Standard, 1.0, 0.18, 0.22),
    (
        Feature::Instrumentalness,
        Encoding::Standard,
        0.75,
        0.08,
        0.22,
    ),
    (Feature::Speechiness, Encoding::Standard, 0.75, 0.10, 0.10),
    (Feature::Loudness, Encoding::Standard, 0.75, -6.7, 3.0),
    (Feature::Liveness, Encoding::Standard, 0.5, 0.19, 0.15),
    (Feature::Tempo, Encoding::Log2, 0.5, 6.9, 0.32),
    (Feature::Mode, Encoding::Standard, 0.25, 0.56, 0.5),
    (Feature::DurationMs, Encoding::Log, 0.25, 12.3, 0.25),
    (Feature::Key, Encoding::FifthsCos, 0.25, 0.0, 1.0),
    (Feature::Key, Encoding::FifthsSin, 0.25, 0.0, 1.0),
];

impl Default for FeatureSpace {
    /// Version 1 with default statistics, for an empty catalog.
    fn default() -> Self {
        FeatureSpace {
            version: FEATURE_SPACE_VERSION,
            columns: V1
                .iter()
                .map(|&(feature, encoding, weight, center, scale)| Column {
                    feature,
                    encoding,
                    center,
                    scale,
                    weight,
                })
                .collect(),
        }
    }
}

impl Encoding {
    /// The value before centring and scaling; `None` where undefined.
    fn transform(self, x: f64) -> Option<f64> {
        match self {
            Encoding::Standard => Some(x),
            Encoding::Log => (x > 0.0).then(|| x.ln()),
            Encoding::Log2 => (x > 0.0).then(|| x.log2()),
            Encoding::FifthsCos | Encoding::FifthsSin => {
                // Position of the pitch class on the circle of fifths.
                let step = (x as i64 * 7).rem_euclid(12) as f64;
                let angle = step * std::f64::consts::TAU / 12.0;
                Some(if self == Encoding::FifthsCos {
                    angle.cos()
                } else {
                    angle.sin()
                })
            }
        }
    }

    /// Whether centre and scale are fitted on the catalog.
    fn fitted(self) -> bool {
        matches!(self, Encoding::Standard | Encoding::Log | Encoding::Log2)
    }
}

impl Column {
    /// The weighted coordinate of one feature value; 0 (the mean) when the
    /// value is unknown.
    fn encode(&self, value: Option<f64>) -> f64 {
        let Some(t) = value.and_then(|x| self.encoding.transform(x)) else {
            return 0.0;
        };
        let z = if self.encoding.fitted() {
            ((t - self.center) / self.scale).clamp(-CLIP, CLIP)
        } else {
            t
        };
        z * self.weight
    }
}

impl FeatureSpace {
    /// Version 1 with centre and scale fitted on `tracks`: mean and standard
    /// deviation of each transformed feature. Columns whose feature has
    /// fewer than two known values, or no spread, keep their defaults.
    pub fn fit(tracks: impl IntoIterator<Item = impl Borrow<FeatureValues>>) -> Self {
        FeatureSpace::default().fitted(tracks)
    }

    /// A space other than version 1, from (feature, encoding, weight)
    /// columns, fitted on `tracks` like [`FeatureSpace::fit`]: how
    /// `timbre evaluate` compares candidate spaces with version 1 before
    /// one replaces it. Its version is 0, which no snapshot holds, so
    /// [`FeatureSpace::is_current`] is false and such a space is never
    /// mistaken for the server's. Unfitted columns start at centre 0,
    /// scale 1.
    pub fn with_columns(
        columns: impl IntoIterator<Item = (Feature, Encoding, f64)>,
        tracks: impl IntoIterator<Item = impl Borrow<FeatureValues>>,
    ) -> Self {
        FeatureSpace {
            version: 0,
            columns: columns
                .into_iter()
                .map(|(feature, encoding, weight)| Column {
                    feature,
                    encoding,
                    center: 0.0,
                    scale: 1.0,
                    weight,
                })
                .collect(),
        }
        .fitted(tracks)
    }

    /// This space with centre and scale of its fitted columns set to the
    /// mean and standard deviation over `tracks`.
    fn fitted(self, tracks: impl IntoIterator<Item = impl Borrow<FeatureValues>>) -> Self {
        let mut space = self;
        let mut sums = vec![(0usize, 0.0f64, 0.0f64); space.columns.len()];
        for values in tracks {
            let values = values.borrow();
            for (column, sum) in space.columns.iter().zip(&mut sums) {
                if let Some(t) =
                    values[column.feature as usize].and_then(|x| column.encoding.transform(x))
                {
                    sum.0 += 1;
                    sum.1 += t;
                    sum.2 += t * t;
                }
            }
        }
        for (column, (n, s, ss)) in space.columns.iter_mut().zip(sums) {
            if !column.encoding.fitted() || n < 2 {
                continue;
            }
            let mean = s / n as f64;
            let var = (ss / n as f64 - mean * mean).max(0.0);
            if var.sqrt() > 1e-9 {
                column.center = mean;
                column.scale = var.sqrt();
            }
        }
        space
    }

    /// Number of vector dimensions.
    pub fn dim(&self) -> usize {
        self.columns.len()
    }

    /// Whether vectors made by this space can be compared with vectors made
    /// by the current code.
    pub fn is_current(&self) -> bool {
        self.version == FEATURE_SPACE_VERSION && self.columns.len() == V1.len()
    }

    /// The vector of a set of feature values (unknown values at the mean).
    pub fn encode(&self, values: &FeatureValues) -> Vec<f32> {
        self.columns
            .iter()
            .map(|c| c.encode(values[c.feature as usize]) as f32)
            .collect()
    }

    /// Sets the coordinates of `feature` in `vector` to those of `value`:
    /// how a target value (Spotify's `target_*`) overrides what the seeds
    /// say about one feature and leaves the others as they are.
    pub fn assign(&self, vector: &mut [f32], feature: Feature, value: f64) {
        for (x, c) in vector.iter_mut().zip(&self.columns) {
            if c.feature == feature {
                *x = c.encode(Some(value)) as f32;
            }
        }
    }

    /// Explains the distance between a seed and a candidate: for every
    /// feature both know and the space encodes, its difference in its own
    /// units and its share of the squared distance, closest first.
    pub fn compare(&self, seed: &FeatureValues, candidate: &FeatureValues) -> Explanation {
        let mut contribution = [0.0f64; FEATURE_COUNT];
        let mut known = [false; FEATURE_COUNT];
        for c in &self.columns {
            let i = c.feature as usize;
            if seed[i].is_some() && candidate[i].is_some() {
                let d = c.encode(seed[i]) - c.encode(candidate[i]);
                contribution[i] += d * d;
                known[i] = true;
            }
        }
        let total: f64 = contribution.iter().sum();
        let mut comparisons: Vec<FeatureComparison> = Feature::ALL
            .into_iter()
            .filter(|f| known[*f as usize])
            .map(|feature| {
                let i = feature as usize;
                let (s, v) = (
                    seed[i].unwrap_or_default(),
                    candidate[i].unwrap_or_default(),
                );
                FeatureComparison {
                    feature,
                    seed_value: s,
                    value: v,
                    difference: v - s,
                    share: if total > 0.0 {
                        contribution[i] / total
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        comparisons.sort_by(|a, b| a.share.total_cmp(&b.share));
        Explanation { comparisons }
    }
}

/// Euclidean distance between two vectors of the space, the metric the
/// index searches by.
pub fn distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt()
}

/// Turns a distance in the feature space into a similarity score in
/// (0, 1]: 1 for identical features, 0.5 at distance 1, falling towards 0.
pub fn score(distance: f32) -> f32 {
    1.0 / (1.0 + distance.max(0.0))
}

/// How one feature of a candidate compares with the seed.
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureComparison {
    pub feature: Feature,
    /// The seed's value, in the feature's own units.
    pub seed_value: f64,
    /// The candidate's value, in the feature's own units.
    pub value: f64,
    /// `value - seed_value`, in the feature's own units.
    pub difference: f64,
    /// This feature's share of the squared distance, 0..=1.
    pub share: f64,
}

/// Per-feature comparison of a candidate with its seed, closest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    pub comparisons: Vec<FeatureComparison>,
}

impl Explanation {
    /// The `n` features that lie closest to the seed.
    pub fn closest(&self, n: usize) -> &[FeatureComparison] {
        &self.comparisons[..n.min(self.comparisons.len())]
    }

    /// The `n` features that lie farthest from the seed, farthest first.
    pub fn farthest(&self, n: usize) -> Vec<FeatureComparison> {
        self.comparisons.iter().rev().take(n).cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::feature::tests::raw_sample;
    use super::super::AudioFeatures;
    use super::*;
    use proptest::prelude::*;

    fn sample() -> FeatureValues {
        AudioFeatures::parse(&raw_sample()).unwrap().values()
    }

    #[test]
    fn identical_features_encode_identically_and_score_one() {
        let space = FeatureSpace::default();
        let a = space.encode(&sample());
        assert_eq!(a.len(), space.dim());
        assert_eq!(a, space.encode(&sample()));
        assert_eq!(score(0.0), 1.0);
        assert!(score(1.0) == 0.5 && score(10.0) < 0.1);
    }

    #[test]
    fn tempo_octaves_are_one_step_apart() {
        let space = FeatureSpace::default();
        let tempo = space
            .columns
            .iter()
            .find(|c| c.feature == Feature::Tempo)
            .unwrap();
        // Within the clipping range, any doubling is the same step.
        let d1 = tempo.encode(Some(160.0)) - tempo.encode(Some(80.0));
        let d2 = tempo.encode(Some(220.0)) - tempo.encode(Some(110.0));
        assert!((d1 - d2).abs() < 1e-9);
    }

    #[test]
    fn keys_a_fifth_apart_are_closer_than_a_semitone() {
        let space = FeatureSpace::default();
        let key_vec = |k: f64| {
            let mut v = sample();
            v[Feature::Key as usize] = Some(k);
            space.encode(&v)
        };
        let dist = |a: &[f32], b: &[f32]| -> f32 {
            a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f32>()
        };
        let c = key_vec(0.0);
        assert!(dist(&c, &key_vec(7.0)) < dist(&c, &key_vec(1.0)));
    }

    #[test]
    fn a_space_with_other_columns_is_fitted_and_never_current() {
        let tracks: Vec<FeatureValues> = (0..100)
            .map(|i| {
                let mut v = sample();
                v[Feature::Tempo as usize] = Some(60.0 + f64::from(i));
                v
            })
            .collect();
        let space = FeatureSpace::with_columns(
            [
                (Feature::Tempo, Encoding::Standard, 2.0),
                (Feature::Key, Encoding::FifthsCos, 1.0),
            ],
            &tracks,
        );
        assert_eq!(space.dim(), 2);
        assert!(!space.is_current());
        let tempo = space.columns[0];
        assert!((tempo.center - 109.5).abs() < 1e-9 && tempo.weight == 2.0);
        assert_eq!(
            (space.columns[1].center, space.columns[1].scale),
            (0.0, 1.0)
        );
    }

    #[test]
    fn fitting_centres_the_catalog() {
        let mut tracks = Vec::new();
        for i in 0..100 {
            let mut v = sample();
            v[Feature::Energy as usize] = Some(i as f64 / 100.0);
            tracks.push(v);
        }
        let space = FeatureSpace::fit(&tracks);
        let energy = space
            .columns
            .iter()
            .find(|c| c.feature == Feature::Energy)
            .unwrap();
        assert!((energy.center - 0.495).abs() < 1e-9);
        let mean: f64 = tracks
            .iter()
            .map(|t| energy.encode(t[Feature::Energy as usize]))
            .sum::<f64>()
            / 100.0;
        assert!(mean.abs() < 1e-9);
    }

    #[test]
    fn the_explanation_names_the_feature_that_differs() {
        let space = FeatureSpace::default();
        let seed = sample();
        let mut other = sample();
        other[Feature::Energy as usize] = Some(0.2);
        let e = space.compare(&seed, &other);
        let far = &e.farthest(1)[0];
        assert_eq!(far.feature, Feature::Energy);
        assert!((far.difference - (0.2 - 0.8)).abs() < 1e-6);
        assert!((far.share - 1.0).abs() < 1e-9);
        assert_eq!(e.closest(3).len(), 3);
    }

    proptest! {
        #[test]
        fn every_coordinate_is_finite_and_bounded(
            d in 0.0f64..=1.0, e in 0.0f64..=1.0, l in -60.0f64..=5.0,
            t in 1.0f64..=300.0, k in 0u8..12, ms in 1.0f64..=2.16e7,
        ) {
            let mut v = sample();
            v[Feature::Danceability as usize] = Some(d);
            v[Feature::Energy as usize] = Some(e);
            v[Feature::Loudness as usize] = Some(l);
            v[Feature::Tempo as usize] = Some(t);
            v[Feature::Key as usize] = Some(f64::from(k));
            v[Feature::DurationMs as usize] = Some(ms);
            let space = FeatureSpace::default();
            for (x, c) in space.encode(&v).iter().zip(&space.columns) {
                prop_assert!(x.is_finite());
                prop_assert!(f64::from(x.abs()) <= CLIP * c.weight + 1e-6);
            }
        }
    }
}
