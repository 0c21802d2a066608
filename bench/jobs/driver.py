#!/usr/bin/env python3
"""Times timbre's analytics jobs on a running server, for bench/jobs.sh.

Side by side in one run: today's in-memory `genreTrends` query and the
in-process co-occurrence build (the first `recommendForPlaylist` after a
start, less a warm one), then every job kind on every engine the server
has, each `--repeat` times, by the job's own `durationMs` (from its start
on the engine to its end, queueing excluded). Prints one line per row,
median (min..max), and a JSON summary line for BENCHMARKS.md.

Usage: driver.py URL ADMIN_KEY --label L [--repeat 3] [--engines EMBEDDED,SPARK]
                 [--neighbours 100]
Standard library only.
"""
import argparse
import json
import statistics
import time
import urllib.request

JOB = """query($id: ID!) { job(id: $id) { id state durationMs error { code message }
  progress { stage done total }
  result { __typename ... on CoOccurrenceModel { tracks pairs neighbours }
           ... on GenreTrendsResult { trends { genre } }
           ... on ListenerBehaviour { days { count } } } } }"""


def post(url, query, variables=None, key=None):
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url + "/graphql", body, {"Content-Type": "application/json"})
    if key:
        req.add_header("Authorization", f"Bearer {key}")
    with urllib.request.urlopen(req, timeout=7200) as resp:
        out = json.load(resp)
    if out.get("errors"):
        raise SystemExit(f"GraphQL errors: {out['errors']}")
    return out["data"]


def timed(url, query, variables=None):
    start = time.perf_counter()
    post(url, query, variables)
    return (time.perf_counter() - start) * 1000


def summary(values):
    return f"{statistics.median(values):,.0f} ms ({min(values):,.0f}..{max(values):,.0f})"


def run_job(url, key, kind, params, engine):
    data = post(url, "mutation($k: JobKind!, $p: JobParamsInput!, $e: JobEngine) "
                     "{ startJob(kind: $k, params: $p, engine: $e) { id } }",
                {"k": kind, "p": params, "e": engine}, key)
    job_id = data["startJob"]["id"]
    while True:
        job = post(url, JOB, {"id": job_id})["job"]
        if job["state"] not in ("QUEUED", "RUNNING"):
            break
        time.sleep(0.2)
    if job["state"] != "SUCCEEDED":
        raise SystemExit(f"{kind} on {engine} ended {job['state']}: {job['error']}")
    return job


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("key")
    ap.add_argument("--label", required=True)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--engines", default="EMBEDDED,SPARK")
    ap.add_argument("--neighbours", type=int, default=100)
    args = ap.parse_args()
    url, rows = args.url.rstrip("/"), {}

    # The in-process model is built on the first playlist recommendation.
    playlist = post(url, "{ tracks(first: 1) { edges { node { playlists { id } } } } }")
    playlist = playlist["tracks"]["edges"][0]["node"]["playlists"][0]["id"]
    rec = "query($p: ID!) { recommendForPlaylist(playlistId: $p, first: 10) { track { id } } }"
    first = timed(url, rec, {"p": playlist})
    warm = [timed(url, rec, {"p": playlist}) for _ in range(5)]
    rows["in-process co-occurrence build (first recommendForPlaylist - warm)"] = [
        first - statistics.median(warm)]
    trends = "{ genreTrends { genre year trackCount } }"
    rows["in-memory genreTrends query (GraphQL, client-side)"] = [
        timed(url, trends) for _ in range(args.repeat)]
    for name, values in rows.items():
        print(f"{args.label}: {name}: {summary(values)}", flush=True)

    jobs = [("GENRE_TRENDS", {}), ("GENRE_FINGERPRINTS", {}), ("LISTENER_BEHAVIOUR", {}),
            ("CO_OCCURRENCE_MODEL", {"neighbours": args.neighbours})]
    for kind, params in jobs:
        for engine in args.engines.split(","):
            times, last = [], None
            for _ in range(args.repeat):
                last = run_job(url, args.key, kind, params, engine)
                times.append(last["durationMs"])
            name = f"{kind} on {engine}"
            rows[name] = times
            extra = f" {last['result']}" if kind == "CO_OCCURRENCE_MODEL" else ""
            print(f"{args.label}: {name}: {summary(times)}{extra}", flush=True)
    print("json " + json.dumps({"label": args.label, "rows": rows}))


if __name__ == "__main__":
    main()
