"""Checks finished runs of `bulkwriter convert` (killed, interrupted and resumed ones) with
readers that are not ours: google-crc32c for checksums, pyarrow and numpy for the files.

Usage: verify_runs.py RUNS.json, a JSON list of runs:
  {"base": "",            # prefix of every path in the manifest ("" for local output; the
                          #  download folder for remote output, whose paths are bucket keys)
   "data_path": "...",    # the run's folder, as in the manifest
   "format": "parquet",   # numpy, parquet or jsonl
   "ids": [0, 1, ...],    # the ids every written row must have, each once (optional)
   "finished": true,      # optional: the manifest's expected "finished" (default true)
   "rejected_ids": [...], # optional: ids the reject file must hold (with "reject_file")
   "reject_file": "...",
   "snapshot": {...}}     # optional: the manifest as it was when the process was killed
For each run: the manifest is finished (or as expected); every listed file has its size and CRC-32C; the
folder holds exactly the listed files and the manifest (no partial file, no staging file);
the snapshot's segments are the final manifest's first segments, unchanged; and the ids read
from the files are exactly the expected ones. Prints a JSON summary; exits 1 on the first
failure with a message.
"""
import io
import json
import os
import sys

import google_crc32c
import numpy as np
import pyarrow.parquet as pq


def fail(run, message):
    print(f"{run['data_path']}: {message}", file=sys.stderr)
    sys.exit(1)


def local(run, path):
    return os.path.join(run["base"], path) if run["base"] else path


def ids_of(run, fmt, files):
    if fmt == "parquet":
        return pq.read_table(io.BytesIO(files[0])).column("id").to_pylist()
    if fmt == "numpy":
        return np.load(io.BytesIO(files[0])).tolist()
    if fmt == "jsonl":
        return [json.loads(line)["id"] for line in files[0].decode().splitlines()]
    fail(run, f"unknown format {fmt}")


def check(run, summary):
    folder = local(run, run["data_path"])
    with open(os.path.join(folder, "manifest.json"), "rb") as f:
        manifest = json.load(f)
    if manifest["finished"] is not run.get("finished", True):
        fail(run, f"the manifest's finished is {manifest['finished']}")
    listed = {"manifest.json"}
    ids = []
    for segment in manifest["stored_segments"]:
        contents = []
        paths = [f["path"] for f in segment["files"]]
        if manifest["format"] == "numpy":
            # The id column first: it is the one read back.
            paths.sort(key=lambda p: not p.endswith("/id.npy"))
        by_path = {f["path"]: f for f in segment["files"]}
        for path in paths:
            entry = by_path[path]
            with open(local(run, path), "rb") as f:
                data = f.read()
            if len(data) != entry["bytes"]:
                fail(run, f"{path} has {len(data)} bytes, the manifest says {entry['bytes']}")
            crc = "%08x" % google_crc32c.value(data)
            if crc != entry["crc32c"]:
                fail(run, f"{path} has CRC-32C {crc}, the manifest says {entry['crc32c']}")
            listed.add(os.path.relpath(local(run, path), folder))
            contents.append(data)
            summary["files"] += 1
        segment_ids = ids_of(run, manifest["format"], contents)
        if len(segment_ids) != segment["rows"]:
            fail(run, f"segment {segment['segment']} holds {len(segment_ids)} rows, the manifest says {segment['rows']}")
        ids.extend(segment_ids)
    present = set()
    for directory, _, names in os.walk(folder):
        for name in names:
            present.add(os.path.relpath(os.path.join(directory, name), folder))
    if present != listed:
        fail(run, f"the folder holds {sorted(present - listed)} beyond the listed files, and lacks {sorted(listed - present)}")
    snapshot = run.get("snapshot")
    if snapshot is not None:
        before = snapshot["stored_segments"]
        if manifest["stored_segments"][: len(before)] != before:
            fail(run, "the segments listed when the process was killed changed")
        summary["segments_listed_at_kill"] += len(before)
    if len(set(ids)) != len(ids):
        fail(run, "a row is written twice")
    if "ids" in run and sorted(ids) != sorted(run["ids"]):
        missing = sorted(set(run["ids"]) - set(ids))[:10]
        unexpected = sorted(set(ids) - set(run["ids"]))[:10]
        fail(run, f"{len(ids)} rows written, {len(run['ids'])} expected; missing {missing}, unexpected {unexpected}")
    if "reject_file" in run:
        with open(run["reject_file"]) as f:
            rejected = [json.loads(line)["data"]["id"] for line in f]
        if sorted(rejected) != sorted(run["rejected_ids"]):
            fail(run, f"the reject file holds ids {rejected}, expected {run['rejected_ids']}")
        if manifest["rejected"] != len(rejected):
            fail(run, f"the manifest counts {manifest['rejected']} rejected rows, the file {len(rejected)}")
    summary["runs"] += 1
    summary["rows"] += len(ids)


summary = {"runs": 0, "rows": 0, "files": 0, "segments_listed_at_kill": 0}
with open(sys.argv[1]) as f:
    runs = json.load(f)
for run in runs:
    check(run, summary)
json.dump(summary, sys.stdout)
sys.stdout.flush()
# Every check passed. Skip the interpreter's teardown: under load, pyarrow's threads have
# been seen to abort it ("terminate called without an active exception") after the summary
# was printed, which would fail a good run.
os._exit(0)
