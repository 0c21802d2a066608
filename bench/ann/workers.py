"""The Python libraries of the ANN comparison, each behind one small adapter.

`compare.py` starts one worker process per library and catalogue:

    python workers.py --lib hnswlib --data target/ann/tracks --out DIR --settings ef:10,ef:64

A worker speaks the same line protocol as timbre's (`bench/ann.rs worker`):
it loads `base.f32` and `queries.f32`, builds the index with 2 threads,
prints one JSON line (build time, memory), then answers each `sweep` line on
stdin with one JSON line of timings, running every setting once with one
query thread; on the first sweep it also writes the ids found to
`<out>/<setting>.u32` (uint32, 10 per query). `quit` ends it.

A process per library keeps the resident-memory growth of each build clean,
and lets the coordinator interleave the repeats of all libraries.

Queries go to each library as one batch per pass through its own batch call
with one thread: the library then loops over the queries in C++, one at a
time, as timbre's worker loops in Rust, and no Python call overhead is timed.
"""

import argparse
import json
import os
import sys
import time

import numpy as np

K = 10
M = 16
EF_CONSTRUCTION = 200


class Hnswlib:
    """hnswlib (nmslib): the reference C++ HNSW. Built from source by pip,
    with -march=native."""

    name = "hnswlib"

    def __init__(self):
        import hnswlib

        self.lib = hnswlib

    def build(self, base, threads):
        self.index = self.lib.Index(space="l2", dim=base.shape[1])
        self.index.init_index(max_elements=len(base), M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
        self.index.add_items(base, np.arange(len(base)), num_threads=threads)
        self.index.set_num_threads(1)

    def search(self, queries, ef):
        self.index.set_ef(ef)
        labels, _ = self.index.knn_query(queries, k=K, num_threads=1)
        return labels

    def serialized_bytes(self):
        return self.index.index_file_size()


class Voyager:
    """Spotify's voyager: an hnswlib fork with a Python and Java API."""

    name = "voyager"

    def __init__(self):
        import voyager

        self.lib = voyager

    def build(self, base, threads):
        from voyager import Index, Space, StorageDataType

        self.index = Index(
            Space.Euclidean,
            num_dimensions=base.shape[1],
            M=M,
            ef_construction=EF_CONSTRUCTION,
            random_seed=1,
            max_elements=len(base),
            storage_data_type=StorageDataType.Float32,
        )
        # Explicit ids: with num_threads > 1, voyager 2.2.3's automatic ids
        # do not always match the row order (22 of the 27,356 tracks had
        # another row's id in a test), which cost it recall it had earned.
        self.index.add_items(base, ids=np.arange(len(base)), num_threads=threads)

    def search(self, queries, ef):
        labels, _ = self.index.query(queries, k=K, num_threads=1, query_ef=ef)
        return labels

    def serialized_bytes(self):
        return len(self.index.as_bytes())


class FaissHnsw:
    """faiss IndexHNSWFlat (M 16: 32 links on layer 0, as in hnswlib)."""

    name = "faiss-hnsw"

    def __init__(self):
        import faiss

        self.lib = faiss

    def build(self, base, threads):
        faiss = self.lib
        faiss.omp_set_num_threads(threads)
        self.index = faiss.IndexHNSWFlat(base.shape[1], M)
        self.index.hnsw.efConstruction = EF_CONSTRUCTION
        self.index.add(base)
        faiss.omp_set_num_threads(1)

    def search(self, queries, ef):
        params = self.lib.SearchParametersHNSW(efSearch=ef)
        _, labels = self.index.search(queries, K, params=params)
        return labels

    def serialized_bytes(self):
        return self.lib.serialize_index(self.index).nbytes


class FaissFlat:
    """faiss IndexFlatL2: the exact scan, faiss's SIMD kernels."""

    name = "faiss-flat"

    def __init__(self):
        import faiss

        self.lib = faiss

    def build(self, base, threads):
        faiss = self.lib
        self.index = faiss.IndexFlatL2(base.shape[1])
        self.index.add(base)
        faiss.omp_set_num_threads(1)
        # A batch of 20 or more queries would go through a BLAS matrix product,
        # which no server answering one query at a time can use: keep faiss on
        # its one-query-at-a-time scan.
        faiss.cvar.distance_compute_blas_threshold = 1 << 30

    def search(self, queries, ef):
        _, labels = self.index.search(queries, K)
        return labels

    def serialized_bytes(self):
        return self.lib.serialize_index(self.index).nbytes


LIBRARIES = {lib.name: lib for lib in (Hnswlib, Voyager, FaissHnsw, FaissFlat)}


def rss_bytes():
    """Resident memory of this process (VmRSS), in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def library_version(lib):
    from importlib.metadata import version

    return version({"faiss-hnsw": "faiss-cpu", "faiss-flat": "faiss-cpu"}.get(lib, lib))


def parse_setting(text):
    """`ef:N` → N; `exact` → None (only the flat index takes it)."""
    if text == "exact":
        return None
    if text.startswith("ef:"):
        return int(text[3:])
    raise ValueError(f"unknown setting {text!r}: expected ef:N or exact")


def time_setting(adapter, queries, ef, min_seconds):
    """Runs every query through one setting as many passes as `min_seconds`
    needs (at least one); returns (passes, seconds, ids of the last pass)."""
    passes = 0
    started = time.perf_counter()
    while True:
        ids = adapter.search(queries, ef)
        passes += 1
        if time.perf_counter() - started >= min_seconds:
            break
    return passes, time.perf_counter() - started, ids


def reply(value):
    print(json.dumps(value), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lib", required=True, choices=sorted(LIBRARIES))
    parser.add_argument("--data", required=True, help="a catalogue directory written by `ann export`")
    parser.add_argument("--out", required=True, help="directory receiving the ids found")
    parser.add_argument("--settings", default="ef:64", help="comma-separated ef:N or exact")
    parser.add_argument("--min-seconds", type=float, default=0.5)
    parser.add_argument("--exact-queries", type=int, default=1000)
    parser.add_argument("--build-threads", type=int, default=2)
    args = parser.parse_args()

    with open(os.path.join(args.data, "meta.json")) as f:
        meta = json.load(f)
    dim = meta["dim"]
    base = np.fromfile(os.path.join(args.data, "base.f32"), dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(os.path.join(args.data, "queries.f32"), dtype="<f4").reshape(-1, dim)
    settings = [(s, parse_setting(s)) for s in args.settings.split(",")]
    os.makedirs(args.out, exist_ok=True)

    # The adapter imports its library here, before the first memory reading:
    # loading faiss's shared library alone takes about 20 MB.
    adapter = LIBRARIES[args.lib]()
    rss_before = rss_bytes()
    started = time.perf_counter()
    adapter.build(base, args.build_threads)
    build_seconds = time.perf_counter() - started
    rss_after = rss_bytes()
    reply(
        {
            "library": args.lib,
            "version": f"{library_version(args.lib)} (PyPI)",
            "params": {"M": M, "ef_construction": EF_CONSTRUCTION} if args.lib != "faiss-flat" else {},
            "n": len(base),
            "build_seconds": build_seconds,
            "rss_growth_bytes": max(0, rss_after - rss_before),
            "serialized_bytes": adapter.serialized_bytes(),
        }
    )

    first = True
    for line in sys.stdin:
        command = line.strip()
        if command in ("quit", ""):
            break
        if command != "sweep":
            raise SystemExit(f"unknown command {command!r}")
        results = []
        for name, ef in settings:
            batch = queries[: args.exact_queries] if ef is None else queries
            passes, seconds, ids = time_setting(adapter, np.ascontiguousarray(batch), ef, args.min_seconds)
            if first:
                # -1 (nothing found) becomes 0xFFFFFFFF, as in timbre's files.
                np.asarray(ids, dtype=np.int64).astype("<u4").tofile(os.path.join(args.out, f"{name}.u32"))
            results.append(
                {
                    "setting": name,
                    "queries": len(batch),
                    "passes": passes,
                    "seconds": seconds,
                    "qps": passes * len(batch) / seconds,
                }
            )
        first = False
        reply({"results": results})


if __name__ == "__main__":
    main()
