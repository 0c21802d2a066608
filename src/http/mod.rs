//! HTTP: the GraphQL endpoint, GraphiQL and the health probes, mounted on
//! actix-web. A thin shell: it moves requests into the GraphQL schema
//! ([`crate::api`], the one adapter it builds on: HTTP is GraphQL's
//! transport) and answers out of it; probes and metrics read the service,
//! and `/api/v1/jobs` calls the service's job runner.

mod client_addr;
mod dashboard;
mod document_cache;
mod graphql_http;
mod jobs;
mod malformed;
mod metrics;
mod middleware;
mod persisted;
mod rate_limit;
mod routes;
mod server;

pub use client_addr::TrustedProxies;
pub use document_cache::DocumentCache;
pub use malformed::ClientMistakes;
pub use metrics::Metrics;
pub use middleware::{observe, REQUEST_ID};
pub use persisted::PersistedQueries;
pub use rate_limit::ClientLimiter;
pub use routes::{configure, Endpoint, GraphiQl};
pub use server::server;
