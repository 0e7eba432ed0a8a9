//! `bulkwriter convert`: validated configuration and the conversion run.

use std::fs::File;
use std::io::BufReader;
use std::path::PathBuf;

use anyhow::{Context, Result, anyhow, bail};
use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, CsvOptions, FileType, WriteError, WriterOptions, parse_size};
use serde::Serialize;

use crate::cli::{ConvertArgs, InputFormat, OutputFormat};
use crate::input::{self, ReadError};

/// A checked `convert` request.
#[derive(Debug)]
pub struct ConvertConfig {
    schema: CollectionSchema,
    input: PathBuf,
    input_format: InputFormat,
    output: String,
    storage_options: Vec<(String, String)>,
    options: WriterOptions,
}

impl TryFrom<ConvertArgs> for ConvertConfig {
    type Error = anyhow::Error;

    fn try_from(args: ConvertArgs) -> Result<Self> {
        let text = std::fs::read_to_string(&args.schema)
            .with_context(|| format!("cannot read schema {}", args.schema.display()))?;
        let schema = CollectionSchema::from_json_str(&text)
            .with_context(|| format!("invalid schema {}", args.schema.display()))?;
        let input_format = match args.input_format {
            InputFormat::Auto => detect_format(&args.input)?,
            other => other,
        };
        let chunk_size = parse_size(&args.chunk_size).map_err(|e| anyhow!("--chunk-size: {e}"))?;
        let file_type = match args.format {
            OutputFormat::Numpy => FileType::Numpy,
            OutputFormat::Parquet => FileType::Parquet,
            OutputFormat::Json => FileType::Json,
            OutputFormat::Jsonl => FileType::Jsonl,
            OutputFormat::Csv => FileType::Csv,
        };
        let csv = CsvOptions::new(csv_separator(&args.csv_sep)?, args.csv_null)
            .map_err(|e| anyhow!("--csv-sep/--csv-null: {e}"))?;
        if file_type != FileType::Csv && csv != CsvOptions::default() {
            bail!("--csv-sep and --csv-null apply only to --format csv");
        }
        Ok(ConvertConfig {
            schema,
            input: args.input,
            input_format,
            output: args.output,
            storage_options: args.storage_options,
            options: WriterOptions::new(file_type)
                .with_chunk_size(chunk_size)
                .with_csv(csv)
                .with_segments_in_flight(args.segments_in_flight.into()),
        })
    }
}

/// The `--csv-sep` value: one character, `tab`, or the two characters `\t`.
fn csv_separator(text: &str) -> Result<char> {
    if text.eq_ignore_ascii_case("tab") || text == "\\t" {
        return Ok('\t');
    }
    let mut chars = text.chars();
    match (chars.next(), chars.next()) {
        (Some(c), None) => Ok(c),
        _ => bail!("--csv-sep {text:?}: give exactly one character, or `tab`"),
    }
}

fn detect_format(path: &std::path::Path) -> Result<InputFormat> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("jsonl" | "ndjson") => Ok(InputFormat::Jsonl),
        Some("json") => Ok(InputFormat::Json),
        _ => bail!(
            "cannot tell the format of {} from its extension: pass --input-format jsonl or json",
            path.display()
        ),
    }
}

/// What `convert` prints on stdout.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// `<output>/<uuid>`: a local path, or the bucket-relative key prefix.
    data_path: String,
    /// The full URL of data_path.
    data_url: String,
    /// The import request's `files` groups: local paths or bucket-relative keys.
    batch_files: Vec<Vec<String>>,
    /// The same files as full URLs (Zilliz Cloud's `objectUrls`).
    batch_urls: Vec<Vec<String>>,
    rows: u64,
    segments: usize,
    format: &'static str,
    /// The `options` of the import request: CSV `sep` and `nullkey` when not the default.
    import_options: std::collections::BTreeMap<String, String>,
}

/// Runs the conversion and returns the manifest.
pub fn run(config: ConvertConfig) -> Result<Manifest> {
    let file = File::open(&config.input)
        .with_context(|| format!("cannot open input {}", config.input.display()))?;
    let reader = BufReader::with_capacity(1 << 20, file);
    let file_type = config.options.file_type;
    let mut writer = BulkWriter::open(
        config.schema,
        &config.output,
        &config.storage_options,
        config.options,
    )?;

    let input_name = config.input.display().to_string();
    // Boxed: the error travels back through the reader's results.
    type RowFailure = Box<(WriteError, input::RowPosition)>;
    let on_row = |row, position: input::RowPosition| -> Result<(), RowFailure> {
        writer.append_row(&row).map_err(|e| Box::new((e, position)))
    };
    let result = match config.input_format {
        InputFormat::Jsonl => input::read_jsonl(reader, on_row),
        _ => input::read_json(reader, on_row),
    };
    match result {
        Ok(_) => {}
        Err(ReadError::Syntax(message)) => bail!("{input_name}: {message}"),
        Err(ReadError::Row(failure)) => {
            let (error, position) = *failure;
            let written = writer.batch_files().len();
            let mut message = match (&error, position.line) {
                (WriteError::Row { .. }, Some(line)) => {
                    format!("{input_name}: line {line}: {error}")
                }
                _ => format!("{input_name}: {error}"),
            };
            if written > 0 {
                message.push_str(&format!(
                    "\n({written} complete segment(s) were written to {} before this row)",
                    writer.data_path()
                ));
            }
            bail!(message);
        }
    }
    writer.commit().context("writing the last segment")?;
    if !writer.dropped_keys().is_empty() {
        let keys: Vec<&str> = writer.dropped_keys().iter().map(String::as_str).collect();
        eprintln!(
            "warning: keys not in the schema were dropped because the dynamic field is off: {}",
            keys.join(", ")
        );
    }
    Ok(Manifest {
        data_path: writer.data_path(),
        data_url: writer.data_url(),
        batch_files: writer.batch_files().to_vec(),
        batch_urls: writer.batch_urls(),
        rows: writer.total_row_count(),
        segments: writer.batch_files().len(),
        format: file_type.name(),
        import_options: writer.import_options(),
    })
}
