//! Analytics jobs as data: what was asked (a kind, its parameters, an
//! engine), where the job stands, and what it gave. The job runner
//! (`service/jobs.rs`) moves a record through its states and the store
//! keeps it, so a job's outcome outlives the process that ran it.
//!
//! A result is typed per kind and is the same whichever engine computed it:
//! the engines are tested against each other on the shared dataset.

use serde::{Deserialize, Serialize};

use super::behaviour::{self, Behaviour, Window};
use super::genre::{self, GenreLevel, GenreProfile, Summary, TrendQuery, YearTrend};
use super::{DomainError, Feature, Result};

/// Most genre names one job may ask for.
pub const MAX_GENRES: usize = 100;

/// Longest genre name a job accepts, in bytes.
pub const MAX_GENRE_NAME: usize = 100;

/// What a job computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    /// Per genre and release year: track count, mean popularity, the mean
    /// of each audio feature.
    GenreTrends,
    /// Per genre: count, mean, spread and extremes of popularity and each
    /// audio feature (the radar chart's data).
    GenreFingerprints,
    /// From the interaction log: interactions per day by kind and genre,
    /// the most played tracks and artists, skip rates by genre.
    ListenerBehaviour,
    /// The item-to-item model behind playlist and listener
    /// recommendations, from playlists and listeners' sessions; the server
    /// loads it when the job succeeds.
    CoOccurrenceModel,
}

impl JobKind {
    pub const ALL: [JobKind; 4] = [
        JobKind::GenreTrends,
        JobKind::GenreFingerprints,
        JobKind::ListenerBehaviour,
        JobKind::CoOccurrenceModel,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::GenreTrends => "genre_trends",
            JobKind::GenreFingerprints => "genre_fingerprints",
            JobKind::ListenerBehaviour => "listener_behaviour",
            JobKind::CoOccurrenceModel => "co_occurrence_model",
        }
    }

    /// Whether starting it needs an `admin` key rather than `write`: a
    /// model changes what every listener is recommended.
    pub fn needs_admin(self) -> bool {
        self == JobKind::CoOccurrenceModel
    }
}

/// Where a job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EngineKind {
    /// In the server's process, over the in-memory catalogue.
    Embedded,
    /// On an Apache Spark cluster through Spark Connect, over the lake.
    Spark,
}

impl EngineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EngineKind::Embedded => "embedded",
            EngineKind::Spark => "spark",
        }
    }
}

/// Where a job stands. `Queued` and `Running` change; the others are final.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    /// The server stopped while the job ran; it can be run again.
    Interrupted,
}

impl JobState {
    pub fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }
}

/// A job's parameters. Every kind takes the same shape; [`Self::validate`]
/// says which fields a kind uses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobParams {
    /// Genres or subgenres.
    #[serde(default)]
    pub level: GenreLevel,
    /// Only these names (lower-case); all when empty.
    #[serde(default)]
    pub genres: Vec<String>,
    /// Earliest release year (genre trends).
    #[serde(default)]
    pub from: Option<u16>,
    /// Latest release year (genre trends).
    #[serde(default)]
    pub to: Option<u16>,
    /// First UTC day of interactions counted, `YYYY-MM-DD` (listener
    /// behaviour, co-occurrence model).
    #[serde(default)]
    pub since: Option<String>,
    /// Last UTC day of interactions counted, `YYYY-MM-DD`, inclusive.
    #[serde(default)]
    pub until: Option<String>,
    /// Entries of each top list (listener behaviour): 1 to
    /// [`MAX_TOP`], default [`DEFAULT_TOP`].
    #[serde(default)]
    pub top: Option<u32>,
    /// Neighbours kept per track (co-occurrence model): 1 to
    /// [`MAX_NEIGHBOURS`], default [`DEFAULT_NEIGHBOURS`].
    #[serde(default)]
    pub neighbours: Option<u32>,
}

/// Longest top list a listener behaviour job gives.
pub const MAX_TOP: u32 = 100;
/// Top list length unless asked.
pub const DEFAULT_TOP: u32 = 10;
/// Most neighbours per track a model keeps.
pub const MAX_NEIGHBOURS: u32 = 10_000;
/// Neighbours per track unless asked: `timbre evaluate` on the shared
/// dataset scores the trained model exactly as the lists at 1000 (NDCG@50
/// of the default blend 0.0354 for both), 3 % lower at 200 (0.0342) and
/// 19 % lower at 50 (0.0287).
pub const DEFAULT_NEIGHBOURS: u32 = 1000;

impl JobParams {
    /// Checks the parameters for `kind` and normalises genre names
    /// (trimmed, lower-case, sorted, once each), so that equal requests
    /// have equal parameters.
    ///
    /// # Errors
    /// [`DomainError::InvalidArgument`] naming the first problem.
    pub fn validate(mut self, kind: JobKind) -> Result<Self> {
        let invalid = |m: String| Err(DomainError::InvalidArgument(m));
        if self.genres.len() > MAX_GENRES {
            return invalid(format!(
                "at most {MAX_GENRES} genres per job, got {}",
                self.genres.len()
            ));
        }
        for name in &mut self.genres {
            *name = name.trim().to_lowercase();
            if name.is_empty() || name.len() > MAX_GENRE_NAME {
                return invalid(format!("a genre name has 1 to {MAX_GENRE_NAME} characters"));
            }
        }
        self.genres.sort();
        self.genres.dedup();
        for year in [self.from, self.to].into_iter().flatten() {
            if !(1000..=2999).contains(&year) {
                return invalid(format!("{year} is not a release year"));
            }
        }
        let (days, years) = (
            self.since.is_some() || self.until.is_some(),
            self.from.is_some() || self.to.is_some(),
        );
        let window = self.window()?;
        let name = kind.as_str();
        match kind {
            JobKind::GenreTrends | JobKind::GenreFingerprints if days => {
                return invalid(format!("{name} takes release years, not days"));
            }
            JobKind::GenreFingerprints
            | JobKind::ListenerBehaviour
            | JobKind::CoOccurrenceModel
                if years =>
            {
                return invalid(format!("{name} takes no release years"));
            }
            _ => {}
        }
        if let (Some(from), Some(to)) = (self.from, self.to) {
            if from > to {
                return invalid(format!("from ({from}) is after to ({to})"));
            }
        }
        if let (Some(since), Some(until)) = (window.since_ms, window.until_ms) {
            if since >= until {
                return invalid("since is after until".into());
            }
        }
        if let Some(top) = self.top {
            if kind != JobKind::ListenerBehaviour || !(1..=MAX_TOP).contains(&top) {
                return invalid(format!(
                    "top is 1 to {MAX_TOP}, for listener_behaviour only"
                ));
            }
        }
        if let Some(k) = self.neighbours {
            if kind != JobKind::CoOccurrenceModel || !(1..=MAX_NEIGHBOURS).contains(&k) {
                return invalid(format!(
                    "neighbours is 1 to {MAX_NEIGHBOURS}, for co_occurrence_model only"
                ));
            }
        }
        if kind == JobKind::CoOccurrenceModel && !self.genres.is_empty() {
            return invalid("co_occurrence_model takes no genres".into());
        }
        Ok(self)
    }

    /// The interactions counted, from `since` and `until`.
    ///
    /// # Errors
    /// [`DomainError::InvalidArgument`] for a day that is not `YYYY-MM-DD`.
    pub fn window(&self) -> Result<Window> {
        let day = |d: &Option<String>, end: bool| -> Result<Option<i64>> {
            d.as_deref()
                .map(|text| {
                    behaviour::day_start_ms(text.trim())
                        .map(|ms| if end { ms + 86_400_000 } else { ms })
                        .ok_or_else(|| {
                            let shown: String = text.chars().take(20).collect();
                            DomainError::InvalidArgument(format!(
                                "{shown:?} is not a day (YYYY-MM-DD)"
                            ))
                        })
                })
                .transpose()
        };
        Ok(Window {
            since_ms: day(&self.since, false)?,
            until_ms: day(&self.until, true)?,
        })
    }

    /// Entries per top list.
    pub fn top(&self) -> usize {
        self.top.unwrap_or(DEFAULT_TOP) as usize
    }

    /// Neighbours per track.
    pub fn neighbours(&self) -> usize {
        self.neighbours.unwrap_or(DEFAULT_NEIGHBOURS) as usize
    }

    /// The trend query these parameters ask for.
    pub fn trend_query(&self) -> TrendQuery {
        TrendQuery {
            level: self.level,
            genres: self.genres.clone(),
            from: self.from,
            to: self.to,
        }
    }
}

/// The codes a failed job's error carries (part of the API's code set,
/// `api/error.rs`).
pub mod failure {
    /// The engine cannot be reached (Spark down, not configured).
    pub const ENGINE_UNAVAILABLE: &str = "ENGINE_UNAVAILABLE";
    /// The engine ran the job and failed (an SQL error, a lake it cannot
    /// read).
    pub const ENGINE_ERROR: &str = "ENGINE_ERROR";
    /// The job ran longer than `[jobs] timeout_s`.
    pub const JOB_TIMEOUT: &str = "JOB_TIMEOUT";
    /// `cancelJob` stopped it.
    pub const JOB_CANCELLED: &str = "JOB_CANCELLED";
    /// The server stopped while it ran.
    pub const JOB_INTERRUPTED: &str = "JOB_INTERRUPTED";
    /// The result is larger than `[jobs] max_result_bytes`.
    pub const RESULT_TOO_LARGE: &str = "RESULT_TOO_LARGE";
    /// A bug.
    pub const INTERNAL: &str = "INTERNAL";

    pub const ALL: [&str; 7] = [
        ENGINE_UNAVAILABLE,
        ENGINE_ERROR,
        JOB_TIMEOUT,
        JOB_CANCELLED,
        JOB_INTERRUPTED,
        RESULT_TOO_LARGE,
        INTERNAL,
    ];
}

/// Why a job did not succeed, with a code from the API's set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFailure {
    /// `ENGINE_UNAVAILABLE`, `ENGINE_ERROR`, `JOB_TIMEOUT`, `JOB_CANCELLED`,
    /// `JOB_INTERRUPTED`, `RESULT_TOO_LARGE` or `INTERNAL`.
    pub code: String,
    pub message: String,
}

impl JobFailure {
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        JobFailure {
            code: code.to_string(),
            message: message.into(),
        }
    }
}

/// One genre's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub genre: String,
    pub track_count: usize,
    pub popularity: Option<Summary>,
    /// One entry per feature any track of the genre knows.
    pub features: Vec<(Feature, Summary)>,
}

/// What a job gave.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "rows", rename_all = "snake_case")]
pub enum JobResult {
    GenreTrends(Vec<YearTrend>),
    GenreFingerprints(Vec<Fingerprint>),
    ListenerBehaviour(Behaviour),
    CoOccurrenceModel(ModelSummary),
}

/// A trained co-occurrence model, as its job's result: the table itself
/// is kept in the lake (else beside the store, `<data_dir>/models/`) and
/// loaded by every server on it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelSummary {
    /// Tracks with at least one neighbour.
    pub tracks: usize,
    /// Neighbour entries in all.
    pub pairs: usize,
    /// Neighbours kept per track at most.
    pub neighbours: usize,
    /// Where the server keeps the table.
    pub file: String,
}

impl From<GenreProfile> for Fingerprint {
    fn from(p: GenreProfile) -> Self {
        Fingerprint {
            genre: p.name,
            track_count: p.track_count,
            popularity: p.popularity,
            features: p.features,
        }
    }
}

/// Runs a catalogue job (genre trends or fingerprints) over `tracks` in
/// memory, with the domain's own analytics; `None` for kinds that read
/// more than the catalogue.
pub fn run_in_memory<T: super::TrackFields>(
    kind: JobKind,
    params: &JobParams,
    tracks: impl IntoIterator<Item = T>,
) -> Option<JobResult> {
    Some(match kind {
        JobKind::GenreTrends => {
            JobResult::GenreTrends(genre::trends(tracks, &params.trend_query()))
        }
        JobKind::GenreFingerprints => {
            let rows = genre::profiles(tracks, params.level)
                .into_iter()
                .filter(|p| params.genres.is_empty() || params.genres.contains(&p.name))
                .map(Fingerprint::from)
                .collect();
            JobResult::GenreFingerprints(rows)
        }
        JobKind::ListenerBehaviour | JobKind::CoOccurrenceModel => return None,
    })
}

/// A job as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// `job-<13-digit creation ms>-<8 hex>`: ids sort by creation time.
    pub id: String,
    pub kind: JobKind,
    pub params: JobParams,
    pub engine: EngineKind,
    pub state: JobState,
    /// The name of the API key that started it, or `schedule`.
    pub requested_by: String,
    pub created_ms: i64,
    pub started_ms: Option<i64>,
    pub finished_ms: Option<i64>,
    pub error: Option<JobFailure>,
    pub result: Option<JobResult>,
    /// How far it has come, as its engine last said (kept after it ends).
    #[serde(default)]
    pub progress: Option<JobProgress>,
}

/// How far a job has come: `done` of `total` units of work, and what it is
/// doing. A unit is what the engine can count before it starts: a file of
/// the interaction log, a Spark statement. Units differ in size, so the
/// fraction is a sign of life and of the stage, not a time estimate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobProgress {
    pub stage: String,
    pub done: u64,
    pub total: u64,
}

impl JobProgress {
    pub fn new(stage: impl Into<String>, done: u64, total: u64) -> Self {
        let total = total.max(1);
        JobProgress {
            stage: stage.into(),
            done: done.min(total),
            total,
        }
    }

    /// `done / total`, in 0..=1.
    pub fn fraction(&self) -> f64 {
        self.done as f64 / self.total.max(1) as f64
    }
}

impl JobRecord {
    /// A new queued job.
    pub fn new(
        kind: JobKind,
        params: JobParams,
        engine: EngineKind,
        requested_by: String,
        now_ms: i64,
        nonce: u32,
    ) -> Self {
        JobRecord {
            id: format!("job-{now_ms:013}-{nonce:08x}"),
            kind,
            params,
            engine,
            state: JobState::Queued,
            requested_by,
            created_ms: now_ms,
            started_ms: None,
            finished_ms: None,
            error: None,
            result: None,
            progress: None,
        }
    }

    /// Whether `id` has the shape of a job id (checked before any lookup,
    /// so that junk never reaches a store query).
    pub fn is_id(id: &str) -> bool {
        let mut parts = id.splitn(3, '-');
        parts.next() == Some("job")
            && parts
                .next()
                .is_some_and(|ms| ms.len() == 13 && ms.bytes().all(|b| b.is_ascii_digit()))
            && parts
                .next()
                .is_some_and(|n| n.len() == 8 && n.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// Ends the job in a final state.
    pub fn finish(&mut self, outcome: std::result::Result<JobResult, JobFailure>, now_ms: i64) {
        self.finished_ms = Some(now_ms);
        match outcome {
            Ok(result) => {
                if let Some(p) = &mut self.progress {
                    p.done = p.total;
                }
                self.state = JobState::Succeeded;
                self.result = Some(result);
                self.error = None;
            }
            Err(failure) => {
                self.state = match failure.code.as_str() {
                    failure::JOB_CANCELLED => JobState::Cancelled,
                    failure::JOB_INTERRUPTED => JobState::Interrupted,
                    _ => JobState::Failed,
                };
                self.error = Some(failure);
            }
        }
    }
}

/// Which jobs a listing wants.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JobFilter {
    pub kind: Option<JobKind>,
    pub state: Option<JobState>,
    /// Only jobs created before this one (the page's cursor).
    pub before: Option<String>,
}

impl JobFilter {
    pub fn matches(&self, job: &JobRecord) -> bool {
        self.kind.is_none_or(|k| job.kind == k)
            && self.state.is_none_or(|s| job.state == s)
            && self.before.as_ref().is_none_or(|b| job.id < *b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_checked_and_normalised() {
        let params = JobParams {
            genres: vec![" Rock".into(), "pop".into(), "rock".into()],
            from: Some(1990),
            to: Some(2000),
            ..JobParams::default()
        }
        .validate(JobKind::GenreTrends)
        .unwrap();
        assert_eq!(params.genres, ["pop", "rock"]);
        let bad = |p: JobParams, kind| p.validate(kind).unwrap_err().to_string();
        assert!(bad(
            JobParams {
                from: Some(2001),
                to: Some(2000),
                ..JobParams::default()
            },
            JobKind::GenreTrends
        )
        .contains("after"));
        assert!(bad(
            JobParams {
                from: Some(2001),
                ..JobParams::default()
            },
            JobKind::GenreFingerprints
        )
        .contains("no release years"));
        assert!(bad(
            JobParams {
                genres: vec!["x".repeat(101)],
                ..JobParams::default()
            },
            JobKind::GenreTrends
        )
        .contains("1 to 100"));
        assert!(bad(
            JobParams {
                genres: vec!["g".into(); 101],
                ..JobParams::default()
            },
            JobKind::GenreTrends
        )
        .contains("at most 100"));
    }

    #[test]
    fn ids_sort_by_creation_and_are_recognised() {
        let a = JobRecord::new(
            JobKind::GenreTrends,
            JobParams::default(),
            EngineKind::Embedded,
            "k".into(),
            1_764_806_400_000,
            7,
        );
        let b = JobRecord::new(
            JobKind::GenreTrends,
            JobParams::default(),
            EngineKind::Embedded,
            "k".into(),
            1_764_806_400_001,
            0,
        );
        assert!(a.id < b.id);
        assert!(JobRecord::is_id(&a.id), "{}", a.id);
        for junk in [
            "",
            "job-1-2",
            "job-176480640000x-00000007",
            "x".repeat(500).as_str(),
        ] {
            assert!(!JobRecord::is_id(junk), "{junk}");
        }
    }

    #[test]
    fn a_failure_code_decides_the_final_state() {
        let mut job = JobRecord::new(
            JobKind::GenreTrends,
            JobParams::default(),
            EngineKind::Spark,
            "k".into(),
            0,
            0,
        );
        for (code, state) in [
            ("JOB_CANCELLED", JobState::Cancelled),
            ("JOB_INTERRUPTED", JobState::Interrupted),
            ("ENGINE_UNAVAILABLE", JobState::Failed),
        ] {
            job.finish(
                Err(JobFailure {
                    code: code.into(),
                    message: "m".into(),
                }),
                1,
            );
            assert_eq!(job.state, state);
        }
        job.finish(Ok(JobResult::GenreTrends(vec![])), 2);
        assert_eq!(
            (job.state, job.error.is_none()),
            (JobState::Succeeded, true)
        );
    }

    #[test]
    fn the_round_trip_through_json_keeps_a_result() {
        let result = JobResult::GenreTrends(vec![YearTrend {
            genre: "rock".into(),
            year: 1999,
            track_count: 3,
            popularity: Some(50.5),
            features: vec![(Feature::Energy, 0.75)],
        }]);
        let json = serde_json::to_string(&result).unwrap();
        assert!(json.contains("\"kind\":\"genre_trends\""), "{json}");
        assert_eq!(serde_json::from_str::<JobResult>(&json).unwrap(), result);
    }
}
