//! Ingest: everything about tracks arriving that more than one adapter
//! shares. Reading files and URLs into domain types (one path for every
//! format: parse into [`Track`]s here, rejecting bad records with their
//! location and reason, then hand them to the service, which writes the
//! store and then the catalog and index); the wire record of a track
//! ([`record`]) that Kafka messages and GraphQL mutations both carry; and
//! the streaming ingest's [`status`], which the Kafka consumer writes and
//! GraphQL, `/readyz` and `/metrics` read.

pub mod changes;
mod csv;
pub mod record;
pub mod report;
pub mod sink_status;
pub mod source;
mod spotify_json;
pub mod status;

use std::io::{BufRead, BufReader, Read};

use indicatif::{ProgressBar, ProgressStyle};

use crate::domain::Track;

pub use changes::{ChangeBatch, ChangeSink, IngestEvent, Origin, SinkError, TrackChange, Written};
pub use record::{AlbumRecord, FeatureRecord, PlaylistRecord, TrackRecord};
pub use report::{ImportReport, Rejection};
pub use sink_status::SinkStatus;
pub use source::Source;
pub use status::IngestStatus;

/// A source that could not be read at all (as opposed to a bad row, which
/// is rejected and reported while the rest is imported).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("cannot open {input}: {reason}")]
    Open { input: String, reason: String },
    #[error("{input}: missing required column(s): {missing}")]
    MissingColumns { input: String, missing: String },
    #[error("{input}: not Spotify Web API JSON: {reason}")]
    Json { input: String, reason: String },
    #[error("{input}: read failed: {reason}")]
    Read { input: String, reason: String },
}

/// Reads every track of `source` (CSV, or Spotify Web API JSON, told apart
/// by the first non-blank byte), with `audio_features` the optional second
/// JSON document. Shows a progress bar when stderr is a terminal.
///
/// Blocking: call it from a blocking thread.
///
/// # Errors
/// An [`IngestError`] when the source cannot be opened or read, or has the
/// wrong shape.
pub fn read(
    source: &Source,
    audio_features: Option<&Source>,
) -> Result<(Vec<Track>, ImportReport), IngestError> {
    let mut report = ImportReport {
        source: source.to_string(),
        ..Default::default()
    };
    let (reader, len) = source.open()?;
    let progress = progress_bar(len);
    let mut input = BufReader::with_capacity(1 << 16, progress.wrap_read(reader));
    let read_failed = |e: std::io::Error| IngestError::Read {
        input: source.to_string(),
        reason: e.to_string(),
    };
    let first = input
        .fill_buf()
        .map_err(read_failed)?
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .copied();
    let tracks = if matches!(first, Some(b'{') | Some(b'[')) {
        let mut main = Vec::new();
        input.read_to_end(&mut main).map_err(read_failed)?;
        let features = audio_features
            .map(|s| -> Result<Vec<u8>, IngestError> {
                let (mut r, _) = s.open()?;
                let mut bytes = Vec::new();
                r.read_to_end(&mut bytes).map_err(read_failed)?;
                Ok(bytes)
            })
            .transpose()?;
        spotify_json::read(&main, features.as_deref(), &mut report)?
    } else {
        csv::read(input, &mut report)?
    };
    progress.finish_and_clear();
    Ok((tracks, report))
}

/// Reads Spotify Web API responses held in memory (a `{"tracks": [...],
/// "audio_features": [...]}` document), as an import of `source` would:
/// the same checks, the same report. For `timbre extract`.
///
/// # Errors
/// [`IngestError::Json`] when the document is not of that shape.
pub fn read_web_api(
    source: &str,
    document: &[u8],
) -> Result<(Vec<Track>, ImportReport), IngestError> {
    let mut report = ImportReport {
        source: source.to_string(),
        ..Default::default()
    };
    let tracks = spotify_json::read(document, None, &mut report)?;
    Ok((tracks, report))
}

fn progress_bar(len: Option<u64>) -> ProgressBar {
    // indicatif draws only when stderr is a terminal.
    match len {
        Some(len) => ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{spinner} reading {bytes}/{total_bytes} [{wide_bar}] {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} reading {bytes} ({bytes_per_sec})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
}
