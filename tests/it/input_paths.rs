//! Every input path gives the same output. Random rows of every field type go through the
//! binary as JSONL → format X; X's files are read back as input and written as format Y; that
//! must equal JSONL → Y directly (NumPy byte for byte, Parquet by pyarrow's table equality,
//! JSON/JSONL/CSV value for value, float32 and half values compared at their precision), and
//! X → X must give X's files back unchanged. Then pyarrow-written Parquet (every codec,
//! natural Arrow types) against the JSONL of the same rows, and the schema and struct rules
//! found on the way.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Map, Value, json};

use crate::common::python;
use crate::roundtrip_rows::{Rng, random_row, schema_json};

fn bulkwriter() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Runs `convert` and returns its segment files (one segment), in manifest order.
fn convert(schema: &Path, input: &Path, format: &str, out: &Path, extra: &[&str]) -> Vec<PathBuf> {
    let result = bulkwriter()
        .args(["convert", "--quiet", "--schema"])
        .arg(schema)
        .arg("--input")
        .arg(input)
        .args(["--format", format, "--output"])
        .arg(out)
        .args(extra)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{format} from {}: {}",
        input.display(),
        stderr(&result)
    );
    let manifest: Value = serde_json::from_slice(&result.stdout).unwrap();
    let groups = manifest["batch_files"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "one segment");
    groups[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| PathBuf::from(p.as_str().unwrap()))
        .collect()
}

/// The input a segment is read back as: its folder for NumPy, its file otherwise.
fn as_input(files: &[PathBuf], format: &str) -> PathBuf {
    if format == "numpy" {
        files[0].parent().unwrap().to_path_buf()
    } else {
        files[0].clone()
    }
}

/// How precisely a field's numbers survive a trip through columnar storage.
#[derive(Clone, Copy, Debug)]
enum Precision {
    Exact,
    Float32,
    Float16,
    BFloat16,
}

fn precision(field: &str) -> Precision {
    match field {
        "float" | "n_float" | "float_vector" | "array_float" | "sparse_vector" | "structs" => {
            Precision::Float32
        }
        "float16_vector" => Precision::Float16,
        "bfloat16_vector" => Precision::BFloat16,
        _ => Precision::Exact,
    }
}

fn round(v: f64, precision: Precision) -> f64 {
    match precision {
        Precision::Exact => v,
        Precision::Float32 => v as f32 as f64,
        Precision::Float16 => half::f16::from_f64(v).to_f64(),
        Precision::BFloat16 => half::bf16::from_f64(v).to_f64(),
    }
}

/// Whether two values are equal, numbers compared at `precision` (and half vectors inside
/// structs at half precision).
fn same(a: &Value, b: &Value, precision: Precision) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y
                || match (x.as_f64(), y.as_f64()) {
                    (Some(x), Some(y)) => round(x, precision) == round(y, precision),
                    _ => false,
                }
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| same(x, y, precision))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter().all(|(k, v)| {
                    let inner = if k == "s_half" {
                        Precision::Float16
                    } else {
                        precision
                    };
                    y.get(k).is_some_and(|w| same(v, w, inner))
                })
        }
        _ => a == b,
    }
}

/// The rows of a JSON, JSONL or CSV file as objects (CSV cells as strings, by header).
fn read_rows(path: &Path, format: &str) -> Vec<Map<String, Value>> {
    let text = std::fs::read_to_string(path).unwrap();
    let rows: Vec<Value> = match format {
        "json" => serde_json::from_str::<Value>(&text).unwrap()["rows"]
            .as_array()
            .unwrap()
            .clone(),
        "jsonl" => text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect(),
        _ => {
            let out = python()
                .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/read_csv.py"))
                .arg(path)
                .arg(",")
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
            let records: Vec<Vec<String>> = serde_json::from_slice(&out.stdout).unwrap();
            let header = &records[0];
            records[1..]
                .iter()
                .map(|cells| {
                    Value::Object(
                        header
                            .iter()
                            .zip(cells)
                            .map(|(h, c)| (h.clone(), Value::String(c.clone())))
                            .collect(),
                    )
                })
                .collect()
        }
    };
    rows.into_iter()
        .map(|r| r.as_object().unwrap().clone())
        .collect()
}

/// A value as comparable JSON: CSV cells that hold JSON text (vectors, arrays, JSON, structs)
/// or numbers are parsed.
fn cell(value: &Value) -> Value {
    match value {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .ok()
            .filter(|v| v.is_array() || v.is_object() || v.is_number())
            .unwrap_or_else(|| value.clone()),
        other => other.clone(),
    }
}

/// Asserts that two row files hold the same rows (`what` names the comparison).
fn assert_same_rows(ours: &Path, expected: &Path, format: &str, what: &str) {
    let (ours, expected) = (read_rows(ours, format), read_rows(expected, format));
    assert_eq!(ours.len(), expected.len(), "{what}: row count");
    for (i, (a, b)) in ours.iter().zip(&expected).enumerate() {
        let keys_a: Vec<&String> = a.keys().collect();
        let keys_b: Vec<&String> = b.keys().collect();
        assert_eq!(keys_a, keys_b, "{what}: row {i} columns");
        for (key, value) in a {
            let (x, y) = (cell(value), cell(&b[key]));
            assert!(
                same(&x, &y, precision(key)),
                "{what}: row {i}, field {key}: {x} != {y}"
            );
        }
    }
}

/// Whether two Parquet files hold equal tables, by pyarrow.
fn same_parquet(a: &Path, b: &Path) -> Result<(), String> {
    let script = r#"
import sys, pyarrow.parquet as pq
a, b = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
if not a.equals(b):
    for name in a.column_names:
        if not a.column(name).equals(b.column(name)):
            print(f"column {name} differs: {a.column(name).to_pylist()[:3]} != {b.column(name).to_pylist()[:3]}")
    sys.exit(1)
"#;
    let out = python()
        .args(["-c", script])
        .arg(a)
        .arg(b)
        .output()
        .unwrap();
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            stderr(&out)
        ))
    }
}

/// Asserts that two segments of `format` hold the same data.
fn assert_same_segment(ours: &[PathBuf], expected: &[PathBuf], format: &str, what: &str) {
    assert_eq!(ours.len(), expected.len(), "{what}: files");
    match format {
        "numpy" => {
            for (a, b) in ours.iter().zip(expected) {
                assert_eq!(a.file_name(), b.file_name(), "{what}");
                assert!(
                    std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
                    "{what}: {} differs",
                    a.display()
                );
            }
        }
        "parquet" => {
            if let Err(e) = same_parquet(&ours[0], &expected[0]) {
                panic!("{what}: {e}");
            }
        }
        _ => assert_same_rows(&ours[0], &expected[0], format, what),
    }
}

/// Asserts that two segments are the same bytes.
fn assert_same_bytes(ours: &[PathBuf], expected: &[PathBuf], what: &str) {
    assert_eq!(ours.len(), expected.len(), "{what}: files");
    for (a, b) in ours.iter().zip(expected) {
        assert!(
            std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
            "{what}: {} differs from {}",
            a.display(),
            b.display()
        );
    }
}

/// The every-type schema with a FLOAT16 vector inside the struct, and its rows.
fn every_type() -> (Value, Vec<Value>) {
    let mut schema = schema_json();
    schema["struct_fields"][0]["fields"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "s_half", "type": "FLOAT16_VECTOR", "params": {"dim": 2}}));
    let mut rng = Rng(0x5EED_1234);
    let rows = (0..40)
        .map(|id| {
            let mut row = random_row(&mut rng, id);
            for element in row["structs"].as_array_mut().unwrap() {
                element["s_half"] = json!([0.5, -1.25]);
            }
            row
        })
        .collect();
    (schema, rows)
}

/// The fields NumPy files hold: no arrays, sparse vectors, structs or nullable fields.
fn numpy_compatible(schema: &Value, rows: &[Value]) -> (Value, Vec<Value>) {
    let mut schema = schema.clone();
    schema["fields"].as_array_mut().unwrap().retain(|f| {
        f["nullable"] != true && f["type"] != "ARRAY" && f["type"] != "SPARSE_FLOAT_VECTOR"
    });
    schema.as_object_mut().unwrap().remove("struct_fields");
    let names: Vec<String> = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["name"].as_str().unwrap().to_string())
        .collect();
    let rows = rows
        .iter()
        .map(|row| {
            let mut row = row.as_object().unwrap().clone();
            row.retain(|k, _| names.contains(k) || k == "$meta" || k == "dyn_a");
            Value::Object(row)
        })
        .collect();
    (schema, rows)
}

fn write_case(dir: &Path, name: &str, schema: &Value, rows: &[Value]) -> (PathBuf, PathBuf) {
    let schema_path = dir.join(format!("{name}.schema.json"));
    std::fs::write(&schema_path, schema.to_string()).unwrap();
    let rows_path = dir.join(format!("{name}.jsonl"));
    let text: String = rows.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&rows_path, text).unwrap();
    (schema_path, rows_path)
}

#[test]
fn every_format_read_back_converts_to_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let (schema, rows) = every_type();
    let (numpy_schema, numpy_rows) = numpy_compatible(&schema, &rows);
    let cases = [
        ("all", schema, rows, vec!["parquet", "json", "jsonl", "csv"]),
        (
            "numpy",
            numpy_schema,
            numpy_rows,
            vec!["numpy", "parquet", "json", "jsonl", "csv"],
        ),
    ];
    for (name, schema, rows, formats) in cases {
        let (schema_path, rows_path) = write_case(dir.path(), name, &schema, &rows);
        let out = |label: &str| dir.path().join(format!("{name}-{label}"));
        let direct: Vec<Vec<PathBuf>> = formats
            .iter()
            .map(|y| convert(&schema_path, &rows_path, y, &out(y), &[]))
            .collect();
        for (x, x_files) in formats.iter().zip(&direct) {
            let input = as_input(x_files, x);
            for (y, y_direct) in formats.iter().zip(&direct) {
                let via = convert(&schema_path, &input, y, &out(&format!("{x}-{y}")), &[]);
                let what = format!("{name}: JSONL → {x} → {y} against JSONL → {y}");
                assert_same_segment(&via, y_direct, y, &what);
                if x == y {
                    assert_same_bytes(
                        &via,
                        x_files,
                        &format!("{name}: {x} → {x} is a fixed point"),
                    );
                }
            }
        }
    }
}

/// What pyarrow writes for `rows` of medium_articles-like data, with each codec and natural
/// Arrow types.
const PYARROW_INPUTS: &str = r#"
import json, sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
rows = [json.loads(l) for l in open(sys.argv[1])]
out = sys.argv[2]
dim = len(rows[0]["vector"])
def table(natural):
    vectors = np.array([r["vector"] for r in rows], dtype=np.float32)
    if natural:
        vector = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim)
        title = pa.array([r["title"] for r in rows], pa.large_string())
        pub = pa.array([r["publication"] for r in rows]).dictionary_encode()
        bits = pa.array([bytes(r["bits"]) for r in rows], pa.binary())
        half = pa.array([np.array(r["half"], dtype=np.float16).tobytes() for r in rows], pa.binary())
        tags = pa.array([r["tags"] for r in rows], pa.large_list(pa.int32()))
    else:
        vector = pa.array(vectors.tolist(), pa.list_(pa.float32()))
        title = pa.array([r["title"] for r in rows])
        pub = pa.array([r["publication"] for r in rows])
        bits = pa.array([r["bits"] for r in rows], pa.list_(pa.uint8()))
        half = pa.array([list(np.array(r["half"], dtype=np.float16).tobytes()) for r in rows], pa.list_(pa.uint8()))
        tags = pa.array([r["tags"] for r in rows], pa.list_(pa.int32()))
    return pa.table({
        "id": pa.array([r["id"] for r in rows], pa.int64()),
        "title": title, "vector": vector, "publication": pub,
        "claps": pa.array([r["claps"] for r in rows], pa.int32()),
        "bits": bits, "half": half, "tags": tags,
    })
for codec in ["none", "snappy", "gzip", "lz4", "brotli", "zstd"]:
    pq.write_table(table(False), f"{out}/{codec}.parquet", compression=codec, row_group_size=7)
pq.write_table(table(True), f"{out}/natural.parquet", compression="zstd", row_group_size=7)
"#;

#[test]
fn pyarrow_parquet_with_every_codec_and_natural_types_converts_like_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let schema = json!({"fields": [
        {"name": "id", "type": "INT64", "is_primary": true},
        {"name": "title", "type": "VARCHAR", "params": {"max_length": 64}},
        {"name": "vector", "type": "FLOAT_VECTOR", "params": {"dim": 4}},
        {"name": "publication", "type": "VARCHAR", "params": {"max_length": 16}},
        {"name": "claps", "type": "INT32"},
        {"name": "bits", "type": "BINARY_VECTOR", "params": {"dim": 16}},
        {"name": "half", "type": "FLOAT16_VECTOR", "params": {"dim": 2}},
        {"name": "tags", "type": "ARRAY", "element_type": "INT32", "params": {"max_capacity": 4}},
    ]});
    let mut rng = Rng(0xC0DEC);
    let rows: Vec<Value> = (0..30)
        .map(|id| {
            let publication = ["a", "b", "c"][rng.below(3) as usize];
            json!({
                "id": id,
                "title": format!("title {id} é"),
                "vector": (0..4).map(|_| (rng.below(2000) as f64 - 1000.0) / 64.0).collect::<Vec<_>>(),
                "publication": publication,
                "claps": rng.below(1000),
                "bits": [rng.below(256), rng.below(256)],
                "half": [0.5, rng.below(100) as f64 / 4.0],
                "tags": (0..rng.below(4)).map(|_| rng.below(100)).collect::<Vec<_>>(),
            })
        })
        .collect();
    let (schema_path, rows_path) = write_case(dir.path(), "codecs", &schema, &rows);
    let out = python()
        .args(["-c", PYARROW_INPUTS])
        .arg(&rows_path)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // ARRAY fields cannot be NumPy: the JSONL comparison is through Parquet for them, and
    // through NumPy for the rest.
    for (format, extra) in [("parquet", vec![]), ("numpy", vec!["--ignore-unknown"])] {
        let (schema_path, expected) = if format == "numpy" {
            let mut numpy_schema = schema.clone();
            numpy_schema["fields"].as_array_mut().unwrap().pop();
            let path = dir.path().join("numpy.schema.json");
            std::fs::write(&path, numpy_schema.to_string()).unwrap();
            let expected = convert(
                &path,
                &rows_path,
                format,
                &dir.path().join("jsonl-numpy"),
                &extra,
            );
            (path, expected)
        } else {
            let expected = convert(
                &schema_path,
                &rows_path,
                format,
                &dir.path().join("jsonl-parquet"),
                &[],
            );
            (schema_path.clone(), expected)
        };
        for input in ["none", "snappy", "gzip", "lz4", "brotli", "zstd", "natural"] {
            let parquet = dir.path().join(format!("{input}.parquet"));
            let ours = convert(
                &schema_path,
                &parquet,
                format,
                &dir.path().join(format!("{input}-{format}")),
                &extra,
            );
            assert_same_segment(
                &ours,
                &expected,
                format,
                &format!("{input}.parquet → {format}"),
            );
        }
    }
}

fn run(args: &[&str]) -> Output {
    bulkwriter().args(args).output().unwrap()
}

#[test]
fn timestamptz_and_geometry_defaults_are_written_and_text_defaults_refused() {
    let dir = tempfile::tempdir().unwrap();
    let schema = json!({"fields": [
        {"name": "id", "type": "INT64", "is_primary": true},
        {"name": "ts", "type": "TIMESTAMPTZ", "default_value": {"string_data": "2025-01-02T03:04:05Z"}},
        {"name": "geo", "type": "GEOMETRY", "default_value": "POINT (1 2)"},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 1}},
    ]});
    let rows = vec![
        json!({"id": 1, "v": [0.5]}),
        json!({"id": 2, "ts": "2024-05-06T07:08:09+08:00", "geo": "POINT (3 4)", "v": [1.0]}),
    ];
    let (schema_path, rows_path) = write_case(dir.path(), "defaults", &schema, &rows);
    let files = convert(
        &schema_path,
        &rows_path,
        "jsonl",
        &dir.path().join("out"),
        &[],
    );
    let written = read_rows(&files[0], "jsonl");
    assert_eq!(written[0]["ts"], "2025-01-02T03:04:05Z");
    assert_eq!(written[0]["geo"], "POINT (1 2)");
    assert_eq!(written[1]["ts"], "2024-05-06T07:08:09+08:00");
    let files = convert(
        &schema_path,
        &rows_path,
        "parquet",
        &dir.path().join("pq"),
        &[],
    );
    let out = python()
        .args(["-c", "import sys, pyarrow.parquet as pq; print(pq.read_table(sys.argv[1]).column('ts').to_pylist())"])
        .arg(&files[0])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "['2025-01-02T03:04:05Z', '2024-05-06T07:08:09+08:00']"
    );

    let text = json!({"fields": [
        {"name": "id", "type": "INT64", "is_primary": true},
        {"name": "t", "type": "TEXT", "default_value": "none"},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 1}},
    ]});
    let text_path = dir.path().join("text.schema.json");
    std::fs::write(&text_path, text.to_string()).unwrap();
    let out = run(&[
        "convert",
        "--schema",
        text_path.to_str().unwrap(),
        "--input",
        rows_path.to_str().unwrap(),
        "--format",
        "jsonl",
        "--output",
        dir.path().join("text").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "error: invalid schema {}: schema field 't': TEXT fields cannot have a default_value: Milvus refuses it (type (Text) of field (t) is not equal to the type(DataType_VarChar) of default_value)\n",
            text_path.display()
        )
    );
}

#[test]
fn unknown_keys_inside_struct_elements_stop_the_run_or_are_dropped_and_listed() {
    let dir = tempfile::tempdir().unwrap();
    let schema = json!({"fields": [
        {"name": "id", "type": "INT64", "is_primary": true},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 1}},
    ], "struct_fields": [{"name": "st", "max_capacity": 4, "fields": [
        {"name": "a", "type": "INT32"},
    ]}]});
    let rows = vec![
        json!({"id": 1, "v": [0.5], "st": [{"a": 1}]}),
        json!({"id": 2, "v": [0.5], "st": [{"a": 1, "zz": 5}]}),
    ];
    let (schema_path, rows_path) = write_case(dir.path(), "struct", &schema, &rows);
    let mut clean = rows.clone();
    clean[1]["st"][0].as_object_mut().unwrap().remove("zz");
    let (_, clean_path) = write_case(dir.path(), "clean", &schema, &clean);
    let expected = convert(
        &schema_path,
        &clean_path,
        "parquet",
        &dir.path().join("ok"),
        &[],
    );
    // The same rows as pyarrow Parquet with the extra key as a struct column.
    let parquet = dir.path().join("struct.parquet");
    let script = r#"
import sys, pyarrow as pa, pyarrow.parquet as pq
st = pa.list_(pa.struct([("a", pa.int32()), ("zz", pa.int64())]))
pq.write_table(pa.table({"id": [1, 2], "v": [[0.5], [0.5]],
    "st": pa.array([[{"a": 1, "zz": None}], [{"a": 1, "zz": 5}]], st)}), sys.argv[1])
"#;
    let out = python()
        .args(["-c", script])
        .arg(&parquet)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for (input, position) in [(&rows_path, "line 2: row 2: "), (&parquet, "")] {
        let out = run(&[
            "convert",
            "--schema",
            schema_path.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--format",
            "jsonl",
            "--output",
            dir.path().join("stop").to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert_eq!(
            stderr(&out),
            format!(
                "error: {}: {position}the struct field 'st' has the key 'zz', which is none of its sub-fields (a): drop such keys with --ignore-unknown\n",
                input.display()
            )
        );
        let out = run(&[
            "convert",
            "--schema",
            schema_path.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--format",
            "parquet",
            "--ignore-unknown",
            "--output",
            dir.path().join("drop").to_str().unwrap(),
        ]);
        assert!(out.status.success(), "{}", stderr(&out));
        assert!(
            stderr(&out).contains(
                "keys inside struct elements that match no sub-field were dropped: st[].zz"
            ),
            "{}",
            stderr(&out)
        );
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        let written = PathBuf::from(manifest["batch_files"][0][0].as_str().unwrap());
        if let Err(e) = same_parquet(&written, &expected[0]) {
            panic!("{}: {e}", input.display());
        }
    }
}
