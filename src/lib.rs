//! timbre: a GraphQL server that recommends music from audio features.
//!
//! # Layout
//! Dependencies point inward only, from the adapters at the edge to the
//! domain at the core:
//!
//! ```text
//! domain  <-  catalog, store  <-  service  <-  adapters: api (GraphQL), http, kafka
//!                  ^                 ^
//!        timbre-index crate      ingest, config, auth (shared by the adapters)
//! ```
//!
//! - [`domain`]: tracks, audio features (the one feature table), the feature
//!   space, filters, recommendation and genre logic. Pure data and logic,
//!   no I/O.
//! - [`catalog`]: every track in memory with its vector in the ANN index
//!   (the `timbre-index` crate, a wrapper over hnsw_rs); similarity search,
//!   recommendations and genre discovery.
//! - [`store`]: durable storage behind the [`store::TrackStore`] trait; the
//!   embedded redb store is the default, MongoDB the system of record in
//!   production.
//! - [`service`]: [`service::TrackService`], the facade every adapter
//!   calls: the single path for writes (store, then catalog and index) and
//!   one method per query.
//! - [`ingest`]: what adapters share about tracks arriving: reading CSV and
//!   Spotify Web API JSON, the wire record of a track, and the streaming
//!   ingest's status.
//! - [`config`]: configuration, one file per section; [`auth`]: API keys
//!   and roles; [`error`]: the service layer's errors.
//! - Adapters: [`api`] (the GraphQL schema, resolvers and error codes),
//!   [`http`] (actix-web routes mounting the schema, GraphiQL, probes,
//!   metrics), [`kafka`] (the topics' consumers, dead letters, the
//!   producer), [`lake`] (Parquet on a directory or S3, the schema catalog,
//!   the sink, `timbre export`), [`spotify`] (the Web API client behind
//!   `timbre extract`) and [`spark`] (analytics jobs on Spark through Spark
//!   Connect, an engine of the service's job runner). They never import
//!   each other, except that HTTP mounts the GraphQL schema and serves the
//!   [`dashboard`]'s files (a static page over the public GraphQL API); the Kafka adapter writes to the lake only
//!   through the [`ingest::ChangeSink`] port.
//! - [`application`]: [`application::Application`] builds every part from
//!   the configuration, owns every task and stops them in order; `main.rs`
//!   and the tests only call it. [`cli`] parses the command line.
//! - [`evaluate`]: `timbre evaluate`, the offline evaluation of playlist
//!   continuation and feature spaces that chose the defaults.
//! - [`background`]: a lower-priority thread for work that can wait (graph
//!   catch-ups).
//!
//! Data flows one way: sources (files, URLs, the Kafka topics, mutations)
//! → ingest → service → store, then catalog and index; queries → api →
//! service → catalog.

pub mod api;
pub mod application;
pub mod auth;
pub mod background;
pub mod catalog;
pub mod cli;
pub mod config;
pub mod dashboard;
pub mod domain;
pub mod error;
pub mod evaluate;
pub mod http;
pub mod ingest;
pub mod kafka;
pub mod lake;
pub mod service;
pub mod spark;
pub mod spotify;
pub mod store;
