//! An interner: each distinct value stored once, named by a dense `u32`.
//!
//! Tracks share most of their text with other tracks: an album's name, id
//! and date with its other tracks, an artist list with the artist's other
//! songs, a playlist (four strings) with every track it holds. The catalog
//! keeps one copy of each and a `u32` per track.

use std::hash::{BuildHasher, Hash};

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// Distinct values, each named by the order it first arrived in.
#[derive(Debug, Clone)]
pub(crate) struct Interner<T> {
    values: Vec<T>,
    /// Indices into `values`, found by the value's hash.
    by_value: HashTable<u32>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            values: Vec::new(),
            by_value: HashTable::new(),
        }
    }
}

impl<T: Hash + Eq> Interner<T> {
    /// The number of `value`, storing it if it is new. Takes a borrowed
    /// form, so that a value already held is never copied.
    pub(crate) fn intern<Q>(&mut self, value: &Q) -> u32
    where
        Q: Hash + Eq + ?Sized + ToOwned<Owned = T>,
        T: std::borrow::Borrow<Q>,
    {
        let hash = FxBuildHasher.hash_one(value);
        let values = &self.values;
        if let Some(&at) = self
            .by_value
            .find(hash, |&i| values[i as usize].borrow() == value)
        {
            return at;
        }
        let at = u32::try_from(self.values.len()).expect("fewer than 2^32 distinct values");
        self.values.push(value.to_owned());
        let values = &self.values;
        self.by_value.insert_unique(hash, at, |&i| {
            FxBuildHasher.hash_one(values[i as usize].borrow())
        });
        at
    }

    /// The value numbered `at`.
    ///
    /// # Panics
    /// When `at` was not given out by this interner.
    pub(crate) fn get(&self, at: u32) -> &T {
        &self.values[at as usize]
    }

    /// Number of distinct values held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.values.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_get_one_number_and_read_back() {
        let mut names: Interner<String> = Interner::default();
        let a = names.intern("Queen");
        let b = names.intern("ABBA");
        assert_eq!(names.intern("Queen"), a);
        assert_ne!(a, b);
        assert_eq!(
            (names.get(a).as_str(), names.get(b).as_str()),
            ("Queen", "ABBA")
        );
        assert_eq!(names.len(), 2);
        let mut lists: Interner<Vec<u32>> = Interner::default();
        let x = lists.intern(&[1u32, 2][..]);
        assert_eq!(lists.intern(&vec![1u32, 2][..]), x);
        assert_ne!(lists.intern(&[2u32, 1][..]), x);
    }
}
