//! Audio features: which there are, their units and valid ranges, and the
//! checked [`AudioFeatures`] value every track carries.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{DomainError, Result};

/// The one list of audio features, from which every per-feature type is
/// derived: the [`Feature`] enum here, the GraphQL inputs and enum
/// (`api/features.rs`), the wire record of tracks (`ingest/record.rs`) and,
/// through [`Feature::ALL`] and [`Feature::column`], the CSV and Web API
/// readers and the JSON Schema. A new feature is one line here (and its
/// encoding in the feature space).
///
/// Each entry is `Variant field kind presence`: `field` is the column name
/// of the datasets and the Web API (and, in camelCase, the GraphQL field);
/// `kind` gives the unit, range and whether values are whole numbers
/// ([`FeatureKind`]); `presence` says whether every track must carry it.
/// `$callback` is called with the whole table, after any leading arguments.
macro_rules! for_each_feature {
    ($callback:ident $(, $args:tt)*) => {
        $callback! { $($args)*
            Danceability danceability Ratio required,
            Energy energy Ratio required,
            Key key Pitch optional,
            Loudness loudness Decibels required,
            Mode mode Modality required,
            Speechiness speechiness Ratio required,
            Acousticness acousticness Ratio required,
            Instrumentalness instrumentalness Ratio required,
            Liveness liveness Ratio required,
            Valence valence Ratio required,
            Tempo tempo Bpm optional,
            DurationMs duration_ms Milliseconds required,
            TimeSignature time_signature Beats optional,
        }
    };
}
pub(crate) use for_each_feature;

/// What kind of quantity a feature is: its unit, its range and whether its
/// values are whole numbers follow from this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeatureKind {
    /// A confidence or intensity, 0 to 1.
    Ratio,
    /// A pitch class, 0 = C … 11 = B.
    Pitch,
    /// Loudness in dB.
    Decibels,
    /// 0 = minor, 1 = major.
    Modality,
    /// Tempo in beats per minute.
    Bpm,
    /// A duration in milliseconds.
    Milliseconds,
    /// Beats per bar.
    Beats,
}

macro_rules! feature_enum {
    ($($variant:ident $field:ident $kind:ident $presence:ident,)*) => {
        /// One of Spotify's audio features. The order of [`Feature::ALL`] is
        /// the order used everywhere a per-feature table appears.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum Feature {
            $($variant,)*
        }

        impl Feature {
            /// Every feature, in table order.
            pub const ALL: [Feature; FEATURE_COUNT] = [$(Feature::$variant,)*];

            /// The column name used by the datasets and the Spotify Web API.
            pub fn column(self) -> &'static str {
                match self {
                    $(Feature::$variant => stringify!($field),)*
                }
            }

            /// What kind of quantity the feature is.
            pub fn kind(self) -> FeatureKind {
                match self {
                    $(Feature::$variant => FeatureKind::$kind,)*
                }
            }

            /// Whether every track must carry this feature.
            pub fn required(self) -> bool {
                match self {
                    $(Feature::$variant => stringify!($presence) == "required",)*
                }
            }
        }
    };
}
for_each_feature!(feature_enum);

/// Number of features in [`Feature::ALL`].
pub const FEATURE_COUNT: usize = {
    macro_rules! count {
        ($($variant:ident $field:ident $kind:ident $presence:ident,)*) => {
            [$(stringify!($variant),)*].len()
        };
    }
    for_each_feature!(count)
};

impl Feature {
    /// The unit a value of this feature is expressed in.
    pub fn unit(self) -> &'static str {
        match self.kind() {
            FeatureKind::Pitch => "pitch class (0 = C … 11 = B)",
            FeatureKind::Decibels => "dB",
            FeatureKind::Modality => "0 = minor, 1 = major",
            FeatureKind::Bpm => "BPM",
            FeatureKind::Milliseconds => "ms",
            FeatureKind::Beats => "beats per bar",
            FeatureKind::Ratio => "0..1",
        }
    }

    /// The range a valid value lies in (inclusive). Spotify documents
    /// loudness as -60..0 dB; mastered tracks reach a little above 0, so a
    /// few dB of headroom are accepted.
    pub fn range(self) -> (f64, f64) {
        match self.kind() {
            FeatureKind::Pitch => (0.0, 11.0),
            FeatureKind::Decibels => (-60.0, 5.0),
            FeatureKind::Modality => (0.0, 1.0),
            FeatureKind::Bpm => (0.0, 300.0),
            FeatureKind::Milliseconds => (1.0, 6.0 * 3_600_000.0),
            FeatureKind::Beats => (1.0, 7.0),
            FeatureKind::Ratio => (0.0, 1.0),
        }
    }

    /// Whether valid values are whole numbers (key, mode, time signature).
    pub fn integral(self) -> bool {
        matches!(
            self.kind(),
            FeatureKind::Pitch | FeatureKind::Modality | FeatureKind::Beats
        )
    }
}

impl fmt::Display for Feature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.column())
    }
}

/// A value per feature in [`Feature::ALL`] order; `None` where unknown.
pub type FeatureValues = [Option<f64>; FEATURE_COUNT];

/// Audio features as they arrive, before any check: numbers as the source
/// gave them, with Spotify's "unknown" sentinels (key -1, tempo 0,
/// time signature 0) still in place.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RawFeatures(pub FeatureValues);

impl RawFeatures {
    /// Sets one feature's raw value.
    pub fn set(&mut self, feature: Feature, value: f64) {
        self.0[feature as usize] = Some(value);
    }
}

/// Checked audio features. Every value is finite and within its range;
/// unknown key, tempo and time signature are `None` rather than sentinels.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AudioFeatures {
    pub danceability: f32,
    pub energy: f32,
    /// Pitch class 0..=11, `None` when Spotify could not detect a key.
    pub key: Option<u8>,
    pub loudness: f32,
    /// `true` for major, `false` for minor.
    pub major: bool,
    pub speechiness: f32,
    pub acousticness: f32,
    pub instrumentalness: f32,
    pub liveness: f32,
    pub valence: f32,
    /// `None` when Spotify could not detect a tempo (it reports 0).
    pub tempo: Option<f32>,
    pub duration_ms: u32,
    pub time_signature: Option<u8>,
}

impl AudioFeatures {
    /// Checks raw values and builds the features.
    ///
    /// # Errors
    /// [`DomainError::Missing`] for an absent required feature,
    /// [`DomainError::OutOfRange`] for a value outside [`Feature::range`]
    /// (or a non-integer key, mode or time signature).
    pub fn parse(raw: &RawFeatures) -> Result<Self> {
        let mut v = [None; FEATURE_COUNT];
        for feature in Feature::ALL {
            let value = raw.0[feature as usize];
            // Spotify's sentinels for "not detected".
            let value = match (feature, value) {
                (Feature::Key, Some(-1.0)) => None,
                (Feature::Tempo | Feature::TimeSignature, Some(0.0)) => None,
                (_, value) => value,
            };
            match value {
                None if feature.required() => return Err(DomainError::Missing(feature.column())),
                None => {}
                Some(x) => {
                    let (min, max) = feature.range();
                    if !x.is_finite()
                        || x < min
                        || x > max
                        || (feature.integral() && x.fract() != 0.0)
                    {
                        return Err(DomainError::OutOfRange {
                            feature,
                            value: x,
                            min,
                            max,
                        });
                    }
                    v[feature as usize] = Some(x);
                }
            }
        }
        let get = |f: Feature| v[f as usize].unwrap_or_default();
        Ok(AudioFeatures {
            danceability: get(Feature::Danceability) as f32,
            energy: get(Feature::Energy) as f32,
            key: v[Feature::Key as usize].map(|k| k as u8),
            loudness: get(Feature::Loudness) as f32,
            major: get(Feature::Mode) == 1.0,
            speechiness: get(Feature::Speechiness) as f32,
            acousticness: get(Feature::Acousticness) as f32,
            instrumentalness: get(Feature::Instrumentalness) as f32,
            liveness: get(Feature::Liveness) as f32,
            valence: get(Feature::Valence) as f32,
            tempo: v[Feature::Tempo as usize].map(|t| t as f32),
            duration_ms: get(Feature::DurationMs) as u32,
            time_signature: v[Feature::TimeSignature as usize].map(|t| t as u8),
        })
    }

    /// The value of one feature in its own units; `None` where unknown.
    pub fn get(&self, feature: Feature) -> Option<f64> {
        let f = |x: f32| Some(f64::from(x));
        match feature {
            Feature::Danceability => f(self.danceability),
            Feature::Energy => f(self.energy),
            Feature::Key => self.key.map(f64::from),
            Feature::Loudness => f(self.loudness),
            Feature::Mode => Some(if self.major { 1.0 } else { 0.0 }),
            Feature::Speechiness => f(self.speechiness),
            Feature::Acousticness => f(self.acousticness),
            Feature::Instrumentalness => f(self.instrumentalness),
            Feature::Liveness => f(self.liveness),
            Feature::Valence => f(self.valence),
            Feature::Tempo => self.tempo.map(f64::from),
            Feature::DurationMs => Some(f64::from(self.duration_ms)),
            Feature::TimeSignature => self.time_signature.map(f64::from),
        }
    }

    /// All values in [`Feature::ALL`] order.
    pub fn values(&self) -> FeatureValues {
        Feature::ALL.map(|f| self.get(f))
    }
}

impl RawFeatures {
    /// Checks a partial set of features, as a query gives them: every given
    /// value must lie in its range; at least one must be given. Sentinels
    /// are not accepted here: a query that does not know a value omits it.
    ///
    /// # Errors
    /// [`DomainError::OutOfRange`] for a value outside its range,
    /// [`DomainError::InvalidArgument`] when no value is given.
    pub fn check_partial(&self) -> Result<FeatureValues> {
        if self.0.iter().all(Option::is_none) {
            return Err(DomainError::InvalidArgument(
                "give at least one feature value".into(),
            ));
        }
        for feature in Feature::ALL {
            if let Some(x) = self.0[feature as usize] {
                let (min, max) = feature.range();
                if !x.is_finite() || x < min || x > max {
                    return Err(DomainError::OutOfRange {
                        feature,
                        value: x,
                        min,
                        max,
                    });
                }
            }
        }
        Ok(self.0)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A valid set of raw features, for tests.
    pub(crate) fn raw_sample() -> RawFeatures {
        let mut raw = RawFeatures::default();
        for (feature, value) in [
            (Feature::Danceability, 0.7),
            (Feature::Energy, 0.8),
            (Feature::Key, 5.0),
            (Feature::Loudness, -5.5),
            (Feature::Mode, 1.0),
            (Feature::Speechiness, 0.05),
            (Feature::Acousticness, 0.1),
            (Feature::Instrumentalness, 0.0),
            (Feature::Liveness, 0.12),
            (Feature::Valence, 0.6),
            (Feature::Tempo, 122.0),
            (Feature::DurationMs, 201_000.0),
        ] {
            raw.set(feature, value);
        }
        raw
    }

    #[test]
    fn valid_features_parse_and_read_back() {
        let f = AudioFeatures::parse(&raw_sample()).unwrap();
        assert_eq!(f.get(Feature::Tempo), Some(122.0));
        assert_eq!(f.get(Feature::Key), Some(5.0));
        assert!(f.major);
        assert_eq!(f.get(Feature::TimeSignature), None);
    }

    #[test]
    fn sentinels_mean_unknown() {
        let mut raw = raw_sample();
        raw.set(Feature::Key, -1.0);
        raw.set(Feature::Tempo, 0.0);
        let f = AudioFeatures::parse(&raw).unwrap();
        assert_eq!(f.key, None);
        assert_eq!(f.tempo, None);
    }

    #[test]
    fn out_of_range_and_missing_are_rejected() {
        let mut raw = raw_sample();
        raw.set(Feature::Energy, 1.5);
        let err = AudioFeatures::parse(&raw).unwrap_err();
        assert!(matches!(
            err,
            DomainError::OutOfRange {
                feature: Feature::Energy,
                ..
            }
        ));
        assert_eq!(err.to_string(), "energy = 1.5 is outside its range 0..=1");

        let mut raw = raw_sample();
        raw.0[Feature::Valence as usize] = None;
        assert_eq!(
            AudioFeatures::parse(&raw),
            Err(DomainError::Missing("valence"))
        );

        let mut raw = raw_sample();
        raw.set(Feature::Key, 2.5);
        assert!(AudioFeatures::parse(&raw).is_err());
        raw.set(Feature::Key, f64::NAN);
        assert!(AudioFeatures::parse(&raw).is_err());
    }
}
