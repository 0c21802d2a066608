//! The `timbre` binary: parses the command line, sets up logging and hands
//! over to the [`Application`] (or, for one-off commands, to the service).

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use std::time::Duration;

use timbre::application::{self, Application};
use timbre::cli::{
    Cli, Command, CommonFlags, ExportArgs, ExtractArgs, Flags, HealthArgs, ImportArgs, LakeFlags,
    ProduceArgs, SchemaArgs,
};
use timbre::config::{Config, LogFormat};
use timbre::ingest::Source;
use timbre::kafka;
use timbre::service::{IndexOrigin, TrackService};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

/// mimalloc instead of glibc's malloc: a GraphQL request allocates and frees
/// hundreds of small values, and under HTTP load glibc's allocator took
/// about 14 % of the server's CPU (perf, `similar` at saturation). Built
/// without transparent huge pages (Cargo.toml), so freed memory goes back
/// to the system page by page.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The configuration of a command that writes to the lake (`export`,
/// `extract`), with logging started as it says.
fn lake_config(
    file: Option<&std::path::Path>,
    common: CommonFlags,
    lake: LakeFlags,
) -> anyhow::Result<Config> {
    let config = Config::load(
        file,
        Flags {
            common,
            lake,
            ..Flags::default()
        },
    )?;
    init_logging(config.log_format);
    Ok(config)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Schema(args) => schema(cli.config.as_deref(), args),
        Command::Export(ExportArgs { common, lake }) => {
            export(lake_config(cli.config.as_deref(), common, lake)?).await
        }
        Command::Extract(ExtractArgs {
            common,
            lake,
            targets,
            features_url,
        }) => {
            let mut config = lake_config(cli.config.as_deref(), common, lake)?;
            if features_url.is_some() {
                config.spotify.features_url = features_url;
                config.validate()?;
            }
            extract(config, targets).await
        }
        Command::Health(args) => health(args).await,
        Command::Evaluate(args) => {
            let options = timbre::evaluate::Options {
                dataset: args.dataset,
                seed: args.seed,
                blend_weights: args.blend_weights,
                trained_neighbours: args.trained_neighbours,
            };
            let report =
                tokio::task::spawn_blocking(move || timbre::evaluate::run(&options)).await??;
            print!("{report}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => {
            let flags = Flags {
                listen: args.listen.clone(),
                graphiql: args.no_graphiql.then_some(false),
                kafka: args.kafka,
                ..Flags::default()
            };
            let config = Config::load(
                cli.config.as_deref(),
                Flags {
                    common: args.common,
                    ..flags
                },
            )?;
            init_logging(config.log_format);
            serve(config, args.imports, args.audio_features).await
        }
        Command::Import(ImportArgs {
            common,
            sources,
            audio_features,
        }) => {
            let config = Config::load(
                cli.config.as_deref(),
                Flags {
                    common,
                    ..Flags::default()
                },
            )?;
            init_logging(config.log_format);
            import(config, sources, audio_features).await
        }
        Command::Produce(ProduceArgs {
            kafka,
            sources,
            audio_features,
        }) => {
            let config = Config::load(
                cli.config.as_deref(),
                Flags {
                    kafka,
                    ..Flags::default()
                },
            )?;
            init_logging(config.log_format);
            produce(config, sources, audio_features).await
        }
    }
}

/// `timbre schema`: the GraphQL SDL, a message schema, the lake's catalog
/// or its DDL.
fn schema(config_file: Option<&std::path::Path>, args: SchemaArgs) -> anyhow::Result<ExitCode> {
    if args.message {
        print!("{}", kafka::message::json_schema_text());
    } else if args.interaction_message {
        print!("{}", kafka::interaction_message::json_schema_text());
    } else if let Some(dir) = args.lake {
        std::fs::create_dir_all(&dir)?;
        for (name, text) in timbre::lake::catalog() {
            std::fs::write(dir.join(&name), text)
                .with_context(|| format!("writing {}", dir.join(&name).display()))?;
            eprintln!("wrote {}", dir.join(name).display());
        }
    } else if args.lake_ddl {
        let location = match args.location {
            Some(location) => location,
            None => Config::load(config_file, Flags::default())?.lake_location(),
        };
        let location = match location.contains("://") {
            true => location,
            // Engines want absolute local paths.
            false => std::path::absolute(&location)?
                .to_string_lossy()
                .into_owned(),
        };
        print!("{}", timbre::lake::ddl(&location, args.dialect == "spark"));
    } else {
        print!("{}", timbre::api::sdl());
    }
    Ok(ExitCode::SUCCESS)
}

/// `timbre export`: the catalogue as a new snapshot in the lake.
async fn export(config: Config) -> anyhow::Result<ExitCode> {
    let (service, startup) = application::open_service(&config)
        .await
        .with_context(|| store_description(&config))?;
    log_startup(&startup);
    let location = config.lake_location();
    let lake = timbre::lake::Lake::open(&location, &config.lake)?;
    let report = timbre::lake::export(&service, &lake, config.lake.max_rows_per_file)
        .await
        .with_context(|| format!("exporting to the lake at {location}"))?;
    eprintln!("{report} to {location}");
    Ok(ExitCode::SUCCESS)
}

/// `timbre extract`: tracks from the Spotify Web API.
async fn extract(config: Config, targets: Vec<String>) -> anyhow::Result<ExitCode> {
    let targets = targets
        .iter()
        .map(|t| timbre::spotify::Target::parse(t))
        .collect::<Result<Vec<_>, _>>()
        .map_err(anyhow::Error::msg)?;
    let (service, startup) = application::open_service(&config)
        .await
        .with_context(|| store_description(&config))?;
    log_startup(&startup);
    let location = config.lake_location();
    let lake = timbre::lake::Lake::open(&location, &config.lake)?;
    let report = application::extract(&service, &config.spotify, &lake, targets).await?;
    service.save_snapshot().await?;
    print_report(&report.import);
    let (api, provider) = report.feature_sources;
    eprintln!(
        "  audio features     {api} from the Web API, {provider} from the provider{}",
        if report.web_api_features_refused {
            " (the Web API refuses audio features to this app)"
        } else {
            ""
        }
    );
    eprintln!("  already held       {}", report.skipped);
    eprintln!(
        "  no features        {} (kept in the raw zone only)",
        report.without_features.len()
    );
    for id in report.without_features.iter().take(20) {
        eprintln!("    {id}");
    }
    eprintln!(
        "  raw responses      {} in {location}/raw/spotify",
        report.raw_responses
    );
    for (what, error) in &report.errors {
        eprintln!("error: {what}: {error}");
    }
    let fatal = report.errors.iter().any(|(_, e)| e.is_fatal());
    Ok(
        if fatal || (report.import.tracks == 0 && !report.errors.is_empty()) {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// Asks a probe URL; success is any 2xx answer within the timeout.
async fn health(args: HealthArgs) -> anyhow::Result<ExitCode> {
    let HealthArgs { url, timeout_ms } = args;
    let answer = tokio::task::spawn_blocking(move || {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_millis(timeout_ms)))
            .build()
            .into();
        agent.get(&url).call().map(|r| r.status().as_u16())
    })
    .await?;
    match answer {
        Ok(status) => {
            println!("healthy: HTTP {status}");
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("unhealthy: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Gives the system back, now, the memory that start-up's transient
/// structures (store pages, snapshot files, a graph build) used and freed:
/// mimalloc would purge it after a delay, on its own schedule, and until
/// then it counts as the server's resident size (about 40 MB at 1M tracks,
/// bench/startup.sh).
fn release_free_memory() {
    // SAFETY: mi_collect only walks mimalloc's own structures; any thread
    // may call it at any time.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

/// What opening the service opens, for error messages (the URI redacted).
fn store_description(config: &Config) -> String {
    match &config.mongodb_uri {
        Some(uri) => format!("opening the MongoDB store at {uri:?}"),
        None => format!("opening the data directory {}", config.data_dir.display()),
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,hnsw_rs=warn,anndists=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // Clients' malformed requests are counted, not logged as errors.
    let mistakes = timbre::http::ClientMistakes;
    match format {
        LogFormat::Text => builder.finish().with(mistakes).init(),
        LogFormat::Json => builder.json().finish().with(mistakes).init(),
    }
}

async fn serve(
    config: Config,
    imports: Vec<String>,
    audio_features: Option<String>,
) -> anyhow::Result<ExitCode> {
    let app = Application::build(config.clone())
        .await
        .with_context(|| store_description(&config))?;
    log_startup(app.startup());
    import_all(app.service(), &imports, audio_features.as_deref()).await?;
    release_free_memory();
    if app.service().is_empty() {
        tracing::warn!(
            "the catalog is empty: load tracks with `timbre import PATH|URL` (server stopped) or `timbre serve --import PATH|URL`; see the README for the public dataset"
        );
    }
    tracing::info!("serving GraphQL on http://{}/graphql", app.address());
    app.run_until_stopped().await?;
    Ok(ExitCode::SUCCESS)
}

async fn import(
    config: Config,
    sources: Vec<String>,
    audio_features: Option<String>,
) -> anyhow::Result<ExitCode> {
    let (service, startup) = application::open_service(&config)
        .await
        .with_context(|| store_description(&config))?;
    log_startup(&startup);
    let imported = import_all(&service, &sources, audio_features.as_deref()).await?;
    service.save_snapshot().await?;
    if imported == 0 {
        eprintln!("error: nothing could be imported");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads every source and publishes its tracks to the Kafka topic.
async fn produce(
    config: Config,
    sources: Vec<String>,
    audio_features: Option<String>,
) -> anyhow::Result<ExitCode> {
    if config.kafka.brokers.is_none() {
        anyhow::bail!(
            "no Kafka brokers: give --kafka-brokers HOST:PORT (or TIMBRE_KAFKA__BROKERS)"
        );
    }
    if config.kafka.create_topics {
        kafka::ensure_topics(&config.kafka)
            .await
            .context("creating the Kafka topics")?;
    }
    let mut produced = 0;
    let mut failed = 0;
    for source in sources {
        let source = Source::parse(&source);
        let features = audio_features.as_deref().map(Source::parse);
        let (tracks, report) =
            tokio::task::spawn_blocking(move || timbre::ingest::read(&source, features.as_ref()))
                .await??;
        print_report(&report);
        let published = kafka::producer::produce(&config.kafka, &tracks).await?;
        eprintln!("{published}");
        produced += published.produced;
        failed += published.failed;
    }
    if produced == 0 || failed > 0 {
        eprintln!("error: {failed} message(s) failed, {produced} produced");
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// Imports every source in turn, printing each report; returns how many
/// tracks were imported in all.
async fn import_all(
    service: &TrackService,
    sources: &[String],
    audio_features: Option<&str>,
) -> anyhow::Result<usize> {
    let mut imported = 0;
    for source in sources {
        let report = application::import(
            service,
            Source::parse(source),
            audio_features.map(Source::parse),
        )
        .await?;
        imported += report.tracks;
        print_report(&report);
    }
    Ok(imported)
}

fn log_startup(startup: &timbre::service::Startup) {
    match &startup.origin {
        IndexOrigin::Snapshot { upserted, removed } => tracing::info!(
            tracks = startup.tracks,
            upserted,
            removed,
            elapsed_ms = startup.elapsed.as_millis() as u64,
            "catalog loaded from the index snapshot"
        ),
        IndexOrigin::Rebuilt { reason } => tracing::info!(
            tracks = startup.tracks,
            reason = reason.as_str(),
            elapsed_ms = startup.elapsed.as_millis() as u64,
            "index rebuilt"
        ),
    }
}

/// Prints rejected rows (the first 50, then a count) and the summary.
fn print_report(report: &timbre::ingest::ImportReport) {
    const SHOWN: usize = 50;
    for r in report.rejected.iter().take(SHOWN) {
        eprintln!("{}: {}: rejected: {}", report.source, r.location, r.reason);
    }
    if report.rejected.len() > SHOWN {
        eprintln!(
            "... and {} more rejected rows",
            report.rejected.len() - SHOWN
        );
    }
    eprintln!("{report}");
}
