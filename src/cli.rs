//! The command line: `timbre serve`, `timbre import`, `timbre extract`,
//! `timbre export`, `timbre produce`, `timbre schema`, `timbre evaluate`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

/// timbre: a GraphQL music recommendation server over audio features.
#[derive(Debug, Parser)]
#[command(name = "timbre", version, about, long_about = None)]
pub struct Cli {
    /// TOML configuration file (keys as in `Config`; see the README).
    #[arg(long, global = true, env = "TIMBRE_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the GraphQL server on the embedded store.
    Serve(ServeArgs),
    /// Import tracks from CSV files, Spotify Web API JSON or http(s) URLs.
    Import(ImportArgs),
    /// Extract tracks and their audio features from the Spotify Web API
    /// (by track, album, playlist or artist) into the store, keeping every
    /// response in the lake's raw zone. Stop the server first.
    Extract(ExtractArgs),
    /// Write the whole catalogue to the data lake as a new snapshot
    /// (Parquet; a directory or s3://bucket/prefix).
    Export(ExportArgs),
    /// Publish tracks from CSV files, Spotify Web API JSON or http(s) URLs
    /// to the Kafka tracks topic, for every consuming server to index.
    Produce(ProduceArgs),
    /// Print the GraphQL schema (SDL), as checked in at schema/schema.graphql.
    Schema(SchemaArgs),
    /// Check that a running server answers (exit 0) or not (exit 1): the
    /// container health check, with no curl needed in the image.
    Health(HealthArgs),
    /// Evaluate playlist continuation and feature spaces offline on a
    /// dataset with playlists, and print the table (docs/EVALUATION.md).
    Evaluate(EvaluateArgs),
}

#[derive(Debug, Args)]
pub struct EvaluateArgs {
    /// CSV file with a playlist_id column (e.g. the shared spotify_songs.csv).
    #[arg(long, value_name = "PATH")]
    pub dataset: PathBuf,
    /// Seed of the hidden 20% of each playlist and of the random baseline.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Blend weights (share of co-occurrence, 0 to 1) to evaluate, each
    /// its own row.
    #[arg(
        long,
        value_name = "W,W,…",
        value_delimiter = ',',
        default_value = "0.1,0.25,0.5,0.75,0.9,1",
        value_parser = unit_interval
    )]
    pub blend_weights: Vec<f32>,
    /// Also score the co-occurrence model as a co-occurrence job trains it,
    /// keeping this many neighbours per track (one pair of rows each: alone
    /// and in the server's default blend), beside the model scored from
    /// the playlists.
    #[arg(
        long,
        value_name = "K,K,…",
        value_delimiter = ',',
        default_value = "1000"
    )]
    pub trained_neighbours: Vec<usize>,
}

/// Parses a number within 0..=1.
fn unit_interval(text: &str) -> Result<f32, String> {
    match text.trim().parse::<f32>() {
        Ok(w) if (0.0..=1.0).contains(&w) => Ok(w),
        _ => Err(format!("{text:?} is not a number from 0 to 1")),
    }
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// The probe to ask: /healthz (the process is up) or /readyz.
    #[arg(
        long,
        default_value = "http://127.0.0.1:8080/healthz",
        value_name = "URL"
    )]
    pub url: String,
    /// Give up after this many milliseconds.
    #[arg(long, default_value_t = 2_000, value_name = "MS")]
    pub timeout_ms: u64,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print the JSON Schema of Kafka track messages instead
    /// (schema/track-message.schema.json).
    #[arg(long, conflicts_with_all = ["interaction_message", "lake", "lake_ddl"])]
    pub message: bool,
    /// Print the JSON Schema of Kafka interaction messages instead
    /// (schema/interaction-message.schema.json).
    #[arg(long, conflicts_with_all = ["lake", "lake_ddl"])]
    pub interaction_message: bool,
    /// Write the lake's schema catalog (one JSON file per table, as checked
    /// in under schema/lake/) into this directory.
    #[arg(long, value_name = "DIR", conflicts_with = "lake_ddl")]
    pub lake: Option<PathBuf>,
    /// Print CREATE EXTERNAL TABLE statements for the lake's tables (and
    /// the tracks_current view), for Athena/Glue or Spark.
    #[arg(long)]
    pub lake_ddl: bool,
    /// The DDL's dialect: athena (also Glue and Hive) or spark.
    #[arg(long, value_parser = ["athena", "spark"], default_value = "athena")]
    pub dialect: String,
    /// The lake's root in the DDL (s3://bucket/prefix for Athena; any path
    /// Spark reads) [default: the configured lake].
    #[arg(long, value_name = "LOCATION")]
    pub location: Option<String>,
}

/// The lake's location on the command line.
#[derive(Debug, Args, Serialize, Default)]
pub struct LakeFlags {
    /// The lake: a directory or s3://bucket/prefix [default: [lake] location,
    /// else DATA_DIR/lake].
    #[arg(long = "lake", value_name = "LOCATION")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
}

impl LakeFlags {
    fn is_empty(&self) -> bool {
        self.location.is_none()
    }
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub lake: LakeFlags,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    #[command(flatten)]
    pub lake: LakeFlags,
    /// spotify:track:ID, spotify:album:ID, spotify:playlist:ID or
    /// spotify:artist:ID (or open.spotify.com links to them).
    #[arg(required = true, value_name = "SPOTIFY_URI")]
    pub targets: Vec<String>,
    /// Audio-features provider: GET URL/ID answers the Web API's
    /// audio-features object [default: [spotify] features_url].
    #[arg(long, value_name = "URL")]
    pub features_url: Option<String>,
}

/// Kafka settings on the command line; they override the configuration
/// file and the environment (`TIMBRE_KAFKA__BROKERS`, …).
#[derive(Debug, Args, Serialize, Default)]
pub struct KafkaFlags {
    /// Kafka bootstrap brokers, HOST:PORT[,HOST:PORT…]; consume the tracks
    /// topic when set.
    #[arg(long = "kafka-brokers", value_name = "HOST:PORT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub brokers: Option<String>,
    /// Consumer group id; give each server its own [default: timbre].
    #[arg(long = "kafka-group-id", value_name = "ID")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    /// The tracks topic [default: timbre.tracks].
    #[arg(long = "kafka-topic", value_name = "TOPIC")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
}

impl KafkaFlags {
    fn is_empty(&self) -> bool {
        self.brokers.is_none() && self.group_id.is_none() && self.topic.is_none()
    }
}

/// Settings that both `serve` and `import` take; they override the
/// configuration file and the environment.
#[derive(Debug, Args, Serialize, Default)]
pub struct CommonFlags {
    /// Directory of the embedded store and index snapshot [default: ./data].
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Use MongoDB at this URI as the store (also TIMBRE_MONGODB_URI).
    #[arg(long, value_name = "URI")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mongodb_uri: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Import this file or http(s) URL before serving (repeatable).
    #[arg(long = "import", value_name = "PATH|URL")]
    pub imports: Vec<String>,
    /// Spotify Web API audio-features JSON paired with a tracks JSON import.
    #[arg(long, value_name = "PATH|URL")]
    pub audio_features: Option<String>,
    /// Do not serve GraphiQL to browsers.
    #[arg(long)]
    pub no_graphiql: bool,
    #[command(flatten)]
    pub kafka: KafkaFlags,
}

#[derive(Debug, Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub kafka: KafkaFlags,
    /// CSV files, Spotify Web API JSON files, or http(s) URLs of either.
    #[arg(required = true, value_name = "PATH|URL")]
    pub sources: Vec<String>,
    /// Spotify Web API audio-features JSON paired with a tracks JSON source.
    #[arg(long, value_name = "PATH|URL")]
    pub audio_features: Option<String>,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub common: CommonFlags,
    /// CSV files, Spotify Web API JSON files, or http(s) URLs of either.
    #[arg(required = true, value_name = "PATH|URL")]
    pub sources: Vec<String>,
    /// Spotify Web API audio-features JSON paired with a tracks JSON source.
    #[arg(long, value_name = "PATH|URL")]
    pub audio_features: Option<String>,
}

/// The command-line layer of the configuration.
#[derive(Debug, Serialize, Default)]
pub struct Flags {
    #[serde(flatten)]
    pub common: CommonFlags,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graphiql: Option<bool>,
    #[serde(skip_serializing_if = "KafkaFlags::is_empty")]
    pub kafka: KafkaFlags,
    #[serde(skip_serializing_if = "LakeFlags::is_empty")]
    pub lake: LakeFlags,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// `timbre --help` and every subcommand's help explain every option.
    #[test]
    fn every_command_and_option_is_documented() {
        let cli = Cli::command();
        cli.clone().debug_assert();
        let mut undocumented = Vec::new();
        for command in std::iter::once(&cli).chain(cli.get_subcommands()) {
            if command.get_about().is_none() {
                undocumented.push(command.get_name().to_string());
            }
            for arg in command.get_arguments() {
                let builtin = matches!(arg.get_id().as_str(), "help" | "version");
                if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                    undocumented.push(format!("{} {}", command.get_name(), arg.get_id()));
                }
            }
        }
        assert!(undocumented.is_empty(), "no help text: {undocumented:?}");
    }
}
