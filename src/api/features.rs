//! The GraphQL types with a field or value per audio feature, derived from
//! the one feature table (`domain::feature::for_each_feature`): the
//! `Feature` enum, target values (`FeaturesInput`), changes to values
//! (`FeatureShiftInput`, continuous features only) and a track's features
//! in a mutation (`AudioFeaturesInput`, the wire record's shape). Each
//! macro below turns the table into one type and its conversion; docs and
//! GraphQL types per kind of feature are written once, in the macro.

use async_graphql::{Enum, InputObject};

use crate::domain::feature::for_each_feature;
use crate::domain::{Feature, FeatureValues, RawFeatures};
use crate::error::{Error, Result};
use crate::ingest::FeatureRecord;

macro_rules! feature_name {
    ($($variant:ident $field:ident $kind:ident $presence:ident,)*) => {
        /// A Spotify audio feature. Units: see each field of `AudioFeatures`.
        #[derive(Enum, Copy, Clone, Eq, PartialEq)]
        #[graphql(name = "Feature", remote = "crate::domain::Feature")]
        pub enum FeatureName {
            $($variant,)*
        }
    };
}
for_each_feature!(feature_name);

/// `FeaturesInput`: whole-number features (key, mode, time signature) are
/// `Int`, the others `Float`; a few carry their unit or range.
macro_rules! features_input {
    (@fields [$($done:tt)*]) => {
        /// Target audio-feature values; give any subset. Ranges as in `AudioFeatures`.
        #[derive(InputObject, Clone, Default)]
        #[graphql(name = "FeaturesInput")]
        pub struct FeaturesInput {
            $($done)*
        }
    };
    (@fields [$($done:tt)*] $field:ident Pitch, $($rest:tt)*) => {
        features_input!(@fields [$($done)* #[doc = "Pitch class 0 to 11."] pub $field: Option<i32>,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Modality, $($rest:tt)*) => {
        features_input!(@fields [$($done)* #[doc = "1 = major, 0 = minor."] pub $field: Option<i32>,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Beats, $($rest:tt)*) => {
        features_input!(@fields [$($done)* pub $field: Option<i32>,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Decibels, $($rest:tt)*) => {
        features_input!(@fields [$($done)* #[doc = "dB, -60 to 5."] pub $field: Option<f64>,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Bpm, $($rest:tt)*) => {
        features_input!(@fields [$($done)* #[doc = "BPM."] pub $field: Option<f64>,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident $kind:ident, $($rest:tt)*) => {
        features_input!(@fields [$($done)* pub $field: Option<f64>,] $($rest)*);
    };
    ($($variant:ident $field:ident $kind:ident $presence:ident,)*) => {
        features_input!(@fields [] $($field $kind,)*);

        impl FeaturesInput {
            /// The given values, by feature.
            fn raw(&self) -> RawFeatures {
                let mut raw = RawFeatures::default();
                $(if let Some(v) = self.$field {
                    raw.set(Feature::$variant, f64::from(v));
                })*
                raw
            }
        }
    };
}
for_each_feature!(features_input);

impl FeaturesInput {
    /// Checked feature values.
    ///
    /// # Errors
    /// [`Error::Invalid`] when no value is given or one is out of range.
    pub fn into_domain(self) -> Result<FeatureValues> {
        Ok(self.raw().check_partial()?)
    }
}

/// `FeatureShiftInput`: a change per continuous feature, in its unit;
/// whole-number features (key, mode, time signature) cannot be shifted.
macro_rules! feature_shift_input {
    (@fields [$($done:tt)*]) => {
        /// Changes to feature values, in each feature's unit; negative lowers.
        #[derive(InputObject, Default)]
        pub struct FeatureShiftInput {
            $($done)*
        }
    };
    (@fields [$($done:tt)*] $field:ident Pitch, $($rest:tt)*) => {
        feature_shift_input!(@fields [$($done)*] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Modality, $($rest:tt)*) => {
        feature_shift_input!(@fields [$($done)*] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Beats, $($rest:tt)*) => {
        feature_shift_input!(@fields [$($done)*] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Decibels, $($rest:tt)*) => {
        feature_shift_input!(@fields [$($done)* #[doc = "dB."] pub $field: Option<f64>,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident Bpm, $($rest:tt)*) => {
        feature_shift_input!(@fields [$($done)* #[doc = "BPM."] pub $field: Option<f64>,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident $kind:ident, $($rest:tt)*) => {
        feature_shift_input!(@fields [$($done)* pub $field: Option<f64>,] $($rest)*);
    };
    // One feature's change, read by `changes` below: none for a feature
    // that has no field.
    (@read $input:tt $changes:tt $variant:ident $field:ident Pitch) => {};
    (@read $input:tt $changes:tt $variant:ident $field:ident Modality) => {};
    (@read $input:tt $changes:tt $variant:ident $field:ident Beats) => {};
    (@read $input:tt $changes:tt $variant:ident $field:ident $kind:ident) => {
        if let Some(d) = $input.$field {
            $changes.push((Feature::$variant, d));
        }
    };
    ($($variant:ident $field:ident $kind:ident $presence:ident,)*) => {
        feature_shift_input!(@fields [] $($field $kind,)*);

        impl FeatureShiftInput {
            /// The given changes, by feature.
            fn changes(&self) -> Vec<(Feature, f64)> {
                let mut changes = Vec::new();
                $(feature_shift_input!(@read self changes $variant $field $kind);)*
                changes
            }
        }
    };
}
for_each_feature!(feature_shift_input);

impl FeatureShiftInput {
    /// The changes by feature, each within ± its feature's range.
    ///
    /// # Errors
    /// [`Error::Invalid`] for a change larger than the feature's range.
    pub fn into_domain(self) -> Result<FeatureValues> {
        let mut values: FeatureValues = Default::default();
        for (feature, d) in self.changes() {
            let (lo, hi) = feature.range();
            if !d.is_finite() || d.abs() > hi - lo {
                return Err(Error::invalid(format!(
                    "shift of {feature} must lie within ±{}, got {d}",
                    hi - lo
                )));
            }
            values[feature as usize] = Some(d);
        }
        Ok(values)
    }
}

/// `AudioFeaturesInput`: the wire record's shape ([`FeatureRecord`]), all
/// `Float`, optional where a track may lack the feature.
macro_rules! audio_features_input {
    (@fields [$($done:tt)*]) => {
        /// Audio features in the units of Spotify's Web API (see `AudioFeatures`).
        #[derive(InputObject)]
        pub struct AudioFeaturesInput {
            $($done)*
        }
    };
    (@fields [$($done:tt)*] $field:ident required, $($rest:tt)*) => {
        audio_features_input!(@fields [$($done)* pub $field: f64,] $($rest)*);
    };
    (@fields [$($done:tt)*] $field:ident optional, $($rest:tt)*) => {
        audio_features_input!(@fields [$($done)* pub $field: Option<f64>,] $($rest)*);
    };
    ($($variant:ident $field:ident $kind:ident $presence:ident,)*) => {
        audio_features_input!(@fields [] $($field $presence,)*);

        impl From<AudioFeaturesInput> for FeatureRecord {
            fn from(f: AudioFeaturesInput) -> Self {
                FeatureRecord { $($field: f.$field,)* }
            }
        }
    };
}
for_each_feature!(audio_features_input);
