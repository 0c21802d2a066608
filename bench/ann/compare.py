"""Coordinator of the ANN comparison: timbre's index against hnswlib, voyager
and faiss (HNSW and flat) on the catalogues written by `ann export`.

For each catalogue it
1. computes the exact 10 nearest neighbours of every query once (numpy,
   cached next to the vectors), which every library's recall is measured on;
2. starts one worker per library (timbre's Rust worker, `workers.py` for the
   others) and lets each build its index in turn, alone on the machine, with
   2 threads;
3. runs REPEATS rounds in which every worker sweeps its search settings once,
   rotating the order of the workers from round to round, so that the
   machine's background load spreads over all libraries alike;
4. computes recall@10 from the ids each worker wrote, and writes
   `results.json`, `results.md` and `recall_qps.png` into the catalogue's
   directory.

Recall@10 counts a returned vector as correct when its distance to the query
is at most the exact 10th-nearest distance (ann-benchmarks' definition), so
that ties between equidistant vectors (the real data has tracks with
identical features) do not count against a library. Distances are computed
here, in float64, the same way for every library.

Run through `bench/ann.sh`.
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys

import numpy as np

K = 10
TARGET_RECALL = 0.99
HERE = os.path.dirname(os.path.abspath(__file__))
EF_SWEEP = [10, 16, 24, 32, 48, 64, 96, 128, 256]
HNSW_PEERS = ["hnswlib", "voyager", "faiss-hnsw"]
PYTHON_LIBRARIES = HNSW_PEERS + ["faiss-flat"]


def load_catalogue(directory):
    with open(os.path.join(directory, "meta.json")) as f:
        meta = json.load(f)
    dim = meta["dim"]
    base = np.fromfile(os.path.join(directory, "base.f32"), dtype="<f4").reshape(-1, dim)
    queries = np.fromfile(os.path.join(directory, "queries.f32"), dtype="<f4").reshape(-1, dim)
    return meta, base, queries


def squared_distances(base, ids, query):
    """Exact squared distances from `query` to `base[ids]`, in float64. The
    one formula used for the ground truth and for every library's results,
    so equal ids give bit-equal distances."""
    diff = base[ids].astype(np.float64) - query.astype(np.float64)
    return (diff * diff).sum(axis=-1)


def ground_truth(base, queries, cache):
    """Ids and squared distances of the exact K nearest neighbours of every
    query. Candidates come from a float32 matrix product (fast, multi-
    threaded BLAS); the best 64 of them are re-ranked exactly in float64. A
    query whose 10th exact distance comes near the 64th candidate's
    approximate one is searched by a full float64 scan instead."""
    fingerprint = hashlib.sha1(base.tobytes() + queries.tobytes()).hexdigest()
    if os.path.exists(cache):
        saved = np.load(cache)
        if str(saved["fingerprint"]) == fingerprint:
            return saved["ids"], saved["distances"]
    print(f"ground truth: {len(queries)} queries over {len(base)} vectors ...", file=sys.stderr, flush=True)
    candidates = 64
    norms = (base.astype(np.float64) ** 2).sum(axis=1).astype(np.float32)
    ids = np.empty((len(queries), K), dtype=np.int64)
    distances = np.empty((len(queries), K), dtype=np.float64)
    rescanned = 0
    for start in range(0, len(queries), 32):
        chunk = queries[start : start + 32]
        approx = norms[None, :] - 2.0 * (chunk @ base.T)
        best = np.argpartition(approx, candidates, axis=1)[:, : candidates + 1]
        for row, query in enumerate(chunk):
            cand = best[row]
            order = np.argsort(approx[row, cand])
            cand, bound = cand[order[:candidates]], approx[row, cand[order[candidates]]]
            exact = squared_distances(base, cand, query)
            top = np.argsort(exact, kind="stable")[:K]
            query_norm = float((query.astype(np.float64) ** 2).sum())
            if exact[top[-1]] - query_norm > bound - 1e-3:
                rescanned += 1
                everything = squared_distances(base, np.arange(len(base)), query)
                cand = np.argsort(everything, kind="stable")[:K]
                exact, top = everything[cand], np.arange(K)
            ids[start + row] = cand[top]
            distances[start + row] = exact[top]
    if rescanned:
        print(f"ground truth: {rescanned} queries needed a full scan", file=sys.stderr)
    np.savez(cache, ids=ids, distances=distances, fingerprint=fingerprint)
    return ids, distances


def recall_at_k(found, base, queries, gt_distances):
    """Mean over queries of |returned vectors within the exact 10th distance|
    / K. Duplicate and missing ids (0xFFFFFFFF) count as misses."""
    hits = 0
    for query, row, gt in zip(queries, found, gt_distances):
        ids = np.unique(row[row < len(base)])
        d = squared_distances(base, ids, query)
        hits += min(K, int((d <= gt[-1] * (1 + 1e-9)).sum()))
    return hits / (len(found) * K)


class Worker:
    """One library's worker process, driven by one JSON line per command."""

    def __init__(self, library, command):
        self.library = library
        env = dict(os.environ, RAYON_NUM_THREADS="2", OMP_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1")
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        self.build = self._read()

    def _read(self):
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"{self.library} worker ended unexpectedly (exit {self.process.wait()})")
        return json.loads(line)

    def sweep(self):
        self.process.stdin.write("sweep\n")
        self.process.stdin.flush()
        return self._read()["results"]

    def close(self):
        if self.process.poll() is None:
            try:
                self.process.stdin.write("quit\n")
                self.process.stdin.close()
                self.process.wait(timeout=60)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.process.kill()
                self.process.wait()


def worker_command(library, args, data, out, settings):
    common = [
        "--data", data, "--out", out, "--settings", ",".join(settings),
        "--min-seconds", str(args.min_seconds), "--exact-queries", str(args.exact_queries),
    ]  # fmt: skip
    if library == "timbre":
        return [args.timbre, "worker", *common]
    return [sys.executable, os.path.join(HERE, "workers.py"), "--lib", library, *common]


def settings_of(library):
    efs = [f"ef:{ef}" for ef in EF_SWEEP]
    return {"timbre": efs + ["exact", "auto"], "faiss-flat": ["exact"]}.get(library, efs)


def run_catalogue(args, name):
    directory = os.path.join(args.out, name)
    meta, base, queries = load_catalogue(directory)
    gt_ids, gt_distances = ground_truth(base, queries, os.path.join(directory, "groundtruth.npz"))
    libraries = ["timbre"] + PYTHON_LIBRARIES
    workers = []
    try:
        for library in libraries:
            print(f"{name}: building {library} ...", file=sys.stderr, flush=True)
            out = os.path.join(directory, "found", library)
            workers.append(Worker(library, worker_command(library, args, directory, out, settings_of(library))))
            print(f"{name}: {library} built in {workers[-1].build['build_seconds']:.1f} s", file=sys.stderr)
        qps = {w.library: {} for w in workers}
        runs = {}
        repeats = args.repeats if args.repeats else (5 if name == "tracks" else 3)
        for round_ in range(repeats):
            for i in range(len(workers)):
                worker = workers[(round_ + i) % len(workers)]
                for r in worker.sweep():
                    qps[worker.library].setdefault(r["setting"], []).append(r["qps"])
                    runs[(worker.library, r["setting"])] = r
            print(f"{name}: round {round_ + 1}/{repeats} done", file=sys.stderr, flush=True)
    finally:
        for worker in workers:
            worker.close()

    rows = []
    for worker in workers:
        for setting in settings_of(worker.library):
            run = runs[(worker.library, setting)]
            found = np.fromfile(os.path.join(directory, "found", worker.library, f"{setting}.u32"), dtype="<u4")
            found = found.reshape(-1, K)
            n = len(found)
            xs = sorted(qps[worker.library][setting])
            rows.append(
                {
                    "library": worker.library,
                    "setting": setting,
                    "recall": recall_at_k(found, base, queries[:n], gt_distances[:n]),
                    "queries": n,
                    "passes": run["passes"],
                    "qps": xs,
                    "qps_median": float(np.median(xs)),
                }
            )
    result = {
        "catalogue": meta,
        "repeats": repeats,
        "builds": [w.build for w in workers],
        "rows": rows,
        "summary": summarise(rows),
    }
    with open(os.path.join(directory, "results.json"), "w") as f:
        json.dump(result, f, indent=1)
    markdown = to_markdown(result)
    with open(os.path.join(directory, "results.md"), "w") as f:
        f.write(markdown)
    plot(result, os.path.join(directory, "recall_qps.png"))
    return markdown


def best_at_target(rows, library, settings=None):
    """The row of `library` with the highest median QPS among those reaching
    the target recall (optionally only among `settings`), or None."""
    ok = [
        r for r in rows
        if r["library"] == library and r["recall"] >= TARGET_RECALL and (settings is None or r["setting"] in settings)
    ]  # fmt: skip
    return max(ok, key=lambda r: r["qps_median"], default=None)


def summarise(rows):
    graph = [f"ef:{ef}" for ef in EF_SWEEP]
    best = {lib: best_at_target(rows, lib) for lib in ["timbre"] + PYTHON_LIBRARIES}
    best["timbre (graph)"] = best_at_target(rows, "timbre", graph)
    peers = [best[lib] for lib in HNSW_PEERS if best[lib]]
    fastest = max(peers, key=lambda r: r["qps_median"], default=None)
    ratio = {}
    for key in ("timbre", "timbre (graph)"):
        if best[key] and fastest:
            ratio[key] = best[key]["qps_median"] / fastest["qps_median"]
    return {"best": best, "fastest_peer": fastest, "ratio": ratio}


def fmt_qps(xs):
    return f"{np.median(xs):,.0f}", f"{min(xs):,.0f}..{max(xs):,.0f}"


def to_markdown(result):
    meta = result["catalogue"]
    lines = [
        f"### {meta['name']}: {meta['base']:,} vectors, {meta['dim']} dimensions",
        "",
        meta["description"] + ".",
        f"Queries: {meta['queries']:,} (exact settings: the first {max(r['queries'] for r in result['rows'] if r['setting'] == 'exact'):,}).",
        f"QPS: single thread, median of {result['repeats']} rounds (min..max).",
        "",
        "| library | build, 2 threads | RSS growth / vector | serialized / vector |",
        "|---|---|---|---|",
    ]
    for b in result["builds"]:
        lines.append(
            f"| {b['library']} {b['version']} | {b['build_seconds']:.2f} s "
            f"| {b['rss_growth_bytes'] / b['n']:.1f} B | {b['serialized_bytes'] / b['n']:.1f} B |"
        )
    lines += ["", "| library | setting | recall@10 | QPS median | QPS min..max |", "|---|---|---|---|---|"]
    for r in result["rows"]:
        median, spread = fmt_qps(r["qps"])
        lines.append(f"| {r['library']} | {r['setting']} | {r['recall']:.4f} | {median} | {spread} |")
    summary = result["summary"]
    lines += ["", f"Highest QPS at recall@10 ≥ {TARGET_RECALL}:", "", "| library | setting | recall@10 | QPS median | QPS min..max |", "|---|---|---|---|---|"]
    for lib, r in summary["best"].items():
        if r is None:
            lines.append(f"| {lib} | none reaches {TARGET_RECALL} | | | |")
        else:
            median, spread = fmt_qps(r["qps"])
            lines.append(f"| {lib} | {r['setting']} | {r['recall']:.4f} | {median} | {spread} |")
    fastest = summary["fastest_peer"]
    if fastest:
        lines.append("")
        for key, ratio in summary["ratio"].items():
            lines.append(
                f"- {key} / fastest HNSW peer ({fastest['library']} {fastest['setting']}): **{ratio:.3f}×** "
                f"(target ≥ 1)"
            )
    return "\n".join(lines) + "\n"


def plot(result, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5), dpi=100)
    styles = {
        "timbre": ("tab:red", "o"),
        "hnswlib": ("tab:blue", "s"),
        "voyager": ("tab:green", "^"),
        "faiss-hnsw": ("tab:purple", "v"),
        "faiss-flat": ("tab:gray", "X"),
    }
    for lib, (colour, marker) in styles.items():
        rows = [r for r in result["rows"] if r["library"] == lib]
        graph = [r for r in rows if r["setting"].startswith("ef:")]
        if graph:
            ax.errorbar(
                [r["recall"] for r in graph],
                [r["qps_median"] for r in graph],
                yerr=[[r["qps_median"] - min(r["qps"]) for r in graph], [max(r["qps"]) - r["qps_median"] for r in graph]],
                color=colour, marker=marker, markersize=4, capsize=2, linewidth=1, label=f"{lib} (ef 10..256)",
            )  # fmt: skip
        for r in rows:
            if not r["setting"].startswith("ef:"):
                ax.plot(r["recall"], r["qps_median"], marker="*" if r["setting"] == "auto" else "D", color=colour,
                        markersize=9, linestyle="none", label=f"{lib} {r['setting']}")  # fmt: skip
    ax.axvline(TARGET_RECALL, color="black", linestyle=":", linewidth=1)
    ax.set_yscale("log")
    ax.set_xlabel("recall@10")
    ax.set_ylabel("queries per second, one thread (log)")
    meta = result["catalogue"]
    ax.set_title(f"{meta['name']}: {meta['base']:,} vectors × {meta['dim']} dims, k = {K}, M 16, ef_construction 200")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", required=True, help="directory holding the catalogues (target/ann)")
    parser.add_argument("--timbre", required=True, help="the `ann` example binary")
    parser.add_argument("--catalogues", default="tracks,synthetic")
    parser.add_argument("--repeats", type=int, default=0, help="rounds per catalogue (default 5 tracks, 3 synthetic)")
    parser.add_argument("--min-seconds", type=float, default=0.5, help="minimum time per setting and round")
    parser.add_argument("--exact-queries", type=int, default=1000, help="queries of the exact settings")
    args = parser.parse_args()
    report = [run_catalogue(args, name) for name in args.catalogues.split(",")]
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(report))
    print("\n".join(report))


if __name__ == "__main__":
    main()
