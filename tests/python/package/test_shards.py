"""``bulkwriter.convert(shard="I/N", run_id=...)`` (issue 17): N workers' runs hold every input
row exactly once, read back with pyarrow, and each run's folder is the id it was given."""

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import bulkwriter
from bulkwriter import BulkWriterError

SCHEMA = {
    "fields": [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "title", "type": "VARCHAR", "params": {"max_length": 64}},
        {"name": "vector", "type": "FLOAT_VECTOR", "params": {"dim": 2}},
    ]
}


def test_three_shards_of_a_parquet_file_and_a_jsonl_file_hold_every_row_once(tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    rows = [{"id": i, "title": f"t{i}", "vector": [i / 2, -1.0]} for i in range(400)]
    pq.write_table(pa.Table.from_pylist(rows[:250], schema=pa.schema([
        ("id", pa.int64()), ("title", pa.string()), ("vector", pa.list_(pa.float32()))])),
        tmp_path / "a.parquet", row_group_size=20)
    (tmp_path / "b.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows[250:]))
    out = tmp_path / "out"
    read = []
    for index in range(3):
        summary = bulkwriter.convert(str(schema), [str(tmp_path / "a.parquet"), str(tmp_path / "b.jsonl")],
                                     str(out), "parquet", shard=f"{index}/3", run_id=f"job-7.shard-{index}",
                                     chunk_size=2048, progress=False)
        assert summary["data_path"] == str(out / f"job-7.shard-{index}")
        assert 0 < summary["rows"] < 400
        for group in summary["batch_files"]:
            read.extend(pq.read_table(group[0]).to_pylist())
    assert sorted(read, key=lambda r: r["id"]) == rows


def test_a_bad_shard_or_run_id_is_refused_before_anything_is_written(tmp_path):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    (tmp_path / "a.jsonl").write_text('{"id": 1, "title": "t", "vector": [1, 2]}\n')
    out = tmp_path / "out"
    with pytest.raises(ValueError, match="shards count from 0 to 2"):
        bulkwriter.convert(str(schema), [str(tmp_path / "a.jsonl")], str(out), "parquet", shard="3/3",
                           progress=False)
    with pytest.raises(BulkWriterError, match="cannot name a run's folder"):
        bulkwriter.convert(str(schema), [str(tmp_path / "a.jsonl")], str(out), "parquet", run_id="a/b",
                           progress=False)
    assert not out.exists() or not any(out.iterdir())
