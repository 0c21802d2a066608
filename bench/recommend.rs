//! In-process latency of `recommend` and `recommendForPlaylist` on the
//! shared dataset, against `similar` measured in the same run: first the
//! catalog's methods called directly (one thread), then the same requests
//! through the GraphQL schema (`schema.execute`, no HTTP), which adds
//! parsing, validation, the hop to the blocking pool and serialisation.
//!
//! Run: `cargo run --release --example recommend [-- PATH]`
//! (PATH defaults to $TIMBRE_DATASET, then ../shared/data/spotify_songs.csv;
//! TIMBRE_BENCH_N sets the calls per case, default 2,000).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_graphql::{Request, Variables};
use serde_json::{json, Value};
use timbre::api::{self, Checks, SchemaOptions, Shutdown};
use timbre::application;
use timbre::catalog::{Catalog, PlaylistSeed, Seed};
use timbre::config::{Config, Limits, RecommendSettings};
use timbre::domain::{Feature, RecommendQuery, Seeds, TrackFilter, TrackId};
use timbre::ingest::IngestStatus;
use timbre::ingest::{self, Source};
use timbre_index::IndexParams;

/// Latencies of one case, sorted.
struct Timings {
    name: String,
    sorted: Vec<Duration>,
}

impl Timings {
    fn new(name: impl Into<String>, mut xs: Vec<Duration>) -> Self {
        xs.sort();
        Timings {
            name: name.into(),
            sorted: xs,
        }
    }

    fn percentile(&self, p: f64) -> Duration {
        let n = self.sorted.len();
        self.sorted[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
    }

    fn median(&self) -> Duration {
        self.percentile(0.5)
    }
}

fn us(d: Duration) -> String {
    format!("{:.0} µs", d.as_secs_f64() * 1e6)
}

/// Prints a Markdown table, each median also as a ratio to the first's.
fn table(title: &str, cases: &[Timings]) {
    println!("\n{title}\n");
    println!("| case | median | p99 | min | max | median / similar |");
    println!("|---|---|---|---|---|---|");
    let base = cases[0].median().as_secs_f64();
    for t in cases {
        println!(
            "| {} | {} | {} | {} | {} | {:.1}× |",
            t.name,
            us(t.median()),
            us(t.percentile(0.99)),
            us(t.sorted[0]),
            us(*t.sorted.last().unwrap()),
            t.median().as_secs_f64() / base
        );
    }
}

/// Times `n` calls of `f(i)`.
fn time<R>(n: usize, mut f: impl FnMut(usize) -> R) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let t = Instant::now();
            std::hint::black_box(f(i));
            t.elapsed()
        })
        .collect()
}

/// What the cases draw their seeds from, spread over the catalog.
struct Inputs {
    tracks: Vec<TrackId>,
    /// Main artists with at least three tracks.
    artists: Vec<String>,
    genres: Vec<String>,
    playlists: Vec<String>,
}

impl Inputs {
    fn of(catalog: &Catalog) -> Self {
        let tracks: Vec<TrackId> = catalog.tracks().map(|t| t.id).collect();
        let mut counts = std::collections::BTreeMap::<&str, usize>::new();
        for t in catalog.tracks() {
            if let Some(a) = t.artists().first() {
                *counts.entry(a.as_str()).or_default() += 1;
            }
        }
        let artists = counts
            .into_iter()
            .filter(|(_, n)| *n >= 3)
            .map(|(a, _)| a.to_string())
            .collect();
        let genres: BTreeSet<String> = catalog.tracks().flat_map(|t| t.genres().to_vec()).collect();
        let playlists: BTreeSet<String> = catalog
            .tracks()
            .flat_map(|t| t.playlists().map(|p| p.id.clone()).collect::<Vec<_>>())
            .collect();
        Inputs {
            tracks,
            artists,
            genres: genres.into_iter().collect(),
            playlists: playlists.into_iter().collect(),
        }
    }

    /// The `i`-th pick of a list, spread by a prime stride.
    fn pick<T: Clone>(list: &[T], i: usize) -> T {
        list[(i * 7919) % list.len()].clone()
    }

    fn three_tracks(&self, i: usize) -> Vec<TrackId> {
        (0..3)
            .map(|k| Self::pick(&self.tracks, 3 * i + k))
            .collect()
    }

    /// 3 track seeds.
    fn tracks_query(&self, i: usize) -> RecommendQuery {
        RecommendQuery {
            seeds: Seeds {
                track_ids: self.three_tracks(i),
                ..Default::default()
            },
            first: 10,
            ..Default::default()
        }
    }

    /// An artist, 0.2 more energetic: one of the first `spread` artists
    /// (an artist's centroid is computed on first use, then cached until
    /// the next write).
    fn artist_query(&self, i: usize, spread: usize) -> RecommendQuery {
        let mut q = RecommendQuery {
            seeds: Seeds {
                artists: vec![self.artist(i, spread)],
                ..Default::default()
            },
            first: 10,
            ..Default::default()
        };
        q.shift[Feature::Energy as usize] = Some(0.2);
        q
    }

    fn artist(&self, i: usize, spread: usize) -> String {
        Self::pick(&self.artists[..spread.min(self.artists.len())], i)
    }

    /// A genre, 120 to 130 BPM, two per artist at most, diversity 0.3.
    fn genre_query(&self, i: usize) -> RecommendQuery {
        let mut q = RecommendQuery {
            seeds: Seeds {
                genres: vec![Self::pick(&self.genres, i)],
                ..Default::default()
            },
            max_per_artist: Some(2),
            diversity: 0.3,
            first: 10,
            ..Default::default()
        };
        q.filter.features[Feature::Tempo as usize] = (Some(120.0), Some(130.0));
        q
    }
}

/// The `i`-th request of a case.
type MakeRequest<'a> = Box<dyn Fn(usize) -> Request + 'a>;

const RESULT: &str = "track { id name artists } score";

fn recommend_request(input: Value) -> Request {
    Request::new(format!(
        "query($input: RecommendInput!) {{ recommend(input: $input) {{ {RESULT} because {{ kind name }} explanation {{ closest {{ feature unit seedValue value }} }} }} }}"
    ))
    .variables(Variables::from_json(json!({ "input": input })))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let path = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("TIMBRE_DATASET").ok())
        .unwrap_or_else(|| {
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/data/spotify_songs.csv"
            )
            .into()
        });
    let n: usize = std::env::var("TIMBRE_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let (tracks, _) = ingest::read(&Source::parse(&path), None)?;
    let catalog = Catalog::build(tracks, IndexParams::default())?;
    let inputs = Inputs::of(&catalog);
    let weight = RecommendSettings::default().blend_weight;
    println!(
        "dataset: {path} ({} tracks, {} playlists); {n} calls per case, first 10, default IndexParams, blend weight {weight}",
        catalog.len(),
        inputs.playlists.len()
    );

    let none = TrackFilter::default();
    // Warm caches (genre profiles, the playlist model) outside the timings.
    catalog.recommend(&inputs.genre_query(0))?;
    for i in 0..20 {
        catalog.recommend(&inputs.artist_query(i, 20))?;
    }
    catalog.continue_playlist(
        &PlaylistSeed::Playlist(inputs.playlists[0].clone()),
        10,
        weight,
        &none,
    )?;
    let direct = vec![
        Timings::new(
            "similar (1 track, baseline)",
            time(n, |i| {
                catalog.similar(&Seed::Track(Inputs::pick(&inputs.tracks, i)), 10, &none)
            }),
        ),
        Timings::new(
            "recommend: 3 track seeds",
            time(n, |i| catalog.recommend(&inputs.tracks_query(i))),
        ),
        Timings::new(
            "recommend: artist + shift energy +0.2 (20 artists, centroids cached)",
            time(n, |i| catalog.recommend(&inputs.artist_query(i, 20))),
        ),
        Timings::new(
            "recommend: artist + shift energy +0.2 (every call a new artist)",
            time(n, |i| {
                catalog.recommend(&inputs.artist_query(i, usize::MAX))
            }),
        ),
        Timings::new(
            "recommend: genre + tempo 120..130 + maxPerArtist 2 + diversity 0.3",
            time(n, |i| catalog.recommend(&inputs.genre_query(i))),
        ),
        Timings::new(
            "continue_playlist (playlist id)",
            time(n, |i| {
                let seed = PlaylistSeed::Playlist(Inputs::pick(&inputs.playlists, i));
                catalog.continue_playlist(&seed, 10, weight, &none)
            }),
        ),
    ];
    table("Catalog methods, one thread:", &direct);

    // The same through the schema, over a service holding the same tracks.
    let dir = tempfile::tempdir()?;
    let config = Config {
        data_dir: dir.path().to_path_buf(),
        ..Config::default()
    };
    let (service, _) = application::open_service(&config).await?;
    application::import(&service, Source::parse(&path), None).await?;
    // Imports leave the graph to a background catch-up: let it finish, so
    // that searches walk the whole graph and nothing competes for the CPU.
    service.flush_graph().await;
    let jobs = timbre::service::jobs::Jobs::for_service(
        &service,
        None,
        vec![],
        Default::default(),
        Arc::new(timbre::service::models::LocalShelf::new(
            config.data_dir.join("models"),
        )),
    );
    let schema = api::schema(
        service,
        Arc::new(IngestStatus::disabled()),
        SchemaOptions {
            limits: Limits::default(),
            introspection: false,
            persisted: None,
            shutdown: Shutdown(tokio_util::sync::CancellationToken::new()),
            // As the HTTP endpoint serves it: without extensions.
            checks: Checks::ByCaller,
            jobs,
        },
    );
    let requests: Vec<(&str, MakeRequest)> = vec![
        (
            "similar (1 track, baseline)",
            Box::new(|i| {
                Request::new(format!(
                    "query($id: ID!) {{ similar(trackId: $id, first: 10) {{ {RESULT} explanation {{ closest {{ feature unit seedValue value }} }} }} }}"
                ))
                .variables(Variables::from_json(
                    json!({ "id": Inputs::pick(&inputs.tracks, i).to_string() }),
                ))
            }),
        ),
        (
            "recommend: 3 track seeds",
            Box::new(|i| {
                let ids: Vec<String> = inputs
                    .three_tracks(i)
                    .iter()
                    .map(|t| t.to_string())
                    .collect();
                recommend_request(json!({ "seeds": { "trackIds": ids }, "first": 10 }))
            }),
        ),
        (
            "recommend: artist + shift energy +0.2 (20 artists, centroids cached)",
            Box::new(|i| {
                recommend_request(json!({
                    "seeds": { "artists": [inputs.artist(i, 20)] },
                    "shift": { "energy": 0.2 },
                    "first": 10
                }))
            }),
        ),
        (
            "recommend: genre + tempo 120..130 + maxPerArtist 2 + diversity 0.3",
            Box::new(|i| {
                recommend_request(json!({
                    "seeds": { "genres": [Inputs::pick(&inputs.genres, i)] },
                    "min": { "tempo": 120 },
                    "max": { "tempo": 130 },
                    "maxPerArtist": 2,
                    "diversity": 0.3,
                    "first": 10
                }))
            }),
        ),
        (
            "recommendForPlaylist (playlist id)",
            Box::new(|i| {
                Request::new(format!(
                    "query($id: ID!) {{ recommendForPlaylist(playlistId: $id, first: 10) {{ {RESULT} source }} }}"
                ))
                .variables(Variables::from_json(
                    json!({ "id": Inputs::pick(&inputs.playlists, i) }),
                ))
            }),
        ),
    ];
    let mut through_schema = Vec::new();
    for (name, request) in &requests {
        // Warm-up: the cached cases' centroids and the playlist model.
        for i in 0..20 {
            let warm = schema.execute(request(i)).await;
            anyhow::ensure!(warm.errors.is_empty(), "{name}: {:?}", warm.errors);
        }
        let mut lat = Vec::with_capacity(n);
        for i in 0..n {
            let t = Instant::now();
            let response = schema.execute(request(i)).await;
            lat.push(t.elapsed());
            anyhow::ensure!(response.errors.is_empty(), "{name}: {:?}", response.errors);
        }
        through_schema.push(Timings::new(*name, lat));
    }
    table(
        "Through the GraphQL schema (schema.execute, embedded store), one request at a time:",
        &through_schema,
    );
    Ok(())
}
