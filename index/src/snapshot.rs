//! Saving an index to a directory and loading it back.
//!
//! A snapshot directory holds hnsw_rs's own dump of the graph
//! (`graph.hnsw.graph`, `graph.hnsw.data`), the vector table
//! (`vectors.f32`, little-endian) and `manifest.json`: format version,
//! dimension, parameters, keys in internal-id order, tombstones, a CRC-32 of
//! every file, and the caller's metadata (timbre stores its feature space
//! there, so that vectors stay comparable across restarts).
//!
//! Saving writes a sibling `<dir>.tmp` and renames it into place, so a crash
//! mid-save leaves the previous snapshot intact. Loading checks the format and
//! every checksum before handing files to hnsw_rs, which panics on some
//! malformed input instead of returning an error.

use std::collections::HashMap;
use std::fs;
use std::hash::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::frozen::FrozenGraph;
use crate::graph::Graph;
use crate::table::VectorTable;
use crate::{IndexError, IndexParams, Result, VectorIndex};

/// Bumped whenever the layout of a snapshot directory changes.
const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const VECTORS: &str = "vectors.f32";
const GRAPH_BASENAME: &str = "graph";

#[derive(Serialize, Deserialize)]
struct Manifest<K, M> {
    format: u32,
    dim: usize,
    params: IndexParams,
    keys: Vec<K>,
    dead: Vec<u32>,
    /// Basename of hnsw_rs's dump; `None` for an empty index.
    graph_basename: Option<String>,
    /// File name → CRC-32 of its bytes.
    checksums: HashMap<String, u32>,
    meta: M,
}

/// Only the part of the manifest needed to decide whether a snapshot is
/// usable, read without decoding every key.
#[derive(Deserialize)]
struct ManifestHead<M> {
    format: u32,
    meta: M,
}

impl<K: Clone + Eq + Hash + Serialize + DeserializeOwned> VectorIndex<K> {
    /// Writes the index and `meta` to `dir`, replacing any snapshot there.
    ///
    /// # Errors
    /// [`IndexError::Io`] when a file cannot be written, or
    /// [`IndexError::Snapshot`] when hnsw_rs fails to dump its graph.
    pub fn save<M: Serialize>(&self, dir: &Path, meta: &M) -> Result<()> {
        if self.graphed < self.keys.len() {
            return Err(IndexError::snapshot(
                dir,
                format!(
                    "{} vectors are not in the graph yet: flush the index before saving it",
                    self.keys.len() - self.graphed
                ),
            ));
        }
        let tmp = sibling(dir, "tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(IndexError::io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(IndexError::io(&tmp))?;

        // hnsw_rs cannot dump an empty graph; an empty index has no graph files.
        let graph_basename = if self.keys.is_empty() {
            None
        } else {
            Some(
                self.graph
                    .dump(&tmp, GRAPH_BASENAME)
                    .map_err(|e| IndexError::snapshot(&tmp, format!("dumping the graph: {e}")))?,
            )
        };
        let bytes: Vec<u8> = (0..self.keys.len() as u32)
            .flat_map(|id| self.row(id))
            .flat_map(|x| x.to_le_bytes())
            .collect();
        write_synced(&tmp.join(VECTORS), &bytes)?;

        let mut checksums = HashMap::new();
        for name in graph_files(graph_basename.as_deref()) {
            let path = tmp.join(&name);
            let bytes = fs::read(&path).map_err(IndexError::io(&path))?;
            checksums.insert(name, crc32fast::hash(&bytes));
        }
        let manifest = Manifest {
            format: FORMAT,
            dim: self.dim,
            params: self.params,
            keys: self.keys.clone(),
            dead: (0..self.dead.len() as u32)
                .filter(|&id| self.dead[id as usize])
                .collect(),
            graph_basename,
            checksums,
            meta,
        };
        let json = serde_json::to_vec(&manifest)
            .map_err(|e| IndexError::snapshot(&tmp, format!("encoding the manifest: {e}")))?;
        write_synced(&tmp.join(MANIFEST), &json)?;

        let old = sibling(dir, "old");
        if dir.exists() {
            if old.exists() {
                fs::remove_dir_all(&old).map_err(IndexError::io(&old))?;
            }
            fs::rename(dir, &old).map_err(IndexError::io(dir))?;
        }
        fs::rename(&tmp, dir).map_err(IndexError::io(dir))?;
        if old.exists() {
            fs::remove_dir_all(&old).map_err(IndexError::io(&old))?;
        }
        Ok(())
    }

    /// Reads the caller's metadata of the snapshot in `dir` without loading
    /// the graph, e.g. to decide whether the snapshot is still compatible.
    ///
    /// # Errors
    /// [`IndexError::Snapshot`] when the manifest is missing or unreadable.
    pub fn peek_meta<M: DeserializeOwned>(dir: &Path) -> Result<M> {
        let path = dir.join(MANIFEST);
        let bytes = fs::read(&path).map_err(IndexError::io(&path))?;
        let head: ManifestHead<M> = serde_json::from_slice(&bytes)
            .map_err(|e| IndexError::snapshot(&path, format!("unreadable manifest: {e}")))?;
        check_format(&path, head.format)?;
        Ok(head.meta)
    }

    /// Loads the snapshot in `dir`, returning the index and its metadata.
    ///
    /// # Errors
    /// [`IndexError::Snapshot`] when the snapshot is missing, of another
    /// format, fails a checksum or is inconsistent; [`IndexError::Io`] when a
    /// file cannot be read.
    pub fn load<M: DeserializeOwned>(dir: &Path) -> Result<(Self, M)> {
        let path = dir.join(MANIFEST);
        let bytes = fs::read(&path).map_err(IndexError::io(&path))?;
        let manifest: Manifest<K, M> = serde_json::from_slice(&bytes)
            .map_err(|e| IndexError::snapshot(&path, format!("unreadable manifest: {e}")))?;
        check_format(&path, manifest.format)?;
        manifest.params.validate()?;

        let mut vector_bytes = Vec::new();
        for name in graph_files(manifest.graph_basename.as_deref()) {
            let file = dir.join(&name);
            let bytes = fs::read(&file).map_err(IndexError::io(&file))?;
            let expected = manifest.checksums.get(&name).copied();
            if expected != Some(crc32fast::hash(&bytes)) {
                return Err(IndexError::snapshot(
                    &file,
                    "checksum mismatch: the file is corrupt",
                ));
            }
            if name == VECTORS {
                vector_bytes = bytes;
            }
        }
        let n = manifest.keys.len();
        if manifest.dim == 0 {
            return Err(IndexError::snapshot(&path, "dimension 0"));
        }
        if vector_bytes.len() != n * manifest.dim * 4 {
            return Err(IndexError::snapshot(
                dir,
                "vector table does not match the key table",
            ));
        }
        let mut vectors = VectorTable::with_capacity(manifest.dim, n);
        let mut row = Vec::with_capacity(manifest.dim);
        for bytes in vector_bytes.chunks_exact(4 * manifest.dim.max(1)) {
            row.clear();
            row.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            vectors.push(&row);
        }
        let graph = match &manifest.graph_basename {
            Some(basename) => Graph::load(dir, basename)
                .map_err(|e| IndexError::snapshot(dir, format!("loading the graph: {e}")))?,
            None => Graph::new(&manifest.params, 0),
        };
        // Ids tombstoned within the batch that inserted them never reached
        // the graph, so it may hold fewer nodes than there are keys.
        if graph.len() > n {
            return Err(IndexError::snapshot(
                dir,
                format!("graph holds {} nodes, manifest {n} keys", graph.len()),
            ));
        }

        let mut dead = vec![false; n];
        for id in manifest.dead {
            let slot = dead
                .get_mut(id as usize)
                .ok_or_else(|| IndexError::snapshot(dir, "tombstone out of range"))?;
            *slot = true;
        }
        let live = manifest
            .keys
            .iter()
            .enumerate()
            .filter(|(id, _)| !dead[*id])
            .map(|(id, key)| (key.clone(), id as u32))
            .collect();
        let frozen = FrozenGraph::freeze(&graph, n, manifest.params.max_connections);
        let index = VectorIndex {
            params: manifest.params,
            dim: manifest.dim,
            graph: std::sync::Arc::new(graph),
            graphed: n,
            claimed: n,
            generation: crate::vector_index::next_generation(),
            frozen,
            vectors,
            keys: manifest.keys,
            dead,
            live,
        };
        Ok((index, manifest.meta))
    }
}

fn check_format(path: &Path, format: u32) -> Result<()> {
    if format == FORMAT {
        Ok(())
    } else {
        Err(IndexError::snapshot(
            path,
            format!("snapshot format {format}, this build reads format {FORMAT}"),
        ))
    }
}

/// The files of a snapshot that carry checksums: the graph dump (if any)
/// and the vector table.
fn graph_files(basename: Option<&str>) -> Vec<String> {
    let mut files: Vec<String> = basename
        .into_iter()
        .flat_map(|b| [format!("{b}.hnsw.graph"), format!("{b}.hnsw.data")])
        .collect();
    files.push(VECTORS.to_string());
    files
}

fn sibling(dir: &Path, suffix: &str) -> PathBuf {
    let mut name = dir.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{suffix}"));
    dir.with_file_name(name)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file = fs::File::create(path).map_err(IndexError::io(path))?;
    file.write_all(bytes).map_err(IndexError::io(path))?;
    file.sync_all().map_err(IndexError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> VectorIndex<String> {
        let items = (0..500).map(|i| {
            let x = i as f32;
            (format!("k{i}"), vec![x.sin(), x.cos(), (x * 0.1).sin()])
        });
        let params = IndexParams::default().graph_only();
        let mut index = VectorIndex::build(3, params, items).unwrap();
        index.remove(&"k7".to_string());
        index
    }

    #[test]
    fn a_saved_index_answers_the_same_after_loading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        let index = sample();
        index.save(&path, &"meta-v1").unwrap();
        // Saving twice replaces the first snapshot.
        index.save(&path, &"meta-v2").unwrap();

        let meta: String = VectorIndex::<String>::peek_meta(&path).unwrap();
        assert_eq!(meta, "meta-v2");
        let (loaded, meta) = VectorIndex::<String>::load::<String>(&path).unwrap();
        assert_eq!(meta, "meta-v2");
        assert_eq!(loaded.len(), index.len());
        assert!(!loaded.contains(&"k7".to_string()));
        let q = [0.3, -0.2, 0.9];
        assert_eq!(
            loaded.search(&q, 10, None).unwrap(),
            index.search(&q, 10, None).unwrap()
        );
    }

    #[test]
    fn a_loaded_index_takes_new_vectors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        sample().save(&path, &()).unwrap();
        let (mut loaded, ()) = VectorIndex::<String>::load(&path).unwrap();
        loaded.upsert("new".into(), &[5.0, 5.0, 5.0]).unwrap();
        let hits = loaded.search(&[5.0, 5.0, 5.0], 1, None).unwrap();
        assert_eq!(hits[0].key, "new");
    }

    #[test]
    fn an_empty_index_saves_and_loads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        VectorIndex::<String>::new(3, IndexParams::default())
            .unwrap()
            .save(&path, &())
            .unwrap();
        let (mut loaded, ()) = VectorIndex::<String>::load(&path).unwrap();
        assert!(loaded.is_empty());
        loaded.upsert("a".into(), &[1.0, 2.0, 3.0]).unwrap();
        assert_eq!(
            loaded.search(&[1.0, 2.0, 3.0], 1, None).unwrap()[0].key,
            "a"
        );
    }

    #[test]
    fn a_corrupt_snapshot_is_an_error_not_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        sample().save(&path, &()).unwrap();
        let graph = path.join("graph.hnsw.graph");
        let mut bytes = fs::read(&graph).unwrap();
        let mid = bytes.len() / 2;
        bytes[mid] ^= 0xff;
        fs::write(&graph, bytes).unwrap();
        let err = VectorIndex::<String>::load::<()>(&path).err().unwrap();
        assert!(err.to_string().contains("checksum"), "{err}");

        let missing = dir.path().join("nowhere");
        assert!(VectorIndex::<String>::load::<()>(&missing).is_err());
    }
}
