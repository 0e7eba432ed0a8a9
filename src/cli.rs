//! Command-line arguments, as parsed by clap. `convert::ConvertConfig` turns them into a
//! validated configuration.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

/// Turn datasets into files that Milvus and Zilliz Cloud can bulk-import.
#[derive(Debug, Parser)]
#[command(name = "bulkwriter", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Convert rows (JSON or JSONL) into NumPy, Parquet, JSON, JSONL or CSV import files.
    ///
    /// Every row is checked against the schema; the first bad row stops the run with an
    /// error naming the file, row and field. On success a JSON manifest is printed on
    /// stdout: {"data_path", "batch_files", "rows", "segments", "format",
    /// "import_options"}, where batch_files is exactly the "files" list of a Milvus import
    /// request and import_options its "options" (the CSV sep/nullkey, when not the default).
    ///
    /// Examples:
    ///   bulkwriter convert --schema schemas/medium_articles.json \
    ///     --input fixtures/medium_articles.json --format parquet --output out/
    ///   bulkwriter convert --schema schemas/medium_articles.json \
    ///     --input fixtures/medium_articles.json --format csv --csv-sep tab --csv-null NULL \
    ///     --output out/
    Convert(ConvertArgs),
}

/// Arguments of `bulkwriter convert`.
#[derive(Debug, clap::Args)]
pub struct ConvertArgs {
    /// Collection schema: the JSON of pymilvus's CollectionSchema.to_dict(), or of Milvus's
    /// REST v2 collections/describe (e.g. schemas/medium_articles.json).
    #[arg(long, value_name = "FILE")]
    pub schema: PathBuf,

    /// Rows to convert: JSONL (one object per line) or JSON (a list of objects, or
    /// {"rows": [...]}, as in Milvus's import examples). Read as a stream.
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,

    /// How to read --input; `auto` goes by the extension (.jsonl/.ndjson → jsonl, .json → json).
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,

    /// Output file type.
    #[arg(long, value_enum)]
    pub format: OutputFormat,

    /// CSV field separator: one character, or `tab`. Milvus needs the same value as the
    /// import option "sep", which the manifest lists under import_options.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub csv_sep: String,

    /// CSV text of a null value (default: the empty cell). Milvus needs the same value as
    /// the import option "nullkey", which the manifest lists under import_options. A value
    /// equal to it in a nullable or default-valued field is an error, since Milvus would
    /// read it as null.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub csv_null: String,

    /// Where segments go: <output>/<uuid>/. A local directory (created if missing), or
    /// s3://bucket/prefix (also any S3-compatible store via --storage-option endpoint=...),
    /// gs://bucket/prefix, az://container/prefix or oss://bucket/prefix (Aliyun OSS).
    /// Credentials come from the cloud's environment variables (AWS_*, GOOGLE_*, AZURE_*,
    /// OSS_*) or --storage-option.
    #[arg(long, value_name = "DIR|URL")]
    pub output: String,

    /// NumPy/Parquet segments that may be uploading while the next one is read and encoded;
    /// the run waits beyond this, which bounds memory to about (N + 1) × chunk size.
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..))]
    pub segments_in_flight: u16,

    /// A setting of the remote store, KEY=VALUE; repeatable. Keys are object_store's for the
    /// scheme (endpoint, region, access_key_id, secret_access_key, allow_http,
    /// virtual_hosted_style_request, account_name, access_key, service_account, ...), plus
    /// max_retries and retry_timeout (e.g. 30s) for retries of transient errors. Unknown keys
    /// are an error. Example: --storage-option endpoint=http://127.0.0.1:9000
    #[arg(long = "storage-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub storage_options: Vec<(String, String)>,

    /// Close a segment once its encoded size passes this (e.g. 128MiB, 512MB, 1GiB, 4096).
    /// MB and MiB both mean 1024×1024 bytes, as in pymilvus.
    #[arg(long, value_name = "SIZE", default_value = "128MiB")]
    pub chunk_size: String,
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err("expected KEY=VALUE".to_string()),
    }
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// From the file extension.
    Auto,
    /// One JSON object per line.
    Jsonl,
    /// A JSON list of objects, or {"rows": [...]}.
    Json,
}

/// Output file types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// One <field>.npy per field and segment: <uuid>/<n>/<field>.npy.
    Numpy,
    /// One Parquet file per segment: <uuid>/<n>.parquet.
    Parquet,
    /// One {"rows": [...]} document per segment: <uuid>/<n>.json.
    Json,
    /// One row object per line: <uuid>/<n>.jsonl (read by Milvus 2.6.5 and later).
    Jsonl,
    /// A header and one row per line: <uuid>/<n>.csv (read by Milvus 2.5 and later).
    Csv,
}
