//! `bulkwriter convert` and `bulkwriter validate`: validated configuration, and the pipeline
//! that reads every input into the writer under the error policy.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use arrow_array::RecordBatch;
use bulkwriter_schema::CollectionSchema;
use bulkwriter_sink::SegmentSink;
use bulkwriter_writer::{
    BulkWriter, CsvOptions, FileType, RunManifest, WriteError, WriterOptions, arrow_row_to_json,
    parse_size,
};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::cli::{
    ConvertArgs, ImportJobArgs, ImportTargetArgs, InputArgs, InputFormatArg, LogFormat, OnError,
    OutputFormat,
};
use crate::input::{self, Chunk, InputFile, InputFormat, Raw, ReadOptions, RowPosition};
use crate::interrupt::{self, Interrupted};
use crate::report::Reporter;

/// Rows per Arrow batch read from columnar inputs.
const BATCH_ROWS: usize = 4096;

/// Checked input settings, shared by convert and validate.
#[derive(Debug)]
pub struct InputConfig {
    schema: CollectionSchema,
    /// The schema file as JSON, recorded in the run's manifest.
    schema_json: Value,
    files: Vec<InputFile>,
    mapping: HashMap<String, String>,
    ignore_unknown: bool,
    on_error: OnError,
    reject_file: Option<PathBuf>,
    max_errors: Option<u64>,
    csv_separator: Option<u8>,
    csv_null: String,
    vector_field: Option<String>,
    id_start: i64,
    /// Whether stderr gets no bar and no summary.
    pub quiet: bool,
    /// How stderr messages are written.
    pub log_format: LogFormat,
}

impl InputFormatArg {
    fn format(self) -> InputFormat {
        match self {
            InputFormatArg::Jsonl => InputFormat::Jsonl,
            InputFormatArg::Json => InputFormat::Json,
            InputFormatArg::Csv => InputFormat::Csv,
            InputFormatArg::Parquet => InputFormat::Parquet,
            InputFormatArg::Numpy => InputFormat::NumpyDir,
            InputFormatArg::Npy => InputFormat::NpyMatrix,
            InputFormatArg::Fvecs => InputFormat::Fvecs,
            InputFormatArg::Bvecs => InputFormat::Bvecs,
            InputFormatArg::Ivecs => InputFormat::Ivecs,
        }
    }
}

/// A separator given as one character or `tab`.
fn separator(option: &str, text: &str) -> Result<char> {
    if text.eq_ignore_ascii_case("tab") || text == "\\t" {
        return Ok('\t');
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => bail!("{option} {text:?}: give exactly one character, or `tab`"),
    }
}

impl TryFrom<InputArgs> for InputConfig {
    type Error = anyhow::Error;

    fn try_from(args: InputArgs) -> Result<Self> {
        let text = std::fs::read_to_string(&args.schema)
            .with_context(|| format!("cannot read schema {}", args.schema.display()))?;
        let schema = CollectionSchema::from_json_str(&text)
            .with_context(|| format!("invalid schema {}", args.schema.display()))?;
        let schema_json = serde_json::from_str(&text)?;
        let files = input::expand(&args.input, args.input_format.map(InputFormatArg::format))?;
        let mut mapping = HashMap::new();
        for (from, to) in args.mapping {
            if mapping.insert(from.clone(), to).is_some() {
                bail!("--map {from}=...: the column is mapped twice");
            }
        }
        let csv_separator = match &args.input_sep {
            Some(text) => {
                let c = separator("--input-sep", text)?;
                Some(
                    u8::try_from(c)
                        .ok()
                        .filter(u8::is_ascii)
                        .ok_or_else(|| anyhow!("--input-sep must be an ASCII character"))?,
                )
            }
            None => None,
        };
        if args.on_error == OnError::Skip && args.reject_file.is_none() {
            bail!(
                "--on-error skip needs --reject-file PATH, so that every skipped row is kept with its reason"
            );
        }
        if files.iter().any(|f| f.format.is_vector_dump()) && args.vector_field.is_none() {
            bail!("vector files (.fvecs, .bvecs, .ivecs, .npy) need --vector-field FIELD");
        }
        Ok(InputConfig {
            schema,
            schema_json,
            files,
            mapping,
            ignore_unknown: args.ignore_unknown,
            on_error: args.on_error,
            reject_file: args.reject_file,
            max_errors: args.max_errors,
            csv_separator,
            csv_null: args.input_null,
            vector_field: args.vector_field,
            id_start: args.id_start,
            quiet: args.quiet,
            log_format: args.log_format,
        })
    }
}

/// A checked `convert` request.
#[derive(Debug)]
pub struct ConvertConfig {
    input: InputConfig,
    target: Target,
    storage_options: Vec<(String, String)>,
    options: WriterOptions,
    /// `--import`: where to submit the written files.
    pub import: Option<(ImportTargetArgs, ImportJobArgs)>,
}

impl TryFrom<ConvertArgs> for ConvertConfig {
    type Error = anyhow::Error;

    fn try_from(args: ConvertArgs) -> Result<Self> {
        let chunk_size = parse_size(&args.chunk_size).map_err(|e| anyhow!("--chunk-size: {e}"))?;
        let file_type = match args.format {
            OutputFormat::Numpy => FileType::Numpy,
            OutputFormat::Parquet => FileType::Parquet,
            OutputFormat::Json => FileType::Json,
            OutputFormat::Jsonl => FileType::Jsonl,
            OutputFormat::Csv => FileType::Csv,
        };
        let csv = CsvOptions::new(separator("--csv-sep", &args.csv_sep)?, args.csv_null)
            .map_err(|e| anyhow!("--csv-sep/--csv-null: {e}"))?;
        if file_type != FileType::Csv && csv != CsvOptions::default() {
            bail!("--csv-sep and --csv-null apply only to --format csv");
        }
        let target = match (args.resume, args.output) {
            (Some(data_path), output) => resume_target(&data_path, output.as_deref())?,
            (None, Some(output)) => Target::New(output),
            (None, None) => bail!("give --output DIR|URL, or --resume DATA_PATH"),
        };
        Ok(ConvertConfig {
            target,
            input: InputConfig::try_from(args.input)?,
            import: args
                .submit_import
                .then_some((args.import_target, args.import_job)),
            storage_options: args.storage_options,
            options: WriterOptions::new(file_type)
                .with_chunk_size(chunk_size)
                .with_csv(csv)
                .with_segments_in_flight(args.segments_in_flight.into()),
        })
    }
}

/// Where a conversion writes.
#[derive(Debug)]
enum Target {
    /// A new run under `<output>/<uuid>`.
    New(String),
    /// The unfinished run `<output>/<uuid>` (`--resume`).
    Resume { output: String, uuid: String },
}

/// Splits `--resume <output>/<uuid>`, checking it against `--output` when that is given too.
fn resume_target(data_path: &str, output: Option<&str>) -> Result<Target> {
    let trimmed = data_path.trim_end_matches('/');
    let (parent, uuid) = match trimmed.rsplit_once('/') {
        Some((parent, uuid)) if !parent.ends_with(':') && !uuid.is_empty() => {
            (if parent.is_empty() { "/" } else { parent }, uuid)
        }
        Some(_) => bail!(
            "--resume {data_path}: give the run's folder, <output>/<uuid> (the data_url of its manifest)"
        ),
        None => (".", trimmed),
    };
    if let Some(output) = output {
        let same = if output.contains("://") {
            output.trim_end_matches('/') == parent
        } else {
            let canonical =
                |p: &str| std::fs::canonicalize(p.strip_prefix("file://").unwrap_or(p)).ok();
            canonical(output).is_some() && canonical(output) == canonical(parent)
        };
        if !same {
            bail!("--resume {data_path} is not a folder of --output {output}");
        }
    }
    Ok(Target::Resume {
        output: parent.to_string(),
        uuid: uuid.to_string(),
    })
}

/// What the manifest records about the inputs and schema, to check a resumed run.
fn run_context(input: &InputConfig) -> Value {
    let inputs: Vec<Value> = input
        .files
        .iter()
        .map(|f| json!({"name": f.name, "bytes": f.size}))
        .collect();
    json!({"inputs": inputs, "schema": input.schema_json})
}

/// Checks that a resumed run reads what the interrupted one read; returns warnings.
fn check_resumed_context(input: &InputConfig, context: &Value) -> Result<Vec<String>> {
    let recorded = context["inputs"].as_array().cloned().unwrap_or_default();
    let names = |list: &[Value]| -> Vec<String> {
        list.iter()
            .map(|f| f["name"].as_str().unwrap_or("?").to_string())
            .collect()
    };
    let given: Vec<String> = input.files.iter().map(|f| f.name.clone()).collect();
    if names(&recorded) != given {
        bail!(
            "the interrupted run read {}; this run was given {}: resume with the same --input values",
            names(&recorded).join(", "),
            given.join(", ")
        );
    }
    let schema = CollectionSchema::from_json_value(&context["schema"]).ok();
    if schema.as_ref() != Some(&input.schema) {
        bail!(
            "the schema differs from the one the interrupted run used: resume with the same --schema"
        );
    }
    let mut warnings = Vec::new();
    for (file, was) in input.files.iter().zip(&recorded) {
        if file.size.is_some() && file.size != was["bytes"].as_u64() {
            warnings.push(format!(
                "{} changed size since the interrupted run ({} bytes, now {}); its first rows are skipped by count",
                file.name,
                was["bytes"],
                file.size.unwrap_or(0)
            ));
        }
    }
    Ok(warnings)
}

/// What `convert` prints on stdout.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// `<output>/<uuid>`: a local path, or the bucket-relative key prefix.
    data_path: String,
    /// The full URL of data_path.
    data_url: String,
    /// The run's manifest file (every segment with its rows, sizes and checksums).
    manifest: String,
    /// The import request's `files` groups: local paths or bucket-relative keys.
    batch_files: Vec<Vec<String>>,
    /// The same files as full URLs (Zilliz Cloud's `objectUrls`).
    batch_urls: Vec<Vec<String>>,
    rows: u64,
    rejected: u64,
    segments: usize,
    format: &'static str,
    /// The `options` of the import request: CSV `sep` and `nullkey` when not the default.
    import_options: std::collections::BTreeMap<String, String>,
    /// With `--import`: the job started (`{"jobId"}`, or its final state with `--wait`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub import: Option<Value>,
}

/// What `validate` prints on stdout.
#[derive(Debug, Serialize)]
pub struct ValidationReport {
    rows: u64,
    accepted: u64,
    rejected: u64,
}

impl ValidationReport {
    /// Whether every row is valid.
    pub fn ok(&self) -> bool {
        self.rejected == 0
    }
}

/// Runs the conversion and returns the manifest.
pub fn run(config: &ConvertConfig) -> Result<Manifest> {
    let file_type = config.options.file_type;
    let schema = config.input.schema.clone();
    let (writer, resumed) = match &config.target {
        Target::New(output) => {
            let mut writer = BulkWriter::open(
                schema,
                output,
                &config.storage_options,
                config.options.clone(),
            )?;
            writer.keep_manifest(run_context(&config.input))?;
            (writer, None)
        }
        Target::Resume { output, uuid } => {
            let (writer, manifest) = BulkWriter::resume(
                schema,
                output,
                &config.storage_options,
                config.options.clone(),
                uuid,
            )?;
            let warnings = check_resumed_context(&config.input, &manifest.context)?;
            (writer, Some((manifest, warnings)))
        }
    };
    let mut pipeline = Pipeline::new(
        &config.input,
        writer,
        false,
        resumed.as_ref().map(|(manifest, _)| manifest),
    )?;
    if let Some((manifest, warnings)) = &resumed {
        pipeline.counts = Counts {
            accepted: manifest.rows,
            rejected: manifest.rejected,
        };
        for warning in warnings {
            pipeline.reporter.warn(warning);
        }
        if manifest.rejected > 0 && config.input.reject_file.is_none() {
            pipeline.reporter.warn(&format!(
                "the interrupted run rejected {} rows; they are listed in its --reject-file",
                manifest.rejected
            ));
        }
    }
    let result = pipeline.run_all(&config.input);
    let writer = pipeline.finish(result, "writing the last segment")?;
    let counts = pipeline.counts;
    let rate = counts.accepted as f64 / pipeline.reporter.elapsed().as_secs_f64().max(1e-3);
    pipeline.reporter.finish(
        &format!(
            "{} rows written ({} rejected) to {} {} segment(s) under {} in {:.1} s ({rate:.0} rows/s)",
            counts.accepted,
            counts.rejected,
            writer.batch_files().len(),
            file_type,
            writer.data_url(),
            pipeline.reporter.elapsed().as_secs_f64()
        ),
        json!({"rows": counts.accepted, "rejected": counts.rejected,
               "segments": writer.batch_files().len(),
               "seconds": pipeline.reporter.elapsed().as_secs_f64(), "data_url": writer.data_url()}),
    );
    Ok(Manifest {
        data_path: writer.data_path(),
        data_url: writer.data_url(),
        manifest: format!(
            "{}/{}",
            writer.data_url(),
            bulkwriter_writer::manifest::MANIFEST_NAME
        ),
        batch_files: writer.batch_files().to_vec(),
        batch_urls: writer.batch_urls(),
        rows: writer.total_row_count(),
        rejected: counts.rejected,
        segments: writer.batch_files().len(),
        format: file_type.name(),
        import_options: writer.import_options(),
        import: None,
    })
}

/// Checks every row without writing; bad rows are listed on stderr.
pub fn validate(mut config: InputConfig) -> Result<ValidationReport> {
    // Validation reports every bad row unless asked to stop at the first.
    let explicit_stop = config.max_errors == Some(0);
    if !explicit_stop {
        config.on_error = OnError::Skip;
    }
    let writer = BulkWriter::with_sink(
        config.schema.clone(),
        SegmentSink::in_memory()?,
        WriterOptions::new(FileType::Parquet).with_dry_run(true),
    )?;
    let mut pipeline = Pipeline::new(&config, writer, true, None)?;
    let result = pipeline.run_all(&config);
    pipeline.finish(result, "checking the last rows")?;
    let counts = pipeline.counts;
    pipeline.reporter.finish(
        &format!(
            "{} rows checked: {} valid, {} rejected",
            counts.accepted + counts.rejected,
            counts.accepted,
            counts.rejected
        ),
        json!({"rows": counts.accepted + counts.rejected, "accepted": counts.accepted,
               "rejected": counts.rejected}),
    );
    Ok(ValidationReport {
        rows: counts.accepted + counts.rejected,
        accepted: counts.accepted,
        rejected: counts.rejected,
    })
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    accepted: u64,
    rejected: u64,
}

/// Reads inputs into a writer, applying the unknown-column and bad-row policies.
struct Pipeline {
    writer: Option<BulkWriter>,
    schema: Arc<CollectionSchema>,
    reporter: Reporter,
    counts: Counts,
    on_error: OnError,
    max_errors: Option<u64>,
    reject: Option<(PathBuf, BufWriter<File>)>,
    ignore_unknown: bool,
    /// Column names already checked against the schema.
    known_columns: HashSet<String>,
    /// Field name → input column name, to write rejected rows as they were read.
    unmapping: HashMap<String, String>,
    /// Bytes of the inputs finished so far.
    bytes_done: u64,
    /// Whether bad rows are listed on stderr (validate).
    list_rejects: bool,
    /// Input rows still to skip: those a resumed run's listed segments already hold.
    skip: u64,
}

impl Pipeline {
    /// A pipeline into `writer`; `resumed` is the manifest of the run a resumed writer
    /// continues.
    fn new(
        config: &InputConfig,
        writer: BulkWriter,
        list_rejects: bool,
        resumed: Option<&RunManifest>,
    ) -> Result<Pipeline> {
        let total = config.files.iter().map(|f| f.size).sum::<Option<u64>>();
        let reject = match &config.reject_file {
            Some(path) => Some((
                path.clone(),
                BufWriter::new(open_reject_file(path, resumed)?),
            )),
            None => None,
        };
        Ok(Pipeline {
            writer: Some(writer),
            schema: Arc::new(config.schema.clone()),
            reporter: Reporter::new(config.log_format, config.quiet, total),
            counts: Counts::default(),
            on_error: config.on_error,
            max_errors: config.max_errors,
            reject,
            ignore_unknown: config.ignore_unknown,
            known_columns: HashSet::new(),
            unmapping: config
                .mapping
                .iter()
                .map(|(from, to)| (to.clone(), from.clone()))
                .collect(),
            bytes_done: 0,
            list_rejects,
            skip: resumed.map_or(0, |m| m.input_rows),
        })
    }

    fn writer(&mut self) -> &mut BulkWriter {
        self.writer
            .as_mut()
            .expect("the writer is taken only by finish")
    }

    fn run_all(&mut self, config: &InputConfig) -> Result<()> {
        let consumed = Arc::new(AtomicU64::new(0));
        for file in &config.files {
            let options = ReadOptions {
                schema: &config.schema,
                mapping: &config.mapping,
                csv_separator: config.csv_separator,
                csv_null: &config.csv_null,
                vector_field: config.vector_field.as_deref(),
                id_start: config.id_start,
                batch_rows: BATCH_ROWS,
                consumed: Arc::clone(&consumed),
                max_row_bytes: input::MAX_ROW_BYTES,
                row_start: Arc::new(AtomicU64::new(0)),
            };
            let mut visit = |chunk: Chunk| -> Result<()> {
                if interrupt::requested() {
                    bail!("interrupted");
                }
                self.take_chunk(file, chunk)?;
                let bytes = self.bytes_done + consumed.load(Ordering::Relaxed);
                let writer = self.writer();
                let (rows, segment) = (
                    writer.total_row_count(),
                    writer.batch_files().len() as u64 + 1,
                );
                self.reporter
                    .progress(bytes, rows, self.counts.rejected, segment);
                Ok(())
            };
            input::read(file, &options, &mut visit).map_err(|e| {
                // Storage errors are not the input's: they are reported without its name.
                let storing = matches!(
                    e.downcast_ref::<WriteError>(),
                    Some(WriteError::Sink { .. } | WriteError::Manifest(_))
                );
                if storing {
                    e
                } else {
                    e.context(file.name.clone())
                }
            })?;
            self.bytes_done += file.size.unwrap_or(0);
        }
        if self.skip > 0 {
            bail!(
                "the inputs end {} rows before the point the interrupted run had reached: they are not the inputs it read",
                self.skip
            );
        }
        Ok(())
    }

    /// Ends the run: commits the writer on success, and on any error leaves the output
    /// without a final segment and reports what was written.
    fn finish(&mut self, result: Result<()>, last: &str) -> Result<BulkWriter> {
        if let Some((path, reject)) = &mut self.reject {
            reject
                .flush()
                .with_context(|| format!("cannot write --reject-file {}", path.display()))?;
        }
        let mut writer = self
            .writer
            .take()
            .ok_or_else(|| anyhow!("finished twice"))?;
        if let Err(error) = result {
            if interrupt::requested() {
                // Keep what was read: the open segment becomes the last complete one.
                let committed = writer
                    .commit()
                    .context("writing the segment in progress after the interruption");
                self.reporter.abandon();
                committed?;
                return Err(Interrupted {
                    data_url: writer.data_url(),
                    input_rows: writer.rows_given(),
                    rows: writer.total_row_count(),
                    segments: writer.batch_files().len(),
                    resumable: !writer.options().dry_run,
                }
                .into());
            }
            self.reporter.abandon();
            let written = writer.batch_files().len();
            if written > 0 {
                return Err(error.context(format!(
                    "{written} complete segment(s) were written to {url} before the error (listed in its manifest.json); after fixing the cause, run the same command with --resume {url} to continue",
                    url = writer.data_url()
                )));
            }
            return Err(error);
        }
        if let Err(e) = writer.close().context(last.to_string()) {
            self.reporter.abandon();
            return Err(e);
        }
        let dropped = writer.dropped_keys();
        if !dropped.is_empty() {
            let keys: Vec<&str> = dropped.iter().map(String::as_str).collect();
            self.reporter.warn(&format!(
                "input columns that match no field were dropped (the dynamic field is off): {}",
                keys.join(", ")
            ));
        }
        Ok(writer)
    }

    /// Refuses, once per column, input columns the schema cannot place.
    fn check_columns<'a>(&mut self, names: impl Iterator<Item = &'a str>) -> Result<()> {
        for name in names {
            if self.known_columns.contains(name) {
                continue;
            }
            let schema = &self.schema;
            // With the dynamic field on, every other column (and `$meta`) goes to `$meta`.
            let placed = schema.field(name).is_some()
                || schema.struct_fields.iter().any(|s| s.name == name)
                || schema.enable_dynamic_field;
            if !placed && !self.ignore_unknown {
                let original = self.unmapping.get(name).map_or(name, String::as_str);
                bail!(
                    "the input column '{original}' matches no field of the schema and the dynamic field is off: rename it with --map {original}=FIELD, or drop such columns with --ignore-unknown"
                );
            }
            self.known_columns.insert(name.to_string());
        }
        Ok(())
    }

    fn take_chunk(&mut self, file: &InputFile, chunk: Chunk) -> Result<()> {
        let chunk = match self.skipped(chunk) {
            Some(chunk) => chunk,
            None => return Ok(()),
        };
        match chunk {
            Chunk::Row(row) => {
                if let Value::Object(map) = &row.value {
                    let names: Vec<String> = map
                        .keys()
                        .filter(|k| !self.known_columns.contains(*k))
                        .cloned()
                        .collect();
                    self.check_columns(names.iter().map(String::as_str))?;
                }
                match self.writer().append_row(&row.value) {
                    Ok(()) => self.counts.accepted += 1,
                    Err(WriteError::Row { field, message, .. }) => {
                        let data = self.raw_data(&row.raw, &row.value);
                        self.reject(file, row.position, &field, &message, data)?;
                    }
                    Err(other) => return Err(other.into()),
                }
            }
            Chunk::BadRow {
                position,
                raw,
                reason,
            } => {
                self.writer().count_unreadable_row();
                let data = self.raw_data(&raw, &Value::Null);
                self.reject(file, position, "", &reason, data)?;
            }
            Chunk::Batch { batch, first_row } => {
                let names: Vec<String> = batch
                    .schema()
                    .fields()
                    .iter()
                    .map(|f| f.name().clone())
                    .collect();
                self.check_columns(names.iter().map(String::as_str))?;
                self.take_batch(file, &batch, first_row)?;
            }
        }
        Ok(())
    }

    /// Drops the input rows a resumed run's listed segments already hold; returns the rest.
    fn skipped(&mut self, chunk: Chunk) -> Option<Chunk> {
        if self.skip == 0 {
            return Some(chunk);
        }
        match chunk {
            Chunk::Row(_) | Chunk::BadRow { .. } => {
                self.skip -= 1;
                None
            }
            Chunk::Batch { batch, first_row } => {
                let rows = batch.num_rows() as u64;
                if rows <= self.skip {
                    self.skip -= rows;
                    return None;
                }
                let skip = std::mem::take(&mut self.skip);
                Some(Chunk::Batch {
                    batch: batch.slice(skip as usize, (rows - skip) as usize),
                    first_row: first_row + skip,
                })
            }
        }
    }

    /// Appends a batch; a bad row is rejected (or stops the run) and the rest is appended.
    fn take_batch(&mut self, file: &InputFile, batch: &RecordBatch, first_row: u64) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let rest = batch.slice(offset, batch.num_rows() - offset);
            let given = self.writer().rows_given();
            match self.writer().append_batch(&rest) {
                Ok(()) => {
                    self.counts.accepted += rest.num_rows() as u64;
                    return Ok(());
                }
                Err(WriteError::Row {
                    row,
                    field,
                    message,
                }) => {
                    let bad = (row - given - 1) as usize;
                    self.counts.accepted += bad as u64;
                    let position = RowPosition {
                        row: first_row + (offset + bad) as u64 + 1,
                        line: None,
                    };
                    let data =
                        input::rename_keys(arrow_row_to_json(batch, offset + bad), &self.unmapping);
                    self.reject(file, position, &field, &message, data)?;
                    offset += bad + 1;
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(())
    }

    /// A rejected row as it was read: the JSONL line's own text, the CSV cells by header,
    /// or the row object with input column names.
    fn raw_data(&self, raw: &Raw, value: &Value) -> RawData {
        match raw {
            Raw::Line(line) => match serde_json::from_str::<serde::de::IgnoredAny>(line) {
                Ok(_) => RawData::Json(line.trim().to_string()),
                Err(_) => RawData::Text(line.clone()),
            },
            Raw::Record { header, record } => {
                let mut map = Map::new();
                for (name, cell) in header.iter().zip(record.iter()) {
                    map.insert(name.clone(), Value::String(cell.to_string()));
                }
                RawData::Value(Value::Object(map))
            }
            Raw::Value => RawData::Value(input::rename_keys(value.clone(), &self.unmapping)),
        }
    }

    /// A bad row: stops the run (default), or goes to the reject file.
    fn reject(
        &mut self,
        file: &InputFile,
        position: RowPosition,
        field: &str,
        message: &str,
        data: impl Into<RawData>,
    ) -> Result<()> {
        let field_part = if field.is_empty() {
            String::new()
        } else {
            format!(", field '{field}'")
        };
        // Errors that stop the run get the file name from run_all's context.
        let at = format!("{position}{field_part}: {message}");
        let described = format!("{}: {at}", file.name);
        if self.on_error == OnError::Stop {
            bail!(at);
        }
        self.counts.rejected += 1;
        if self.list_rejects {
            self.reporter.rejected_row(&described);
        }
        if let Some((path, out)) = &mut self.reject {
            let mut line = String::from("{");
            line.push_str(&format!("\"file\":{}", json!(file.name)));
            line.push_str(&format!(",\"row\":{}", position.row));
            if let Some(l) = position.line {
                line.push_str(&format!(",\"line\":{l}"));
            }
            line.push_str(&format!(
                ",\"field\":{},\"error\":{}",
                json!(field),
                json!(message)
            ));
            match data.into() {
                // A JSONL line is valid JSON: kept byte for byte.
                RawData::Json(text) => line.push_str(&format!(",\"data\":{text}")),
                RawData::Text(text) => line.push_str(&format!(",\"text\":{}", json!(text))),
                RawData::Value(value) => line.push_str(&format!(",\"data\":{value}")),
            }
            line.push_str("}\n");
            // Flushed at once: a rejected row counted in the manifest is always in the file,
            // so a resumed run can cut the file back to exactly those rows.
            out.write_all(line.as_bytes())
                .and_then(|()| out.flush())
                .with_context(|| format!("cannot write --reject-file {}", path.display()))?;
        }
        if let Some(max) = self.max_errors
            && self.counts.rejected > max
        {
            bail!("more than --max-errors {max} rows were rejected; the last: {at}");
        }
        Ok(())
    }
}

/// Opens the reject file: a new run starts it empty; a resumed run keeps the rows the
/// interrupted run rejected before its last listed segment (one line each) and drops the rest,
/// which the resumed run rejects again.
fn open_reject_file(path: &Path, resumed: Option<&RunManifest>) -> Result<File> {
    let Some(manifest) = resumed else {
        return File::create(path)
            .with_context(|| format!("cannot create --reject-file {}", path.display()));
    };
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)
        .with_context(|| format!("cannot open --reject-file {}", path.display()))?;
    let kept = reject_lines_prefix(&mut file, path, manifest.rejected)?;
    file.set_len(kept)
        .and_then(|()| file.seek(std::io::SeekFrom::Start(kept)).map(|_| ()))
        .with_context(|| format!("cannot write --reject-file {}", path.display()))?;
    Ok(file)
}

/// The length of the first `lines` lines of a reject file (each rejected row is one line).
fn reject_lines_prefix(file: &mut File, path: &Path, lines: u64) -> Result<u64> {
    let mut text = Vec::new();
    file.read_to_end(&mut text)
        .with_context(|| format!("cannot read --reject-file {}", path.display()))?;
    let mut end = 0usize;
    for _ in 0..lines {
        match text[end..].iter().position(|&b| b == b'\n') {
            Some(i) => end += i + 1,
            None => bail!(
                "--reject-file {} lists fewer rows than the {lines} the interrupted run rejected: give the reject file of that run",
                path.display()
            ),
        }
    }
    Ok(end as u64)
}

/// A rejected row's original form in the reject file.
enum RawData {
    /// JSON text, written as is.
    Json(String),
    /// Text that is not JSON (a broken JSONL line).
    Text(String),
    /// A JSON value.
    Value(Value),
}

impl From<Value> for RawData {
    fn from(value: Value) -> Self {
        RawData::Value(value)
    }
}
