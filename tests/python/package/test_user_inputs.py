"""Values at the edges of what users' tools print (issue 19 item 4), read back with numpy and
pyarrow, not with our own readers."""

import json

import numpy as np
import pyarrow.parquet as pq
import pytest

import bulkwriter
from bulkwriter import BulkFileType, BulkWriterError

SCHEMA = {
    "fields": [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "f", "type": "FLOAT"},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}},
        {"name": "a", "type": "ARRAY", "element_type": "FLOAT", "params": {"max_capacity": 4}},
        {"name": "s", "type": "SPARSE_FLOAT_VECTOR"},
        {"name": "n", "type": "INT64"},
    ]
}


def convert(tmp_path, lines, file_type=BulkFileType.PARQUET):
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))
    data = tmp_path / "in.jsonl"
    data.write_text("\n".join(lines) + "\n")
    return bulkwriter.convert(str(schema), [str(data)], str(tmp_path / "out"), file_type,
                              progress=False)


def test_float32_max_as_numpy_prints_it_is_float32_max_everywhere(tmp_path):
    top = np.finfo(np.float32).max
    text = str(top)  # numpy's spelling, "3.4028235e+38": a little above float32 max as a double
    assert float(text) > float(top)
    line = (f'{{"id": 1, "f": {text}, "v": [{text}, -{text}], "a": [{text}], '
            f'"s": {{"3": {text}}}, "n": -0}}')
    summary = convert(tmp_path, [line])
    table = pq.read_table(summary["batch_files"][0][0])
    row = table.to_pylist()[0]
    assert np.float32(row["f"]) == top
    assert np.array(row["v"], dtype=np.float32).tolist() == [top, -top]
    assert np.float32(row["a"][0]) == top
    # -0 is Python's and Milvus's integer 0.
    assert row["n"] == 0 and json.loads("-0") == 0
    sparse = row["s"] if isinstance(row["s"], dict) else json.loads(row["s"])
    assert np.float32(list(sparse.values())[0]) == top


def test_float32_max_lands_in_npy_files_as_numpy_reads_them(tmp_path):
    schema = tmp_path / "schema.json"
    fields = [f for f in SCHEMA["fields"] if f["name"] in ("id", "f", "v", "n")]
    schema.write_text(json.dumps({"fields": fields}))
    data = tmp_path / "in.jsonl"
    text = str(np.finfo(np.float32).max)
    data.write_text(f'{{"id": 1, "f": {text}, "v": [{text}, 0.5], "n": -0}}\n')
    summary = bulkwriter.convert(str(schema), [str(data)], str(tmp_path / "out"),
                                 BulkFileType.NUMPY, progress=False)
    files = {p.rsplit("/", 1)[1]: p for p in summary["batch_files"][0]}
    assert np.load(files["f.npy"]).tolist() == [np.finfo(np.float32).max]
    assert np.load(files["v.npy"])[0, 0] == np.finfo(np.float32).max
    assert np.load(files["n.npy"]).tolist() == [0]


@pytest.mark.parametrize("field,value", [("f", "3.5e38"), ("v", "[3.5e38, 0]"), ("a", "[-3.5e38]"),
                                         ("s", '{"1": 3.5e38}')])
def test_values_beyond_float32_are_refused_naming_the_field(tmp_path, field, value):
    row = {"id": "1", "f": "1.5", "v": "[1, 2]", "a": "[1]", "s": '{"1": 0.5}', "n": "1"}
    row[field] = value
    line = "{" + ", ".join(f'"{k}": {v}' for k, v in row.items()) + "}"
    with pytest.raises(BulkWriterError, match=f"'{field}'"):
        convert(tmp_path, [line])


def test_convert_decodes_vector_bytes_when_told_their_layout(tmp_path):
    import pyarrow as pa

    vectors = np.random.default_rng(3).standard_normal((5, 2)).astype(np.float32)
    table = pa.table({"id": np.arange(5, dtype=np.int64),
                      "v": pa.array([v.tobytes() for v in vectors], pa.binary())})
    pq.write_table(table, tmp_path / "bytes.parquet")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"fields": [SCHEMA["fields"][0], SCHEMA["fields"][2]]}))
    with pytest.raises(BulkWriterError, match="holds bytes, not float values"):
        bulkwriter.convert(str(schema), [str(tmp_path / "bytes.parquet")], str(tmp_path / "a"),
                           BulkFileType.NUMPY, progress=False)
    summary = bulkwriter.convert(str(schema), [str(tmp_path / "bytes.parquet")], str(tmp_path / "b"),
                                 BulkFileType.NUMPY, progress=False, vector_bytes={"v": "f32le"})
    files = {p.rsplit("/", 1)[1]: p for p in summary["batch_files"][0]}
    assert np.array_equal(np.load(files["v.npy"]), vectors)
