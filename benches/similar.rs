//! Criterion benchmark of `similar` in process on the shared dataset, with
//! the exact scan over the same catalog as the in-run baseline.
//! Run: `cargo bench --bench similar` (needs ../shared/data/spotify_songs.csv
//! or TIMBRE_DATASET).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use timbre::catalog::{Catalog, Seed};
use timbre::domain::TrackFilter;
use timbre::ingest::{self, Source};
use timbre_index::IndexParams;

fn dataset() -> Option<PathBuf> {
    let path = std::env::var_os("TIMBRE_DATASET")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../shared/data/spotify_songs.csv"
            ))
        });
    path.exists().then_some(path)
}

fn similar(c: &mut Criterion) {
    let Some(path) = dataset() else {
        eprintln!("shared dataset not found; set TIMBRE_DATASET");
        return;
    };
    let (tracks, _) = ingest::read(&Source::Path(path), None).unwrap();
    let graph = Catalog::build(tracks.clone(), IndexParams::default().graph_only()).unwrap();
    let exact = Catalog::build(tracks, IndexParams::default().exact_only()).unwrap();
    let seeds: Vec<_> = graph.tracks().step_by(97).map(|t| t.id).collect();
    let none = TrackFilter::default();
    let rock = TrackFilter {
        genres: vec!["rock".into()],
        ..Default::default()
    };

    let mut group = c.benchmark_group("similar_first10_shared_dataset");
    for (name, catalog, filter) in [
        ("hnsw", &graph, &none),
        ("exact_baseline", &exact, &none),
        ("hnsw_genre_filter", &graph, &rock),
        ("exact_genre_filter", &exact, &rock),
    ] {
        group.bench_function(name, |b| {
            let mut i = 0;
            b.iter(|| {
                i = (i + 1) % seeds.len();
                catalog.similar(&Seed::Track(seeds[i]), 10, filter).unwrap()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, similar);
criterion_main!(benches);
