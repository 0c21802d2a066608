//! `timbre export`: the whole catalogue as a snapshot in the lake
//! (`tracks_snapshot` and `playlist_memberships_snapshot`, one partition
//! per export), the base that `tracks_current` applies later changes to.

use std::time::{Duration, Instant, SystemTime};

use super::rows::Partitioned;
use super::{Lake, LakeError};
use crate::domain::TrackFilter;
use crate::ingest::changes::now_ms;
use crate::service::TrackService;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    /// The partition value of this export (its UTC start time).
    pub snapshot_id: String,
    pub tracks: usize,
    pub files: u64,
    pub elapsed: Duration,
}

impl std::fmt::Display for ExportReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let rate = self.tracks as f64 / self.elapsed.as_secs_f64().max(1e-9);
        write!(
            f,
            "exported {} tracks in {} files as snapshot {} in {:.2} s ({rate:.0} tracks/s)",
            self.tracks,
            self.files,
            self.snapshot_id,
            self.elapsed.as_secs_f64()
        )
    }
}

/// Writes every track of `service` to `lake` as a new snapshot, in files
/// of at most `rows_per_file` tracks.
///
/// # Errors
/// The lake's storage failed (files already written stay, under this
/// export's partition; the next export writes a new one).
pub async fn export(
    service: &TrackService,
    lake: &Lake,
    rows_per_file: usize,
) -> Result<ExportReport, LakeError> {
    let started = Instant::now();
    let at_ms = now_ms();
    let snapshot_id = snapshot_id(SystemTime::now());
    let mut after = None;
    let mut tracks = 0;
    let mut files = 0;
    for part in 0.. {
        let page = service
            .page(TrackFilter::default(), after, rows_per_file.max(1))
            .await
            .map_err(|e| LakeError::Location {
                location: lake.location().to_string(),
                reason: format!("reading the catalogue: {e}"),
            })?;
        let Some(last) = page.tracks.last() else {
            break;
        };
        after = Some(last.id);
        let mut rows = Partitioned::default();
        for track in &page.tracks {
            rows.add_snapshot(track, &snapshot_id, at_ms);
        }
        let written = lake.write_rows(&rows, &format!("part-{part:05}")).await?;
        files += written.files;
        tracks += page.tracks.len();
        if !page.more {
            break;
        }
    }
    Ok(ExportReport {
        snapshot_id,
        tracks,
        files,
        elapsed: started.elapsed(),
    })
}

/// `YYYYMMDDTHHMMSSZ` of a time: sorts like the times it names.
fn snapshot_id(at: SystemTime) -> String {
    let text = humantime::format_rfc3339_seconds(at).to_string();
    text.replace(['-', ':'], "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_ids_sort_like_their_times() {
        let t = std::time::UNIX_EPOCH + Duration::from_secs(1_764_806_400);
        assert_eq!(snapshot_id(t), "20251204T000000Z");
        assert!(snapshot_id(t + Duration::from_secs(61)) > snapshot_id(t));
    }
}
