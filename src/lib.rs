//! timbre: a GraphQL server that recommends music from audio features.
//!
//! # Layout
//! - [`domain`]: tracks, audio features, the feature space, filters, genre
//!   analytics. Pure data and logic, no I/O.
//! - [`catalog`]: every track in memory with its vector in the ANN index
//!   (the `timbre-index` crate, a wrapper over hnsw_rs); similarity search and
//!   genre discovery.
//! - [`store`]: durable storage behind the [`store::TrackStore`] trait; the
//!   embedded redb store is the default.
//! - [`ingest`]: reading CSV and Spotify Web API JSON, from files or URLs,
//!   into domain tracks, with every rejected row reported.
//! - [`kafka`]: the tracks topic's consumer (with its dead-letter topic),
//!   the `timbre produce` publisher and the message schema.
//! - [`service`]: [`service::TrackService`], the single path for writes
//!   (store, then catalog and index) and reads.
//! - [`api`]: the GraphQL schema, resolvers and error codes.
//! - [`http`]: actix-web routes mounting the schema, GraphiQL and probes.
//! - [`evaluate`]: `timbre evaluate`, the offline evaluation of playlist
//!   continuation and feature spaces that chose the defaults.
//! - [`background`]: a lower-priority thread for work that can wait (graph
//!   catch-ups).
//! - [`config`], [`cli`], [`startup`]: configuration, command line, and
//!   building the running application; `main.rs` only wires them.
//!
//! Data flows one way: sources (files, URLs, the Kafka topic) → ingest → service → store, then catalog and
//! index; queries → api → service → catalog.

pub mod api;
pub mod background;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod evaluate;
pub mod http;
pub mod ingest;
pub mod kafka;
pub mod service;
pub mod startup;
pub mod store;
