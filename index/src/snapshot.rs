//! Saving an index to a directory and loading it back.
//!
//! A snapshot directory holds the graph's arrays (`graph.levels`,
//! `graph.links0`, `graph.upper_start`, `graph.links_up`, little-endian),
//! the vector table (`vectors.f32`, little-endian, unpadded) and
//! `manifest.json`: format version, dimension, parameters, the graph's entry
//! point, keys in internal-id order, tombstones, a CRC-32 of every file, and
//! the caller's metadata (timbre stores its feature space there, so that
//! vectors stay comparable across restarts).
//!
//! Saving writes a sibling `<dir>.tmp` and renames it into place, so a crash
//! mid-save leaves the previous snapshot intact. Loading checks the format,
//! every checksum and every link, so a damaged snapshot is an error (and the
//! server rebuilds), never a panic or a walk off the end of an array.

use std::collections::HashMap;
use std::fs;
use std::hash::Hash;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::graph::Graph;
use crate::table::VectorTable;
use crate::{IndexError, IndexParams, Result, VectorIndex};

/// Bumped whenever the layout of a snapshot directory changes. Format 1
/// held hnsw_rs's own dump of the graph.
const FORMAT: u32 = 2;
const MANIFEST: &str = "manifest.json";
const VECTORS: &str = "vectors.f32";
const LEVELS: &str = "graph.levels";
const LINKS0: &str = "graph.links0";
const UPPER_START: &str = "graph.upper_start";
const LINKS_UP: &str = "graph.links_up";
const FILES: [&str; 5] = [VECTORS, LEVELS, LINKS0, UPPER_START, LINKS_UP];

#[derive(Serialize, Deserialize)]
struct Manifest<K, M> {
    format: u32,
    dim: usize,
    params: IndexParams,
    keys: Vec<K>,
    dead: Vec<u32>,
    /// The graph's entry node and its layer; `None` for an empty graph.
    entry: Option<(u32, usize)>,
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
    /// [`IndexError::Snapshot`] while vectors wait for the graph (flush
    /// first) or the manifest cannot be encoded.
    pub fn save<M: Serialize>(&self, dir: &Path, meta: &M) -> Result<()> {
        if !self.is_graphed() {
            return Err(IndexError::snapshot(
                dir,
                format!(
                    "{} vectors are not in the graph yet: flush the index before saving it",
                    self.keys.len() - self.graph.len()
                ),
            ));
        }
        let tmp = sibling(dir, "tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(IndexError::io(&tmp))?;
        }
        fs::create_dir_all(&tmp).map_err(IndexError::io(&tmp))?;

        let graph = &self.graph;
        let vectors: Vec<u8> = (0..self.keys.len() as u32)
            .flat_map(|id| self.row(id))
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let mut checksums = HashMap::new();
        for (name, bytes) in [
            (VECTORS, vectors),
            (LEVELS, graph.levels.clone()),
            (LINKS0, le_bytes(&graph.links0)),
            (UPPER_START, le_bytes(&graph.upper_start)),
            (LINKS_UP, le_bytes(&graph.links_up)),
        ] {
            checksums.insert(name.to_string(), crc32fast::hash(&bytes));
            write_synced(&tmp.join(name), &bytes)?;
        }
        let manifest = Manifest {
            format: FORMAT,
            dim: self.dim,
            params: self.params,
            keys: self.keys.clone(),
            dead: (0..self.dead.len() as u32)
                .filter(|&id| self.dead[id as usize])
                .collect(),
            entry: graph.entry,
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
        if manifest.dim == 0 {
            return Err(IndexError::snapshot(&path, "dimension 0"));
        }

        let mut files = HashMap::new();
        for name in FILES {
            let file = dir.join(name);
            let bytes = fs::read(&file).map_err(IndexError::io(&file))?;
            if manifest.checksums.get(name).copied() != Some(crc32fast::hash(&bytes)) {
                return Err(IndexError::snapshot(
                    &file,
                    "checksum mismatch: the file is corrupt",
                ));
            }
            files.insert(name, bytes);
        }
        let mut take = |name: &str| files.remove(name).unwrap_or_default();
        let n = manifest.keys.len();
        let vector_bytes = take(VECTORS);
        if vector_bytes.len() != n * manifest.dim * 4 {
            return Err(IndexError::snapshot(
                dir,
                "vector table does not match the key table",
            ));
        }
        let mut vectors = VectorTable::with_capacity(manifest.dim, n);
        let mut row = Vec::with_capacity(manifest.dim);
        for bytes in vector_bytes.chunks_exact(4 * manifest.dim) {
            row.clear();
            row.extend(
                bytes
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
            );
            vectors.push(&row);
        }
        drop(vector_bytes);
        let graph = Graph::from_parts(
            manifest.params.max_connections,
            take(LEVELS),
            from_le_bytes(&take(LINKS0)),
            from_le_bytes(&take(UPPER_START)),
            from_le_bytes(&take(LINKS_UP)),
            manifest.entry,
        )
        .map_err(|e| IndexError::snapshot(dir, format!("inconsistent graph: {e}")))?;
        if graph.len() != n {
            return Err(IndexError::snapshot(
                dir,
                format!("graph holds {} nodes, manifest {n} keys", graph.len()),
            ));
        }

        let mut index = Self::with_capacity(manifest.dim, manifest.params, 0)?;
        index.graph = std::sync::Arc::new(graph);
        index.claimed = n;
        index.vectors = vectors;
        index.dead = vec![false; n];
        for id in manifest.dead {
            let slot = index
                .dead
                .get_mut(id as usize)
                .ok_or_else(|| IndexError::snapshot(dir, "tombstone out of range"))?;
            *slot = true;
        }
        index.keys = manifest.keys;
        index.live.reserve(n, |_| 0);
        let VectorIndex {
            live,
            keys,
            dead,
            hasher,
            ..
        } = &mut index;
        for id in (0..n as u32).filter(|&id| !dead[id as usize]) {
            let hash = std::hash::BuildHasher::hash_one(&*hasher, &keys[id as usize]);
            if live
                .find(hash, |&other| keys[other as usize] == keys[id as usize])
                .is_some()
            {
                return Err(IndexError::snapshot(dir, "a key is live twice"));
            }
            live.insert_unique(hash, id, |&i| {
                std::hash::BuildHasher::hash_one(&*hasher, &keys[i as usize])
            });
        }
        Ok((index, manifest.meta))
    }
}

/// `values` as little-endian bytes.
fn le_bytes(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes as `u32`s (a trailing partial value is dropped; the
/// graph's own checks then find the arrays short).
fn from_le_bytes(bytes: &[u8]) -> Vec<u32> {
    bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
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
        let graph = path.join(LINKS0);
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
