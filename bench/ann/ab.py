"""Two builds of timbre's ANN worker, side by side: is a change to the index
faster, and does it keep recall?

    bench/ann/ab.sh OLD_BINARY NEW_BINARY [--settings ef:16,ef:24] [--rounds 6]

Both binaries are `bench/ann.rs` builds (`target/release/examples/ann`,
copied aside before and after the change). Each starts as a worker on the
same exported catalogue (`bench/ann.sh --tracks-only` writes
`target/ann/tracks`), builds its index, and then the two answer `sweep`
lines in alternation, the order swapped every round, so that the machine's
background load falls on both alike. Printed per setting: each build's
median QPS and recall@10, and the median (min..max) of the per-round ratio
NEW / OLD, which is steadier than the ratio of two medians on a noisy
machine.

Workers, ground truth and recall@10 (ties counted as hits) are
`compare.py`'s, so the figures read like its tables.

A graph built on two threads differs from build to build (hnsw_rs inserts
in parallel), so recall moves a little between runs of the same binary;
repeat the script to see by how much.
"""

import argparse
import os
import statistics
import sys
import tempfile
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import K, Worker, ground_truth, load_catalogue, recall_at_k, worker_command  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--data", default="target/ann/tracks")
    parser.add_argument("--settings", default="ef:16,ef:24")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    _, base, queries = load_catalogue(args.data)
    _, gt_distances = ground_truth(base, queries, os.path.join(args.data, "groundtruth.npz"))
    settings = args.settings.split(",")
    with tempfile.TemporaryDirectory() as scratch:
        workers = {}
        try:
            for label, binary in (("old", args.old), ("new", args.new)):
                out = os.path.join(scratch, label)
                command = worker_command(
                    "timbre", SimpleNamespace(timbre=binary, min_seconds=0.5, exact_queries=1_000),
                    args.data, out, settings,
                )  # fmt: skip
                workers[label] = (Worker(label, command), out)
                print(f"{label}: {binary}, built in {workers[label][0].build['build_seconds']:.1f} s", flush=True)
            qps = {label: {} for label in workers}
            for round_ in range(args.rounds):
                for label in ("old", "new") if round_ % 2 == 0 else ("new", "old"):
                    for result in workers[label][0].sweep():
                        qps[label].setdefault(result["setting"], []).append(result["qps"])
        finally:
            for worker, _ in workers.values():
                worker.close()

        def recall(label, setting):
            found = np.fromfile(os.path.join(workers[label][1], f"{setting}.u32"), dtype="<u4").reshape(-1, K)
            n = len(found)
            return recall_at_k(found, base, queries[:n], gt_distances[:n])

        for setting in settings:
            old, new = qps["old"][setting], qps["new"][setting]
            ratios = sorted(n / o for o, n in zip(old, new))
            print(
                f"{setting}: old {statistics.median(old):,.0f} QPS, recall {recall('old', setting):.4f}; "
                f"new {statistics.median(new):,.0f} QPS, recall {recall('new', setting):.4f}; "
                f"new/old per round {statistics.median(ratios):.3f} ({ratios[0]:.3f}..{ratios[-1]:.3f}), "
                f"{args.rounds} rounds"
            )


if __name__ == "__main__":
    main()
