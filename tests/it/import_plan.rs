//! Imports planned within the server's limits, against a local stand-in of Milvus's import
//! REST API on 127.0.0.1 that keeps real job state: each created job runs for a few
//! describes and completes (or waits `Uncommitted` for a two-phase commit); the server
//! records every request and how many jobs ran at once.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

#[derive(Debug, Clone)]
struct Job {
    id: String,
    files: Vec<Vec<String>>,
    options: Value,
    describes: u32,
    state: &'static str,
    imported_rows: u64,
}

#[derive(Debug, Default)]
struct State {
    jobs: Vec<Job>,
    /// Every request: path and body.
    requests: Vec<(String, Value)>,
    /// The most jobs running at once, seen when a job was created.
    max_running: usize,
    /// Describes a job takes to finish.
    describes_to_finish: u32,
    /// Answers to hold back: the next N creates make their job, then answer after this long.
    slow_creates: u32,
    slow_for: Duration,
    /// Rows a finished job reports per group.
    rows_per_group: u64,
    /// Rows a two-phase job reports short of the planned count.
    short_rows: u64,
}

/// A stand-in of Milvus's import API with job state.
struct FakeMilvus {
    url: String,
    state: Arc<Mutex<State>>,
}

impl FakeMilvus {
    fn start(describes_to_finish: u32, rows_per_group: u64) -> FakeMilvus {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(State {
            describes_to_finish,
            rows_per_group,
            ..State::default()
        }));
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let state = Arc::clone(&shared);
                std::thread::spawn(move || serve(stream, &state));
            }
        });
        FakeMilvus { url, state }
    }

    fn requests(&self, path: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        state
            .requests
            .iter()
            .filter(|(p, _)| p == path)
            .map(|(_, b)| b.clone())
            .collect()
    }

    fn jobs(&self) -> Vec<Job> {
        self.state.lock().unwrap().jobs.clone()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    if reader.read_line(&mut line).is_err() {
        return;
    }
    let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
    let mut length = 0;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header).is_err() {
            return;
        }
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((k, v)) = header.split_once(':')
            && k.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0u8; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (answer, delay) = handle(&path, &body, state);
    std::thread::sleep(delay);
    let text = answer.to_string();
    let mut stream = stream;
    let _ = stream.write_all(
        format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        )
        .as_bytes(),
    );
}

fn handle(path: &str, body: &Value, state: &Mutex<State>) -> (Value, Duration) {
    let mut state = state.lock().unwrap();
    state.requests.push((path.to_string(), body.clone()));
    let job_index = |state: &State| {
        let id = body["jobId"].as_str().unwrap_or("");
        state.jobs.iter().position(|j| j.id == id)
    };
    let ok = |data: Value| json!({"code": 0, "data": data});
    match path {
        "/v2/vectordb/jobs/import/create" => {
            let files: Vec<Vec<String>> = serde_json::from_value(body["files"].clone()).unwrap();
            let id = format!("{}", 1000 + state.jobs.len());
            state.jobs.push(Job {
                id: id.clone(),
                files,
                options: body["options"].clone(),
                describes: 0,
                state: "Pending",
                imported_rows: 0,
            });
            let running = state
                .jobs
                .iter()
                .filter(|j| !j.state.ends_with("ed"))
                .count();
            state.max_running = state.max_running.max(running);
            let delay = if state.slow_creates > 0 {
                state.slow_creates -= 1;
                state.slow_for
            } else {
                Duration::ZERO
            };
            (ok(json!({"jobId": id})), delay)
        }
        "/v2/vectordb/jobs/import/describe" => {
            let Some(i) = job_index(&state) else {
                return (
                    json!({"code": 100, "message": "job not found"}),
                    Duration::ZERO,
                );
            };
            let (finish, per_group, short) = (
                state.describes_to_finish,
                state.rows_per_group,
                state.short_rows,
            );
            let job = &mut state.jobs[i];
            job.describes += 1;
            if job.describes >= finish && matches!(job.state, "Pending" | "Importing") {
                let rows = per_group * job.files.len() as u64;
                if job.options["auto_commit"] == "false" {
                    job.state = "Uncommitted";
                    job.imported_rows = rows - short.min(rows);
                } else {
                    job.state = "Completed";
                    job.imported_rows = rows;
                }
            } else if job.state == "Pending" {
                job.state = "Importing";
            } else if job.state == "Committing" {
                job.state = "Completed";
            }
            let details: Vec<Value> = job
                .files
                .iter()
                .map(|g| json!({"fileName": g.join(","), "state": job.state}))
                .collect();
            (
                ok(json!({"jobId": job.id, "state": job.state, "progress": 50,
                          "importedRows": job.imported_rows, "reason": "", "details": details})),
                Duration::ZERO,
            )
        }
        "/v2/vectordb/jobs/import/list" => {
            let records: Vec<Value> = state
                .jobs
                .iter()
                .map(|j| json!({"jobId": j.id, "collectionName": "articles", "state": j.state}))
                .collect();
            (ok(json!({"records": records})), Duration::ZERO)
        }
        "/v2/vectordb/jobs/import/commit" | "/v2/vectordb/jobs/import/abort" => {
            let Some(i) = job_index(&state) else {
                return (
                    json!({"code": 100, "message": "job not found"}),
                    Duration::ZERO,
                );
            };
            state.jobs[i].state = if path.ends_with("commit") {
                "Committing"
            } else {
                "Aborted"
            };
            (ok(json!({})), Duration::ZERO)
        }
        "/v2/vectordb/collections/describe" => (ok(medium_articles_describe()), Duration::ZERO),
        _ => (
            json!({"code": 404, "message": "no such path"}),
            Duration::ZERO,
        ),
    }
}

/// What Milvus 2.4+'s REST `collections/describe` answers for the medium_articles collection.
fn medium_articles_describe() -> Value {
    let varchar = |name: &str, max: u32| {
        json!({"name": name, "type": "VarChar", "primaryKey": false, "partitionKey": false,
               "autoId": false, "description": "", "params": [{"key": "max_length", "value": max.to_string()}]})
    };
    let scalar = |name: &str, ty: &str| json!({"name": name, "type": ty, "primaryKey": false, "partitionKey": false, "autoId": false, "description": ""});
    json!({
        "collectionName": "articles", "collectionID": 4563, "description": "", "autoId": false,
        "enableDynamicField": false, "shardsNum": 1, "consistencyLevel": "Bounded",
        "fields": [
            {"name": "id", "type": "Int64", "primaryKey": true, "partitionKey": false, "autoId": false, "description": ""},
            varchar("title", 512),
            {"name": "vector", "type": "FloatVector", "primaryKey": false, "partitionKey": false,
             "autoId": false, "description": "", "params": [{"key": "dim", "value": "768"}]},
            varchar("link", 512),
            scalar("reading_time", "Int64"),
            varchar("publication", 512),
            scalar("claps", "Int64"),
            scalar("responses", "Int64"),
        ],
        "indexes": [], "load": "LoadStateNotLoad", "partitions": [], "properties": [],
    })
}

fn bulkwriter(args: &[&str]) -> Output {
    command(args).output().unwrap()
}

fn command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_bulkwriter"));
    command
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("MILVUS_URI")
        .env_remove("MILVUS_TOKEN")
        .env_remove("ZILLIZ_API_KEY")
        .env_remove("ZILLIZ_CLUSTER_ID");
    command
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// A run manifest of `groups` Parquet files of 10 rows and `bytes` bytes each.
fn manifest(dir: &Path, groups: usize, bytes: u64) -> PathBuf {
    let files: Vec<Vec<String>> = (1..=groups)
        .map(|i| vec![format!("run/{i}.parquet")])
        .collect();
    let segments: Vec<Value> = (1..=groups)
        .map(|i| json!({"segment": i, "rows": 10, "files": [{"path": format!("run/{i}.parquet"), "bytes": bytes}]}))
        .collect();
    let path = dir.join("manifest.json");
    std::fs::write(
        &path,
        json!({"batch_files": files, "batch_urls": files, "import_options": {},
               "stored_segments": segments, "rows": groups * 10})
        .to_string(),
    )
    .unwrap();
    path
}

fn create_args<'a>(server: &'a str, manifest: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "import",
        "create",
        "--uri",
        server,
        "--collection",
        "articles",
        "--manifest",
        manifest,
        "--poll-interval",
        "10ms",
    ];
    args.extend_from_slice(extra);
    args
}

#[test]
fn many_groups_are_sent_in_order_in_requests_within_the_limit() {
    let server = FakeMilvus::start(2, 10);
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), 2500, 1000);
    let path = path.to_str().unwrap();

    // A dry run shows the three bodies and connects to nothing.
    let out = bulkwriter(&create_args(&server.url, path, &["--dry-run"]));
    let plan = stdout_json(&out);
    assert!(
        server
            .requests("/v2/vectordb/jobs/import/create")
            .is_empty()
    );
    assert!(
        server.state.lock().unwrap().requests.is_empty(),
        "no request at all"
    );
    let requests = plan["requests"].as_array().unwrap();
    let sizes: Vec<usize> = requests
        .iter()
        .map(|r| r["body"]["files"].as_array().unwrap().len())
        .collect();
    assert_eq!(sizes, [1024, 1024, 452]);
    assert_eq!(
        requests[0]["url"],
        format!("{}/v2/vectordb/jobs/import/create", server.url)
    );
    assert_eq!(requests[1]["body"]["files"][0], json!(["run/1025.parquet"]));
    assert_eq!(requests[2]["rows"], 4520);
    assert_eq!(plan["rows"], 25_000);

    let out = bulkwriter(&create_args(&server.url, path, &["--wait"]));
    let jobs = stdout_json(&out)["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 3);
    assert!(jobs.iter().all(|j| j["state"] == "Completed"), "{jobs:?}");
    let sent = server.requests("/v2/vectordb/jobs/import/create");
    assert_eq!(sent.len(), 3);
    let firsts: Vec<&Value> = sent.iter().map(|b| &b["files"][0][0]).collect();
    assert_eq!(
        firsts,
        ["run/1.parquet", "run/1025.parquet", "run/2049.parquet"]
    );
}

#[test]
fn jobs_in_flight_never_pass_the_cap() {
    let server = FakeMilvus::start(3, 10);
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), 12, 1000);
    let out = bulkwriter(&create_args(
        &server.url,
        path.to_str().unwrap(),
        &[
            "--max-files-per-request",
            "1",
            "--max-jobs-in-flight",
            "3",
            "--wait",
        ],
    ));
    let jobs = stdout_json(&out)["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs.len(), 12);
    assert_eq!(server.jobs().len(), 12);
    let max = server.state.lock().unwrap().max_running;
    assert_eq!(max, 3, "the cap is reached and never passed");
}

/// Every group of the plan is in exactly one created job.
fn assert_each_group_once(server: &FakeMilvus, groups: usize) {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for job in server.jobs() {
        for group in job.files {
            *seen.entry(group.join(",")).or_default() += 1;
        }
    }
    assert_eq!(seen.len(), groups, "every group is imported");
    let twice: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "groups sent twice: {twice:?}");
}

#[test]
fn a_killed_submitter_run_again_sends_no_request_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), 40, 1000);
    let path = path.to_str().unwrap();
    for kill_after in [1, 5, 9, 17] {
        let server = FakeMilvus::start(1, 10);
        std::fs::remove_file(format!("{path}.import.json")).ok();
        let mut child = command(&create_args(
            &server.url,
            path,
            &["--max-files-per-request", "2", "--max-jobs-in-flight", "2"],
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let started = Instant::now();
        while server.jobs().len() < kill_after && started.elapsed() < Duration::from_secs(30) {
            std::thread::sleep(Duration::from_millis(1));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        let out = bulkwriter(&create_args(
            &server.url,
            path,
            &[
                "--max-files-per-request",
                "2",
                "--max-jobs-in-flight",
                "2",
                "--wait",
            ],
        ));
        let jobs = stdout_json(&out)["jobs"].as_array().unwrap().clone();
        assert_eq!(jobs.len(), 20, "kill after {kill_after}");
        assert_each_group_once(&server, 40);
    }

    // Killed while a create was answered by nobody yet: the job exists, the state file says
    // only that the request was sent. The rerun finds the job by its files.
    let server = FakeMilvus::start(1, 10);
    {
        let mut state = server.state.lock().unwrap();
        state.slow_creates = 3;
        state.slow_for = Duration::from_secs(30);
    }
    std::fs::remove_file(format!("{path}.import.json")).ok();
    let mut child = command(&create_args(
        &server.url,
        path,
        &["--max-files-per-request", "2"],
    ))
    .stdout(Stdio::null())
    .stderr(Stdio::null())
    .spawn()
    .unwrap();
    let started = Instant::now();
    while server.jobs().is_empty() && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(200));
    child.kill().unwrap();
    child.wait().unwrap();
    let state = std::fs::read_to_string(format!("{path}.import.json")).unwrap();
    assert!(state.contains("\"sending\""), "{state}");
    server.state.lock().unwrap().slow_creates = 0;
    let out = bulkwriter(&create_args(
        &server.url,
        path,
        &["--max-files-per-request", "2", "--wait"],
    ));
    assert_eq!(stdout_json(&out)["jobs"][0]["job_id"], "1000");
    assert_each_group_once(&server, 40);
}

#[test]
fn a_create_whose_answer_timed_out_is_found_and_not_sent_again() {
    let server = FakeMilvus::start(1, 10);
    {
        let mut state = server.state.lock().unwrap();
        state.slow_creates = 1;
        state.slow_for = Duration::from_secs(3);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), 3, 1000);
    let out = bulkwriter(&create_args(
        &server.url,
        path.to_str().unwrap(),
        &[
            "--max-files-per-request",
            "1",
            "--request-timeout",
            "500ms",
            "--wait",
        ],
    ));
    let jobs = stdout_json(&out)["jobs"].as_array().unwrap().clone();
    assert_eq!(jobs[0]["job_id"], "1000", "the job the lost answer made");
    assert_eq!(server.requests("/v2/vectordb/jobs/import/create").len(), 3);
    assert_each_group_once(&server, 3);
    assert!(
        !server.requests("/v2/vectordb/jobs/import/list").is_empty(),
        "it looked"
    );
}

#[test]
fn two_phase_imports_commit_when_rows_match_and_abort_when_they_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), 4, 1000);
    let path = path.to_str().unwrap();
    let two_phase = [
        "--max-files-per-request",
        "2",
        "--no-auto-commit",
        "--wait",
        "--verify",
    ];

    let server = FakeMilvus::start(2, 10);
    let out = bulkwriter(&create_args(&server.url, path, &two_phase));
    let jobs = stdout_json(&out)["jobs"].as_array().unwrap().clone();
    assert!(jobs.iter().all(|j| j["state"] == "Completed"), "{jobs:?}");
    for body in server.requests("/v2/vectordb/jobs/import/create") {
        assert_eq!(
            body["options"]["auto_commit"], "false",
            "a string, never a boolean"
        );
    }
    assert_eq!(server.requests("/v2/vectordb/jobs/import/commit").len(), 2);
    assert!(server.requests("/v2/vectordb/jobs/import/abort").is_empty());

    std::fs::remove_file(format!("{path}.import.json")).unwrap();
    let server = FakeMilvus::start(2, 10);
    server.state.lock().unwrap().short_rows = 3;
    let out = bulkwriter(&create_args(&server.url, path, &two_phase));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: import job 1000 imported 17 rows where the manifest lists 20: the job was aborted, so none of its rows are visible\n"
    );
    assert_eq!(server.requests("/v2/vectordb/jobs/import/abort").len(), 2);
    assert!(
        server
            .requests("/v2/vectordb/jobs/import/commit")
            .is_empty()
    );

    // By hand: commit and abort a job.
    let out = bulkwriter(&["import", "commit", "1000", "--uri", &server.url]);
    assert_eq!(
        stdout_json(&out),
        json!({"job_id": "1000", "committed": true})
    );
    let out = bulkwriter(&["import", "abort", "1001", "--uri", &server.url]);
    assert_eq!(
        stdout_json(&out),
        json!({"job_id": "1001", "aborted": true})
    );
    assert_eq!(
        server
            .requests("/v2/vectordb/jobs/import/abort")
            .last()
            .unwrap(),
        &json!({"jobId": "1001"})
    );
}

#[test]
fn groups_over_the_file_size_limit_are_refused_before_anything_is_sent() {
    let server = FakeMilvus::start(1, 10);
    let dir = tempfile::tempdir().unwrap();
    let path = manifest(dir.path(), 3, 17 << 30);
    let out = bulkwriter(&create_args(&server.url, path.to_str().unwrap(), &[]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: the file group run/1.parquet holds 18253611008 bytes, more than the 17179869184 bytes the server reads per file (dataNode.import.maxImportFileSizeInGB)\n"
    );
    assert!(server.state.lock().unwrap().requests.is_empty());

    let out = bulkwriter(&[
        "convert",
        "--schema",
        "schemas/medium_articles.json",
        "--input",
        "fixtures/medium_articles.json",
        "--format",
        "parquet",
        "--chunk-size",
        "2GiB",
        "--max-file-size",
        "1GiB",
        "--output",
        dir.path().join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: --chunk-size 2147483648 is above --max-file-size 1073741824: Milvus reads at most that much per file (per NumPy segment), so such segments could not be imported\n"
    );
    assert!(!dir.path().join("out").exists(), "nothing was written");
}

#[test]
fn a_schema_fetched_from_the_server_equals_the_hand_written_one() {
    let server = FakeMilvus::start(1, 10);
    let out = bulkwriter(&[
        "schema",
        "fetch",
        "--uri",
        &server.url,
        "--collection",
        "articles",
    ]);
    let fetched = stdout_json(&out);
    let load = |v: &Value| bulkwriter_schema::CollectionSchema::from_json_value(v).unwrap();
    let hand_written: Value = serde_json::from_str(
        &std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/medium_articles.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(load(&fetched), load(&hand_written));
    // Also in its envelope, as the REST answer comes.
    assert_eq!(
        load(&json!({"code": 0, "data": fetched})),
        load(&hand_written)
    );
    assert_eq!(
        server.requests("/v2/vectordb/collections/describe"),
        [json!({"collectionName": "articles"})]
    );

    // And convert reads the schema from the server directly.
    let dir = tempfile::tempdir().unwrap();
    let out = bulkwriter(&[
        "convert",
        "--schema",
        "milvus:articles",
        "--uri",
        &server.url,
        "--input",
        "fixtures/medium_articles.json",
        "--format",
        "parquet",
        "--quiet",
        "--output",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(stdout_json(&out)["rows"], 60);
}
