"""Runs Ray Data jobs that write a medium_articles-like Dataset through bulkwriter.ray, in one
local Ray instance on loopback (num_cpus=2; a write task whose worker dies is retried).

Usage: ray_job.py JOBS.json RESULT.json

JOBS.json lists jobs: {"format", "path", "job_id", "schema", "rows", "blocks", "chunk_size",
"storage_options": {...}, "truth": a Parquet file to write the Dataset's rows into (the truth
the test compares against), "fault": {"task": T, "blocks": K, "marker": FILE} (the first
attempt of write task T waits, after K blocks, until its run has stored an object, lists the
job's objects into FILE, then its worker process dies)}. RESULT.json gets, per job, the plan
the sink holds after the write and the wall time in seconds.

Needs RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0 in the environment (every Ray address on
127.0.0.1) and boto3 for the fault's listing.
"""

import json
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import ray

import bulkwriter.ray


def articles(first, rows):
    """Rows first..first+rows of a medium_articles-like table: 768-dim float32 vectors,
    non-ASCII titles."""
    ids = np.arange(first, first + rows, dtype=np.int64)
    vectors = np.sin(ids[:, None] * 768.0 + np.arange(768)[None, :]).astype(np.float32)
    publications = ["The Startup", "Towards Data Science", "Café Society"]
    return pa.table({
        "id": ids,
        "title": [f"Title {i} " + "café 数据 " * int(i % 5) for i in ids],
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 768),
        "link": [f"https://medium.com/p/{i * 2654435761:x}" for i in ids],
        "reading_time": ids % 30 + 1,
        "publication": [publications[i % 3] for i in ids],
        "claps": (ids * 7919) % 50000,
        "responses": (ids * 31) % 500,
    })


def stored_keys(path, storage_options, prefix):
    """Object keys under path/prefix (an s3:// path)."""
    import boto3

    bucket, _, base = path[len("s3://"):].partition("/")
    client = boto3.client("s3", endpoint_url=storage_options["aws_endpoint"],
                          aws_access_key_id="test", aws_secret_access_key="test",
                          region_name=storage_options.get("aws_region", "us-east-1"))
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{base}/{prefix}".lstrip("/"))
    return [o["Key"] for o in listed.get("Contents", [])]


class FaultySink(bulkwriter.ray.MilvusBulkDatasink):
    """The sink, with the first attempt of one write task killed after K blocks, once its
    run has stored something (what the job had stored is recorded in the marker file)."""

    def __init__(self, *args, fault, **kwargs):
        super().__init__(*args, **kwargs)
        self.fault = fault

    def write(self, blocks, ctx):
        fault = self.fault
        if ctx.task_idx != fault["task"] or os.path.exists(fault["marker"]):
            return super().write(blocks, ctx)
        job = self.job
        run_prefix = f"{job.job_id}/p{fault['task']:05d}-r"

        def dying():
            for i, block in enumerate(blocks):
                if i == fault["blocks"]:
                    for _ in range(200):  # the upload runs in the background: wait for it
                        if stored_keys(job.path, job.storage_options, run_prefix):
                            break
                        time.sleep(0.05)
                    with open(fault["marker"], "w") as f:
                        json.dump(stored_keys(job.path, job.storage_options, f"{job.job_id}/"), f)
                    os._exit(1)
                yield block

        return super().write(dying(), ctx)


def main():
    jobs = json.load(open(sys.argv[1]))
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=512 << 20,
             log_to_driver=False)
    # Small blocks, so a write task gets its rows block by block and stores segments as
    # it goes (the fault kills it midway).
    ray.data.DataContext.get_current().target_max_block_size = 1 << 20
    results = []
    try:
        for job in jobs:
            per_block = job["rows"] // job["blocks"]
            tables = [articles(b * per_block, per_block) for b in range(job["blocks"])]
            if job.get("truth"):
                pq.write_table(pa.concat_tables(tables), job["truth"])
            options = dict(job_id=job["job_id"], storage_options=job.get("storage_options", {}),
                           chunk_size=job["chunk_size"])
            if job.get("fault"):
                sink = FaultySink(job["schema"], job["path"], job["format"], fault=job["fault"], **options)
            else:
                sink = bulkwriter.ray.MilvusBulkDatasink(job["schema"], job["path"], job["format"], **options)
            ds = ray.data.from_arrow(tables)
            if job.get("fault"):
                # Re-batched in the write task, so its blocks arrive one by one (the same
                # remote args as the write's, so Ray fuses the two into one task per block).
                ds = ds.map_batches(lambda batch: batch, batch_format="pyarrow", batch_size=500,
                                    max_retries=2)
            start = time.perf_counter()
            ds.write_datasink(sink, ray_remote_args={"max_retries": 2})
            results.append({"plan": sink.plan, "seconds": time.perf_counter() - start})
    finally:
        ray.shutdown()
    json.dump(results, open(sys.argv[2], "w"))


if __name__ == "__main__":
    main()
