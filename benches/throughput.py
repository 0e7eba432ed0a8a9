"""Throughput and memory of `bulkwriter convert` against pymilvus 3.0.2's LocalBulkWriter and
against the machine's copy limit, side by side, on the same rows (run by benches/throughput.sh).

Workload: the medium_articles schema (id, title, 768-dim vector, link, reading_time,
publication, claps, responses), generated once with numpy (seed 42) as Parquet
(list<float32> vectors), then as JSONL. Every measurement is a fresh process under
/usr/bin/time -v (peak RSS), timed from start to exit:

  ours       bulkwriter convert from JSONL and from Parquet to NUMPY, PARQUET and JSON
             (and Parquet to NUMPY with --threads 1, for the scaling ratio);
  pymilvus   LocalBulkWriter.append_row for every row + commit, rows already in memory as
             numpy arrays (the time to load them is not counted, which favours pymilvus);
  limit      cat of the input to /dev/null, plus dd writing as many bytes as our output.

Usage: throughput.py --bulkwriter BIN --python PYMILVUS_VENV_PYTHON --work DIR
                     [--rows 100000] [--large-rows 1000000] [--out results.json]
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time

SCHEMA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "schemas", "medium_articles.json")

GENERATE = r'''
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
rows, path = int(sys.argv[1]), sys.argv[2]
rng = np.random.default_rng(42)
pubs = np.array(["The Startup", "Towards Data Science", "Better Programming", "UX Collective",
                 "The Writing Cooperative", "Better Humans", "Data Driven Investor", "Personal Growth"])
alphabet = np.array(list("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
writer = None
step = 50000
for start in range(0, rows, step):
    n = min(step, rows - start)
    vecs = rng.standard_normal((n, 768), dtype=np.float32)
    lens = rng.integers(20, 120, n)
    chars = rng.choice(alphabet, size=int(lens.sum()))
    titles, pos = [], 0
    for k in lens:
        titles.append("".join(chars[pos:pos + k])); pos += k
    ids = np.arange(start, start + n, dtype=np.int64)
    table = pa.table({
        "id": ids,
        "title": titles,
        "vector": pa.ListArray.from_arrays(np.arange(0, (n + 1) * 768, 768, dtype=np.int32),
                                           pa.array(vecs.reshape(-1))),
        "link": [f"https://medium.com/@author{i % 9973}/article-{i:x}" for i in ids],
        "reading_time": rng.integers(1, 60, n),
        "publication": pubs[rng.integers(0, len(pubs), n)],
        "claps": rng.integers(0, 100000, n),
        "responses": rng.integers(0, 100000, n),
    })
    if writer is None:
        writer = pq.ParquetWriter(path, table.schema)
    writer.write_table(table, row_group_size=10000)
writer.close()
'''

PYMILVUS = r'''
import logging, sys, time, json
logging.disable(logging.CRITICAL)
import pyarrow.parquet as pq, numpy as np
from pymilvus import DataType, MilvusClient
from pymilvus.bulk_writer import BulkFileType, LocalBulkWriter
path, file_type, out = sys.argv[1], sys.argv[2], sys.argv[3]
t = pq.read_table(path)
vecs = np.asarray(t.column("vector").combine_chunks().flatten(), dtype=np.float32).reshape(-1, 768)
cols = {c: t.column(c).to_pylist() for c in ["id", "title", "link", "reading_time", "publication", "claps", "responses"]}
s = MilvusClient.create_schema(enable_dynamic_field=False)
s.add_field("id", DataType.INT64, is_primary=True, auto_id=False)
s.add_field("title", DataType.VARCHAR, max_length=512)
s.add_field("vector", DataType.FLOAT_VECTOR, dim=768)
s.add_field("link", DataType.VARCHAR, max_length=512)
s.add_field("reading_time", DataType.INT64)
s.add_field("publication", DataType.VARCHAR, max_length=512)
s.add_field("claps", DataType.INT64)
s.add_field("responses", DataType.INT64)
ft = {"numpy": BulkFileType.NUMPY, "parquet": BulkFileType.PARQUET, "json": BulkFileType.JSON}[file_type]
w = LocalBulkWriter(schema=s, local_path=out, file_type=ft)
start = time.perf_counter()
for i in range(len(vecs)):
    w.append_row({"id": cols["id"][i], "title": cols["title"][i], "vector": vecs[i],
                  "link": cols["link"][i], "reading_time": cols["reading_time"][i],
                  "publication": cols["publication"][i], "claps": cols["claps"][i],
                  "responses": cols["responses"][i]})
w.commit()
print(json.dumps({"seconds": time.perf_counter() - start}))
'''


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v: (wall seconds, peak RSS bytes, stdout)."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{cmd[:3]} failed: {proc.stderr[-2000:]}")
    rss = 0
    for line in proc.stderr.splitlines():
        if "Maximum resident set size" in line:
            rss = int(line.split(":")[1]) * 1024
    return wall, rss, proc.stdout


def dir_bytes(path):
    return sum(os.path.getsize(os.path.join(r, f)) for r, _, fs in os.walk(path) for f in fs)


def copy_limit(input_path, output_bytes, work):
    """Seconds to read the input and write output_bytes to the same disk with cat and dd."""
    start = time.perf_counter()
    subprocess.run(f"cat {input_path} > /dev/null", shell=True, check=True)
    target = os.path.join(work, "copy.bin")
    mib = max(1, output_bytes // (1 << 20))
    subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}"],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - start
    os.remove(target)
    return seconds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulkwriter", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--large-rows", type=int, default=1000000)
    ap.add_argument("--out", default="")
    args = ap.parse_args()
    os.makedirs(args.work, exist_ok=True)
    parquet = os.path.join(args.work, f"rows-{args.rows}.parquet")
    jsonl = os.path.join(args.work, f"rows-{args.rows}.jsonl")
    if not os.path.exists(parquet):
        print(f"generating {args.rows} rows", file=sys.stderr, flush=True)
        subprocess.run([args.python, "-c", GENERATE, str(args.rows), parquet], check=True)
    if not os.path.exists(jsonl):
        # The same rows as JSONL, written by our converter from the Parquet file.
        out = os.path.join(args.work, "jsonl-gen")
        shutil.rmtree(out, ignore_errors=True)
        m = json.loads(subprocess.run(
            [args.bulkwriter, "convert", "--schema", SCHEMA, "--input", parquet, "--format", "jsonl",
             "--chunk-size", "16GiB", "--output", out, "--quiet"],
            check=True, capture_output=True, text=True).stdout)
        os.rename(m["batch_files"][0][0], jsonl)
        shutil.rmtree(out)

    results = []

    def ours(input_path, fmt, threads=None, rows=args.rows, label=None):
        out = os.path.join(args.work, "out")
        shutil.rmtree(out, ignore_errors=True)
        cmd = [args.bulkwriter, "convert", "--schema", SCHEMA, "--input", input_path,
               "--format", fmt, "--output", out, "--quiet"]
        if threads:
            cmd += ["--threads", str(threads)]
        wall, rss, _ = timed(cmd)
        output = dir_bytes(out)
        shutil.rmtree(out)
        kind = "jsonl" if input_path.endswith(".jsonl") else "parquet"
        r = {"tool": "bulkwriter", "input": kind, "format": fmt, "threads": threads or os.cpu_count(),
             "rows": rows, "seconds": round(wall, 2), "rows_per_s": round(rows / wall),
             "input_MB_per_s": round(os.path.getsize(input_path) / 1e6 / wall, 1),
             "output_MB": round(output / 1e6, 1), "peak_rss_MB": round(rss / 2**20)}
        if label:
            r["label"] = label
        r["limit_seconds"] = round(copy_limit(input_path, output, args.work), 2)
        r["ratio_to_limit"] = round(r["limit_seconds"] / wall, 3)
        print(json.dumps(r), flush=True)
        results.append(r)
        return r

    def pymilvus(fmt):
        out = os.path.join(args.work, "pymilvus-out")
        shutil.rmtree(out, ignore_errors=True)
        wall, rss, stdout = timed([args.python, "-c", PYMILVUS, parquet, fmt, out])
        inner = json.loads(stdout.strip().splitlines()[-1])["seconds"]
        output = dir_bytes(out)
        shutil.rmtree(out)
        r = {"tool": "pymilvus 3.0.2", "input": "rows in memory", "format": fmt, "rows": args.rows,
             "seconds": round(inner, 2), "process_seconds": round(wall, 2),
             "rows_per_s": round(args.rows / inner), "output_MB": round(output / 1e6, 1),
             "peak_rss_MB": round(rss / 2**20)}
        print(json.dumps(r), flush=True)
        results.append(r)
        return r

    reference = {fmt: pymilvus(fmt) for fmt in ["numpy", "parquet", "json"]}
    for input_path in [parquet, jsonl]:
        for fmt in ["numpy", "parquet", "json"]:
            r = ours(input_path, fmt)
            r["ratio_to_pymilvus"] = round(r["rows_per_s"] / reference[fmt]["rows_per_s"], 1)
    one = ours(parquet, "numpy", threads=1, label="one thread")
    two = next(r for r in results if r["tool"] == "bulkwriter" and r["input"] == "parquet"
               and r["format"] == "numpy" and "label" not in r)
    scaling = round(two["rows_per_s"] / one["rows_per_s"], 2)

    memory = []
    if args.large_rows:
        large = os.path.join(args.work, f"rows-{args.large_rows}.parquet")
        if not os.path.exists(large):
            print(f"generating {args.large_rows} rows", file=sys.stderr, flush=True)
            subprocess.run([args.python, "-c", GENERATE, str(args.large_rows), large], check=True)
        for path, rows in [(parquet, args.rows), (large, args.large_rows)]:
            r = ours(path, "numpy", rows=rows, label="memory")
            memory.append(r)

    summary = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "rows": args.rows,
        "results": results,
        "two_threads_over_one": scaling,
        "memory": [{"rows": r["rows"], "peak_rss_MB": r["peak_rss_MB"]} for r in memory],
    }
    text = json.dumps(summary, indent=2)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
