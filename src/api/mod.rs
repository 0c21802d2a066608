//! The GraphQL API: schema, resolvers and error codes, free of any HTTP
//! transport (the `http` module mounts it).

pub mod error;
mod extension;
mod genre;
mod ingest;
mod inputs;
mod loader;
mod query;
mod recommendation;
pub(crate) mod track;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::{EmptyMutation, EmptySubscription, Schema};
use serde::{Deserialize, Serialize};

use crate::kafka::IngestStatus;
use crate::service::TrackService;

pub use loader::TrackLoader;
pub use query::QueryRoot;

/// The schema type served by timbre.
pub type TimbreSchema = Schema<QueryRoot, EmptyMutation, EmptySubscription>;

/// Limits that protect the server from expensive requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting of selections a query may have. Default 12.
    pub max_depth: usize,
    /// Largest complexity a query may have: each field costs 1, list fields
    /// multiply their children by `first`. Default 5,000.
    pub max_complexity: usize,
    /// Largest `first` (page size) of any list. Default 100.
    pub max_page_size: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_complexity: 5_000,
            max_page_size: 100,
        }
    }
}

/// Builds the schema over `service`, reporting on `ingest`.
pub fn schema(
    service: Arc<TrackService>,
    ingest: Arc<IngestStatus>,
    limits: Limits,
) -> TimbreSchema {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .data(service)
        .data(ingest)
        .data(limits)
        .limit_depth(limits.max_depth)
        .limit_complexity(limits.max_complexity)
        .extension(extension::ErrorCodes)
        .finish()
}

/// The schema's SDL, as checked in at `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(QueryRoot, EmptyMutation, EmptySubscription)
        .finish()
        .sdl()
}

/// The per-request DataLoader; attach it to every request as request data.
pub fn loader(service: Arc<TrackService>) -> DataLoader<TrackLoader> {
    DataLoader::new(TrackLoader::new(service), tokio::spawn)
}
