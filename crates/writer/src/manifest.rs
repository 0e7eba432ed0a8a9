//! The run's manifest, `<uuid>/manifest.json`: the complete segments of a writer's output,
//! each with its row count, its files' sizes and CRC-32C checksums, and how far into the input
//! it reaches, so that an interrupted run can be checked and resumed.
//!
//! The writer replaces the manifest (one atomic `put`) each time a segment is stored, so at
//! any moment it lists exactly the segments whose files are complete. A file present under
//! the run's folder but missing from the manifest belongs to a segment that was being written
//! when the process died; [`crate::BulkWriter::resume`] removes such files.

use std::collections::BTreeMap;

use bulkwriter_sink::StoredFile;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The manifest's name inside the run's folder.
pub const MANIFEST_NAME: &str = "manifest.json";

/// The layout version written; a reader refuses other versions.
const VERSION: u32 = 1;

/// One complete segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentRecord {
    /// The segment's number (`<uuid>/<n>.parquet`, `<uuid>/<n>/`).
    pub segment: u64,
    /// Rows in the segment.
    pub rows: u64,
    /// Input rows (accepted, rejected and unreadable) given to the writer up to and including
    /// this segment's last row: where a run resumed after this segment starts reading.
    pub input_rows: u64,
    /// Rows rejected up to the same point.
    pub rejected: u64,
    /// The segment's files, in the order of an import request's `files` group.
    pub files: Vec<StoredFile>,
}

/// The content of `<uuid>/manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// The layout version (1).
    pub version: u32,
    /// The program that wrote it.
    pub writer: String,
    /// The file type (`numpy`, `parquet`, `json`, `jsonl`, `csv`).
    pub format: String,
    /// The chunk size segments were cut at, in bytes.
    pub chunk_size: u64,
    /// The import request's CSV `options` (empty for other formats).
    pub import_options: BTreeMap<String, String>,
    /// Whether the run ended normally: every input row is in a listed segment or rejected.
    /// `false` while running and after an interruption or a crash.
    pub finished: bool,
    /// `<output>/<uuid>`: the local path or bucket-relative key prefix.
    pub data_path: String,
    /// The full URL of `data_path`.
    pub data_url: String,
    /// Rows in the listed segments.
    pub rows: u64,
    /// Input rows covered by the listed segments (see [`SegmentRecord::input_rows`]).
    pub input_rows: u64,
    /// Rows rejected up to the same point.
    pub rejected: u64,
    /// The import request's `files` groups of the listed segments.
    pub batch_files: Vec<Vec<String>>,
    /// The same files as full URLs (Zilliz Cloud's `objectUrls`).
    pub batch_urls: Vec<Vec<String>>,
    /// The complete segments, in order.
    pub stored_segments: Vec<SegmentRecord>,
    /// What the caller recorded about the run (the command line tool: its inputs and schema).
    #[serde(default)]
    pub context: Value,
}

impl RunManifest {
    /// A manifest for the given segments.
    pub(crate) fn new(
        options: &crate::WriterOptions,
        data_path: String,
        data_url: String,
        segments: &[SegmentRecord],
        context: Value,
        finished: bool,
    ) -> RunManifest {
        let last = segments.last();
        RunManifest {
            version: VERSION,
            writer: concat!("bulkwriter ", env!("CARGO_PKG_VERSION")).to_string(),
            format: options.file_type.name().to_string(),
            chunk_size: options.chunk_size,
            import_options: options.import_options(),
            finished,
            data_path,
            data_url,
            rows: segments.iter().map(|s| s.rows).sum(),
            input_rows: last.map_or(0, |s| s.input_rows),
            rejected: last.map_or(0, |s| s.rejected),
            batch_files: segments
                .iter()
                .map(|s| s.files.iter().map(|f| f.path.clone()).collect())
                .collect(),
            batch_urls: segments
                .iter()
                .map(|s| s.files.iter().map(|f| f.url.clone()).collect())
                .collect(),
            stored_segments: segments.to_vec(),
            context,
        }
    }

    /// Parses a manifest, refusing other layout versions.
    pub fn from_json(text: &[u8]) -> Result<RunManifest, String> {
        let value: Value =
            serde_json::from_slice(text).map_err(|e| format!("not valid JSON: {e}"))?;
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(format!(
                    "layout version {v}; this bulkwriter reads {VERSION}"
                ));
            }
            None => return Err("no \"version\": not a bulkwriter manifest".into()),
        }
        serde_json::from_value(value).map_err(|e| format!("not a bulkwriter manifest: {e}"))
    }

    /// The manifest as pretty-printed JSON.
    pub fn to_json(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).expect("a manifest always serializes");
        text.push(b'\n');
        text
    }
}
