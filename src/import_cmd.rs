//! `bulkwriter import create|status|list|commit|abort`, `convert --import` and
//! `schema fetch`: the import REST client, planner and submitter of `bulkwriter_import`
//! driven from the command line, with a progress bar while waiting.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use std::path::PathBuf;

use bulkwriter_import::{
    ClientOptions, CreateImport, ImportClient, ImportPlan, ImportSource, JobProgress, Secret,
    SubmitError, SubmitOptions, SubmittedJob, Target, planned_create,
};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::cli::{
    ImportCommand, ImportCreateArgs, ImportJobArgs, ImportListArgs, ImportStatusArgs,
    ImportTargetArgs,
};

/// A duration option (`30s`, `500ms`, `2min`), parsed as storage options' durations are.
fn duration(option: &str, text: &str) -> Result<Duration> {
    bulkwriter_sink::location::parse_duration(text).map_err(|e| anyhow!("{option}: {e}"))
}

/// The client for the target the arguments name.
pub fn client(args: &ImportTargetArgs) -> Result<ImportClient> {
    let target = match (&args.api_key, &args.cluster_id, &args.uri) {
        (Some(api_key), Some(cluster_id), _) => Target::ZillizCloud {
            endpoint: args.cloud_endpoint.clone(),
            api_key: Secret::new(api_key.clone()),
            cluster_id: cluster_id.clone(),
            project_id: args.project_id.clone(),
            region_id: args.region_id.clone(),
            db_name: args.db_name.clone(),
        },
        (Some(_), None, _) => {
            bail!("Zilliz Cloud needs --cluster-id (ZILLIZ_CLUSTER_ID) with --api-key")
        }
        (None, _, Some(uri)) => Target::Milvus {
            uri: uri.clone(),
            token: args.token.clone().map(Secret::new),
            db_name: args.db_name.clone(),
        },
        (None, _, None) => bail!(
            "no import target: give --uri (MILVUS_URI) for Milvus, or --api-key and --cluster-id (ZILLIZ_API_KEY, ZILLIZ_CLUSTER_ID) for Zilliz Cloud"
        ),
    };
    let ca_cert_pem = match &args.ca_cert {
        Some(path) => Some(
            std::fs::read(path)
                .with_context(|| format!("cannot read --ca-cert {}", path.display()))?,
        ),
        None => None,
    };
    let options = ClientOptions {
        timeout: duration("--request-timeout", &args.request_timeout)?,
        retries: args.retries,
        ca_cert_pem,
        ..ClientOptions::default()
    };
    Ok(ImportClient::new(target, options)?)
}

/// The request every planned request is made from: collection, partition, options and
/// credentials, with no files yet.
fn template(client: &ImportClient, job: &ImportJobArgs) -> Result<CreateImport> {
    let collection_name = job
        .collection
        .clone()
        .ok_or_else(|| anyhow!("--collection is needed to import"))?;
    let source = match client.target() {
        Target::Milvus { .. } => ImportSource::Files(Vec::new()),
        Target::ZillizCloud { .. } => match &job.volume {
            Some(name) => ImportSource::Volume {
                name: name.clone(),
                data_paths: Vec::new(),
            },
            None => {
                let keys = || {
                    anyhow!(
                        "Zilliz Cloud reads the files with --access-key and --secret-key (or use --volume)"
                    )
                };
                ImportSource::ObjectUrls {
                    urls: Vec::new(),
                    access_key: Secret::new(job.access_key.clone().ok_or_else(keys)?),
                    secret_key: Secret::new(job.secret_key.clone().ok_or_else(keys)?),
                    token: job.session_token.clone().map(Secret::new),
                }
            }
        },
    };
    Ok(CreateImport {
        collection_name,
        partition_name: job.partition.clone(),
        source,
        options: job.import_options.iter().cloned().collect(),
    })
}

/// Warns when local paths go to a server that is not on this machine: it cannot read them.
fn warn_local_paths(client: &ImportClient, plan: &ImportPlan) {
    let local = plan
        .requests
        .iter()
        .flat_map(|r| &r.groups)
        .flat_map(|g| &g.files)
        .find(|f| f.starts_with('/'));
    let Some(local) = local else { return };
    let remote = match client.target() {
        Target::Milvus { uri, .. } => {
            let host = uri
                .split("://")
                .nth(1)
                .unwrap_or(uri)
                .split(['/', ':'])
                .next()
                .unwrap_or("");
            !matches!(host, "localhost" | "127.0.0.1" | "[::1]" | "")
        }
        Target::ZillizCloud { .. } => true,
    };
    if remote {
        eprintln!(
            "warning: the files are local paths ({local}, ...), which a server on another machine cannot read: write them to the server's bucket (--output s3://...) to import them there"
        );
    }
}

/// Submits a manifest's files as planned requests; returns `{"jobs": [...]}`, or with
/// `--dry-run` the requests it would send.
pub fn submit_manifest(
    target: &ImportTargetArgs,
    job: &ImportJobArgs,
    manifest: &Value,
    state_file: Option<PathBuf>,
) -> Result<Value> {
    let client = client(target)?;
    let template = template(&client, job)?;
    let mut plan = bulkwriter_import::plan::plan_manifests(
        std::slice::from_ref(manifest),
        job.limits.limits(),
    )?;
    if plan.groups == 0 {
        bail!("the manifest lists no files: nothing to import");
    }
    // The manifest's CSV options, then --import-option on top.
    plan.options.extend(template.options.clone());
    let template = CreateImport {
        options: plan.options.clone(),
        ..template
    };
    warn_local_paths(&client, &plan);
    if job.dry_run {
        let mut template = template;
        if job.no_auto_commit {
            template
                .options
                .insert("auto_commit".into(), "false".into());
        }
        let requests: Vec<Value> = plan
            .requests
            .iter()
            .map(|r| {
                let request = planned_create(&template, r);
                json!({"url": client.url(bulkwriter_import::CREATE_PATH), "body": client.redacted_create_body(&request),
                       "groups": r.groups.len(), "rows": r.rows, "bytes": r.bytes})
            })
            .collect();
        return Ok(
            json!({"dry_run": true, "requests": requests, "groups": plan.groups,
                         "rows": plan.rows, "bytes": plan.bytes}),
        );
    }
    let options = SubmitOptions {
        max_jobs_in_flight: job.max_jobs_in_flight.into(),
        poll_interval: duration("--poll-interval", &job.poll_interval)?,
        wait: job.wait,
        two_phase: job.no_auto_commit,
        verify: job.verify,
        state_file,
    };
    let bar = JobsBar::new(job.wait || job.no_auto_commit);
    let several = plan.requests.len() > 1;
    let jobs =
        bulkwriter_import::submit::submit(&client, &template, &plan, &options, &mut |jobs| {
            bar.show(jobs)
        });
    bar.clear();
    let jobs = jobs.map_err(|e| match &e {
        SubmitError::Request { request, .. } if several => {
            let request = *request;
            anyhow::Error::new(e).context(format!(
                "request {request} of {} (the jobs created so far are recorded; run the same command again to go on)",
                plan.requests.len()
            ))
        }
        _ => anyhow::Error::new(e),
    })?;
    Ok(json!({"jobs": jobs}))
}

/// A bar of the jobs' states while waiting, on a terminal.
struct JobsBar(Option<ProgressBar>);

impl JobsBar {
    fn new(waiting: bool) -> JobsBar {
        JobsBar((waiting && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} import {msg} ({elapsed})")
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
            );
            bar.enable_steady_tick(Duration::from_millis(125));
            bar
        }))
    }

    fn show(&self, jobs: &[SubmittedJob]) {
        if let Some(bar) = &self.0 {
            let created = jobs.iter().filter(|j| j.job_id.is_some()).count();
            let done = jobs
                .iter()
                .filter(|j| j.state.to_ascii_lowercase().contains("completed"))
                .count();
            bar.set_message(format!(
                "{created}/{} jobs created, {done} completed",
                jobs.len()
            ));
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Follows a job until it completes or fails, with a bar on a terminal.
fn wait(client: &ImportClient, job_id: &str, interval: Duration) -> Result<JobProgress> {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(100).with_style(
            ProgressStyle::with_template("{spinner} import {msg} [{wide_bar}] {pos}% ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(125));
        bar
    });
    loop {
        let progress = client.progress(job_id)?;
        if let Some(bar) = &bar {
            bar.set_position(progress.progress.min(100));
            let rows = match (progress.imported_rows, progress.total_rows) {
                (Some(done), Some(total)) => format!(", {done}/{total} rows"),
                _ => String::new(),
            };
            bar.set_message(format!("{job_id}: {}{rows}", progress.state));
        }
        if progress.completed() || progress.failed() {
            if let Some(bar) = &bar {
                bar.finish_and_clear();
            }
            return Ok(progress);
        }
        std::thread::sleep(interval);
    }
}

/// The final state as JSON, or the failure with the server's reason.
fn finished(progress: JobProgress) -> Result<Value> {
    if progress.failed() {
        let reason = if progress.reason.is_empty() {
            "no reason given".to_string()
        } else {
            progress.reason.clone()
        };
        bail!(
            "import job {} failed ({}% done): {reason}",
            progress.job_id,
            progress.progress
        );
    }
    Ok(serde_json::to_value(&progress)?)
}

/// Runs an import subcommand and returns what to print.
pub fn run(command: ImportCommand) -> Result<Value> {
    match command {
        ImportCommand::Create(args) => create(*args),
        ImportCommand::Status(args) => status(args),
        ImportCommand::List(args) => list(args),
        ImportCommand::Commit(args) => {
            client(&args.target)?.commit(&args.job_id)?;
            Ok(json!({"job_id": args.job_id, "committed": true}))
        }
        ImportCommand::Abort(args) => {
            client(&args.target)?.abort(&args.job_id)?;
            Ok(json!({"job_id": args.job_id, "aborted": true}))
        }
    }
}

/// A collection's schema from the server (`collections/describe`), checked to load.
pub fn fetch_schema(target: &ImportTargetArgs, collection: &str) -> Result<Value> {
    let schema = client(target)?.describe_collection(collection)?;
    bulkwriter_schema::CollectionSchema::from_json_value(&schema).with_context(|| {
        format!("the schema the server describes for collection {collection} cannot be read")
    })?;
    Ok(schema)
}

fn create(args: ImportCreateArgs) -> Result<Value> {
    let manifest = match &args.manifest {
        Some(path) => {
            let text = if path == "-" {
                std::io::read_to_string(std::io::stdin()).context("cannot read the manifest")?
            } else {
                std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read --manifest {path}"))?
            };
            serde_json::from_str(&text)
                .with_context(|| format!("--manifest {path} is not a convert manifest"))?
        }
        None => {
            let groups: Vec<Vec<String>> = args
                .file_group
                .iter()
                .map(|g| g.split(',').map(str::to_string).collect())
                .collect();
            json!({"batch_files": groups, "batch_urls": groups})
        }
    };
    // The jobs are recorded beside the manifest file, so a rerun goes on.
    let state = args.state.clone().or_else(|| {
        args.manifest
            .as_deref()
            .filter(|path| *path != "-")
            .map(|path| PathBuf::from(format!("{path}.import.json")))
    });
    submit_manifest(&args.target, &args.job, &manifest, state)
}

fn status(args: ImportStatusArgs) -> Result<Value> {
    let client = client(&args.target)?;
    if !args.wait {
        return Ok(serde_json::to_value(client.progress(&args.job_id)?)?);
    }
    let progress = wait(
        &client,
        &args.job_id,
        duration("--poll-interval", &args.poll_interval)?,
    )?;
    finished(progress)
}

fn list(args: ImportListArgs) -> Result<Value> {
    let client = client(&args.target)?;
    let jobs = client.list(args.collection.as_deref(), args.page_size, args.max_pages)?;
    Ok(serde_json::to_value(jobs)?)
}
