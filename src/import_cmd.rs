//! `bulkwriter import create|status|list`, and `convert --import`: the import REST client of
//! `bulkwriter_import` driven from the command line, with a progress bar while waiting.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bulkwriter_import::{
    ClientOptions, CreateImport, ImportClient, ImportSource, JobProgress, Secret, Target,
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

fn groups(value: &Value, key: &str) -> Result<Vec<Vec<String>>> {
    serde_json::from_value(value[key].clone())
        .map_err(|_| anyhow!("the manifest has no \"{key}\" list of file groups"))
}

/// The import request for a convert manifest.
fn request(client: &ImportClient, manifest: &Value, job: &ImportJobArgs) -> Result<CreateImport> {
    let collection_name = job
        .collection
        .clone()
        .ok_or_else(|| anyhow!("--collection is needed to import"))?;
    let source = match client.target() {
        Target::Milvus { .. } => ImportSource::Files(groups(manifest, "batch_files")?),
        Target::ZillizCloud { .. } => match &job.volume {
            Some(name) => ImportSource::Volume {
                name: name.clone(),
                data_paths: groups(manifest, "batch_files")?,
            },
            None => ImportSource::ObjectUrls {
                urls: groups(manifest, "batch_urls")?,
                access_key: Secret::new(job.access_key.clone().ok_or_else(|| {
                    anyhow!("Zilliz Cloud reads the files with --access-key and --secret-key (or use --volume)")
                })?),
                secret_key: Secret::new(job.secret_key.clone().ok_or_else(|| {
                    anyhow!("Zilliz Cloud reads the files with --access-key and --secret-key (or use --volume)")
                })?),
                token: job.session_token.clone().map(Secret::new),
            },
        },
    };
    let mut options: std::collections::BTreeMap<String, String> =
        serde_json::from_value(manifest["import_options"].clone()).unwrap_or_default();
    options.extend(job.import_options.iter().cloned());
    if source_is_empty(&source) {
        bail!("the manifest lists no files: nothing to import");
    }
    Ok(CreateImport {
        collection_name,
        partition_name: job.partition.clone(),
        source,
        options,
    })
}

fn source_is_empty(source: &ImportSource) -> bool {
    match source {
        ImportSource::Files(g) | ImportSource::Volume { data_paths: g, .. } => g.is_empty(),
        ImportSource::ObjectUrls { urls, .. } => urls.is_empty(),
    }
}

/// Submits a manifest's files; returns `{"jobId"}`, or the final state with `--wait`.
pub fn submit_manifest(
    target: &ImportTargetArgs,
    job: &ImportJobArgs,
    manifest: &Value,
) -> Result<Value> {
    let client = client(target)?;
    let request = request(&client, manifest, job)?;
    let job_id = client.create(&request)?;
    if !job.wait {
        return Ok(json!({"jobId": job_id}));
    }
    let progress = wait(
        &client,
        &job_id,
        duration("--poll-interval", &job.poll_interval)?,
    )?;
    finished(progress)
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
        ImportCommand::Create(args) => create(args),
        ImportCommand::Status(args) => status(args),
        ImportCommand::List(args) => list(args),
    }
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
    submit_manifest(&args.target, &args.job, &manifest)
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
