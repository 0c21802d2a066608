//! CSV import, by column names: the shared dataset's shape (one row per
//! track per playlist, `track_artist`, `playlist_*` columns) and the
//! "Spotify Tracks Dataset" shape (`artists` separated by `;`,
//! `track_genre`, `explicit`, `time_signature`). Column order and extra
//! columns do not matter.

use std::collections::HashMap;
use std::io::Read;

use crate::domain::{
    Album, AudioFeatures, DomainError, Feature, Playlist, RawFeatures, ReleaseDate, Track, TrackId,
};

use super::report::ImportReport;
use super::IngestError;

/// Positions of the columns we read; `None` where the file lacks one.
struct Columns {
    id: usize,
    name: Option<usize>,
    /// Artist column and whether it holds a `;`-separated list.
    artists: Option<(usize, bool)>,
    album_id: Option<usize>,
    album_name: Option<usize>,
    release_date: Option<usize>,
    popularity: Option<usize>,
    explicit: Option<usize>,
    playlist_id: Option<usize>,
    playlist_name: Option<usize>,
    genre: Option<usize>,
    subgenre: Option<usize>,
    features: [Option<usize>; Feature::ALL.len()],
}

impl Columns {
    /// Finds every known column by name (case-insensitive, first alias
    /// present wins).
    fn locate(headers: &csv::StringRecord, source: &str) -> Result<Self, IngestError> {
        let names: HashMap<String, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| {
                (
                    h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase(),
                    i,
                )
            })
            .collect();
        let find = |aliases: &[&str]| aliases.iter().find_map(|a| names.get(*a).copied());
        let mut missing = Vec::new();
        let id = find(&["track_id", "id"]);
        if id.is_none() {
            missing.push("track_id");
        }
        let features = Feature::ALL.map(|f| find(&[f.column()]));
        for f in Feature::ALL {
            if f.required() && features[f as usize].is_none() {
                missing.push(f.column());
            }
        }
        if !missing.is_empty() {
            return Err(IngestError::MissingColumns {
                input: source.to_string(),
                missing: missing.join(", "),
            });
        }
        Ok(Columns {
            id: id.unwrap_or_default(),
            name: find(&["track_name", "name"]),
            artists: find(&["track_artist"])
                .map(|i| (i, false))
                .or_else(|| find(&["artists"]).map(|i| (i, true))),
            album_id: find(&["track_album_id", "album_id"]),
            album_name: find(&["track_album_name", "album_name"]),
            release_date: find(&["track_album_release_date", "release_date"]),
            popularity: find(&["track_popularity", "popularity"]),
            explicit: find(&["explicit"]),
            playlist_id: find(&["playlist_id"]),
            playlist_name: find(&["playlist_name"]),
            genre: find(&["playlist_genre", "track_genre", "genre"]),
            subgenre: find(&["playlist_subgenre", "subgenre"]),
            features,
        })
    }

    /// Parses one row into a track.
    fn parse(&self, row: &csv::StringRecord) -> Result<Track, DomainError> {
        let text = |col: Option<usize>| {
            col.and_then(|i| row.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let owned = |col: Option<usize>| text(col).map(str::to_string);
        let id = TrackId::parse(row.get(self.id).unwrap_or_default())?;

        let mut raw = RawFeatures::default();
        for f in Feature::ALL {
            if let Some(value) = text(self.features[f as usize]) {
                raw.set(f, number(f.column(), value)?);
            }
        }
        let features = AudioFeatures::parse(&raw)?;

        let artists = match self.artists {
            Some((i, true)) => split_list(row.get(i).unwrap_or_default()),
            Some((i, false)) => text(Some(i))
                .map(|a| vec![a.to_string()])
                .unwrap_or_default(),
            None => Vec::new(),
        };
        let popularity = text(self.popularity)
            .map(|p| {
                let value = number("popularity", p)?;
                if (0.0..=100.0).contains(&value) && value.fract() == 0.0 {
                    Ok(value as u8)
                } else {
                    Err(DomainError::InvalidArgument(format!(
                        "popularity {p} is outside 0..=100"
                    )))
                }
            })
            .transpose()?;
        let explicit = text(self.explicit)
            .map(|e| match e.to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" => Ok(true),
                "false" | "0" | "no" => Ok(false),
                _ => Err(DomainError::InvalidArgument(format!(
                    "explicit must be true or false, got {e:?}"
                ))),
            })
            .transpose()?;
        let release_date = text(self.release_date)
            .map(ReleaseDate::parse)
            .transpose()?;
        let genre = owned(self.genre);
        let subgenre = owned(self.subgenre);
        let playlists = owned(self.playlist_id)
            .map(|id| Playlist {
                id,
                name: owned(self.playlist_name),
                genre: genre.as_ref().map(|g| g.to_lowercase()),
                subgenre: subgenre.as_ref().map(|s| s.to_lowercase()),
            })
            .into_iter()
            .collect();

        let mut track = Track {
            id,
            name: owned(self.name),
            artists,
            album: Album {
                id: owned(self.album_id),
                name: owned(self.album_name),
                release_date,
            },
            popularity,
            explicit,
            genres: genre.into_iter().collect(),
            subgenres: subgenre.into_iter().collect(),
            playlists,
            features,
        };
        track.admit()?;
        Ok(track)
    }
}

fn number(field: &'static str, text: &str) -> Result<f64, DomainError> {
    text.parse::<f64>().map_err(|_| DomainError::NotANumber {
        field,
        value: crate::domain::bounds::echo(text),
    })
}

fn split_list(text: &str) -> Vec<String> {
    text.split(';')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads a CSV source into distinct tracks, merging repeated rows of the
/// same track and recording every rejected row in `report`.
///
/// # Errors
/// [`IngestError::MissingColumns`] when required columns are absent,
/// [`IngestError::Read`] when the underlying reader fails (a row that is
/// merely malformed is rejected, not an error).
pub(crate) fn read(input: impl Read, report: &mut ImportReport) -> Result<Vec<Track>, IngestError> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let headers = reader
        .headers()
        .map_err(|e| IngestError::Read {
            input: report.source.clone(),
            reason: e.to_string(),
        })?
        .clone();
    let columns = Columns::locate(&headers, &report.source)?;
    let mut tracks: Vec<Track> = Vec::new();
    let mut positions: HashMap<TrackId, usize> = HashMap::new();
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                report.rows_read += 1;
                let line = row.position().map_or(0, |p| p.line());
                match columns.parse(&row) {
                    Ok(track) => match positions.get(&track.id) {
                        Some(&at) => {
                            tracks[at].merge(track);
                            report.duplicates_merged += 1;
                        }
                        None => {
                            positions.insert(track.id, tracks.len());
                            tracks.push(track);
                        }
                    },
                    Err(e) => report.reject(format!("line {line}"), &e),
                }
            }
            Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)) => {
                return Err(IngestError::Read {
                    input: report.source.clone(),
                    reason: e.to_string(),
                });
            }
            Err(e) => {
                report.rows_read += 1;
                let line = e.position().map_or(0, |p| p.line());
                report.rejected.push(super::report::Rejection {
                    location: format!("line {line}"),
                    kind: "malformed row",
                    reason: e.to_string(),
                });
            }
        }
    }
    report.tracks = tracks.len();
    Ok(tracks)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHARED_SHAPE: &str = "\
track_id,track_name,track_artist,track_popularity,track_album_id,track_album_name,track_album_release_date,playlist_name,playlist_id,playlist_genre,playlist_subgenre,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,duration_ms
0000000000000000000001,Song A,Artist A,66,album1,Album 1,2019-06-14,Pop Hits,pl1,pop,dance pop,0.7,0.9,6,-2.1,1,0.05,0.1,0,0.06,0.5,122,194754
0000000000000000000001,Song A,Artist A,66,album1,Album 1,2019-06-14,Rock Hits,pl2,rock,hard rock,0.7,0.9,6,-2.1,1,0.05,0.1,0,0.06,0.5,122,194754
0000000000000000000002,Song B,Artist B,40,album2,Album 2,2001,Pop Hits,pl1,pop,dance pop,0.5,1.7,2,-5,0,0.05,0.1,0,0.06,0.5,100,200000
bad-id,Song C,Artist C,40,album2,Album 2,2001,Pop Hits,pl1,pop,dance pop,0.5,0.5,2,-5,0,0.05,0.1,0,0.06,0.5,100,200000
0000000000000000000004,Song D,Artist D,40,album2,Album 2,2001,Pop Hits,pl1,pop,dance pop,0.5,loud,2,-5,0,0.05,0.1,0,0.06,0.5,100,200000
0000000000000000000005,Song E,Artist E,40
,,,,,,,,,,,0.5,0.5,2,-5,0,0.05,0.1,0,0.06,0.5,100,200000
";

    // Columns in another order, an unnamed index column, and the shape of
    // the 114k "Spotify Tracks Dataset".
    const TRACKS_DATASET_SHAPE: &str = "\
,track_id,artists,album_name,track_name,popularity,duration_ms,explicit,danceability,energy,key,loudness,mode,speechiness,acousticness,instrumentalness,liveness,valence,tempo,time_signature,track_genre
0,5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino;Other One,Comedy,Comedy,73,230666,False,0.676,0.461,1,-6.746,0,0.143,0.0322,1.01e-06,0.358,0.715,87.917,4,acoustic
1,5SuOikwiRyPMVoIQDJUgSV,Gen Hoshino;Other One,Comedy,Comedy,73,230666,False,0.676,0.461,1,-6.746,0,0.143,0.0322,1.01e-06,0.358,0.715,87.917,4,J-Pop
2,4qPNDBW1i3p13qLCt0Ki3A,Ben Woodward,Ghost,Ghost - Acoustic,55,149610,True,0.42,0.166,-1,-17.235,1,0.0763,0.924,5.56e-06,0.101,0.267,0,3,acoustic
";

    fn read_str(text: &str) -> (Vec<Track>, ImportReport) {
        let mut report = ImportReport {
            source: "test.csv".into(),
            ..Default::default()
        };
        let tracks = read(text.as_bytes(), &mut report).unwrap();
        (tracks, report)
    }

    #[test]
    fn the_shared_shape_merges_playlists_and_reports_bad_rows_by_line() {
        let (tracks, report) = read_str(SHARED_SHAPE);
        assert_eq!(report.rows_read, 7);
        assert_eq!(tracks.len(), 1);
        assert_eq!(report.duplicates_merged, 1);
        let a = &tracks[0];
        assert_eq!(a.genres, ["pop", "rock"]);
        assert_eq!(a.subgenres, ["dance pop", "hard rock"]);
        assert_eq!(a.playlists.len(), 2);
        assert_eq!(a.album.release_date.unwrap().to_string(), "2019-06-14");
        assert_eq!(a.artists, ["Artist A"]);

        let where_why: Vec<(&str, &str)> = report
            .rejected
            .iter()
            .map(|r| (r.location.as_str(), r.kind))
            .collect();
        assert_eq!(
            where_why,
            [
                ("line 4", "feature out of range"),
                ("line 5", "invalid track id"),
                ("line 6", "unparsable number"),
                ("line 7", "malformed row"),
                ("line 8", "missing track id"),
            ]
        );
        assert!(report.rejected[0].reason.contains("energy = 1.7"));
    }

    #[test]
    fn a_row_out_of_bounds_is_reported_by_line_and_the_rest_imported() {
        let header = SHARED_SHAPE.lines().next().unwrap();
        let row = SHARED_SHAPE.lines().nth(1).unwrap();
        let long = row.replacen("Song A", &"x".repeat(100_000), 1);
        let other = row.replacen("0000000000000000000001", "0000000000000000000009", 1);
        let (tracks, report) = read_str(&format!("{header}\n{long}\n{other}\n"));
        assert_eq!(tracks.len(), 1);
        assert_eq!(tracks[0].id.as_str(), "0000000000000000000009");
        let r = &report.rejected[0];
        assert_eq!((r.location.as_str(), r.kind), ("line 2", "out of bounds"));
        assert_eq!(r.reason, "name has 100000 characters; at most 500");
    }

    #[test]
    fn the_tracks_dataset_shape_reads_by_column_name() {
        let (tracks, report) = read_str(TRACKS_DATASET_SHAPE);
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
        assert_eq!(tracks.len(), 2);
        let comedy = &tracks[0];
        assert_eq!(comedy.artists, ["Gen Hoshino", "Other One"]);
        assert_eq!(comedy.genres, ["acoustic", "j-pop"]);
        assert_eq!(comedy.explicit, Some(false));
        assert_eq!(comedy.features.time_signature, Some(4));
        let ghost = &tracks[1];
        assert_eq!(ghost.features.key, None);
        assert_eq!(ghost.features.tempo, None);
        assert_eq!(ghost.explicit, Some(true));
    }

    proptest::proptest! {
        /// Whatever the bytes after a valid header, reading never panics,
        /// and every row read is either imported, merged or rejected.
        #[test]
        fn arbitrary_rows_never_panic_and_are_all_accounted_for(
            rows in proptest::collection::vec("[0-9a-zA-Z,.\\-\"\n ]{0,80}", 0..20)
        ) {
            let header = SHARED_SHAPE.lines().next().unwrap();
            let text = format!("{header}\n{}", rows.join("\n"));
            let mut report = ImportReport::default();
            if let Ok(tracks) = read(text.as_bytes(), &mut report) {
                let accounted = tracks.len() as u64 + report.duplicates_merged + report.rejected.len() as u64;
                proptest::prop_assert_eq!(accounted, report.rows_read);
            }
        }
    }

    #[test]
    fn missing_required_columns_are_named() {
        let mut report = ImportReport::default();
        let err = read("track_id,energy\n".as_bytes(), &mut report).unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("danceability") && text.contains("valence"),
            "{text}"
        );
        assert!(!text.contains("energy,"), "{text}");
    }
}
