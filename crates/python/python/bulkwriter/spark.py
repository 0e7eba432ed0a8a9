"""Spark: one DataFrame converted by many tasks, merged into one import plan.

Each task converts its partition's Arrow batches with the native writer and writes its
segments straight to the output (a local folder on a shared file system, or a bucket); the
driver merges what the tasks report into one import plan. Two ways in:

Spark 4 (the Python Data Source API)::

    import bulkwriter.spark
    bulkwriter.spark.register(spark)
    (df.write.format("milvus_bulk").mode("append")
       .option("schema", schema_json_text_or_path)
       .option("format", "parquet")                    # numpy, parquet, json, jsonl, csv
       .option("storage.aws_endpoint", "http://...")   # object_store options, "storage." + key
       .save("s3://bucket/prefix"))

Spark 3.3 and later (``mapInArrow``), which also returns the plan::

    plan = bulkwriter.spark.write(df, schema, "s3://bucket/prefix", "parquet",
                                  storage_options={...})

Layout: a job writes under ``<path>/<job_id>/`` (``job_id`` is an option; by default
``spark-<UTC time>-<8 hex>``). Every task attempt writes its own run,
``<job_id>/p<partition>-a<attempt>-t<task attempt id>/``, with its ``manifest.json``.
When every task has succeeded, the driver checks that each partition was committed exactly
once, removes every run of the job that was not committed (failed or speculative attempts),
and writes ``<job_id>/plan.json``: the import requests (within ``max_files_per_request``
groups and ``max_file_size`` bytes a group), as ``bulkwriter plan`` writes them.
``bulkwriter import create --manifest <job_id>/plan.json`` starts the imports. A job that
fails removes its whole folder.

Executors need this package installed (cluster libraries, ``spark.archives`` with a packed
venv, or an image). Everything here is created inside the task (no client at import time),
so forked Python workers are safe.
"""

import datetime
import json
import re
import uuid
from typing import Dict, Iterable, Iterator, List, Optional

from . import _native
from ._errors import error, raises_bulkwriter_error
from ._schema import schema_json
from .writer import _file_type

__all__ = ["SparkJob", "register", "write", "MilvusBulkDataSource", "PLAN_NAME"]

PLAN_NAME = "plan.json"
"""The import plan's name in a job's folder."""

_DEFAULT_CHUNK_SIZE = 128 << 20
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
_RUN = re.compile(r"^p(\d+)-a(\d+)-t(\d+)$")


def _size(value, name: str) -> int:
    """Bytes from an int or text such as ``"128MiB"`` (KB, MB, GB count 1000s)."""
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{name} {value!r}: give bytes, or a size such as 128MiB")
    unit = (match.group(2) or "").upper().rstrip("B")
    powers = {"": 0, "K": 1, "M": 2, "G": 3, "T": 4}
    base = 1024 if unit.endswith("I") else 1000
    return int(match.group(1)) * base ** powers[unit.rstrip("I")]


def _new_job_id() -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"spark-{now}-{uuid.uuid4().hex[:8]}"


class SparkJob:
    """One distributed write's settings, shared by the driver and (pickled) its tasks.

    ``schema``: a pymilvus ``CollectionSchema``, a dict, JSON text or a path (read here, on
    the driver). ``path``: a local folder every executor sees, or an ``s3://``, ``gs://``,
    ``az://``, ``oss://`` URL opened with object_store ``storage_options``. ``file_type``:
    ``numpy``, ``parquet``, ``json``, ``jsonl``, ``csv`` (or a ``BulkFileType``).
    ``chunk_size``: bytes a segment holds before the next one starts."""

    def __init__(self, schema, path: str, file_type="parquet", *, job_id: Optional[str] = None,
                 storage_options: Optional[Dict[str, str]] = None, chunk_size=_DEFAULT_CHUNK_SIZE,
                 max_files_per_request: Optional[int] = None, max_file_size=None,
                 csv_sep: Optional[str] = None, csv_null: Optional[str] = None):
        if not path:
            raise ValueError("path: give the output folder or bucket URL")
        self.schema_json = schema_json(schema)
        self.path = str(path).rstrip("/")
        self.file_type = _file_type(file_type)
        self.job_id = job_id or _new_job_id()
        if "/" in self.job_id or self.job_id.startswith("."):
            raise ValueError(f"job_id {self.job_id!r}: a folder name, without '/' or a leading '.'")
        self.storage_options = dict(storage_options or {})
        self.chunk_size = _size(chunk_size, "chunk_size")
        self.max_files_per_request = None if max_files_per_request is None else int(max_files_per_request)
        self.max_file_size = None if max_file_size is None else _size(max_file_size, "max_file_size")
        self.csv_sep = csv_sep
        self.csv_null = csv_null

    @classmethod
    def from_options(cls, options: Dict[str, str]) -> "SparkJob":
        """The job of a Data Source write's options (keys in any case)."""
        options = {str(k).lower(): v for k, v in options.items()}
        known = {"path", "schema", "format", "job_id", "chunk_size", "max_files_per_request",
                 "max_file_size", "csv_sep", "csv_null"}
        unknown = sorted(k for k in options if k not in known and not k.startswith("storage."))
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)}: milvus_bulk takes {', '.join(sorted(known))} "
                "and storage.<object_store key>")
        if "schema" not in options:
            raise ValueError("the schema option is missing: give the collection schema's JSON text or a path to it")
        return cls(
            options["schema"], options.get("path", ""), options.get("format", "parquet"),
            job_id=options.get("job_id"),
            storage_options={k[len("storage."):]: v for k, v in options.items() if k.startswith("storage.")},
            chunk_size=options.get("chunk_size", _DEFAULT_CHUNK_SIZE),
            max_files_per_request=options.get("max_files_per_request"),
            max_file_size=options.get("max_file_size"),
            csv_sep=options.get("csv_sep"), csv_null=options.get("csv_null"))

    @property
    def output(self) -> str:
        """The job's folder, ``<path>/<job_id>``."""
        return f"{self.path}/{self.job_id}"

    def _store(self, where: str):
        return _native.Store(where, list(self.storage_options.items()))

    @raises_bulkwriter_error
    def write_task(self, batches: Iterable, partition: int, attempt: int, task_attempt_id: int) -> str:
        """Converts one task attempt's Arrow batches into its own run and returns the run's
        finished manifest (JSON text). An attempt that fails removes what it stored."""
        run_id = f"p{partition:05d}-a{attempt}-t{task_attempt_id}"
        writer = _native.Writer(self.schema_json, self.output, self.file_type, self.chunk_size,
                                list(self.storage_options.items()), self.csv_sep, self.csv_null, run_id)
        try:
            writer.keep_manifest(json.dumps({"spark": {
                "job": self.job_id, "partition": partition, "attempt": attempt,
                "task_attempt_id": task_attempt_id}}))
            for batch in batches:
                writer.append_arrow(batch)
            writer.close()
            return writer.manifest(True)
        except BaseException:
            # Best effort: the driver removes every uncommitted run anyway.
            try:
                writer.stop_after_error()
            except Exception:
                pass
            try:
                self._store(self.output).remove_folder(run_id)
            except Exception:
                pass
            raise

    @raises_bulkwriter_error
    def commit(self, manifests: List[str], partitions: Optional[int] = None) -> dict:
        """Merges the committed tasks' manifests into ``<job_id>/plan.json`` after removing
        every run of the job they do not list; returns the plan, with ``plan_url``.
        ``partitions``: how many partitions the job had, each to be committed once."""
        parsed = [json.loads(m) for m in manifests]
        seen: Dict[int, str] = {}
        for manifest in parsed:
            partition = manifest["context"]["spark"]["partition"]
            if partition in seen:
                raise error(
                    f"partition {partition} was committed twice ({seen[partition]} and "
                    f"{manifest['data_url']}): its rows would be imported twice")
            seen[partition] = manifest["data_url"]
        count = len(parsed) if partitions is None else partitions
        missing = sorted(set(range(count)) - set(seen))
        if missing:
            raise error(
                f"partition(s) {', '.join(map(str, missing[:10]))} of {count} were not committed: "
                "the plan would lose their rows")
        plan_text = _native.plan_runs(manifests, self.max_files_per_request, self.max_file_size)
        store = self._store(self.output)
        committed = {m["data_url"].rstrip("/").rsplit("/", 1)[-1] for m in parsed}
        for run in self._runs(store):
            if run not in committed:
                store.remove_folder(run)
        store.put(PLAN_NAME, plan_text.encode())
        plan = json.loads(plan_text)
        plan["plan_url"] = store.url(PLAN_NAME)
        return plan

    @raises_bulkwriter_error
    def abort(self) -> None:
        """Removes the job's folder: every run of every attempt."""
        self._store(self.path).remove_folder(self.job_id)

    @staticmethod
    def _runs(store) -> List[str]:
        """The job's run folders (task attempts), from what is stored."""
        runs = set()
        for path, _ in store.list(""):
            top = path.split("/", 1)[0]
            if "/" in path and _RUN.match(top):
                runs.add(top)
        return sorted(runs)


def _task_context():
    from pyspark import TaskContext

    context = TaskContext.get()
    if context is None:
        raise error("not inside a Spark task")
    return context.partitionId(), context.attemptNumber(), context.taskAttemptId()


@raises_bulkwriter_error
def write(df, schema, path: str, file_type="parquet", **options) -> dict:
    """Writes a Spark DataFrame as import files (Spark 3.3 and later, through
    ``mapInArrow``): one run per task attempt under ``<path>/<job_id>/``, then the import
    plan ``<job_id>/plan.json``, which is returned (``requests``, ``groups``, ``rows``,
    ``bytes``, ``runs``, ``plan_url``). Columns are matched to the schema's fields by name.
    ``options``: ``job_id``, ``storage_options``, ``chunk_size``, ``max_files_per_request``,
    ``max_file_size``, ``csv_sep``, ``csv_null`` (see :class:`SparkJob`). A failed job
    removes its folder and raises."""
    job = SparkJob(schema, path, file_type, **options)
    return job_write(df, job)


def job_write(df, job: SparkJob) -> dict:
    """:func:`write` with a ready :class:`SparkJob`."""

    def convert(batches: Iterator):
        import pyarrow as pa

        partition, attempt, task_attempt_id = _task_context()
        manifest = job.write_task(batches, partition, attempt, task_attempt_id)
        yield pa.RecordBatch.from_pydict({"manifest": [manifest]})

    partitions = df.rdd.getNumPartitions()
    try:
        rows = df.mapInArrow(convert, "manifest string").collect()
        return job.commit([row.manifest for row in rows], partitions)
    except BaseException:
        job.abort()
        raise


try:
    from pyspark.sql.datasource import DataSource, DataSourceArrowWriter, WriterCommitMessage
except ImportError:  # Spark 3.x, or no pyspark: write() is the way in
    DataSource = None

if DataSource is not None:
    from dataclasses import dataclass

    @dataclass
    class MilvusBulkCommitMessage(WriterCommitMessage):
        """What a task attempt reports: its run's finished manifest (JSON text)."""

        manifest: str

    class MilvusBulkArrowWriter(DataSourceArrowWriter):
        """Each task converts its Arrow batches; the driver merges or removes the runs."""

        def __init__(self, job: SparkJob):
            self.job = job

        def write(self, iterator):
            partition, attempt, task_attempt_id = _task_context()
            return MilvusBulkCommitMessage(self.job.write_task(iterator, partition, attempt, task_attempt_id))

        def commit(self, messages):
            self.job.commit([m.manifest for m in messages], len(messages))

        def abort(self, messages):
            self.job.abort()

    class MilvusBulkDataSource(DataSource):
        """``df.write.format("milvus_bulk")``: options ``schema`` (JSON text or a path),
        ``path`` (or ``save(path)``), ``format``, ``job_id``, ``chunk_size``,
        ``max_files_per_request``, ``max_file_size``, ``csv_sep``, ``csv_null``, and
        ``storage.<key>`` for object_store options. The plan is ``<path>/<job_id>/plan.json``."""

        @classmethod
        def name(cls):
            return "milvus_bulk"

        def writer(self, schema, overwrite):
            if overwrite:
                raise error(
                    "milvus_bulk never overwrites: each write is a new job folder; use mode(\"append\")")
            return MilvusBulkArrowWriter(SparkJob.from_options(self.options))
else:
    MilvusBulkDataSource = None


def register(spark) -> None:
    """Registers the ``milvus_bulk`` data source with a Spark 4 session."""
    if MilvusBulkDataSource is None:
        raise error(
            "the milvus_bulk data source needs Spark 4's Python Data Source API "
            "(pyspark.sql.datasource.DataSourceArrowWriter); on Spark 3 use bulkwriter.spark.write(df, ...)")
    spark.dataSource.register(MilvusBulkDataSource)
