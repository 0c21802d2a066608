//! Trained co-occurrence models: kept as files beside the store
//! (`<data_dir>/models/<job id>.nbt`, [`Neighbours::encode`]'s format),
//! installed into the catalogue when their job succeeds, and loaded again
//! at start from the newest succeeded job. A model that is missing or
//! unreadable at start is logged and skipped: recommendations then score
//! from the playlists, as before any model was trained.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::TrackService;
use crate::domain::job::ModelSummary;
use crate::domain::{JobFilter, JobKind, JobResult, JobState, Neighbours};
use crate::error::{Error, Result};

/// Where models are kept, and the service that uses them.
pub struct Models {
    dir: PathBuf,
    service: Arc<TrackService>,
}

impl Models {
    pub fn new(dir: PathBuf, service: Arc<TrackService>) -> Self {
        Models { dir, service }
    }

    fn file(&self, job_id: &str) -> PathBuf {
        self.dir.join(format!("{job_id}.nbt"))
    }

    /// Keeps `table` as job `job_id`'s model and scores with it from now
    /// on; returns the job's result.
    ///
    /// # Errors
    /// [`Error::Internal`] when the file cannot be written (then nothing
    /// changed).
    pub async fn install(
        &self,
        job_id: &str,
        table: Neighbours,
        neighbours: usize,
    ) -> Result<JobResult> {
        let path = self.file(job_id);
        let (dir, to) = (self.dir.clone(), path.clone());
        let table = tokio::task::spawn_blocking(move || -> std::io::Result<Neighbours> {
            std::fs::create_dir_all(&dir)?;
            let partial = to.with_extension("partial");
            std::fs::write(&partial, table.encode())?;
            std::fs::rename(&partial, &to)?;
            Ok(table)
        })
        .await
        .map_err(|e| Error::Internal(e.to_string()))?
        .map_err(|e| Error::Internal(format!("keeping the model in {}: {e}", path.display())))?;
        let summary = ModelSummary {
            tracks: table.track_count(),
            pairs: table.pair_count(),
            neighbours,
            file: path.to_string_lossy().into_owned(),
        };
        self.service.use_model(Some(Arc::new(table)));
        tracing::info!(
            job = job_id,
            tracks = summary.tracks,
            pairs = summary.pairs,
            "co-occurrence model loaded"
        );
        Ok(JobResult::CoOccurrenceModel(summary))
    }

    /// Loads the model of the newest succeeded co-occurrence job, if any;
    /// returns its job id.
    pub async fn load_latest(&self) -> Option<String> {
        let filter = JobFilter {
            kind: Some(JobKind::CoOccurrenceModel),
            state: Some(JobState::Succeeded),
            before: None,
        };
        let job = match self.service.store.jobs(&filter, 1).await {
            Ok(mut jobs) => jobs.pop()?,
            Err(e) => {
                tracing::warn!(error = %e, "cannot look up the latest co-occurrence model");
                return None;
            }
        };
        let path = self.file(&job.id);
        match tokio::task::spawn_blocking(move || read(&path)).await {
            Ok(Ok(table)) => {
                self.service.use_model(Some(Arc::new(table)));
                tracing::info!(job = job.id.as_str(), "co-occurrence model loaded");
                Some(job.id)
            }
            Ok(Err(e)) => {
                tracing::warn!(job = job.id.as_str(), error = %e, "the latest co-occurrence model cannot be loaded; scoring from playlists");
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "loading the co-occurrence model failed");
                None
            }
        }
    }
}

fn read(path: &Path) -> std::result::Result<Neighbours, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    Neighbours::decode(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}
