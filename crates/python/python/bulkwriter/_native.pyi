"""Type stubs of the native module (see bulkwriter/__init__.py for the documented API)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__version__: str

class BulkWriterError(Exception):
    """A bad row, schema, option or storage failure, with the message the command line prints."""

class Writer:
    def __init__(
        self,
        schema_json: str,
        output: str,
        file_type: str,
        chunk_size: int,
        storage_options: Sequence[Tuple[str, str]] = ...,
        csv_sep: Optional[str] = ...,
        csv_null: Optional[str] = ...,
    ) -> None: ...
    def append_row(self, row: Dict[str, Any]) -> None: ...
    def append_arrow(self, data: Any) -> int: ...
    def commit(self) -> None: ...
    def close(self) -> None: ...
    @property
    def batch_files(self) -> List[List[str]]: ...
    @property
    def batch_urls(self) -> List[List[str]]: ...
    @property
    def data_path(self) -> str: ...
    @property
    def uuid(self) -> str: ...
    @property
    def buffer_row_count(self) -> int: ...
    @property
    def buffer_size(self) -> int: ...
    @property
    def total_row_count(self) -> int: ...
    @property
    def import_options(self) -> Dict[str, str]: ...

def convert(
    schema_json: str,
    inputs: Sequence[str],
    output: Optional[str],
    file_type: str,
    *,
    input_format: Optional[str] = ...,
    mapping: Dict[str, str] = ...,
    ignore_unknown: bool = ...,
    on_error: str = ...,
    reject_file: Optional[str] = ...,
    max_errors: Optional[int] = ...,
    input_sep: Optional[str] = ...,
    input_null: str = ...,
    vector_field: Optional[str] = ...,
    id_start: int = ...,
    chunk_size: int = ...,
    segments_in_flight: int = ...,
    csv_sep: Optional[str] = ...,
    csv_null: Optional[str] = ...,
    storage_options: Sequence[Tuple[str, str]] = ...,
    resume: Optional[str] = ...,
    allow_empty: bool = ...,
    vector_bytes: Dict[str, str] = ...,
    on_duplicate_key: str = ...,
    progress: Optional[Callable[[int, Optional[int], int, int], None]] = ...,
) -> str: ...

def rest_call(
    url: str, path: str, body_json: str, api_key: Optional[str] = ..., db_name: Optional[str] = ...,
    timeout_s: float = ...,
) -> Tuple[int, str]: ...
