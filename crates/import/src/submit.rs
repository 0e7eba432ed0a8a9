//! Submitting an [`ImportPlan`]: its requests in order, at most `max_jobs_in_flight` jobs
//! running at once, each job's id recorded in a state file so that a rerun goes on where the
//! last run stopped and never sends a request twice. A create whose answer was lost (a
//! timeout, a dropped connection, a 5xx) may still have made its job: the collection's jobs
//! are looked up by their files before the request is sent again. Milvus has no idempotency
//! key on `jobs/import/create` yet (a draft design, milvus#50954), so the lookup is the guard.
//!
//! Two-phase imports send `auto_commit` `"false"`: each job stops at `Uncommitted`, and is
//! committed, or, when its imported rows differ from the plan's, aborted.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{CreateImport, ImportClient, ImportError, ImportPlan, ImportSource, PlannedRequest};

/// How a plan is submitted.
#[derive(Debug, Clone)]
pub struct SubmitOptions {
    /// Jobs that may run at once (Milvus caps them at `dataCoord.import.maxImportJobNum`).
    pub max_jobs_in_flight: usize,
    /// How often running jobs are described.
    pub poll_interval: Duration,
    /// Follow every job to its end; otherwise return once the last job is created.
    pub wait: bool,
    /// Two-phase import: jobs wait in `Uncommitted` to be committed or aborted.
    pub two_phase: bool,
    /// With two-phase import: commit a job only when its imported rows equal the plan's.
    pub verify: bool,
    /// Where each job's id is recorded; a rerun reads it and goes on.
    pub state_file: Option<PathBuf>,
}

impl Default for SubmitOptions {
    fn default() -> Self {
        SubmitOptions {
            max_jobs_in_flight: 4,
            poll_interval: Duration::from_secs(2),
            wait: false,
            two_phase: false,
            verify: false,
            state_file: None,
        }
    }
}

/// A request of the plan and its job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmittedJob {
    /// The request's number in the plan, from 1.
    pub request: usize,
    /// The job, once created.
    pub job_id: Option<String>,
    /// `planned`, `sending` (the create was sent; its answer not recorded), or the job's
    /// state (`Pending`, `Importing`, `Uncommitted`, `Completed`, `Failed`, `Aborted`, ...).
    pub state: String,
    /// File groups in the request.
    pub groups: usize,
    /// Rows the plan expects, when known.
    pub rows: Option<u64>,
    /// Rows the job imported, when reported.
    pub imported_rows: Option<u64>,
    /// Why it failed or was aborted.
    #[serde(default)]
    pub reason: String,
}

impl SubmittedJob {
    fn ended(&self) -> bool {
        let state = self.state.to_ascii_lowercase();
        state.contains("completed") || state.contains("fail") || state == "aborted"
    }

    fn running(&self) -> bool {
        self.job_id.is_some() && !self.ended()
    }
}

/// What the state file holds.
#[derive(Debug, Serialize, Deserialize)]
struct StateFile {
    /// A digest of the plan's files: a state file belongs to one plan.
    plan: String,
    jobs: Vec<SubmittedJob>,
}

/// Why a submission stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// A request failed (the caller may name the request when a plan has several).
    #[error("{source}")]
    Request {
        /// Its number, from 1.
        request: usize,
        /// The client's reason.
        source: ImportError,
    },
    /// The state file cannot be read or written, or belongs to another plan.
    #[error("the import state file {}: {message}", path.display())]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A job failed.
    #[error("import job {job_id} failed ({progress}% done): {reason}")]
    JobFailed {
        /// The job.
        job_id: String,
        /// Its progress when it failed.
        progress: u64,
        /// The server's reason.
        reason: String,
    },
    /// A two-phase job imported another number of rows than planned, and was aborted.
    #[error(
        "import job {job_id} imported {imported} rows where the manifest lists {expected}: the job was aborted, so none of its rows are visible"
    )]
    Verify {
        /// The job.
        job_id: String,
        /// Rows it imported.
        imported: u64,
        /// Rows planned.
        expected: u64,
    },
}

/// The request to send for one planned request: `template`'s collection, partition,
/// options and credentials with the request's groups.
pub fn planned_create(template: &CreateImport, request: &PlannedRequest) -> CreateImport {
    let source = match &template.source {
        ImportSource::Files(_) => ImportSource::Files(request.files()),
        ImportSource::Volume { name, .. } => ImportSource::Volume {
            name: name.clone(),
            data_paths: request.files(),
        },
        ImportSource::ObjectUrls {
            access_key,
            secret_key,
            token,
            ..
        } => ImportSource::ObjectUrls {
            urls: request.urls(),
            access_key: access_key.clone(),
            secret_key: secret_key.clone(),
            token: token.clone(),
        },
    };
    CreateImport {
        source,
        ..template.clone()
    }
}

/// A digest of the plan's files (FNV-1a), to tie a state file to its plan.
fn plan_digest(plan: &ImportPlan) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for request in &plan.requests {
        for group in &request.groups {
            for file in &group.files {
                for byte in file.bytes().chain([0]) {
                    hash ^= byte as u64;
                    hash = hash.wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        hash ^= 0xff;
    }
    format!("{hash:016x}-{}", plan.groups)
}

fn state_error(path: &Path, message: impl Into<String>) -> SubmitError {
    SubmitError::State {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// The jobs the state file recorded for this plan, or a fresh list.
fn load_state(path: Option<&Path>, plan: &ImportPlan) -> Result<Vec<SubmittedJob>, SubmitError> {
    let fresh = || {
        plan.requests
            .iter()
            .enumerate()
            .map(|(i, r)| SubmittedJob {
                request: i + 1,
                job_id: None,
                state: "planned".into(),
                groups: r.groups.len(),
                rows: r.rows,
                imported_rows: None,
                reason: String::new(),
            })
            .collect()
    };
    let Some(path) = path else {
        return Ok(fresh());
    };
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(fresh()),
        Err(e) => return Err(state_error(path, e.to_string())),
    };
    let state: StateFile = serde_json::from_str(&text)
        .map_err(|e| state_error(path, format!("not a state file: {e}")))?;
    if state.plan != plan_digest(plan) || state.jobs.len() != plan.requests.len() {
        return Err(state_error(
            path,
            "it records the jobs of another plan; remove it to submit this plan anew",
        ));
    }
    Ok(state.jobs)
}

/// Replaces the state file in one rename, so a kill leaves the old or the new one.
fn save_state(
    path: Option<&Path>,
    plan: &ImportPlan,
    jobs: &[SubmittedJob],
) -> Result<(), SubmitError> {
    let Some(path) = path else {
        return Ok(());
    };
    let state = StateFile {
        plan: plan_digest(plan),
        jobs: jobs.to_vec(),
    };
    let text = serde_json::to_string_pretty(&state).unwrap_or_default();
    let staging = path.with_extension("json.partial");
    std::fs::write(&staging, text)
        .and_then(|()| std::fs::rename(&staging, path))
        .map_err(|e| state_error(path, e.to_string()))
}

/// The collection's job that reads exactly `request`'s files, if one exists.
fn find_job(client: &ImportClient, request: &CreateImport) -> Result<Option<String>, ImportError> {
    let wanted: BTreeSet<String> = match &request.source {
        ImportSource::Files(groups)
        | ImportSource::Volume {
            data_paths: groups, ..
        } => groups.iter().flatten().cloned().collect(),
        ImportSource::ObjectUrls { urls, .. } => urls.iter().flatten().cloned().collect(),
    };
    for job in client.list(Some(&request.collection_name), 100, 100)? {
        let progress = client.progress(&job.job_id)?;
        let files: BTreeSet<String> = progress.files().into_iter().collect();
        if files == wanted {
            return Ok(Some(job.job_id));
        }
    }
    Ok(None)
}

/// Creates one request's job, looking for it first when an earlier attempt's answer was lost.
fn create_job(
    client: &ImportClient,
    request: &CreateImport,
    sent_before: bool,
    retries: u32,
    backoff: Duration,
) -> Result<String, ImportError> {
    if sent_before && let Some(id) = find_job(client, request)? {
        return Ok(id);
    }
    let mut attempt = 0;
    loop {
        match client.create(request) {
            Ok(id) => return Ok(id),
            Err(e) if e.ambiguous() => {
                if let Some(id) = find_job(client, request)? {
                    return Ok(id);
                }
                if attempt >= retries {
                    return Err(e);
                }
                std::thread::sleep(backoff * 2u32.saturating_pow(attempt));
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Describes every running job and acts on its state: a two-phase job that is
/// `Uncommitted` is committed (or aborted when its rows differ with `verify`).
fn poll(
    client: &ImportClient,
    jobs: &mut [SubmittedJob],
    options: &SubmitOptions,
    failures: &mut Vec<SubmitError>,
) -> Result<(), SubmitError> {
    for job in jobs.iter_mut().filter(|j| j.running()) {
        let id = job.job_id.clone().unwrap_or_default();
        let request = job.request;
        let wrap = |source| SubmitError::Request { request, source };
        let progress = client.progress(&id).map_err(wrap)?;
        job.state = progress.state.clone();
        job.imported_rows = progress.imported_rows.or(job.imported_rows);
        job.reason = progress.reason.clone();
        if progress.failed() {
            failures.push(SubmitError::JobFailed {
                job_id: id,
                progress: progress.progress,
                reason: if progress.reason.is_empty() {
                    "no reason given".into()
                } else {
                    progress.reason
                },
            });
        } else if options.two_phase && progress.uncommitted() {
            let imported = progress.imported_rows.unwrap_or(0);
            match job.rows {
                Some(expected) if options.verify && imported != expected => {
                    client.abort(&id).map_err(wrap)?;
                    job.state = "Aborted".into();
                    job.reason = format!("imported {imported} rows, {expected} planned");
                    failures.push(SubmitError::Verify {
                        job_id: id,
                        imported,
                        expected,
                    });
                }
                _ => {
                    client.commit(&id).map_err(wrap)?;
                    job.state = "Committing".into();
                }
            }
        }
    }
    Ok(())
}

/// Submits every request of `plan` (built from `template`, see [`planned_create`]), and
/// returns each request's job. `on_change` sees the jobs after every change.
pub fn submit(
    client: &ImportClient,
    template: &CreateImport,
    plan: &ImportPlan,
    options: &SubmitOptions,
    on_change: &mut dyn FnMut(&[SubmittedJob]),
) -> Result<Vec<SubmittedJob>, SubmitError> {
    let state_file = options.state_file.as_deref();
    let mut jobs = load_state(state_file, plan)?;
    let mut failures = Vec::new();
    let mut template = template.clone();
    if options.two_phase {
        template
            .options
            .insert("auto_commit".into(), "false".into());
    }
    let (retries, backoff) = (client.options.retries, client.options.backoff);
    for (i, planned) in plan.requests.iter().enumerate() {
        if jobs[i].job_id.is_some() {
            continue;
        }
        while jobs.iter().filter(|j| j.running()).count() >= options.max_jobs_in_flight.max(1) {
            std::thread::sleep(options.poll_interval);
            poll(client, &mut jobs, options, &mut failures)?;
            save_state(state_file, plan, &jobs)?;
            on_change(&jobs);
        }
        let request = planned_create(&template, planned);
        let sent_before = jobs[i].state == "sending";
        jobs[i].state = "sending".into();
        save_state(state_file, plan, &jobs)?;
        let created = create_job(client, &request, sent_before, retries, backoff);
        match created {
            Ok(id) => {
                jobs[i].job_id = Some(id);
                jobs[i].state = "Pending".into();
                save_state(state_file, plan, &jobs)?;
                on_change(&jobs);
            }
            Err(source) => {
                // A refusal is final; an unanswered create stays `sending` for the rerun.
                if !source.ambiguous() {
                    jobs[i].state = "refused".into();
                    jobs[i].reason = source.to_string();
                }
                save_state(state_file, plan, &jobs)?;
                return Err(SubmitError::Request {
                    request: i + 1,
                    source,
                });
            }
        }
    }
    if options.wait || options.two_phase {
        while jobs.iter().any(SubmittedJob::running) {
            poll(client, &mut jobs, options, &mut failures)?;
            save_state(state_file, plan, &jobs)?;
            on_change(&jobs);
            if jobs.iter().any(SubmittedJob::running) {
                std::thread::sleep(options.poll_interval);
            }
        }
    }
    match failures.into_iter().next() {
        Some(failure) => Err(failure),
        None => Ok(jobs),
    }
}
