//! Arguments into the libraries' options, checked once: every flag's value is validated here
//! (or by its clap parser), so the run itself never sees a flag.

use std::collections::HashMap;

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use bulkwriter_convert::{
    ConvertOptions, CsvOptions, FileType, InputOptions, Target, WriterOptions, load_schema,
};
use bulkwriter_schema::CollectionSchema;
use serde_json::Value;

use crate::cli::{ConvertArgs, ImportJobArgs, ImportTargetArgs, InputArgs, LogFormat};

/// How stderr is written.
#[derive(Debug, Clone, Copy)]
pub struct Output {
    /// No bar and no summary.
    pub quiet: bool,
    /// Text or JSON lines.
    pub log_format: LogFormat,
}

/// A checked `convert` request.
#[derive(Debug)]
pub struct ConvertConfig {
    /// The conversion.
    pub options: ConvertOptions,
    /// How stderr is written.
    pub output: Output,
    /// `--import`: where to submit the written files.
    pub import: Option<(ImportTargetArgs, ImportJobArgs)>,
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

/// The schema `--schema` names: a file, or `milvus:COLLECTION` fetched from the server.
fn schema(spec: &str, target: Option<&ImportTargetArgs>) -> Result<(Value, CollectionSchema)> {
    let Some(collection) = spec.strip_prefix("milvus:") else {
        return Ok(load_schema(Path::new(spec))?);
    };
    let target =
        target.ok_or_else(|| anyhow!("--schema milvus:{collection} needs the server (--uri)"))?;
    let json = crate::import_cmd::fetch_schema(target, collection)
        .with_context(|| format!("--schema {spec}"))?;
    let schema = CollectionSchema::from_json_value(&json)?;
    Ok((json, schema))
}

/// The input options of convert and validate, and how stderr is written.
pub fn input_options(
    args: InputArgs,
    target: Option<&ImportTargetArgs>,
) -> Result<(InputOptions, Output)> {
    let (schema_json, schema) = schema(&args.schema, target)?;
    let (files, repeated) = bulkwriter_input::dedupe(bulkwriter_input::expand_with(
        &args.input,
        args.input_format,
        &args.input_storage_options,
    )?);
    if !repeated.is_empty() && args.log_format == LogFormat::Text {
        eprintln!(
            "warning: inputs named more than once are read once: {}",
            repeated.join(", ")
        );
    } else if !repeated.is_empty() {
        eprintln!(
            "{}",
            serde_json::json!({"level": "warning", "message": format!("inputs named more than once are read once: {}", repeated.join(", "))})
        );
    }
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
    let mut options = InputOptions {
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
        vector_bytes: args.vector_bytes.into_iter().collect(),
        on_duplicate_key: args.on_duplicate_key,
        allow_empty: args.allow_empty,
        shard: None,
    };
    if let Some(shard) = args.shard {
        options.take_shard(shard)?;
    }
    options.check()?;
    let output = Output {
        quiet: args.quiet,
        log_format: args.log_format,
    };
    Ok((options, output))
}

impl TryFrom<ConvertArgs> for ConvertConfig {
    type Error = anyhow::Error;

    fn try_from(args: ConvertArgs) -> Result<Self> {
        let csv = CsvOptions::new(separator("--csv-sep", &args.csv_sep)?, args.csv_null)
            .map_err(|e| anyhow!("--csv-sep/--csv-null: {e}"))?;
        if args.format != FileType::Csv && csv != CsvOptions::default() {
            bail!("--csv-sep and --csv-null apply only to --format csv");
        }
        let remote_output = args
            .output
            .as_deref()
            .or(args.resume.as_deref())
            .and_then(|o| bulkwriter_sink::location::OutputLocation::parse(o).ok())
            .is_some_and(|l| l.scheme != bulkwriter_sink::location::Scheme::Local);
        let target = match (args.resume, args.output) {
            (Some(data_path), output) => Target::resume(&data_path, output.as_deref())?,
            (None, Some(output)) => Target::New(output),
            (None, None) => bail!("give --output DIR|URL, or --resume DATA_PATH"),
        };
        if args.chunk_size > args.import_job.limits.max_file_size {
            bail!(
                "--chunk-size {} is above --max-file-size {}: Milvus reads at most that much per file (per NumPy segment), so such segments could not be imported",
                args.chunk_size,
                args.import_job.limits.max_file_size
            );
        }
        let mut input_args = args.input;
        // Inputs in a bucket are read with the output's store settings unless given their own.
        if input_args.input_storage_options.is_empty() && remote_output {
            input_args.input_storage_options = args.storage_options.clone();
        }
        let (input, output) = input_options(input_args, Some(&args.import_target))?;
        Ok(ConvertConfig {
            options: ConvertOptions {
                input,
                target,
                storage_options: args.storage_options,
                writer: WriterOptions {
                    run_id: args.run_id,
                    ..WriterOptions::new(args.format)
                        .with_chunk_size(args.chunk_size)
                        .with_csv(csv)
                        .with_segments_in_flight(args.segments_in_flight.into())
                },
            },
            output,
            import: args
                .submit_import
                .then_some((args.import_target, args.import_job)),
        })
    }
}
