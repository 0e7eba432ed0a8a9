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
       .option("import.uri", "http://milvus:19530")     # optional: start the imports,
       .option("import.collection", "articles")         #   "import." + setting
       .save("s3://bucket/prefix"))

Spark 3.3 and later (``mapInArrow``), which also returns the plan::

    plan = bulkwriter.spark.write(df, schema, "s3://bucket/prefix", "parquet",
                                  storage_options={...}, import_settings={...})

Layout (shared with ``bulkwriter.ray``): a job writes under ``<path>/<job_id>/`` (``job_id``
is an option; by default ``spark-<UTC time>-<8 hex>``). Every task attempt writes its own run,
``<job_id>/p<partition>-a<attempt>-t<task attempt id>/``, with its ``manifest.json``.
When every task has succeeded, the driver checks that each partition was committed exactly
once, removes every run of the job that was not committed (failed or speculative attempts),
and writes ``<job_id>/plan.json``: the import requests (within ``max_files_per_request``
groups and ``max_file_size`` bytes a group), as ``bulkwriter plan`` writes them.
``bulkwriter import create --manifest <job_id>/plan.json`` starts the imports, or the job
does with import settings (``import.<key>`` options; see :class:`bulkwriter._job.DistributedJob`):
then the driver sends the plan's requests and records the jobs in ``<job_id>/imports.json``.
A job that fails removes its whole folder, unless only its imports failed: then its files
and plan stay.

Executors need this package installed (cluster libraries, ``spark.archives`` with a packed
venv, or an image). Everything here is created inside the task (no client at import time),
so forked Python workers are safe.
"""

from typing import Dict, Iterable, Iterator

from ._errors import error, raises_bulkwriter_error
from ._job import _DEFAULT_CHUNK_SIZE, PLAN_NAME, DistributedJob

__all__ = ["SparkJob", "register", "write", "MilvusBulkDataSource", "PLAN_NAME"]


class SparkJob(DistributedJob):
    """One Spark write's settings (see :class:`bulkwriter._job.DistributedJob`), shared by
    the driver and (pickled) its tasks; a task attempt's run is
    ``p<partition>-a<attempt>-t<task attempt id>``."""

    engine = "spark"

    @classmethod
    def from_options(cls, options: Dict[str, str]) -> "SparkJob":
        """The job of a Data Source write's options (keys in any case)."""
        options = {str(k).lower(): v for k, v in options.items()}
        known = {"path", "schema", "format", "job_id", "chunk_size", "max_files_per_request",
                 "max_file_size", "csv_sep", "csv_null"}
        unknown = sorted(k for k in options if k not in known and not k.startswith(("storage.", "import.")))
        if unknown:
            raise ValueError(
                f"unknown option(s) {', '.join(unknown)}: milvus_bulk takes {', '.join(sorted(known))}, "
                "storage.<object_store key> and import.<import setting>")
        if "schema" not in options:
            raise ValueError("the schema option is missing: give the collection schema's JSON text or a path to it")
        return cls(
            options["schema"], options.get("path", ""), options.get("format", "parquet"),
            job_id=options.get("job_id"),
            storage_options={k[len("storage."):]: v for k, v in options.items() if k.startswith("storage.")},
            chunk_size=options.get("chunk_size", _DEFAULT_CHUNK_SIZE),
            max_files_per_request=options.get("max_files_per_request"),
            max_file_size=options.get("max_file_size"),
            csv_sep=options.get("csv_sep"), csv_null=options.get("csv_null"),
            import_settings={k[len("import."):]: v for k, v in options.items() if k.startswith("import.")})

    def write_task(self, batches: Iterable, partition: int, attempt: int, task_attempt_id: int) -> str:
        """Converts one task attempt's Arrow batches into its own run and returns the run's
        finished manifest (JSON text). An attempt that fails removes what it stored."""
        return self.write_run(batches, f"p{partition:05d}-a{attempt}-t{task_attempt_id}", {"spark": {
            "job": self.job_id, "partition": partition, "attempt": attempt,
            "task_attempt_id": task_attempt_id}})


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
    ``max_file_size``, ``csv_sep``, ``csv_null``, ``import_settings`` (see
    :class:`bulkwriter._job.DistributedJob`; with them the plan also lists the started jobs
    as ``imports``). A failed job removes its folder (unless only its imports failed) and
    raises."""
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
        ``max_files_per_request``, ``max_file_size``, ``csv_sep``, ``csv_null``,
        ``storage.<key>`` for object_store options, and ``import.<key>`` to start the imports
        (see :class:`bulkwriter._job.DistributedJob`). The plan is
        ``<path>/<job_id>/plan.json``."""

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
