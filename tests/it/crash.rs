//! Crash safety and resuming. `convert` is SIGKILLed at many points of a run (local and S3
//! output) and resumed; interrupted with SIGINT (Ctrl-C) and resumed; and refused a resume it
//! cannot do. Every finished run is checked by `tests/python/verify_runs.py` with readers that
//! are not ours (google-crc32c, pyarrow, numpy): each listed file has its size and checksum,
//! the folder holds nothing else, the segments listed at the kill are unchanged, and every
//! input row is written exactly once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use bulkwriter_sink::SegmentSink;
use serde_json::{Value, json};

use crate::common::run_python;
use crate::remote::{download, env, s3_options, unique_prefix};

/// Rows of the generated input: a debug build converts them in about a second, in about a
/// dozen segments of 1 MiB.
const ROWS: u64 = 3000;

/// Output formats the kill points rotate through.
const FORMATS: [&str; 3] = ["parquet", "numpy", "jsonl"];

/// Writes medium_articles rows with ids `0..rows` as JSONL. Rows whose id is in `bad` get a
/// title longer than the schema's `max_length` (512 bytes).
fn write_input(path: &Path, rows: u64, bad: &[u64]) {
    let mut text = String::new();
    for id in 0..rows {
        let vector: Vec<String> = (0..768)
            .map(|j| format!("{}", ((id * 31 + j) % 1000) as f32 / 1000.0))
            .collect();
        let title = if bad.contains(&id) {
            "x".repeat(600)
        } else {
            format!("title {id}")
        };
        text.push_str(&format!(
            "{{\"id\": {id}, \"title\": \"{title}\", \"vector\": [{}], \"link\": \"l\", \"reading_time\": 1, \"publication\": \"p\", \"claps\": 2, \"responses\": 3}}\n",
            vector.join(", ")
        ));
    }
    std::fs::write(path, text).unwrap();
}

/// `bulkwriter convert` of `input` into `output` (or resuming `resume`).
fn convert(
    input: &Path,
    format: &str,
    target: &[&str],
    options: &[(String, String)],
    extra: &[&str],
) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwriter"));
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["convert", "--schema", "schemas/medium_articles.json"])
        .arg("--input")
        .arg(input)
        .args(["--format", format, "--chunk-size", "1MiB", "--quiet"])
        .args(target)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (key, value) in options {
        command
            .arg("--storage-option")
            .arg(format!("{key}={value}"));
    }
    command
}

fn succeed(command: &mut Command) -> Value {
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "{command:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The uuid of the run under `output` that has a manifest, and that manifest.
fn find_run(output: &str, options: &[(String, String)]) -> Option<(String, Value)> {
    let sink = SegmentSink::open(output, options).unwrap();
    let uuid = sink
        .list("")
        .unwrap()
        .into_iter()
        .find_map(|(path, _)| path.strip_suffix("/manifest.json").map(str::to_string))?;
    let text = sink
        .read_small(&format!("{uuid}/manifest.json"))
        .unwrap()
        .unwrap();
    Some((uuid, serde_json::from_slice(&text).unwrap()))
}

/// Kills runs into `<root>/p<i>` at `points` moments spread over a clean run's duration (from
/// the start of the process to just before its end), then resumes each (or starts it again if
/// it died before its manifest existed). Returns the runs to verify and how many processes
/// were killed while still running, and the NumPy segment folders seen with files missing.
fn kill_and_resume(
    root: &str,
    options: &[(String, String)],
    points: usize,
    input: &Path,
) -> (Vec<Value>, usize, Vec<PartialFolder>) {
    // The fastest of two clean runs per format: the kill moments stay inside a run.
    let clean_runs: Vec<Duration> = FORMATS
        .iter()
        .map(|format| {
            (0..2)
                .map(|i| {
                    let start = Instant::now();
                    let output = format!("{root}/clean-{format}-{i}");
                    succeed(&mut convert(
                        input,
                        format,
                        &["--output", &output],
                        options,
                        &[],
                    ));
                    start.elapsed()
                })
                .min()
                .unwrap()
        })
        .collect();
    let (mut runs, mut killed, mut partial_folders) = (Vec::new(), 0, Vec::new());
    for point in 0..points {
        let format = FORMATS[point % FORMATS.len()];
        let clean_run = clean_runs[point % FORMATS.len()];
        let output = format!("{root}/p{point}");
        let mut child = convert(input, format, &["--output", &output], options, &[])
            .spawn()
            .unwrap();
        let fraction = (point / FORMATS.len()) as f64 + 0.5;
        let per_format = points.div_ceil(FORMATS.len()) as f64;
        std::thread::sleep(clean_run.mul_f64(0.95 * fraction / per_format));
        if child.try_wait().unwrap().is_none() {
            killed += 1;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let partial = partial_numpy_folders(&output, options);

        let found = find_run(&output, options);
        let snapshot = found.as_ref().map(|(_, manifest)| manifest.clone());
        // The manifest is the commit point: a folder seen with files missing is never listed.
        let listed_folders: std::collections::HashSet<&str> = snapshot
            .iter()
            .flat_map(|manifest| manifest["stored_segments"].as_array().unwrap())
            .flat_map(|segment| segment["files"].as_array().unwrap())
            .filter_map(|file| Some(file["url"].as_str()?.rsplit_once('/')?.0))
            .collect();
        for folder in &partial {
            assert!(
                !listed_folders.contains(folder.path.as_str()),
                "the manifest lists files of a folder with files missing: {folder:?}"
            );
        }
        partial_folders.extend(partial);
        let data_path = match found {
            Some((_, manifest)) if manifest["finished"] == true => manifest["data_path"].clone(),
            Some((uuid, _)) => {
                let resumed = format!("{output}/{uuid}");
                let target = ["--output", &output, "--resume", &resumed];
                succeed(&mut convert(input, format, &target, options, &[]))["data_path"].clone()
            }
            None => {
                // Killed before the run's manifest was written: no segment may exist.
                let sink = SegmentSink::open(&output, options).unwrap();
                for (path, _) in sink.list("").unwrap() {
                    assert!(
                        !path.ends_with(".parquet")
                            && !path.ends_with(".npy")
                            && !path.ends_with(".jsonl"),
                        "{path} exists without a manifest"
                    );
                }
                let fresh = succeed(&mut convert(
                    input,
                    format,
                    &["--output", &output],
                    options,
                    &[],
                ));
                fresh["data_path"].clone()
            }
        };
        runs.push(json!({
            "data_path": data_path,
            "format": format,
            "ids": (0..ROWS).collect::<Vec<_>>(),
            "snapshot": snapshot,
        }));
    }
    (runs, killed, partial_folders)
}

/// The field files of a medium_articles NumPy segment: one per field.
const NUMPY_FIELD_FILES: usize = 8;

/// A NumPy segment folder seen without all of its files.
struct PartialFolder {
    /// The folder as the manifest's file URLs begin (`<output>/<uuid>/<n>`).
    path: String,
    /// How many of the [`NUMPY_FIELD_FILES`] it holds.
    files: usize,
}

impl std::fmt::Debug for PartialFolder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (path, files) = (&self.path, self.files);
        write!(f, "{path} ({files} of {NUMPY_FIELD_FILES} files)")
    }
}

/// The NumPy segment folders visible under `output` (`<uuid>/<n>/`, hidden folders aside)
/// that do not hold every one of the [`NUMPY_FIELD_FILES`]: what an import of the
/// folder prefix would take as a segment with columns missing.
fn partial_numpy_folders(output: &str, options: &[(String, String)]) -> Vec<PartialFolder> {
    let sink = SegmentSink::open(output, options).unwrap();
    let mut folders: std::collections::BTreeMap<String, usize> = Default::default();
    for (path, _) in sink.list("").unwrap() {
        let Some((folder, file)) = path.rsplit_once('/') else {
            continue;
        };
        let segment = folder.rsplit('/').next().unwrap_or("");
        let hidden = path.split('/').any(|part| part.starts_with('.'));
        if file.ends_with(".npy") && !hidden && segment.bytes().all(|b| b.is_ascii_digit()) {
            *folders.entry(format!("{output}/{folder}")).or_default() += 1;
        }
    }
    folders
        .into_iter()
        .filter(|(_, files)| *files != NUMPY_FIELD_FILES)
        .map(|(path, files)| PartialFolder { path, files })
        .collect()
}

fn verify(runs: &[Value]) -> Value {
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), serde_json::to_vec(runs).unwrap()).unwrap();
    let summary = run_python("verify_runs.py", &[file.path().to_str().unwrap()]);
    serde_json::from_str(&summary).unwrap()
}

#[test]
fn runs_killed_at_30_points_resume_to_every_row_once_local() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.jsonl");
    write_input(&input, ROWS, &[]);
    let root = dir.path().join("out");
    let (mut runs, killed, partial) = kill_and_resume(root.to_str().unwrap(), &[], 30, &input);
    assert!(
        partial.is_empty(),
        "NumPy segment folders visible with files missing after a kill: {partial:?}"
    );
    for run in &mut runs {
        run["base"] = json!("");
    }
    let summary = verify(&runs);
    eprintln!("local: {killed} of 30 runs killed while running; verified {summary}");
    assert!(
        killed >= 20,
        "only {killed} runs were still running when killed"
    );
    assert_eq!(summary["runs"], 30);
    assert!(summary["segments_listed_at_kill"].as_u64().unwrap() > 30);
}

#[test]
fn runs_killed_at_30_points_resume_to_every_row_once_s3() {
    let endpoint = env("BULKWRITER_TEST_S3_ENDPOINT");
    let bucket = env("BULKWRITER_TEST_S3_BUCKET");
    let options = s3_options(&endpoint);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.jsonl");
    write_input(&input, ROWS, &[]);
    let prefix = unique_prefix("crash");
    let (mut runs, killed, partial) =
        kill_and_resume(&format!("s3://{bucket}/{prefix}"), &options, 30, &input);
    // A bucket cannot publish several objects at once: a segment's uploads are completed
    // together, in one round of requests, and a kill inside that round can leave some of
    // its files visible. `kill_and_resume` checked that the manifest, the commit point,
    // never listed such a folder, and `verify` checks that the resume removed it (the run's
    // folder holds only what its manifest lists).
    eprintln!("s3: NumPy segment folders with files missing after a kill: {partial:?}");
    // Everything under the prefix, downloaded with boto3: what the checks read.
    let dest = dir.path().join("bucket");
    download("s3", &bucket, &prefix, &dest);
    for run in &mut runs {
        run["base"] = json!(dest.to_str().unwrap());
    }
    let summary = verify(&runs);
    eprintln!("s3: {killed} of 30 runs killed while running; verified {summary}");
    assert!(
        killed >= 20,
        "only {killed} runs were still running when killed"
    );
    assert_eq!(summary["runs"], 30);
    assert!(summary["segments_listed_at_kill"].as_u64().unwrap() > 30);
}

/// Waits until the run under `output` lists at least `segments` segments.
fn wait_for_segments(output: &Path, segments: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if let Some((_, manifest)) = find_run(output.to_str().unwrap(), &[])
            && manifest["stored_segments"].as_array().unwrap().len() >= segments
        {
            return;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    panic!("no {segments} segments under {} in time", output.display());
}

#[test]
fn ctrl_c_keeps_the_rows_read_and_resume_writes_the_rest_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.jsonl");
    let bad: Vec<u64> = (0..ROWS).filter(|id| id % 101 == 100).collect();
    write_input(&input, ROWS, &bad);
    let output = dir.path().join("out");
    let rejects = dir.path().join("rejected.jsonl");
    let skip = [
        "--on-error",
        "skip",
        "--reject-file",
        rejects.to_str().unwrap(),
    ];
    let target = ["--output", output.to_str().unwrap()];
    let child = convert(&input, "parquet", &target, &[], &skip)
        .spawn()
        .unwrap();
    wait_for_segments(&output, 2);
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out: Output = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "{out:?}");

    let (uuid, manifest) = find_run(output.to_str().unwrap(), &[]).unwrap();
    let data_url = manifest["data_url"].as_str().unwrap();
    assert_eq!(manifest["finished"], false);
    let input_rows = manifest["input_rows"].as_u64().unwrap();
    assert!(input_rows < ROWS, "the run ended before the interruption");
    // Every row read is in a complete segment or rejected: the open segment was finished.
    assert_eq!(
        manifest["rows"].as_u64().unwrap() + manifest["rejected"].as_u64().unwrap(),
        input_rows
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "error: interrupted after {input_rows} input rows: {} rows are in {} complete segment(s) under {data_url}, listed in its manifest.json; to continue, run the same command with --resume {data_url}\n",
            manifest["rows"],
            manifest["stored_segments"].as_array().unwrap().len()
        )
    );
    assert!(
        out.stdout.is_empty(),
        "no manifest on stdout after an interruption"
    );

    let resumed = format!("{}/{uuid}", output.display());
    let target = ["--output", output.to_str().unwrap(), "--resume", &resumed];
    succeed(&mut convert(&input, "parquet", &target, &[], &skip));
    let summary = verify(&[json!({
        "base": "",
        "data_path": data_url,
        "format": "parquet",
        "ids": (0..ROWS).filter(|id| !bad.contains(id)).collect::<Vec<_>>(),
        "rejected_ids": bad,
        "reject_file": rejects,
        "snapshot": manifest,
    })]);
    assert_eq!(summary["runs"], 1);
}

/// Runs a small conversion to completion and returns its output folder and stdout manifest.
fn finished_run(dir: &Path, input: &Path, format: &str) -> (PathBuf, Value) {
    let output = dir.join("out");
    let printed = succeed(&mut convert(
        input,
        format,
        &["--output", output.to_str().unwrap()],
        &[],
        &[],
    ));
    (output, printed)
}

fn stderr_of(command: &mut Command) -> String {
    let out = command.output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_segment_stored_but_not_yet_listed_is_written_again_once() {
    // The moment between storing a segment and rewriting the manifest, made by hand: the
    // manifest forgets the last two segments and a staging file is left beside them.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.jsonl");
    write_input(&input, 1200, &[]);
    let (output, printed) = finished_run(dir.path(), &input, "numpy");
    let data_path = printed["data_path"].as_str().unwrap();
    let manifest_path = Path::new(data_path).join("manifest.json");
    let mut manifest: Value =
        serde_json::from_slice(&std::fs::read(&manifest_path).unwrap()).unwrap();
    let segments = manifest["stored_segments"].as_array_mut().unwrap();
    assert!(segments.len() >= 3);
    segments.truncate(segments.len() - 2);
    let last = segments.last().unwrap().clone();
    manifest["finished"] = json!(false);
    manifest["input_rows"] = last["input_rows"].clone();
    manifest["rows"] = last["input_rows"].clone();
    std::fs::write(&manifest_path, serde_json::to_vec(&manifest).unwrap()).unwrap();
    std::fs::write(Path::new(data_path).join("1/id.npy#1"), b"partial").unwrap();

    let target = ["--output", output.to_str().unwrap(), "--resume", data_path];
    let resumed = succeed(&mut convert(&input, "numpy", &target, &[], &[]));
    assert_eq!(resumed["batch_files"], printed["batch_files"]);
    verify(&[json!({
        "base": "", "data_path": data_path, "format": "numpy",
        "ids": (0..1200).collect::<Vec<_>>(), "snapshot": manifest,
    })]);
}

#[test]
fn resume_refuses_what_it_cannot_continue_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("input.jsonl");
    write_input(&input, 600, &[]);
    let (output, printed) = finished_run(dir.path(), &input, "parquet");
    let data_path = printed["data_path"].as_str().unwrap();
    let segments = printed["segments"].as_u64().unwrap();
    let resume = |format: &str, input: &Path, extra: &[&str]| {
        let target = ["--output", output.to_str().unwrap(), "--resume", data_path];
        stderr_of(&mut convert(input, format, &target, &[], extra))
    };
    assert_eq!(
        resume("parquet", &input, &[]),
        format!(
            "error: cannot resume {data_path}: the run already finished (600 rows in {segments} segments): there is nothing to resume\n"
        )
    );

    let manifest_path = Path::new(data_path).join("manifest.json");
    let text = std::fs::read_to_string(&manifest_path).unwrap();
    std::fs::write(
        &manifest_path,
        text.replace("\"finished\": true", "\"finished\": false"),
    )
    .unwrap();
    assert_eq!(
        resume("numpy", &input, &[]),
        format!(
            "error: cannot resume {data_path}: the run wrote parquet files cut at 1048576 bytes; resume with the same --format, --chunk-size and CSV options (given: numpy at 1048576 bytes)\n"
        )
    );
    let other = dir.path().join("other.jsonl");
    write_input(&other, 10, &[]);
    assert_eq!(
        resume("parquet", &other, &[]),
        format!(
            "error: the interrupted run read {}; this run was given {}: resume with the same --input values\n",
            input.display(),
            other.display()
        )
    );
    let first = format!("{data_path}/1.parquet");
    std::fs::remove_file(&first).unwrap();
    assert_eq!(
        resume("parquet", &input, &[]),
        format!(
            "error: cannot resume {data_path}: segment 1: {first} is missing: the output was changed after the run\n"
        )
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("run")).unwrap();
    let target = ["--resume", &format!("{}/run", empty.display())];
    assert_eq!(
        stderr_of(&mut convert(&input, "parquet", &target, &[], &[])),
        format!(
            "error: cannot resume {}/run: there is no manifest.json: it is not the folder of a bulkwriter convert run\n",
            std::fs::canonicalize(&empty).unwrap().display()
        )
    );
}

/// SIGTERM and SIGHUP stop a run as Ctrl-C does (the segment in progress is written and
/// listed), and the exit code says which signal it was: 128 + its number, as shells report.
#[test]
fn sigterm_and_sighup_stop_the_run_with_their_exit_codes() {
    for (signal, code) in [("TERM", 143), ("HUP", 129)] {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("input.jsonl");
        write_input(&input, ROWS, &[]);
        let output = dir.path().join("out");
        let target = ["--output", output.to_str().unwrap()];
        let child = convert(&input, "parquet", &target, &[], &[])
            .spawn()
            .unwrap();
        wait_for_segments(&output, 1);
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let out: Output = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(code), "{signal}: {out:?}");
        let (_, manifest) = find_run(output.to_str().unwrap(), &[]).unwrap();
        assert_eq!(
            manifest["rows"].as_u64().unwrap(),
            manifest["input_rows"].as_u64().unwrap(),
            "{signal}: every row read is in a listed segment"
        );
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--resume"),
            "{signal}"
        );
    }
}
