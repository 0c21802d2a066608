//! Genre analytics computed inside MongoDB with aggregation pipelines, so
//! dashboards do not need the whole collection shipped to timbre. The
//! results have the same shape (and, on the same data, the same numbers) as
//! the domain code that computes them over the in-memory catalog.

use futures_util::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};

use super::mongo::map_err;
use super::{MongoStore, Result};
use crate::domain::{Feature, GenreLevel, GenreProfile, Summary, TrendQuery, YearTrend};

/// The aggregation expression of a feature's value (null where unknown).
fn feature_expr(feature: Feature) -> Bson {
    match feature {
        // Stored as `major: bool`; the feature is 1 for major, 0 for minor.
        Feature::Mode => Bson::Document(doc! { "$cond": ["$features.major", 1, 0] }),
        f => Bson::String(format!("$features.{}", f.column())),
    }
}

fn level_field(level: GenreLevel) -> &'static str {
    match level {
        GenreLevel::Genre => "genres",
        GenreLevel::Subgenre => "subgenres",
    }
}

/// A number of any BSON numeric type.
fn num(doc: &Document, key: &str) -> Option<f64> {
    match doc.get(key)? {
        Bson::Double(x) => Some(*x),
        Bson::Int32(x) => Some(f64::from(*x)),
        Bson::Int64(x) => Some(*x as f64),
        _ => None,
    }
}

/// Accumulators for count, mean, spread and range of `expr` under `name`.
fn summary_accumulators(group: &mut Document, name: &str, expr: Bson) {
    group.insert(
        format!("{name}_n"),
        doc! { "$sum": { "$cond": [{ "$ne": [expr.clone(), Bson::Null] }, 1, 0] } },
    );
    group.insert(format!("{name}_avg"), doc! { "$avg": expr.clone() });
    group.insert(format!("{name}_sd"), doc! { "$stdDevPop": expr.clone() });
    group.insert(format!("{name}_min"), doc! { "$min": expr.clone() });
    group.insert(format!("{name}_max"), doc! { "$max": expr });
}

fn summary(doc: &Document, name: &str) -> Option<Summary> {
    let count = num(doc, &format!("{name}_n"))? as usize;
    (count > 0).then(|| Summary {
        count,
        mean: num(doc, &format!("{name}_avg")).unwrap_or_default(),
        std_dev: num(doc, &format!("{name}_sd")).unwrap_or_default(),
        min: num(doc, &format!("{name}_min")).unwrap_or_default(),
        max: num(doc, &format!("{name}_max")).unwrap_or_default(),
    })
}

impl MongoStore {
    async fn aggregate(&self, pipeline: Vec<Document>) -> Result<Vec<Document>> {
        self.collection()
            .aggregate(pipeline)
            .await
            .map_err(map_err)?
            .try_collect()
            .await
            .map_err(map_err)
    }

    /// Genre profiles by aggregation: one `$group` per genre for counts,
    /// popularity and every feature, one for subgenre counts.
    pub(super) async fn aggregate_profiles(&self, level: GenreLevel) -> Result<Vec<GenreProfile>> {
        let field = level_field(level);
        let mut group = doc! { "_id": format!("${field}"), "tracks": { "$sum": 1 } };
        summary_accumulators(&mut group, "popularity", Bson::String("$popularity".into()));
        for f in Feature::ALL {
            summary_accumulators(&mut group, f.column(), feature_expr(f));
        }
        let rows = self
            .aggregate(vec![
                doc! { "$unwind": format!("${field}") },
                doc! { "$group": group },
                doc! { "$sort": { "_id": 1 } },
            ])
            .await?;
        let subgenres = if level == GenreLevel::Genre {
            self.aggregate(vec![
                doc! { "$unwind": "$genres" },
                doc! { "$unwind": "$subgenres" },
                doc! { "$group": { "_id": { "g": "$genres", "s": "$subgenres" }, "n": { "$sum": 1 } } },
            ])
            .await?
        } else {
            Vec::new()
        };
        Ok(rows
            .iter()
            .filter_map(|row| {
                let name = row.get_str("_id").ok()?.to_string();
                let mut subs: Vec<(String, usize)> = subgenres
                    .iter()
                    .filter_map(|s| {
                        let id = s.get_document("_id").ok()?;
                        (id.get_str("g").ok()? == name).then(|| {
                            Some((id.get_str("s").ok()?.to_string(), num(s, "n")? as usize))
                        })?
                    })
                    .collect();
                subs.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                Some(GenreProfile {
                    track_count: num(row, "tracks")? as usize,
                    level,
                    subgenres: subs,
                    popularity: summary(row, "popularity"),
                    features: Feature::ALL
                        .into_iter()
                        .filter_map(|f| summary(row, f.column()).map(|s| (f, s)))
                        .collect(),
                    name,
                })
            })
            .collect())
    }

    /// Trends by aggregation: tracks of the asked genres and years, grouped
    /// by (genre, release year).
    pub(super) async fn aggregate_trends(&self, query: &TrendQuery) -> Result<Vec<YearTrend>> {
        let field = level_field(query.level);
        let mut years = doc! { "$ne": Bson::Null };
        if let Some(from) = query.from {
            years.insert("$gte", i32::from(from));
        }
        if let Some(to) = query.to {
            years.insert("$lte", i32::from(to));
        }
        let mut matched = doc! { "release_year": years };
        if !query.genres.is_empty() {
            matched.insert(field, doc! { "$in": &query.genres });
        }
        let mut group = doc! {
            "_id": { "g": format!("${field}"), "y": "$release_year" },
            "tracks": { "$sum": 1 },
            "popularity": { "$avg": "$popularity" },
        };
        for f in Feature::ALL {
            group.insert(f.column(), doc! { "$avg": feature_expr(f) });
        }
        let mut pipeline = vec![
            doc! { "$match": matched.clone() },
            doc! { "$unwind": format!("${field}") },
        ];
        if !query.genres.is_empty() {
            pipeline.push(doc! { "$match": { field: { "$in": &query.genres } } });
        }
        pipeline.push(doc! { "$group": group });
        pipeline.push(doc! { "$sort": { "_id.g": 1, "_id.y": 1 } });
        let rows = self.aggregate(pipeline).await?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let id = row.get_document("_id").ok()?;
                Some(YearTrend {
                    genre: id.get_str("g").ok()?.to_string(),
                    year: num(id, "y")? as u16,
                    track_count: num(row, "tracks")? as usize,
                    popularity: num(row, "popularity"),
                    features: Feature::ALL
                        .into_iter()
                        .filter_map(|f| num(row, f.column()).map(|m| (f, m)))
                        .collect(),
                })
            })
            .collect())
    }
}
