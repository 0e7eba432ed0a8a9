"""bulkwriter: files Milvus and Zilliz Cloud bulk-import, written by a Rust engine behind
pymilvus's ``bulk_writer`` API. Switch with one line::

    from bulkwriter import LocalBulkWriter, RemoteBulkWriter, BulkFileType, bulk_import

``LocalBulkWriter`` and ``RemoteBulkWriter`` take pymilvus's arguments and write the same
files (the differences are deliberate and listed in the README). Beyond pymilvus:
``append_batch`` takes Arrow data or a pandas DataFrame with no Python object per value, and
``convert`` runs the ``bulkwriter convert`` command's conversion of whole datasets, and
``bulkwriter.spark`` (a Spark DataFrame) and ``bulkwriter.ray`` (a Ray Dataset) convert on
many tasks into one import plan.
"""

import json
import sys
from typing import Callable, Dict, Optional, Sequence, Union

from . import _native
from ._errors import error_class, raises_bulkwriter_error
from ._schema import schema_json
from .bulk_import import Response, bulk_import, get_import_progress, list_import_jobs
from .writer import BulkFileType, BulkWriter, LocalBulkWriter, RemoteBulkWriter

__version__ = _native.__version__

__all__ = [
    "BulkFileType",
    "BulkWriter",
    "BulkWriterError",
    "LocalBulkWriter",
    "RemoteBulkWriter",
    "Response",
    "bulk_import",
    "convert",
    "get_import_progress",
    "list_import_jobs",
    "schema_json",
]


def _progress_bar(enabled: Optional[bool]) -> Optional[Callable]:
    """A tqdm bar over the input bytes when stderr is a terminal (or when asked)."""
    if enabled is False or (enabled is None and not sys.stderr.isatty()):
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    bar = None

    def update(done, total, rows, rejected):
        nonlocal bar
        if bar is None:
            bar = tqdm(total=total, unit="B", unit_scale=True, desc="converting")
        bar.n = done
        bar.set_postfix(rows=rows, rejected=rejected, refresh=False)
        bar.refresh()

    return update


@raises_bulkwriter_error
def convert(schema, inputs: Union[str, Sequence[str]], output: Optional[str],
            file_type: Union[BulkFileType, str] = BulkFileType.PARQUET, *,
            progress: Union[bool, Callable, None] = None, storage_options: Optional[Dict[str, str]] = None,
            mapping: Optional[Dict[str, str]] = None, **options) -> dict:
    """Converts datasets as ``bulkwriter convert`` does and returns its summary
    (``data_path``, ``batch_files``, ``batch_urls``, ``rows``, ``rejected``, ``segments``,
    ``import_options``, ``warnings``).

    ``inputs``: paths, globs or folders (JSONL, JSON, CSV/TSV, Parquet, NumPy folders,
    .fvecs/.bvecs/.ivecs/.npy vector dumps). ``output``: a local folder or ``s3://``,
    ``gs://``, ``az://``, ``oss://`` URL with object_store ``storage_options``. Other options
    are the command's, in snake case: ``input_format``, ``ignore_unknown``, ``on_error``
    (``"stop"``/``"skip"``), ``reject_file``, ``max_errors``, ``input_sep``, ``input_null``,
    ``vector_field``, ``id_start``, ``chunk_size`` (bytes), ``segments_in_flight``,
    ``csv_sep``, ``csv_null``, ``resume`` (a run's folder), ``allow_empty``, ``vector_bytes``
    (``{"vector": "f32le"}``: decode a Parquet binary column of raw float32, ``f16le`` or
    ``bf16le`` values into that float vector field), ``on_duplicate_key`` (``"error"``, ``"skip"``
    or ``"keep"``: a row whose primary key an earlier row had), ``shard`` (``"I/N"``: only part I
    of N of the inputs, so N workers each convert one; merge their runs with ``bulkwriter
    plan``), ``run_id`` (the run's folder name instead of a random uuid). ``progress``: ``True`` for a tqdm
    bar, a callable ``(bytes, total, rows, rejected)``, or ``None`` for a bar on a terminal.
    Ctrl-C stops the run after its current row, with the open segment stored."""
    from .writer import _file_type

    if isinstance(inputs, str):
        inputs = [inputs]
    callback = progress if callable(progress) else _progress_bar(progress)
    summary = _native.convert(
        schema_json(schema),
        [str(i) for i in inputs],
        None if output is None else str(output),
        _file_type(file_type),
        mapping=mapping or {},
        storage_options=list((storage_options or {}).items()),
        progress=callback,
        **options,
    )
    return json.loads(summary)


def __getattr__(name):
    # BulkWriterError is made on first use (see _errors): importing pymilvus is slow.
    if name == "BulkWriterError":
        return error_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | {"BulkWriterError"})
