"""The Spark adapter's scaling (issue 17): the same job, medium_articles rows (768-dim
float32 vectors) read by Spark from Parquet files and written through ``milvus_bulk`` as
Parquet to a local folder, with 1 and then 2 executor cores: ``local[1]`` with the whole
process tree pinned to one CPU (``taskset``: a task's JVM thread and its Python worker share
it), against ``local[2]`` on two. Each run is a fresh Spark session in a fresh process; the
job's wall time is measured from ``save()`` to the plan being stored (the session's start-up
is not). Median of --runs runs each.

The same job through the Spark 3.3+ helper ``bulkwriter.spark.write`` (``mapInArrow``), and
with a ``mapInArrow`` sink that only counts the batches (``spark_alone``), which shows what
Spark's own reading and row-to-Arrow conversion cost. Each round runs every configuration
once. Also the per-task overhead: the same rows in many small partitions against few, the
difference in time divided by the difference in tasks.

Usage (the test venv with pyspark, our package built with --release):
  VIRTUAL_ENV=$PWD/target/test-venv target/test-venv/bin/maturin develop --release
  PYSPARK_PYTHON=$PWD/target/test-venv/bin/python SPARK_LOCAL_IP=127.0.0.1 \\
    target/test-venv/bin/python benches/spark.py --rows 200000 --out benches/results/spark.json
"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
JOB = os.path.join(ROOT, "tests", "python", "spark_job.py")
SCHEMA = os.path.join(ROOT, "schemas", "medium_articles.json")


def make_source(work, rows, partitions):
    """medium_articles rows in `partitions` Parquet files (throughput.py's generator)."""
    import pyarrow.parquet as pq

    sys.path.insert(0, HERE)
    from throughput import GENERATE

    source = os.path.join(work, f"source-{rows}-{partitions}")
    if not os.path.isdir(source):
        os.makedirs(source)
        whole = os.path.join(work, "whole.parquet")
        subprocess.run([sys.executable, "-c", GENERATE, str(rows), whole], check=True)
        table = pq.read_table(whole)
        os.remove(whole)
        per = -(-rows // partitions)
        for i in range(partitions):
            pq.write_table(table.slice(i * per, per), os.path.join(source, f"part-{i:05d}.parquet"))
    return source


def run_job(cores, rows, partitions, work, api="datasource"):
    """One fresh Spark process; returns the job's seconds."""
    out = os.path.join(work, "out")
    shutil.rmtree(out, ignore_errors=True)
    jobs = [{"api": api, "format": "parquet", "path": out, "job_id": "bench",
             "schema": SCHEMA, "source": make_source(work, rows, partitions), "chunk_size": "128MiB"}]
    with open(os.path.join(work, "jobs.json"), "w") as f:
        json.dump(jobs, f)
    env = dict(os.environ, PYSPARK_PYTHON=sys.executable, PYSPARK_DRIVER_PYTHON=sys.executable,
               SPARK_LOCAL_IP="127.0.0.1")
    cpus = ",".join(str(c) for c in range(cores))
    subprocess.run(["taskset", "-c", cpus, sys.executable, JOB, os.path.join(work, "jobs.json"),
                    os.path.join(work, "result.json"), "--cores", str(cores), "--batch-rows", "10000"],
                   env=env, check=True, capture_output=True)
    with open(os.path.join(work, "result.json")) as f:
        seconds = json.load(f)[0]["seconds"]
    if api == "noop":
        with open(os.path.join(work, "result.json")) as f:
            assert json.load(f)[0]["plan"]["rows"] == rows
    else:
        with open(os.path.join(out, "bench", "plan.json")) as f:
            assert json.load(f)["rows"] == rows
    return seconds


def median_of(runs, *args):
    times = [run_job(*args) for _ in range(runs)]
    return statistics.median(times), times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200000)
    parser.add_argument("--partitions", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="bulkwriter-spark-bench-")
    try:
        result = {"workload": f"medium_articles rows read from {args.partitions} Parquet files, {args.rows} rows, "
                              "768-dim float32, written as Parquet to a local folder",
                  "runs": args.runs, "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
                                                f"Python {platform.python_version()}"}
        # Every configuration once per round, rounds repeated: drift of this VM's speed over
        # the minutes of the benchmark falls on all of them alike.
        labels = {"datasource": "milvus_bulk", "mapinarrow": "write_helper", "noop": "spark_alone"}
        configs = [(api, cores) for api in labels for cores in (1, 2)]
        times = {config: [] for config in configs}
        for _ in range(args.runs):
            for api, cores in configs:
                times[(api, cores)].append(run_job(cores, args.rows, args.partitions, work, api))
        for api, label in labels.items():
            for cores in (1, 2):
                runs = times[(api, cores)]
                median = statistics.median(runs)
                result[f"{label}_{cores}_core"] = {
                    "median_seconds": round(median, 3), "rows_per_second": round(args.rows / median),
                    "runs_seconds": [round(t, 3) for t in runs]}
                print(f"{label}, {cores} core(s): {median:.2f} s, {args.rows / median:,.0f} rows/s", flush=True)
            result[f"{label}_speedup_2_over_1"] = round(
                result[f"{label}_1_core"]["median_seconds"] / result[f"{label}_2_core"]["median_seconds"], 2)
        # Per-task overhead: the same small job in 2 and in 64 partitions on 2 cores.
        small = max(args.rows // 20, 640)
        few, few_times = median_of(args.runs, 2, small, 2, work)
        many, many_times = median_of(args.runs, 2, small, 64, work)
        result["per_task_overhead"] = {
            "rows": small, "2_partitions_seconds": round(few, 3), "64_partitions_seconds": round(many, 3),
            # 62 more tasks, run two at a time.
            "seconds_per_task": round((many - few) * 2 / 62, 4)}
        print(json.dumps(result, indent=1))
        if args.out:
            with open(args.out, "w") as f:
                json.dump(result, f, indent=1)
                f.write("\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
