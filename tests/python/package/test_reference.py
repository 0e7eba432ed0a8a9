"""Every pymilvus 3.0.2 reference case written through the Python API from the Python rows
pymilvus was given (NumPy arrays and scalars, float16 and bfloat16 arrays, bytes, tuples,
dicts with integer keys), against the command line writing the same rows from JSON. The
command line's files are checked against the reference files themselves, with the README's
deliberate differences, by tests/it/golden_*.rs; here NPY, JSON, JSONL and CSV must be the
same bytes and Parquet the same table."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

import bulkwriter
from conftest import REFERENCE, cli, decode, plain, reference_rows, reference_schema

TYPES = {
    "numpy": bulkwriter.BulkFileType.NUMPY,
    "parquet": bulkwriter.BulkFileType.PARQUET,
    "json": bulkwriter.BulkFileType.JSON,
    "jsonl": bulkwriter.BulkFileType.JSONL,
    "csv": bulkwriter.BulkFileType.CSV,
}

RUNS = sorted(
    (file_type, path.name[: -len(".manifest.json")])
    for file_type in TYPES
    for path in (REFERENCE / file_type).glob("*.manifest.json")
)


def write_python(schema, rows, out, file_type, manifest):
    """The run through the Python API; returns (batch_files, error)."""
    kwargs = {}
    if manifest.get("chunk_size"):
        kwargs["chunk_size"] = manifest["chunk_size"]
    try:
        writer = bulkwriter.LocalBulkWriter(schema, str(out), file_type=TYPES[file_type],
                                            config=manifest.get("config"), **kwargs)
        for row in rows:
            writer.append_row(row)
        writer.commit()
        return writer.batch_files, None
    except bulkwriter.BulkWriterError as e:
        return None, str(e)


def write_cli(schema, rows, out, file_type, manifest, tmp):
    """The same rows as JSONL through `bulkwriter convert`; returns (batch_files, error)."""
    schema_path = tmp / "schema.json"
    schema_path.write_text(json.dumps(schema))
    rows_path = tmp / "rows.jsonl"
    rows_path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    args = ["convert", "--quiet", "--schema", schema_path, "--input", rows_path,
            "--format", file_type, "--output", out, "--ignore-unknown"]
    if manifest.get("chunk_size"):
        args += ["--chunk-size", str(manifest["chunk_size"])]
    config = manifest.get("config") or {}
    if "sep" in config:
        args += ["--csv-sep", "tab" if config["sep"] == "\t" else config["sep"]]
    if "nullkey" in config:
        args += ["--csv-null", config["nullkey"]]
    run = cli(*args)
    if run.returncode != 0:
        return None, run.stderr.strip().removeprefix("error: ")
    return json.loads(run.stdout)["batch_files"], None


@pytest.mark.parametrize("file_type,run", RUNS)
def test_reference_case_through_the_python_api(file_type, run, tmp_path):
    manifest = json.loads((REFERENCE / file_type / f"{run}.manifest.json").read_text())
    case = manifest["case"]
    schema = reference_schema(case)
    recorded = reference_rows(case)
    ours, our_error = write_python(schema, [decode(r) for r in recorded], tmp_path / "py", file_type, manifest)
    theirs, cli_error = write_cli(schema, [plain(r) for r in recorded], tmp_path / "cli", file_type, manifest, tmp_path)
    if cli_error is not None:
        # Refused the same way (e.g. a schema NumPy files cannot hold).
        assert our_error is not None and cli_error.endswith(our_error.split(": ", 1)[-1]), (our_error, cli_error)
        return
    assert our_error is None, our_error
    assert len(ours) == len(theirs), "segments"
    if manifest["batch_files"]:
        # Where pymilvus wrote the run, as many segments (where it failed, see the README).
        assert len(ours) == len(manifest["batch_files"]), "segments"
    for our_group, their_group in zip(ours, theirs):
        assert [Path(p).name for p in our_group] == [Path(p).name for p in their_group]
        for a, b in zip(our_group, their_group):
            if file_type == "parquet":
                assert pq.read_table(a).equals(pq.read_table(b)), a
                assert pq.read_schema(a).equals(pq.read_schema(b), check_metadata=True)
            else:
                assert Path(a).read_bytes() == Path(b).read_bytes(), a
