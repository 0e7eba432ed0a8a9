//! Import planning: the file groups of one or more runs split into the requests a server
//! takes. Milvus refuses a request of more than `dataCoord.import.maxImportFileNumPerReq`
//! groups (1024; Milvus 2.3 takes one group per request) and reads at most
//! `dataNode.import.maxImportFileSizeInGB` (16 GiB) per file, or per NumPy group's files
//! together. [`plan`] refuses a group over the size limit and a file listed twice, and cuts the
//! groups, in order, into requests of at most the group limit.

use std::collections::{BTreeMap, HashSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Groups per request Milvus takes by default (`maxImportFileNumPerReq`).
pub const MAX_FILES_PER_REQUEST: usize = 1024;

/// Bytes per file (per NumPy group) Milvus reads by default (`maxImportFileSizeInGB`).
pub const MAX_FILE_SIZE: u64 = 16 << 30;

/// The server's limits a plan respects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Groups per request.
    pub max_files_per_request: usize,
    /// Bytes per group.
    pub max_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_files_per_request: MAX_FILES_PER_REQUEST,
            max_file_size: MAX_FILE_SIZE,
        }
    }
}

/// One entry of a request's `files`: one Parquet/JSON/JSONL/CSV file, or the `.npy` files of
/// one NumPy segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileGroup {
    /// Local paths or bucket-relative keys (Milvus's `files`).
    pub files: Vec<String>,
    /// The same files as full URLs (Zilliz Cloud's `objectUrls`).
    pub urls: Vec<String>,
    /// Rows in the group, when the run's manifest says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes of the group's files together, when the run's manifest says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

/// One import request of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRequest {
    /// The groups, in order.
    pub groups: Vec<FileGroup>,
    /// Rows of every group, when each group's is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes of every group, when each group's is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
}

impl PlannedRequest {
    /// The `files` groups (paths or keys).
    pub fn files(&self) -> Vec<Vec<String>> {
        self.groups.iter().map(|g| g.files.clone()).collect()
    }

    /// The `objectUrls` groups.
    pub fn urls(&self) -> Vec<Vec<String>> {
        self.groups.iter().map(|g| g.urls.clone()).collect()
    }
}

/// Import requests for every group of one or more runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPlan {
    /// The requests, in order.
    pub requests: Vec<PlannedRequest>,
    /// The requests' `options` (CSV `sep` and `nullkey`).
    pub options: BTreeMap<String, String>,
    /// Groups in all.
    pub groups: usize,
    /// Rows in all, when every group's is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Bytes in all, when every group's is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// The runs planned (their `data_url`s), for [`plan_runs`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runs: Vec<String>,
}

/// Why groups cannot be planned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PlanError {
    /// A group is larger than the server reads.
    #[error(
        "the file group {first}{more} holds {bytes} bytes, more than the {limit} bytes the server reads per file (dataNode.import.maxImportFileSizeInGB)"
    )]
    TooLarge {
        /// Its first file.
        first: String,
        /// ` (and N more files)` for a NumPy group.
        more: String,
        /// Its size.
        bytes: u64,
        /// The limit.
        limit: u64,
    },
    /// A file is listed twice: two runs, or one run twice.
    #[error("{file} is listed twice: its rows would be imported twice")]
    Duplicate {
        /// The file.
        file: String,
    },
    /// Runs with different CSV options cannot share requests.
    #[error("the runs were written with different CSV options ({first:?} and {other:?})")]
    MixedOptions {
        /// One run's options.
        first: BTreeMap<String, String>,
        /// Another's.
        other: BTreeMap<String, String>,
    },
    /// A limit is zero.
    #[error("a request must take at least one file group")]
    NoGroupsPerRequest,
    /// A run had not finished: interrupted, failed, or still being written.
    #[error(
        "the run {data_url} has not finished (it was interrupted, failed, or is still running): resume it, or leave it out"
    )]
    Unfinished {
        /// The run's folder.
        data_url: String,
    },
    /// A run is given twice.
    #[error("the run {data_url} is given twice: its rows would be imported twice")]
    RunTwice {
        /// The run's folder.
        data_url: String,
    },
    /// The runs of a sharded conversion do not cover every shard exactly once.
    #[error("{0}")]
    Shards(String),
    /// The JSON is not a manifest.
    #[error("not a bulkwriter manifest: {0}")]
    Manifest(String),
}

/// The groups and CSV options of a manifest: the run's `manifest.json` (groups with their
/// rows and sizes), what `convert` printed (groups only), or an [`ImportPlan`] (its requests'
/// groups, in order).
pub fn manifest_groups(
    manifest: &Value,
) -> Result<(Vec<FileGroup>, BTreeMap<String, String>), PlanError> {
    if manifest.get("requests").is_some() {
        let plan: ImportPlan = serde_json::from_value(manifest.clone())
            .map_err(|e| PlanError::Manifest(format!("an import plan that does not read: {e}")))?;
        let groups = plan.requests.into_iter().flat_map(|r| r.groups).collect();
        return Ok((groups, plan.options));
    }
    let lists = |key: &str| -> Result<Vec<Vec<String>>, PlanError> {
        serde_json::from_value(manifest[key].clone())
            .map_err(|_| PlanError::Manifest(format!("no \"{key}\" list of file groups")))
    };
    let files = lists("batch_files")?;
    let urls = match manifest.get("batch_urls") {
        Some(_) => lists("batch_urls")?,
        None => files.clone(),
    };
    if urls.len() != files.len() {
        return Err(PlanError::Manifest(
            "batch_files and batch_urls list different numbers of groups".into(),
        ));
    }
    let segments = manifest["stored_segments"].as_array();
    let groups = files
        .into_iter()
        .zip(urls)
        .enumerate()
        .map(|(i, (files, urls))| {
            let segment = segments.and_then(|s| s.get(i));
            let rows = segment.and_then(|s| s["rows"].as_u64());
            let bytes = segment.and_then(|s| {
                s["files"]
                    .as_array()?
                    .iter()
                    .map(|f| f["bytes"].as_u64())
                    .sum::<Option<u64>>()
            });
            FileGroup {
                files,
                urls,
                rows,
                bytes,
            }
        })
        .collect();
    let options = serde_json::from_value(manifest["import_options"].clone()).unwrap_or_default();
    Ok((groups, options))
}

/// Plans the groups of several manifests together: their groups in order, one set of CSV
/// options.
pub fn plan_manifests(manifests: &[Value], limits: Limits) -> Result<ImportPlan, PlanError> {
    let mut groups = Vec::new();
    let mut options: Option<BTreeMap<String, String>> = None;
    for manifest in manifests {
        let (more, these) = manifest_groups(manifest)?;
        match &options {
            Some(first) if *first != these => {
                return Err(PlanError::MixedOptions {
                    first: first.clone(),
                    other: these,
                });
            }
            _ => options = Some(these),
        }
        groups.extend(more);
    }
    plan(groups, options.unwrap_or_default(), limits)
}

/// Plans the runs of one or more conversions (their `manifest.json`s) together, as
/// [`plan_manifests`] does, after checking that every run finished, that no run is given
/// twice, and that the runs of a sharded conversion (`bulkwriter convert --shard I/N`, whose
/// manifests record their shard) hold every shard of it exactly once.
pub fn plan_runs(manifests: &[Value], limits: Limits) -> Result<ImportPlan, PlanError> {
    let mut runs = Vec::new();
    let mut shards: BTreeMap<u64, BTreeMap<u64, Vec<String>>> = BTreeMap::new();
    for manifest in manifests {
        let data_url = manifest["data_url"].as_str().unwrap_or("?").to_string();
        if manifest["finished"] == Value::Bool(false) {
            return Err(PlanError::Unfinished { data_url });
        }
        if runs.contains(&data_url) {
            return Err(PlanError::RunTwice { data_url });
        }
        let shard = &manifest["context"]["shard"];
        if let (Some(index), Some(count)) = (shard["index"].as_u64(), shard["count"].as_u64()) {
            shards
                .entry(count)
                .or_default()
                .entry(index)
                .or_default()
                .push(data_url.clone());
        }
        runs.push(data_url);
    }
    if shards.len() > 1 {
        let counts: Vec<String> = shards.keys().map(|n| format!("/{n}")).collect();
        return Err(PlanError::Shards(format!(
            "the runs are shards of different splits ({}): plan the runs of one split",
            counts.join(", ")
        )));
    }
    if let Some((count, seen)) = shards.iter().next() {
        for (index, runs) in seen {
            if runs.len() > 1 {
                return Err(PlanError::Shards(format!(
                    "shard {index}/{count} is given {} times ({}): its rows would be imported more than once",
                    runs.len(),
                    runs.join(", ")
                )));
            }
        }
        let missing: Vec<String> = (0..*count)
            .filter(|i| !seen.contains_key(i))
            .map(|i| format!("{i}/{count}"))
            .collect();
        if !missing.is_empty() {
            let (verb, whose) = if missing.len() == 1 {
                ("is", "its")
            } else {
                ("are", "their")
            };
            let runs = if missing.len() == 1 { "run" } else { "runs" };
            return Err(PlanError::Shards(format!(
                "shard {} {verb} missing: without {whose} {runs} the plan would lose {whose} rows",
                missing.join(", "),
            )));
        }
    }
    let mut plan = plan_manifests(manifests, limits)?;
    plan.runs = runs;
    Ok(plan)
}

/// Splits `groups`, in order, into requests of at most `limits.max_files_per_request`;
/// refuses a group over `limits.max_file_size` and a file listed twice.
pub fn plan(
    groups: Vec<FileGroup>,
    options: BTreeMap<String, String>,
    limits: Limits,
) -> Result<ImportPlan, PlanError> {
    if limits.max_files_per_request == 0 {
        return Err(PlanError::NoGroupsPerRequest);
    }
    let mut seen = HashSet::new();
    for group in &groups {
        for file in &group.files {
            if !seen.insert(file.as_str()) {
                return Err(PlanError::Duplicate { file: file.clone() });
            }
        }
        if let Some(bytes) = group.bytes
            && bytes > limits.max_file_size
        {
            return Err(PlanError::TooLarge {
                first: group.files.first().cloned().unwrap_or_default(),
                more: match group.files.len() {
                    0 | 1 => String::new(),
                    n => format!(" (and {} more files)", n - 1),
                },
                bytes,
                limit: limits.max_file_size,
            });
        }
    }
    let total = |groups: &[FileGroup], of: fn(&FileGroup) -> Option<u64>| -> Option<u64> {
        groups.iter().map(of).sum()
    };
    let requests: Vec<PlannedRequest> = groups
        .chunks(limits.max_files_per_request)
        .map(|chunk| PlannedRequest {
            groups: chunk.to_vec(),
            rows: total(chunk, |g| g.rows),
            bytes: total(chunk, |g| g.bytes),
        })
        .collect();
    Ok(ImportPlan {
        rows: total(&groups, |g| g.rows),
        bytes: total(&groups, |g| g.bytes),
        groups: groups.len(),
        requests,
        options,
        runs: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(i: usize, bytes: u64) -> FileGroup {
        FileGroup {
            files: vec![format!("p/{i}.parquet")],
            urls: vec![format!("s3://b/p/{i}.parquet")],
            rows: Some(10),
            bytes: Some(bytes),
        }
    }

    #[test]
    fn groups_are_cut_in_order_into_requests_within_the_limits() {
        let groups: Vec<FileGroup> = (0..2500).map(|i| group(i, 100)).collect();
        let plan = plan(groups, BTreeMap::new(), Limits::default()).unwrap();
        let sizes: Vec<usize> = plan.requests.iter().map(|r| r.groups.len()).collect();
        assert_eq!(sizes, [1024, 1024, 452]);
        assert_eq!(plan.requests[1].groups[0].files, ["p/1024.parquet"]);
        assert_eq!(
            (plan.rows, plan.bytes, plan.groups),
            (Some(25_000), Some(250_000), 2500)
        );
    }

    #[test]
    fn a_group_over_the_size_limit_and_a_file_listed_twice_are_refused() {
        let limits = Limits {
            max_files_per_request: 10,
            max_file_size: 1000,
        };
        let error = plan(vec![group(0, 1001)], BTreeMap::new(), limits).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the file group p/0.parquet holds 1001 bytes, more than the 1000 bytes the server reads per file (dataNode.import.maxImportFileSizeInGB)"
        );
        let error = plan(vec![group(0, 1), group(0, 1)], BTreeMap::new(), limits).unwrap_err();
        assert_eq!(
            error,
            PlanError::Duplicate {
                file: "p/0.parquet".into()
            }
        );
    }
}
