"""One dataset written by many tasks of a distributed engine (Spark, Ray), merged into one
import plan: what the engine adapters (``bulkwriter.spark``, ``bulkwriter.ray``) share.

Layout: a job writes under ``<path>/<job_id>/``. Every task attempt writes its own run,
``<job_id>/p<partition>-<attempt>/`` (Spark: ``a<attempt>-t<task attempt id>``; Ray:
``r<8 hex>``), with its ``manifest.json``, whose context names the engine and the partition.
When every task has succeeded, the driver checks that each partition was committed exactly
once, removes every run of the job that was not committed (failed, killed or speculative
attempts), and writes ``<job_id>/plan.json``: the import requests (within
``max_files_per_request`` groups and ``max_file_size`` bytes a group), as ``bulkwriter plan``
writes them. A job that fails removes its whole folder.

With ``import_settings``, the driver then starts the plan's imports through the REST import
API (Milvus 2.4 and later, or Zilliz Cloud), as ``bulkwriter import create --manifest
plan.json`` does, and records the jobs in ``<job_id>/imports.json`` (the state file that
command reads with ``--state``). If that fails, the job fails but its files, plan and
``imports.json`` are kept, so the imports can go on from where they stopped.
"""

import datetime
import json
import re
import uuid
from typing import Dict, Iterable, List, Optional

from . import _native
from ._errors import error, raises_bulkwriter_error
from ._schema import schema_json
from .writer import _file_type

PLAN_NAME = "plan.json"
"""The import plan's name in a job's folder."""

IMPORTS_NAME = "imports.json"
"""Where a job that starts its imports records their jobs, beside the plan."""

_DEFAULT_CHUNK_SIZE = 128 << 20
_SIZE = re.compile(r"^\s*(\d+)\s*([KMGT]?i?B?)?\s*$", re.IGNORECASE)
# A task attempt's run folder: p<partition>-a<attempt>-t<task attempt id> (Spark) or
# p<partition>-r<8 hex> (Ray).
_RUN = re.compile(r"^p(\d+)-(a\d+-t\d+|r[0-9a-f]{8})$")


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


def _new_job_id(engine: str) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S")
    return f"{engine}-{now}-{uuid.uuid4().hex[:8]}"


@raises_bulkwriter_error
def _import_settings(settings: Optional[Dict[str, str]]) -> List[tuple]:
    """The import settings as (key, text) pairs, checked before anything is converted."""
    pairs = [(str(k), str(v).lower() if isinstance(v, bool) else str(v)) for k, v in (settings or {}).items()]
    if pairs:
        _native.check_import_settings(pairs)
    return pairs


def _partition_of(manifest: dict) -> int:
    """The partition a run's manifest names in its context (``{"spark": {"partition": ..}}``
    or ``{"ray": {...}}``)."""
    for value in manifest.get("context", {}).values():
        if isinstance(value, dict) and "partition" in value:
            return int(value["partition"])
    raise error(f"the run {manifest.get('data_url')} names no partition in its manifest's context")


class DistributedJob:
    """One distributed write's settings, shared by the driver and (pickled) its tasks.

    ``schema``: a pymilvus ``CollectionSchema``, a dict, JSON text or a path (read here, on
    the driver). ``path``: a local folder every worker sees, or an ``s3://``, ``gs://``,
    ``az://``, ``oss://`` URL opened with object_store ``storage_options``. ``file_type``:
    ``numpy``, ``parquet``, ``json``, ``jsonl``, ``csv`` (or a ``BulkFileType``).
    ``chunk_size``: bytes a segment holds before the next one starts.

    ``import_settings``: start the plan's imports once it is written. Keys: ``uri`` (Milvus,
    ``http://host:19530``), ``token``, ``db_name``; or ``api_key``, ``cluster_id`` (Zilliz
    Cloud; ``cloud_endpoint``, ``project_id``, ``region_id``) with ``access_key`` and
    ``secret_key`` (``session_token``) or ``volume``; ``collection`` (needed),
    ``partition``; ``wait`` (follow the jobs to their end; a failed job fails the write),
    ``max_jobs_in_flight`` (4), ``poll_interval`` (2s), ``request_timeout`` (30s),
    ``retries`` (3); ``option.<key>`` for a request option. They are checked before
    anything is converted."""

    engine = "job"

    def __init__(self, schema, path: str, file_type="parquet", *, job_id: Optional[str] = None,
                 storage_options: Optional[Dict[str, str]] = None, chunk_size=_DEFAULT_CHUNK_SIZE,
                 max_files_per_request: Optional[int] = None, max_file_size=None,
                 csv_sep: Optional[str] = None, csv_null: Optional[str] = None,
                 import_settings: Optional[Dict[str, str]] = None):
        if not path:
            raise ValueError("path: give the output folder or bucket URL")
        self.schema_json = schema_json(schema)
        self.path = str(path).rstrip("/")
        self.file_type = _file_type(file_type)
        self.job_id = job_id or _new_job_id(self.engine)
        if "/" in self.job_id or self.job_id.startswith("."):
            raise ValueError(f"job_id {self.job_id!r}: a folder name, without '/' or a leading '.'")
        self.storage_options = dict(storage_options or {})
        self.chunk_size = _size(chunk_size, "chunk_size")
        self.max_files_per_request = None if max_files_per_request is None else int(max_files_per_request)
        self.max_file_size = None if max_file_size is None else _size(max_file_size, "max_file_size")
        self.csv_sep = csv_sep
        self.csv_null = csv_null
        self.import_settings = _import_settings(import_settings)

    @property
    def output(self) -> str:
        """The job's folder, ``<path>/<job_id>``."""
        return f"{self.path}/{self.job_id}"

    def _store(self, where: str):
        return _native.Store(where, list(self.storage_options.items()))

    @raises_bulkwriter_error
    def write_run(self, batches: Iterable, run_id: str, context: dict) -> str:
        """Converts one task attempt's Arrow batches into the run ``run_id`` (its manifest
        keeps ``context``, which names the partition) and returns the run's finished
        manifest (JSON text). An attempt that fails removes what it stored."""
        writer = _native.Writer(self.schema_json, self.output, self.file_type, self.chunk_size,
                                list(self.storage_options.items()), self.csv_sep, self.csv_null, run_id)
        try:
            writer.keep_manifest(json.dumps(context))
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
        ``partitions``: how many partitions the job had, each to be committed once (by
        default as many as there are manifests)."""
        parsed = [json.loads(m) for m in manifests]
        seen: Dict[int, str] = {}
        for manifest in parsed:
            partition = _partition_of(manifest)
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
        if self.import_settings:
            plan["imports"] = self._start_imports(plan_text, store, plan["plan_url"])
        return plan

    def _start_imports(self, plan_text: str, store, plan_url: str) -> List[dict]:
        """Sends the plan's requests and records their jobs in ``imports.json`` (also when it
        fails: then the jobs created so far); returns the jobs."""
        state, failure = _native.submit_plan(plan_text, self.import_settings)
        if state:
            store.put(IMPORTS_NAME, state.encode())
        if failure is not None:
            # The state file belongs to the plan's requests: the command must cut the same ones.
            limits = "".join(f" --{flag} {value}" for flag, value in (
                ("max-files-per-request", self.max_files_per_request), ("max-file-size", self.max_file_size))
                if value is not None)
            raise error(
                f"the imports of {plan_url} stopped: {failure}. The files and the plan are kept, and "
                f"{store.url(IMPORTS_NAME)} lists the jobs created: start the rest with `bulkwriter import "
                f"create --manifest <the plan> --state <a local copy of imports.json>{limits}` and the same target")
        return json.loads(state)["jobs"] if state else []

    @raises_bulkwriter_error
    def abort(self) -> None:
        """Removes the job's folder: every run of every attempt. A job that started its
        imports (its ``imports.json`` is written) failed in them only: its files stay."""
        if self._store(self.output).read(IMPORTS_NAME) is not None:
            return
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
