//! `bulkwriter convert` and `validate` on every input format, written by Python's own
//! libraries (json, csv, pyarrow, numpy): the same logical data gives byte-identical output,
//! bad rows are reported or rejected without losing any, memory does not grow with the input,
//! and the progress bar draws on a terminal only.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::common::*;

fn bulkwriter() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwriter"));
    command.current_dir(env!("CARGO_MANIFEST_DIR"));
    command
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn schema_path() -> String {
    root()
        .join("schemas/medium_articles.json")
        .display()
        .to_string()
}

/// The medium_articles fixture in every input format, written by Python.
fn fixture_formats(dir: &Path) {
    run_python(
        "fixture_formats.py",
        &[
            root()
                .join("fixtures/medium_articles.json")
                .to_str()
                .unwrap(),
            &schema_path(),
            dir.to_str().unwrap(),
        ],
    );
}

fn fixture_rows() -> Vec<Value> {
    let doc = read_json(&root().join("fixtures/medium_articles.json"));
    doc["rows"].as_array().unwrap().clone()
}

fn convert(args: &[&str]) -> Output {
    bulkwriter()
        .arg("convert")
        .args(["--schema", &schema_path()])
        .args(args)
        .output()
        .unwrap()
}

fn manifest(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn all_bytes(manifest: &Value) -> Vec<(String, Vec<u8>)> {
    let data_path = manifest["data_path"].as_str().unwrap();
    manifest["batch_files"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|g| g.as_array().unwrap().clone())
        .map(|p| {
            let p = p.as_str().unwrap();
            (
                p.strip_prefix(data_path).unwrap().to_string(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect()
}

#[test]
fn every_input_format_gives_byte_identical_numpy_output() {
    let dir = tempfile::tempdir().unwrap();
    fixture_formats(dir.path());
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let json_input = root().join("fixtures/medium_articles.json");
    let reference = all_bytes(&manifest(&convert(&[
        "--input",
        json_input.to_str().unwrap(),
        "--format",
        "numpy",
        "--chunk-size",
        "64KiB",
        "--output",
        out,
    ])));
    assert!(reference.len() > 8, "several segments of 8 files");
    for input in [
        "rows.jsonl",
        "rows.csv",
        "rows.tsv",
        "rows.parquet",
        "rows_list.parquet",
        "numpy",
    ] {
        let path = dir.path().join(input);
        let ours = all_bytes(&manifest(&convert(&[
            "--input",
            path.to_str().unwrap(),
            "--format",
            "numpy",
            "--chunk-size",
            "64KiB",
            "--output",
            out,
        ])));
        assert_eq!(ours.len(), reference.len(), "{input}");
        for ((name, bytes), (ref_name, ref_bytes)) in ours.iter().zip(&reference) {
            assert_eq!(name, ref_name, "{input}");
            assert!(
                bytes == ref_bytes,
                "{input}: {name} differs from the JSON input's"
            );
        }
    }
    // Several inputs and a glob are one dataset: every row once, in order (the same rows
    // three times, so their keys repeat: kept).
    let glob = format!("{}/rows.*sv", dir.path().display());
    let m = manifest(&convert(&[
        "--input",
        &glob,
        "--input",
        dir.path().join("rows.parquet").to_str().unwrap(),
        "--on-duplicate-key",
        "keep",
        "--format",
        "parquet",
        "--output",
        out,
    ]));
    assert_eq!(m["rows"], 180, "csv + tsv + parquet");
}

/// Vector dumps fill --vector-field; ids count from --id-start. Checked with numpy.
#[test]
fn vector_dumps_fill_the_vector_field_with_generated_ids() {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("schema.json");
    let template = bulkwriter()
        .args([
            "schema",
            "template",
            "--field",
            "id:INT64:primary",
            "--field",
            "vector:FLOAT_VECTOR:dim=16",
        ])
        .output()
        .unwrap();
    assert!(template.status.success());
    std::fs::write(&schema, &template.stdout).unwrap();
    let script = r#"
import numpy as np, struct, sys
d = sys.argv[1]
v = np.random.default_rng(7).standard_normal((300, 16)).astype(np.float32)
np.save(d + "/base.npy", v)
with open(d + "/base.fvecs", "wb") as f:
    for row in v:
        f.write(struct.pack("<i", 16)); f.write(row.tobytes())
b = (np.abs(v) * 100).astype(np.uint8)
with open(d + "/base.bvecs", "wb") as f:
    for row in b:
        f.write(struct.pack("<i", 16)); f.write(row.tobytes())
np.save(d + "/bytes.npy", b.astype(np.float32))
"#;
    let status = python()
        .args(["-c", script, dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    for (input, expected) in [
        ("base.fvecs", "base.npy"),
        ("base.npy", "base.npy"),
        ("base.bvecs", "bytes.npy"),
    ] {
        let out = bulkwriter()
            .args(["convert", "--schema", schema.to_str().unwrap(), "--input"])
            .arg(dir.path().join(input))
            .args(["--vector-field", "vector", "--id-start", "1000"])
            .args(["--format", "numpy", "--chunk-size", "8KiB", "--output"])
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        let m = manifest(&out);
        assert_eq!(m["rows"], 300, "{input}");
        let mut ids = Vec::new();
        let mut vectors = Vec::new();
        for group in m["batch_files"].as_array().unwrap() {
            for path in group.as_array().unwrap() {
                let loaded = np_load(Path::new(path.as_str().unwrap()));
                let values = loaded["values"].as_array().unwrap().clone();
                if path.as_str().unwrap().ends_with("id.npy") {
                    ids.extend(values);
                } else {
                    vectors.extend(values);
                }
            }
        }
        assert_eq!(
            ids,
            (1000..1300).map(Value::from).collect::<Vec<_>>(),
            "{input}"
        );
        let expected = np_load(&dir.path().join(expected));
        assert_eq!(vectors, *expected["values"].as_array().unwrap(), "{input}");
    }
}

/// Bad rows in every input format: stop mode names the file, row and field; skip mode
/// writes them to the reject file, and rejected rows plus written rows are the input rows.
#[test]
fn bad_rows_are_reported_or_rejected_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    fixture_formats(dir.path());
    // Break rows 4 (a short vector) and 10 (a text claps count) in the JSONL and CSV files,
    // and row 4's vector in the Parquet file (a NaN), with Python.
    let script = r#"
import csv, json, sys
import pyarrow as pa, pyarrow.parquet as pq
d = sys.argv[1]
lines = open(d + "/rows.jsonl").read().splitlines()
r = json.loads(lines[3]); r["vector"] = r["vector"][:5]; lines[3] = json.dumps(r)
r = json.loads(lines[9]); r["claps"] = "many"; lines[9] = json.dumps(r)
lines[15] = '{"id": 15, "title": '
open(d + "/bad.jsonl", "w").write("\n".join(lines) + "\n")
json.dump({"rows": [json.loads(l) for i, l in enumerate(lines) if i != 15]}, open(d + "/bad.json", "w"))
rows = list(csv.reader(open(d + "/rows.csv", newline="")))
rows[4][2] = json.dumps(json.loads(rows[4][2])[:5])
rows[10][6] = "many"
rows[16] = rows[16][:3]
csv.writer(open(d + "/bad.csv", "w", newline="")).writerows(rows)
t = pq.read_table(d + "/rows.parquet")
vec = t.column("vector").to_pylist()
vec[3][7] = float("nan")
t = t.set_column(t.schema.get_field_index("vector"), "vector",
                 pa.array(vec, pa.list_(pa.float32())))
pq.write_table(t, d + "/bad.parquet", row_group_size=7)
import numpy as np, os, shutil
shutil.copytree(d + "/numpy", d + "/bad_numpy")
titles = np.load(d + "/numpy/title.npy").tolist()
titles[3] = "x" * 600
np.save(d + "/bad_numpy/title.npy", np.array(titles))
"#;
    let status = python()
        .args(["-c", script, dir.path().to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let out_dir = dir.path().join("out");
    let cases = [
        (
            "bad.jsonl",
            "line 4: row 4, field 'vector': Illegal vector data for vector field: 'vector': array's length must be equal to vector dimension: got 5, dim is 768",
            3,
        ),
        (
            "bad.json",
            "row 4, field 'vector': Illegal vector data for vector field: 'vector': array's length must be equal to vector dimension: got 5, dim is 768",
            2,
        ),
        (
            "bad.csv",
            "line 5: row 4, field 'vector': Illegal vector data for vector field: 'vector': array's length must be equal to vector dimension: got 5, dim is 768",
            3,
        ),
        (
            "bad.parquet",
            "row 4, field 'vector': Illegal vector data for vector field: 'vector': NaN is not a finite number (Milvus rejects NaN and infinity)",
            1,
        ),
        (
            "bad_numpy",
            "row 4, field 'title': Illegal varchar value for field 'title', length exceeds 512 or type mismatch: the value is 600 UTF-8 bytes long (600 characters); Milvus counts max_length in bytes",
            1,
        ),
    ];
    let fixture = fixture_rows();
    for (input, message, bad_rows) in cases {
        let path = dir.path().join(input);
        let path = path.to_str().unwrap();
        // Stop (the default): the first bad row, named exactly.
        let out = convert(&[
            "--input",
            path,
            "--format",
            "parquet",
            "--output",
            out_dir.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{input}");
        assert!(out.stdout.is_empty(), "{input}: no manifest");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr).trim_end(),
            format!("error: {path}: {message}"),
            "{input}"
        );

        // Skip: nothing lost.
        let rejects = dir.path().join(format!("{input}.rejects.jsonl"));
        let out = convert(&[
            "--input",
            path,
            "--format",
            "parquet",
            "--output",
            out_dir.to_str().unwrap(),
            "--on-error",
            "skip",
            "--reject-file",
            rejects.to_str().unwrap(),
        ]);
        let m = manifest(&out);
        assert_eq!(m["rejected"], bad_rows, "{input}");
        let total_rows = if input == "bad.json" { 59 } else { 60 };
        assert_eq!(m["rows"], total_rows - bad_rows, "{input}");
        // Written rows, read back by pyarrow, plus rejected rows = the input's rows.
        let mut ids: BTreeMap<i64, &str> = BTreeMap::new();
        for group in m["batch_files"].as_array().unwrap() {
            let read = run_python("compare_parquet.py", &["ids", group[0].as_str().unwrap()]);
            for id in serde_json::from_str::<Vec<i64>>(&read).unwrap() {
                assert!(
                    ids.insert(id, "written").is_none(),
                    "{input}: id {id} twice"
                );
            }
        }
        let rejected = std::fs::read_to_string(&rejects).unwrap();
        for line in rejected.lines() {
            let record: Value = serde_json::from_str(line).unwrap();
            assert_eq!(record["file"], path);
            assert!(!record["error"].as_str().unwrap().is_empty());
            let id = match &record["data"] {
                Value::Object(row) => match &row["id"] {
                    Value::String(s) => s.parse::<i64>().unwrap(),
                    other => other.as_i64().unwrap(),
                },
                // A line that is not JSON is kept as text.
                _ => {
                    assert!(record["text"].as_str().unwrap().starts_with("{\"id\": 15"));
                    15
                }
            };
            assert!(
                ids.insert(id, "rejected").is_none(),
                "{input}: id {id} twice"
            );
            // A JSONL line is kept byte for byte.
            if input == "bad.jsonl" && record["data"].is_object() {
                let original = std::fs::read_to_string(dir.path().join("bad.jsonl")).unwrap();
                let line_no = record["line"].as_u64().unwrap() as usize;
                let original_line: Value =
                    serde_json::from_str(original.lines().nth(line_no - 1).unwrap()).unwrap();
                assert_eq!(record["data"], original_line);
            }
        }
        let expected: Vec<i64> = fixture
            .iter()
            .map(|r| r["id"].as_i64().unwrap())
            .filter(|id| input != "bad.json" || *id != 15)
            .collect();
        assert_eq!(ids.keys().copied().collect::<Vec<_>>(), expected, "{input}");
        assert_eq!(
            ids.values().filter(|v| **v == "rejected").count(),
            bad_rows as usize,
            "{input}"
        );
    }
}

#[test]
fn unknown_columns_stop_the_run_unless_mapped_or_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    let rows: Vec<String> = fixture_rows()
        .iter()
        .map(|r| {
            let mut r = r.clone();
            let title = r["title"].take();
            r.as_object_mut().unwrap().remove("title");
            r["headline"] = title;
            r["extra"] = json!(1);
            r.to_string()
        })
        .collect();
    std::fs::write(&input, rows.join("\n")).unwrap();
    let input = input.to_str().unwrap();
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();

    let run = convert(&[
        "--input",
        input,
        "--format",
        "parquet",
        "--output",
        out,
        "--map",
        "headline=title",
    ]);
    assert_eq!(run.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&run.stderr).trim_end(),
        format!(
            "error: {input}: the input column 'extra' matches no field of the schema and the dynamic field is off: rename it with --map extra=FIELD, or drop such columns with --ignore-unknown"
        )
    );

    let run = convert(&[
        "--input",
        input,
        "--format",
        "parquet",
        "--output",
        out,
        "--map",
        "headline=title",
        "--ignore-unknown",
    ]);
    let m = manifest(&run);
    assert_eq!(m["rows"], 60);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        stderr.matches("warning:").count(),
        1,
        "reported once, not per row: {stderr}"
    );
    assert!(
        stderr.contains("dropped (the dynamic field is off): extra"),
        "{stderr}"
    );
}

#[test]
fn validate_reports_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    let mut rows = fixture_rows();
    rows[2]["claps"] = json!("x");
    let lines: Vec<String> = rows.iter().map(Value::to_string).collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = bulkwriter()
        .args(["validate", "--schema", &schema_path(), "--input"])
        .arg(&input)
        .args(["--log-format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report,
        json!({"rows": 60, "accepted": 59, "rejected": 1, "duplicate_keys": 0})
    );
    // Machine-readable stderr: one JSON object per line.
    let events: Vec<Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(events.iter().any(|e| {
        e["event"] == "rejected"
            && e["message"]
                .as_str()
                .unwrap()
                .contains("line 3: row 3, field 'claps'")
    }));
    assert!(
        events
            .iter()
            .any(|e| e["event"] == "summary" && e["rejected"] == 1)
    );
    assert!(!dir.path().join("out").exists());
}

/// A schema inferred from the fixture (as JSON, or as pyarrow Parquet) types every column
/// as the hand-written schema does.
#[test]
fn schema_infer_finds_the_fixture_types() {
    let dir = tempfile::tempdir().unwrap();
    fixture_formats(dir.path());
    let expected: Vec<(String, String)> =
        read_json(&root().join("schemas/medium_articles.json"))["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().into(),
                    f["type"].as_str().unwrap().into(),
                )
            })
            .collect();
    for input in [
        root().join("fixtures/medium_articles.json"),
        dir.path().join("rows.parquet"),
        dir.path().join("rows.csv"),
    ] {
        let out = bulkwriter()
            .args(["schema", "infer", "--input"])
            .arg(&input)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let schema: Value = serde_json::from_slice(&out.stdout).unwrap();
        let fields = schema["fields"].as_array().unwrap();
        let got: Vec<(String, String)> = fields
            .iter()
            .map(|f| {
                (
                    f["name"].as_str().unwrap().into(),
                    f["type"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(got, expected, "{}", input.display());
        assert_eq!(fields[0]["is_primary"], true);
        assert_eq!(fields[2]["params"]["dim"], 768);
        // And it converts the data it came from.
        let schema_file = dir.path().join("inferred.json");
        std::fs::write(&schema_file, &out.stdout).unwrap();
        let out = bulkwriter()
            .args([
                "convert",
                "--schema",
                schema_file.to_str().unwrap(),
                "--input",
            ])
            .arg(&input)
            .args(["--format", "parquet", "--output"])
            .arg(dir.path().join("out"))
            .output()
            .unwrap();
        assert_eq!(manifest(&out)["rows"], 60);
    }
}

/// A JSONL input of about `rows` medium_articles rows (768 floats each).
fn big_jsonl(path: &Path, rows: usize) {
    let script = r#"
import json, random, sys
random.seed(3)
with open(sys.argv[1], "w") as f:
    for i in range(int(sys.argv[2])):
        f.write(json.dumps({"id": i, "title": "t%d" % i, "vector": [random.random() for _ in range(768)],
            "link": "l", "reading_time": 1, "publication": "p", "claps": i, "responses": 0}) + "\n")
"#;
    let status = python()
        .args(["-c", script, path.to_str().unwrap(), &rows.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// Peak memory does not grow with the input: four times more input costs no more memory,
/// give or take the allocator's slack.
#[test]
fn peak_memory_does_not_grow_with_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small.jsonl");
    let large = dir.path().join("large.jsonl");
    // The small input (2,000 rows, 30 MiB) is already five times what the JSONL reader holds
    // ahead of the writer (6 blocks of 64 lines) and fills many 1 MiB segments, so both runs
    // reach the steady state; with 800 rows the small run sometimes ended before the reader
    // ran fully ahead and its peak was 10-20 MiB lower, which made the comparison flaky.
    big_jsonl(&small, 2000);
    big_jsonl(&large, 8000);
    let large_size = std::fs::metadata(&large).unwrap().len();
    let chunk = 1u64 << 20;
    assert!(
        large_size > 100 * chunk,
        "the large input is 100× the chunk size"
    );
    let peak = |input: &Path, format: &str| -> u64 {
        let out = run_python(
            "peak_rss.py",
            &[
                env!("CARGO_BIN_EXE_bulkwriter"),
                "convert",
                "--schema",
                &schema_path(),
                "--input",
                input.to_str().unwrap(),
                "--format",
                format,
                "--chunk-size",
                "1MiB",
                "--output",
                dir.path().join("out").to_str().unwrap(),
            ],
        );
        out.trim().parse::<u64>().unwrap() * 1024
    };
    for format in ["parquet", "json"] {
        let small_peak = peak(&small, format);
        let large_peak = peak(&large, format);
        eprintln!(
            "{format}: peak RSS {} MiB for {} MiB of input, {} MiB for {} MiB",
            small_peak >> 20,
            std::fs::metadata(&small).unwrap().len() >> 20,
            large_peak >> 20,
            large_size >> 20
        );
        // A few MiB of slack: malloc's per-thread arenas (the JSONL parser thread allocates,
        // the writer frees) settle a little higher under sustained load; memory still does
        // not follow the input, which grows by 89 MiB here.
        assert!(
            large_peak < small_peak + 24 * chunk,
            "{format}: {large_peak} bytes for 10× the input vs {small_peak}"
        );
    }
}

/// On a terminal the progress bar is drawn and cleared before the summary; piped, stderr
/// holds only the summary, without escape sequences.
#[test]
fn the_progress_bar_draws_on_a_terminal_only() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("rows.jsonl");
    big_jsonl(&input, 6000);
    let out_dir = dir.path().join("out");
    let schema = schema_path();
    let args = [
        env!("CARGO_BIN_EXE_bulkwriter"),
        "convert",
        "--schema",
        &schema,
        "--input",
        input.to_str().unwrap(),
        "--format",
        "parquet",
        "--output",
        out_dir.to_str().unwrap(),
    ];
    let run: Value = serde_json::from_str(&run_python("run_in_pty.py", &args)).unwrap();
    assert_eq!(run["status"], 0);
    let terminal = run["terminal"].as_str().unwrap();
    assert!(
        terminal.contains(" rows ("),
        "a bar with the row count: {terminal:?}"
    );
    assert!(terminal.contains("/s"), "a rate: {terminal:?}");
    assert!(terminal.contains('\u{1b}'), "drawn with escape sequences");
    let last_line = terminal.trim_end().lines().last().unwrap();
    assert!(
        last_line.contains("done: 6000 rows written (0 rejected)"),
        "the summary comes last, after the bar was cleared: {last_line:?}"
    );

    let piped = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(piped.status.success());
    let stderr = String::from_utf8_lossy(&piped.stderr);
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    assert_eq!(stderr.lines().count(), 1, "{stderr:?}");
    assert!(stderr.starts_with("done: 6000 rows written"), "{stderr:?}");

    let quiet = Command::new(args[0])
        .args(&args[1..])
        .arg("--quiet")
        .output()
        .unwrap();
    assert!(quiet.stderr.is_empty());
}

/// Issue 19 item 3: a primary key given twice is an error by default (Milvus would keep both
/// rows), can be skipped or kept, is found across files and inside Parquet batches, and
/// `validate` counts such rows. The ids written are read back with numpy.
#[test]
fn duplicate_primary_keys_are_refused_skipped_or_kept() {
    let dir = tempfile::tempdir().unwrap();
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/medium_articles.json")).unwrap(),
    )
    .unwrap();
    let rows = fixture["rows"].as_array().unwrap();
    // ids 0..10, then 5 again (line 11), then 10..12.
    let mut lines: Vec<String> = rows[..10].iter().map(Value::to_string).collect();
    lines.push(rows[5].to_string());
    lines.extend(rows[10..12].iter().map(Value::to_string));
    let jsonl = dir.path().join("dup.jsonl");
    std::fs::write(&jsonl, lines.join("\n")).unwrap();
    let schema = root().join("schemas/medium_articles.json");
    let run = |inputs: &[&Path], extra: &[&str], out: &str| {
        bulkwriter()
            .args(["convert", "--quiet", "--format", "numpy", "--schema"])
            .arg(&schema)
            .arg("--input")
            .args(inputs)
            .arg("--output")
            .arg(dir.path().join(out))
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run(&[&jsonl], &[], "refused");
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&refused.stderr).trim_end(),
        format!(
            "error: {}: line 11: row 11, field 'id': duplicate primary key 5: an earlier row has it, and Milvus would keep both rows under one key",
            jsonl.display()
        )
    );
    let ids = |out: &Output| -> Vec<i64> {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut ids = Vec::new();
        for group in manifest["batch_files"].as_array().unwrap() {
            let id_file = group
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f.as_str().unwrap().ends_with("/id.npy"))
                .unwrap();
            let loaded = np_load(Path::new(id_file.as_str().unwrap()));
            ids.extend(
                loaded["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap()),
            );
        }
        ids
    };
    let skipped = run(&[&jsonl], &["--on-duplicate-key", "skip"], "skip");
    assert_eq!(ids(&skipped), (0..12).collect::<Vec<_>>());
    let summary: Value = serde_json::from_slice(&skipped.stdout).unwrap();
    assert_eq!(
        (
            summary["rejected"].as_u64(),
            summary["duplicate_keys"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let kept = run(&[&jsonl], &["--on-duplicate-key", "keep"], "keep");
    let mut expected: Vec<i64> = (0..10).collect();
    expected.extend([5, 10, 11]);
    assert_eq!(ids(&kept), expected);

    // Parquet (the batch path): ids 0..30 in one file, 25..40 in the next (6 repeated),
    // and 31 twice inside the second file.
    let made = python()
        .args([
            "-c",
            r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
rows = json.load(open(sys.argv[1]))["rows"]
def write(ids, path):
    table = pa.Table.from_pylist([dict(rows[i % 60], id=i) for i in ids])
    vectors = pa.array([rows[i % 60]["vector"] for i in ids], pa.list_(pa.float32()))
    pq.write_table(table.set_column(table.schema.get_field_index("vector"), "vector", vectors), path)
write(range(0, 30), sys.argv[2] + "/a.parquet")
write(list(range(25, 32)) + [31] + list(range(32, 40)), sys.argv[2] + "/b.parquet")
"#,
        ])
        .arg(root().join("fixtures/medium_articles.json"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let (a, b) = (dir.path().join("a.parquet"), dir.path().join("b.parquet"));
    let refused = run(&[&a, &b], &[], "pq-refused");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains(&format!(
            "{}: row 1, field 'id': duplicate primary key 25",
            b.display()
        )),
        "{stderr}"
    );
    let skipped = run(&[&a, &b], &["--on-duplicate-key", "skip"], "pq-skip");
    assert_eq!(ids(&skipped), (0..40).collect::<Vec<_>>());
    let summary: Value = serde_json::from_slice(&skipped.stdout).unwrap();
    assert_eq!(summary["duplicate_keys"], 6);

    let validated = bulkwriter()
        .args(["validate", "--quiet", "--schema"])
        .arg(&schema)
        .arg("--input")
        .arg(&a)
        .arg(&b)
        .output()
        .unwrap();
    assert_eq!(validated.status.code(), Some(1), "duplicates are bad rows");
    let report: Value = serde_json::from_slice(&validated.stdout).unwrap();
    assert_eq!(report["duplicate_keys"], 6);
    assert_eq!(report["rejected"], 6);
    assert_eq!(report["accepted"], 40);
}

/// JSONL lines of the plain field types are decoded straight into columns; every other line
/// is left to the row path. Either way each value is what Python's json module reads (floats
/// rounded to float32 by numpy), and every bad line is reported with its line and field, as
/// the row path reports it, whether it comes first in a block or in the middle of one.
#[test]
fn jsonl_decoded_as_columns_keeps_every_value_and_reports_every_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run_python("jsonl_columns.py", &["make", d]);
    let schema = dir.path().join("schema.json");
    let input = dir.path().join("rows.jsonl");
    for format in ["numpy", "parquet"] {
        let out_dir = dir.path().join(format!("out-{format}"));
        let rejects = dir.path().join(format!("rejects-{format}.jsonl"));
        let base = [
            "convert",
            "--schema",
            schema.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--format",
            format,
            "--output",
            out_dir.to_str().unwrap(),
            "--chunk-size",
            "64KiB",
        ];
        // The first bad line stops the run, named as the row path names it.
        let out = bulkwriter().args(base).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{format}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("line 18: row 18, field 'title': Illegal varchar value"),
            "{format}: {stderr}"
        );
        // Skipping bad rows: every other row is written, every bad one listed.
        let out = bulkwriter()
            .args(base)
            .args([
                "--on-error",
                "skip",
                "--reject-file",
                rejects.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        let manifest_path = dir.path().join(format!("manifest-{format}.json"));
        std::fs::write(&manifest_path, manifest(&out).to_string()).unwrap();
        let checked = run_python(
            "jsonl_columns.py",
            &[
                "check",
                d,
                manifest_path.to_str().unwrap(),
                rejects.to_str().unwrap(),
            ],
        );
        assert_eq!(checked.trim(), "ok 2914", "{format}");
    }
}

/// Issue 19, item 4: integers beyond 64 bits and the integer `-0` inside a JSON field or
/// `$meta` (and `-0` as a primary key) are written as Python's json module reads them (every
/// digit kept, `-0` as 0), from every input that carries JSON text, to every output format.
#[test]
fn json_integers_beyond_64_bits_and_minus_zero_stay_exact() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    run_python("exact_json.py", &["make", d]);
    let schema = dir.path().join("schema.json");
    for input in ["jsonl", "json", "csv", "parquet"] {
        for format in ["numpy", "parquet", "json", "jsonl", "csv"] {
            let out_dir = dir.path().join(format!("out-{input}-{format}"));
            let out = bulkwriter()
                .args(["convert", "--schema", schema.to_str().unwrap(), "--input"])
                .arg(dir.path().join(format!("rows.{input}")))
                .args(["--format", format, "--output", out_dir.to_str().unwrap()])
                .output()
                .unwrap();
            manifest(&out);
            let checked = run_python(
                "exact_json.py",
                &["check", input, format, out_dir.to_str().unwrap()],
            );
            assert_eq!(checked.trim(), "ok 4", "{input} to {format}");
        }
    }
}
