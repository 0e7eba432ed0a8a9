"""The Python package against pymilvus 3.0.2, side by side on the same rows: the
append_row loop (rows in memory as dicts with a numpy float32 vector, as a pymilvus user
holds them), and our append_batch from a pyarrow Table. Each contender runs in a fresh process;
the time from the first append to the end of commit is measured (loading the rows is not),
and the process's peak RSS. Median of --runs runs each, for PARQUET and NUMPY output.

Usage (a venv with pymilvus[bulk_writer] and our package built with --release):
  python3 -m venv target/bench-venv && target/bench-venv/bin/pip install -r tests/python/requirements.txt
  VIRTUAL_ENV=$PWD/target/bench-venv target/bench-venv/bin/maturin develop --release
  target/bench-venv/bin/python benches/python_api.py --rows 100000 --out benches/results/python_api.json
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from throughput import GENERATE, SCHEMA  # noqa: E402  the same workload as throughput.py

CONTENDER = r'''
import json, resource, sys, time
import pyarrow.parquet as pq
contender, source, out, schema_path, file_type = sys.argv[1:6]
table = pq.read_table(source)
if contender == "pymilvus_append_row":
    from pymilvus.bulk_writer import LocalBulkWriter, BulkFileType
else:
    from bulkwriter import LocalBulkWriter, BulkFileType
from pymilvus import CollectionSchema, DataType, FieldSchema
schema = CollectionSchema([
    FieldSchema("id", DataType.INT64, is_primary=True),
    FieldSchema("title", DataType.VARCHAR, max_length=512),
    FieldSchema("vector", DataType.FLOAT_VECTOR, dim=768),
    FieldSchema("link", DataType.VARCHAR, max_length=512),
    FieldSchema("reading_time", DataType.INT64),
    FieldSchema("publication", DataType.VARCHAR, max_length=512),
    FieldSchema("claps", DataType.INT64),
    FieldSchema("responses", DataType.INT64),
])
rows = None
if contender.endswith("append_row"):
    import numpy as np
    vectors = table.column("vector").combine_chunks().flatten().to_numpy().reshape(-1, 768)
    scalars = table.drop_columns(["vector"]).to_pylist()
    rows = [dict(r, vector=vectors[i]) for i, r in enumerate(scalars)]
writer = LocalBulkWriter(schema=schema, local_path=out, file_type=getattr(BulkFileType, file_type))
start = time.perf_counter()
if rows is not None:
    for row in rows:
        writer.append_row(row)
else:
    writer.append_batch(table)
writer.commit()
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": table.num_rows,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
'''

CONTENDERS = ["pymilvus_append_row", "ours_append_row", "ours_append_batch"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        source = os.path.join(work, "rows.parquet")
        subprocess.run([sys.executable, "-c", GENERATE, str(args.rows), source], check=True)
        report = {
            "workload": f"medium_articles, {args.rows} rows, 768-dim float32 vectors",
            "runs": args.runs,
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        }
        for file_type in ["PARQUET", "NUMPY"]:
            results = {}
            for contender in CONTENDERS:
                runs = []
                for i in range(args.runs):
                    out = os.path.join(work, f"{contender}-{i}")
                    run = subprocess.run(
                        [sys.executable, "-c", CONTENDER, contender, source, out, SCHEMA, file_type],
                        capture_output=True, text=True)
                    if run.returncode != 0:
                        sys.exit(f"{contender} failed: {run.stderr[-2000:]}")
                    runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
                    subprocess.run(["rm", "-rf", out])
                seconds = statistics.median(r["seconds"] for r in runs)
                results[contender] = {
                    "median_seconds": round(seconds, 3),
                    "rows_per_second": round(args.rows / seconds),
                    "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in runs)),
                    "runs_seconds": [round(r["seconds"], 3) for r in runs],
                }
                print(file_type, contender, results[contender], flush=True)
            base = results["pymilvus_append_row"]["median_seconds"]
            report[file_type] = {
                "contenders": results,
                "speedup_vs_pymilvus_append_row": {
                    name: round(base / r["median_seconds"], 1) for name, r in results.items()
                },
            }
    text = json.dumps(report, indent=2)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
