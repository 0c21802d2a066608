#!/usr/bin/env python3
"""A synthetic catalogue of N tracks drawn around the real ones, as a CSV in
the shared dataset's format, for the 1M start-up and memory benchmarks.

Each synthetic track copies one uniformly chosen real track's metadata (name,
artists, album, release date, playlist, genre, subgenre) and gets a fresh
22-character id, and " #<n>" appended to its name so names stay distinct.
Every continuous feature is the parent's plus Gaussian noise of 0.25 x that
feature's standard deviation over the real tracks, clamped to the real range
(the same rule as bench/ann.rs's synthetic vectors, which makes a 1M catalogue
about as dense as a real one would be); key and mode are the parent's.
Deterministic: Python's Mersenne Twister seeded with --seed (default
20261122).

With --split-playlists each synthetic track joins one of N / (real tracks)
copies of its parent's playlist (id "<parent's id>-<copy>"), so playlists
keep the real ones' sizes (about 60 tracks) instead of growing with N: the
co-occurrence model's work grows with the square of a playlist's size, and
a 1M catalogue of 470 playlists of 2,000 tracks would measure nothing real.

Usage: synth_tracks.py SOURCE.csv N OUT.csv [--seed S] [--split-playlists]
Prints the byte counts of the raw data it wrote: metadata (every
non-feature field) and vectors (13 float32 per track).
"""
import argparse
import csv
import random
import statistics
import string

CONTINUOUS = ["danceability", "energy", "loudness", "speechiness", "acousticness",
              "instrumentalness", "liveness", "valence", "tempo", "duration_ms"]
DISCRETE = ["key", "mode"]
FEATURES = CONTINUOUS + DISCRETE
ALPHABET = string.ascii_letters + string.digits


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--split-playlists", action="store_true")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    with open(args.source, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        header = reader.fieldnames
        parents, seen = [], set()
        for row in reader:
            try:
                values = {k: float(row[k]) for k in FEATURES}
            except (ValueError, KeyError):
                continue  # the importer reports malformed rows; skip them here
            if row["track_id"] in seen:
                continue  # one parent per track, whatever its playlists
            seen.add(row["track_id"])
            parents.append((row, values))
    spread = {k: 0.25 * statistics.pstdev(v[k] for _, v in parents) for k in CONTINUOUS}
    low = {k: min(v[k] for _, v in parents) for k in CONTINUOUS}
    high = {k: max(v[k] for _, v in parents) for k in CONTINUOUS}

    copies = max(1, args.n // len(parents))
    metadata_bytes = 0
    with open(args.out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        for n in range(args.n):
            row, values = parents[rng.randrange(len(parents))]
            out = dict(row)
            out["track_id"] = "".join(rng.choice(ALPHABET) for _ in range(22))
            out["track_name"] = f"{row['track_name']} #{n}"
            if args.split_playlists:
                out["playlist_id"] = f"{row['playlist_id']}-{rng.randrange(copies)}"
            for k in CONTINUOUS:
                v = min(high[k], max(low[k], values[k] + rng.gauss(0.0, spread[k])))
                out[k] = str(int(round(v))) if k == "duration_ms" else f"{v:.6g}"
            writer.writerow([out[h] for h in header])
            metadata_bytes += sum(len(out[h].encode()) for h in header if h not in FEATURES)
    print(f"tracks {args.n} metadata_bytes {metadata_bytes} vector_bytes {args.n * 13 * 4}")


if __name__ == "__main__":
    main()
