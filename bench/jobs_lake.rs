//! Writes a synthetic interaction log into a lake, for `bench/jobs.sh`:
//! `--interactions` events of `--listeners` listeners over `--days` UTC
//! days, on the tracks of a catalogue CSV, through the lake's own writer
//! (the files, partitions and schema the streaming sink writes).
//!
//! Listeners favour popular tracks (a track's rank is drawn as
//! `n · u³`, so the top 1% of tracks get about a fifth of the events) and
//! each keeps to a few genres' part of the catalogue: the CSV's rows are
//! in the order the generator wrote them, so a listener draws from a
//! window of it. Kinds: 70% plays, 10% likes, 15% skips, 5% dislikes.
//! Deterministic for a seed.
//!
//! Usage: `cargo run --release --example jobs_lake -- --csv C --lake DIR
//! [--interactions 10000000] [--listeners 1000000] [--days 30] [--seed 7]`

use std::time::Instant;

use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use timbre::config::LakeSettings;
use timbre::domain::{Interaction, InteractionKind, TrackId, UserId};
use timbre::ingest::{ChangeBatch, ChangeSink, Origin};
use timbre::lake::Lake;

/// 2026-03-01T00:00:00Z: the first day of the log.
const FIRST_DAY_MS: i64 = 1_772_323_200_000;
const DAY_MS: i64 = 86_400_000;

struct Args {
    csv: String,
    lake: String,
    interactions: u64,
    listeners: u64,
    days: u64,
    seed: u64,
}

fn args() -> anyhow::Result<Args> {
    let mut args = Args {
        csv: String::new(),
        lake: String::new(),
        interactions: 10_000_000,
        listeners: 1_000_000,
        days: 30,
        seed: 7,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--csv" => args.csv = value,
            "--lake" => args.lake = value,
            "--interactions" => args.interactions = value.parse()?,
            "--listeners" => args.listeners = value.parse()?,
            "--days" => args.days = value.parse()?,
            "--seed" => args.seed = value.parse()?,
            other => anyhow::bail!("unknown flag {other}"),
        }
    }
    anyhow::ensure!(
        !args.csv.is_empty() && !args.lake.is_empty(),
        "--csv and --lake are required"
    );
    anyhow::ensure!(
        args.listeners > 0 && args.days > 0,
        "listeners and days must be positive"
    );
    Ok(args)
}

/// The catalogue's track ids, in file order, once each.
fn track_ids(path: &str) -> anyhow::Result<Vec<TrackId>> {
    let mut reader = csv::Reader::from_path(path).with_context(|| path.to_string())?;
    let column = reader
        .headers()?
        .iter()
        .position(|h| h == "track_id")
        .context("the CSV has no track_id column")?;
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::new();
    for row in reader.records() {
        let row = row?;
        if let Ok(id) = TrackId::parse(&row[column]) {
            if seen.insert(id) {
                ids.push(id);
            }
        }
    }
    anyhow::ensure!(!ids.is_empty(), "no track ids in {path}");
    Ok(ids)
}

fn kind(rng: &mut StdRng) -> InteractionKind {
    match rng.random_range(0..100) {
        0..70 => InteractionKind::Play,
        70..80 => InteractionKind::Like,
        80..95 => InteractionKind::Skip,
        _ => InteractionKind::Dislike,
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = args()?;
    let started = Instant::now();
    let tracks = track_ids(&args.csv)?;
    let lake = Lake::open(&args.lake, &LakeSettings::default())?;
    let mut rng = StdRng::seed_from_u64(args.seed);
    let n = tracks.len();
    // A listener's window: a twentieth of the catalogue, at a fixed start.
    let window = (n / 20).max(1);
    let users: Vec<(UserId, usize)> = (0..args.listeners)
        .map(|u| {
            let id = UserId::parse(&format!("listener-{u}")).expect("a valid user id");
            (id, rng.random_range(0..n))
        })
        .collect();
    let per_day = args.interactions.div_ceil(args.days);
    let mut written = 0u64;
    for day in 0..args.days {
        let count = per_day.min(args.interactions - written);
        let first = FIRST_DAY_MS + day as i64 * DAY_MS;
        let interactions: Vec<Interaction> = (0..count)
            .map(|_| {
                let (user, start) = &users[rng.random_range(0..users.len())];
                let u: f64 = rng.random();
                let rank = (u * u * u * window as f64) as usize;
                Interaction {
                    user: user.clone(),
                    track: tracks[(start + rank) % n],
                    kind: kind(&mut rng),
                    at_ms: first + rng.random_range(0..DAY_MS),
                }
            })
            .collect();
        let batch = ChangeBatch {
            key: Some(format!("synthetic-{day:03}")),
            origin: Origin::Api,
            tracks: Vec::new(),
            interactions,
            interaction_positions: Vec::new(),
            events: Vec::new(),
        };
        lake.write(&batch).await?;
        written += count;
        eprintln!("day {}: {count} interactions", day + 1);
    }
    println!(
        "wrote {written} interactions of {} listeners on {n} tracks over {} days to {} in {:.1} s",
        args.listeners,
        args.days,
        args.lake,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
