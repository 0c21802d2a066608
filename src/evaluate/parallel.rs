//! A parallel map over the cores, for the evaluation's independent queries
//! (one per playlist or per seed track). Plain scoped threads: the work is
//! a few even chunks of CPU-bound searches, nothing a pool would improve.

use std::thread;

/// `f(i, item)` for every item, on every core, in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(usize, &T) -> R + Sync) -> Vec<R> {
    let threads = thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                scope.spawn(move || {
                    part.iter()
                        .enumerate()
                        .map(|(i, item)| f(c * chunk + i, item))
                        .collect::<Vec<R>>()
                })
            })
            .collect();
        parts
            .into_iter()
            .flat_map(|part| part.join().expect("an evaluation thread panicked"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn results_keep_the_items_order_and_indices() {
        let items: Vec<usize> = (0..1001).collect();
        let out = super::map(&items, |i, x| (i, x * 2));
        assert!(out
            .iter()
            .enumerate()
            .all(|(i, &(j, y))| i == j && y == 2 * i));
        assert!(super::map(&[] as &[u8], |_, x| *x).is_empty());
    }
}
