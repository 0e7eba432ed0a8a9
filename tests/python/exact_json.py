"""Integers beyond 64 bits and `-0` in JSON fields and `$meta`, checked against Python's json.

  exact_json.py make DIR
      writes DIR/schema.json (a JSON field, dynamic field on) and the same rows as
      DIR/rows.jsonl, rows.json, rows.csv and rows.parquet. The values hold integers beyond
      64 bits (2^70 + 1, -2^80, 2^100) and the integer `-0`, in objects, in lists, nested, in
      JSON text given as a string, in `$meta` and in keys that go to `$meta`; `-0` is also
      the primary key of one row. JSON Lines and JSON give the JSON field as a value, CSV and
      Parquet as JSON text.
  exact_json.py check INPUT FORMAT OUTPUT_DIR
      reads what `convert` wrote from rows.INPUT in FORMAT (NumPy with numpy, Parquet with
      pyarrow, JSON/JSONL with json, CSV with csv) and compares every row's id, JSON field and
      `$meta` with what Python's json module reads from the input (which keeps every digit and
      reads `-0` as the integer 0). Values are compared as json.dumps spells them, so 0 and
      -0.0, or 2^70 + 1 and the float nearest it, differ. Prints "ok <rows>".
"""

import csv
import glob
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

SCHEMA = {
    "enable_dynamic_field": True,
    "fields": [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}},
        {"name": "j", "type": "JSON"},
    ],
}
BIG = 2**70 + 1
# Python cannot write the integer -0 (it is 0), so the text says NEG_ZERO where it goes.
NEG_ZERO = "__neg_zero__"


def rows():
    """The rows as JSON text would give them, NEG_ZERO standing for `-0`."""
    return [
        {
            "id": NEG_ZERO,
            "v": [0.5, 1],
            "j": {"big": BIG, "neg": -(2**80), "z": NEG_ZERO, "f": -0.0, "n": [2**64, NEG_ZERO]},
            "$meta": {"m": BIG, "k": NEG_ZERO},
            "extra": -(2**90),
        },
        {"id": 2, "v": [1, 2], "j": [2**100, NEG_ZERO, {"x": -BIG}], "ez": NEG_ZERO},
        {"id": 3, "v": [1, 2], "j": json.dumps({"s": 10**30, "t": [BIG]}), "$meta": {"q": {"a": 2**65}}},
        {"id": 4, "v": [1, 2], "j": {"plain": 1, "dup": BIG}, "$meta": {"only": 5}, "k2": 2**64 - 1},
    ]


def text(value):
    return json.dumps(value).replace(f'"{NEG_ZERO}"', "-0")


def make(d):
    with open(os.path.join(d, "schema.json"), "w") as f:
        json.dump(SCHEMA, f)
    data = rows()
    with open(os.path.join(d, "rows.jsonl"), "w") as f:
        for row in data:
            f.write(text(row) + "\n")
    with open(os.path.join(d, "rows.json"), "w") as f:
        f.write("[" + ",\n".join(text(row) for row in data) + "]")
    # CSV and Parquet carry the JSON field and $meta as JSON text; they have no extra keys.
    columns = {
        "id": [text(row["id"]) for row in data],
        "v": [text(row["v"]) for row in data],
        "j": [row["j"] if isinstance(row["j"], str) else text(row["j"]) for row in data],
        "$meta": [text(row.get("$meta", {})) for row in data],
    }
    with open(os.path.join(d, "rows.csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(list(columns))
        writer.writerows(zip(*columns.values()))
    table = pa.table(
        {
            "id": pa.array([int(json.loads(t)) for t in columns["id"]], pa.int64()),
            "v": pa.array([json.loads(t) for t in columns["v"]], pa.list_(pa.float32())),
            "j": pa.array(columns["j"], pa.string()),
            "$meta": pa.array(columns["$meta"], pa.string()),
        }
    )
    pq.write_table(table, os.path.join(d, "rows.parquet"))


def input_rows(d, kind):
    """The input rows as Python reads them: dicts whose JSON text cells are parsed."""
    path = os.path.join(d, f"rows.{kind}")
    if kind == "jsonl":
        with open(path) as f:
            return [json.loads(line) for line in f]
    if kind == "json":
        with open(path) as f:
            return json.load(f)
    if kind == "csv":
        with open(path, newline="") as f:
            return [
                {"id": int(r["id"]), "j": json.loads(r["j"]), "$meta": json.loads(r["$meta"])}
                for r in csv.DictReader(f)
            ]
    table = pq.read_table(path).to_pylist()
    return [{"id": r["id"], "j": json.loads(r["j"]), "$meta": json.loads(r["$meta"])} for r in table]


def expected(row):
    """(id, JSON field, $meta) as pymilvus writes them: keys that are no field and the
    members of `$meta` merged in row order."""
    j = row["j"]
    if isinstance(j, str):
        j = json.loads(j)
    meta = {}
    for key, value in row.items():
        if key == "$meta":
            meta.update(value)
        elif key not in ("id", "v", "j"):
            meta[key] = value
    return row["id"], j, meta


def output_rows(fmt, out):
    """(id, JSON field, $meta) of every row written, in order."""
    if fmt == "numpy":
        (segment,) = {os.path.dirname(p) for p in glob.glob(f"{out}/**/j.npy", recursive=True)}
        ids = np.load(os.path.join(segment, "id.npy")).tolist()
        js = np.load(os.path.join(segment, "j.npy")).tolist()
        metas = np.load(os.path.join(segment, "$meta.npy")).tolist()
        return [(i, json.loads(j), json.loads(m)) for i, j, m in zip(ids, js, metas)]
    (path,) = [
        p for p in glob.glob(f"{out}/**/*.{fmt}", recursive=True) if os.path.basename(p) != "manifest.json"
    ]
    if fmt == "parquet":
        table = pq.read_table(path).to_pylist()
        return [(r["id"], json.loads(r["j"]), json.loads(r["$meta"])) for r in table]
    if fmt == "csv":
        with open(path, newline="") as f:
            return [(int(r["id"]), json.loads(r["j"]), json.loads(r["$meta"])) for r in csv.DictReader(f)]
    with open(path) as f:
        written = json.load(f)["rows"] if fmt == "json" else [json.loads(line) for line in f]
    # A JSON field's list is written as JSON text (Milvus's JSON reader takes no bare list).
    return [
        (r["id"], json.loads(r["j"]) if isinstance(r["j"], str) else r["j"], r["$meta"]) for r in written
    ]


def check(kind, fmt, out):
    d = os.path.dirname(os.path.abspath(out))
    want = [expected(row) for row in input_rows(d, kind)]
    # The data must hold what the test is about, or it proves nothing.
    assert BIG in want[0][1].values() and want[0][0] == 0, want[0]
    got = output_rows(fmt, out)
    assert len(got) == len(want), (len(got), len(want))
    for n, (g, w) in enumerate(zip(got, want), 1):
        assert json.dumps(g) == json.dumps(w), f"row {n}:\n got  {json.dumps(g)}\n want {json.dumps(w)}"
    print(f"ok {len(got)}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4])
