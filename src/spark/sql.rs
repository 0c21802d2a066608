//! Each job as Spark SQL over the session's `tracks_current` view, its
//! last statement a query answering the job's rows as JSON objects (see
//! [`json_rows`]); and those rows read back into the job's typed result.
//!
//! The statements compute what the embedded engine's domain code computes
//! (`domain::genre`): tracks without a release year are left out of
//! trends, a mean is over the tracks that know the value, the spread is
//! the population standard deviation. The tests run both engines on the
//! shared dataset and compare.

use std::fmt::Write;

use serde_json::{Map, Value};

use super::listener_sql;
use crate::domain::job::Fingerprint;
use crate::domain::{
    Feature, GenreLevel, JobKind, JobParams, JobRecord, JobResult, Summary, YearTrend,
};
use crate::service::engine::JobOutput;

/// A Spark SQL string literal: Spark reads backslash escapes inside quotes
/// (and two adjacent literals as one), so quotes and backslashes are
/// escaped with backslashes.
pub(super) fn literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if matches!(c, '\'' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The genre names a job reads, one row per track and name.
fn exploded(params: &JobParams) -> String {
    let column = match params.level {
        GenreLevel::Genre => "genres",
        GenreLevel::Subgenre => "subgenres",
    };
    format!("FROM tracks_current LATERAL VIEW explode({column}) names AS genre")
}

/// `genre IN (…)` when the job names genres.
pub(super) fn genre_condition(params: &JobParams) -> Option<String> {
    (!params.genres.is_empty()).then(|| {
        let names: Vec<String> = params.genres.iter().map(|g| literal(g)).collect();
        format!("genre IN ({})", names.join(", "))
    })
}

/// The statements computing `job`, the last a query answering its rows
/// (the others prepare it: settings, temporary views).
pub fn statements(job: &JobRecord) -> Vec<String> {
    match job.kind {
        JobKind::GenreTrends | JobKind::GenreFingerprints => {
            vec![json_rows(&genre_statement(job))]
        }
        JobKind::ListenerBehaviour => listener_sql::behaviour(&job.params),
        JobKind::CoOccurrenceModel => listener_sql::model(&job.params),
    }
}

/// `select`'s rows as one text column of JSON objects: Spark's JSON writer
/// (a null is left out, as in a JSON file) and one decoder on this side
/// whatever the columns' types (`arrow.rs`).
pub(super) fn json_rows(select: &str) -> String {
    format!("SELECT to_json(struct(*)) AS row FROM (\n{select}\n) result")
}

/// The query of a genre job.
fn genre_statement(job: &JobRecord) -> String {
    let params = &job.params;
    let mut sql = String::from("SELECT genre");
    let mut conditions: Vec<String> = genre_condition(params).into_iter().collect();
    match job.kind {
        JobKind::GenreTrends => {
            sql.push_str(
                ", release_year AS year, count(*) AS track_count, avg(popularity) AS popularity",
            );
            for f in Feature::ALL {
                let _ = write!(sql, ", avg({c}) AS {c}", c = f.column());
            }
            conditions.push("release_year IS NOT NULL".into());
            if let Some(from) = params.from {
                conditions.push(format!("release_year >= {from}"));
            }
            if let Some(to) = params.to {
                conditions.push(format!("release_year <= {to}"));
            }
        }
        JobKind::GenreFingerprints | JobKind::ListenerBehaviour | JobKind::CoOccurrenceModel => {
            sql.push_str(", count(*) AS track_count");
            for column in std::iter::once("popularity").chain(Feature::ALL.map(Feature::column)) {
                let _ = write!(
                    sql,
                    ", count({c}) AS {c}__count, avg({c}) AS {c}__mean, stddev_pop({c}) AS {c}__std_dev, \
                     min({c}) AS {c}__min, max({c}) AS {c}__max",
                    c = column
                );
            }
        }
    }
    let _ = write!(sql, "\n{}", exploded(params));
    if !conditions.is_empty() {
        let _ = write!(sql, "\nWHERE {}", conditions.join(" AND "));
    }
    sql.push_str(match job.kind {
        JobKind::GenreTrends => "\nGROUP BY genre, release_year",
        _ => "\nGROUP BY genre",
    });
    sql
}

/// The job's output from the JSON rows Spark answered (`lines`, in any
/// order), sorted as the embedded engine sorts.
///
/// # Errors
/// A line that is not a row of this job, with the reason.
pub fn output(job: &JobRecord, lines: &[String]) -> Result<JobOutput, String> {
    let rows = || -> Result<Vec<Map<String, Value>>, String> {
        lines
            .iter()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(|e| format!("a result line is not JSON: {e}")))
            .collect()
    };
    Ok(match job.kind {
        JobKind::GenreTrends | JobKind::GenreFingerprints => {
            JobOutput::Result(result(job.kind, &rows()?)?)
        }
        JobKind::ListenerBehaviour => JobOutput::Result(JobResult::ListenerBehaviour(
            listener_sql::behaviour_result(&rows()?, job.params.top())?,
        )),
        JobKind::CoOccurrenceModel => model_output(job, lines.iter().map(|l| Ok(l.clone())))?,
    })
}

/// A model job's output from its lines, read one at a time.
///
/// # Errors
/// The first line that is not a model row, or could not be read.
pub fn model_output(
    job: &JobRecord,
    lines: impl Iterator<Item = Result<String, String>>,
) -> Result<JobOutput, String> {
    let neighbours = job.params.neighbours();
    Ok(JobOutput::Model {
        table: listener_sql::model_from_lines(lines, neighbours)?,
        neighbours,
    })
}

/// A genre job's result.
fn result(kind: JobKind, rows: &[Map<String, Value>]) -> Result<JobResult, String> {
    match kind {
        JobKind::GenreTrends => {
            let mut trends = rows.iter().map(trend).collect::<Result<Vec<_>, _>>()?;
            trends.sort_by(|a, b| (&a.genre, a.year).cmp(&(&b.genre, b.year)));
            Ok(JobResult::GenreTrends(trends))
        }
        JobKind::GenreFingerprints => {
            let mut prints = rows
                .iter()
                .map(fingerprint)
                .collect::<Result<Vec<_>, _>>()?;
            prints.sort_by(|a, b| a.genre.cmp(&b.genre));
            Ok(JobResult::GenreFingerprints(prints))
        }
        _ => Err(format!("{} is not a genre job", kind.as_str())),
    }
}

fn text(row: &Map<String, Value>, key: &str) -> Result<String, String> {
    row.get(key)
        .and_then(Value::as_str)
        .map(str::to_string)
        .ok_or_else(|| format!("a result row has no {key}"))
}

fn number(row: &Map<String, Value>, key: &str) -> Option<f64> {
    row.get(key).and_then(Value::as_f64)
}

fn count(row: &Map<String, Value>, key: &str) -> Result<usize, String> {
    row.get(key)
        .and_then(Value::as_u64)
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("a result row has no {key}"))
}

fn trend(row: &Map<String, Value>) -> Result<YearTrend, String> {
    let year = count(row, "year")?;
    Ok(YearTrend {
        genre: text(row, "genre")?,
        year: u16::try_from(year).map_err(|_| format!("year {year} out of range"))?,
        track_count: count(row, "track_count")?,
        popularity: number(row, "popularity"),
        features: Feature::ALL
            .into_iter()
            .filter_map(|f| number(row, f.column()).map(|mean| (f, mean)))
            .collect(),
    })
}

/// The summary of `column`, when any track knows it.
fn stats(row: &Map<String, Value>, column: &str) -> Option<Summary> {
    let field = |stat: &str| number(row, &format!("{column}__{stat}"));
    let count = count(row, &format!("{column}__count")).ok()?;
    (count > 0).then(|| Summary {
        count,
        mean: field("mean").unwrap_or_default(),
        std_dev: field("std_dev").unwrap_or_default(),
        min: field("min").unwrap_or_default(),
        max: field("max").unwrap_or_default(),
    })
}

fn fingerprint(row: &Map<String, Value>) -> Result<Fingerprint, String> {
    Ok(Fingerprint {
        genre: text(row, "genre")?,
        track_count: count(row, "track_count")?,
        popularity: stats(row, "popularity"),
        features: Feature::ALL
            .into_iter()
            .filter_map(|f| stats(row, f.column()).map(|s| (f, s)))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EngineKind;

    fn job(kind: JobKind, params: JobParams) -> JobRecord {
        JobRecord::new(kind, params, EngineKind::Spark, "t".into(), 0, 0)
    }

    #[test]
    fn names_are_quoted_so_that_no_name_ends_the_literal() {
        assert_eq!(literal(r"it's a \ genre"), r"'it\'s a \\ genre'");
        let sql = statements(&job(
            JobKind::GenreTrends,
            JobParams {
                genres: vec!["r'n'b".into()],
                from: Some(1990),
                to: Some(1999),
                ..JobParams::default()
            },
        ))
        .join(";");
        assert!(sql.contains(r"genre IN ('r\'n\'b')"), "{sql}");
        assert!(
            sql.contains("release_year >= 1990 AND release_year <= 1999"),
            "{sql}"
        );
        assert!(sql.starts_with("SELECT to_json(struct(*)) AS row FROM (\nSELECT genre"));
    }

    fn parsed(lines: &[String]) -> Vec<Map<String, Value>> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn rows_come_back_typed_and_sorted() {
        let lines: Vec<String> = vec![
            r#"{"genre":"rock","year":1999,"track_count":2,"popularity":40.5,"energy":0.5}"#.into(),
            r#"{"genre":"pop","year":2001,"track_count":1}"#.into(),
        ];
        let JobResult::GenreTrends(rows) = result(JobKind::GenreTrends, &parsed(&lines)).unwrap()
        else {
            panic!("trends expected");
        };
        assert_eq!(rows[0].genre, "pop");
        assert_eq!(rows[0].popularity, None);
        assert_eq!(rows[1].features, vec![(Feature::Energy, 0.5)]);
        let prints = result(
            JobKind::GenreFingerprints,
            &parsed(&[r#"{"genre":"pop","track_count":3,"popularity__count":0,"energy__count":3,"energy__mean":0.5,"energy__std_dev":0.1,"energy__min":0.4,"energy__max":0.6}"#.into()]),
        )
        .unwrap();
        let JobResult::GenreFingerprints(prints) = prints else {
            panic!("fingerprints expected");
        };
        assert_eq!(prints[0].popularity, None);
        assert_eq!(prints[0].features[0].1.count, 3);
        assert!(
            result(JobKind::GenreTrends, &parsed(&["{\"year\":1}".into()]))
                .unwrap_err()
                .contains("genre")
        );
    }
}
