//! A typed client for the bulk-import REST API of self-hosted Milvus (2.4+) and Zilliz Cloud:
//! [`ImportClient::create`] starts a job from the files a writer produced,
//! [`ImportClient::progress`] describes it, [`ImportClient::list`] pages through jobs.
//!
//! Requests are `POST {endpoint}/v2/vectordb/jobs/import/{create,describe,list}` with a JSON
//! body; answers are `{"code": 0, "data": ...}`, or `{"code": N, "message": ...}` (an
//! [`ImportError::Api`] carrying the server's message). Connection failures, timeouts, 429
//! and 5xx answers are retried with backoff. TLS certificates are verified (an extra CA can be
//! trusted). Tokens, API keys and secret keys are held in [`Secret`], which never prints.
//!
//! [`plan`] cuts a run's file groups into requests within the server's limits, and
//! [`submit`] sends them with a bounded number of jobs in flight, recording each job so a
//! rerun never sends a request twice; two-phase imports are committed or aborted there.

pub mod plan;
pub mod submit;

use std::collections::BTreeMap;
use std::time::Duration;

pub use plan::{FileGroup, ImportPlan, Limits, PlanError, PlannedRequest};
pub use submit::{SubmitError, SubmitOptions, SubmittedJob, planned_create};

use serde::Serialize;
use serde_json::{Map, Value, json};

/// A credential: sent where it must go, shown nowhere (`Debug` and `Display` print `***`).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a credential.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The credential itself, for the request.
    fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

/// Why an import call failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The client could not be configured.
    #[error("import client: {0}")]
    Config(String),
    /// The server could not be reached (after retries).
    #[error("cannot reach {url}: {message}")]
    Network {
        /// The request URL.
        url: String,
        /// What failed.
        message: String,
    },
    /// The server answered with an HTTP error status (after retries for 429 and 5xx).
    #[error("{url} answered HTTP {status}: {body}")]
    Http {
        /// The request URL.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The server refused the request: `{"code": N, "message": ...}`.
    #[error("{url} refused the request (code {code}): {message}")]
    Api {
        /// The request URL.
        url: String,
        /// The server's code.
        code: i64,
        /// The server's message.
        message: String,
    },
    /// The answer is not the JSON the API documents.
    #[error("{url} answered something unexpected: {message}")]
    Response {
        /// The request URL.
        url: String,
        /// What is wrong.
        message: String,
    },
}

impl ImportError {
    /// Whether the request may have been carried out although no answer says so: the
    /// connection failed or timed out after sending, or the server answered 5xx.
    pub fn ambiguous(&self) -> bool {
        match self {
            ImportError::Network { .. } => true,
            ImportError::Http { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// Who runs the import.
#[derive(Debug, Clone)]
pub enum Target {
    /// A self-hosted Milvus: its URI (`http://host:19530`), a token or `user:password`, and
    /// a database.
    Milvus {
        /// Base URI.
        uri: String,
        /// Token or `user:password`, sent as `Authorization: Bearer`.
        token: Option<Secret>,
        /// Database (`DB-Name` header and `dbName`).
        db_name: Option<String>,
    },
    /// Zilliz Cloud: the API endpoint, an API key and the cluster.
    ZillizCloud {
        /// API endpoint, e.g. `https://api.cloud.zilliz.com`.
        endpoint: String,
        /// API key, sent as `Authorization: Bearer`.
        api_key: Secret,
        /// The cluster.
        cluster_id: String,
        /// For project databases.
        project_id: Option<String>,
        /// For project databases.
        region_id: Option<String>,
        /// Database.
        db_name: Option<String>,
    },
}

/// Where jobs are created (`ImportClient::create`; a dry run prints this URL).
pub const CREATE_PATH: &str = "/v2/vectordb/jobs/import/create";

/// Zilliz Cloud's public API endpoint.
pub const ZILLIZ_CLOUD_ENDPOINT: &str = "https://api.cloud.zilliz.com";

/// Where the files of an import are.
#[derive(Debug, Clone)]
pub enum ImportSource {
    /// Milvus: groups of paths in the cluster's bucket (a writer's `batch_files`).
    Files(Vec<Vec<String>>),
    /// Zilliz Cloud: groups of full object URLs (`batch_urls`) and the keys to read them.
    ObjectUrls {
        /// The URL groups.
        urls: Vec<Vec<String>>,
        /// Access key of the bucket.
        access_key: Secret,
        /// Secret key of the bucket.
        secret_key: Secret,
        /// STS session token, if any.
        token: Option<Secret>,
    },
    /// Zilliz Cloud: paths in a volume.
    Volume {
        /// The volume.
        name: String,
        /// The path groups.
        data_paths: Vec<Vec<String>>,
    },
}

/// An import request.
#[derive(Debug, Clone)]
pub struct CreateImport {
    /// The collection.
    pub collection_name: String,
    /// A partition (not for partition-key collections).
    pub partition_name: Option<String>,
    /// The files.
    pub source: ImportSource,
    /// Import options: CSV `sep` and `nullkey`, `timeout`, ...
    pub options: BTreeMap<String, String>,
}

/// The state of a job, as the server reports it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobProgress {
    /// The job.
    pub job_id: String,
    /// `Pending`, `PreImporting`, `Importing`, `Completed`, `Failed`, ...
    pub state: String,
    /// 0 to 100.
    pub progress: u64,
    /// Why it failed, if it did.
    pub reason: String,
    /// Rows imported so far, when reported.
    pub imported_rows: Option<u64>,
    /// Rows to import, when reported.
    pub total_rows: Option<u64>,
    /// Per-file details, as the server sent them.
    pub details: Vec<Value>,
}

impl JobProgress {
    /// Whether the job waits for a commit or an abort (two-phase import).
    pub fn uncommitted(&self) -> bool {
        self.state.eq_ignore_ascii_case("uncommitted")
    }

    /// The files the job reads, as its details name them (a NumPy group's files may be
    /// named together, comma-separated).
    pub fn files(&self) -> Vec<String> {
        self.details
            .iter()
            .filter_map(|d| d["fileName"].as_str())
            .flat_map(|names| names.split(','))
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect()
    }

    /// Whether the job ended well.
    pub fn completed(&self) -> bool {
        self.state.eq_ignore_ascii_case("completed")
            || self.state.eq_ignore_ascii_case("ImportCompleted")
    }

    /// Whether the job ended badly.
    pub fn failed(&self) -> bool {
        self.state.to_ascii_lowercase().contains("fail")
    }
}

/// One job of a list.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobSummary {
    /// The job.
    pub job_id: String,
    /// Its collection.
    pub collection_name: String,
    /// Its state.
    pub state: String,
    /// 0 to 100.
    pub progress: u64,
    /// Why it failed, if it did.
    pub reason: String,
}

/// Network behaviour.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Per-request timeout.
    pub timeout: Duration,
    /// Retries after a connection failure, timeout, 429 or 5xx answer.
    pub retries: u32,
    /// First backoff; doubled on each retry.
    pub backoff: Duration,
    /// An extra CA certificate (PEM) to trust, e.g. a private Milvus's.
    pub ca_cert_pem: Option<Vec<u8>>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            timeout: Duration::from_secs(30),
            retries: 3,
            backoff: Duration::from_millis(500),
            ca_cert_pem: None,
        }
    }
}

/// The import API client.
#[derive(Debug)]
pub struct ImportClient {
    target: Target,
    options: ClientOptions,
    http: reqwest::blocking::Client,
}

fn truncated(text: &str) -> String {
    let mut cut = text.len().min(500);
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    text[..cut].to_string()
}

fn text_field(data: &Value, keys: &[&str]) -> String {
    keys.iter()
        .find_map(|k| match &data[*k] {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

fn number_field(data: &Value, keys: &[&str]) -> Option<u64> {
    keys.iter().find_map(|k| match &data[*k] {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().map(|f| f as u64)),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

impl ImportClient {
    /// A client for `target`.
    pub fn new(target: Target, options: ClientOptions) -> Result<ImportClient, ImportError> {
        let mut builder = reqwest::blocking::Client::builder()
            .timeout(options.timeout)
            .user_agent(concat!("bulkwriter/", env!("CARGO_PKG_VERSION")));
        if let Some(pem) = &options.ca_cert_pem {
            let cert = reqwest::Certificate::from_pem(pem)
                .map_err(|e| ImportError::Config(format!("the CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .build()
            .map_err(|e| ImportError::Config(e.to_string()))?;
        Ok(ImportClient {
            target,
            options,
            http,
        })
    }

    /// The target.
    pub fn target(&self) -> &Target {
        &self.target
    }

    fn endpoint(&self) -> &str {
        match &self.target {
            Target::Milvus { uri, .. } => uri.trim_end_matches('/'),
            Target::ZillizCloud { endpoint, .. } => endpoint.trim_end_matches('/'),
        }
    }

    /// Adds the target's identifying keys (cluster, project, region, database) to a body.
    fn scope(&self, body: &mut Map<String, Value>) {
        match &self.target {
            Target::Milvus { db_name, .. } => {
                if let Some(db) = db_name {
                    body.insert("dbName".into(), json!(db));
                }
            }
            Target::ZillizCloud {
                cluster_id,
                project_id,
                region_id,
                db_name,
                ..
            } => {
                body.insert("clusterId".into(), json!(cluster_id));
                if let Some(p) = project_id {
                    body.insert("projectId".into(), json!(p));
                }
                if let Some(r) = region_id {
                    body.insert("regionId".into(), json!(r));
                }
                if let Some(db) = db_name {
                    body.insert("dbName".into(), json!(db));
                }
            }
        }
    }

    /// POSTs `body` to `path` and returns the answer's `data`, retrying transient failures.
    fn post(&self, path: &str, body: &Value) -> Result<Value, ImportError> {
        self.post_with(path, body, self.options.retries)
    }

    /// [`Self::post`] with at most `retries` retries: a request that is not safe to repeat
    /// (creating a job) is sent once, and its caller decides.
    fn post_with(&self, path: &str, body: &Value, retries: u32) -> Result<Value, ImportError> {
        let url = self.url(path);
        let (status, text) = self.send(&url, body, retries)?;
        if (200..300).contains(&status) {
            return self.unwrap_answer(&url, &text);
        }
        Err(ImportError::Http {
            url,
            status,
            body: truncated(&text),
        })
    }

    /// POSTs `body` to `path` and returns the HTTP status and body as they came, with the
    /// retries of every call: the raw answer, as pymilvus's `bulk_import` returns it.
    pub fn post_raw(&self, path: &str, body: &Value) -> Result<(u16, String), ImportError> {
        self.send(&self.url(path), body, self.options.retries)
    }

    /// Sends a request, retrying connection failures, timeouts, 429 and 5xx answers up to
    /// `retries` times with backoff; returns the last answer's status and body.
    fn send(&self, url: &str, body: &Value, retries: u32) -> Result<(u16, String), ImportError> {
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .post(url)
                .header("Accept", "application/json")
                .json(body);
            match &self.target {
                Target::Milvus { token, db_name, .. } => {
                    if let Some(token) = token {
                        request = request.bearer_auth(token.expose());
                    }
                    if let Some(db) = db_name {
                        request = request.header("DB-Name", db);
                    }
                }
                Target::ZillizCloud { api_key, .. } => {
                    request = request.bearer_auth(api_key.expose());
                }
            }
            let failure = match request.send() {
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().unwrap_or_default();
                    let transient = status.is_server_error() || status.as_u16() == 429;
                    if !transient || attempt >= retries {
                        return Ok((status.as_u16(), text));
                    }
                    None
                }
                Err(e) => {
                    let message = if e.is_timeout() {
                        format!("no answer within {:?}", self.options.timeout)
                    } else {
                        // Without the URL (already in the error) and its chain in one line.
                        let e = e.without_url();
                        let mut message = e.to_string();
                        let mut source = std::error::Error::source(&e);
                        while let Some(s) = source {
                            message.push_str(&format!(": {s}"));
                            source = s.source();
                        }
                        message
                    };
                    Some(ImportError::Network {
                        url: url.to_string(),
                        message,
                    })
                }
            };
            if let Some(failure) = failure
                && attempt >= retries
            {
                return Err(failure);
            }
            std::thread::sleep(self.options.backoff * 2u32.saturating_pow(attempt));
            attempt += 1;
        }
    }

    fn unwrap_answer(&self, url: &str, text: &str) -> Result<Value, ImportError> {
        let answer: Value = serde_json::from_str(text).map_err(|e| ImportError::Response {
            url: url.to_string(),
            message: format!("not JSON ({e}): {}", truncated(text)),
        })?;
        let code = answer["code"].as_i64().unwrap_or(0);
        if code != 0 {
            return Err(ImportError::Api {
                url: url.to_string(),
                code,
                message: text_field(&answer, &["message", "msg", "reason"]),
            });
        }
        Ok(answer.get("data").cloned().unwrap_or(Value::Null))
    }

    /// The JSON body [`Self::create`] sends (secrets included: never print it).
    pub fn create_body(&self, request: &CreateImport) -> Value {
        let mut body = Map::new();
        self.scope(&mut body);
        body.insert("collectionName".into(), json!(request.collection_name));
        if let Some(p) = &request.partition_name {
            body.insert("partitionName".into(), json!(p));
        }
        match &request.source {
            ImportSource::Files(files) => {
                body.insert("files".into(), json!(files));
            }
            ImportSource::ObjectUrls {
                urls,
                access_key,
                secret_key,
                token,
            } => {
                body.insert("objectUrls".into(), json!(urls));
                body.insert("accessKey".into(), json!(access_key.expose()));
                body.insert("secretKey".into(), json!(secret_key.expose()));
                if let Some(t) = token {
                    body.insert("token".into(), json!(t.expose()));
                }
            }
            ImportSource::Volume { name, data_paths } => {
                body.insert("volumeName".into(), json!(name));
                body.insert("dataPaths".into(), json!(data_paths));
            }
        }
        if !request.options.is_empty() {
            body.insert("options".into(), json!(request.options));
        }
        Value::Object(body)
    }

    /// The URL a request to `path` goes to.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint())
    }

    /// [`Self::create_body`] with the secrets (keys, tokens) shown as `***`: what a dry run
    /// prints.
    pub fn redacted_create_body(&self, request: &CreateImport) -> Value {
        let mut body = self.create_body(request);
        if let Value::Object(map) = &mut body {
            for key in ["accessKey", "secretKey", "token"] {
                if let Some(value) = map.get_mut(key) {
                    *value = json!("***");
                }
            }
        }
        body
    }

    /// Starts an import job; returns its id. The request is sent once: a timeout or a 5xx
    /// answer may still have created the job (see [`crate::submit`], which looks before it
    /// sends again).
    pub fn create(&self, request: &CreateImport) -> Result<String, ImportError> {
        let path = CREATE_PATH;
        let data = self.post_with(path, &self.create_body(request), 0)?;
        let job_id = text_field(&data, &["jobId", "jobID"]);
        if job_id.is_empty() {
            return Err(ImportError::Response {
                url: self.url(path),
                message: format!("no jobId in {data}"),
            });
        }
        Ok(job_id)
    }

    /// Commits a job created with `auto_commit` `"false"` once it is `Uncommitted`.
    pub fn commit(&self, job_id: &str) -> Result<(), ImportError> {
        self.job_call("/v2/vectordb/jobs/import/commit", job_id)
    }

    /// Aborts a job created with `auto_commit` `"false"`: none of its rows become visible.
    pub fn abort(&self, job_id: &str) -> Result<(), ImportError> {
        self.job_call("/v2/vectordb/jobs/import/abort", job_id)
    }

    fn job_call(&self, path: &str, job_id: &str) -> Result<(), ImportError> {
        let mut body = Map::new();
        self.scope(&mut body);
        body.insert("jobId".into(), json!(job_id));
        self.post(path, &Value::Object(body)).map(|_| ())
    }

    /// A collection's description (`collections/describe`'s `data`): its schema, in the
    /// REST v2 form `bulkwriter_schema` reads.
    pub fn describe_collection(&self, collection_name: &str) -> Result<Value, ImportError> {
        let mut body = Map::new();
        self.scope(&mut body);
        body.insert("collectionName".into(), json!(collection_name));
        self.post("/v2/vectordb/collections/describe", &Value::Object(body))
    }

    /// Describes a job: state, progress, reason and per-file details.
    pub fn progress(&self, job_id: &str) -> Result<JobProgress, ImportError> {
        let mut body = Map::new();
        self.scope(&mut body);
        body.insert("jobId".into(), json!(job_id));
        let data = self.post("/v2/vectordb/jobs/import/describe", &Value::Object(body))?;
        Ok(JobProgress {
            job_id: text_field(&data, &["jobId", "jobID"]),
            state: text_field(&data, &["state"]),
            progress: number_field(&data, &["progress", "readyPercentage"]).unwrap_or(0),
            reason: text_field(&data, &["reason", "errorMessage"]),
            imported_rows: number_field(&data, &["importedRows"]),
            total_rows: number_field(&data, &["totalRows"]),
            details: data["details"].as_array().cloned().unwrap_or_default(),
        })
    }

    /// One page of jobs (pages count from 1).
    pub fn list_page(
        &self,
        collection_name: Option<&str>,
        page_size: u32,
        current_page: u32,
    ) -> Result<Vec<JobSummary>, ImportError> {
        let mut body = Map::new();
        self.scope(&mut body);
        if let Some(c) = collection_name {
            body.insert("collectionName".into(), json!(c));
        }
        body.insert("pageSize".into(), json!(page_size));
        body.insert("currentPage".into(), json!(current_page));
        let data = self.post("/v2/vectordb/jobs/import/list", &Value::Object(body))?;
        let records = data["records"].as_array().cloned().unwrap_or_default();
        Ok(records
            .iter()
            .map(|r| JobSummary {
                job_id: text_field(r, &["jobId", "jobID"]),
                collection_name: text_field(r, &["collectionName"]),
                state: text_field(r, &["state"]),
                progress: number_field(r, &["progress", "readyPercentage"]).unwrap_or(0),
                reason: text_field(r, &["reason", "errorMessage"]),
            })
            .collect())
    }

    /// Every job, page after page until a page is not full (at most `max_pages`).
    pub fn list(
        &self,
        collection_name: Option<&str>,
        page_size: u32,
        max_pages: u32,
    ) -> Result<Vec<JobSummary>, ImportError> {
        let mut jobs = Vec::new();
        for page in 1..=max_pages.max(1) {
            let records = self.list_page(collection_name, page_size, page)?;
            let full = records.len() as u32 >= page_size;
            jobs.extend(records);
            if !full {
                break;
            }
        }
        Ok(jobs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        let target = Target::ZillizCloud {
            endpoint: ZILLIZ_CLOUD_ENDPOINT.into(),
            api_key: Secret::new("sk-VERYSECRET"),
            cluster_id: "in01-x".into(),
            project_id: None,
            region_id: None,
            db_name: None,
        };
        let client = ImportClient::new(target, ClientOptions::default()).unwrap();
        assert!(!format!("{client:?}").contains("VERYSECRET"));
        let source = ImportSource::ObjectUrls {
            urls: vec![vec!["s3://b/k".into()]],
            access_key: Secret::new("AKIAEXAMPLE"),
            secret_key: Secret::new("SECRETKEY"),
            token: None,
        };
        assert!(!format!("{source:?}").contains("SECRETKEY"));
    }
}
