"""``bulkwriter.ray`` (issue 17's second adapter) with real Ray Data in local mode
(``num_cpus=2``, every address on 127.0.0.1) writing to the local S3 server: a 20,000-row
medium_articles-like Dataset in 8 blocks, as PARQUET, and as NUMPY with a write task whose
worker dies on its first attempt. The objects the plan lists are read back with boto3 +
pyarrow/numpy and compared with the Dataset's rows; nothing else may be under the job's
prefix, so the killed attempt's objects are gone.

One Ray instance runs every job (tests/python/ray_job.py). BULKWRITER_SKIP_RAY=1 skips.
"""

import json
import os

import pytest

from test_spark import check_job, run_jobs

BLOCKS = 8
FAULT_TASK = 3
JOBS = {
    "parquet_ray": {"format": "parquet", "chunk_size": "3MiB"},
    "numpy_ray_fault": {"format": "numpy", "chunk_size": "1MiB",
                        "fault": {"task": FAULT_TASK, "blocks": 3}},
}


def ray_missing():
    if os.environ.get("BULKWRITER_SKIP_RAY") == "1":
        return "BULKWRITER_SKIP_RAY=1"
    try:
        import ray  # noqa: F401
    except ImportError:
        return "ray is not installed (tests/python/requirements.txt has it)"
    if not os.environ.get("BULKWRITER_TEST_S3_ENDPOINT"):
        return "no local S3 server (tests/run.sh starts one)"
    return None


pytestmark = pytest.mark.skipif(ray_missing() is not None, reason=str(ray_missing()))


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Runs every job in one Ray instance; returns what check_job takes."""
    env = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
    return run_jobs(tmp_path_factory, "ray", JOBS, "ray_job.py", env, blocks=BLOCKS)


def test_the_ray_datasink_puts_every_row_once_in_parquet_files_the_plan_lists(runs):
    plan = check_job(runs, "parquet_ray", "parquet")
    assert all(len(r["groups"]) >= 1 for r in plan["requests"])


def test_a_write_task_whose_worker_dies_leaves_no_rows_twice_and_no_objects(runs):
    client, bucket, base, results, truth, work = runs
    name = "numpy_ray_fault"
    plan = check_job(runs, name, "numpy")
    # The killed attempt had stored objects of its own run; none is left.
    stored_then = json.loads((work / f"{name}.marker").read_text())
    doomed = f"{base}/{name}/p{FAULT_TASK:05d}-r"
    killed = {key for key in stored_then if key.startswith(doomed)}
    assert killed, f"the killed attempt stored nothing before it died: {stored_then}"
    planned_runs = {url.removeprefix(f"s3://{bucket}/") for url in plan["runs"]}
    assert not any(key.startswith(tuple(planned_runs)) for key in killed), "the retry is a new run"
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{base}/{name}/")
    assert not killed & {o["Key"] for o in listed.get("Contents", [])}
