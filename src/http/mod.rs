//! HTTP: the GraphQL endpoint, GraphiQL and the health probes, mounted on
//! actix-web. A thin shell: it moves requests into the schema and answers
//! out of it.

mod routes;

pub use routes::{configure, GraphiQl};
