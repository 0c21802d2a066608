//! timbre's side of the ANN comparison run by `bench/ann.sh` (timbre's index
//! against hnswlib, voyager and faiss on the same vectors; see BENCHMARKS.md).
//!
//! Two subcommands:
//! - `export` reads the shared dataset through timbre's own import, builds the
//!   catalogue exactly as the server does (feature space fitted on every
//!   track) and writes two *catalogues* (directories of vector files):
//!   `tracks` (the real vectors, a random 1,000 held out as queries) and
//!   `synthetic` (1,000,000 vectors drawn around the real ones, with their own
//!   queries). The Python side reads the same files.
//! - `worker` builds timbre's [`VectorIndex`] on one catalogue, then answers
//!   the coordinator (`bench/ann/compare.py`) on stdin/stdout: one `sweep`
//!   line runs every search setting once and prints one JSON line of timings.
//!   The Python libraries run in workers with the same protocol
//!   (`bench/ann/workers.py`), so that the coordinator can interleave the
//!   repeats of every library in the same time window on this noisy machine.
//!
//! Files of a catalogue: `meta.json`, `base.f32` and `queries.f32` (row-major
//! little-endian `f32`). A worker writes the ids it found for each setting to
//! `<out>/<setting>.u32` (little-endian `u32`, [`K`] per query, `u32::MAX`
//! where fewer came back); recall is computed from them by the coordinator,
//! the same way for every library.
//!
//! Run through `bench/ann.sh`; by hand:
//! `cargo run --release --example ann -- export --out target/ann`.

use std::fs;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use serde_json::{json, Value};
use timbre::catalog::Catalog;
use timbre::ingest::{self, Source};
use timbre_index::{IndexParams, SearchMode, VectorIndex};

/// Neighbours asked for per query: recall@10.
const K: usize = 10;

#[derive(Parser)]
#[command(about = "timbre's side of the ANN comparison (bench/ann.sh)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Writes the `tracks` and `synthetic` catalogues under `--out`.
    Export(ExportArgs),
    /// Builds timbre's index on one catalogue and serves `sweep` requests.
    Worker(WorkerArgs),
}

#[derive(clap::Args)]
struct ExportArgs {
    /// The shared dataset (CSV).
    #[arg(long, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/spotify_songs.csv"))]
    dataset: String,
    /// Directory receiving `tracks/` and `synthetic/`.
    #[arg(long)]
    out: PathBuf,
    /// Real tracks held out of the `tracks` catalogue as its queries.
    #[arg(long, default_value_t = 1_000)]
    holdout: usize,
    /// Size of the synthetic catalogue; 0 skips it.
    #[arg(long, default_value_t = 1_000_000)]
    synthetic: usize,
    /// Queries of the synthetic catalogue, drawn like its vectors.
    #[arg(long, default_value_t = 10_000)]
    synthetic_queries: usize,
    /// Standard deviation of the synthetic noise, as a fraction of each
    /// dimension's standard deviation over the real tracks. 0.25 makes the
    /// 1M catalogue as dense as a real one of that size would be: its median
    /// distance to the 1st and 10th neighbour (0.42, 0.59) matches what the
    /// real tracks' own trend predicts for 1M tracks (0.43, 0.60, a power law
    /// fitted over subsamples of 1.7k..27k tracks). At 0.1 every real track
    /// became a tight, isolated cloud of ~35 copies (0.18, 0.27).
    #[arg(long, default_value_t = 0.25)]
    noise: f64,
    /// Seed of the hold-out choice and of the synthetic generator.
    #[arg(long, default_value_t = 20_261_122)]
    seed: u64,
}

#[derive(clap::Args)]
struct WorkerArgs {
    /// A catalogue directory written by `export`.
    #[arg(long)]
    data: PathBuf,
    /// Directory receiving the found ids, one file per setting.
    #[arg(long)]
    out: PathBuf,
    /// Search settings: `ef:N` (graph walk with ef_search N), `exact`, or
    /// `auto` (the server's default: exact below `exact_below`, else graph
    /// with the default ef_search).
    #[arg(long, value_delimiter = ',', default_value = "ef:64,exact,auto")]
    settings: Vec<String>,
    /// Each setting repeats the query set until this much time has passed
    /// (at least once), so that fast settings are not timed on a few ms.
    #[arg(long, default_value_t = 0.5)]
    min_seconds: f64,
    /// Queries used by the `exact` setting (a scan of 1M vectors per query
    /// would make the sweep minutes long); the others use every query.
    #[arg(long, default_value_t = 1_000)]
    exact_queries: usize,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Export(args) => export(&args),
        Command::Worker(args) => worker(&args),
    }
}

// ---------------------------------------------------------------- export

/// Writes both catalogues. The real vectors are read back out of a
/// [`Catalog`] built the way the server builds it, so they are exactly the
/// vectors the server searches, whatever the feature space does.
fn export(args: &ExportArgs) -> anyhow::Result<()> {
    let (tracks, report) = ingest::read(&Source::parse(&args.dataset), None)?;
    eprintln!(
        "export: {} tracks from {} rows of {}",
        tracks.len(),
        report.rows_read,
        args.dataset
    );
    let catalog = Catalog::build(tracks, IndexParams::default())?;
    let dim = catalog.space().dim();
    let real: Vec<Vec<f32>> = catalog
        .tracks()
        .map(|t| catalog.index().get(&t.id).map(<[f32]>::to_vec))
        .collect::<Option<_>>()
        .context("a catalogue track has no vector in the index")?;
    if args.holdout >= real.len() {
        bail!("--holdout {} leaves no catalogue", args.holdout);
    }

    // tracks: a seeded random choice of real tracks are the queries; the rest,
    // in track-id order (Spotify ids are random), are the catalogue.
    let mut rng = SplitMix64(args.seed);
    let mut order: Vec<usize> = (0..real.len()).collect();
    for i in 0..args.holdout {
        let j = i + rng.below(order.len() - i);
        order.swap(i, j);
    }
    let (held_out, kept) = order.split_at_mut(args.holdout);
    kept.sort_unstable();
    let pick = |ids: &[usize]| ids.iter().map(|&i| real[i].as_slice()).collect::<Vec<_>>();
    write_catalogue(
        &args.out.join("tracks"),
        &pick(kept),
        &pick(held_out),
        json!({
            "name": "tracks",
            "description": format!(
                "the shared dataset's {} tracks in timbre's feature space (fitted on all of them, \
                 as the server does); {} chosen at random (seed {}) are the queries and are not in \
                 the catalogue", real.len(), args.holdout, args.seed),
        }),
    )?;

    if args.synthetic > 0 {
        let stats = DimStats::of(&real, dim);
        // Its own stream, so that --holdout does not change the catalogue.
        let mut rng = SplitMix64(args.seed.wrapping_add(1));
        let mut draw = || stats.draw_near(&real[rng.below(real.len())], args.noise, &mut rng);
        let base: Vec<Vec<f32>> = (0..args.synthetic).map(|_| draw()).collect();
        let queries: Vec<Vec<f32>> = (0..args.synthetic_queries).map(|_| draw()).collect();
        write_catalogue(
            &args.out.join("synthetic"),
            &base,
            &queries,
            json!({
                "name": "synthetic",
                "description": format!(
                    "{} vectors (and {} queries) each a uniformly chosen real track plus Gaussian \
                     noise of {} x that dimension's standard deviation, clamped to the real \
                     tracks' range per dimension (seed {})",
                    args.synthetic, args.synthetic_queries, args.noise, args.seed),
            }),
        )?;
    }
    Ok(())
}

/// Per-dimension spread and range of the real vectors, which the synthetic
/// generator scales its noise by and clamps to.
struct DimStats {
    std: Vec<f64>,
    min: Vec<f32>,
    max: Vec<f32>,
}

impl DimStats {
    fn of(vectors: &[Vec<f32>], dim: usize) -> Self {
        let n = vectors.len() as f64;
        let mut stats = DimStats {
            std: vec![0.0; dim],
            min: vec![f32::INFINITY; dim],
            max: vec![f32::NEG_INFINITY; dim],
        };
        for d in 0..dim {
            let mean = vectors.iter().map(|v| f64::from(v[d])).sum::<f64>() / n;
            let var = vectors
                .iter()
                .map(|v| (f64::from(v[d]) - mean).powi(2))
                .sum::<f64>()
                / n;
            stats.std[d] = var.sqrt();
            for v in vectors {
                stats.min[d] = stats.min[d].min(v[d]);
                stats.max[d] = stats.max[d].max(v[d]);
            }
        }
        stats
    }

    /// `parent` plus Gaussian noise of `fraction` × each dimension's standard
    /// deviation, clamped to the range the real tracks occupy (the feature
    /// space clips its coordinates, so nothing real lies outside it).
    fn draw_near(&self, parent: &[f32], fraction: f64, rng: &mut SplitMix64) -> Vec<f32> {
        parent
            .iter()
            .enumerate()
            .map(|(d, &x)| {
                let noisy = f64::from(x) + rng.gaussian() * fraction * self.std[d];
                (noisy as f32).clamp(self.min[d], self.max[d])
            })
            .collect()
    }
}

/// SplitMix64 (Steele, Lea and Flood, 2014): a tiny, well-known generator,
/// written out here so that the synthetic catalogue depends on no crate's
/// version and is the same on every machine for a given seed.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1), 53 bits.
    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (the modulo bias is below 2⁻⁴⁰ for n < 2²⁴).
    fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Standard normal, by the Box–Muller transform.
    fn gaussian(&mut self) -> f64 {
        let u = 1.0 - self.unit(); // in (0, 1]: ln(u) is finite
        let v = self.unit();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

fn write_catalogue<R: AsRef<[f32]>>(
    dir: &Path,
    base: &[R],
    queries: &[R],
    meta: Value,
) -> anyhow::Result<()> {
    fs::create_dir_all(dir)?;
    write_f32(&dir.join("base.f32"), base)?;
    write_f32(&dir.join("queries.f32"), queries)?;
    let mut meta = meta;
    meta["dim"] = json!(base[0].as_ref().len());
    meta["base"] = json!(base.len());
    meta["queries"] = json!(queries.len());
    fs::write(dir.join("meta.json"), serde_json::to_vec_pretty(&meta)?)?;
    eprintln!(
        "export: {}: {} vectors, {} queries",
        dir.display(),
        base.len(),
        queries.len()
    );
    Ok(())
}

fn write_f32<R: AsRef<[f32]>>(path: &Path, rows: &[R]) -> anyhow::Result<()> {
    let bytes: Vec<u8> = rows
        .iter()
        .flat_map(|r| r.as_ref().iter())
        .flat_map(|x| x.to_le_bytes())
        .collect();
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn read_f32(path: &Path) -> anyhow::Result<Vec<f32>> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect())
}

// ---------------------------------------------------------------- worker

/// One search setting of the sweep.
#[derive(Clone, Copy)]
struct Setting {
    mode: SearchMode,
    /// `None`: the index's default ef_search.
    ef: Option<usize>,
}

impl Setting {
    fn parse(text: &str) -> anyhow::Result<Self> {
        Ok(match text {
            "exact" => Setting {
                mode: SearchMode::Exact,
                ef: None,
            },
            "auto" => Setting {
                mode: SearchMode::Auto,
                ef: None,
            },
            _ => match text.strip_prefix("ef:").map(str::parse) {
                Some(Ok(ef)) => Setting {
                    mode: SearchMode::Graph,
                    ef: Some(ef),
                },
                _ => bail!("unknown setting {text:?}: expected ef:N, exact or auto"),
            },
        })
    }
}

/// Builds the index (default parameters: M 16, ef_construction 200, on every
/// core of the rayon pool; `RAYON_NUM_THREADS` sets how many), reports build
/// time and memory, then serves `sweep` lines until `quit` or end of input.
fn worker(args: &WorkerArgs) -> anyhow::Result<()> {
    let meta: Value = serde_json::from_slice(&fs::read(args.data.join("meta.json"))?)?;
    let dim = meta["dim"].as_u64().context("meta.json: dim")? as usize;
    let base = read_f32(&args.data.join("base.f32"))?;
    let queries = read_f32(&args.data.join("queries.f32"))?;
    let settings: Vec<(String, Setting)> = args
        .settings
        .iter()
        .map(|s| Ok((s.clone(), Setting::parse(s)?)))
        .collect::<anyhow::Result<_>>()?;
    fs::create_dir_all(&args.out)?;

    // Before the copy of the vectors the build consumes: the index keeps
    // its own copy, which its growth must count (as the peers' do).
    let rss_before = rss_bytes()?;
    let items: Vec<(u32, Vec<f32>)> = base
        .chunks_exact(dim)
        .enumerate()
        .map(|(i, v)| (i as u32, v.to_vec()))
        .collect();
    let params = IndexParams::default();
    let started = Instant::now();
    let index = VectorIndex::build(dim, params, items)?;
    let build_seconds = started.elapsed().as_secs_f64();
    // The build frees hnsw_rs's structures and the input vectors; glibc
    // keeps freed memory mapped until asked, which would count them as the
    // index's. The server gives its start-up's freed memory back the same
    // way (mi_collect, src/main.rs).
    // SAFETY: malloc_trim only releases free memory of glibc's heap.
    unsafe { libc::malloc_trim(0) };
    let rss_after = rss_bytes()?;
    let snapshot_bytes = snapshot_size(&index, &args.out.join("snapshot"))?;
    reply(&json!({
        "library": "timbre",
        "version": format!("timbre-index {} (hnsw_rs 0.3.5)", env!("CARGO_PKG_VERSION")),
        "params": {
            "M": params.max_connections,
            "ef_construction": params.ef_construction,
            "ef_search_default": params.ef_search,
            "exact_below": params.exact_below,
        },
        "n": index.len(),
        "build_seconds": build_seconds,
        "rss_growth_bytes": rss_after.saturating_sub(rss_before),
        "serialized_bytes": snapshot_bytes,
    }))?;

    let mut first = true;
    for line in std::io::stdin().lock().lines() {
        match line?.trim() {
            "sweep" => {
                let mut results = Vec::new();
                for (name, setting) in &settings {
                    let limit = if setting.mode == SearchMode::Exact {
                        args.exact_queries
                    } else {
                        usize::MAX
                    };
                    let queries: Vec<&[f32]> = queries.chunks_exact(dim).take(limit).collect();
                    let min = Duration::from_secs_f64(args.min_seconds);
                    let (timing, ids) = time_setting(&index, &queries, *setting, min)?;
                    if first {
                        write_ids(&args.out.join(format!("{name}.u32")), &ids)?;
                    }
                    results.push(json!({
                        "setting": name,
                        "queries": queries.len(),
                        "passes": timing.passes,
                        "seconds": timing.seconds,
                        "qps": (timing.passes * queries.len()) as f64 / timing.seconds,
                    }));
                }
                first = false;
                reply(&json!({ "results": results }))?;
            }
            "quit" | "" => break,
            other => bail!("unknown command {other:?}"),
        }
    }
    Ok(())
}

/// How long a setting took over `passes` passes of the query set.
struct Timing {
    passes: usize,
    seconds: f64,
}

/// Runs every query through one setting, one at a time on this thread, as
/// many passes as `min` needs; returns the timing and the ids found.
fn time_setting(
    index: &VectorIndex<u32>,
    queries: &[&[f32]],
    setting: Setting,
    min: Duration,
) -> anyhow::Result<(Timing, Vec<u32>)> {
    let mut ids = vec![u32::MAX; queries.len() * K];
    let mut passes = 0;
    let started = Instant::now();
    loop {
        for (q, found) in queries.iter().zip(ids.chunks_exact_mut(K)) {
            let hits = index.search_with(q, K, None, setting.mode, setting.ef)?;
            for (slot, hit) in found.iter_mut().zip(&hits) {
                *slot = hit.key;
            }
        }
        passes += 1;
        if started.elapsed() >= min {
            break;
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    Ok((Timing { passes, seconds }, ids))
}

fn write_ids(path: &Path, ids: &[u32]) -> anyhow::Result<()> {
    let bytes: Vec<u8> = ids.iter().flat_map(|x| x.to_le_bytes()).collect();
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// Size on disk of the index's snapshot (hnsw_rs's graph dump, the vector
/// table and the manifest): the index's own account of its size, next to
/// the resident-memory growth. The snapshot is deleted afterwards.
fn snapshot_size(index: &VectorIndex<u32>, dir: &Path) -> anyhow::Result<u64> {
    index.save(dir, &())?;
    let mut total = 0;
    for entry in fs::read_dir(dir)? {
        total += entry?.metadata()?.len();
    }
    fs::remove_dir_all(dir)?;
    Ok(total)
}

/// Resident memory of this process (VmRSS), in bytes.
fn rss_bytes() -> anyhow::Result<u64> {
    let status = fs::read_to_string("/proc/self/status")?;
    let kib = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .context("no VmRSS in /proc/self/status")?;
    Ok(kib * 1024)
}

/// Prints one JSON line for the coordinator and flushes it at once (stdout
/// is a pipe, which Rust would otherwise buffer).
fn reply(value: &Value) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer(&mut out, value)?;
    writeln!(out)?;
    out.flush()?;
    Ok(())
}
