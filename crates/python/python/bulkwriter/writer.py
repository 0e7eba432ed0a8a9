"""``LocalBulkWriter`` and ``RemoteBulkWriter`` with pymilvus 3.0.2's arguments, over the
native Rust writer."""

import os
from enum import IntEnum
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union
from urllib.parse import urlparse

from . import _native
from ._errors import error, raises_bulkwriter_error
from ._schema import schema_json

MB = 1024 * 1024


class BulkFileType(IntEnum):
    """The import file types, numbered as pymilvus numbers them."""

    NUMPY = 1
    NPY = 1  # pymilvus's deprecated name
    JSON = 2
    JSON_RB = 2  # pymilvus's deprecated name
    PARQUET = 3
    CSV = 4
    JSONL = 5


_NATIVE_TYPE = {
    BulkFileType.NUMPY: "numpy",
    BulkFileType.JSON: "json",
    BulkFileType.PARQUET: "parquet",
    BulkFileType.CSV: "csv",
    BulkFileType.JSONL: "jsonl",
}


def _file_type(file_type) -> str:
    if isinstance(file_type, str):
        return file_type.lower()
    try:
        return _NATIVE_TYPE[BulkFileType(int(file_type))]
    except (ValueError, KeyError):
        raise ValueError(f"unknown file type {file_type!r}: use BulkFileType.NUMPY, PARQUET, JSON, JSONL or CSV")


def _is_arrow(data) -> bool:
    return hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__")


class BulkWriter:
    """What both writers share: rows in (``append_row``), Arrow data in (``append_batch``),
    segments out (``commit``), and pymilvus's properties."""

    @raises_bulkwriter_error
    def __init__(self, schema, output: str, chunk_size: int, file_type, config: Optional[dict],
                 storage_options: Optional[List] = None, **kwargs):
        # pymilvus's old name for chunk_size still overrides it.
        segment_size = kwargs.get("segment_size", 0)
        if segment_size and segment_size > 0:
            chunk_size = segment_size
        config = config or {}
        self._chunk_size = int(chunk_size)
        self._file_type = file_type
        self._writer = _native.Writer(
            schema_json(schema),
            str(output),
            _file_type(file_type),
            self._chunk_size,
            storage_options or [],
            config.get("sep"),
            config.get("nullkey"),
        )
        self._closed = False

    @raises_bulkwriter_error
    def append_row(self, row: Dict[str, Any], **kwargs) -> None:
        """Validates one row and buffers it; a full segment is written out (the error of a
        bad row or a failed upload is raised here, never lost). Values are what pymilvus
        takes: Python scalars, lists, NumPy arrays and scalars (float16 and ml_dtypes'
        bfloat16 arrays for half vectors), bytes for binary vectors, dicts for sparse
        vectors."""
        if self._closed:
            raise error("the writer is closed")
        self._writer.append_row(row)

    @raises_bulkwriter_error
    def append_batch(self, data) -> int:
        """Appends many rows at once with no Python object per value: a ``pyarrow.Table`` or
        ``RecordBatch``, anything with ``__arrow_c_stream__`` or ``__arrow_c_array__``
        (polars, DuckDB), or a pandas DataFrame. Columns are matched to fields by name.
        Returns the rows appended."""
        if not _is_arrow(data) and hasattr(data, "to_dict") and hasattr(data, "columns"):
            import pyarrow as pa

            data = pa.Table.from_pandas(data, preserve_index=False)
        if not _is_arrow(data):
            raise TypeError(f"append_batch takes Arrow data or a pandas DataFrame, not {type(data).__name__}")
        if self._closed:
            raise error("the writer is closed")
        return self._writer.append_arrow(data)

    @raises_bulkwriter_error
    def commit(self, **kwargs) -> None:
        """Writes the buffered rows as a segment and waits until it is stored. pymilvus's
        ``call_back`` gets the segment's files; ``_async`` is accepted, and the commit is
        synchronous either way (a storage error is raised here)."""
        before = len(self._writer.batch_files)
        self._writer.commit()
        call_back: Optional[Callable] = kwargs.get("call_back")
        files = self._writer.batch_files
        if call_back and len(files) > before:
            call_back(files[-1])

    @raises_bulkwriter_error
    def close(self) -> None:
        """Ends the run: rows still buffered are written (they are not dropped, as pymilvus
        drops them) and the run's manifest is marked finished."""
        if not self._closed:
            self._closed = True
            self._writer.close()

    @property
    def batch_files(self) -> List[List[str]]:
        """The stored segments' files, grouped as a Milvus import request's ``files``."""
        return self._writer.batch_files

    @property
    def batch_urls(self) -> List[List[str]]:
        """The same files as full URLs (Zilliz Cloud's ``objectUrls``)."""
        return self._writer.batch_urls

    @property
    def data_path(self) -> str:
        """``<output>/<uuid>``."""
        return self._writer.data_path

    @property
    def uuid(self) -> str:
        """The run's folder name."""
        return self._writer.uuid

    @property
    def buffer_row_count(self) -> int:
        """Rows buffered in the open segment."""
        return self._writer.buffer_row_count

    @property
    def buffer_size(self) -> int:
        """The open segment's encoded size so far, in bytes."""
        return self._writer.buffer_size

    @property
    def total_row_count(self) -> int:
        """Rows in stored segments."""
        return self._writer.total_row_count

    @property
    def chunk_size(self) -> int:
        """A segment is closed once its encoded size passes this."""
        return self._chunk_size

    @property
    def import_options(self) -> Dict[str, str]:
        """The import request's ``options`` (CSV ``sep`` and ``nullkey``)."""
        return self._writer.import_options

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if exc_type is None:
            self.close()


class LocalBulkWriter(BulkWriter):
    """pymilvus's ``LocalBulkWriter``: segments under ``local_path/<uuid>/``.

    >>> writer = LocalBulkWriter(schema, "out", file_type=BulkFileType.NUMPY)  # doctest: +SKIP
    >>> writer.append_row({"id": 1, "vector": [0.1, 0.2]})                     # doctest: +SKIP
    >>> writer.commit(); writer.batch_files                                      # doctest: +SKIP
    [['out/<uuid>/1/id.npy', 'out/<uuid>/1/vector.npy']]
    """

    def __init__(self, schema, local_path: str, chunk_size: int = 128 * MB,
                 file_type: BulkFileType = BulkFileType.PARQUET, config: Optional[dict] = None,
                 **kwargs):
        self._local_path = str(local_path)
        super().__init__(schema, os.path.abspath(self._local_path), chunk_size, file_type, config, **kwargs)

    def __exit__(self, exc_type, exc_val, exc_tb):
        super().__exit__(exc_type, exc_val, exc_tb)
        _remove_if_empty(self.data_path)


def _remove_if_empty(folder: str) -> None:
    """pymilvus removes its run folder when nothing was written to it; the run's manifest
    alone does not count."""
    path = Path(folder)
    if not path.is_dir():
        return
    entries = [p.name for p in path.iterdir()]
    if entries and entries != ["manifest.json"]:
        return
    for name in entries:
        (path / name).unlink()
    path.rmdir()


class _S3ConnectParam:
    """Connection to S3 or an S3-compatible store (MinIO), as pymilvus spells it."""

    def __init__(self, bucket_name: str = "a-bucket", endpoint: Optional[str] = None,
                 access_key: Optional[str] = None, secret_key: Optional[str] = None,
                 secure: bool = False, enable_virtual_style_endpoint: bool = False,
                 session_token: Optional[str] = None, region: Optional[str] = None,
                 http_client: Any = None, credentials: Any = None):
        self.bucket_name = bucket_name
        self.endpoint = endpoint
        self.access_key = access_key
        self.secret_key = secret_key
        self.secure = secure
        self.enable_virtual_style_endpoint = enable_virtual_style_endpoint
        self.session_token = session_token
        self.region = region

    def location(self, remote_path: str):
        options = []
        if self.endpoint:
            endpoint = self.endpoint
            if "://" not in endpoint:
                endpoint = ("https://" if self.secure else "http://") + endpoint
            options.append(("endpoint", endpoint))
            if endpoint.startswith("http://"):
                options.append(("allow_http", "true"))
        if self.access_key:
            options.append(("access_key_id", self.access_key))
        if self.secret_key:
            options.append(("secret_access_key", self.secret_key))
        if self.session_token:
            options.append(("token", self.session_token))
        options.append(("region", self.region or "us-east-1"))
        if self.enable_virtual_style_endpoint:
            options.append(("virtual_hosted_style_request", "true"))
        return f"s3://{self.bucket_name}/{remote_path.strip('/')}", options


class _AzureConnectParam:
    """Connection to Azure Blob Storage: a connection string, or an account URL and a
    credential (the account key), as pymilvus spells it."""

    def __init__(self, container_name: str, conn_str: Optional[str] = None,
                 account_url: Optional[str] = None,
                 credential: Optional[Union[str, Dict[str, str]]] = None,
                 upload_chunk_size: int = 8 * MB, upload_concurrency: int = 4):
        self.container_name = container_name
        self.conn_str = conn_str
        self.account_url = account_url
        self.credential = credential

    def location(self, remote_path: str):
        options = []
        if self.conn_str:
            parts = dict(p.split("=", 1) for p in self.conn_str.split(";") if "=" in p)
            if "AccountName" in parts:
                options.append(("account_name", parts["AccountName"]))
            if "AccountKey" in parts:
                options.append(("access_key", parts["AccountKey"]))
            if "SharedAccessSignature" in parts:
                options.append(("sas_key", parts["SharedAccessSignature"]))
            endpoint = parts.get("BlobEndpoint")
            if endpoint:
                options.append(("endpoint", endpoint.rstrip("/")))
                if endpoint.startswith("http://"):
                    options.append(("allow_http", "true"))
        else:
            url = urlparse(self.account_url or "")
            account = url.hostname.split(".")[0] if url.hostname else None
            if account and url.hostname.endswith(".blob.core.windows.net"):
                options.append(("account_name", account))
            elif self.account_url:
                # An emulator or private endpoint: http://host:port/<account>
                options.append(("account_name", url.path.strip("/").split("/")[0]))
                options.append(("endpoint", self.account_url.rstrip("/")))
                if self.account_url.startswith("http://"):
                    options.append(("allow_http", "true"))
            key = self.credential
            if isinstance(key, dict):
                key = key.get("account_key")
            if key:
                options.append(("access_key", key))
        return f"az://{self.container_name}/{remote_path.strip('/')}", options


class RemoteBulkWriter(BulkWriter):
    """pymilvus's ``RemoteBulkWriter``: segments uploaded straight to
    ``<bucket>/<remote_path>/<uuid>/`` (no local temporary files). ``batch_files`` holds
    bucket-relative keys, as Milvus's import ``files`` takes them."""

    S3ConnectParam = _S3ConnectParam
    ConnectParam = _S3ConnectParam
    AzureConnectParam = _AzureConnectParam

    def __init__(self, schema, remote_path: str, connect_param, chunk_size: int = 1024 * MB,
                 file_type: BulkFileType = BulkFileType.PARQUET, config: Optional[dict] = None,
                 **kwargs):
        kwargs.pop("temp_local_path", None)
        output, options = connect_param.location(remote_path)
        super().__init__(schema, output, chunk_size, file_type, config, options, **kwargs)
