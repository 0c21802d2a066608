"""Reads bench/server.sh's wrk outputs and prints the table: throughput and
p50/p99 latency, medians (min..max) over the repeats, and timbre's ratio to
the bare route measured in the same run."""
import glob
import re
import statistics
import sys

out, op, body_bytes = sys.argv[1], sys.argv[2], sys.argv[3]


def ms(value, unit):
    return float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def read(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    lat = {}
    for pct in ("50", "99"):
        m = re.search(rf"\s{pct}%\s+([\d.]+)(us|ms|s)\b", text)
        lat[pct] = ms(m.group(1), m.group(2))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    return rps, lat["50"], lat["99"], int(errors.group(1)) if errors else 0


def spread(values, fmt):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}..{fmt.format(max(values))})"


rows = {}
for name in ("timbre-saturation", "bare-saturation", "timbre-fixed", "bare-fixed"):
    runs = [read(p) for p in sorted(glob.glob(f"{out}/{op}-{name}.*.txt"))]
    rows[name] = runs
    if any(r[3] for r in runs):
        print(f"warning: {name} had non-2xx responses", file=sys.stderr)

print(f"{op}(first: 10) answer: {body_bytes} bytes; server 1 worker on core 0, wrk 1 thread on core 1")
print()
print("| load | server | requests/s | p50 ms | p99 ms |")
print("|---|---|---|---|---|")
for load in ("saturation", "fixed"):
    for server in ("timbre", "bare"):
        runs = rows[f"{server}-{load}"]
        print(
            f"| {load} | {server} | {spread([r[0] for r in runs], '{:,.0f}')} "
            f"| {spread([r[1] for r in runs], '{:.3f}')} | {spread([r[2] for r in runs], '{:.3f}')} |"
        )
ratio = statistics.median(r[0] for r in rows["timbre-saturation"]) / statistics.median(
    r[0] for r in rows["bare-saturation"]
)
# Each repeat runs timbre and the bare route back to back, so the ratio of
# a pair shares the host's load of that minute; the median of the paired
# ratios is less noisy than the ratio of the medians.
paired = [t[0] / b[0] for t, b in zip(rows["timbre-saturation"], rows["bare-saturation"])]
print()
print(f"timbre / bare throughput at saturation: {ratio:.2f}x (target >= 0.5x); "
      f"paired per repeat: {', '.join(f'{r:.2f}' for r in paired)} (median {statistics.median(paired):.2f}x)")
p99 = statistics.median(r[2] for r in rows["timbre-fixed"])
print(f"timbre p99 at the fixed rate: {p99:.3f} ms (target < 2 ms)")
