//! The lake adapter: timbre's data as open Parquet files, in a directory or
//! on S3-compatible storage, for Spark, Athena, DuckDB and timbre's own
//! jobs.
//!
//! ```text
//! <root>/raw/spotify/<endpoint>/fetch_date=YYYY-MM-DD/<run>-<n>.jsonl   Web API responses as received
//! <root>/curated/<table>/v<version>/<partition>=<value>/<key>.parquet   the tables (tables.rs)
//! <root>/models/co_occurrence/<job id>.nbt                              trained models (models.rs)
//! ```
//!
//! - `table.rs`, `tables.rs`: the tables, described once: Parquet schema,
//!   the catalog under `schema/lake/`, and DDL for Athena/Glue and Spark;
//! - `parquet.rs`, `rows.rs`: domain values into Parquet files;
//! - `sink.rs`: the server's sink, which keeps the lake current;
//! - `export.rs`: `timbre export`, a snapshot of the whole catalogue;
//! - `raw.rs`: the raw zone;
//! - `read.rs`: the interaction log read back, for the embedded engine;
//! - `models.rs`: trained models, shared by the replicas on one lake.
//!
//! A file is written whole or not at all: a local file is written beside
//! its final name and renamed, an S3 object appears when its single PUT
//! completes; a reader never sees half of one. File names come from the
//! batch's key, so writing the same batch again replaces its files.

mod export;
mod models;
mod parquet;
pub mod raw;
mod read;
mod rows;
mod sink;
pub mod table;
pub mod tables;

use std::sync::Arc;

use async_trait::async_trait;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

pub use export::{export, ExportReport};
pub use raw::RawZone;
pub use sink::run_sink;

use crate::config::LakeSettings;
use crate::ingest::{ChangeBatch, ChangeSink, SinkError, Written};
use rows::Partitioned;

/// What can go wrong with the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// The location cannot be used (bad URL, unreadable directory).
    #[error("lake location {location}: {reason}")]
    Location { location: String, reason: String },
    /// The storage refused or did not answer.
    #[error("lake storage: {0}")]
    Storage(#[from] object_store::Error),
    /// A file could not be encoded (a bug).
    #[error("writing Parquet: {0}")]
    Parquet(#[from] ::parquet::errors::ParquetError),
}

/// An open lake: its storage and the root below which timbre writes.
#[derive(Clone)]
pub struct Lake {
    store: Arc<dyn ObjectStore>,
    /// Prefix of every path, for `s3://bucket/prefix`.
    root: Option<Path>,
    location: String,
}

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("location", &self.location)
            .finish()
    }
}

impl Lake {
    /// Opens the lake at `location`: a directory (created if absent) or
    /// `s3://bucket/prefix` (credentials from the AWS environment
    /// variables; endpoint from `settings` or `AWS_ENDPOINT_URL`).
    ///
    /// # Errors
    /// [`LakeError::Location`] for a location that cannot be used.
    pub fn open(location: &str, settings: &LakeSettings) -> Result<Self, LakeError> {
        let bad = |reason: String| LakeError::Location {
            location: location.to_string(),
            reason,
        };
        if let Some(rest) = location.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            // reqwest is built without a default crypto provider (ring, not
            // aws-lc, to keep the build light): install it once.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let mut builder = object_store::aws::AmazonS3Builder::from_env()
                .with_bucket_name(bucket)
                .with_allow_http(settings.s3_allow_http);
            if let Some(endpoint) = &settings.s3_endpoint {
                builder = builder.with_endpoint(endpoint);
            }
            let store = builder.build().map_err(|e| bad(e.to_string()))?;
            let prefix = prefix.trim_matches('/');
            Ok(Lake {
                store: Arc::new(store),
                root: (!prefix.is_empty()).then(|| Path::from(prefix)),
                location: location.to_string(),
            })
        } else {
            // Every table's directory, even before its first file: Spark's
            // `MSCK REPAIR TABLE` (and `spark.read.parquet`) fail on a
            // location that does not exist, DuckDB's globs do not.
            for table in tables::all() {
                std::fs::create_dir_all(std::path::Path::new(location).join(table.prefix()))
                    .map_err(|e| bad(e.to_string()))?;
            }
            let store = object_store::local::LocalFileSystem::new_with_prefix(location)
                .map_err(|e| bad(e.to_string()))?;
            Ok(Lake {
                store: Arc::new(store),
                root: None,
                location: location.to_string(),
            })
        }
    }

    /// Where the lake is, for messages (S3 locations carry no credentials).
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The full path of `relative` below the root.
    fn path(&self, relative: &str) -> Path {
        match &self.root {
            Some(root) => Path::from(format!("{root}/{relative}")),
            None => Path::from(relative),
        }
    }

    /// Writes one object whole.
    async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<(), LakeError> {
        self.store
            .put(&self.path(relative), PutPayload::from(bytes))
            .await?;
        Ok(())
    }

    /// Writes `rows` as one file per table and partition, named `key`;
    /// returns how many files and rows by table.
    async fn write_rows(&self, rows: &Partitioned, key: &str) -> Result<Written, LakeError> {
        let mut written = Vec::new();
        let mut files = 0;
        for ((table, partition), part) in &rows.parts {
            if part.is_empty() {
                continue;
            }
            let spec = part.table();
            let bytes = part.to_parquet(&[
                ("timbre.table", spec.name.to_string()),
                ("timbre.table.version", spec.version.to_string()),
            ])?;
            let path = format!(
                "{}/{}={}/{}.parquet",
                spec.prefix(),
                spec.partition.0,
                partition,
                file_name(key)
            );
            self.put(&path, bytes).await?;
            files += 1;
            written.push((*table, part.len() as u64));
        }
        Ok(Written {
            files,
            rows: written,
        })
    }

    /// Every object below `relative`, for tests and tools.
    ///
    /// # Errors
    /// The storage failed.
    pub async fn list(&self, relative: &str) -> Result<Vec<String>, LakeError> {
        use futures_util::TryStreamExt;
        let prefix = self.path(relative);
        let metas: Vec<object_store::ObjectMeta> =
            self.store.list(Some(&prefix)).try_collect().await?;
        let mut names: Vec<String> = metas.into_iter().map(|m| m.location.to_string()).collect();
        names.sort();
        Ok(names)
    }
}

/// A key made safe as a file name.
fn file_name(key: &str) -> String {
    key.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[async_trait]
impl ChangeSink for Lake {
    async fn write(&self, batch: &ChangeBatch) -> Result<Written, SinkError> {
        let rows = Partitioned::of_changes(batch);
        let key = batch
            .key
            .clone()
            .unwrap_or_else(|| format!("{}-{}", batch.origin.as_str(), uuid::Uuid::new_v4()));
        self.write_rows(&rows, &key)
            .await
            .map_err(|e| SinkError(e.to_string()))
    }
}

/// The lake's schema catalog: one JSON document per table, as checked in
/// under `schema/lake/<table>.v<version>.json`.
pub fn catalog() -> Vec<(String, String)> {
    tables::all()
        .iter()
        .map(|t| {
            let mut text =
                serde_json::to_string_pretty(&t.catalog_json()).expect("a catalog serialises");
            text.push('\n');
            (format!("{}.v{}.json", t.name, t.version), text)
        })
        .collect()
}

/// The statements that make every table, and `tracks_current`, temporary
/// views of one Spark session over the lake at `root` (as the Spark
/// cluster reads it): what timbre's Spark jobs run before their query.
pub fn spark_session_views(root: &str) -> Vec<String> {
    let mut views: Vec<String> = tables::all()
        .iter()
        .map(|t| t.spark_temp_view(root))
        .collect();
    let current = tables::current_tracks_view().replacen(
        "CREATE OR REPLACE VIEW",
        "CREATE OR REPLACE TEMPORARY VIEW",
        1,
    );
    views.push(current.trim_end().trim_end_matches(';').to_string());
    views
}

/// The DDL of every table and the `tracks_current` view, for Athena/Glue
/// (`spark = false`) or Spark, over the lake at `root`.
pub fn ddl(root: &str, spark: bool) -> String {
    let mut out = String::from(
        "-- timbre's lake: tables generated from the code (timbre schema --lake-ddl).\n",
    );
    for table in tables::all() {
        out.push('\n');
        out.push_str(&if spark {
            table.spark_ddl(root)
        } else {
            table.athena_ddl(root)
        });
    }
    out.push('\n');
    out.push_str(&tables::current_tracks_view());
    out
}
