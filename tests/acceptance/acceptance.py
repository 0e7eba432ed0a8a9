"""Acceptance by a real Milvus: files written by OUR `bulkwriter convert` are imported into
Milvus 2.3.5 (started by tests/acceptance/run.sh) and every row is read back and compared with
the input.

Each case: a schema (pymilvus to_dict JSON, the form `--schema` takes) and rows. For every
format the case lists, the rows are converted by the bulkwriter binary into several segments,
each segment is imported with `utility.do_bulk_insert` (one task per JSON/Parquet file, one per
NumPy segment folder), and after the collection is indexed and loaded every row is compared:
vectors as exact float32, JSON parsed, arrays as lists, dynamic keys through `$meta`. Error
cases import files the server must refuse and check that it does.

Usage: acceptance.py --port PORT --bulkwriter BIN --workdir DIR [--only CASE,...]
Prints one "PASS"/"FAIL" line per check and ends with "N passed, N failed".
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time

import numpy as np
from pymilvus import Collection, CollectionSchema, DataType, FieldSchema, connections, utility

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def field(name, type_name, **params):
    spec = {"name": name, "type": type_name}
    for key in ("is_primary", "element_type"):
        if key in params:
            spec[key] = params.pop(key)
    if params:
        spec["params"] = params
    return spec


def milvus_schema(spec):
    fields = []
    for f in spec["fields"]:
        kwargs = dict(f.get("params", {}))
        if f.get("is_primary"):
            kwargs["is_primary"] = True
        if "element_type" in f:
            kwargs["element_type"] = DataType[f["element_type"]]
        fields.append(FieldSchema(f["name"], DataType[f["type"]], **kwargs))
    return CollectionSchema(fields, enable_dynamic_field=spec.get("enable_dynamic_field", False))


# ---------------------------------------------------------------- cases --

def text(rng, max_bytes):
    """Non-ASCII text of at most max_bytes UTF-8 bytes."""
    pool = ["a", "Z", "é", "日本", "ü", " ", "\"", ",", "😀"]
    s = ""
    while True:
        piece = rng.choice(pool)
        if len((s + piece).encode()) > max_bytes:
            return s
        s += piece


def case_medium(rng):
    schema = json.load(open(os.path.join(ROOT, "schemas/medium_articles.json")))
    rows = json.load(open(os.path.join(ROOT, "fixtures/medium_articles.json")))["rows"]
    return schema, rows


def case_scalars(rng):
    schema = {"fields": [
        field("id", "INT64", is_primary=True), field("b", "BOOL"), field("i8", "INT8"),
        field("i16", "INT16"), field("i32", "INT32"), field("i64", "INT64"),
        field("f", "FLOAT"), field("d", "DOUBLE"), field("s", "VARCHAR", max_length=64),
        field("v", "FLOAT_VECTOR", dim=4)]}
    rows = []
    for i in range(300):
        rows.append({"id": i, "b": i % 3 == 0, "i8": rng.randint(-128, 127),
                     "i16": rng.randint(-32768, 32767), "i32": rng.randint(-2**31, 2**31 - 1),
                     "i64": rng.randint(-2**63, 2**63 - 1), "f": rng.uniform(-1e6, 1e6),
                     "d": rng.uniform(-1e300, 1e300), "s": text(rng, 64),
                     "v": [rng.uniform(-1, 1) for _ in range(4)]})
    return schema, rows


def case_varchar_at_max_length(rng):
    # Milvus counts max_length in UTF-8 bytes: 12 bytes is 4 CJK characters.
    schema = {"fields": [field("id", "INT64", is_primary=True),
                         field("s", "VARCHAR", max_length=12), field("v", "FLOAT_VECTOR", dim=2)]}
    values = ["日本語テ", "éééééé", "a" * 12, "😀😀😀", "", "x"]
    rows = [{"id": i, "s": values[i % len(values)], "v": [i, -i]} for i in range(60)]
    return schema, rows


def case_json(rng):
    schema = {"fields": [field("id", "INT64", is_primary=True), field("j", "JSON"),
                         field("v", "FLOAT_VECTOR", dim=2)]}
    values = [{"a": 1, "b": [1, 2, {"c": None}], "u": "é"}, [1, 2.5, "x"], {"nested": {"k": True}},
              {}, {"big": 2**62 + 1}]
    rows = [{"id": i, "j": values[i % len(values)], "v": [0.5, i]} for i in range(100)]
    return schema, rows


def case_dynamic(rng):
    schema = {"fields": [field("id", "INT64", is_primary=True), field("v", "FLOAT_VECTOR", dim=2)],
              "enable_dynamic_field": True}
    rows = []
    for i in range(100):
        row = {"id": i, "v": [i, 1], "color": rng.choice(["red", "blue"]), "n": i * 3}
        if i % 2:
            row["$meta"] = {"extra": {"deep": [i]}}
        rows.append(row)
    return schema, rows


def case_binary(rng):
    schema = {"fields": [field("id", "INT64", is_primary=True), field("bv", "BINARY_VECTOR", dim=16)]}
    rows = [{"id": i, "bv": [rng.randint(0, 255), rng.randint(0, 255)]} for i in range(200)]
    return schema, rows


def case_arrays(rng):
    schema = {"fields": [
        field("id", "INT64", is_primary=True),
        field("ai", "ARRAY", element_type="INT32", max_capacity=8),
        field("av", "ARRAY", element_type="VARCHAR", max_capacity=4, max_length=16),
        field("af", "ARRAY", element_type="FLOAT", max_capacity=4),
        field("v", "FLOAT_VECTOR", dim=2)]}
    rows = [{"id": i, "ai": [rng.randint(-2**31, 2**31 - 1) for _ in range(rng.randint(0, 8))],
             "av": [text(rng, 16) for _ in range(rng.randint(0, 4))],
             "af": [rng.uniform(-1, 1) for _ in range(rng.randint(0, 4))], "v": [i, 2]}
            for i in range(150)]
    return schema, rows


CASES = {
    "medium_articles": (case_medium, ["NUMPY", "JSON", "PARQUET"]),
    "scalars": (case_scalars, ["NUMPY", "JSON", "PARQUET"]),
    "varchar_max_length": (case_varchar_at_max_length, ["NUMPY", "JSON", "PARQUET"]),
    "json": (case_json, ["NUMPY", "JSON", "PARQUET"]),
    "dynamic": (case_dynamic, ["NUMPY", "JSON", "PARQUET"]),
    "binary_vector": (case_binary, ["NUMPY", "JSON", "PARQUET"]),
    # Milvus cannot import ARRAY from NumPy; our writer refuses it (tested elsewhere).
    "arrays": (case_arrays, ["JSON", "PARQUET"]),
}

# -------------------------------------------------------------- running --


def convert(args, schema_path, rows_path, fmt, chunk, out_dir):
    run = subprocess.run(
        [args.bulkwriter, "convert", "--schema", schema_path, "--input", rows_path,
         "--format", fmt.lower(), "--chunk-size", chunk, "--output", out_dir, "--quiet"],
        capture_output=True, text=True)
    if run.returncode != 0:
        raise RuntimeError(f"convert failed: {run.stderr.strip()}")
    return json.loads(run.stdout)


def convert_in_segments(args, schema_path, rows_path, fmt, out_dir, segments=3):
    """Converts into about `segments` segments: a first run in one segment tells the size."""
    whole = convert(args, schema_path, rows_path, fmt, "1GiB", out_dir)
    size = sum(os.path.getsize(p) for group in whole["batch_files"] for p in group)
    return convert(args, schema_path, rows_path, fmt, str(max(size // segments, 1024)), out_dir)


def import_groups(collection, groups, timeout_s=300):
    """Imports each group as one task; returns the list of (state, reason)."""
    results = []
    for group in groups:
        task = utility.do_bulk_insert(collection_name=collection, files=group)
        start = time.time()
        while True:
            state = utility.get_bulk_insert_state(task_id=task)
            if state.state_name in ("Completed", "Failed", "Failed and cleaned"):
                break
            if time.time() - start > timeout_s:
                break
            time.sleep(0.3)
        results.append((state.state_name, state.failed_reason))
    return results


def load(collection, spec):
    col = Collection(collection)
    for f in spec["fields"]:
        if f["type"] == "BINARY_VECTOR":
            col.create_index(f["name"], {"index_type": "BIN_FLAT", "metric_type": "HAMMING", "params": {}})
        elif f["type"].endswith("VECTOR"):
            col.create_index(f["name"], {"index_type": "FLAT", "metric_type": "L2", "params": {}})
    col.load()
    return col


def read_all(col, pk, expected):
    rows = {}
    last = None
    while len(rows) < expected:
        expr = f"{pk} >= -9223372036854775807" if last is None else f"{pk} > {last}"
        page = col.query(expr=expr, output_fields=["*"], limit=5000)
        if not page:
            break
        for r in page:
            rows[r[pk]] = r
        last = max(r[pk] for r in page)
    return rows


def same(spec_field, got, want):
    t = spec_field["type"]
    if t == "FLOAT_VECTOR":
        return np.array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))
    if t == "FLOAT":
        return np.float32(got) == np.float32(want)
    if t == "BINARY_VECTOR":
        g = got[0] if isinstance(got, list) else got
        return bytes(g) == bytes(want)
    if t == "JSON":
        return (json.loads(got) if isinstance(got, str) else got) == want
    if t == "ARRAY":
        if spec_field["element_type"] == "FLOAT":
            return np.array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))
        return list(got) == list(want)
    return got == want


def compare(spec, rows, got):
    fields = {f["name"]: f for f in spec["fields"]}
    pk = next(f["name"] for f in spec["fields"] if f.get("is_primary"))
    problems = []
    if len(got) != len(rows):
        problems.append(f"{len(got)} rows read back, {len(rows)} written")
    for row in rows:
        back = got.get(row[pk])
        if back is None:
            problems.append(f"{pk}={row[pk]} missing")
            continue
        for key, want in row.items():
            if key == "$meta":
                for k, v in want.items():
                    if back.get(k) != v:
                        problems.append(f"{pk}={row[pk]} $meta.{k}: {back.get(k)!r} != {v!r}")
            elif key in fields:
                if not same(fields[key], back.get(key), want):
                    problems.append(f"{pk}={row[pk]} {key}: {str(back.get(key))[:80]} != {str(want)[:80]}")
            elif back.get(key) != want:
                problems.append(f"{pk}={row[pk]} dynamic {key}: {back.get(key)!r} != {want!r}")
        if len(problems) > 5:
            break
    return problems


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems[:5]), flush=True)
        else:
            self.passed += 1
            print(f"PASS {name}", flush=True)


def case_files(args, name, spec, rows):
    """Writes a case's schema and rows (JSONL) under the work folder; returns the folder
    and the two paths."""
    case_dir = os.path.join(args.workdir, name)
    os.makedirs(case_dir, exist_ok=True)
    schema_path = os.path.join(case_dir, "schema.json")
    rows_path = os.path.join(case_dir, "rows.jsonl")
    json.dump(spec, open(schema_path, "w"))
    with open(rows_path, "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    return case_dir, schema_path, rows_path


def run_case(args, report, name, build, formats):
    rng = random.Random(name)
    spec, rows = build(rng)
    case_dir, schema_path, rows_path = case_files(args, name, spec, rows)
    for fmt in formats:
        check = f"{name} {fmt}"
        collection = f"{name}_{fmt.lower()}"
        try:
            manifest = convert_in_segments(args, schema_path, rows_path, fmt, os.path.join(case_dir, "out"))
            if manifest["segments"] < 2:
                report.check(check, [f"only {manifest['segments']} segment(s): the case must have several"])
                continue
            if utility.has_collection(collection):
                utility.drop_collection(collection)
            Collection(collection, milvus_schema(spec))
            results = import_groups(collection, manifest["batch_files"])
            failed = [f"segment {i + 1}: {state} {reason}" for i, (state, reason) in enumerate(results)
                      if state != "Completed"]
            if failed:
                report.check(check, failed)
                continue
            col = load(collection, spec)
            pk = next(f["name"] for f in spec["fields"] if f.get("is_primary"))
            got = read_all(col, pk, len(rows))
            problems = compare(spec, rows, got)
            report.check(f"{check} ({manifest['segments']} segments, {len(rows)} rows)", problems)
            utility.drop_collection(collection)
        except Exception as e:  # a broken case must not stop the others
            report.check(check, [f"{type(e).__name__}: {e}"])


def run_error_cases(args, report):
    """Files the server must refuse: the import reports Failed, and no row arrives."""
    rng = random.Random("errors")
    spec, rows = case_scalars(rng)
    case_dir = os.path.join(args.workdir, "errors")
    os.makedirs(case_dir, exist_ok=True)
    schema_path = os.path.join(case_dir, "schema.json")
    rows_path = os.path.join(case_dir, "rows.jsonl")
    json.dump(spec, open(schema_path, "w"))
    with open(rows_path, "w") as f:
        for row in rows[:20]:
            f.write(json.dumps(row) + "\n")
    manifest = convert(args, schema_path, rows_path, "PARQUET", "1MiB", os.path.join(case_dir, "out"))
    # 1. Our valid file into a collection with a field the file does not have.
    other = dict(spec, fields=spec["fields"] + [field("missing", "INT64")])
    # 2. A JSON file whose vector has the wrong dimension (made by hand: we never write one).
    bad_json = os.path.join(case_dir, "bad.json")
    json.dump({"rows": [dict(rows[0], v=[1.0, 2.0])]}, open(bad_json, "w"))
    # 3. A relative path, which the server cannot resolve.
    cases = [
        ("errors missing field", other, manifest["batch_files"][0]),
        ("errors wrong vector dim", spec, [bad_json]),
        ("errors relative path", spec, [os.path.relpath(manifest["batch_files"][0][0])]),
    ]
    for name, schema_spec, files in cases:
        collection = name.replace(" ", "_")
        try:
            if utility.has_collection(collection):
                utility.drop_collection(collection)
            Collection(collection, milvus_schema(schema_spec))
            try:
                results = import_groups(collection, [files])
                state, reason = results[0]
                problems = [] if state != "Completed" else ["the server accepted the file"]
                detail = reason[:100]
            except Exception as e:  # refused when the task is submitted
                problems, detail = [], str(e)[:100]
            count = Collection(collection).num_entities
            if count:
                problems.append(f"{count} rows arrived")
            report.check(f"{name} (refused: {detail})", problems)
            utility.drop_collection(collection)
        except Exception as e:
            report.check(name, [f"{type(e).__name__}: {e}"])


def run_plan_case(args, report):
    """An import plan of several requests, one group each (Milvus 2.3 takes one group a
    request): `bulkwriter import create --dry-run` plans them, each request's groups are
    imported, and every row arrives once."""
    spec, rows = case_medium(random.Random("plan"))
    case_dir, schema_path, rows_path = case_files(args, "plan", spec, rows)
    for fmt in ["PARQUET", "NUMPY"]:
        check = f"plan {fmt}"
        collection = f"plan_{fmt.lower()}"
        try:
            manifest = convert_in_segments(args, schema_path, rows_path, fmt, os.path.join(case_dir, "out"), 4)
            manifest_path = os.path.join(case_dir, f"{fmt}.manifest.json")
            json.dump(manifest, open(manifest_path, "w"))
            run = subprocess.run(
                [args.bulkwriter, "import", "create", "--dry-run", "--max-files-per-request", "1",
                 "--uri", f"http://127.0.0.1:{args.port}", "--collection", collection,
                 "--manifest", manifest_path], capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError(f"import create --dry-run failed: {run.stderr.strip()}")
            requests = json.loads(run.stdout)["requests"]
            problems = []
            if len(requests) != manifest["segments"] or len(requests) < 2:
                problems.append(f"{len(requests)} requests for {manifest['segments']} segments")
            if utility.has_collection(collection):
                utility.drop_collection(collection)
            Collection(collection, milvus_schema(spec))
            for i, request in enumerate(requests):
                groups = request["body"]["files"]
                if len(groups) != 1:
                    problems.append(f"request {i + 1} has {len(groups)} groups")
                for state, reason in import_groups(collection, groups):
                    if state != "Completed":
                        problems.append(f"request {i + 1}: {state} {reason}")
            if not problems:
                col = load(collection, spec)
                pk = next(f["name"] for f in spec["fields"] if f.get("is_primary"))
                got = read_all(col, pk, len(rows))
                problems = compare(spec, rows, got)
                # Every row once: the entity count holds duplicates that read_all would merge.
                if col.num_entities != len(rows):
                    problems.append(f"{col.num_entities} entities for {len(rows)} rows")
            report.check(f"{check} ({len(requests)} requests, {len(rows)} rows)", problems)
            utility.drop_collection(collection)
        except Exception as e:
            report.check(check, [f"{type(e).__name__}: {e}"])


def run_spark_case(args, report):
    """A Spark job's plan (issue 17): PySpark in local mode (the test venv's, named by
    BULKWRITER_PYTHON) writes a 20,000-row DataFrame in 8 partitions through the milvus_bulk
    data source to a local folder, one group per request as Milvus 2.3 takes; every request
    is imported and every row read back and compared with the rows as Spark collected them."""
    python = os.environ.get("BULKWRITER_PYTHON")
    if os.environ.get("BULKWRITER_SKIP_SPARK") == "1":
        print("SKIP spark: BULKWRITER_SKIP_SPARK=1", flush=True)
        return
    if not python:
        print("SKIP spark: BULKWRITER_PYTHON (a Python with pyspark and bulkwriter) is not set", flush=True)
        return
    import pyarrow.parquet as pq

    spec = json.load(open(os.path.join(ROOT, "schemas/medium_articles.json")))
    case_dir = os.path.join(args.workdir, "spark")
    os.makedirs(case_dir, exist_ok=True)
    collection = "spark_plan"
    try:
        jobs = [{"api": "datasource", "format": "parquet", "path": os.path.join(case_dir, "out"),
                 "job_id": "job", "schema": os.path.join(ROOT, "schemas/medium_articles.json"),
                 "rows": 20000, "partitions": 8, "chunk_size": "128MiB", "max_files_per_request": 1,
                 "truth": os.path.join(case_dir, "truth.parquet")}]
        json.dump(jobs, open(os.path.join(case_dir, "jobs.json"), "w"))
        env = dict(os.environ, PYSPARK_PYTHON=python, PYSPARK_DRIVER_PYTHON=python, SPARK_LOCAL_IP="127.0.0.1")
        run = subprocess.run([python, os.path.join(ROOT, "tests/python/spark_job.py"),
                              os.path.join(case_dir, "jobs.json"), os.path.join(case_dir, "result.json")],
                             env=env, capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"the Spark job failed: {run.stderr.strip()[-2000:]}")
        plan = json.load(open(os.path.join(case_dir, "out", "job", "plan.json")))
        rows = pq.read_table(jobs[0]["truth"]).to_pylist()
        problems = []
        if len(plan["requests"]) != plan["groups"] or plan["groups"] < 8:
            problems.append(f"{len(plan['requests'])} requests for {plan['groups']} groups")
        if utility.has_collection(collection):
            utility.drop_collection(collection)
        Collection(collection, milvus_schema(spec))
        for i, request in enumerate(plan["requests"]):
            groups = [g["files"] for g in request["groups"]]
            for state, reason in import_groups(collection, groups):
                if state != "Completed":
                    problems.append(f"request {i + 1}: {state} {reason}")
        if not problems:
            col = load(collection, spec)
            got = read_all(col, "id", len(rows))
            problems = compare(spec, rows, got)
            if col.num_entities != len(rows):
                problems.append(f"{col.num_entities} entities for {len(rows)} rows")
        report.check(f"spark plan ({len(plan['requests'])} requests, {len(rows)} rows)", problems)
        utility.drop_collection(collection)
    except Exception as e:
        report.check("spark plan", [f"{type(e).__name__}: {e}"])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", required=True)
    parser.add_argument("--bulkwriter", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    connections.connect(host="127.0.0.1", port=args.port, timeout=30)
    print(f"Milvus {utility.get_server_version()}", flush=True)
    report = Report()
    only = [c for c in args.only.split(",") if c]
    for name, (build, formats) in CASES.items():
        if not only or name in only:
            run_case(args, report, name, build, formats)
    if not only or "errors" in only:
        run_error_cases(args, report)
    if not only or "plan" in only:
        run_plan_case(args, report)
    if not only or "spark" in only:
        run_spark_case(args, report)
    print(f"{report.passed} passed, {report.failed} failed", flush=True)
    sys.exit(1 if report.failed else 0)


if __name__ == "__main__":
    main()
