//! HTTP: the GraphQL endpoint, GraphiQL and the health probes, mounted on
//! actix-web. A thin shell: it moves requests into the schema and answers
//! out of it.

mod document_cache;
mod graphql_http;
mod metrics;
mod middleware;
mod persisted;
mod rate_limit;
mod routes;
mod settings;

pub use document_cache::DocumentCache;
pub use metrics::Metrics;
pub use middleware::{observe, REQUEST_ID};
pub use persisted::PersistedQueries;
pub use rate_limit::ClientLimiter;
pub use routes::{configure, Endpoint, GraphiQl};
pub use settings::{HttpSettings, RateLimit};
