//! The lake's tables, version 1. Two kinds of track data:
//!
//! - **changes** (`track_changes`, `playlist_memberships`, `interactions`,
//!   `ingest_events`), appended in micro-batches by the server's sink, one
//!   row per accepted change, partitioned by the day it arrived;
//! - **snapshots** (`tracks_snapshot`, `playlist_memberships_snapshot`),
//!   the whole catalogue as `timbre export` found it, partitioned by the
//!   export's id.
//!
//! The latest state of every track is the newest snapshot with the changes
//! after it applied, deletes included: the view `tracks_current`
//! ([`current_tracks_view`]) computes it in any of the engines.

use std::sync::LazyLock;

use super::table::{Column, ColumnType, Table};
use crate::domain::Feature;

const TEXT: ColumnType = ColumnType::String;

fn col(name: &'static str, ty: ColumnType, nullable: bool, doc: &'static str) -> Column {
    Column {
        name,
        ty,
        nullable,
        doc,
    }
}

/// The columns a track's state takes, after its id.
fn track_columns() -> Vec<Column> {
    let mut columns = vec![
        col("name", TEXT, true, "Track title"),
        col(
            "artists",
            ColumnType::StringList,
            false,
            "Artist names, main artist first",
        ),
        col("album_id", TEXT, true, "Spotify album id"),
        col("album_name", TEXT, true, "Album name"),
        col(
            "release_date",
            TEXT,
            true,
            "YYYY, YYYY-MM or YYYY-MM-DD (Spotify's precision)",
        ),
        col(
            "release_year",
            ColumnType::Int32,
            true,
            "Album release year",
        ),
        col(
            "popularity",
            ColumnType::Int32,
            true,
            "Spotify popularity, 0 to 100",
        ),
        col(
            "explicit",
            ColumnType::Boolean,
            true,
            "Explicit lyrics, where known",
        ),
        col(
            "genres",
            ColumnType::StringList,
            false,
            "Genres, lower-case",
        ),
        col(
            "subgenres",
            ColumnType::StringList,
            false,
            "Subgenres, lower-case",
        ),
    ];
    for feature in Feature::ALL {
        columns.push(col(
            feature.column(),
            ColumnType::Double,
            true,
            feature_doc(feature),
        ));
    }
    columns.push(col(
        "feature_space_version",
        ColumnType::Int32,
        false,
        "Version of timbre's feature space when the row was written (a change of it means a rebuild of the vectors, not of these raw values)",
    ));
    columns
}

/// The catalog's description of a feature column: its raw unit.
fn feature_doc(feature: Feature) -> &'static str {
    match feature.kind() {
        crate::domain::FeatureKind::Ratio => "Audio feature, 0 to 1 (raw, as Spotify gives it)",
        crate::domain::FeatureKind::Pitch => "Pitch class 0 = C … 11 = B; null when not detected",
        crate::domain::FeatureKind::Decibels => "Loudness in dB",
        crate::domain::FeatureKind::Modality => "1 = major, 0 = minor",
        crate::domain::FeatureKind::Bpm => "Tempo in BPM; null when not detected",
        crate::domain::FeatureKind::Milliseconds => "Duration in ms",
        crate::domain::FeatureKind::Beats => "Beats per bar, where known",
    }
}

fn kafka_columns() -> [Column; 2] {
    [
        col(
            "kafka_partition",
            ColumnType::Int32,
            true,
            "Partition of the Kafka message, for changes from a topic",
        ),
        col(
            "kafka_offset",
            ColumnType::Int64,
            true,
            "Offset of the Kafka message, for changes from a topic",
        ),
    ]
}

const ARRIVAL: (&str, &str) = ("ingest_date", "UTC day the change arrived, YYYY-MM-DD");
const EVENT_DAY: (&str, &str) = ("event_date", "UTC day of the event, YYYY-MM-DD");
const SNAPSHOT: (&str, &str) = (
    "snapshot_id",
    "The export, as its UTC start time YYYYMMDDTHHMMSSZ; the largest is the newest",
);

/// `track_changes`: every accepted upsert and delete.
pub static TRACK_CHANGES: LazyLock<Table> = LazyLock::new(|| {
    let mut columns = vec![
        col("track_id", TEXT, false, "Spotify track id"),
        col("op", TEXT, false, "upsert or delete"),
        col(
            "changed_at",
            ColumnType::Timestamp,
            false,
            "When timbre accepted the change (a Kafka message's timestamp)",
        ),
        col("source", TEXT, false, "import, extract, api or kafka"),
    ];
    columns.extend(kafka_columns());
    columns.extend(track_columns());
    Table {
        name: "track_changes",
        version: 1,
        doc: "Every track upsert and delete timbre accepted; a delete carries only the id",
        partition: ARRIVAL,
        columns,
    }
});

/// `tracks_snapshot`: the catalogue at each export.
pub static TRACKS_SNAPSHOT: LazyLock<Table> = LazyLock::new(|| {
    let mut columns = vec![
        col("track_id", TEXT, false, "Spotify track id"),
        col(
            "exported_at",
            ColumnType::Timestamp,
            false,
            "When the export began",
        ),
    ];
    columns.extend(track_columns());
    Table {
        name: "tracks_snapshot",
        version: 1,
        doc: "The whole catalogue, one partition per export (timbre export)",
        partition: SNAPSHOT,
        columns,
    }
});

fn playlist_columns() -> Vec<Column> {
    vec![
        col("track_id", TEXT, false, "Spotify track id"),
        col("playlist_id", TEXT, false, "Playlist id"),
        col("playlist_name", TEXT, true, "Playlist name"),
        col(
            "playlist_genre",
            TEXT,
            true,
            "Genre the playlist is filed under",
        ),
        col(
            "playlist_subgenre",
            TEXT,
            true,
            "Subgenre the playlist is filed under",
        ),
    ]
}

/// `playlist_memberships`: the playlists of each upserted track.
pub static PLAYLIST_MEMBERSHIPS: LazyLock<Table> = LazyLock::new(|| {
    let mut columns = playlist_columns();
    columns.push(col(
        "changed_at",
        ColumnType::Timestamp,
        false,
        "The track change these memberships came with (track_changes.changed_at)",
    ));
    columns.push(col("source", TEXT, false, "import, extract, api or kafka"));
    Table {
        name: "playlist_memberships",
        version: 1,
        doc: "The playlists holding each upserted track, one row per track and playlist; a track's current memberships are those of its current change",
        partition: ARRIVAL,
        columns,
    }
});

/// `playlist_memberships_snapshot`: memberships at each export.
pub static PLAYLIST_MEMBERSHIPS_SNAPSHOT: LazyLock<Table> = LazyLock::new(|| {
    let mut columns = playlist_columns();
    columns.push(col(
        "exported_at",
        ColumnType::Timestamp,
        false,
        "When the export began",
    ));
    Table {
        name: "playlist_memberships_snapshot",
        version: 1,
        doc: "Playlist memberships of the whole catalogue, one partition per export",
        partition: SNAPSHOT,
        columns,
    }
});

/// `interactions`: listeners' events.
pub static INTERACTIONS: LazyLock<Table> = LazyLock::new(|| {
    let mut columns = vec![
        col("user_id", TEXT, false, "The listener"),
        col("track_id", TEXT, false, "Spotify track id"),
        col("kind", TEXT, false, "PLAY, LIKE, SKIP or DISLIKE"),
        col("at", ColumnType::Timestamp, false, "When it happened"),
        col("source", TEXT, false, "api or kafka"),
    ];
    columns.extend(kafka_columns());
    Table {
        name: "interactions",
        version: 1,
        doc: "Listeners' plays, likes, skips and dislikes",
        partition: EVENT_DAY,
        columns,
    }
});

/// `ingest_events`: what became of each arriving record.
pub static INGEST_EVENTS: LazyLock<Table> = LazyLock::new(|| {
    let mut columns = vec![
        col(
            "at",
            ColumnType::Timestamp,
            false,
            "When the record arrived",
        ),
        col(
            "source",
            TEXT,
            false,
            "The topic, or the import's file and line",
        ),
        col("outcome", TEXT, false, "applied, dead_lettered or rejected"),
        col(
            "reason_kind",
            TEXT,
            true,
            "A stable label of the reason (schema, key, feature out of range, …)",
        ),
        col("reason", TEXT, true, "The reason, for people"),
        col(
            "subject",
            TEXT,
            true,
            "The track (or listener) the record was about, where known",
        ),
    ];
    columns.extend(kafka_columns());
    Table {
        name: "ingest_events",
        version: 1,
        doc: "Every record timbre's streaming ingest read (applied or dead-lettered, with the reason) and every row an import rejected",
        partition: EVENT_DAY,
        columns,
    }
});

/// Every table, in catalog order.
pub fn all() -> [&'static Table; 6] {
    [
        &TRACK_CHANGES,
        &TRACKS_SNAPSHOT,
        &PLAYLIST_MEMBERSHIPS,
        &PLAYLIST_MEMBERSHIPS_SNAPSHOT,
        &INTERACTIONS,
        &INGEST_EVENTS,
    ]
}

/// The view `tracks_current`: each track's latest state, from the newest
/// snapshot and the changes after it (a delete hides the track). Standard
/// SQL that Athena (Trino), Spark and DuckDB all run; `track_changes` and
/// `tracks_snapshot` must be defined as tables or views first.
pub fn current_tracks_view() -> String {
    let data: Vec<&str> = track_columns().iter().map(|c| c.name).collect();
    let data = data.join(", ");
    format!(
        "CREATE OR REPLACE VIEW tracks_current AS\n\
         SELECT track_id, changed_at, {data} FROM (\n\
         \x20 SELECT *, row_number() OVER (\n\
         \x20   PARTITION BY track_id ORDER BY changed_at DESC, kafka_offset DESC NULLS LAST, op ASC) AS rn\n\
         \x20 FROM (\n\
         \x20   SELECT track_id, op, changed_at, kafka_offset, {data} FROM track_changes\n\
         \x20   UNION ALL\n\
         \x20   SELECT track_id, 'upsert' AS op, exported_at AS changed_at, CAST(NULL AS BIGINT) AS kafka_offset, {data}\n\
         \x20   FROM tracks_snapshot WHERE snapshot_id = (SELECT max(snapshot_id) FROM tracks_snapshot)\n\
         \x20 ) AS all_changes\n\
         ) AS ranked WHERE rn = 1 AND op = 'upsert';\n"
    )
}
