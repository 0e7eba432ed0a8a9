//! `bulkwriter import` and `convert --import` against a local HTTP server started by the test
//! on 127.0.0.1, which answers with the documented response shapes and records every request:
//! the exact JSON bodies and headers we send are asserted.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

/// One request the server received.
#[derive(Debug, Clone)]
struct Recorded {
    path: String,
    headers: HashMap<String, String>,
    body: Value,
}

/// Per path, the (status, body) answers still to give.
type Script = Arc<Mutex<HashMap<String, VecDeque<(u16, String)>>>>;

/// A scripted import API: per path, a queue of (status, body) answers; the last one repeats.
struct ApiServer {
    url: String,
    requests: Arc<Mutex<Vec<Recorded>>>,
    answers: Script,
}

impl ApiServer {
    fn start() -> ApiServer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let answers: Script = Arc::default();
        let (recorded, scripted) = (Arc::clone(&requests), Arc::clone(&answers));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
                let mut headers = HashMap::new();
                loop {
                    let mut header = String::new();
                    reader.read_line(&mut header).unwrap();
                    let header = header.trim_end();
                    if header.is_empty() {
                        break;
                    }
                    if let Some((k, v)) = header.split_once(':') {
                        headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                    }
                }
                let length: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                let mut body = vec![0u8; length];
                reader.read_exact(&mut body).unwrap();
                recorded.lock().unwrap().push(Recorded {
                    path: path.clone(),
                    headers,
                    body: serde_json::from_slice(&body).unwrap_or(Value::Null),
                });
                let (status, text) = {
                    let mut scripted = scripted.lock().unwrap();
                    match scripted.get_mut(&path) {
                        Some(queue) if queue.len() > 1 => queue.pop_front().unwrap(),
                        Some(queue) if !queue.is_empty() => queue[0].clone(),
                        _ => (404, "not found".to_string()),
                    }
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = stream.write_all(response.as_bytes());
            }
        });
        ApiServer {
            url,
            requests,
            answers,
        }
    }

    /// Answers `path` with these (status, body) in turn, the last one from then on.
    fn answer(&self, path: &str, answers: &[(u16, Value)]) {
        self.answers.lock().unwrap().insert(
            path.to_string(),
            answers.iter().map(|(s, b)| (*s, b.to_string())).collect(),
        );
    }

    fn requests(&self, path: &str) -> Vec<Recorded> {
        self.requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.path == path)
            .cloned()
            .collect()
    }
}

const CREATE: &str = "/v2/vectordb/jobs/import/create";
const DESCRIBE: &str = "/v2/vectordb/jobs/import/describe";
const LIST: &str = "/v2/vectordb/jobs/import/list";

fn bulkwriter(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bulkwriter"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        // The tests name every target explicitly.
        .env_remove("MILVUS_URI")
        .env_remove("MILVUS_TOKEN")
        .env_remove("ZILLIZ_API_KEY")
        .env_remove("ZILLIZ_CLUSTER_ID")
        .output()
        .unwrap()
}

fn stdout_json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn create_sends_the_manifest_groups_and_csv_options() {
    let server = ApiServer::start();
    server.answer(
        CREATE,
        &[(200, json!({"code": 0, "data": {"jobId": "448761"}}))],
    );
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("manifest.json");
    std::fs::write(
        &manifest,
        json!({"batch_files": [["a/1.csv"], ["a/2.csv"]], "batch_urls": [["s3://b/a/1.csv"], ["s3://b/a/2.csv"]],
               "import_options": {"sep": "\t", "nullkey": "NULL"}})
        .to_string(),
    )
    .unwrap();
    let out = bulkwriter(&[
        "import",
        "create",
        "--uri",
        &server.url,
        "--token",
        "root:Milvus",
        "--db-name",
        "db1",
        "--collection",
        "articles",
        "--manifest",
        manifest.to_str().unwrap(),
        "--import-option",
        "timeout=300s",
    ]);
    // The same key names as `import status` and `import list`.
    assert_eq!(stdout_json(&out)["jobs"][0]["job_id"], "448761");
    let sent = server.requests(CREATE);
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].body,
        json!({"dbName": "db1", "collectionName": "articles",
               "files": [["a/1.csv"], ["a/2.csv"]],
               "options": {"nullkey": "NULL", "sep": "\t", "timeout": "300s"}})
    );
    let headers = &sent[0].headers;
    assert_eq!(headers["authorization"], "Bearer root:Milvus");
    assert_eq!(headers["db-name"], "db1");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(headers["accept"], "application/json");
    assert!(headers["user-agent"].starts_with("bulkwriter/"));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("Milvus"),
        "no token printed"
    );
}

/// `convert --import` submits the manifest's groups unchanged: one per NumPy segment folder,
/// one per Parquet file.
#[test]
fn convert_import_submits_the_manifest_groups_unchanged() {
    let server = ApiServer::start();
    server.answer(CREATE, &[(200, json!({"code": 0, "data": {"jobId": "1"}}))]);
    let dir = tempfile::tempdir().unwrap();
    for (format, files_per_group) in [("numpy", 8), ("parquet", 1)] {
        let out = bulkwriter(&[
            "convert",
            "--schema",
            "schemas/medium_articles.json",
            "--input",
            "fixtures/medium_articles.json",
            "--format",
            format,
            "--chunk-size",
            "64KiB",
            "--output",
            dir.path().to_str().unwrap(),
            "--import",
            "--uri",
            &server.url,
            "--collection",
            "articles",
        ]);
        let manifest = stdout_json(&out);
        assert_eq!(manifest["import"]["jobs"][0]["job_id"], "1");
        assert_eq!(
            manifest["import"]["jobs"][0]["rows"], 60,
            "from the run's manifest"
        );
        let groups = manifest["batch_files"].as_array().unwrap();
        assert!(groups.len() > 1);
        assert!(
            groups
                .iter()
                .all(|g| g.as_array().unwrap().len() == files_per_group)
        );
        let sent = server.requests(CREATE).pop().unwrap();
        assert_eq!(
            sent.body,
            json!({"collectionName": "articles", "files": manifest["batch_files"]}),
            "{format}"
        );
        assert!(
            !sent.headers.contains_key("authorization"),
            "no token, no header"
        );
    }
}

#[test]
fn zilliz_cloud_gets_object_urls_and_keys_that_are_never_printed() {
    let server = ApiServer::start();
    server.answer(
        CREATE,
        &[(200, json!({"code": 0, "data": {"jobId": "job-9"}}))],
    );
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("m.json");
    std::fs::write(
        &manifest,
        json!({"batch_files": [["p/u/1.parquet"]], "batch_urls": [["s3://bucket/p/u/1.parquet"]],
               "import_options": {}})
        .to_string(),
    )
    .unwrap();
    let args = [
        "import",
        "create",
        "--cloud-endpoint",
        &server.url,
        "--api-key",
        "APIKEYSECRET",
        "--cluster-id",
        "in01-abc",
        "--collection",
        "articles",
        "--manifest",
        manifest.to_str().unwrap(),
        "--access-key",
        "AKIDSECRET",
        "--secret-key",
        "SKSECRET",
    ];
    let out = bulkwriter(&args);
    assert_eq!(stdout_json(&out)["jobs"][0]["job_id"], "job-9");
    let sent = server.requests(CREATE).pop().unwrap();
    assert_eq!(
        sent.body,
        json!({"clusterId": "in01-abc", "collectionName": "articles",
               "objectUrls": [["s3://bucket/p/u/1.parquet"]],
               "accessKey": "AKIDSECRET", "secretKey": "SKSECRET"})
    );
    assert_eq!(sent.headers["authorization"], "Bearer APIKEYSECRET");

    // The job is recorded beside the manifest, without secrets; running again sends nothing.
    let state = std::fs::read_to_string(dir.path().join("m.json.import.json")).unwrap();
    assert!(
        state.contains("job-9") && !state.contains("SECRET"),
        "{state}"
    );
    let out = bulkwriter(&args);
    assert_eq!(stdout_json(&out)["jobs"][0]["job_id"], "job-9");
    assert_eq!(server.requests(CREATE).len(), 1, "no request is sent twice");

    // A refusal shows the server's message and none of the secrets.
    std::fs::remove_file(dir.path().join("m.json.import.json")).unwrap();
    server.answer(
        CREATE,
        &[(200, json!({"code": 80001, "message": "invalid object url"}))],
    );
    let out = bulkwriter(&args);
    assert_eq!(out.status.code(), Some(1));
    let everything = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        everything.contains("refused the request (code 80001): invalid object url"),
        "{everything}"
    );
    for secret in ["APIKEYSECRET", "AKIDSECRET", "SKSECRET"] {
        assert!(
            !everything.contains(secret),
            "{secret} printed: {everything}"
        );
    }
}

#[test]
fn a_refusal_shows_the_servers_message() {
    let server = ApiServer::start();
    server.answer(
        CREATE,
        &[(
            200,
            json!({"code": 100, "message": "collection not found[collection=articles]"}),
        )],
    );
    let out = bulkwriter(&[
        "import",
        "create",
        "--uri",
        &server.url,
        "--collection",
        "articles",
        "--file-group",
        "a/1/id.npy,a/1/vector.npy",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "error: {}{CREATE} refused the request (code 100): collection not found[collection=articles]",
            server.url
        )
    );
    assert_eq!(
        server.requests(CREATE)[0].body["files"],
        json!([["a/1/id.npy", "a/1/vector.npy"]])
    );
}

#[test]
fn a_server_error_is_retried() {
    let server = ApiServer::start();
    server.answer(
        DESCRIBE,
        &[
            (500, json!({"error": "proxy restarting"})),
            (
                200,
                json!({"code": 0, "data": {"jobId": "7", "state": "Importing", "progress": 40,
                "importedRows": 400, "totalRows": 1000, "reason": "", "details": []}}),
            ),
        ],
    );
    let out = bulkwriter(&["import", "status", "7", "--uri", &server.url]);
    let status = stdout_json(&out);
    assert_eq!(status["state"], "Importing");
    assert_eq!(status["progress"], 40);
    assert_eq!(status["imported_rows"], 400);
    let sent = server.requests(DESCRIBE);
    assert_eq!(sent.len(), 2, "one retry after the 500");
    assert_eq!(sent[1].body, json!({"jobId": "7"}));
}

#[test]
fn status_wait_follows_the_job_to_its_end() {
    let server = ApiServer::start();
    let describe = |state: &str, progress: u64, reason: &str| {
        (
            200,
            json!({"code": 0, "data": {"jobId": "9", "collectionName": "articles", "state": state,
            "progress": progress, "reason": reason, "details": [{"fileName": "a/1.parquet", "state": state}]}}),
        )
    };
    server.answer(
        DESCRIBE,
        &[
            describe("Pending", 0, ""),
            describe("Importing", 60, ""),
            describe("Completed", 100, ""),
        ],
    );
    let out = bulkwriter(&[
        "import",
        "status",
        "9",
        "--wait",
        "--poll-interval",
        "10ms",
        "--uri",
        &server.url,
    ]);
    let done = stdout_json(&out);
    assert_eq!(done["state"], "Completed");
    assert_eq!(done["details"][0]["fileName"], "a/1.parquet");
    assert_eq!(server.requests(DESCRIBE).len(), 3);

    // A failed job: exit 1 with the server's reason.
    let server = ApiServer::start();
    server.answer(
        DESCRIBE,
        &[
            describe("Importing", 20, ""),
            describe(
                "Failed",
                20,
                "the field 'vector' is missed: importing data failed",
            ),
        ],
    );
    let out = bulkwriter(&[
        "import",
        "status",
        "9",
        "--wait",
        "--poll-interval",
        "10ms",
        "--uri",
        &server.url,
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "error: import job 9 failed (20% done): the field 'vector' is missed: importing data failed"
    );
}

#[test]
fn list_reads_every_page() {
    let server = ApiServer::start();
    let page = |ids: &[&str]| {
        (
            200,
            json!({"code": 0, "data": {"records": ids.iter().map(|id| json!({
            "jobId": id, "collectionName": "articles", "state": "Completed", "progress": 100})).collect::<Vec<_>>()}}),
        )
    };
    server.answer(LIST, &[page(&["1", "2"]), page(&["3", "4"]), page(&["5"])]);
    let out = bulkwriter(&[
        "import",
        "list",
        "--uri",
        &server.url,
        "--collection",
        "articles",
        "--page-size",
        "2",
    ]);
    let jobs = stdout_json(&out);
    let ids: Vec<&str> = jobs
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let bodies: Vec<Value> = server.requests(LIST).into_iter().map(|r| r.body).collect();
    assert_eq!(
        bodies,
        [1, 2, 3]
            .map(|p| json!({"collectionName": "articles", "pageSize": 2, "currentPage": p}))
            .to_vec()
    );
}
