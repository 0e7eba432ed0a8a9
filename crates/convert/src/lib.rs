//! One conversion run for Milvus bulk import, as a library: inputs ([`bulkwriter_input`])
//! read into a [`BulkWriter`] under the bad-row policy, with the reject file, resume, and
//! the run summary the `bulkwriter convert` command prints. No command line here: progress
//! and cancellation come from the caller ([`Progress`], an [`AtomicBool`]), so a terminal,
//! a Python binding or a Spark task each bring their own.
//!
//! ```no_run
//! use std::sync::atomic::AtomicBool;
//! use bulkwriter_convert::{ConvertOptions, FileType, InputOptions, NoProgress};
//!
//! let input = InputOptions::from_schema_file("schema.json", &["data/*.parquet"])?;
//! let options = ConvertOptions::new(input, FileType::Numpy, "out");
//! let summary = bulkwriter_convert::run(&options, &mut NoProgress, &AtomicBool::new(false))?;
//! println!("{} rows in {:?}", summary.rows, summary.batch_files);
//! # Ok::<(), bulkwriter_convert::ConvertError>(())
//! ```
//!
//! Module map: `options` (what a run is asked to do), `pipeline` (chunks into the writer,
//! the bad-row policy), `reject` (the reject file), `resume` (what the manifest records of
//! the inputs), `progress` (the caller's side), `runs` (many runs' manifests into one import
//! plan), `error`.

mod error;
mod keys;
mod options;
mod pipeline;
mod progress;
mod reject;
mod resume;
pub mod runs;

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

use bulkwriter_sink::SegmentSink;
use bulkwriter_writer::manifest::MANIFEST_NAME;
pub use bulkwriter_writer::{BulkWriter, CsvOptions, FileType, WriteError, WriterOptions};
use serde::Serialize;
use serde_json::Value;

pub use bulkwriter_input::Shard;
pub use error::{ConvertError, Result};
pub use keys::OnDuplicateKey;
pub use options::{ConvertOptions, InputOptions, OnError, Target, load_schema};
pub use progress::{NoProgress, Progress};

use pipeline::{Counts, Pipeline};

/// What a finished conversion wrote: what `bulkwriter convert` prints on stdout.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    /// `<output>/<uuid>`: a local path, or the bucket-relative key prefix.
    pub data_path: String,
    /// The full URL of data_path.
    pub data_url: String,
    /// The run's manifest file (every segment with its rows, sizes and checksums).
    pub manifest: String,
    /// The import request's `files` groups: local paths or bucket-relative keys.
    pub batch_files: Vec<Vec<String>>,
    /// The same files as full URLs (Zilliz Cloud's `objectUrls`).
    pub batch_urls: Vec<Vec<String>>,
    /// Rows written.
    pub rows: u64,
    /// Rows rejected (in the reject file).
    pub rejected: u64,
    /// Rows whose primary key an earlier row had (rejected, or left out with
    /// [`OnDuplicateKey::Skip`]; 0 when duplicates are kept).
    pub duplicate_keys: u64,
    /// Complete segments.
    pub segments: usize,
    /// The file type's name.
    pub format: &'static str,
    /// The `options` of the import request: CSV `sep` and `nullkey` when not the default.
    pub import_options: BTreeMap<String, String>,
    /// The import job started from these files, when the caller starts one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<Value>,
}

/// What a validation found.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ValidationReport {
    /// Rows read.
    pub rows: u64,
    /// Valid rows.
    pub accepted: u64,
    /// Bad rows.
    pub rejected: u64,
    /// Rows whose primary key an earlier row had (counted among the bad rows unless
    /// duplicates are kept).
    pub duplicate_keys: u64,
}

impl ValidationReport {
    /// Whether every row is valid.
    pub fn ok(&self) -> bool {
        self.rejected == 0
    }
}

/// Runs a conversion and returns what it wrote. Setting `cancel` stops it after the current
/// row: the open segment is stored as a complete one and the run ends with
/// [`ConvertError::Interrupted`], from which it can be resumed.
pub fn run(
    options: &ConvertOptions,
    progress: &mut dyn Progress,
    cancel: &AtomicBool,
) -> Result<RunSummary> {
    let input = &options.input;
    input.check()?;
    if input.on_error == OnError::Skip && input.reject_file.is_none() {
        return Err(ConvertError::SkipWithoutRejectFile);
    }
    let schema = input.schema.clone();
    let (writer, resumed) = match &options.target {
        Target::New(output) => {
            let mut writer = BulkWriter::open(
                schema,
                output,
                &options.storage_options,
                options.writer.clone(),
            )?;
            writer.keep_manifest(resume::run_context(input))?;
            (writer, None)
        }
        Target::Resume { output, uuid } => {
            let (writer, manifest) = BulkWriter::resume(
                schema,
                output,
                &options.storage_options,
                options.writer.clone(),
                uuid,
            )?;
            let warnings = resume::check_context(input, &manifest.context)?;
            (writer, Some((manifest, warnings)))
        }
    };
    let mut pipeline = Pipeline::new(
        input,
        writer,
        progress,
        cancel,
        false,
        resumed.as_ref().map(|(m, _)| (m.input_rows, m.rejected)),
    )?;
    if let Some((manifest, warnings)) = &resumed {
        pipeline.counts = Counts {
            accepted: manifest.rows,
            rejected: manifest.rejected,
        };
        for warning in warnings {
            pipeline.progress.warn(warning);
        }
        if manifest.rejected > 0 && input.reject_file.is_none() {
            pipeline.progress.warn(&format!(
                "the interrupted run rejected {} rows; they are listed in its reject file",
                manifest.rejected
            ));
        }
    }
    let mut result = pipeline.run_all();
    if result.is_ok()
        && !input.allow_empty
        && input.shard.is_none()
        && pipeline.counts.accepted == 0
        && pipeline.counts.rejected == 0
    {
        let names: Vec<&str> = input.files.iter().map(|f| f.name.as_str()).collect();
        result = Err(ConvertError::EmptyInput {
            files: names.join(", "),
        });
    }
    let writer = pipeline.finish(result, "writing the last segment")?;
    Ok(RunSummary {
        data_path: writer.data_path(),
        data_url: writer.data_url(),
        manifest: format!("{}/{MANIFEST_NAME}", writer.data_url()),
        batch_files: writer.batch_files().to_vec(),
        batch_urls: writer.batch_urls(),
        rows: writer.total_row_count(),
        rejected: pipeline.counts.rejected,
        duplicate_keys: pipeline.keys.as_ref().map_or(0, |k| k.duplicates),
        segments: writer.batch_files().len(),
        format: options.writer.file_type.name(),
        import_options: writer.import_options(),
        import: None,
    })
}

/// Checks every row without writing. Every bad row goes to [`Progress::rejected_row`] (and
/// the reject file, if one is set), unless `max_errors` is 0: then the first one stops.
pub fn validate(
    input: &InputOptions,
    progress: &mut dyn Progress,
    cancel: &AtomicBool,
) -> Result<ValidationReport> {
    input.check()?;
    let explicit_stop = input.max_errors == Some(0);
    let writer = BulkWriter::with_sink(
        input.schema.clone(),
        SegmentSink::in_memory().map_err(WriteError::from)?,
        WriterOptions::new(FileType::Parquet).with_dry_run(true),
    )?;
    let mut pipeline = Pipeline::new(input, writer, progress, cancel, true, None)?;
    if !explicit_stop {
        pipeline.set_on_error(OnError::Skip);
    }
    let result = pipeline.run_all();
    pipeline.finish(result, "checking the last rows")?;
    let Counts { accepted, rejected } = pipeline.counts;
    Ok(ValidationReport {
        rows: accepted + rejected,
        accepted,
        rejected,
        duplicate_keys: pipeline.keys.as_ref().map_or(0, |k| k.duplicates),
    })
}
