//! Remote output against real local servers started by `tests/run.sh` on 127.0.0.1: moto
//! (S3, and the stand-in for GCS's S3-like XML API) and Azurite (Azure Blob). What we upload
//! is listed and downloaded with the clouds' own SDKs (boto3, azure-storage-blob) and must be
//! byte-identical to a local run of the same input.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use bulkwriter_writer::{BulkWriter, FileType, WriteError, WriterOptions};
use serde_json::Value;

use crate::common::*;

pub(crate) fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!(
            "{name} is not set: run the tests with `bash tests/run.sh`, which starts the local \
             S3 (moto) and Azure (Azurite) servers"
        )
    })
}

/// A prefix no other test run uses.
pub(crate) fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("it/{test}-{nanos}")
}

pub(crate) fn s3_options(endpoint: &str) -> Vec<(String, String)> {
    [
        ("endpoint", endpoint),
        ("allow_http", "true"),
        ("region", "us-east-1"),
        ("access_key_id", "test"),
        ("secret_access_key", "test"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

pub(crate) fn azure_options() -> Vec<(String, String)> {
    vec![
        ("account_name".into(), env("BULKWRITER_TEST_AZURE_ACCOUNT")),
        ("access_key".into(), env("BULKWRITER_TEST_AZURE_KEY")),
        ("endpoint".into(), env("BULKWRITER_TEST_AZURE_ENDPOINT")),
        ("allow_http".into(), "true".into()),
    ]
}

/// Runs `bulkwriter convert` on the medium_articles fixture.
fn convert(format: &str, output: &str, options: &[(String, String)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwriter"));
    command
        .args([
            "convert",
            "--schema",
            "schemas/medium_articles.json",
            "--input",
            "fixtures/medium_articles.json",
            "--chunk-size",
            "100KiB",
            "--format",
            format,
            "--output",
            output,
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"));
    for (key, value) in options {
        command
            .arg("--storage-option")
            .arg(format!("{key}={value}"));
    }
    command.output().unwrap()
}

fn manifest(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "convert failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The files of a run, by their path below `<data_path>/`, with their bytes.
fn files_by_relative_path(
    manifest: &Value,
    read: impl Fn(&str) -> Vec<u8>,
) -> BTreeMap<String, Vec<u8>> {
    let data_path = manifest["data_path"].as_str().unwrap();
    let mut out = BTreeMap::new();
    for group in manifest["batch_files"].as_array().unwrap() {
        for path in group.as_array().unwrap() {
            let path = path.as_str().unwrap();
            let relative = path
                .strip_prefix(data_path)
                .and_then(|p| p.strip_prefix('/'))
                .unwrap_or_else(|| panic!("{path} is not under {data_path}"));
            out.insert(relative.to_string(), read(path));
        }
    }
    out
}

/// Downloads everything under `prefix` with the cloud's SDK; returns the keys found.
pub(crate) fn download(kind: &str, bucket: &str, prefix: &str, dest: &Path) -> Vec<String> {
    let dest = dest.to_str().unwrap();
    let out = match kind {
        "s3" => run_python(
            "object_store_client.py",
            &[
                "s3",
                &env("BULKWRITER_TEST_S3_ENDPOINT"),
                bucket,
                prefix,
                dest,
            ],
        ),
        _ => run_python(
            "object_store_client.py",
            &[
                "azure",
                &env("BULKWRITER_TEST_AZURE_ENDPOINT"),
                &env("BULKWRITER_TEST_AZURE_ACCOUNT"),
                &env("BULKWRITER_TEST_AZURE_KEY"),
                bucket,
                prefix,
                dest,
            ],
        ),
    };
    serde_json::from_str(&out).unwrap()
}

/// Converts to `url_root/<prefix>` and checks the objects against a local run.
fn check_remote_run(
    kind: &str,
    scheme: &str,
    bucket: &str,
    format: &str,
    options: &[(String, String)],
) {
    let local_dir = tempfile::tempdir().unwrap();
    let local = manifest(&convert(format, local_dir.path().to_str().unwrap(), &[]));
    let local_files = files_by_relative_path(&local, |p| std::fs::read(p).unwrap());

    let prefix = unique_prefix(&format!("{kind}-{format}"));
    let output = format!("{scheme}://{bucket}/{prefix}");
    let remote = manifest(&convert(format, &output, options));
    let what = format!("{output} ({format})");

    let groups = remote["batch_files"].as_array().unwrap();
    assert!(groups.len() > 1, "{what}: several segments");
    assert_eq!(groups.len(), local["batch_files"].as_array().unwrap().len());
    let data_path = remote["data_path"].as_str().unwrap();
    assert!(
        data_path.starts_with(&format!("{prefix}/")),
        "{what}: {data_path}"
    );
    assert_eq!(
        remote["data_url"],
        format!("{scheme}://{bucket}/{data_path}")
    );
    // Keys are bucket-relative (no leading slash); URLs are the same keys in full.
    for (group, urls) in groups.iter().zip(remote["batch_urls"].as_array().unwrap()) {
        for (key, url) in group
            .as_array()
            .unwrap()
            .iter()
            .zip(urls.as_array().unwrap())
        {
            let key = key.as_str().unwrap();
            assert!(!key.starts_with('/'), "{key}");
            assert_eq!(url.as_str().unwrap(), format!("{scheme}://{bucket}/{key}"));
        }
    }

    let dest = tempfile::tempdir().unwrap();
    let listed = download(kind, bucket, &prefix, dest.path());
    let mut reported: Vec<String> = groups
        .iter()
        .flat_map(|g| {
            g.as_array()
                .unwrap()
                .iter()
                .map(|k| k.as_str().unwrap().to_string())
        })
        .collect();
    // The run's manifest is uploaded beside the segments.
    let manifest_key = format!("{data_path}/manifest.json");
    reported.push(manifest_key.clone());
    reported.sort();
    assert_eq!(
        listed, reported,
        "{what}: the bucket holds exactly the reported files and the manifest (no write-check or staging object)"
    );
    let uploaded: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.path().join(&manifest_key)).unwrap()).unwrap();
    assert_eq!(uploaded["finished"], true, "{what}");
    assert_eq!(uploaded["batch_files"], remote["batch_files"], "{what}");
    let remote_files =
        files_by_relative_path(&remote, |key| std::fs::read(dest.path().join(key)).unwrap());
    assert_eq!(
        remote_files.keys().collect::<Vec<_>>(),
        local_files.keys().collect::<Vec<_>>(),
        "{what}"
    );
    for (name, bytes) in &local_files {
        assert!(
            remote_files[name] == *bytes,
            "{what}: {name} differs from the local run"
        );
    }
}

#[test]
fn s3_output_is_byte_identical_to_local_output() {
    let options = s3_options(&env("BULKWRITER_TEST_S3_ENDPOINT"));
    let bucket = env("BULKWRITER_TEST_S3_BUCKET");
    for format in ["numpy", "parquet", "jsonl"] {
        check_remote_run("s3", "s3", &bucket, format, &options);
    }
}

#[test]
fn azure_output_is_byte_identical_to_local_output() {
    let container = env("BULKWRITER_TEST_AZURE_CONTAINER");
    for format in ["numpy", "parquet", "csv"] {
        check_remote_run("azure", "az", &container, format, &azure_options());
    }
}

/// GCS through object_store's GCS client, pointed at moto (GCS's XML API is S3-like): the
/// objects are then read back from moto with boto3.
#[test]
fn gcs_output_round_trips_through_the_stand_in() {
    let options: Vec<(String, String)> = [
        ("base_url", env("BULKWRITER_TEST_S3_ENDPOINT")),
        ("bearer_token", "dummy".to_string()),
        ("allow_http", "true".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    check_remote_run(
        "s3",
        "gs",
        &env("BULKWRITER_TEST_GCS_BUCKET"),
        "parquet",
        &options,
    );
}

/// Large segments go up as multipart uploads (row files stream in 8 MiB parts; a big Parquet
/// segment is one put); the bytes still equal a local run.
#[test]
fn large_segments_upload_whole() {
    let schema = || {
        bulkwriter_schema::CollectionSchema::from_json_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/medium_articles.json"),
            )
            .unwrap(),
        )
        .unwrap()
    };
    // Values that do not compress, so the Parquet file is over one 8 MiB part too.
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 40) as f64 / (1u64 << 24) as f64
    };
    // Enough rows for a Parquet file of more than 9 MiB (vectors are written plain).
    let rows: Vec<Value> = (0..3500)
        .map(|i| {
            let vector: Vec<f64> = (0..768).map(|_| next()).collect();
            serde_json::json!({"id": i, "title": format!("t{i}"), "vector": vector, "link": "l",
                "reading_time": 1, "publication": "p", "claps": i, "responses": 0})
        })
        .collect();
    let bucket = env("BULKWRITER_TEST_S3_BUCKET");
    for file_type in [FileType::Jsonl, FileType::Parquet] {
        let local_dir = tempfile::tempdir().unwrap();
        let mut local =
            BulkWriter::local(schema(), local_dir.path(), WriterOptions::new(file_type)).unwrap();
        let prefix = unique_prefix("large");
        let mut remote = BulkWriter::open(
            schema(),
            &format!("s3://{bucket}/{prefix}"),
            &s3_options(&env("BULKWRITER_TEST_S3_ENDPOINT")),
            WriterOptions::new(file_type),
        )
        .unwrap();
        for row in &rows {
            local.append_row(row).unwrap();
            remote.append_row(row).unwrap();
        }
        local.commit().unwrap();
        remote.commit().unwrap();
        let size = std::fs::metadata(&local.batch_files()[0][0]).unwrap().len();
        assert!(
            size > 9 << 20,
            "{file_type}: {size} bytes is more than one part"
        );
        let dest = tempfile::tempdir().unwrap();
        let listed = download("s3", &bucket, &prefix, dest.path());
        assert_eq!(listed, [remote.batch_files()[0][0].clone()]);
        assert!(
            std::fs::read(dest.path().join(&listed[0])).unwrap()
                == std::fs::read(&local.batch_files()[0][0]).unwrap(),
            "{file_type}"
        );
    }
}

#[test]
fn a_missing_bucket_fails_before_any_row() {
    let s3 = s3_options(&env("BULKWRITER_TEST_S3_ENDPOINT"));
    let cases = [
        (
            "s3://no-such-bucket/x",
            s3.clone(),
            "the bucket 'no-such-bucket' does not exist",
        ),
        (
            "az://no-such-container/x",
            azure_options(),
            "the container 'no-such-container' does not exist",
        ),
    ];
    for (output, options, message) in cases {
        let out = convert("parquet", output, &options);
        assert_eq!(out.status.code(), Some(1), "{output}");
        assert!(out.stdout.is_empty());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(message), "{output}: {stderr}");
    }
}

#[test]
fn storage_options_are_checked_and_secrets_never_shown() {
    let bucket = env("BULKWRITER_TEST_S3_BUCKET");
    let mut options = s3_options(&env("BULKWRITER_TEST_S3_ENDPOINT"));
    options.push(("secret_acess_key".into(), "TOPSECRETVALUE".into()));
    let out = convert("parquet", &format!("s3://{bucket}/x"), &options);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("secret_acess_key"), "{stderr}");
    assert!(!stderr.contains("TOPSECRETVALUE"), "{stderr}");

    // A real run never prints its secret either.
    let mut options = s3_options(&env("BULKWRITER_TEST_S3_ENDPOINT"));
    options.retain(|(k, _)| k != "secret_access_key");
    options.push(("secret_access_key".into(), "TOPSECRETVALUE".into()));
    let out = convert(
        "parquet",
        &format!("s3://{bucket}/{}", unique_prefix("secret")),
        &options,
    );
    assert!(out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("TOPSECRETVALUE"));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("TOPSECRETVALUE"));
}

/// `tests/python/flaky_proxy.py` in front of moto, stopped when dropped.
pub(crate) struct FlakyProxy {
    child: Child,
    pub(crate) endpoint: String,
}

impl FlakyProxy {
    pub(crate) fn start(mode: &str, limit: u32) -> FlakyProxy {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/flaky_proxy.py");
        let mut child = python()
            .arg(script)
            .args([
                &env("BULKWRITER_TEST_S3_ENDPOINT"),
                mode,
                &limit.to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        FlakyProxy {
            child,
            endpoint: format!("http://127.0.0.1:{}", line.trim()),
        }
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Transient 503s are retried with backoff: the run succeeds and the bytes are whole.
#[test]
fn transient_server_errors_are_retried() {
    let proxy = FlakyProxy::start("fail-first", 4);
    let options = s3_options(&proxy.endpoint);
    check_remote_run(
        "s3",
        "s3",
        &env("BULKWRITER_TEST_S3_BUCKET"),
        "parquet",
        &options,
    );
}

/// A server that keeps failing: the error names the segment and the file, and the segments
/// reported before it are exactly those fully on the server.
#[test]
fn a_failing_server_stops_the_run_and_reports_only_whole_segments() {
    // The write check (a PUT and S3's bulk-delete POST) and the first two segments get
    // through; every write after that fails.
    let proxy = FlakyProxy::start("fail-after", 4);
    let bucket = env("BULKWRITER_TEST_S3_BUCKET");
    let prefix = unique_prefix("failing");
    let mut options = s3_options(&proxy.endpoint);
    options.push(("max_retries".into(), "2".into()));
    options.push(("retry_timeout".into(), "5s".into()));
    let schema = bulkwriter_schema::CollectionSchema::from_json_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/medium_articles.json"),
        )
        .unwrap(),
    )
    .unwrap();
    // One segment in flight at a time, so uploads reach the server in segment order.
    let options_writer = WriterOptions::new(FileType::Parquet)
        .with_chunk_size(40 << 10)
        .with_segments_in_flight(1);
    let mut writer = BulkWriter::open(
        schema,
        &format!("s3://{bucket}/{prefix}"),
        &options,
        options_writer,
    )
    .unwrap();
    let rows = reference_fixture_rows();
    let mut failure = None;
    for row in &rows {
        if let Err(e) = writer.append_row(row) {
            failure = Some(e);
            break;
        }
    }
    let failure = match failure {
        Some(e) => e,
        None => writer.commit().unwrap_err(),
    };
    match &failure {
        WriteError::Sink { segment, source } => {
            assert_eq!(*segment, 3, "{failure}");
            let text = source.to_string();
            assert!(
                text.contains(&format!("{prefix}/")) && text.contains("3.parquet"),
                "{text}"
            );
        }
        other => panic!("expected a storage error, got {other}"),
    }
    assert_eq!(writer.batch_files().len(), 2, "segments 1 and 2 are whole");
    let dest = tempfile::tempdir().unwrap();
    let listed = download("s3", &bucket, &prefix, dest.path());
    let reported: Vec<String> = writer.batch_files().iter().map(|g| g[0].clone()).collect();
    assert_eq!(
        listed, reported,
        "nothing but whole, reported segments on the server"
    );
}

/// The medium_articles fixture's rows.
fn reference_fixture_rows() -> Vec<Value> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/medium_articles.json"),
    )
    .unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();
    doc["rows"].as_array().unwrap().clone()
}
