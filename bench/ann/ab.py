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

Recall here counts ids: where the catalogue holds duplicate vectors, a tie
found under another id counts as a miss, so even the exact scan stays a
little under 1.0. `compare.py`'s figures are the reference.

A graph built on two threads differs from build to build (hnsw_rs inserts
in parallel), so recall moves a little between runs of the same binary;
repeat the script to see by how much.
"""

import argparse
import json
import os
import statistics
import subprocess
import tempfile

import numpy as np

K = 10


def start(binary, data, out, settings):
    """A worker process, after its build; returns it and its first line."""
    worker = subprocess.Popen(
        [binary, "worker", "--data", data, "--out", out, "--settings", settings],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    return worker, json.loads(worker.stdout.readline())


def sweep(worker):
    worker.stdin.write("sweep\n")
    worker.stdin.flush()
    return json.loads(worker.stdout.readline())["results"]


def recall(out, setting, truth):
    found = np.fromfile(os.path.join(out, f"{setting}.u32"), dtype="<u4").reshape(-1, K)
    truth = truth[: len(found), :K]
    return float(np.mean([len(set(a) & set(b)) / K for a, b in zip(found, truth)]))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--data", default="target/ann/tracks")
    parser.add_argument("--settings", default="ef:16,ef:24")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    truth = np.load(os.path.join(args.data, "groundtruth.npz"))["ids"]
    with tempfile.TemporaryDirectory() as scratch:
        workers = {}
        for label, binary in (("old", args.old), ("new", args.new)):
            out = os.path.join(scratch, label)
            os.makedirs(out)
            worker, header = start(binary, args.data, out, args.settings)
            workers[label] = (worker, out)
            print(f"{label}: {binary}, built in {header['build_seconds']:.1f} s", flush=True)
        qps = {label: {} for label in workers}
        for round_ in range(args.rounds):
            order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
            for label in order:
                for result in sweep(workers[label][0]):
                    qps[label].setdefault(result["setting"], []).append(result["qps"])
        for worker, _ in workers.values():
            worker.stdin.write("quit\n")
            worker.stdin.flush()
            worker.wait()
        for setting, old in qps["old"].items():
            new = qps["new"][setting]
            ratios = sorted(n / o for o, n in zip(old, new))
            print(
                f"{setting}: old {statistics.median(old):,.0f} QPS, recall "
                f"{recall(workers['old'][1], setting, truth):.4f}; new "
                f"{statistics.median(new):,.0f} QPS, recall "
                f"{recall(workers['new'][1], setting, truth):.4f}; new/old per round "
                f"{statistics.median(ratios):.3f} ({ratios[0]:.3f}..{ratios[-1]:.3f}), "
                f"{args.rounds} rounds"
            )


if __name__ == "__main__":
    main()
