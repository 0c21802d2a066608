//! The evaluation's result and its plain-text tables.

use std::fmt;
use std::time::Duration;

use super::genre_agreement::Agreement;
use super::methods::LIST_LEN;
use super::metrics::Scores;
use super::split::{HIDDEN_SHARE, MIN_TRACKS};

/// One row of the continuation table.
#[derive(Debug, Clone)]
pub struct MethodRow {
    pub method: String,
    pub scores: Scores,
}

/// One row of the feature-space table.
#[derive(Debug, Clone)]
pub struct SpaceRow {
    pub space: String,
    pub agreement: Agreement,
    /// Content-only continuation in this space; `None` for the chance row.
    pub content: Option<Scores>,
}

/// Everything `timbre evaluate` prints.
#[derive(Debug, Clone)]
pub struct Report {
    /// The dataset, as given.
    pub dataset: String,
    pub seed: u64,
    pub tracks: usize,
    pub playlists: usize,
    /// Playlists evaluated (at least `split::MIN_TRACKS` tracks).
    pub evaluated: usize,
    /// Memberships hidden over all evaluated playlists.
    pub hidden: usize,
    pub methods: Vec<MethodRow>,
    /// The blend weight with the best NDCG@50, if any blend was run.
    pub best_blend: Option<f32>,
    pub spaces: Vec<SpaceRow>,
    /// Reading the dataset and building the catalogue.
    pub load_time: Duration,
    pub continuation_time: Duration,
    pub spaces_time: Duration,
    pub total_time: Duration,
}

/// Formats rows under headers: the first column left-aligned, the others
/// right-aligned, two spaces apart.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            let pad = w - cell.chars().count();
            if i == 0 {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str("  ");
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&line(rule.iter().map(String::as_str).collect()));
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn num(x: f64) -> String {
    format!("{x:.4}")
}

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "timbre evaluate: {} ({} tracks, {} playlists), seed {}",
            self.dataset, self.tracks, self.playlists, self.seed
        )?;
        writeln!(
            f,
            "\nPlaylist continuation: {} playlists of >= {} tracks, {} memberships hidden ({:.0}% each);",
            self.evaluated,
            MIN_TRACKS,
            self.hidden,
            HIDDEN_SHARE * 100.0
        )?;
        writeln!(
            f,
            "{LIST_LEN} recommended from the visible tracks; HR = share of playlists with a hidden track in the top k.\n"
        )?;
        let rows: Vec<Vec<String>> = self
            .methods
            .iter()
            .map(|r| {
                let s = &r.scores;
                vec![
                    r.method.clone(),
                    num(s.hr10),
                    num(s.hr50),
                    num(s.ndcg50),
                    num(s.recall50),
                    num(s.coverage10),
                    num(s.ild10),
                ]
            })
            .collect();
        f.write_str(&table(
            &[
                "method",
                "HR@10",
                "HR@50",
                "NDCG@50",
                "recall@50",
                "coverage@10",
                "ILD@10",
            ],
            &rows,
        ))?;
        if let Some(w) = self.best_blend {
            writeln!(f, "\nbest blend weight by NDCG@50: {w:.2}")?;
        }
        writeln!(
            f,
            "\nFeature spaces: genre agreement@10 of similar (exact search, every track a seed),"
        )?;
        writeln!(f, "and content-only continuation in the same space.\n")?;
        let dash = || "-".to_string();
        let rows: Vec<Vec<String>> = self
            .spaces
            .iter()
            .map(|r| {
                vec![
                    r.space.clone(),
                    num(r.agreement.genre),
                    num(r.agreement.subgenre),
                    r.content.map_or_else(dash, |s| num(s.hr50)),
                    r.content.map_or_else(dash, |s| num(s.ndcg50)),
                ]
            })
            .collect();
        f.write_str(&table(
            &["space", "genre@10", "subgenre@10", "HR@50", "NDCG@50"],
            &rows,
        ))?;
        writeln!(
            f,
            "\ntook {} (load and index {}, continuation {}, feature spaces {})",
            secs(self.total_time),
            secs(self.load_time),
            secs(self.continuation_time),
            secs(self.spaces_time)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::table;

    #[test]
    fn columns_line_up() {
        let out = table(
            &["method", "HR@10"],
            &[
                vec!["random".into(), "0.0100".into()],
                vec!["blend 0.50".into(), "0.5000".into()],
            ],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "method       HR@10");
        assert_eq!(lines[1], "----------  ------");
        assert_eq!(lines[2], "random      0.0100");
        assert_eq!(lines[3], "blend 0.50  0.5000");
    }
}
