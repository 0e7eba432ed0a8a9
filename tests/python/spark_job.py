"""Runs Spark jobs that write a medium_articles-like DataFrame through bulkwriter.spark, in
one local Spark session on loopback (local[C,2]: C cores, a failed task is retried once).

Usage: spark_job.py JOBS.json RESULT.json [--cores C] [--batch-rows N]

JOBS.json lists jobs: {"api": "datasource" | "mapinarrow" | "noop" (batches counted, nothing
written: what Spark itself costs), "format", "path", "job_id",
"rows", "partitions" (or "source": Parquet files to read instead), "chunk_size", "max_files_per_request", "storage_options": {...},
"truth": a Parquet file to write the DataFrame's rows into (as Spark collects them, the truth
the test compares against), "import": import settings (the data source's import.<key>
options), "expect_error": true (the job must fail; its message is recorded), "fault": {"partition": P, "batches": K, "marker": FILE} (the
first attempt of partition P lists what its run stored after K batches into FILE, then its
Python worker dies)}. RESULT.json gets, per job: the plan (mapinarrow) or nothing, the
wall time in seconds, and the error of a job expected to fail.

Needs PYSPARK_PYTHON (the workers' Python, with bulkwriter, pyarrow and boto3) and
SPARK_LOCAL_IP=127.0.0.1 in the environment.
"""

import argparse
import json
import os
import sys
import time

from pyspark.sql import SparkSession

import bulkwriter.spark


def articles(spark, rows, partitions):
    """A medium_articles-like DataFrame: 768-dim float vectors, non-ASCII titles."""
    return spark.range(0, rows, numPartitions=partitions).selectExpr(
        "id",
        "concat('Title ', id, ' ', repeat('café 数据 ', cast(id % 5 as int))) as title",
        "transform(sequence(0, 767), j -> cast(sin(id * 768 + j) as float)) as vector",
        "concat('https://medium.com/p/', hex(id * 2654435761)) as link",
        "id % 30 + 1 as reading_time",
        "element_at(array('The Startup', 'Towards Data Science', 'Café Society'), cast(id % 3 + 1 as int)) as publication",
        "(id * 7919) % 50000 as claps",
        "(id * 31) % 500 as responses",
    )


def stored_keys(path, storage_options, prefix):
    """Object keys (or local paths) under path/prefix."""
    if path.startswith("s3://"):
        import boto3

        bucket, _, base = path[len("s3://"):].partition("/")
        client = boto3.client("s3", endpoint_url=storage_options["aws_endpoint"],
                              aws_access_key_id=storage_options.get("aws_access_key_id", "test"),
                              aws_secret_access_key=storage_options.get("aws_secret_access_key", "test"),
                              region_name=storage_options.get("aws_region", "us-east-1"))
        listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{base}/{prefix}".lstrip("/"))
        return [o["Key"] for o in listed.get("Contents", [])]
    found = []
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if os.path.relpath(full, path).startswith(prefix):
                found.append(full)
    return found


def with_fault(df, job):
    """The DataFrame, with the first attempt of one partition killed after K batches, once
    its run has stored something (what it stored is recorded in the marker file)."""
    fault = job["fault"]
    path, storage_options = job["path"], job.get("storage_options", {})
    prefix = f"{job['job_id']}/p{fault['partition']:05d}-a0-"

    def maybe_fail(batches):
        from pyspark import TaskContext

        context = TaskContext.get()
        doomed = context.partitionId() == fault["partition"] and context.attemptNumber() == 0
        for i, batch in enumerate(batches):
            if doomed and i == fault["batches"]:
                keys = []
                for _ in range(100):  # the writer runs in another worker: wait for its segments
                    keys = [k for k in stored_keys(path, storage_options, prefix)
                            if not k.endswith("manifest.json")]
                    if keys:
                        break
                    time.sleep(0.1)
                with open(fault["marker"], "w") as f:
                    json.dump(keys, f)
                os._exit(17)
            yield batch

    return df.mapInArrow(maybe_fail, df.schema)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("jobs")
    parser.add_argument("result")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=250, help="rows per Arrow batch a task gets")
    args = parser.parse_args()
    jobs = json.load(open(args.jobs))
    spark = (SparkSession.builder.master(f"local[{args.cores},2]")
             .config("spark.ui.enabled", "false")
             .config("spark.ui.showConsoleProgress", "false")
             .config("spark.driver.host", "127.0.0.1")
             .config("spark.driver.bindAddress", "127.0.0.1")
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", str(args.batch_rows))
             .config("spark.python.worker.faulthandler.enabled", "true")
             .getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    bulkwriter.spark.register(spark)
    results = []
    try:
        for job in jobs:
            if job.get("source"):
                df = spark.read.parquet(job["source"])
            else:
                df = articles(spark, job.get("rows", 20000), job.get("partitions", 8))
            if job.get("truth"):
                import pyarrow.parquet as pq

                pq.write_table(df.toArrow(), job["truth"])
            if job.get("fault"):
                df = with_fault(df, job)
            options = dict(job_id=job["job_id"], storage_options=job.get("storage_options", {}),
                           chunk_size=job.get("chunk_size", "128MiB"),
                           max_files_per_request=job.get("max_files_per_request"),
                           import_settings=job.get("import"))
            start = time.perf_counter()
            try:
                plan = run_job(df, job, options)
            except Exception as e:
                if not job.get("expect_error"):
                    raise
                results.append({"plan": None, "seconds": time.perf_counter() - start, "error": str(e)})
                continue
            if job.get("expect_error"):
                raise SystemExit(f"job {job['job_id']} was expected to fail")
            results.append({"plan": plan, "seconds": time.perf_counter() - start})
    finally:
        spark.stop()
    json.dump(results, open(args.result, "w"))


def run_job(df, job, options):
    """Runs one job; returns the plan (mapinarrow), the rows counted (noop) or None."""
    if job["api"] == "noop":  # Spark's own cost: its batches counted, nothing written
        def count(batches):
            import pyarrow as pa

            yield pa.RecordBatch.from_pydict({"rows": [sum(b.num_rows for b in batches)]})

        return {"rows": sum(r.rows for r in df.mapInArrow(count, "rows long").collect())}
    if job["api"] == "mapinarrow":
        return bulkwriter.spark.write(df, job["schema"], job["path"], job["format"], **options)
    writer = (df.write.format("milvus_bulk").mode("append")
              .option("schema", job["schema"]).option("format", job["format"])
              .option("job_id", job["job_id"]).option("chunk_size", str(options["chunk_size"])))
    if options["max_files_per_request"]:
        writer = writer.option("max_files_per_request", str(options["max_files_per_request"]))
    for key, value in options["storage_options"].items():
        writer = writer.option(f"storage.{key}", value)
    for key, value in (options["import_settings"] or {}).items():
        writer = writer.option(f"import.{key}", value)
    writer.save(job["path"])
    return None


if __name__ == "__main__":
    sys.exit(main())
