//! Inputs as users have them (issue 19 items 7 and 9): text compressed by Python's gzip, bz2
//! and zstandard modules, found by extension or by their bytes, also on standard input;
//! Parquet on standard input; and Parquet folders as pyarrow writes them, Hive partitioned.
//! Each must give the rows of the plain input: the same Parquet bytes as converting the
//! plain file, and pyarrow's reading of the output equals pyarrow's reading of the input.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::common::python;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn medium_schema() -> PathBuf {
    root().join("schemas/medium_articles.json")
}

/// `convert` of `inputs` to Parquet with `stdin` piped in; returns the process's output.
fn convert(inputs: &[&str], extra: &[&str], out: &Path, stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
        .args(["convert", "--quiet", "--schema"])
        .arg(medium_schema())
        .arg("--input")
        .args(inputs)
        .args(["--format", "parquet", "--output"])
        .arg(out)
        .args(extra)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    if let Some(bytes) = stdin {
        pipe.write_all(bytes).unwrap();
    }
    drop(pipe);
    child.wait_with_output().unwrap()
}

/// The Parquet file of a successful one-segment run.
fn only_file(out: &Output, what: &str) -> Vec<u8> {
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let groups = manifest["batch_files"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{what}: one segment");
    std::fs::read(groups[0][0].as_str().unwrap()).unwrap()
}

/// The fixture's 60 medium_articles rows as JSONL.
fn fixture_jsonl() -> String {
    let fixture: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/medium_articles.json")).unwrap(),
    )
    .unwrap();
    fixture["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| format!("{row}\n"))
        .collect()
}

const COMPRESS: &str = r#"
import bz2, gzip, sys, zstandard
source, out = sys.argv[1], sys.argv[2]
data = open(source, "rb").read()
half = len(data) // 2
# gzip in two members and zstd in two frames, as `cat a.gz b.gz` makes them.
open(out + ".gz", "wb").write(gzip.compress(data[:half]) + gzip.compress(data[half:]))
open(out + ".bz2", "wb").write(bz2.compress(data))
z = zstandard.ZstdCompressor()
open(out + ".zst", "wb").write(z.compress(data[:half]) + z.compress(data[half:]))
"#;

#[test]
fn compressed_text_reads_as_the_plain_text_by_extension_bytes_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    for (format, text) in [
        ("jsonl", fixture_jsonl()),
        (
            "json",
            std::fs::read_to_string(root().join("fixtures/medium_articles.json")).unwrap(),
        ),
    ] {
        let plain = dir.path().join(format!("rows.{format}"));
        std::fs::write(&plain, &text).unwrap();
        let expected = only_file(
            &convert(
                &[plain.to_str().unwrap()],
                &[],
                &dir.path().join("plain"),
                None,
            ),
            "plain",
        );
        let stem = dir.path().join(format!("rows.{format}"));
        let made = python()
            .args(["-c", COMPRESS])
            .arg(&plain)
            .arg(&stem)
            .output()
            .unwrap();
        assert!(made.status.success(), "{made:?}");
        for ext in ["gz", "bz2", "zst"] {
            let compressed = PathBuf::from(format!("{}.{ext}", stem.display()));
            let out = dir.path().join(format!("{format}-{ext}"));
            let by_name = convert(&[compressed.to_str().unwrap()], &[], &out, None);
            assert_eq!(only_file(&by_name, ext), expected, "{format}.{ext}");
            // A name that says nothing: the format is given and the bytes tell the rest.
            let anonymous = dir.path().join(format!("{format}-{ext}.data"));
            std::fs::copy(&compressed, &anonymous).unwrap();
            let by_bytes = convert(
                &[anonymous.to_str().unwrap()],
                &["--input-format", format],
                &out.join("anonymous"),
                None,
            );
            assert_eq!(
                only_file(&by_bytes, ext),
                expected,
                "{format} {ext} by bytes"
            );
            let bytes = std::fs::read(&compressed).unwrap();
            let piped = convert(
                &["-"],
                &["--input-format", format],
                &out.join("stdin"),
                Some(&bytes),
            );
            assert_eq!(only_file(&piped, ext), expected, "{format} {ext} on stdin");
        }
    }
    // Columnar files are not taken compressed, and say why.
    let parquet_gz = dir.path().join("x.parquet.gz");
    std::fs::write(&parquet_gz, b"\x1f\x8b").unwrap();
    let refused = convert(
        &[parquet_gz.to_str().unwrap()],
        &[],
        &dir.path().join("r"),
        None,
    );
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("decompress it first"),
        "{refused:?}"
    );
}

/// Writes the fixture's rows with pyarrow: one file, and a dataset Hive-partitioned by
/// `publication` (pyarrow moves that column into the folder names).
const DATASET: &str = r#"
import json, sys
import pyarrow as pa, pyarrow.parquet as pq
fixture, out = sys.argv[1], sys.argv[2]
rows = json.load(open(fixture))["rows"]
table = pa.Table.from_pylist(rows)
vectors = pa.array([r["vector"] for r in rows], pa.list_(pa.float32()))
table = table.set_column(table.schema.get_field_index("vector"), "vector", vectors)
pq.write_table(table, out + "/one.parquet")
pq.write_to_dataset(table, out + "/dataset", partition_cols=["publication"])
open(out + "/dataset/_SUCCESS", "w").close()
"#;

const SAME_ROWS: &str = r#"
import sys
import pyarrow.parquet as pq
a = pq.read_table(sys.argv[1]).to_pylist()
b = pq.read_table(sys.argv[2]).to_pylist()
key = lambda r: r["id"]
assert sorted(a, key=key) == sorted(b, key=key), "rows differ"
print(len(a))
"#;

#[test]
fn parquet_folders_and_parquet_on_stdin_give_every_row_with_partition_columns() {
    let dir = tempfile::tempdir().unwrap();
    let made = python()
        .args(["-c", DATASET])
        .arg(root().join("fixtures/medium_articles.json"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let one = dir.path().join("one.parquet");
    let expected = only_file(
        &convert(
            &[one.to_str().unwrap()],
            &[],
            &dir.path().join("one-out"),
            None,
        ),
        "one file",
    );

    let dataset = dir.path().join("dataset");
    let out = convert(
        &[dataset.to_str().unwrap()],
        &[],
        &dir.path().join("ds-out"),
        None,
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(manifest["rows"], 60, "every row of every partition");
    let written = manifest["batch_files"][0][0].as_str().unwrap();
    let compared = python()
        .args(["-c", SAME_ROWS])
        .arg(&one)
        .arg(written)
        .output()
        .unwrap();
    assert!(
        compared.status.success(),
        "the dataset's rows, publication from the folder names: {}",
        String::from_utf8_lossy(&compared.stderr)
    );

    let bytes = std::fs::read(&one).unwrap();
    let piped = convert(
        &["-"],
        &["--input-format", "parquet"],
        &dir.path().join("stdin-out"),
        Some(&bytes),
    );
    assert_eq!(only_file(&piped, "stdin"), expected, "Parquet on stdin");
}

/// Embeddings kept as raw bytes (`v.tobytes()`) in a Parquet binary column, as float32 and as
/// float16, beside a `fixed_size_binary` copy.
const BYTE_VECTORS: &str = r#"
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
out = sys.argv[1]
rng = np.random.default_rng(7)
v = rng.standard_normal((50, 4)).astype(np.float32)
table = pa.table({
    "id": np.arange(50, dtype=np.int64),
    "vector": pa.array([r.tobytes() for r in v], pa.binary()),
})
pq.write_table(table, out + "/f32.parquet")
half = pa.array([r.astype(np.float16).tobytes() for r in v], pa.binary(8))
pq.write_table(table.set_column(1, "vector", half), out + "/f16.parquet")
np.save(out + "/expected_f32.npy", v)
np.save(out + "/expected_f16.npy", v.astype(np.float16).astype(np.float32))
"#;

const READ_VECTORS: &str = r#"
import sys
import numpy as np, pyarrow.parquet as pq
got = np.array(pq.read_table(sys.argv[1]).column("vector").to_pylist(), dtype=np.float32)
expected = np.load(sys.argv[2])
assert got.shape == expected.shape, (got.shape, expected.shape)
assert np.array_equal(got, expected), "values differ"
"#;

#[test]
fn byte_vectors_are_refused_unless_their_layout_is_named_and_then_decoded() {
    let dir = tempfile::tempdir().unwrap();
    let made = python()
        .args(["-c", BYTE_VECTORS])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let schema = dir.path().join("schema.json");
    std::fs::write(
        &schema,
        r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
                       {"name": "vector", "type": "FLOAT_VECTOR", "params": {"dim": 4}}]}"#,
    )
    .unwrap();
    let run = |input: &str, extra: &[&str], out: &str| {
        Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
            .args(["convert", "--quiet", "--format", "parquet", "--schema"])
            .arg(&schema)
            .arg("--input")
            .arg(dir.path().join(input))
            .arg("--output")
            .arg(dir.path().join(out))
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = run("f32.parquet", &[], "refused");
    assert_eq!(refused.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("'vector'") && stderr.contains("--vector-bytes vector=f32le"),
        "{stderr}"
    );
    for (input, layout, expected) in [
        ("f32.parquet", "vector=f32le", "expected_f32.npy"),
        ("f16.parquet", "vector=f16le", "expected_f16.npy"),
    ] {
        let out = run(input, &["--vector-bytes", layout], layout);
        assert!(
            out.status.success(),
            "{layout}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
        let written = manifest["batch_files"][0][0].as_str().unwrap();
        let checked = python()
            .args(["-c", READ_VECTORS, written])
            .arg(dir.path().join(expected))
            .output()
            .unwrap();
        assert!(checked.status.success(), "{layout}: {checked:?}");
    }
    // float16 bytes read as float32 make 2 values a row, not the schema's 4: refused.
    let wrong = run("f16.parquet", &["--vector-bytes", "vector=f32le"], "wrong");
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        stderr.contains("row 1") && stderr.contains("got 2"),
        "{stderr}"
    );
    let not_a_vector = run("f32.parquet", &["--vector-bytes", "id=f32le"], "id");
    assert_eq!(not_a_vector.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&not_a_vector.stderr).contains("FLOAT_VECTOR"));

    let inferred = Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
        .args(["schema", "infer", "--input"])
        .arg(dir.path().join("f32.parquet"))
        .output()
        .unwrap();
    assert!(inferred.status.success(), "{inferred:?}");
    let schema: Value = serde_json::from_slice(&inferred.stdout).unwrap();
    let vector = schema["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == "vector")
        .unwrap();
    assert_eq!(vector["type"], "FLOAT_VECTOR");
    assert_eq!(vector["params"]["dim"], 4, "16 bytes are 4 float32 values");
    assert!(String::from_utf8_lossy(&inferred.stderr).contains("--vector-bytes vector=f32le"));
}

/// Dates, timestamps and dictionary strings (pandas `datetime64`, `date`, `category`) as
/// pyarrow writes them.
const TEMPORAL: &str = r#"
import datetime as dt, sys
import pyarrow as pa, pyarrow.parquet as pq
out = sys.argv[1]
moments = [dt.datetime(2024, 1, 31, 12, 30, 0, 250000, tzinfo=dt.timezone.utc),
           dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)]
naive = [m.replace(tzinfo=None) for m in moments]
days = [m.date() for m in moments]
table = pa.table({
    "id": pa.array([1, 2], pa.int64()),
    "v": pa.array([[0.5, 1.0], [2.0, 3.0]], pa.list_(pa.float32())),
    "at_us": pa.array(moments, pa.timestamp("us", tz="UTC")),
    "at_text": pa.array(naive, pa.timestamp("ms")),
    "at_zoned": pa.array(moments, pa.timestamp("ns", tz="UTC")),
    "day": pa.array(days, pa.date32()),
    "day_text": pa.array(days, pa.date32()),
    "tag": pa.array(["red", "blue"]).dictionary_encode(),
})
pq.write_table(table, out)
"#;

const CHECK_TEMPORAL: &str = r#"
import datetime as dt, sys
import pyarrow as pa, pyarrow.parquet as pq
source, written = pq.read_table(sys.argv[1]), pq.read_table(sys.argv[2])
col = lambda t, n: t.column(n).to_pylist()
assert col(written, "at_us") == source.column("at_us").cast(pa.int64()).to_pylist(), col(written, "at_us")
assert col(written, "day") == source.column("day").cast(pa.int32()).to_pylist(), col(written, "day")
assert [dt.datetime.fromisoformat(t) for t in col(written, "at_text")] == col(source, "at_text")
assert [dt.datetime.fromisoformat(t) for t in col(written, "at_zoned")] == col(source, "at_zoned")
assert [dt.date.fromisoformat(t) for t in col(written, "day_text")] == col(source, "day_text")
assert col(written, "tag") == ["red", "blue"]
"#;

#[test]
fn dates_timestamps_and_dictionaries_convert_as_documented() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("temporal.parquet");
    let made = python()
        .args(["-c", TEMPORAL])
        .arg(&input)
        .output()
        .unwrap();
    assert!(made.status.success(), "{made:?}");
    let schema = dir.path().join("schema.json");
    std::fs::write(
        &schema,
        r#"{"fields": [{"name": "id", "type": "INT64", "is_primary": true},
            {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}},
            {"name": "at_us", "type": "INT64"},
            {"name": "at_text", "type": "VARCHAR", "params": {"max_length": 64}},
            {"name": "at_zoned", "type": "TIMESTAMPTZ"},
            {"name": "day", "type": "INT64"},
            {"name": "day_text", "type": "VARCHAR", "params": {"max_length": 16}},
            {"name": "tag", "type": "VARCHAR", "params": {"max_length": 16}}]}"#,
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
        .args(["convert", "--quiet", "--format", "parquet", "--schema"])
        .arg(&schema)
        .arg("--input")
        .arg(&input)
        .arg("--output")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: Value = serde_json::from_slice(&out.stdout).unwrap();
    let written = manifest["batch_files"][0][0].as_str().unwrap();
    let checked = python()
        .args(["-c", CHECK_TEMPORAL])
        .arg(&input)
        .arg(written)
        .output()
        .unwrap();
    assert!(checked.status.success(), "{checked:?}");
}

/// Puts the fixture's rows into the local S3 server (moto) with boto3: JSONL, gzip JSONL,
/// a Parquet file of several row groups and a Hive-partitioned pyarrow dataset.
const UPLOAD: &str = r#"
import gzip, io, json, os, sys
import boto3, pyarrow as pa, pyarrow.parquet as pq
endpoint, bucket, prefix, fixture, local = sys.argv[1:6]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="test", aws_secret_access_key="test")
rows = json.load(open(fixture))["rows"]
text = "".join(json.dumps(r) + "\n" for r in rows).encode()
s3.put_object(Bucket=bucket, Key=f"{prefix}/rows.jsonl", Body=text)
s3.put_object(Bucket=bucket, Key=f"{prefix}/more/rows.jsonl.gz", Body=gzip.compress(text))
open(local + "/rows.jsonl", "wb").write(text)
table = pa.Table.from_pylist(rows)
vectors = pa.array([r["vector"] for r in rows], pa.list_(pa.float32()))
table = table.set_column(table.schema.get_field_index("vector"), "vector", vectors)
pq.write_table(table, local + "/rows.parquet", row_group_size=7)
s3.upload_file(local + "/rows.parquet", bucket, f"{prefix}/rows.parquet")
pq.write_to_dataset(table, local + "/dataset", partition_cols=["publication"])
for root, _, files in os.walk(local + "/dataset"):
    for name in files:
        path = os.path.join(root, name)
        s3.upload_file(path, bucket, f"{prefix}/dataset/" + os.path.relpath(path, local + "/dataset"))
"#;

#[test]
fn inputs_in_a_bucket_read_as_the_same_local_files() {
    let endpoint = crate::remote::env("BULKWRITER_TEST_S3_ENDPOINT");
    let bucket = crate::remote::env("BULKWRITER_TEST_S3_BUCKET");
    let prefix = crate::remote::unique_prefix("remote-input");
    let dir = tempfile::tempdir().unwrap();
    let uploaded = python()
        .args(["-c", UPLOAD, &endpoint, &bucket, &prefix])
        .arg(root().join("fixtures/medium_articles.json"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(uploaded.status.success(), "{uploaded:?}");
    let options: Vec<String> = crate::remote::s3_options(&endpoint)
        .into_iter()
        .flat_map(|(k, v)| ["--input-storage-option".to_string(), format!("{k}={v}")])
        .collect();
    let options: Vec<&str> = options.iter().map(String::as_str).collect();
    let local = |name: &str, out: &str| {
        let input = dir.path().join(name);
        only_file(
            &convert(&[input.to_str().unwrap()], &[], &dir.path().join(out), None),
            name,
        )
    };
    let remote = |url: &str, out: &str| {
        only_file(&convert(&[url], &options, &dir.path().join(out), None), url)
    };
    let url = |key: &str| format!("s3://{bucket}/{prefix}/{key}");
    let jsonl = local("rows.jsonl", "l-jsonl");
    assert_eq!(
        remote(&url("rows.jsonl"), "r-jsonl"),
        jsonl,
        "JSONL streamed"
    );
    assert_eq!(
        remote(&url("more/rows.jsonl.gz"), "r-gz"),
        jsonl,
        "gzip JSONL streamed"
    );
    assert_eq!(remote(&url("*.jsonl"), "r-glob"), jsonl, "a glob of keys");
    let parquet = local("rows.parquet", "l-parquet");
    assert_eq!(
        remote(&url("rows.parquet"), "r-parquet"),
        parquet,
        "Parquet by ranges"
    );
    let dataset = local("dataset", "l-dataset");
    assert_eq!(
        remote(&url("dataset"), "r-dataset"),
        dataset,
        "a Parquet folder"
    );

    let missing = convert(
        &[&url("nothing.jsonl")],
        &options,
        &dir.path().join("m"),
        None,
    );
    assert_eq!(missing.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert!(stderr.contains(&url("nothing.jsonl")), "{stderr}");
}
