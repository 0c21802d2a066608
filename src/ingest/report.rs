//! What an import did: rows read, tracks kept, duplicates merged, and every
//! rejected row with where it was and why.

use std::collections::BTreeMap;
use std::fmt;

use crate::store::UpsertStats;

/// A record that could not be imported.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// Where in the source: `line 17` for CSV, `tracks[3]` for JSON.
    pub location: String,
    /// Short stable label of the reason, for counting (e.g. `feature out of range`).
    pub kind: &'static str,
    /// The full reason, for people.
    pub reason: String,
}

/// The outcome of reading one source.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImportReport {
    /// The path or URL read.
    pub source: String,
    /// Data rows (or JSON track objects) read.
    pub rows_read: u64,
    /// Distinct tracks parsed.
    pub tracks: usize,
    /// Rows that repeated a track already read and were merged into it
    /// (the shared dataset lists a track once per playlist).
    pub duplicates_merged: u64,
    pub rejected: Vec<Rejection>,
    /// What writing to the store did, once written.
    pub stored: Option<UpsertStats>,
}

impl ImportReport {
    /// Rejected rows counted by reason.
    pub fn rejected_by_reason(&self) -> BTreeMap<&'static str, usize> {
        let mut counts = BTreeMap::new();
        for r in &self.rejected {
            *counts.entry(r.kind).or_default() += 1;
        }
        counts
    }

    /// The lake's ingest events of this import: one per track `applied`
    /// (by id), then one per rejected row with its location and reason.
    pub fn ingest_events<'a>(
        &self,
        applied: impl Iterator<Item = &'a crate::domain::TrackId>,
    ) -> Vec<super::IngestEvent> {
        let at_ms = super::changes::now_ms();
        let applied = applied.map(|id| super::IngestEvent {
            at_ms,
            source: self.source.clone(),
            outcome: super::changes::Outcome::Applied,
            kind: None,
            reason: None,
            subject: Some(id.to_string()),
            position: None,
        });
        let rejected = self.rejected.iter().map(|r| super::IngestEvent {
            at_ms,
            source: format!("{} {}", self.source, r.location),
            outcome: super::changes::Outcome::Rejected,
            kind: Some(r.kind.to_string()),
            reason: Some(r.reason.clone()),
            subject: None,
            position: None,
        });
        applied.chain(rejected).collect()
    }

    pub(crate) fn reject(&mut self, location: String, error: &crate::domain::DomainError) {
        self.rejected.push(Rejection {
            location,
            kind: error.kind(),
            reason: error.to_string(),
        });
    }
}

impl fmt::Display for ImportReport {
    /// The summary printed at the end of an import.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}:", self.source)?;
        writeln!(f, "  rows read          {}", self.rows_read)?;
        writeln!(f, "  tracks imported    {}", self.tracks)?;
        if let Some(s) = self.stored {
            writeln!(f, "    new              {}", s.inserted)?;
            writeln!(f, "    replaced         {}", s.replaced)?;
        }
        writeln!(f, "  duplicates merged  {}", self.duplicates_merged)?;
        write!(f, "  rows rejected      {}", self.rejected.len())?;
        for (kind, n) in self.rejected_by_reason() {
            write!(f, "\n    {kind:<24} {n}")?;
        }
        Ok(())
    }
}
