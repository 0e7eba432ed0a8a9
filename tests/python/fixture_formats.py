"""Writes the rows of a JSON fixture ({"rows": [...]}) in every input format bulkwriter reads,
with Python's own writers (json, csv, pyarrow, numpy), so the tests feed our readers files we
did not write.

Usage: fixture_formats.py FIXTURE SCHEMA OUT_DIR
Writes OUT_DIR/rows.jsonl, rows.csv, rows.tsv, rows.parquet (row groups of 7 rows, vectors
as fixed_size_list<float>, strings as large_utf8), rows_list.parquet (vectors as
list<float>, row groups of 11 rows, 1 KiB pages so vectors straddle pages) and
OUT_DIR/numpy/<field>.npy.
"""
import csv
import json
import os
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

fixture, schema_path, out = sys.argv[1:4]
rows = json.load(open(fixture))["rows"]
fields = json.load(open(schema_path))["fields"]
os.makedirs(os.path.join(out, "numpy"), exist_ok=True)

with open(os.path.join(out, "rows.jsonl"), "w") as f:
    for row in rows:
        f.write(json.dumps(row) + "\n")

for name, sep in (("rows.csv", ","), ("rows.tsv", "\t")):
    with open(os.path.join(out, name), "w", newline="") as f:
        writer = csv.writer(f, delimiter=sep)
        writer.writerow([fd["name"] for fd in fields])
        for row in rows:
            writer.writerow(
                [json.dumps(row[fd["name"]]) if isinstance(row[fd["name"]], list) else row[fd["name"]]
                 for fd in fields]
            )

columns = {}
for fd in fields:
    name, ty = fd["name"], fd["type"]
    values = [row[name] for row in rows]
    if ty == "FLOAT_VECTOR":
        dim = fd["params"]["dim"]
        flat = pa.array([v for vec in values for v in vec], pa.float32())
        columns[name] = pa.FixedSizeListArray.from_arrays(flat, dim)
        np.save(os.path.join(out, "numpy", name + ".npy"), np.array(values, dtype=np.float32))
    elif ty == "VARCHAR":
        columns[name] = pa.array(values, pa.large_string())
        np.save(os.path.join(out, "numpy", name + ".npy"), np.array(values))
    else:
        columns[name] = pa.array(values, pa.int64())
        np.save(os.path.join(out, "numpy", name + ".npy"), np.array(values, dtype=np.int64))
pq.write_table(pa.table(columns), os.path.join(out, "rows.parquet"), row_group_size=7)
# Vectors as list<float>, what pyarrow makes of Python lists, read without arrow-rs's list
# reader (crates/input/src/parquet_vectors.rs); pyarrow's other defaults (dictionary pages,
# snappy, version 1 data pages) kept.
list_columns = dict(columns)
for fd in fields:
    if fd["type"] == "FLOAT_VECTOR":
        vectors = [row[fd["name"]] for row in rows]
        list_columns[fd["name"]] = pa.array(vectors, pa.list_(pa.float32()))
pq.write_table(pa.table(list_columns), os.path.join(out, "rows_list.parquet"),
               row_group_size=11, data_page_size=1024)
