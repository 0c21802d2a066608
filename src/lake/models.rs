//! Trained models in the lake (`<root>/models/co_occurrence/<job id>.nbt`):
//! every replica on the same lake reads what any one of them trained
//! ([`ModelShelf`]). The files are timbre's own format, not a table: no
//! catalog entry describes them.

use async_trait::async_trait;
use bytes::Bytes;
use object_store::buffered::BufWriter;
use object_store::ObjectStoreExt;
use tokio::io::AsyncWriteExt;

use super::Lake;
use crate::service::models::ModelShelf;

/// Below the lake's root.
const PREFIX: &str = "models/co_occurrence";

/// Parts of a large model's upload (S3 wants at least 5 MiB a part); a
/// model smaller than this goes in one PUT.
const PART: usize = 32 << 20;

fn relative(job_id: &str) -> String {
    format!("{PREFIX}/{}.nbt", super::file_name(job_id))
}

#[async_trait]
impl ModelShelf for Lake {
    fn place(&self, job_id: &str) -> String {
        format!(
            "{}/{}",
            self.location().trim_end_matches('/'),
            relative(job_id)
        )
    }

    async fn keep(&self, job_id: &str, bytes: Vec<u8>) -> Result<(), String> {
        let bad = |e: std::io::Error| format!("{}: {e}", self.place(job_id));
        // A model at 1M tracks is about a gigabyte: in parts, each on its
        // way while the next is cut. The object appears whole when the
        // upload completes, or not at all.
        let mut writer =
            BufWriter::with_capacity(self.store.clone(), self.path(&relative(job_id)), PART);
        if let Err(e) = writer.put(Bytes::from(bytes)).await {
            let _ = writer.abort().await;
            return Err(format!("{}: {e}", self.place(job_id)));
        }
        writer.shutdown().await.map_err(bad)
    }

    async fn fetch(&self, job_id: &str) -> Result<Vec<u8>, String> {
        let path = self.path(&relative(job_id));
        let read = async { self.store.get(&path).await?.bytes().await };
        read.await
            .map(|b| b.to_vec())
            .map_err(|e| format!("{}: {e}", self.place(job_id)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::LakeSettings;

    #[tokio::test]
    async fn a_model_is_kept_whole_below_the_lake_s_root() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::open(dir.path().to_str().unwrap(), &LakeSettings::default()).unwrap();
        // Larger than a part: the upload goes in several.
        let model: Vec<u8> = (0..PART + 1_000).map(|i| (i % 251) as u8).collect();
        let shelf: &dyn ModelShelf = &lake;
        shelf.keep("job/1", model.clone()).await.unwrap();
        assert_eq!(shelf.fetch("job/1").await.unwrap(), model);
        assert_eq!(
            lake.list(PREFIX).await.unwrap(),
            ["models/co_occurrence/job_1.nbt"]
        );
        assert!(lake
            .place("job/1")
            .ends_with("/models/co_occurrence/job_1.nbt"));
        let missing = shelf.fetch("job-2").await.unwrap_err();
        assert!(missing.contains("job-2.nbt"), "{missing}");
    }
}
