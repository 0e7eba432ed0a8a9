"""``bulkwriter.spark`` (issue 17) with real PySpark in local mode (``local[2]`` on loopback)
writing to the local S3 server: a 20,000-row medium_articles-like DataFrame in 8 partitions,
through the Data Source writer (``df.write.format("milvus_bulk")``) and the ``mapInArrow``
helper, as PARQUET and NUMPY, once with a task that dies on its first attempt. The objects
the plan lists are read back with boto3 + pyarrow/numpy and compared with the DataFrame's
rows as Spark collects them; nothing else may be under the job's prefix.

Two jobs also start their plan's imports (``import.<key>`` settings). Milvus 2.3.5, the only
server that runs here, has no REST import API (it answers 404), so they send to an HTTP
server in this test that records each request and answers as the API documents.

One Spark session runs every job (tests/python/spark_job.py). BULKWRITER_SKIP_SPARK=1 skips.
"""

import http.server
import io
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import answer_json, cli

ROOT = Path(__file__).resolve().parents[3]
SCHEMA = ROOT / "schemas" / "medium_articles.json"
ROWS = 20000
PARTITIONS = 8
FIELDS = ["id", "title", "vector", "link", "reading_time", "publication", "claps", "responses"]
FAULT_PARTITION = 3

JOBS = {
    "parquet_datasource": {"api": "datasource", "format": "parquet", "chunk_size": "3MiB",
                           "max_files_per_request": 5},
    "numpy_mapinarrow": {"api": "mapinarrow", "format": "numpy", "chunk_size": "3MiB"},
    "numpy_datasource_fault": {"api": "datasource", "format": "numpy", "chunk_size": "1MiB",
                               "fault": {"partition": FAULT_PARTITION, "batches": 4}},
    "parquet_mapinarrow_fault": {"api": "mapinarrow", "format": "parquet", "chunk_size": "1MiB",
                                 "fault": {"partition": FAULT_PARTITION, "batches": 4}},
    # import.uri is the test's import server's.
    "parquet_datasource_import": {"api": "datasource", "format": "parquet", "chunk_size": "3MiB",
                                  "max_files_per_request": 5,
                                  "import": {"collection": "articles", "wait": "true", "poll_interval": "50ms",
                                             "option.timeout": "300s"}},
    "numpy_mapinarrow_import_refused": {"api": "mapinarrow", "format": "numpy", "chunk_size": "3MiB",
                                        "max_files_per_request": 4,
                                        "import": {"collection": "refused", "token": "root:Milvus"},
                                        "expect_error": True},
}
REFUSAL = "the collection refused's import quota is used up"


class ImportServer:
    """Records the import API requests it gets and answers as the API documents: jobs are
    created (for collection ``refused``, the second create is refused with :data:`REFUSAL`)
    and described as Completed."""

    def __init__(self):
        self.requests = []
        lock = threading.Lock()
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with lock:
                    server.requests.append((self.path, body, self.headers.get("Authorization")))
                    created = [b for p, b, _ in server.requests
                               if p.endswith("/create") and b["collectionName"] == body.get("collectionName")]
                if self.path.endswith("/create"):
                    if body["collectionName"] == "refused" and len(created) == 2:
                        answer = {"code": 2100, "message": REFUSAL}
                    else:
                        answer = {"code": 0, "data": {"jobId": f"{body['collectionName']}-{len(created)}"}}
                else:
                    answer = {"code": 0, "data": {"jobId": body["jobId"], "state": "Completed", "progress": 100}}
                answer_json(self, answer)

            def log_message(self, *args):
                pass

        self.http = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.http.server_port}"
        threading.Thread(target=self.http.serve_forever, daemon=True).start()

    def creates(self, collection):
        return [(body, auth) for path, body, auth in self.requests
                if path == "/v2/vectordb/jobs/import/create" and body["collectionName"] == collection]


def spark_missing():
    if os.environ.get("BULKWRITER_SKIP_SPARK") == "1":
        return "BULKWRITER_SKIP_SPARK=1"
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (tests/python/requirements.txt has it)"
    if not os.environ.get("BULKWRITER_TEST_S3_ENDPOINT"):
        return "no local S3 server (tests/run.sh starts one)"
    return None


needs_spark = pytest.mark.skipif(spark_missing() is not None, reason=str(spark_missing()))


def run_jobs(tmp_path_factory, engine, jobs, script, env, **common):
    """Runs ``jobs`` ({name: settings}) with ``tests/python/<script>`` in one engine instance,
    each writing to the local S3 server under its own job id; a job's ``fault`` gets a marker
    file. Returns (s3 client, bucket, base, results by name, truth table, work folder)."""
    import boto3

    endpoint = os.environ["BULKWRITER_TEST_S3_ENDPOINT"]
    bucket = os.environ["BULKWRITER_TEST_S3_BUCKET"]
    base = f"py/{engine}-{time.time_ns()}"
    storage = {"aws_endpoint": endpoint, "aws_access_key_id": "test", "aws_secret_access_key": "test",
               "aws_region": "us-east-1", "aws_allow_http": "true"}
    work = tmp_path_factory.mktemp(engine)
    specs = []
    for name, job in jobs.items():
        job = dict(job, path=f"s3://{bucket}/{base}", job_id=name, schema=str(SCHEMA), rows=ROWS,
                   storage_options=storage, **common)
        if job.get("fault"):
            job["fault"] = dict(job["fault"], marker=str(work / f"{name}.marker"))
        specs.append(job)
    specs[0]["truth"] = str(work / "truth.parquet")
    (work / "jobs.json").write_text(json.dumps(specs))
    run = subprocess.run([sys.executable, str(ROOT / "tests" / "python" / script),
                          str(work / "jobs.json"), str(work / "result.json")],
                         env=dict(os.environ, **env), capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    results = dict(zip(jobs, json.loads((work / "result.json").read_text())))
    client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id="test",
                          aws_secret_access_key="test", region_name="us-east-1")
    return client, bucket, base, results, pq.read_table(specs[0]["truth"]), work


@pytest.fixture(scope="module")
def import_server():
    server = ImportServer()
    yield server
    server.http.shutdown()


@pytest.fixture(scope="module")
def runs(tmp_path_factory, import_server):
    """Runs every job in one Spark session; returns what :func:`run_jobs` does."""
    env = {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable,
           "SPARK_LOCAL_IP": "127.0.0.1"}
    jobs = {name: dict(job, **{"import": dict(job["import"], uri=import_server.url)}) if "import" in job else job
            for name, job in JOBS.items()}
    return run_jobs(tmp_path_factory, "spark", jobs, "spark_job.py", env, partitions=PARTITIONS)


def read_object(client, bucket, key):
    return client.get_object(Bucket=bucket, Key=key)["Body"].read()


def plan_rows(client, bucket, plan, file_type):
    """Every row of the files the plan lists, as one Arrow table, read by pyarrow or numpy."""
    tables = []
    for request in plan["requests"]:
        for group in request["groups"]:
            if file_type == "parquet":
                (key,) = group["files"]
                tables.append(pq.read_table(io.BytesIO(read_object(client, bucket, key))).select(FIELDS))
            else:
                columns = {Path(key).stem: np.load(io.BytesIO(read_object(client, bucket, key)))
                           for key in group["files"]}
                assert sorted(columns) == sorted(FIELDS), group["files"]
                vectors = columns["vector"]
                assert vectors.dtype == np.float32 and vectors.shape[1] == 768
                arrays = [pa.array(columns[f].tolist()) if f != "vector" else
                          pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), 768)
                          for f in FIELDS]
                tables.append(pa.Table.from_arrays(arrays, names=FIELDS))
    return pa.concat_tables(tables, promote_options="permissive")


def check_job(runs, name, file_type, also=()):
    """Checks that the job's plan lists every row once and that nothing else is under its
    prefix but its runs, the plan and the files named in ``also``."""
    client, bucket, base, results, truth, work = runs
    plan = json.loads(read_object(client, bucket, f"{base}/{name}/plan.json"))
    if results[name]["plan"] is not None:  # the mapInArrow helper returns what it stored
        returned = dict(results[name]["plan"])
        assert returned.pop("plan_url") == f"s3://{bucket}/{base}/{name}/plan.json"
        assert returned == plan
    assert plan["rows"] == ROWS and len(plan["runs"]) == PARTITIONS

    got = plan_rows(client, bucket, plan, file_type).sort_by("id")
    want = truth.sort_by("id")
    assert got.num_rows == ROWS
    ids = got.column("id").to_pylist()
    assert ids == want.column("id").to_pylist() == list(range(ROWS)), "every row exactly once"
    for field in FIELDS:
        ours = got.column(field).to_pylist()
        theirs = want.column(field).to_pylist()
        if field == "vector":
            ours = np.array(ours, dtype=np.float32)
            theirs = np.array(theirs, dtype=np.float32)
            assert np.array_equal(ours, theirs), field
        else:
            assert ours == theirs, field

    # Nothing else under the job's prefix: the plan, and each planned run's manifest and files.
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{base}/{name}/")
    keys = {o["Key"] for o in listed.get("Contents", [])}
    run_keys = {url.removeprefix(f"s3://{bucket}/") for url in plan["runs"]}
    planned = {key for r in plan["requests"] for g in r["groups"] for key in g["files"]}
    assert keys == ({f"{base}/{name}/plan.json"} | {f"{k}/manifest.json" for k in run_keys} | planned
                    | {f"{base}/{name}/{f}" for f in also})
    return plan


@needs_spark
def test_the_data_source_writer_puts_every_row_once_in_parquet_files_the_plan_lists(runs):
    plan = check_job(runs, "parquet_datasource", "parquet")
    assert plan["groups"] > PARTITIONS, "several segments per task"
    assert [len(r["groups"]) for r in plan["requests"]][:-1] == [5] * (len(plan["requests"]) - 1)
    assert 0 < len(plan["requests"][-1]["groups"]) <= 5


@needs_spark
def test_the_map_in_arrow_helper_puts_every_row_once_in_numpy_segments_the_plan_lists(runs):
    check_job(runs, "numpy_mapinarrow", "numpy")


@needs_spark
@pytest.mark.parametrize("name,file_type", [("numpy_datasource_fault", "numpy"),
                                            ("parquet_mapinarrow_fault", "parquet")])
def test_a_task_that_dies_on_its_first_attempt_leaves_no_rows_twice_and_no_objects(runs, name, file_type):
    client, bucket, base, results, truth, work = runs
    plan = check_job(runs, name, file_type)
    left = json.loads((work / f"{name}.marker").read_text())
    assert left, "the failed attempt had stored segments before it died"
    assert all(f"/p{FAULT_PARTITION:05d}-a0-" in key for key in left)
    listed = client.list_objects_v2(Bucket=bucket, Prefix=f"{base}/{name}/")
    remaining = {o["Key"] for o in listed.get("Contents", [])}
    assert not remaining & set(left), "the failed attempt's objects are gone"
    retried = [url for url in plan["runs"] if f"/p{FAULT_PARTITION:05d}-" in url]
    assert len(retried) == 1 and f"/p{FAULT_PARTITION:05d}-a1-" in retried[0], plan["runs"]


@needs_spark
def test_the_data_source_writer_starts_the_plans_imports_and_waits_for_them(runs, import_server):
    client, bucket, base, results, truth, work = runs
    plan = check_job(runs, "parquet_datasource_import", "parquet", also=["imports.json"])
    creates = import_server.creates("articles")
    assert len(plan["requests"]) > 1 and len(creates) == len(plan["requests"]), "one job per request"
    for (body, auth), request in zip(creates, plan["requests"]):
        assert body["files"] == [group["files"] for group in request["groups"]], "the request's groups, in order"
        assert body["options"] == {"timeout": "300s"} and auth is None
    imports = json.loads(read_object(client, bucket, f"{base}/parquet_datasource_import/imports.json"))
    jobs = imports["jobs"]
    assert [j["job_id"] for j in jobs] == [f"articles-{i + 1}" for i in range(len(creates))]
    assert {j["state"] for j in jobs} == {"Completed"}, "wait follows every job to its end"
    described = {b["jobId"] for p, b, _ in import_server.requests if p.endswith("/describe")}
    assert described == {j["job_id"] for j in jobs}


@needs_spark
def test_a_refused_import_fails_the_job_but_keeps_its_files_plan_and_jobs(runs, import_server):
    client, bucket, base, results, truth, work = runs
    name = "numpy_mapinarrow_import_refused"
    failure = results[name]["error"]
    assert REFUSAL in failure and "files and the plan are kept" in failure, failure
    plan = check_job(runs, name, "numpy", also=["imports.json"])
    assert len(plan["requests"]) > 2
    creates = import_server.creates("refused")
    assert len(creates) == 2, "no request after the refused one"
    assert [auth for _, auth in creates] == ["Bearer root:Milvus"] * 2
    assert creates[1][0]["files"] == [g["files"] for g in plan["requests"][1]["groups"]]
    jobs = json.loads(read_object(client, bucket, f"{base}/{name}/imports.json"))["jobs"]
    assert [(j["job_id"], j["state"]) for j in jobs[:2]] == [("refused-1", "Pending"), (None, "refused")]
    assert REFUSAL in jobs[1]["reason"]
    assert {j["state"] for j in jobs[2:]} == {"planned"}

    # What the error says to do goes on from there: the command with a local copy of
    # imports.json sends the requests not yet sent, and never the first again.
    local_plan, state = work / "refused_plan.json", work / "refused_imports.json"
    local_plan.write_bytes(read_object(client, bucket, f"{base}/{name}/plan.json"))
    state.write_bytes(read_object(client, bucket, f"{base}/{name}/imports.json"))
    assert "--max-files-per-request 4" in failure
    resumed = cli("import", "create", "--uri", import_server.url, "--collection", "refused",
                  "--manifest", local_plan, "--state", state, "--max-files-per-request", "4")
    assert resumed.returncode == 0, resumed.stderr
    creates = import_server.creates("refused")
    assert len(creates) == 2 + len(plan["requests"]) - 1, "each request not yet sent, once"
    assert [body["files"] for body, _ in creates[2:]] == [[g["files"] for g in r["groups"]]
                                                           for r in plan["requests"][1:]]
    jobs = json.loads(resumed.stdout)["jobs"]
    assert [j["job_id"] for j in jobs] == [f"refused-{i}" for i in [1] + list(range(3, len(creates) + 1))]


def test_a_job_whose_options_are_wrong_fails_before_any_task_and_names_the_option():
    from bulkwriter.spark import SparkJob

    with pytest.raises(ValueError, match="unknown option.*formatt"):
        SparkJob.from_options({"schema": str(SCHEMA), "path": "/tmp/x", "formatt": "parquet"})
    with pytest.raises(ValueError, match="schema option is missing"):
        SparkJob.from_options({"path": "/tmp/x"})
    with pytest.raises(ValueError, match="chunk_size '12 parsecs'"):
        SparkJob(str(SCHEMA), "/tmp/x", chunk_size="12 parsecs")
    from bulkwriter import BulkWriterError

    with pytest.raises(BulkWriterError, match='unknown import setting "colection"'):
        SparkJob.from_options({"schema": str(SCHEMA), "path": "/tmp/x", "import.uri": "http://127.0.0.1:1",
                               "import.colection": "articles"})
    with pytest.raises(BulkWriterError, match="collection names the collection"):
        SparkJob(str(SCHEMA), "/tmp/x", import_settings={"uri": "http://127.0.0.1:1"})
    with pytest.raises(BulkWriterError, match="wait: \"sometimes\" is neither true nor false"):
        SparkJob(str(SCHEMA), "/tmp/x", import_settings={"uri": "http://127.0.0.1:1", "collection": "c",
                                                         "wait": "sometimes"})


def small_batch(start, count):
    import pyarrow.compute as pc

    ids = pa.array(range(start, start + count), pa.int64())
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(np.full(count * 768, 0.5, np.float32)), 768)
    text = pc.cast(ids, pa.string())
    return pa.record_batch([ids, text, vectors, text, ids, text, ids, ids], names=FIELDS)


def test_the_driver_removes_runs_it_was_not_told_of_and_refuses_a_partition_twice_or_missing(tmp_path):
    """What the commit does when a task attempt was killed (its process gone, so it could not
    clean up): its run is found by listing and removed; only the committed runs are planned."""
    from bulkwriter import BulkWriterError, _native
    from bulkwriter.spark import SparkJob

    job = SparkJob(str(SCHEMA), str(tmp_path), "parquet", job_id="job", chunk_size=50_000)
    committed = [job.write_task([small_batch(i * 100, 100)], i, 0, 10 + i) for i in range(2)]
    # A killed attempt of partition 1: segments stored, manifest unfinished, never reported.
    killed = _native.Writer(job.schema_json, job.output, "parquet", 50_000, [], None, None, "p00001-a0-t9")
    killed.keep_manifest("{}")
    killed.append_arrow(small_batch(100, 100))
    killed.commit()
    assert any(p.is_file() for p in (tmp_path / "job" / "p00001-a0-t9").rglob("*.parquet"))

    with pytest.raises(BulkWriterError, match="partition 1 was committed twice"):
        job.commit(committed + [committed[1]])
    with pytest.raises(BulkWriterError, match="partition\\(s\\) 2 of 3 were not committed"):
        job.commit(committed, partitions=3)
    assert (tmp_path / "job" / "p00001-a0-t9").exists(), "a refused commit removes nothing"

    plan = job.commit(committed, partitions=2)
    assert plan["rows"] == 200 and len(plan["runs"]) == 2
    assert sorted(p.name for p in (tmp_path / "job").iterdir()) == ["p00000-a0-t10", "p00001-a0-t11", "plan.json"]
    assert json.loads((tmp_path / "job" / "plan.json").read_text()) == {k: v for k, v in plan.items() if k != "plan_url"}
    read = pa.concat_tables(pq.read_table(g["files"][0]) for r in plan["requests"] for g in r["groups"])
    assert sorted(read.column("id").to_pylist()) == list(range(200))

    job.abort()
    assert list(tmp_path.iterdir()) == [], "an aborted job leaves nothing"


def test_a_worker_that_imports_the_package_does_not_pay_for_importing_pymilvus():
    """Each Spark or Ray worker process imports the package; pymilvus (over half a second)
    is imported only when an error is made, and the error is still a MilvusException."""
    code = ("import sys, bulkwriter, bulkwriter.spark\n"
            "assert 'pymilvus' not in sys.modules, 'pymilvus was imported'\n"
            "import pymilvus\n"
            "assert issubclass(bulkwriter.BulkWriterError, pymilvus.MilvusException)\n"
            "from bulkwriter import BulkWriterError\n"
            "assert BulkWriterError is bulkwriter.BulkWriterError\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
