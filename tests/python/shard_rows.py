"""Inputs and read-back for the --shard tests (tests/it/shards.rs), written and read by
Python's json and csv modules and pyarrow, not by bulkwriter.

  shard_rows.py make DIR     writes DIR/rows.jsonl, DIR/more.jsonl, DIR/rows.csv (quoted
                             titles with commas, quotes and line breaks) and DIR/rows.parquet
                             (row groups of 37 rows); prints every row as JSON, sorted by id
  shard_rows.py read FILE... prints the rows of Parquet files as JSON, sorted by id
"""
import csv
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq


def rows(start, count):
    out = []
    for i in range(start, start + count):
        title = f"title {i}"
        if i % 5 == 0:
            title += ", with a comma"
        if i % 7 == 0:
            title += '\nand a second line with "quotes"'
        if i % 11 == 0:
            title += " \u00e9t\u00e9 \u2603"
        out.append({"id": i, "title": title, "vector": [i / 8, -i / 4, 0.5, 1.0]})
    return out


def make(folder):
    first, second = rows(0, 300), rows(300, 200)
    with open(f"{folder}/rows.jsonl", "w", encoding="utf-8") as f:
        for row in first:
            f.write(json.dumps(row) + "\n")
            if row["id"] % 50 == 0:
                f.write("\n")  # blank lines are not rows
    with open(f"{folder}/more.jsonl", "w", encoding="utf-8") as f:
        for row in second:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    with open(f"{folder}/rows.csv", "w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "title", "vector"])
        for row in first + second:
            writer.writerow([row["id"], row["title"], json.dumps(row["vector"])])
    table = pa.table({
        "id": pa.array([r["id"] for r in first + second], pa.int64()),
        "title": pa.array([r["title"] for r in first + second], pa.string()),
        "vector": pa.array([r["vector"] for r in first + second], pa.list_(pa.float32())),
    })
    pq.write_table(table, f"{folder}/rows.parquet", row_group_size=37)
    assert pq.ParquetFile(f"{folder}/rows.parquet").num_row_groups > 10
    print(json.dumps(first + second))


def read(paths):
    out = []
    for path in paths:
        out.extend(pq.read_table(path).to_pylist())
    out.sort(key=lambda r: r["id"])
    print(json.dumps(out))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        read(sys.argv[2:])
