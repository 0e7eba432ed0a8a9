//! Many runs into one import plan: the manifests of the runs that several workers wrote
//! (`convert --shard I/N`, Spark tasks), found locally or in a bucket, checked and planned
//! together by [`bulkwriter_import::plan::plan_runs`].

use bulkwriter_import::plan::{ImportPlan, Limits, plan_runs};
use bulkwriter_sink::SegmentSink;
use bulkwriter_writer::manifest::MANIFEST_NAME;
use serde_json::Value;

use crate::{ConvertError, Result};

/// Reads the run manifests that `specs` name, in order. A spec is a manifest file
/// (`run/manifest.json`, `s3://b/p/run/manifest.json`), a run's folder (holding a
/// `manifest.json`), a folder of runs (every `<run>/manifest.json` one level below, sorted),
/// or a local glob of any of these. Object store URLs are opened with `storage_options`.
pub fn find_manifests(
    specs: &[String],
    storage_options: &[(String, String)],
) -> Result<Vec<Value>> {
    let mut manifests = Vec::new();
    for spec in specs {
        let found_before = manifests.len();
        if !spec.contains("://") && spec.contains(['*', '?', '[']) {
            let bad = |reason: String| ConvertError::RunManifest {
                source_name: spec.clone(),
                reason,
            };
            let mut paths = glob::glob(spec)
                .map_err(|e| bad(e.to_string()))?
                .collect::<std::result::Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            paths.sort();
            for path in paths {
                manifests.extend(manifests_at(&path.display().to_string(), storage_options)?);
            }
        } else {
            manifests.extend(manifests_at(spec, storage_options)?);
        }
        if manifests.len() == found_before {
            return Err(ConvertError::RunManifest {
                source_name: spec.clone(),
                reason: format!("no {MANIFEST_NAME} of a run is there"),
            });
        }
    }
    Ok(manifests)
}

/// Plans the runs `specs` name ([`find_manifests`]) into import requests within `limits`.
pub fn plan(
    specs: &[String],
    storage_options: &[(String, String)],
    limits: Limits,
) -> Result<ImportPlan> {
    let manifests = find_manifests(specs, storage_options)?;
    Ok(plan_runs(&manifests, limits)?)
}

/// The manifests at one place: a manifest file, a run folder, or a folder of runs.
fn manifests_at(spec: &str, storage_options: &[(String, String)]) -> Result<Vec<Value>> {
    let trimmed = spec.trim_end_matches('/');
    let sink_error = |e: bulkwriter_sink::SinkError| ConvertError::RunManifest {
        source_name: spec.to_string(),
        reason: e.to_string(),
    };
    let parse = |name: String, bytes: Vec<u8>| -> Result<Value> {
        serde_json::from_slice(&bytes).map_err(|e| ConvertError::RunManifest {
            source_name: name,
            reason: format!("not a run's manifest: {e}"),
        })
    };
    if trimmed.ends_with(".json") {
        let (folder, name) = trimmed.rsplit_once('/').unwrap_or((".", trimmed));
        let sink = SegmentSink::open(folder, storage_options).map_err(sink_error)?;
        let bytes = sink.read_small(name).map_err(sink_error)?.ok_or_else(|| {
            ConvertError::RunManifest {
                source_name: spec.to_string(),
                reason: "no such file".into(),
            }
        })?;
        return Ok(vec![parse(spec.to_string(), bytes)?]);
    }
    if !trimmed.contains("://") && !std::path::Path::new(trimmed).is_dir() {
        return Err(ConvertError::RunManifest {
            source_name: spec.to_string(),
            reason: "no such folder or manifest file".into(),
        });
    }
    let sink = SegmentSink::open(trimmed, storage_options).map_err(sink_error)?;
    if let Some(bytes) = sink.read_small(MANIFEST_NAME).map_err(sink_error)? {
        return Ok(vec![parse(format!("{trimmed}/{MANIFEST_NAME}"), bytes)?]);
    }
    let mut manifests = Vec::new();
    for (path, _) in sink.list("").map_err(sink_error)? {
        let mut parts = path.split('/');
        if let (Some(run), Some(MANIFEST_NAME), None) = (parts.next(), parts.next(), parts.next()) {
            let bytes = sink
                .read_small(&format!("{run}/{MANIFEST_NAME}"))
                .map_err(sink_error)?
                .unwrap_or_default();
            manifests.push(parse(format!("{trimmed}/{path}"), bytes)?);
        }
    }
    Ok(manifests)
}
