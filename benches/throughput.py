"""Throughput and memory of `bulkwriter convert` against pymilvus 3.0.2's LocalBulkWriter,
against the pyarrow + numpy script a user writes by hand, and against the machine's copy
limit, side by side, on the same rows (run by benches/throughput.sh).

Workload: the medium_articles schema (id, title, 768-dim vector, link, reading_time,
publication, claps, responses), generated once with numpy (seed 42) as Parquet
(list<float32> vectors), then as JSONL. Every measurement is the median of --repeat fresh
processes, each under /usr/bin/time -v (peak RSS), timed from start to exit:

  ours       bulkwriter convert from Parquet to NUMPY, PARQUET, JSON, JSONL and CSV, and from
             JSONL to NUMPY, PARQUET and JSON; Parquet and JSONL to NUMPY with --threads 1 and
             2; Parquet to PARQUET into the local S3 server (--s3-endpoint); Parquet to NUMPY
             and PARQUET at --large-rows;
  pymilvus   LocalBulkWriter.append_row for every row + commit, rows already in memory as
             numpy arrays (the time to load them is not counted, which favours pymilvus);
  pyarrow    the script a savvy user writes instead: pq.read_table, then np.save per column
             (strings through np.array(col.to_pylist())), or pq.write_table;
  limit      cat of the input to /dev/null, plus dd writing as many bytes as our output,
             measured right after each of our runs: the ratio to it is the median of those
             pairs;
  ceiling    for the remote path, boto3 uploading the finished local output (same bytes,
             8 MiB parts, 4 files at once) to the same S3 server, after each remote run: how
             fast the server itself takes those bytes, with no conversion at all.

This VM (Firecracker, free page reporting) hands memory that a process frees back to its
host within seconds, and the next process to touch it waits for the host to map it again:
dd writing 310 MB to the page cache took 0.05 s right after 310 MB were freed and 0.62 s four
seconds later. By default the processes run back to back, each in the state the one before
left (the limit's dd starts the moment our output is deleted). --settle S adds a sync and an
S-second pause before every timed process; a run with --settle 6 is kept in
benches/results/throughput_settled.json, and benches/memory_state.py measures the two states
side by side. The README says what they showed.

Usage: throughput.py --bulkwriter BIN --python BENCH_VENV_PYTHON --work DIR
                     [--rows 100000] [--large-rows 1000000] [--repeat 3] [--settle 0]
                     [--s3-endpoint URL --s3-bucket B] [--out results.json] [--chart out.png]
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import statistics
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


PYARROW_SCRIPT = r'''
import os, sys, time, json
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
src, fmt, out = sys.argv[1:4]
os.makedirs(out, exist_ok=True)
t = pq.read_table(src)
if fmt == "numpy":
    for name in t.column_names:
        col = t.column(name)
        if pa.types.is_list(col.type):
            arr = np.asarray(col.combine_chunks().flatten()).reshape(len(col), -1)
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            arr = np.array(col.to_pylist())
        else:
            arr = col.to_numpy()
        np.save(os.path.join(out, name + ".npy"), arr)
else:
    pq.write_table(t, os.path.join(out, "1.parquet"))
'''


# Seconds to wait before every timed process (see the module docs); set by --settle.
SETTLE_SECONDS = 0.0


def settle():
    """Waits until memory freed by the processes before has gone back to the host."""
    if SETTLE_SECONDS:
        subprocess.run(["sync"], check=True)
        time.sleep(SETTLE_SECONDS)


def timed(cmd, env=None):
    """Runs cmd under /usr/bin/time -v, after settle(): (wall seconds, peak RSS bytes,
    stdout)."""
    settle()
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
    """Seconds to read the input and write output_bytes to the same disk with cat and dd,
    after settle()."""
    settle()
    start = time.perf_counter()
    subprocess.run(f"cat {input_path} > /dev/null", shell=True, check=True)
    target = os.path.join(work, "copy.bin")
    mib = max(1, output_bytes // (1 << 20))
    subprocess.run(["dd", "if=/dev/zero", f"of={target}", "bs=1M", f"count={mib}"],
                   check=True, capture_output=True)
    seconds = time.perf_counter() - start
    os.remove(target)
    return seconds


def side_arguments():
    """The arguments of a bench script beside this harness (row_memory.py, threads.py): our
    binary, the harness's data folder (target/bench-data) and where to write the results."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulkwriter", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", default="")
    return ap


def write_json(path, data):
    """Writes results as the harness does: indented, with a final newline."""
    with open(path, "w") as f:
        f.write(json.dumps(data, indent=2) + "\n")


def median_run(run, repeat):
    """Runs `run()` (which returns a dict with "seconds") `repeat` times; the median run, with
    every run's seconds and every run's dict."""
    runs = sorted((run() for _ in range(repeat)), key=lambda r: r["seconds"])
    middle = dict(runs[len(runs) // 2])
    middle["runs_seconds"] = [r["seconds"] for r in runs]
    middle["runs"] = runs
    return middle


def median(values):
    return statistics.median(values)


UPLOAD = r'''
import sys, os, time, json
from concurrent.futures import ThreadPoolExecutor
import boto3
from boto3.s3.transfer import TransferConfig
endpoint, bucket, prefix, folder = sys.argv[1:5]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20, max_concurrency=2)
files = [os.path.join(r, f) for r, _, fs in os.walk(folder) for f in fs]
start = time.perf_counter()
with ThreadPoolExecutor(4) as pool:
    list(pool.map(lambda p: s3.upload_file(p, bucket, prefix + "/" + os.path.relpath(p, folder),
                                           Config=config), files))
print(json.dumps({"seconds": time.perf_counter() - start}))
'''


def generate(python, rows, work):
    parquet = os.path.join(work, f"rows-{rows}.parquet")
    if not os.path.exists(parquet):
        print(f"generating {rows} rows", file=sys.stderr, flush=True)
        subprocess.run([python, "-c", GENERATE, str(rows), parquet], check=True)
    return parquet


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bulkwriter", required=True)
    ap.add_argument("--python", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--rows", type=int, default=100000)
    ap.add_argument("--large-rows", type=int, default=1000000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--s3-endpoint", default="")
    ap.add_argument("--s3-bucket", default="")
    ap.add_argument("--skip-pymilvus", action="store_true")
    ap.add_argument("--settle", type=float, default=0.0,
                    help="seconds to wait before every timed process (see the module docs)")
    ap.add_argument("--out", default="")
    ap.add_argument("--chart", default="")
    ap.add_argument("--table", default="", help="also write the README's Markdown table here")
    args = ap.parse_args()
    global SETTLE_SECONDS
    SETTLE_SECONDS = args.settle
    os.makedirs(args.work, exist_ok=True)
    parquet = generate(args.python, args.rows, args.work)
    jsonl = os.path.join(args.work, f"rows-{args.rows}.jsonl")
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
    s3_options = [f"endpoint={args.s3_endpoint}", "allow_http=true", "region=us-east-1",
                  "access_key_id=test", "secret_access_key=test"]

    def ours(input_path, fmt, threads=None, rows=args.rows, label=None, remote_source=None):
        """Our convert, median of --repeat runs. Local runs are each followed by the copy
        limit; remote runs (remote_source: a folder with the same conversion's local
        output) by boto3 uploading that folder."""
        remote = remote_source is not None
        local_out = os.path.join(args.work, "out")

        def once():
            shutil.rmtree(local_out, ignore_errors=True)
            target = local_out
            if remote:
                target = f"s3://{args.s3_bucket}/bench-{time.time_ns()}"
            cmd = [args.bulkwriter, "convert", "--schema", SCHEMA, "--input", input_path,
                   "--format", fmt, "--output", target, "--quiet"]
            if threads:
                cmd += ["--threads", str(threads)]
            if remote:
                for option in s3_options:
                    cmd += ["--storage-option", option]
            wall, rss, _ = timed(cmd)
            if remote:
                # The same bytes as the local run's (the remote tests check that).
                output = dir_bytes(remote_source)
                after = upload_ceiling(remote_source)
            else:
                output = dir_bytes(local_out)
                shutil.rmtree(local_out, ignore_errors=True)
                after = copy_limit(input_path, output, args.work)
            return {"seconds": round(wall, 3), "rss": rss, "output": output, "after": after}

        run = median_run(once, args.repeat)
        kind = "jsonl" if input_path.endswith(".jsonl") else "parquet"
        r = {"tool": "bulkwriter", "input": kind, "format": fmt, "threads": threads or os.cpu_count(),
             "rows": rows, "seconds": run["seconds"], "runs_seconds": run["runs_seconds"],
             "rows_per_s": round(rows / run["seconds"]),
             "input_MB_per_s": round(os.path.getsize(input_path) / 1e6 / run["seconds"], 1),
             "output_MB": round(run["output"] / 1e6, 1), "peak_rss_MB": round(run["rss"] / 2**20)}
        if label:
            r["label"] = label
        after = [x["after"] for x in run["runs"]]
        paired = median([x["after"] / x["seconds"] for x in run["runs"]])
        if remote:
            r["output_to"] = "local S3 server (moto)"
            r["upload_ceiling_seconds"] = round(median(after), 3)
            r["upload_ceiling_runs_seconds"] = [round(x, 3) for x in after]
            r["ratio_to_upload_ceiling"] = round(paired, 3)
        else:
            r["limit_seconds"] = round(median(after), 3)
            r["limit_runs_seconds"] = [round(x, 3) for x in after]
            r["ratio_to_limit"] = round(paired, 3)
        print(json.dumps(r), flush=True)
        results.append(r)
        return r

    def upload_ceiling(folder):
        """Seconds for boto3 to upload `folder` to the S3 server (see UPLOAD)."""
        prefix = f"ceiling-{time.time_ns()}"
        _, _, stdout = timed([args.python, "-c", UPLOAD, args.s3_endpoint, args.s3_bucket, prefix,
                              folder])
        return json.loads(stdout.strip().splitlines()[-1])["seconds"]

    def pymilvus(fmt):
        out = os.path.join(args.work, "pymilvus-out")

        def once():
            shutil.rmtree(out, ignore_errors=True)
            wall, rss, stdout = timed([args.python, "-c", PYMILVUS, parquet, fmt, out])
            inner = json.loads(stdout.strip().splitlines()[-1])["seconds"]
            output = dir_bytes(out)
            shutil.rmtree(out)
            return {"seconds": round(inner, 3), "process_seconds": round(wall, 3), "rss": rss,
                    "output": output}

        run = median_run(once, args.repeat)
        r = {"tool": "pymilvus 3.0.2", "input": "rows in memory", "format": fmt, "rows": args.rows,
             "seconds": run["seconds"], "runs_seconds": run["runs_seconds"],
             "process_seconds": run["process_seconds"],
             "rows_per_s": round(args.rows / run["seconds"]), "output_MB": round(run["output"] / 1e6, 1),
             "peak_rss_MB": round(run["rss"] / 2**20)}
        print(json.dumps(r), flush=True)
        results.append(r)
        return r

    def pyarrow_script(path, fmt, rows):
        out = os.path.join(args.work, "pyarrow-out")

        def once():
            shutil.rmtree(out, ignore_errors=True)
            wall, rss, _ = timed([args.python, "-c", PYARROW_SCRIPT, path, fmt, out])
            shutil.rmtree(out)
            return {"seconds": round(wall, 3), "rss": rss}

        run = median_run(once, args.repeat)
        r = {"tool": "pyarrow + numpy script", "input": "parquet", "format": fmt, "rows": rows,
             "seconds": run["seconds"], "runs_seconds": run["runs_seconds"],
             "rows_per_s": round(rows / run["seconds"]), "peak_rss_MB": round(run["rss"] / 2**20)}
        print(json.dumps(r), flush=True)
        results.append(r)
        return r

    reference = {}
    if not args.skip_pymilvus:
        reference = {fmt: pymilvus(fmt) for fmt in ["numpy", "parquet", "json"]}
    script = {fmt: pyarrow_script(parquet, fmt, args.rows) for fmt in ["numpy", "parquet"]}

    def compare(r):
        if r["format"] in reference:
            r["ratio_to_pymilvus"] = round(r["rows_per_s"] / reference[r["format"]]["rows_per_s"], 1)
        if r["input"] == "parquet" and r["format"] in script and r["rows"] == script[r["format"]]["rows"]:
            r["ratio_to_pyarrow_script"] = round(
                r["rows_per_s"] / script[r["format"]]["rows_per_s"], 2)

    for fmt in ["numpy", "parquet", "json", "jsonl", "csv"]:
        compare(ours(parquet, fmt))
    for fmt in ["numpy", "parquet", "json"]:
        compare(ours(jsonl, fmt))
    scaling = {}
    for path, kind in [(parquet, "parquet"), (jsonl, "jsonl")]:
        one = ours(path, "numpy", threads=1, label="threads")
        two = ours(path, "numpy", threads=2, label="threads")
        scaling[f"{kind}_to_numpy"] = round(two["rows_per_s"] / one["rows_per_s"], 2)
    remote = None
    if args.s3_endpoint:
        local = next(r for r in results if r["input"] == "parquet" and r["format"] == "parquet"
                     and r["tool"] == "bulkwriter")
        source = os.path.join(args.work, "remote-source")
        shutil.rmtree(source, ignore_errors=True)
        subprocess.run([args.bulkwriter, "convert", "--schema", SCHEMA, "--input", parquet,
                        "--format", "parquet", "--output", source, "--quiet"],
                       check=True, capture_output=True)
        remote = ours(parquet, "parquet", label="remote", remote_source=source)
        shutil.rmtree(source)
        remote["ratio_to_local"] = round(remote["rows_per_s"] / local["rows_per_s"], 2)

    memory = []
    if args.large_rows:
        large = generate(args.python, args.large_rows, args.work)
        script_large = {fmt: pyarrow_script(large, fmt, args.large_rows) for fmt in ["numpy", "parquet"]}
        for fmt in ["numpy", "parquet"]:
            for path, rows in [(parquet, args.rows), (large, args.large_rows)]:
                r = ours(path, fmt, rows=rows, label="memory")
                if rows == args.large_rows:
                    r["ratio_to_pyarrow_script"] = round(
                        r["rows_per_s"] / script_large[fmt]["rows_per_s"], 2)
                memory.append(r)

    summary = {
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine()},
        "rows": args.rows,
        "repeat": args.repeat,
        "settle_seconds": args.settle,
        "results": results,
        "two_threads_over_one": scaling,
        "remote_over_local": remote and remote["ratio_to_local"],
        "remote_over_upload_ceiling": remote and remote["ratio_to_upload_ceiling"],
        "memory": [{"rows": r["rows"], "format": r["format"], "peak_rss_MB": r["peak_rss_MB"]}
                   for r in memory],
    }
    if args.out:
        write_json(args.out, summary)
    if args.chart:
        chart(results, args.rows, args.chart)
    if args.table:
        with open(args.table, "w") as f:
            f.write(table(results, args.rows))
    print(json.dumps(summary, indent=2))


def table(results, rows):
    """The README's table: one line per measurement at `rows` rows."""
    names = {"numpy": "NUMPY", "parquet": "PARQUET", "json": "JSON", "jsonl": "JSONL", "csv": "CSV"}
    inputs = {"parquet": "Parquet", "jsonl": "JSONL", "rows in memory": "rows in memory"}
    lines = ["| contender | path | threads | rows/s | vs pymilvus | vs pyarrow script "
             "| of copy limit | peak RSS MB |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        if r["rows"] != rows or r.get("label") == "memory":
            continue
        path = f"{inputs[r['input']]} → {names[r['format']]}"
        if r.get("label") == "remote":
            path += " into moto (S3)"
        cells = [r["tool"], path, str(r.get("threads") or "—"), f"{r['rows_per_s']:,}",
                 f"{r['ratio_to_pymilvus']}×" if "ratio_to_pymilvus" in r else "—",
                 f"{r['ratio_to_pyarrow_script']}×" if "ratio_to_pyarrow_script" in r else "—",
                 f"{r['ratio_to_limit']:.2f}" if "ratio_to_limit" in r else "—",
                 f"{r['peak_rss_MB']:,}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def chart(results, rows, path):
    """A bar chart of rows/s per path and contender at `rows` rows (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bars = []
    for r in results:
        if r["rows"] != rows or r.get("label") in ("memory", "remote"):
            continue
        if r.get("label") == "threads":
            name = f"{r['input']} → {r['format']} --threads {r['threads']}"
        else:
            name = f"{r['input']} → {r['format']}"
        bars.append((r["tool"], name, r["rows_per_s"]))
    colors = {"bulkwriter": "#1f77b4", "pymilvus 3.0.2": "#d62728", "pyarrow + numpy script": "#2ca02c"}
    fig, ax = plt.subplots(figsize=(11, 0.38 * len(bars) + 1.5))
    labels = [f"{tool}: {name}" for tool, name, _ in bars]
    ax.barh(range(len(bars)), [b[2] for b in bars], color=[colors[b[0]] for b in bars])
    ax.set_yticks(range(len(bars)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("rows per second (log scale; median of fresh processes)")
    ax.set_title(f"medium_articles, {rows:,} rows, 768-dim vectors, 2 vCPU")
    for i, (_, _, v) in enumerate(bars):
        ax.text(v, i, f" {v:,}", va="center", fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
