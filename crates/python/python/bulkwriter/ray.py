"""Ray Data: one Dataset converted by many write tasks, merged into one import plan::

    import bulkwriter.ray
    sink = bulkwriter.ray.MilvusBulkDatasink(schema, "s3://bucket/prefix", "parquet",
                                             storage_options={...})
    ds.write_datasink(sink)
    sink.plan          # on the driver: requests, groups, rows, bytes, runs, plan_url

Each write task converts its blocks (as Arrow) with the native writer and writes its run
straight to the output, ``<path>/<job_id>/p<task index>-r<8 hex>/``; a task retried after
its worker died writes a new run. When every task has succeeded, the driver
(``on_write_complete``) checks that each task index was committed once, removes every run it
was not told of (a killed attempt's), and writes ``<job_id>/plan.json``, as
``bulkwriter.spark`` does (the layout is described in ``bulkwriter._job``). A failed write removes the job's
folder. Workers need this package installed (a runtime environment or an image).
"""

import uuid

from ray.data import Datasink

from ._job import PLAN_NAME, DistributedJob

__all__ = ["MilvusBulkDatasink", "PLAN_NAME"]


class RayJob(DistributedJob):
    """One Ray write's settings (see :class:`bulkwriter._job.DistributedJob`)."""

    engine = "ray"


class MilvusBulkDatasink(Datasink):
    """``ds.write_datasink(MilvusBulkDatasink(schema, path, file_type, **options))``: writes
    a Ray Dataset as import files. Columns are matched to the schema's fields by name.
    ``options``: ``job_id``, ``storage_options``, ``chunk_size``, ``max_files_per_request``,
    ``max_file_size``, ``csv_sep``, ``csv_null``, ``import_settings`` (see
    :class:`bulkwriter._job.DistributedJob`). After the write, :attr:`plan` holds the import
    plan."""

    def __init__(self, schema, path: str, file_type="parquet", **options):
        self.job = RayJob(schema, path, file_type, **options)
        self.plan = None

    def write(self, blocks, ctx) -> str:
        """One write task: its blocks into its own run; returns the run's manifest."""
        from ray.data.block import BlockAccessor

        partition = ctx.task_idx
        run_id = f"p{partition:05d}-r{uuid.uuid4().hex[:8]}"
        batches = (BlockAccessor.for_block(block).to_arrow() for block in blocks)
        return self.job.write_run(batches, run_id, {"ray": {"job": self.job.job_id, "partition": partition}})

    def on_write_complete(self, write_result) -> None:
        # One return per write task: a task that returned nothing is a partition missing
        # from the plan, and commit says so.
        returns = list(getattr(write_result, "write_returns", write_result))
        self.plan = self.job.commit([m for m in returns if m is not None], partitions=len(returns))

    def on_write_failed(self, error: Exception) -> None:
        self.job.abort()

    def get_name(self) -> str:
        return "MilvusBulk"
