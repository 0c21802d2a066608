#!/usr/bin/env python3
"""The raw size of a catalogue CSV, the memory target's yardstick: metadata
(the UTF-8 bytes of every non-feature field of every row, so a track in
three playlists counts its playlist fields three times) plus vectors (13
float32 per distinct track, timbre's feature space).

Usage: raw_size.py CATALOGUE.csv   prints: tracks N metadata_bytes M vector_bytes V
"""
import csv
import sys

FEATURES = {"danceability", "energy", "key", "loudness", "mode", "speechiness",
            "acousticness", "instrumentalness", "liveness", "valence", "tempo",
            "duration_ms"}
DIMENSIONS = 13

metadata, ids = 0, set()
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    reader = csv.DictReader(f)
    for row in reader:
        ids.add(row["track_id"])
        metadata += sum(len((v or "").encode()) for k, v in row.items() if k not in FEATURES)
print(f"tracks {len(ids)} metadata_bytes {metadata} vector_bytes {len(ids) * DIMENSIONS * 4}")
