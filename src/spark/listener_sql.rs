//! The listener jobs as Spark SQL: listener behaviour and the
//! co-occurrence model, over the session's views of the lake
//! (`interactions`, `tracks_current`, the membership tables). Each job is
//! a few temporary views and one query answering JSON rows; the rows
//! come back into the same types the embedded engine computes
//! (`domain::behaviour`, `domain::neighbours`), following the definitions
//! written there.

use serde_json::{Map, Value};

use super::sql::{genre_condition, json_rows};
use crate::domain::behaviour::{ArtistPlays, Behaviour, DayCount, SkipRate, TrackPlays};
use crate::domain::{GenreLevel, InteractionKind, JobParams, Neighbours, TrackId};

/// Days are UTC days whatever the cluster's time zone.
const UTC: &str = "SET spark.sql.session.timeZone = UTC";

/// `WHERE` for the job's window of interactions, on the column `at`.
fn window_condition(params: &JobParams) -> Vec<String> {
    let window = params.window().unwrap_or_default();
    let mut conditions = Vec::new();
    if let Some(since) = window.since_ms {
        conditions.push(format!("unix_millis(at) >= {since}"));
    }
    if let Some(until) = window.until_ms {
        conditions.push(format!("unix_millis(at) < {until}"));
    }
    conditions
}

fn where_all(conditions: &[String]) -> String {
    if conditions.is_empty() {
        String::new()
    } else {
        format!(" WHERE {}", conditions.join(" AND "))
    }
}

/// The listener behaviour job's statements, the last answering its rows.
pub fn behaviour(params: &JobParams) -> Vec<String> {
    let names = match params.level {
        GenreLevel::Genre => "genres",
        GenreLevel::Subgenre => "subgenres",
    };
    let events = format!(
        "CREATE OR REPLACE TEMPORARY VIEW job_events AS SELECT user_id, track_id, kind, \
         date_format(at, 'yyyy-MM-dd') AS day FROM interactions{}",
        where_all(&window_condition(params))
    );
    let genres = format!(
        "CREATE OR REPLACE TEMPORARY VIEW job_genres AS SELECT e.day, e.kind, e.track_id, genre \
         FROM job_events e JOIN tracks_current t ON t.track_id = e.track_id \
         LATERAL VIEW explode(t.{names}) names AS genre{}",
        where_all(&genre_condition(params).into_iter().collect::<Vec<_>>())
    );
    let top = params.top();
    let null_text = "CAST(NULL AS STRING)";
    let null_count = "CAST(NULL AS BIGINT)";
    let sql = format!(
        "SELECT 'day' AS section, day, kind, {null_text} AS name, count(*) AS n, {null_count} AS m \
         FROM job_events GROUP BY day, kind\n\
         UNION ALL SELECT 'day', day, kind, genre, count(*), {null_count} FROM job_genres GROUP BY day, kind, genre\n\
         UNION ALL SELECT * FROM (SELECT 'track', {null_text}, {null_text}, track_id, count(*) AS n, {null_count} \
         FROM job_events WHERE kind = 'PLAY' GROUP BY track_id ORDER BY n DESC, track_id LIMIT {top})\n\
         UNION ALL SELECT * FROM (SELECT 'artist', {null_text}, {null_text}, artist, count(*) AS n, {null_count} \
         FROM job_events e JOIN tracks_current t ON t.track_id = e.track_id LATERAL VIEW explode(t.artists) a AS artist \
         WHERE e.kind = 'PLAY' GROUP BY artist ORDER BY n DESC, artist LIMIT {top})\n\
         UNION ALL SELECT 'skip', {null_text}, {null_text}, genre, \
         sum(CASE WHEN kind = 'PLAY' THEN 1 ELSE 0 END), sum(CASE WHEN kind = 'SKIP' THEN 1 ELSE 0 END) \
         FROM job_genres WHERE kind IN ('PLAY', 'SKIP') GROUP BY genre"
    );
    vec![UTC.into(), events, genres, json_rows(&sql)]
}

/// The co-occurrence model job's statements, the last answering
/// `(track_id, neighbour, sim)` rows.
pub fn model(params: &JobParams) -> Vec<String> {
    let mut listened = vec!["kind IN ('PLAY', 'LIKE')".to_string()];
    listened.extend(window_condition(params));
    // A track's memberships are those of its current state: the change
    // (or snapshot) `tracks_current` took it from.
    let lists = format!(
        "CREATE OR REPLACE TEMPORARY VIEW job_lists AS SELECT DISTINCT list, track_id FROM (\n\
         SELECT concat('p:', m.playlist_id) AS list, m.track_id FROM (\n\
         \x20 SELECT track_id, playlist_id, changed_at FROM playlist_memberships\n\
         \x20 UNION ALL SELECT track_id, playlist_id, exported_at AS changed_at FROM playlist_memberships_snapshot\n\
         \x20 WHERE snapshot_id = (SELECT max(snapshot_id) FROM playlist_memberships_snapshot)\n\
         ) m JOIN tracks_current t ON t.track_id = m.track_id AND t.changed_at = m.changed_at\n\
         UNION ALL SELECT concat('u:', user_id) AS list, track_id FROM interactions{}\n\
         ) l WHERE track_id IN (SELECT track_id FROM tracks_current)",
        where_all(&listened)
    );
    let kept = "CREATE OR REPLACE TEMPORARY VIEW job_kept AS SELECT list, track_id FROM (\
                SELECT list, track_id, count(*) OVER (PARTITION BY list) AS size FROM job_lists\
                ) s WHERE size >= 2"
        .to_string();
    let counts = "CREATE OR REPLACE TEMPORARY VIEW job_counts AS \
                  SELECT track_id, count(*) AS n FROM job_kept GROUP BY track_id"
        .to_string();
    let k = params.neighbours();
    let rows = format!(
        "SELECT a AS track_id, b AS neighbour, sim FROM (\n\
         \x20 SELECT a, b, sim, row_number() OVER (PARTITION BY a ORDER BY sim DESC, b) AS r FROM (\n\
         \x20   SELECT p.a, p.b, p.co / sqrt(CAST(na.n * nb.n AS DOUBLE)) AS sim FROM (\n\
         \x20     SELECT x.track_id AS a, y.track_id AS b, count(*) AS co FROM job_kept x\n\
         \x20     JOIN job_kept y ON x.list = y.list AND x.track_id <> y.track_id GROUP BY x.track_id, y.track_id\n\
         \x20   ) p JOIN job_counts na ON na.track_id = p.a JOIN job_counts nb ON nb.track_id = p.b\n\
         \x20 ) s\n\
         ) ranked WHERE r <= {k}"
    );
    vec![UTC.into(), lists, kept, counts, json_rows(&rows)]
}

fn text(row: &Map<String, Value>, key: &str) -> Option<String> {
    row.get(key).and_then(Value::as_str).map(str::to_string)
}

fn count(row: &Map<String, Value>, key: &str) -> Result<u64, String> {
    row.get(key)
        .and_then(Value::as_u64)
        .ok_or_else(|| format!("a result row has no {key}"))
}

fn track_id(text: Option<String>) -> Result<TrackId, String> {
    let text = text.ok_or("a result row has no track id")?;
    TrackId::parse(&text).map_err(|e| e.to_string())
}

/// The behaviour from the rows [`behaviour`] wrote.
///
/// # Errors
/// A row that is not one of the job's, with the reason.
pub fn behaviour_result(rows: &[Map<String, Value>], top: usize) -> Result<Behaviour, String> {
    let mut b = Behaviour::default();
    for row in rows {
        let name = text(row, "name");
        match text(row, "section").as_deref() {
            Some("day") => {
                let kind = text(row, "kind").ok_or("a day row has no kind")?;
                b.days.push(DayCount {
                    day: text(row, "day").ok_or("a day row has no day")?,
                    kind: serde_json::from_value::<InteractionKind>(Value::String(kind))
                        .map_err(|e| e.to_string())?,
                    genre: name,
                    count: count(row, "n")?,
                });
            }
            Some("track") => b.top_tracks.push(TrackPlays {
                track_id: track_id(name)?,
                plays: count(row, "n")?,
            }),
            Some("artist") => b.top_artists.push(ArtistPlays {
                artist: name.ok_or("an artist row has no artist")?,
                plays: count(row, "n")?,
            }),
            Some("skip") => b.skip_rates.push(SkipRate::new(
                name.ok_or("a skip row has no genre")?,
                count(row, "n")?,
                count(row, "m")?,
            )),
            other => return Err(format!("a result row of unknown section {other:?}")),
        }
    }
    b.normalise(top);
    Ok(b)
}

/// The model from the JSON lines the model statement wrote, read one at
/// a time: at 1M tracks they are about a hundred million (9 GB), which
/// must never be held at once (parsed into maps first, they took the
/// server past 15 GB and out of memory).
///
/// # Errors
/// The first line that is not a model row (or could not be read).
pub fn model_from_lines(
    lines: impl Iterator<Item = Result<String, String>>,
    k: usize,
) -> Result<Neighbours, String> {
    #[derive(serde::Deserialize)]
    struct Row<'a> {
        track_id: &'a str,
        neighbour: &'a str,
        sim: f64,
    }
    let mut failure = None;
    let rows = lines
        .filter(|l| l.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map_while(|line| {
            let row = line.and_then(|line| {
                let row: Row<'_> = serde_json::from_str(&line)
                    .map_err(|e| format!("a model row is not one: {e}"))?;
                let id = |t: &str| TrackId::parse(t).map_err(|e| e.to_string());
                Ok((id(row.track_id)?, id(row.neighbour)?, row.sim))
            });
            row.map_err(|e| failure = Some(e)).ok()
        });
    let table = Neighbours::from_rows(rows, k);
    match failure {
        Some(e) => Err(e),
        None => Ok(table),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(lines: &[&str]) -> Vec<Map<String, Value>> {
        lines
            .iter()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn the_window_and_genres_reach_the_statements() {
        let params = JobParams {
            genres: vec!["r'n'b".into()],
            since: Some("2026-01-01".into()),
            until: Some("2026-01-01".into()),
            ..JobParams::default()
        };
        let sql = behaviour(&params).join(";\n");
        assert!(sql.contains("unix_millis(at) >= 1767225600000"), "{sql}");
        assert!(sql.contains("unix_millis(at) < 1767312000000"), "{sql}");
        assert!(sql.contains(r"genre IN ('r\'n\'b')"), "{sql}");
        assert!(sql.contains("LIMIT 10"), "{sql}");
        let model = model(&JobParams::default()).join(";\n");
        assert!(model.contains("r <= 1000"), "{model}");
        // Each job's last statement answers its rows as JSON text.
        for last in [sql.rsplit(";\n").next(), model.rsplit(";\n").next()] {
            assert!(last
                .unwrap()
                .starts_with("SELECT to_json(struct(*)) AS row FROM ("));
        }
        assert!(!model.contains("unix_millis"), "{model}");
    }

    #[test]
    fn rows_come_back_as_the_domain_types() {
        let id = "4uLU6hMCjMI75M1A2tKUQC";
        let b = behaviour_result(
            &rows(&[
                r#"{"section":"day","day":"2026-01-02","kind":"SKIP","name":"pop","n":2}"#,
                r#"{"section":"day","day":"2026-01-02","kind":"PLAY","n":5}"#,
                &format!(r#"{{"section":"track","name":"{id}","n":4}}"#),
                r#"{"section":"artist","name":"ann","n":4}"#,
                r#"{"section":"skip","name":"pop","n":3,"m":1}"#,
            ]),
            10,
        )
        .unwrap();
        assert_eq!(b.days[0].kind, InteractionKind::Play);
        assert_eq!(b.days[1].genre.as_deref(), Some("pop"));
        assert_eq!(b.top_tracks[0].track_id.as_str(), id);
        assert_eq!(b.skip_rates[0].rate, Some(0.25));
        assert!(behaviour_result(&rows(&[r#"{"section":"x"}"#]), 1).is_err());
        let other = "6f807x0ima9a1j3VPbc7VN";
        fn lines(lines: &[String]) -> impl Iterator<Item = Result<String, String>> + '_ {
            lines.iter().cloned().map(Ok)
        }
        let row = format!(r#"{{"track_id":"{id}","neighbour":"{other}","sim":0.5}}"#);
        let table = model_from_lines(lines(&[row.clone(), String::new()]), 5).unwrap();
        assert_eq!(table.pair_count(), 1);
        let bad = [row.clone(), r#"{"track_id":"x"}"#.to_string(), row];
        assert!(model_from_lines(lines(&bad), 5).is_err());
        let unreadable = [Ok(String::new()), Err("disk on fire".to_string())];
        let why = model_from_lines(unreadable.into_iter(), 5).unwrap_err();
        assert_eq!(why, "disk on fire");
    }
}
