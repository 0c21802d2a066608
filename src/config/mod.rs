//! Configuration: one typed struct, layered as defaults → an optional TOML
//! file (`--config`) → `TIMBRE_*` environment variables → command-line
//! flags, and validated before anything starts.
//!
//! Nested keys use a double underscore in the environment:
//! `TIMBRE_LIMITS__MAX_PAGE_SIZE=50`, `TIMBRE_INDEX__EF_SEARCH=128`.
//!
//! Each section's type lives in a file of its own here (`http.rs`,
//! `kafka.rs`, …), not in the adapter that reads it: configuration is
//! composed from them without importing any adapter, and every adapter
//! imports its settings from here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use timbre_index::IndexParams;

pub(crate) mod auth;
mod http;
mod jobs;
mod kafka;
mod lake;
mod limits;
mod recommend;
mod secret;
mod spotify;

pub use auth::{ApiKey, AuthSettings, Role};
pub use http::{parse_proxies, HttpSettings, RateLimit};
pub use jobs::{JobSettings, Schedule};
pub use kafka::KafkaSettings;
pub use lake::LakeSettings;
pub use limits::Limits;
pub use recommend::RecommendSettings;
pub use secret::{redact, Secret};
pub use spotify::SpotifySettings;

/// Every setting of the server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Directory of the embedded store and the index snapshot. Default `./data`.
    pub data_dir: PathBuf,
    /// Address the HTTP server listens on. Default `127.0.0.1:8080`.
    pub listen: String,
    /// Serve GraphiQL to browsers at `/graphql`. Default on.
    pub graphiql: bool,
    /// Serve the dashboard at `/dashboard/` (a static page over the
    /// public GraphQL API; it shows nothing the API would not). Default on.
    pub dashboard: bool,
    /// Log format: `text` or `json`. Default `text`.
    pub log_format: LogFormat,
    /// HTTP worker threads; 0 means one per core. Default 0.
    pub workers: usize,
    /// Request limits.
    pub limits: Limits,
    /// HTTP: introspection, APQ, CORS, metrics, shutdown, rate limits.
    pub http: HttpSettings,
    /// API keys for mutations and admin operations.
    pub auth: AuthSettings,
    /// Parameters of the HNSW index.
    pub index: IndexParams,
    /// MongoDB connection string; when set, MongoDB is the store instead of
    /// the embedded one. May hold a password: never logged.
    pub mongodb_uri: Option<Secret>,
    /// MongoDB database name. Default `timbre`.
    pub mongodb_database: String,
    /// Kafka: the tracks topic consumed into the catalog.
    pub kafka: KafkaSettings,
    /// How recommendations blend their signals.
    pub recommend: RecommendSettings,
    /// The open data lake (Parquet, local or S3).
    pub lake: LakeSettings,
    /// Analytics jobs and the Spark cluster.
    pub jobs: JobSettings,
    /// The Spotify Web API, for `timbre extract`.
    pub spotify: SpotifySettings,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("data"),
            listen: "127.0.0.1:8080".into(),
            graphiql: true,
            dashboard: true,
            log_format: LogFormat::Text,
            workers: 0,
            limits: Limits::default(),
            http: HttpSettings::default(),
            auth: AuthSettings::default(),
            index: IndexParams::default(),
            mongodb_uri: None,
            mongodb_database: "timbre".into(),
            kafka: KafkaSettings::default(),
            recommend: RecommendSettings::default(),
            lake: LakeSettings::default(),
            jobs: JobSettings::default(),
            spotify: SpotifySettings::default(),
        }
    }
}

/// The top-level keys of [`Config`], as `TIMBRE_*` variables may set them.
/// Derived from the struct itself, so that a new setting is never forgotten;
/// other `TIMBRE_*` variables (e.g. `TIMBRE_CONFIG`, read by the command
/// line, or test settings) are not configuration keys and are ignored.
fn config_keys() -> Vec<String> {
    match serde_json::to_value(Config::default()) {
        Ok(serde_json::Value::Object(map)) => map.keys().cloned().collect(),
        _ => Vec::new(),
    }
}

/// A configuration that cannot be used, with the reason.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(String);

impl Config {
    /// Loads the layers and validates the result. `flags` holds the values
    /// given on the command line (absent ones are skipped).
    ///
    /// # Errors
    /// [`ConfigError`] for an unreadable file, an unknown key, a value of the
    /// wrong type or a value out of range.
    pub fn load(file: Option<&Path>, flags: impl Serialize) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.exists() {
                return Err(ConfigError(format!(
                    "config file {} does not exist",
                    path.display()
                )));
            }
            figment = figment.merge(Toml::file(path));
        }
        let keys = config_keys();
        let env = Env::prefixed("TIMBRE_").split("__").filter(move |key| {
            // Filtering sees the key before figment lower-cases it.
            let top = key.as_str().split('.').next().unwrap_or_default();
            keys.iter().any(|k| top.eq_ignore_ascii_case(k))
        });
        let config: Config = figment
            .merge(env)
            .merge(Serialized::defaults(flags))
            .extract()
            .map_err(|e| ConfigError(e.to_string()))?;
        config.validate()?;
        Ok(config)
    }

    /// Checks values that types alone cannot.
    ///
    /// # Errors
    /// [`ConfigError`] naming the first bad value.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen.parse::<SocketAddr>().map_err(|e| {
            ConfigError(format!(
                "listen = {:?} is not an address like 127.0.0.1:8080: {e}",
                self.listen
            ))
        })?;
        let l = &self.limits;
        if l.max_depth == 0
            || l.max_complexity == 0
            || l.max_page_size == 0
            || l.max_body_bytes < 1024
        {
            return Err(ConfigError(
                "limits must be positive, and limits.max_body_bytes at least 1024".into(),
            ));
        }
        self.http.validate().map_err(ConfigError)?;
        self.auth.validate().map_err(ConfigError)?;
        self.index
            .validate()
            .map_err(|e| ConfigError(e.to_string()))?;
        self.kafka.validate().map_err(ConfigError)?;
        self.lake.validate().map_err(ConfigError)?;
        self.jobs.validate().map_err(ConfigError)?;
        self.spotify.validate().map_err(ConfigError)?;
        if !(0.0..=1.0).contains(&self.recommend.blend_weight) {
            return Err(ConfigError(format!(
                "recommend.blend_weight must lie within 0..=1, got {}",
                self.recommend.blend_weight
            )));
        }
        Ok(())
    }

    /// Directory of the index snapshot.
    pub fn snapshot_dir(&self) -> PathBuf {
        self.data_dir.join("index")
    }

    /// Where the lake is: the configured location, else `<data_dir>/lake`.
    pub fn lake_location(&self) -> String {
        self.lake
            .location
            .clone()
            .unwrap_or_else(|| self.data_dir.join("lake").to_string_lossy().into_owned())
    }

    /// The lake as the Spark cluster reads it: `[jobs] spark_lake`, else
    /// [`Self::lake_location`].
    pub fn spark_lake(&self) -> String {
        self.jobs
            .spark_lake
            .clone()
            .unwrap_or_else(|| self.lake_location())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Default)]
    struct Flags {
        #[serde(skip_serializing_if = "Option::is_none")]
        listen: Option<String>,
    }

    /// Every test that loads a configuration runs in a figment `Jail`: the
    /// jail serialises them, so one test's `TIMBRE_*` variables never leak
    /// into another running on a parallel thread.
    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's type
    fn flags_override_the_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "timbre.toml",
                "listen = \"0.0.0.0:9000\"\n[limits]\nmax_page_size = 50\n",
            )?;
            let file = jail.directory().join("timbre.toml");
            let config = Config::load(Some(&file), Flags::default()).unwrap();
            assert_eq!(config.listen, "0.0.0.0:9000");
            assert_eq!(config.limits.max_page_size, 50);
            assert_eq!(config.limits.max_depth, Limits::default().max_depth);
            let config = Config::load(
                Some(&file),
                Flags {
                    listen: Some("127.0.0.1:1".into()),
                },
            )
            .unwrap();
            assert_eq!(config.listen, "127.0.0.1:1");
            Ok(())
        });
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's type
    fn timbre_environment_variables_are_read_and_others_ignored() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("TIMBRE_MONGODB_DATABASE", "music");
            jail.set_env("TIMBRE_LIMITS__MAX_PAGE_SIZE", "7");
            jail.set_env("TIMBRE_TEST_MONGODB_URI", "not a config key");
            let config = Config::load(None, Flags::default()).unwrap();
            assert_eq!(config.mongodb_database, "music");
            assert_eq!(config.limits.max_page_size, 7);
            Ok(())
        });
    }

    #[test]
    fn the_mongodb_password_is_redacted_in_debug_output() {
        let config = Config {
            mongodb_uri: Some(Secret("mongodb://app:hunter2@db:27017/".into())),
            ..Config::default()
        };
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("hunter2") && shown.contains("app:***@db"),
            "{shown}"
        );
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail fixes the closure's type
    fn bad_values_and_unknown_keys_are_named() {
        figment::Jail::expect_with(|jail| {
            let file = jail.directory().join("timbre.toml");
            jail.create_file("timbre.toml", "listen = \"nowhere\"\n")?;
            let err = Config::load(Some(&file), Flags::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("nowhere"), "{err}");
            jail.create_file("timbre.toml", "lisen = \"127.0.0.1:1\"\n")?;
            let err = Config::load(Some(&file), Flags::default())
                .unwrap_err()
                .to_string();
            assert!(err.contains("lisen"), "{err}");
            let missing = jail.directory().join("absent.toml");
            assert!(Config::load(Some(&missing), Flags::default()).is_err());
            Ok(())
        });
    }
}
