//! Reading the lake back: the `interactions` table, file by file, for the
//! embedded engine's listener jobs ([`InteractionLog`]). The parquet
//! crate's row reader is enough here (no Arrow): a job reads each file
//! once, front to back.

use async_trait::async_trait;
use bytes::Bytes;
use object_store::path::Path;
use object_store::ObjectStoreExt;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::record::RowAccessor;

use super::{tables, Lake};
use crate::domain::{Interaction, InteractionKind, TrackId, UserId};
use crate::service::engine::InteractionLog;

/// Where a column of `interactions` sits in its files.
fn position(name: &str) -> usize {
    tables::INTERACTIONS
        .columns
        .iter()
        .position(|c| c.name == name)
        .expect("a column of the interactions table")
}

fn kind(text: &str) -> Option<InteractionKind> {
    Some(match text {
        "PLAY" => InteractionKind::Play,
        "LIKE" => InteractionKind::Like,
        "SKIP" => InteractionKind::Skip,
        "DISLIKE" => InteractionKind::Dislike,
        _ => return None,
    })
}

/// The interactions of one Parquet file of the table. A row the lake's
/// writer cannot have written fails the file, naming it.
fn interactions(bytes: Bytes, name: &str) -> Result<Vec<Interaction>, String> {
    let bad = |why: String| format!("{name}: {why}");
    let reader = SerializedFileReader::new(bytes).map_err(|e| bad(e.to_string()))?;
    let (user, track, kind_at, at) = (
        position("user_id"),
        position("track_id"),
        position("kind"),
        position("at"),
    );
    let mut out = Vec::with_capacity(
        usize::try_from(reader.metadata().file_metadata().num_rows()).unwrap_or(0),
    );
    for row in reader.get_row_iter(None).map_err(|e| bad(e.to_string()))? {
        let row = row.map_err(|e| bad(e.to_string()))?;
        let text = |i: usize| row.get_string(i).map_err(|e| bad(e.to_string()));
        out.push(Interaction {
            user: UserId::parse(text(user)?).map_err(|e| bad(e.to_string()))?,
            track: TrackId::parse(text(track)?).map_err(|e| bad(e.to_string()))?,
            kind: kind(text(kind_at)?).ok_or_else(|| bad("an unknown interaction kind".into()))?,
            at_ms: row
                .get_timestamp_millis(at)
                .map_err(|e| bad(e.to_string()))?,
        });
    }
    Ok(out)
}

#[async_trait]
impl InteractionLog for Lake {
    async fn parts(&self) -> Result<Vec<String>, String> {
        let mut parts = self
            .list(&tables::INTERACTIONS.prefix())
            .await
            .map_err(|e| e.to_string())?;
        parts.retain(|p| p.ends_with(".parquet"));
        Ok(parts)
    }

    async fn read(&self, part: &str) -> Result<Vec<Interaction>, String> {
        let bytes = self
            .store
            .get(&Path::from(part))
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let name = part.to_string();
        tokio::task::spawn_blocking(move || interactions(bytes, &name))
            .await
            .map_err(|e| e.to_string())?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::ChangeBatch;
    use crate::ingest::ChangeSink;

    #[tokio::test]
    async fn what_the_sink_writes_the_log_reads() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(
            dir.path().to_str().unwrap(),
            &crate::config::LakeSettings::default(),
        )
        .unwrap();
        let mut batch = ChangeBatch::new(crate::ingest::changes::Origin::Api, None);
        let at_ms = 1_767_225_600_123;
        for (n, kind) in [InteractionKind::Play, InteractionKind::Skip]
            .into_iter()
            .enumerate()
        {
            batch.interactions.push(Interaction {
                user: UserId::parse(&format!("user-{n}")).unwrap(),
                track: TrackId::parse("4uLU6hMCjMI75M1A2tKUQC").unwrap(),
                kind,
                at_ms: at_ms + n as i64,
            });
        }
        lake.write(&batch).await.unwrap();
        let parts = lake.parts().await.unwrap();
        assert_eq!(parts.len(), 1, "{parts:?}");
        let read = lake.read(&parts[0]).await.unwrap();
        assert_eq!(read, batch.interactions);
        assert!(lake.read("curated/missing.parquet").await.is_err());
    }
}
