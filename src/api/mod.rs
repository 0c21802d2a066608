//! The GraphQL API: schema, resolvers and error codes, free of any HTTP
//! transport (the `http` module mounts it).

pub mod auth;
pub mod error;
mod extension;
mod features;
mod genre;
mod ingest;
mod inputs;
mod job_results;
pub mod jobs;
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
use async_graphql::{Context, Schema};

use crate::config::Limits;
use crate::ingest::IngestStatus;
use crate::service::jobs::Jobs;
use crate::service::TrackService;

pub use loader::TrackLoader;

/// The mutation root: catalog writes and listeners' interactions; every
/// mutation needs an API key.
#[derive(async_graphql::MergedObject, Default)]
pub struct MutationRoot(
    mutation::CatalogMutation,
    listener::ListenerMutation,
    jobs::JobMutation,
);
/// The query root: the catalog's queries and the recommendations.
#[derive(async_graphql::MergedObject, Default)]
pub struct QueryRoot(
    query::CatalogQuery,
    recommend::RecommendQueries,
    listener::ListenerQuery,
    jobs::JobQuery,
);

pub use extension::DocumentRules;
pub use subscription::{Shutdown, SubscriptionRoot};

/// The schema type served by timbre.
pub type TimbreSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

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
    /// Who runs persisted queries, the document rules and error coding.
    pub checks: Checks,
    /// The analytics job runner.
    pub jobs: Arc<Jobs>,
}

/// Where the work around execution happens: persisted queries, the
/// document rules ([`DocumentRules`]) and giving every error a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checks {
    /// In the schema, as async-graphql extensions: for transports that
    /// hand whole requests to the schema (WebSocket subscriptions).
    InSchema,
    /// In the caller, around an extension-free schema: the HTTP endpoint.
    /// An extension, even one that only codes errors,
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
    .data(options.jobs)
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

/// A new DataLoader for one request, to attach as request data; `None`
/// when the service holds every track's metadata in memory, where lookups
/// take microseconds and batching would only add its window (see
/// `loader.rs`).
pub fn loader(service: &Arc<TrackService>) -> Option<DataLoader<TrackLoader>> {
    service
        .metadata_from_store()
        .then(|| DataLoader::new(TrackLoader::new(Arc::clone(service)), tokio::spawn))
}

/// The service behind every resolver.
pub(crate) fn service<'a>(ctx: &Context<'a>) -> &'a Arc<TrackService> {
    ctx.data_unchecked::<Arc<TrackService>>()
}

/// The request limits the schema was built with.
pub(crate) fn limits<'a>(ctx: &Context<'a>) -> &'a Limits {
    ctx.data_unchecked::<Limits>()
}

/// The streaming ingest's status.
pub(crate) fn ingest_status<'a>(ctx: &Context<'a>) -> &'a Arc<IngestStatus> {
    ctx.data_unchecked::<Arc<IngestStatus>>()
}
