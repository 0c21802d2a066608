//! Trained co-occurrence models: kept on a [`ModelShelf`] under their job's
//! id ([`Neighbours::encode`]'s format), installed into the catalogue when
//! their job succeeds, and loaded again from the newest succeeded job: at
//! start, and every `[jobs] model_refresh_s` after it, so that replicas
//! sharing a store and a lake all score with the model any one of them
//! trained. A model that is missing or unreadable is logged and skipped:
//! the server goes on with the model it has (at start: scoring from the
//! playlists, as before any model was trained).

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use parking_lot::Mutex;

use super::TrackService;
use crate::domain::job::ModelSummary;
use crate::domain::{JobFilter, JobKind, JobRecord, JobResult, JobState, Neighbours};
use crate::error::{Error, Result};

/// Where trained models are kept: the lake when the server has one (shared
/// by replicas), else a directory beside the store ([`LocalShelf`]).
#[async_trait]
pub trait ModelShelf: Send + Sync + 'static {
    /// Where job `job_id`'s model is (or would be), for people.
    fn place(&self, job_id: &str) -> String;
    /// Keeps `bytes` as job `job_id`'s model, whole or not at all.
    async fn keep(&self, job_id: &str, bytes: Vec<u8>) -> std::result::Result<(), String>;
    /// Job `job_id`'s model.
    async fn fetch(&self, job_id: &str) -> std::result::Result<Vec<u8>, String>;
}

/// Models as files in a directory (`<data_dir>/models/<job id>.nbt`): for a
/// server without a lake, which has no replicas to share them with.
pub struct LocalShelf {
    dir: PathBuf,
}

impl LocalShelf {
    pub fn new(dir: PathBuf) -> Self {
        LocalShelf { dir }
    }

    fn file(&self, job_id: &str) -> PathBuf {
        self.dir.join(format!("{job_id}.nbt"))
    }
}

#[async_trait]
impl ModelShelf for LocalShelf {
    fn place(&self, job_id: &str) -> String {
        self.file(job_id).to_string_lossy().into_owned()
    }

    async fn keep(&self, job_id: &str, bytes: Vec<u8>) -> std::result::Result<(), String> {
        let (dir, to) = (self.dir.clone(), self.file(job_id));
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            std::fs::create_dir_all(&dir)?;
            let partial = to.with_extension("partial");
            std::fs::write(&partial, bytes)?;
            std::fs::rename(&partial, &to)
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", self.place(job_id)))
    }

    async fn fetch(&self, job_id: &str) -> std::result::Result<Vec<u8>, String> {
        let path = self.file(job_id);
        tokio::task::spawn_blocking(move || {
            std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// The shelf, the service that scores with the models, and which job's
/// model it scores with.
pub struct Models {
    shelf: Arc<dyn ModelShelf>,
    service: Arc<TrackService>,
    /// The job whose model is in use, as (created, id): a refresh loads
    /// only a newer one (a model this server just trained is in use before
    /// its job is stored as succeeded). `None`: scoring from playlists.
    in_use: Mutex<Option<(i64, String)>>,
    /// Serialises loads, so that two refreshes never load the same model
    /// twice or install an older one over a newer.
    loading: tokio::sync::Mutex<()>,
}

impl Models {
    pub fn new(shelf: Arc<dyn ModelShelf>, service: Arc<TrackService>) -> Self {
        Models {
            shelf,
            service,
            in_use: Mutex::new(None),
            loading: tokio::sync::Mutex::new(()),
        }
    }

    /// The job whose model this server scores with, if any.
    pub fn in_use(&self) -> Option<String> {
        self.in_use.lock().as_ref().map(|(_, id)| id.clone())
    }

    /// Keeps `table` as `job`'s model and scores with it from now on;
    /// returns the job's result.
    ///
    /// # Errors
    /// [`Error::Internal`] when the model cannot be kept (then nothing
    /// changed).
    pub async fn install(
        &self,
        job: &JobRecord,
        table: Neighbours,
        neighbours: usize,
    ) -> Result<JobResult> {
        let job_id = job.id.as_str();
        let _loading = self.loading.lock().await;
        let (table, bytes) = tokio::task::spawn_blocking(move || {
            let bytes = table.encode();
            (table, bytes)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
        self.shelf
            .keep(job_id, bytes)
            .await
            .map_err(|e| Error::Internal(format!("keeping the model: {e}")))?;
        let summary = ModelSummary {
            tracks: table.track_count(),
            pairs: table.pair_count(),
            neighbours,
            file: self.shelf.place(job_id),
        };
        self.use_table(job, table);
        Ok(JobResult::CoOccurrenceModel(summary))
    }

    /// Loads the model of the newest succeeded co-occurrence job unless it
    /// is the one in use; returns the job id of the model in use after.
    pub async fn load_latest(&self) -> Option<String> {
        let filter = JobFilter {
            kind: Some(JobKind::CoOccurrenceModel),
            state: Some(JobState::Succeeded),
            before: None,
        };
        let newest = match self.service.store.jobs(&filter, 1).await {
            Ok(mut jobs) => jobs.pop(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the latest co-occurrence model");
                None
            }
        };
        let Some(job) = newest else {
            return self.in_use();
        };
        let _loading = self.loading.lock().await;
        let newer = self
            .in_use
            .lock()
            .as_ref()
            .is_none_or(|(created, id)| (job.created_ms, &job.id) > (*created, id));
        if !newer {
            return self.in_use();
        }
        let loaded = match self.shelf.fetch(&job.id).await {
            Ok(bytes) => tokio::task::spawn_blocking(move || Neighbours::decode(&bytes))
                .await
                .map_err(|e| e.to_string())
                .and_then(|r| r.map_err(|e| e.to_string())),
            Err(e) => Err(e),
        };
        match loaded {
            Ok(table) => self.use_table(&job, table),
            Err(e) => tracing::warn!(
                job = job.id.as_str(),
                place = self.shelf.place(&job.id),
                error = %e,
                "the latest co-occurrence model cannot be loaded; keeping the one in use"
            ),
        }
        self.in_use()
    }

    fn use_table(&self, job: &JobRecord, table: Neighbours) {
        let (tracks, pairs) = (table.track_count(), table.pair_count());
        self.service.use_model(Some(Arc::new(table)));
        *self.in_use.lock() = Some((job.created_ms, job.id.clone()));
        tracing::info!(
            job = job.id.as_str(),
            tracks,
            pairs,
            "co-occurrence model loaded"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_local_shelf_keeps_a_model_whole_under_its_job() {
        let dir = tempfile::tempdir().unwrap();
        let shelf = LocalShelf::new(dir.path().join("models"));
        shelf.keep("job-1", vec![1, 2, 3]).await.unwrap();
        assert_eq!(shelf.fetch("job-1").await.unwrap(), [1, 2, 3]);
        assert!(shelf.place("job-1").ends_with("models/job-1.nbt"));
        // Nothing half-written is left beside it.
        let names: Vec<_> = std::fs::read_dir(dir.path().join("models"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["job-1.nbt"]);
        let missing = shelf.fetch("job-2").await.unwrap_err();
        assert!(missing.contains("job-2.nbt"), "{missing}");
    }
}
