"""Reads timbre's lake as an analyst would, and prints what it finds as JSON.

    read_lake.py duckdb ROOT VIEW_SQL_FILE
    read_lake.py spark  ROOT DDL_FILE

ROOT is the lake's root directory. With duckdb, the tables are views over
read_parquet globs (hive partitions) and VIEW_SQL_FILE holds the
tracks_current view (timbre::lake::tables::current_tracks_view). With spark
(pyspark, local mode), DDL_FILE holds `timbre schema --lake-ddl --dialect
spark`, which is run statement by statement. Both print:

    {"current": N, "genres": {"rock": N, ...}, "changes": N,
     "snapshot_rows": N, "interactions": N, "events": {"applied": N, ...},
     "memberships": N}
"""

import json
import os
import sys

TABLES = [
    "track_changes",
    "tracks_snapshot",
    "playlist_memberships",
    "playlist_memberships_snapshot",
    "interactions",
    "ingest_events",
]

QUERIES = {
    "current": "SELECT count(*) FROM tracks_current",
    "changes": "SELECT count(*) FROM track_changes",
    "snapshot_rows": "SELECT count(*) FROM tracks_snapshot",
    "interactions": "SELECT count(*) FROM interactions",
    "memberships": "SELECT count(*) FROM playlist_memberships",
    "distinct_positions": (
        "SELECT count(*) FROM (SELECT DISTINCT kafka_partition, kafka_offset "
        "FROM track_changes WHERE kafka_offset IS NOT NULL) AS d"
    ),
}
GENRES = (
    "SELECT g, count(*) FROM (SELECT explode(genres) AS g FROM tracks_current) "
    "GROUP BY g"
)
GENRES_DUCKDB = (
    "SELECT g, count(*) FROM (SELECT unnest(genres) AS g FROM tracks_current) "
    "GROUP BY g"
)
EVENTS = "SELECT outcome, count(*) FROM ingest_events GROUP BY outcome"


def files(root, table):
    return os.path.join(root, "curated", table, "v1")


def has_files(root, table):
    for _, _, names in os.walk(files(root, table)):
        if any(n.endswith(".parquet") for n in names):
            return True
    return False


def duckdb_main(root, view_sql):
    import duckdb

    con = duckdb.connect()
    for table in TABLES:
        if has_files(root, table):
            glob = os.path.join(files(root, table), "**", "*.parquet")
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM "
                f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
            )
        else:
            # An empty table of the right shape: the snapshot before any
            # export, say. The view only needs the columns it reads.
            con.execute(f"CREATE TABLE {table} AS SELECT * FROM ({empty(table)}) WHERE false")
    con.execute(view_sql)
    out = collect(lambda q: con.execute(q).fetchall(), GENRES_DUCKDB)
    if has_files(root, "track_changes"):
        # Where a change was written twice, which files hold it: what a
        # failing test needs to say.
        glob = os.path.join(files(root, "track_changes"), "**", "*.parquet")
        twice = con.execute(
            "SELECT kafka_partition, kafka_offset, list(filename ORDER BY filename) "
            f"FROM read_parquet('{glob}', filename = true) WHERE kafka_offset IS NOT NULL "
            "GROUP BY ALL HAVING count(*) > 1 ORDER BY ALL LIMIT 5"
        ).fetchall()
        out["written_twice"] = [
            [p, o, [os.path.relpath(f, files(root, "track_changes")) for f in names]] for p, o, names in twice
        ]
    return out


def empty(table):
    """A one-row select with the columns the queries read."""
    common = (
        "CAST(NULL AS VARCHAR) AS track_id, CAST(NULL AS VARCHAR) AS op, "
        "CAST(NULL AS TIMESTAMP) AS changed_at, CAST(NULL AS BIGINT) AS kafka_offset, "
        "CAST(NULL AS TIMESTAMP) AS exported_at, CAST(NULL AS VARCHAR) AS snapshot_id, "
        "CAST(NULL AS VARCHAR) AS outcome, CAST(NULL AS INTEGER) AS kafka_partition"
    )
    data = ", ".join(
        f"CAST(NULL AS {t}) AS {c}" for c, t in TRACK_COLUMNS
    )
    return f"SELECT {common}, {data}"


TRACK_COLUMNS = [
    ("name", "VARCHAR"),
    ("artists", "VARCHAR[]"),
    ("album_id", "VARCHAR"),
    ("album_name", "VARCHAR"),
    ("release_date", "VARCHAR"),
    ("release_year", "INTEGER"),
    ("popularity", "INTEGER"),
    ("explicit", "BOOLEAN"),
    ("genres", "VARCHAR[]"),
    ("subgenres", "VARCHAR[]"),
] + [
    (f, "DOUBLE")
    for f in [
        "danceability", "energy", "key", "loudness", "mode", "speechiness",
        "acousticness", "instrumentalness", "liveness", "valence", "tempo",
        "duration_ms", "time_signature",
    ]
] + [("feature_space_version", "INTEGER")]


def spark_main(root, ddl):
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[1]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.warehouse.dir", os.path.join(os.environ.get("TMPDIR", "/tmp"), "timbre-spark-warehouse"))
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    for statement in [s.strip() for s in ddl.split(";")]:
        if not statement or statement.startswith("--") and "\n" not in statement:
            continue
        lines = [l for l in statement.splitlines() if not l.strip().startswith("--")]
        statement = "\n".join(lines).strip()
        if statement:
            spark.sql(statement)
    out = collect(lambda q: [tuple(r) for r in spark.sql(q).collect()], GENRES)
    spark.stop()
    return out


def collect(run, genres_query):
    out = {name: run(q)[0][0] for name, q in QUERIES.items()}
    out["genres"] = {g: n for g, n in run(genres_query)}
    out["events"] = {o: n for o, n in run(EVENTS)}
    return out


if __name__ == "__main__":
    engine, root, sql_file = sys.argv[1:4]
    with open(sql_file) as f:
        sql = f.read()
    result = duckdb_main(root, sql) if engine == "duckdb" else spark_main(root, sql)
    print(json.dumps(result, sort_keys=True))
