//! The GraphQL API: schema, resolvers and error codes, free of any HTTP
//! transport (the `http` module mounts it).

pub mod auth;
pub mod error;
mod extension;
mod genre;
mod ingest;
mod inputs;
mod listener;
mod loader;
mod mutation;
mod query;
mod recommend;
mod recommendation;
mod subscription;
pub(crate) mod track;

use std::sync::Arc;

use async_graphql::dataloader::DataLoader;
use async_graphql::extensions::apollo_persisted_queries::{
    ApolloPersistedQueries, LruCacheStorage,
};
use async_graphql::Schema;
use serde::{Deserialize, Serialize};

use crate::kafka::IngestStatus;
use crate::service::TrackService;

pub use loader::TrackLoader;
/// The mutation root: catalog writes and listeners' interactions; every
/// mutation needs an API key.
#[derive(async_graphql::MergedObject, Default)]
pub struct MutationRoot(mutation::CatalogMutation, listener::ListenerMutation);
/// The query root: the catalog's queries and the recommendations.
#[derive(async_graphql::MergedObject, Default)]
pub struct QueryRoot(
    query::CatalogQuery,
    recommend::RecommendQueries,
    listener::ListenerQuery,
);

/// How recommendations blend their signals (`[recommend]` in the
/// configuration).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RecommendSettings {
    /// Share of playlist co-occurrence, against audio similarity, in
    /// `recommendForPlaylist` and `recommendForUser`, 0 to 1. The default,
    /// 0.9, is the best NDCG@50 of `timbre evaluate` on the shared dataset
    /// (docs/EVALUATION.md): co-occurrence does the ranking, and audio
    /// similarity breaks its many near-ties and brings in tracks no
    /// playlist relates yet. Every weight from 0.5 to 0.95 scores within
    /// noise of it; 1 (no audio) and 0.25 or less score clearly worse.
    pub blend_weight: f32,
}

impl Default for RecommendSettings {
    fn default() -> Self {
        RecommendSettings { blend_weight: 0.9 }
    }
}
pub use extension::DocumentRules;
pub use subscription::{Shutdown, SubscriptionRoot};

/// The schema type served by timbre.
pub type TimbreSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Limits that protect the server from expensive requests.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Deepest nesting of selections a query may have. Default 12.
    pub max_depth: usize,
    /// Largest complexity a query may have: each field costs 1, list fields
    /// multiply their children by `first`. Default 5,000.
    pub max_complexity: usize,
    /// Most aliases a request may use. Default 30.
    pub max_aliases: usize,
    /// Largest `first` (page size) of any list. Default 100.
    pub max_page_size: usize,
    /// Largest HTTP request body, in bytes. Default 1 MiB.
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 12,
            max_complexity: 5_000,
            max_aliases: 30,
            max_page_size: 100,
            max_body_bytes: 1 << 20,
        }
    }
}

/// How the schema is served, beyond its limits.
#[derive(Clone)]
pub struct SchemaOptions {
    pub limits: Limits,
    /// Answer introspection queries (`__schema`, `__type`).
    pub introspection: bool,
    /// The store of automatic persisted queries, shared with the HTTP
    /// endpoint (`http::PersistedQueries`); `None` turns APQ off.
    pub persisted: Option<LruCacheStorage>,
    /// Ends subscriptions when the server shuts down.
    pub shutdown: Shutdown,
    /// How recommendations blend their signals.
    pub recommend: RecommendSettings,
    /// Who runs persisted queries, the document rules and error coding.
    pub checks: Checks,
}

/// Where the work around execution happens: persisted queries, the
/// document rules ([`DocumentRules`]) and giving every error a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// In the schema, as async-graphql extensions: for transports that
    /// hand whole requests to the schema (WebSocket subscriptions).
    InSchema,
    /// In the caller, around an extension-free schema: the HTTP endpoint
    /// ([`crate::http`]). An extension, even one that only codes errors,
    /// puts every field's resolution through async-graphql's boxed
    /// extension chain; without it `similar` served about 40 % more
    /// requests per second under HTTP load (BENCHMARKS.md).
    ByCaller,
}

/// Builds the schema over `service`, reporting on `ingest`.
pub fn schema(
    service: Arc<TrackService>,
    ingest: Arc<IngestStatus>,
    options: SchemaOptions,
) -> TimbreSchema {
    let limits = options.limits;
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .data(service)
    .data(ingest)
    .data(limits)
    .data(options.shutdown)
    .data(options.recommend)
    .limit_depth(limits.max_depth)
    .limit_complexity(limits.max_complexity);
    if !options.introspection {
        builder = builder.disable_introspection();
    }
    if options.checks == Checks::ByCaller {
        return builder.finish();
    }
    // ErrorCodes first: it wraps the others and codes their errors.
    builder = builder
        .extension(extension::ErrorCodes)
        .extension(DocumentRules {
            max_aliases: limits.max_aliases,
            introspection: options.introspection,
        });
    if let Some(documents) = options.persisted {
        builder = builder.extension(ApolloPersistedQueries::new(documents));
    }
    builder.finish()
}

/// The schema's SDL, as checked in at `schema/schema.graphql`.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish()
    .sdl()
}

/// The per-request DataLoader; attach it to every request as request data.
pub fn loader(service: Arc<TrackService>) -> DataLoader<TrackLoader> {
    DataLoader::new(TrackLoader::new(service), tokio::spawn)
}
