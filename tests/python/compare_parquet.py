"""Compares a Parquet file we wrote with pymilvus's reference file through pyarrow, an
independent reader: same column names, Arrow types and nullability, and the same values.

Usage: compare_parquet.py REFERENCE OURS CASE INPUTS_JSON
       compare_parquet.py ids FILE     (prints the "id" column as a JSON list)

Where we deliberately differ from pymilvus (README, "Differences from pymilvus"), the
expected value comes from the case's recorded input instead of the reference file:
  * FLOAT16/BFLOAT16 vectors are list<uint8> raw half bytes (the only form Milvus 2.5/2.6
    reads); expected = numpy float16 / ml_dtypes bfloat16 of the input floats (via float32).
  * nullable_defaults: n_int64 is exact (pymilvus rounds it through float64), and a null JSON
    value is a Parquet null (pymilvus writes the string "null").
Exits 1 and prints every difference when the files differ.
"""
import json
import sys

import ml_dtypes
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def untag(v):
    if isinstance(v, dict):
        if "__float_repr__" in v:
            return float(v["__float_repr__"])
        if "__ndarray__" in v:
            return [untag(x) for x in v["data"]]
        if "__npscalar__" in v:
            return v["value"]
        if "__bytes_hex__" in v:
            return list(bytes.fromhex(v["__bytes_hex__"]))
        if "__tuple__" in v:
            return [untag(x) for x in v["__tuple__"]]
        if "__dict__" in v:
            return {str(untag(k)): untag(x) for k, x in v["__dict__"]}
        return {k: untag(x) for k, x in v.items()}
    if isinstance(v, list):
        return [untag(x) for x in v]
    return v


def half_bytes(values, column):
    dtype = ml_dtypes.bfloat16 if column.startswith("bfloat16") else np.float16
    return list(np.array(values, dtype=np.float32).astype(dtype).tobytes())


def main():
    if sys.argv[1] == "ids":
        json.dump(pq.read_table(sys.argv[2]).column("id").to_pylist(), sys.stdout)
        return
    ref_path, ours_path, case, inputs_path = sys.argv[1:5]
    ref = pq.read_table(ref_path)
    ours = pq.read_table(ours_path)
    inputs = [untag(r) for r in json.load(open(inputs_path))]
    problems = []

    half_columns = {"float16_vector", "bfloat16_vector"} if case.startswith("fp16_") else set()
    if ref.schema.names != ours.schema.names:
        problems.append(f"columns: reference {ref.schema.names}, ours {ours.schema.names}")
    for name in ref.schema.names:
        if name not in ours.schema.names:
            continue
        rf, of = ref.schema.field(name), ours.schema.field(name)
        expected_type = pa.list_(pa.field("element", pa.uint8())) if name in half_columns else rf.type
        # pyarrow's type equality ignores list child names; the spelling does not
        # ("list<element: float>" vs "list<item: float>"), and Milvus needs pyarrow's names.
        if of.type != expected_type or str(of.type) != str(expected_type):
            problems.append(f"{name}: type {of.type}, expected {expected_type}")
        if of.nullable != rf.nullable:
            problems.append(f"{name}: nullable {of.nullable}, reference {rf.nullable}")
    if ref.num_rows != ours.num_rows:
        problems.append(f"rows: reference {ref.num_rows}, ours {ours.num_rows}")

    ref_rows, our_rows = ref.to_pylist(), ours.to_pylist()
    for i, (r, o) in enumerate(zip(ref_rows, our_rows)):
        for name, expected in r.items():
            got = o.get(name)
            source = inputs[i].get(name) if i < len(inputs) else None
            if name in half_columns:
                expected = half_bytes(source, name)
            elif case == "nullable_defaults" and name == "n_int64":
                expected = source
            elif case == "nullable_defaults" and name == "n_json" and source is None:
                expected = None
            if got != expected:
                problems.append(f"row {i + 1}, {name}: ours {got!r}, expected {expected!r}")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print(f"{case}: {ours.num_rows} rows, {len(ours.schema.names)} columns equal")


if __name__ == "__main__":
    main()
