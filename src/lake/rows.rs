//! Domain values into the lake's rows, and rows into their partitions.

use std::collections::BTreeMap;

use super::parquet::{Cell, Rows};
use super::table::Table;
use super::tables::{
    INGEST_EVENTS, INTERACTIONS, PLAYLIST_MEMBERSHIPS, PLAYLIST_MEMBERSHIPS_SNAPSHOT,
    TRACKS_SNAPSHOT, TRACK_CHANGES,
};
use crate::domain::feature_space::FEATURE_SPACE_VERSION;
use crate::domain::{Feature, Interaction, InteractionKind, Track};
use crate::ingest::{ChangeBatch, IngestEvent, Origin, TrackChange};

/// Rows by table and partition value, for one write.
#[derive(Debug, Default)]
pub struct Partitioned {
    pub parts: BTreeMap<(&'static str, String), Rows>,
}

impl Partitioned {
    fn rows(&mut self, table: &'static Table, partition: String) -> &mut Rows {
        self.parts
            .entry((table.name, partition))
            .or_insert_with(|| Rows::new(table))
    }

    /// Rows of a batch of changes.
    pub fn of_changes(batch: &ChangeBatch) -> Self {
        let mut out = Partitioned::default();
        let source = batch.origin.as_str();
        for change in &batch.tracks {
            out.add_change(change, source);
        }
        for (i, interaction) in batch.interactions.iter().enumerate() {
            let position = batch.interaction_positions.get(i).copied();
            out.add_interaction(interaction, batch.origin, position);
        }
        for event in &batch.events {
            out.add_event(event);
        }
        out
    }

    fn add_change(&mut self, change: &TrackChange, source: &str) {
        let day = day(change.at_ms);
        let id = change.id.to_string();
        let (partition, offset) = position_cells(change.position);
        let mut cells = vec![
            Cell::Str(&id),
            Cell::Str(if change.track.is_some() {
                "upsert"
            } else {
                "delete"
            }),
            Cell::I64(change.at_ms),
            Cell::Str(source),
            partition,
            offset,
        ];
        let empty: &[String] = &[];
        match &change.track {
            Some(track) => {
                let state = TrackState::of(track);
                state.cells(&mut cells);
                self.rows(&TRACK_CHANGES, day.clone()).push(&cells);
                for p in &track.playlists {
                    self.rows(&PLAYLIST_MEMBERSHIPS, day.clone()).push(&[
                        Cell::Str(&id),
                        Cell::Str(&p.id),
                        opt(&p.name),
                        opt(&p.genre),
                        opt(&p.subgenre),
                        Cell::I64(change.at_ms),
                        Cell::Str(source),
                    ]);
                }
            }
            None => {
                // A delete: the id alone; lists empty, the rest null.
                for column in &TRACK_CHANGES.columns[cells.len()..] {
                    cells.push(match column.name {
                        "artists" | "genres" | "subgenres" => Cell::List(empty),
                        "feature_space_version" => Cell::I32(FEATURE_SPACE_VERSION as i32),
                        _ => Cell::Null,
                    });
                }
                self.rows(&TRACK_CHANGES, day).push(&cells);
            }
        }
    }

    /// Adds a listener's interaction.
    pub fn add_interaction(
        &mut self,
        event: &Interaction,
        origin: Origin,
        position: Option<(i32, i64)>,
    ) {
        let user = event.user.to_string();
        let track = event.track.to_string();
        let (partition, offset) = position_cells(position);
        self.rows(&INTERACTIONS, day(event.at_ms)).push(&[
            Cell::Str(&user),
            Cell::Str(&track),
            Cell::Str(kind_name(event.kind)),
            Cell::I64(event.at_ms),
            Cell::Str(origin.as_str()),
            partition,
            offset,
        ]);
    }

    /// Adds what became of one arriving record.
    pub fn add_event(&mut self, event: &IngestEvent) {
        let (partition, offset) = position_cells(event.position);
        self.rows(&INGEST_EVENTS, day(event.at_ms)).push(&[
            Cell::I64(event.at_ms),
            Cell::Str(&event.source),
            Cell::Str(event.outcome.as_str()),
            opt(&event.kind),
            opt(&event.reason),
            opt(&event.subject),
            partition,
            offset,
        ]);
    }

    /// Adds a track to an export's snapshot `snapshot_id`.
    pub fn add_snapshot(&mut self, track: &Track, snapshot_id: &str, exported_at_ms: i64) {
        let id = track.id.to_string();
        let state = TrackState::of(track);
        let mut cells = vec![Cell::Str(&id), Cell::I64(exported_at_ms)];
        state.cells(&mut cells);
        self.rows(&TRACKS_SNAPSHOT, snapshot_id.to_string())
            .push(&cells);
        for p in &track.playlists {
            self.rows(&PLAYLIST_MEMBERSHIPS_SNAPSHOT, snapshot_id.to_string())
                .push(&[
                    Cell::Str(&id),
                    Cell::Str(&p.id),
                    opt(&p.name),
                    opt(&p.genre),
                    opt(&p.subgenre),
                    Cell::I64(exported_at_ms),
                ]);
        }
    }
}

/// A track's state as text, ready to become cells (which borrow from it).
struct TrackState<'a> {
    track: &'a Track,
    release_date: Option<String>,
    features: Vec<Option<f64>>,
}

impl<'a> TrackState<'a> {
    fn of(track: &'a Track) -> Self {
        TrackState {
            track,
            release_date: track.album.release_date.map(|d| d.to_string()),
            features: Feature::ALL
                .iter()
                .map(|&f| track.features.get(f))
                .collect(),
        }
    }

    /// The state's cells, in the order of the tables' track columns.
    fn cells<'b>(&'b self, cells: &mut Vec<Cell<'b>>) {
        let t = self.track;
        cells.extend([
            opt(&t.name),
            Cell::List(&t.artists),
            opt(&t.album.id),
            opt(&t.album.name),
            opt(&self.release_date),
            t.album
                .release_date
                .map_or(Cell::Null, |d| Cell::I32(i32::from(d.year))),
            t.popularity.map_or(Cell::Null, |p| Cell::I32(i32::from(p))),
            t.explicit.map_or(Cell::Null, Cell::Bool),
            Cell::List(&t.genres),
            Cell::List(&t.subgenres),
        ]);
        cells.extend(
            self.features
                .iter()
                .map(|v| v.map_or(Cell::Null, Cell::F64)),
        );
        cells.push(Cell::I32(FEATURE_SPACE_VERSION as i32));
    }
}

fn opt(value: &Option<String>) -> Cell<'_> {
    value.as_deref().map_or(Cell::Null, Cell::Str)
}

fn position_cells(position: Option<(i32, i64)>) -> (Cell<'static>, Cell<'static>) {
    match position {
        Some((p, o)) => (Cell::I32(p), Cell::I64(o)),
        None => (Cell::Null, Cell::Null),
    }
}

/// The interaction kind as the lake spells it (as the topic does).
pub fn kind_name(kind: InteractionKind) -> &'static str {
    match kind {
        InteractionKind::Play => "PLAY",
        InteractionKind::Like => "LIKE",
        InteractionKind::Skip => "SKIP",
        InteractionKind::Dislike => "DISLIKE",
    }
}

/// The UTC day of a time, `YYYY-MM-DD`.
pub fn day(at_ms: i64) -> String {
    crate::domain::behaviour::utc_day(at_ms)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::track::tests_support::track;
    use crate::domain::{Playlist, UserId};

    #[test]
    fn a_batch_lands_in_its_tables_and_days() {
        let mut t = track("0000000000000000000001", &["rock"], "Queen", 80, 1975);
        t.playlists = vec![Playlist {
            id: "p1".into(),
            name: Some("Rock".into()),
            genre: Some("rock".into()),
            subgenre: None,
        }];
        let mut batch = ChangeBatch::new(Origin::Api, None);
        batch.tracks.push(TrackChange {
            id: t.id,
            track: Some(Arc::new(t.clone())),
            at_ms: 1_764_806_400_000, // 2025-12-04
            position: None,
        });
        batch.tracks.push(TrackChange {
            id: t.id,
            track: None,
            at_ms: 1_764_892_800_000, // the next day
            position: Some((2, 41)),
        });
        batch.interactions.push(Interaction {
            user: UserId::parse("u1").unwrap(),
            track: t.id,
            kind: InteractionKind::Like,
            at_ms: 1_764_806_400_000,
        });
        let rows = Partitioned::of_changes(&batch);
        let count = |table: &str, day: &str| {
            rows.parts
                .get(&(table, day.to_string()))
                .map_or(0, Rows::len)
        };
        assert_eq!(count("track_changes", "2025-12-04"), 1);
        assert_eq!(count("track_changes", "2025-12-05"), 1);
        assert_eq!(count("playlist_memberships", "2025-12-04"), 1);
        assert_eq!(count("interactions", "2025-12-04"), 1);
        assert_eq!(rows.parts.values().map(Rows::len).sum::<usize>(), 4);
        for part in rows.parts.values() {
            part.to_parquet(&[]).expect("every row fits its table");
        }
    }

    #[test]
    fn days_are_utc() {
        assert_eq!(day(0), "1970-01-01");
        assert_eq!(day(1_764_892_799_999), "2025-12-04");
    }
}
