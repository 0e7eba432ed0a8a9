"""Shared helpers of the Python package's tests: the reference directory, the CLI binary, and
the reference inputs decoded into the Python objects pymilvus was given."""

import json
import os
import subprocess
from pathlib import Path

import ml_dtypes
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[3]
REFERENCE = ROOT.parent / "shared" / "reference" / "pymilvus-3.0.2"
BINARY = Path(os.environ.get("BULKWRITER_BINARY", ROOT / "target" / "debug" / "bulkwriter"))


def decode(value):
    """A recorded input value as the Python object pymilvus got: NumPy arrays and scalars of
    their dtype, bytes, tuples, dicts with non-string keys, floats from their repr."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float_repr__" in value:
        return float(value["__float_repr__"])
    if "__ndarray__" in value:
        dtype = value["__ndarray__"]
        dtype = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)
        return np.array(value["data"], dtype=dtype)
    if "__npscalar__" in value:
        return np.dtype(value["__npscalar__"]).type(value["value"])
    if "__bytes_hex__" in value:
        return bytes.fromhex(value["__bytes_hex__"])
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        return {decode(k): decode(v) for k, v in value["__dict__"]}
    return {k: decode(v) for k, v in value.items()}


def plain(value):
    """A recorded input value as plain JSON (what a JSON input file would hold)."""
    if isinstance(value, list):
        return [plain(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "__float_repr__" in value:
        return float(value["__float_repr__"])
    if "__ndarray__" in value:
        return plain(value["data"])
    if "__npscalar__" in value:
        return plain(value["value"])
    if "__bytes_hex__" in value:
        return list(bytes.fromhex(value["__bytes_hex__"]))
    if "__tuple__" in value:
        return [plain(v) for v in value["__tuple__"]]
    if "__dict__" in value:
        return {str(plain(k)): plain(v) for k, v in value["__dict__"]}
    return {k: plain(v) for k, v in value.items()}


def reference_schema(case):
    """A case's schema, with the VARCHAR limit the Rust golden tests use: pymilvus counts
    characters, Milvus UTF-8 bytes, and the rows hold a 7-character, 21-byte value."""
    schema = json.loads((REFERENCE / "schemas" / f"{case}.json").read_text())
    for field in schema["fields"]:
        if field["name"] == "varchar" and field.get("params", {}).get("max_length") == 16:
            field["params"]["max_length"] = 21
    return schema


def reference_rows(case):
    return json.loads((REFERENCE / "inputs" / f"{case}.json").read_text())


def cli(*args):
    return subprocess.run([str(BINARY), *map(str, args)], capture_output=True, text=True)


def answer_json(handler, answer):
    """Answers an ``http.server`` request with ``answer`` as a JSON body (HTTP 200), as the
    import REST API answers."""
    data = json.dumps(answer).encode()
    handler.send_response(200)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


@pytest.fixture
def medium_rows():
    return json.loads((ROOT / "fixtures" / "medium_articles.json").read_text())["rows"]


MEDIUM_SCHEMA = ROOT / "schemas" / "medium_articles.json"
