//! Spotify Web API JSON: a `GET /v1/tracks` response (`{"tracks": [...]}`)
//! paired with a `GET /v1/audio-features` response
//! (`{"audio_features": [...]}`), either as two documents or merged into one
//! object holding both keys. The Web API sends `null` for ids it does not
//! know; such entries are skipped.

use std::collections::HashMap;

use serde::Deserialize;

use crate::domain::{
    Album, AudioFeatures, DomainError, Feature, RawFeatures, ReleaseDate, Track, TrackId,
};

use super::report::ImportReport;
use super::IngestError;

#[derive(Deserialize, Default)]
struct Document {
    #[serde(default)]
    tracks: Option<Vec<Option<ApiTrack>>>,
    #[serde(default)]
    audio_features: Option<Vec<Option<ApiFeatures>>>,
}

#[derive(Deserialize)]
struct ApiTrack {
    id: Option<String>,
    name: Option<String>,
    #[serde(default)]
    artists: Vec<ApiArtist>,
    album: Option<ApiAlbum>,
    popularity: Option<f64>,
    explicit: Option<bool>,
}

#[derive(Deserialize)]
struct ApiArtist {
    name: Option<String>,
}

#[derive(Deserialize)]
struct ApiAlbum {
    id: Option<String>,
    name: Option<String>,
    release_date: Option<String>,
}

/// The audio-features object; field names are the feature columns.
#[derive(Deserialize)]
struct ApiFeatures {
    id: Option<String>,
    #[serde(flatten)]
    values: HashMap<String, serde_json::Value>,
}

/// Parses one JSON document (or a tracks and a features document) into
/// tracks, rejecting tracks without valid audio features.
///
/// # Errors
/// [`IngestError::Json`] when a document is not JSON of the expected shape,
/// or no document holds `tracks` or `audio_features`.
pub(crate) fn read(
    main: &[u8],
    features: Option<&[u8]>,
    report: &mut ImportReport,
) -> Result<Vec<Track>, IngestError> {
    let bad = |reason: String| IngestError::Json {
        input: report.source.clone(),
        reason,
    };
    let mut doc: Document = serde_json::from_slice(main)
        .map_err(|e| bad(crate::domain::bounds::clip(&e.to_string())))?;
    if let Some(bytes) = features {
        let other: Document = serde_json::from_slice(bytes)
            .map_err(|e| bad(format!("audio features document: {e}")))?;
        doc.audio_features = other.audio_features.or(doc.audio_features);
        doc.tracks = doc.tracks.or(other.tracks);
    }
    let (Some(api_tracks), Some(api_features)) = (doc.tracks, doc.audio_features) else {
        return Err(bad(
            "expected a GET /v1/tracks response ({\"tracks\": [...]}) and a GET /v1/audio-features response ({\"audio_features\": [...]}), in one object or two files".into(),
        ));
    };
    let by_id: HashMap<String, ApiFeatures> = api_features
        .into_iter()
        .flatten()
        .filter_map(|f| f.id.clone().map(|id| (id, f)))
        .collect();

    let mut tracks: Vec<Track> = Vec::new();
    for (i, api) in api_tracks.into_iter().enumerate() {
        let Some(api) = api else { continue };
        report.rows_read += 1;
        match convert(api, &by_id) {
            Ok(track) if tracks.iter().any(|t| t.id == track.id) => {
                report.duplicates_merged += 1;
            }
            Ok(track) => tracks.push(track),
            Err(e) => report.reject(format!("tracks[{i}]"), &e),
        }
    }
    report.tracks = tracks.len();
    Ok(tracks)
}

fn convert(api: ApiTrack, features: &HashMap<String, ApiFeatures>) -> Result<Track, DomainError> {
    let id_text = api.id.unwrap_or_default();
    let id = TrackId::parse(&id_text)?;
    let found = features
        .get(id.as_str())
        .ok_or(DomainError::Missing("audio features for this track"))?;
    let mut raw = RawFeatures::default();
    for f in Feature::ALL {
        match found.values.get(f.column()) {
            None | Some(serde_json::Value::Null) => {}
            Some(v) => raw.set(
                f,
                v.as_f64().ok_or_else(|| DomainError::NotANumber {
                    field: f.column(),
                    value: crate::domain::bounds::echo(&v.to_string()),
                })?,
            ),
        }
    }
    let popularity = api
        .popularity
        .map(|p| {
            if (0.0..=100.0).contains(&p) {
                Ok(p as u8)
            } else {
                Err(DomainError::InvalidArgument(format!(
                    "popularity {p} is outside 0..=100"
                )))
            }
        })
        .transpose()?;
    let album = api.album.unwrap_or(ApiAlbum {
        id: None,
        name: None,
        release_date: None,
    });
    let mut track = Track {
        id,
        name: api.name,
        artists: api.artists.into_iter().filter_map(|a| a.name).collect(),
        album: Album {
            id: album.id,
            name: album.name,
            release_date: album
                .release_date
                .as_deref()
                .map(ReleaseDate::parse)
                .transpose()?,
        },
        popularity,
        explicit: api.explicit,
        genres: Vec::new(),
        subgenres: Vec::new(),
        playlists: Vec::new(),
        features: AudioFeatures::parse(&raw)?,
    };
    track.admit()?;
    Ok(track)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::TrackFields;

    const TRACKS: &str = r#"{"tracks": [
      {"id": "11dFghVXANMlKmJXsNCbNl", "name": "Cut To The Feeling", "popularity": 63, "explicit": false,
       "artists": [{"id": "6sFIWsNpZYqfjUpaCgueju", "name": "Carly Rae Jepsen"}],
       "album": {"id": "0tGPJ0bkWOUmH7MEOR77qc", "name": "Cut To The Feeling", "release_date": "2017-05-26"}},
      null,
      {"id": "7ouMYWpwJ422jRcDASZB7P", "name": "No features", "artists": []},
      {"id": "4VqPOruhp5EdPBeR92t6lQ", "name": "Too loud", "artists": []}
    ]}"#;

    const FEATURES: &str = r#"{"audio_features": [
      {"id": "11dFghVXANMlKmJXsNCbNl", "danceability": 0.696, "energy": 0.905, "key": 2, "loudness": -2.743,
       "mode": 1, "speechiness": 0.103, "acousticness": 0.011, "instrumentalness": 0.000905, "liveness": 0.302,
       "valence": 0.625, "tempo": 114.944, "duration_ms": 207960, "time_signature": 4, "type": "audio_features"},
      {"id": "4VqPOruhp5EdPBeR92t6lQ", "danceability": 0.5, "energy": 0.5, "key": 2, "loudness": 30,
       "mode": 1, "speechiness": 0.1, "acousticness": 0.1, "instrumentalness": 0, "liveness": 0.3,
       "valence": 0.6, "tempo": 114.9, "duration_ms": 207960, "time_signature": 4}
    ]}"#;

    #[test]
    fn pairs_tracks_with_their_features_from_two_documents() {
        let mut report = ImportReport::default();
        let tracks = read(TRACKS.as_bytes(), Some(FEATURES.as_bytes()), &mut report).unwrap();
        assert_eq!(tracks.len(), 1);
        let t = &tracks[0];
        assert_eq!(t.artists, ["Carly Rae Jepsen"]);
        assert_eq!(t.features.time_signature, Some(4));
        assert_eq!(t.release_year(), Some(2017));
        assert_eq!(report.rows_read, 3);
        let kinds: Vec<&str> = report.rejected.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, ["missing field", "feature out of range"]);
        assert_eq!(report.rejected[0].location, "tracks[2]");
    }

    #[test]
    fn accepts_one_merged_document_and_refuses_other_json() {
        let merged = format!(
            "{{\"tracks\": {}, \"audio_features\": {}}}",
            &TRACKS[TRACKS.find('[').unwrap()..TRACKS.rfind('}').unwrap()],
            &FEATURES[FEATURES.find('[').unwrap()..FEATURES.rfind('}').unwrap()]
        );
        let mut report = ImportReport::default();
        assert_eq!(read(merged.as_bytes(), None, &mut report).unwrap().len(), 1);
        let err = read(b"{\"items\": []}", None, &mut ImportReport::default()).unwrap_err();
        assert!(err.to_string().contains("/v1/tracks"), "{err}");
    }
}
