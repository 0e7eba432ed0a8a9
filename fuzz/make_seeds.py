"""Writes the fuzz targets' starting inputs into fuzz/seeds/<target>/: valid files of every
input format, built from fixtures/medium_articles.json, the pymilvus reference inputs and
schemas in ../shared/reference, and numpy's own .npy writer. libFuzzer mutates them, so the
readers are reached past their first bytes.

Run once by hand when a target changes (with the test venv's numpy and pyarrow):
    target/test-venv/bin/python fuzz/make_seeds.py
"""

import csv
import io
import json
import shutil
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "python"))
# The reference inputs tag values Python's json cannot hold; rows take their plain form.
from compare_parquet import untag  # noqa: E402

SEEDS = ROOT / "fuzz" / "seeds"
REFERENCE = ROOT.parent / "shared" / "reference" / "pymilvus-3.0.2"

# The order of fuzz/src/lib.rs: SCHEMAS[1..] for the rows target, VECTOR_TYPES for the pick
# byte of the vector targets, FILE_TYPES of rows.rs.
ROW_SCHEMAS = ["all_types", "struct", "nullable_defaults", "fp16_mixed_forms"]
VECTOR_TYPES = ["FLOAT_VECTOR", "FLOAT16_VECTOR", "BFLOAT16_VECTOR", "BINARY_VECTOR", "INT8_VECTOR"]
FILE_TYPES = 5
SEPARATOR = b"\n--next-file--\n"


def npy(array):
    out = io.BytesIO()
    np.save(out, array, allow_pickle=False)
    return out.getvalue()


def write(target, name, data):
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data if isinstance(data, bytes) else data.encode())


def articles(n):
    rows = json.loads((ROOT / "fixtures" / "medium_articles.json").read_text())["rows"][:n]
    for i, row in enumerate(rows):
        row["vector"] = [0.5 * i, -1.25, 3.0, 1e-3]
    return rows


def main():
    shutil.rmtree(SEEDS, ignore_errors=True)
    rows = articles(3)

    write("jsonl", "rows.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
    write("jsonl", "bad_line.jsonl", json.dumps(rows[0]) + "\n{not json\n" + json.dumps(rows[1]) + "\n")
    write("json", "list.json", json.dumps(rows, indent=2))
    write("json", "rows_object.json", json.dumps({"rows": rows}))

    text = io.StringIO()
    out = csv.writer(text, lineterminator="\n")
    out.writerow(rows[0].keys())
    for r in rows:
        out.writerow(json.dumps(v) if isinstance(v, list) else v for v in r.values())
    write("csv", "rows.csv", text.getvalue())

    vectors = np.arange(12, dtype=np.float64).reshape(3, 4) / 3 - 1
    for pick, dtype in [(0, "<f4"), (0, "<f8"), (1, "<f2"), (2, "<f4"), (4, "|i1"), (3, "|u1")]:
        array = vectors.astype(dtype) if dtype != "|u1" else np.array([[1, 2, 3, 4]] * 3, dtype=np.uint8)
        write("npy", f"{VECTOR_TYPES[pick].lower()}_{dtype[1:]}.npy", bytes([pick]) + npy(array))
    write("npy", "fortran_order.npy", bytes([0]) + npy(np.asfortranarray(vectors.astype("<f4"))))

    dim = struct.pack("<i", 4)
    fvecs = b"".join(dim + struct.pack("<4f", *row) for row in vectors)
    bvecs = b"".join(dim + bytes([1, 2, 3, 4]) for _ in range(3))
    ivecs = b"".join(dim + struct.pack("<4i", 1, -2, 3, -4) for _ in range(3))
    # The pick byte: format = pick % 3, vector type = pick // 3 % 5.
    write("vecs", "float.fvecs", bytes([0]) + fvecs)
    write("vecs", "float16.fvecs", bytes([0 + 3 * 1]) + fvecs)
    write("vecs", "binary.bvecs", bytes([1 + 3 * 3]) + bvecs)
    write("vecs", "int8.ivecs", bytes([2 + 3 * 4]) + ivecs)

    for pick, dtype in [(0, "<f4"), (4, "|i1")]:
        folder = SEPARATOR.join([
            npy(np.array([1, 2, 3], dtype="<i8")),
            npy((vectors * 3).astype(dtype)),
            npy(np.array(["a", "bé", "c"], dtype="<U2")),
        ])
        write("numpy_dir", f"{VECTOR_TYPES[pick].lower()}.bin", bytes([pick]) + folder)

    for path in sorted((REFERENCE / "schemas").glob("*.json")):
        write("schema", path.name, path.read_bytes())
    write("schema", "medium_articles.json", (ROOT / "schemas" / "medium_articles.json").read_bytes())
    write("schema", "rest_describe.json", json.dumps({"code": 0, "data": {
        "collectionName": "c", "enableDynamicField": True, "fields": [
            {"name": "id", "type": "Int64", "primaryKey": True, "autoId": False},
            {"name": "v", "type": "FloatVector", "params": [{"key": "dim", "value": "8"}]},
            {"name": "tags", "type": "Array", "elementType": "VarChar",
             "params": [{"key": "max_capacity", "value": "4"}, {"key": "max_length", "value": "16"}]},
            {"name": "n", "type": "Int32", "nullable": True, "defaultValue": 7},
        ]}}))

    for index, name in enumerate(ROW_SCHEMAS):
        reference_rows = untag(json.loads((REFERENCE / "inputs" / f"{name}.json").read_text()))
        jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in reference_rows)
        for file_type in range(FILE_TYPES):
            pick = index + len(ROW_SCHEMAS) * file_type
            write("rows", f"{name}_{file_type}.jsonl", bytes([pick]) + jsonl.encode())

    for target in sorted(SEEDS.iterdir()):
        print(f"{target.name}: {len(list(target.iterdir()))} seeds")


if __name__ == "__main__":
    main()
