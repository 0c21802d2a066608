//! Black-box tests: the real server on port 0 with a fresh data directory,
//! spoken to over HTTP.

mod helpers;

mod access;
mod dashboard;
mod deploy;
mod evaluate;
mod graphql;
mod import;
mod jobs;
mod kafka;
mod kafka_process;
mod kafka_server;
mod kafka_topics;
mod lake;
mod lake_readers;
mod listener_jobs;
mod listeners;
mod mongo_server;
mod mongodb;
mod observability;
mod process;
mod protocols;
mod proxies;
mod recall;
mod recommend;
mod replicas;
mod restart;
mod schema;
mod server_process;
mod shared_models;
mod spotify;
mod store_contract;
