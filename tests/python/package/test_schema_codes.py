"""pymilvus schemas as users export them: ``json.dumps(schema.to_dict())`` writes pymilvus's
DataType IntEnum codes (``"type": 5``), which load as their types; ``bulkwriter.schema_json``
exports defaults and functions too."""

import json

from pymilvus import CollectionSchema, DataType, FieldSchema

import bulkwriter
from conftest import cli


def int_codes(value):
    """What json.dumps makes of to_dict(): IntEnum members become their integer."""
    if isinstance(value, dict):
        return {k: int_codes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [int_codes(v) for v in value]
    if isinstance(value, DataType):
        return int(value)
    return value


def test_integer_type_codes_load_as_the_types_they_name(tmp_path):
    fields = [FieldSchema("id", DataType.INT64, is_primary=True)]
    for dtype, params in [
        (DataType.BOOL, {}), (DataType.INT8, {}), (DataType.INT16, {}), (DataType.INT32, {}),
        (DataType.FLOAT, {}), (DataType.DOUBLE, {}), (DataType.VARCHAR, {"max_length": 16}),
        (DataType.JSON, {}), (DataType.TEXT, {}), (DataType.TIMESTAMPTZ, {}), (DataType.GEOMETRY, {}),
        (DataType.FLOAT_VECTOR, {"dim": 2}), (DataType.BINARY_VECTOR, {"dim": 8}),
        (DataType.FLOAT16_VECTOR, {"dim": 2}), (DataType.BFLOAT16_VECTOR, {"dim": 2}),
        (DataType.INT8_VECTOR, {"dim": 2}), (DataType.SPARSE_FLOAT_VECTOR, {}),
    ]:
        fields.append(FieldSchema(dtype.name.lower(), dtype, **params))
    fields.append(FieldSchema("tags", DataType.ARRAY, element_type=DataType.INT32, max_capacity=4))
    schema = CollectionSchema(fields)
    coded = int_codes(schema.to_dict())
    assert coded["fields"][1]["type"] == 1 and coded["fields"][-1]["element_type"] == 4
    (tmp_path / "coded.json").write_text(json.dumps(coded))
    (tmp_path / "named.json").write_text(bulkwriter.schema_json(schema))
    row = {"id": 1, "bool": True, "int8": 1, "int16": 2, "int32": 3, "float": 0.5, "double": 0.25,
           "varchar": "v", "json": {"a": 1}, "text": "t", "timestamptz": "2025-01-02T03:04:05Z",
           "geometry": "POINT (1 2)", "float_vector": [1, 2], "binary_vector": [7],
           "float16_vector": [0.5, 1], "bfloat16_vector": [0.5, 1], "int8_vector": [1, -1],
           "sparse_float_vector": {"3": 0.5}, "tags": [1, 2]}
    (tmp_path / "rows.jsonl").write_text(json.dumps(row) + "\n")
    outputs = []
    for name in ["coded", "named"]:
        run = cli("convert", "--quiet", "--schema", tmp_path / f"{name}.json", "--input", tmp_path / "rows.jsonl",
                  "--format", "jsonl", "--output", tmp_path / name)
        assert run.returncode == 0, run.stderr
        outputs.append(open(json.loads(run.stdout)["batch_files"][0][0]).read())
    assert outputs[0] == outputs[1]
    run = cli("validate", "--schema", tmp_path / "coded.json", "--input", tmp_path / "rows.jsonl")
    assert json.loads(run.stdout) == {"rows": 1, "accepted": 1, "rejected": 0, "duplicate_keys": 0}


def test_schema_json_exports_defaults_that_to_dict_cannot_serialise(tmp_path):
    schema = CollectionSchema([
        FieldSchema("id", DataType.INT64, is_primary=True),
        FieldSchema("v", DataType.FLOAT_VECTOR, dim=2),
        FieldSchema("score", DataType.DOUBLE, default_value=1.5),
        FieldSchema("name", DataType.VARCHAR, max_length=8, default_value="none"),
    ])
    try:
        json.dumps(schema.to_dict())
        raise AssertionError("to_dict() with defaults was expected not to serialise")
    except TypeError:
        pass
    (tmp_path / "schema.json").write_text(bulkwriter.schema_json(schema))
    (tmp_path / "rows.jsonl").write_text(json.dumps({"id": 1, "v": [1, 2]}) + "\n")
    run = cli("convert", "--quiet", "--schema", tmp_path / "schema.json", "--input", tmp_path / "rows.jsonl",
              "--format", "jsonl", "--output", tmp_path / "out")
    assert run.returncode == 0, run.stderr
    written = json.loads(open(json.loads(run.stdout)["batch_files"][0][0]).readline())
    assert written == {"id": 1, "v": [1.0, 2.0], "score": 1.5, "name": "none"}
