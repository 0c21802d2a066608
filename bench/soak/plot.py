"""Plots a soak's memory.csv and latency.csv (bench/soak.sh) into one PNG:
resident memory with the catalogue's tombstones and the index's background
work over time, and p99 latency per minute by query kind.

    plot.py RESULTS_DIR OUT.png
"""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def rows(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def main():
    results, out = sys.argv[1:]
    memory = rows(f"{results}/memory.csv")
    latency = rows(f"{results}/latency.csv")
    minutes = [float(r["seconds"]) / 60 for r in memory]

    fig, (top, middle, bottom) = plt.subplots(3, 1, figsize=(9, 9), sharex=True)
    top.plot(minutes, [float(r["rss_mib"]) for r in memory], color="#0072B2")
    top.set_ylabel("resident memory (MiB)")
    top.set_ylim(bottom=0)
    top.set_title("timbre soak: 500 track messages/s through Kafka, 200 queries/s")
    top.grid(alpha=0.3)

    middle.plot(minutes, [float(r["tombstones"]) for r in memory], label="tombstones", color="#D55E00")
    middle.plot(minutes, [float(r["pending"]) for r in memory], label="pending tail", color="#009E73")
    middle.set_ylabel("vectors")
    twin = middle.twinx()
    twin.plot(minutes, [float(r["compactions"]) for r in memory], label="compactions (total)", color="#CC79A7", linestyle="--")
    twin.set_ylabel("compactions since start")
    lines = middle.get_legend_handles_labels()
    more = twin.get_legend_handles_labels()
    middle.legend(lines[0] + more[0], lines[1] + more[1], loc="upper left", fontsize="small")
    middle.grid(alpha=0.3)

    colours = {"similar": "#0072B2", "recommend": "#E69F00", "recommendForPlaylist": "#009E73"}
    for kind, colour in colours.items():
        points = [(int(r["minute"]) + 0.5, float(r["p99_ms"])) for r in latency if r["kind"] == kind and r["count"] != "0"]
        bottom.plot([p[0] for p in points], [p[1] for p in points], label=kind, color=colour, marker=".")
    bottom.set_ylabel("p99 per minute (ms)")
    bottom.set_xlabel("minutes")
    bottom.set_yscale("log")
    bottom.legend(fontsize="small")
    bottom.grid(alpha=0.3, which="both")

    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
