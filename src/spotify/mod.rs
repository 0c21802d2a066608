//! The Spotify Web API adapter: `timbre extract` pulls tracks (by track,
//! album, playlist or artist) and their audio features, keeping every
//! response as received for the lake's raw zone. Tracks with features then
//! go through the same import path as a CSV file (`ingest::read_web_api`).
//!
//! - `client.rs`: the client-credentials flow, retries and rate limits;
//! - `extract.rs`: which endpoints, pagination, where features come from.

mod client;
mod extract;

pub use client::{Client, Received, SpotifyError};
pub use extract::{extract, Extracted, FeatureSource, Target};
