//! `timbre evaluate`: offline quality evaluation on a dataset with
//! playlists, the evidence behind the default blend weight and the
//! feature space (`docs/EVALUATION.md` records the table).
//!
//! Two measurements:
//! - playlist continuation ([`split`], [`methods`], [`metrics`]): every
//!   playlist of at least 10 tracks hides a seeded random 20%, each method
//!   recommends 50 tracks from the rest, and the hidden tracks are the
//!   answers; the co-occurrence model never sees a hidden membership;
//! - genre agreement@10 of `similar` ([`genre_agreement`]) in version 1 of
//!   the feature space and the variants of [`spaces`].
//!
//! Every search is exact, so the figures measure the methods and spaces,
//! not the ANN index. Reading the dataset is the only I/O; [`run`] returns
//! a [`Report`] whose `Display` is the printed table.

pub mod genre_agreement;
pub mod methods;
pub mod metrics;
mod parallel;
pub mod report;
pub mod spaces;
pub mod split;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rustc_hash::FxHashSet;
use timbre_index::IndexParams;

use crate::catalog::Catalog;
use crate::domain::{CoOccurrence, Neighbours, TrackId};
use crate::ingest::{self, IngestError, Source};

use methods::{Method, Recommenders};
use metrics::{intra_list_distance, Scores, Totals};
use split::Split;

pub use report::Report;

/// What to evaluate.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// A CSV (or Spotify JSON) file whose tracks carry playlists.
    pub dataset: PathBuf,
    /// Seed of the hidden split and of the random method.
    pub seed: u64,
    /// Blend weights (share of co-occurrence) to evaluate, each 0..=1.
    pub blend_weights: Vec<f32>,
    /// Neighbours per track of each trained model to score.
    pub trained_neighbours: Vec<usize>,
}

/// Why an evaluation could not run.
#[derive(Debug, thiserror::Error)]
pub enum EvaluateError {
    /// The dataset could not be read.
    #[error(transparent)]
    Ingest(#[from] IngestError),
    /// The dataset has no playlist large enough to evaluate.
    #[error("{0}: no playlist has {min} tracks or more, so there is nothing to hide", min = split::MIN_TRACKS)]
    NoPlaylists(String),
    /// Building or searching a catalogue failed (a bug, not bad input).
    #[error(transparent)]
    Catalog(#[from] crate::error::Error),
}

/// Result alias of the evaluation.
pub type Result<T, E = EvaluateError> = std::result::Result<T, E>;

/// Index parameters of every catalogue the evaluation builds: every search
/// exact. The graph is built all the same but never walked, so it is made
/// as cheap as the parameters allow (a few links, a short build beam)
/// rather than at the server's quality, which would cost seconds per space.
fn exact_params() -> IndexParams {
    IndexParams {
        max_connections: 4,
        ef_construction: 8,
        ..IndexParams::default()
    }
    .exact_only()
}

/// Runs the whole evaluation on `options.dataset`.
///
/// # Errors
/// The dataset cannot be read or has no playlist of 10 tracks or more.
pub fn run(options: &Options) -> Result<Report> {
    let start = Instant::now();
    let dataset = options.dataset.display().to_string();
    let (tracks, _) = ingest::read(&Source::Path(options.dataset.clone()), None)?;
    let split = Split::new(&tracks, options.seed);
    if split.cases.is_empty() {
        return Err(EvaluateError::NoPlaylists(dataset));
    }
    let model = split.model();
    let candidates = spaces::candidates();
    let catalog = candidates[0].catalog(&tracks, exact_params())?;
    let load_time = start.elapsed();

    let continuing = Instant::now();
    let mut methods = vec![
        Method::Random,
        Method::MostPopular,
        Method::Content,
        Method::CoOccurrence,
    ];
    methods.extend(options.blend_weights.iter().map(|&w| Method::Blend(w)));
    let methods: Vec<report::MethodRow> = methods
        .into_iter()
        .map(|method| report::MethodRow {
            method: method.label(),
            scores: continuation(&catalog, &model, &split, options.seed, method),
        })
        .collect();
    let best_blend = options
        .blend_weights
        .iter()
        .zip(&methods[methods.len() - options.blend_weights.len()..])
        .max_by(|a, b| a.1.scores.ndcg50.total_cmp(&b.1.scores.ndcg50))
        .map(|(w, _)| *w);
    // The model as a co-occurrence job trains it: the same lists, `k`
    // neighbours per track, scored alone and in the server's default blend.
    let mut methods = methods;
    let server_blend = crate::config::RecommendSettings::default().blend_weight;
    for &k in &options.trained_neighbours {
        let table = Neighbours::train(&model, k);
        let trained = model.clone().with_trained(Some(Arc::new(table)));
        for method in [Method::CoOccurrence, Method::Blend(server_blend)] {
            methods.push(report::MethodRow {
                method: format!("{} (trained, {k} neighbours)", method.label()),
                scores: continuation(&catalog, &trained, &split, options.seed, method),
            });
        }
    }
    let continuation_time = continuing.elapsed();

    let comparing = Instant::now();
    let seeds: Vec<TrackId> = tracks.iter().map(|t| t.id).collect();
    let mut space_rows = Vec::new();
    for (i, space) in candidates.iter().enumerate() {
        let built;
        let in_space = if i == 0 {
            &catalog
        } else {
            built = space.catalog(&tracks, exact_params())?;
            &built
        };
        space_rows.push(report::SpaceRow {
            space: space.name.to_string(),
            agreement: genre_agreement::of_similar(in_space, &seeds)?,
            content: Some(continuation(
                in_space,
                &model,
                &split,
                options.seed,
                Method::Content,
            )),
        });
    }
    space_rows.push(report::SpaceRow {
        space: "chance (uniformly random neighbours)".into(),
        agreement: genre_agreement::by_chance(&tracks),
        content: None,
    });
    let spaces_time = comparing.elapsed();

    Ok(Report {
        dataset,
        seed: options.seed,
        tracks: catalog.len(),
        playlists: split.training.len(),
        evaluated: split.cases.len(),
        hidden: split.hidden_count(),
        methods,
        best_blend,
        spaces: space_rows,
        load_time,
        continuation_time,
        spaces_time,
        total_time: start.elapsed(),
    })
}

/// The averaged scores of `method` over every case of `split`, diversity
/// measured in `catalog`'s feature space.
fn continuation(
    catalog: &Catalog,
    model: &CoOccurrence,
    split: &Split,
    seed: u64,
    method: Method,
) -> Scores {
    let longest = split.cases.iter().map(|c| c.visible.len()).max();
    let recommenders = Recommenders::new(catalog, model, seed, longest.unwrap_or(0));
    let lists = parallel::map(&split.cases, |i, case| {
        let ranked = recommenders.recommend(method, i, &case.visible);
        let vectors: Vec<&[f32]> = ranked
            .iter()
            .take(10)
            .filter_map(|id| catalog.index().get(id))
            .collect();
        let ild = intra_list_distance(&vectors);
        (ranked, ild)
    });
    let mut totals = Totals::default();
    for (case, (ranked, ild)) in split.cases.iter().zip(lists) {
        let hidden: FxHashSet<TrackId> = case.hidden.iter().copied().collect();
        totals.add(&ranked, &hidden, ild);
    }
    totals.scores(catalog.len())
}
