"""JSONL decoded straight into columns, checked against Python's own reading of the lines.

  jsonl_columns.py make DIR
      writes DIR/schema.json and DIR/rows.jsonl: 3,000 lines of every form the column path
      takes (17-digit and exponent floats, integers in vectors, escapes, keys in any order,
      spaces, CRLF) with, at known lines, rows it must leave to the row path: rows the row path
      takes (an integer for a DOUBLE field) and rows it refuses (too long, out of range, wrong
      dimension, null, a duplicate key, broken JSON). DIR/expected.json lists the bad lines.
  jsonl_columns.py check DIR MANIFEST REJECTS
      reads the run's files (NumPy with numpy, Parquet with pyarrow) and checks them against
      the accepted lines as Python's json module reads them (floats to float32 by numpy), and
      the reject file against the bad lines. Prints "ok <rows>".
"""

import json
import os
import random
import sys

import numpy as np

SCHEMA = {
    "fields": [
        {"name": "id", "type": "INT64", "is_primary": True},
        {"name": "score", "type": "DOUBLE"},
        {"name": "ok", "type": "BOOL"},
        {"name": "title", "type": "VARCHAR", "params": {"max_length": 16}},
        {"name": "small", "type": "INT8"},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 4}},
    ],
}
ROWS = 3000


def float_text(rng):
    """A float literal in one of the forms writers produce."""
    kind = rng.randrange(6)
    if kind == 0:  # pymilvus / json.dumps of a float32 value: 17 significant digits
        return repr(float(np.float32(rng.gauss(0, 1))))
    if kind == 1:
        return f"{rng.uniform(-1, 1):.20f}"
    if kind == 2:
        return f"{rng.uniform(-1e30, 1e30):e}"
    if kind == 3:
        return str(rng.randrange(-1000, 1000))  # an integer in a vector
    if kind == 4:
        return f"{rng.randrange(10**17)}E-{rng.randrange(1, 40)}"
    return repr(rng.uniform(-1e-38, 1e-38))  # near float32's subnormals


def make(d):
    rng = random.Random(7)
    titles = ["plain", 'quo"te', "tab\there", "é ü", "line\nbreak", "slash\\", "\u2603"]
    lines, bad = [], {}
    for i in range(ROWS):
        row = {
            "id": i,
            "score": float_text(rng) if rng.random() < 0.9 else repr(rng.random()),
            "ok": rng.random() < 0.5,
            "title": rng.choice(titles),
            "small": rng.randrange(-128, 128),
            "v": [float_text(rng) for _ in range(4)],
        }
        if row["score"].lstrip("-").isdigit():
            row["score"] += ".5"  # ints for DOUBLE come below, at known lines
        line_no = i + 1
        if i % 211 == 5:
            row["score"] = "2"  # the row path takes an integer for DOUBLE
        elif i % 211 == 17:
            row["title"] = "x" * 17
            bad[line_no] = "title"
        elif i % 211 == 40:
            row["small"] = 200
            bad[line_no] = "small"
        elif i % 211 == 77:
            row["v"] = row["v"][:3]
            bad[line_no] = "v"
        elif i % 211 == 90:
            row["ok"] = None
            bad[line_no] = "ok"
        elif i % 211 == 120:
            row["id"] = i - 1
            bad[line_no] = "id"
        keys = list(row)
        rng.shuffle(keys)
        sep = rng.choice([", ", ",", " ,  "])
        colon = rng.choice([": ", ":", " : "])

        def text(k):
            value = row[k]
            if k in ("score",):
                return value
            if k == "v":
                return "[" + sep.join(value) + "]"
            return json.dumps(value, ensure_ascii=ascii_only)

        ascii_only = rng.random() < 0.5
        line = "{" + sep.join(json.dumps(k) + colon + text(k) for k in keys) + "}"
        if i % 211 == 150:
            line = line[:-3]
            bad[line_no] = ""
        if i % 13 == 0:
            line = "  " + line + " \r"
        lines.append(line)
    with open(os.path.join(d, "rows.jsonl"), "w", newline="") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(d, "schema.json"), "w") as f:
        json.dump(SCHEMA, f)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({str(k): v for k, v in bad.items()}, f)


def check(d, manifest_path, rejects_path):
    bad = {int(k): v for k, v in json.load(open(os.path.join(d, "expected.json"))).items()}
    with open(os.path.join(d, "rows.jsonl"), newline="") as f:
        lines = f.read().split("\n")[:-1]
    accepted = [json.loads(line) for n, line in enumerate(lines, 1) if n not in bad]
    expected = {
        "id": np.array([r["id"] for r in accepted], dtype=np.int64),
        "score": np.array([float(r["score"]) for r in accepted], dtype=np.float64),
        "ok": np.array([r["ok"] for r in accepted], dtype=np.bool_),
        "title": [r["title"] for r in accepted],
        "small": np.array([r["small"] for r in accepted], dtype=np.int8),
        # Python reads each literal to the nearest float64; numpy rounds that to float32.
        "v": np.array([[float(x) for x in r["v"]] for r in accepted]).astype(np.float32),
    }
    m = json.load(open(manifest_path))
    got = {name: [] for name in expected}
    for group in m["batch_files"]:
        if group[0].endswith(".parquet"):
            import pyarrow.parquet as pq

            t = pq.read_table(group[0])
            for name in got:
                got[name].append(t.column(name).to_numpy(zero_copy_only=False))
        else:
            for path in group:
                name = os.path.basename(path)[: -len(".npy")]
                got[name].append(np.load(path))
    assert len(m["batch_files"]) > 1, "the run was to roll several segments"
    for name, want in expected.items():
        have = np.concatenate(got[name])
        if name == "v" and have.dtype == object:
            have = np.stack(have).astype(np.float32)
        if name == "title":
            assert [str(s) for s in have] == want, name
        elif name == "v":
            assert have.shape == want.shape, (have.shape, want.shape)
            diff = np.nonzero(have.view(np.uint32) != want.view(np.uint32))
            assert diff[0].size == 0, f"v differs at rows {diff[0][:5]}"
        else:
            assert np.array_equal(have, want), name
    rejected = [json.loads(line) for line in open(rejects_path)]
    assert {r["line"]: r.get("field", "") for r in rejected} == bad, rejected[:3]
    for r in rejected:
        line = lines[r["line"] - 1]
        if "data" in r:
            assert json.dumps(r["data"], sort_keys=True) == json.dumps(json.loads(line), sort_keys=True)
        else:
            assert r["text"] == line.rstrip("\r"), r
    assert m["rows"] == len(accepted) and m["rejected"] == len(bad), (m["rows"], m["rejected"])
    print("ok", len(accepted))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(*sys.argv[2:5])
