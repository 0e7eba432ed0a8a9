//! Command-line arguments, as parsed by clap. `config` turns them into the libraries'
//! validated options. Formats and the bad-row policy are the libraries' own types, parsed
//! from the names they define.

use std::path::PathBuf;

use bulkwriter_convert::{FileType, OnError};
use bulkwriter_input::InputFormat;
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};

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
    /// Convert a dataset into NumPy, Parquet, JSON, JSONL or CSV import files.
    ///
    /// Inputs: JSONL, JSON, CSV/TSV, Parquet, a NumPy folder (<field>.npy files), and vector
    /// dumps (.fvecs, .bvecs, .ivecs, a 2-D .npy) for --vector-field. Every row is checked
    /// against the schema. By default the first bad row stops the run with an error naming
    /// the file, line or row, and field; with --on-error skip bad rows go to --reject-file
    /// with their reason. A progress bar is drawn on stderr when it is a terminal. On success
    /// a JSON manifest is printed on stdout: {"data_path", "data_url", "batch_files",
    /// "batch_urls", "rows", "rejected", "segments", "format", "import_options"}, where
    /// batch_files is exactly the "files" list of a Milvus import request and import_options
    /// its "options" (the CSV sep/nullkey, when not the default).
    ///
    /// Examples:
    ///   bulkwriter convert --schema schemas/medium_articles.json \
    ///     --input fixtures/medium_articles.json --format parquet --output out/
    ///   bulkwriter convert --schema schema.json --input 'data/*.parquet' \
    ///     --format numpy --output s3://bucket/imports --on-error skip --reject-file bad.jsonl
    ///   bulkwriter convert --schema schema.json --input sift_base.fvecs \
    ///     --vector-field vector --id-start 0 --format parquet --output out/
    #[command(verbatim_doc_comment)]
    Convert(Box<ConvertArgs>),

    /// Check a dataset against a schema without writing anything.
    ///
    /// Reads the inputs exactly as convert does and reports every bad row (file, line or
    /// row, field, reason) on stderr, then a JSON report on stdout: {"rows", "accepted",
    /// "rejected"}. Exits with 1 if any row is bad.
    ///
    /// Example:
    ///   bulkwriter validate --schema schemas/medium_articles.json \
    ///     --input fixtures/medium_articles.json
    #[command(verbatim_doc_comment)]
    Validate(Box<ValidateArgs>),

    /// Write a schema: a template from a field list, or one inferred from a data sample.
    #[command(subcommand)]
    Schema(SchemaCommand),

    /// Merge the runs of many workers (convert --shard I/N, Spark tasks) into one import
    /// plan: their file groups split into requests within the server's limits.
    ///
    /// RUN is a run's manifest.json, a run's folder, a folder (or bucket prefix) of runs
    /// (every <run>/manifest.json one level below), or a local glob of these. Refused: a run
    /// that did not finish, a run or file given twice, and shards of a --shard split that
    /// are missing or given twice. Prints (or writes to --output) the plan: {"requests":
    /// [{"groups": [{"files", "urls", "rows", "bytes"}], "rows", "bytes"}], "options",
    /// "groups", "rows", "bytes", "runs"}. `bulkwriter import create --manifest PLAN` sends
    /// its requests.
    ///
    /// Examples:
    ///   bulkwriter plan out/ --output plan.json
    ///   bulkwriter plan s3://bucket/imports/ --storage-option region=eu-west-1 \
    ///     --max-files-per-request 1
    #[command(verbatim_doc_comment)]
    Plan(PlanArgs),

    /// Start, watch and list bulk-import jobs on Milvus or Zilliz Cloud.
    ///
    /// Self-hosted Milvus: --uri (MILVUS_URI), --token (MILVUS_TOKEN: a token or
    /// user:password), --db-name (MILVUS_DB_NAME). Zilliz Cloud: --api-key (ZILLIZ_API_KEY),
    /// --cluster-id (ZILLIZ_CLUSTER_ID), --cloud-endpoint (ZILLIZ_CLOUD_ENDPOINT).
    ///
    /// Examples:
    ///   bulkwriter import create --uri http://127.0.0.1:19530 --collection articles \
    ///     --manifest manifest.json --wait
    ///   bulkwriter import status 4567 --wait
    ///   bulkwriter import list --collection articles
    #[command(subcommand, verbatim_doc_comment)]
    Import(Box<ImportCommand>),
}

/// Arguments of `bulkwriter plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// The runs: manifests, run folders, folders of runs, or globs.
    #[arg(value_name = "RUN", required = true, num_args = 1..)]
    pub runs: Vec<String>,
    /// Where the plan goes (default: standard output).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// A setting of the object store the runs are in, KEY=VALUE as for convert's
    /// --storage-option; repeatable.
    #[arg(long = "storage-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub storage_options: Vec<(String, String)>,
    /// The server's limits.
    #[command(flatten)]
    pub limits: ImportLimitArgs,
    /// Succeed when the runs hold no row (by default that is an error).
    #[arg(long)]
    pub allow_empty: bool,
}

/// `bulkwriter import ...`
#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a convert manifest's files (or explicit file groups): planned into requests
    /// within the server's limits, sent in order with at most --max-jobs-in-flight jobs
    /// running; prints {"jobs": [{"request", "job_id", "state", ...}]}.
    ///
    /// The manifest is what `bulkwriter convert` printed, or a run's manifest.json (which
    /// also gives each group's rows and bytes): its batch_files groups go to Milvus's
    /// "files" (Zilliz Cloud: its batch_urls to "objectUrls", or with --volume its
    /// batch_files to "dataPaths"), at most --max-files-per-request groups a request, and
    /// its import_options (CSV sep/nullkey) to "options". Each job's id is recorded in a
    /// state file next to the manifest (<manifest>.import.json, or --state), so running the
    /// same command again goes on and never sends a request twice. A create that times out
    /// or gets a 5xx is sent again only if no job of the collection reads its files.
    ///
    /// Examples:
    ///   bulkwriter convert ... > manifest.json
    ///   bulkwriter import create --uri http://127.0.0.1:19530 --collection articles \
    ///     --manifest manifest.json --wait
    ///   bulkwriter import create --collection articles --manifest manifest.json --dry-run
    ///   bulkwriter import create --collection articles --manifest manifest.json \
    ///     --no-auto-commit --wait --verify
    #[command(verbatim_doc_comment)]
    Create(Box<ImportCreateArgs>),
    /// Show a job's state and progress; with --wait, follow it until it completes or fails
    /// (exit 1 with the server's reason if it fails).
    ///
    /// Examples:
    ///   bulkwriter import status 448761 --uri http://127.0.0.1:19530
    ///   bulkwriter import status 448761 --wait --poll-interval 5s
    #[command(verbatim_doc_comment)]
    Status(ImportStatusArgs),
    /// List import jobs (all pages), optionally of one collection; prints
    /// [{"job_id", "collection_name", "state", "progress", "reason"}].
    ///
    /// Examples:
    ///   bulkwriter import list --uri http://127.0.0.1:19530
    ///   bulkwriter import list --collection articles --page-size 50
    #[command(verbatim_doc_comment)]
    List(ImportListArgs),
    /// Commit a two-phase job (created with --no-auto-commit) once it is Uncommitted: its
    /// rows become visible.
    Commit(ImportJobIdArgs),
    /// Abort a two-phase job (created with --no-auto-commit): none of its rows become visible.
    Abort(ImportJobIdArgs),
}

/// A job of `import commit` or `import abort`.
#[derive(Debug, Args)]
pub struct ImportJobIdArgs {
    /// The job id `import create` printed.
    pub job_id: String,
    /// The API.
    #[command(flatten)]
    pub target: ImportTargetArgs,
}

/// Where the import API is and how to sign in.
#[derive(Debug, Args)]
#[command(next_help_heading = "Import target")]
pub struct ImportTargetArgs {
    /// Self-hosted Milvus URI, e.g. http://127.0.0.1:19530.
    #[arg(long, env = "MILVUS_URI")]
    pub uri: Option<String>,
    /// Milvus token, or user:password.
    #[arg(long, env = "MILVUS_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Database name.
    #[arg(long, env = "MILVUS_DB_NAME")]
    pub db_name: Option<String>,
    /// Zilliz Cloud API key (selects Zilliz Cloud).
    #[arg(long, env = "ZILLIZ_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Zilliz Cloud cluster id.
    #[arg(long, env = "ZILLIZ_CLUSTER_ID")]
    pub cluster_id: Option<String>,
    /// Zilliz Cloud API endpoint.
    #[arg(long, env = "ZILLIZ_CLOUD_ENDPOINT", default_value = bulkwriter_import::ZILLIZ_CLOUD_ENDPOINT)]
    pub cloud_endpoint: String,
    /// Zilliz Cloud project id (project databases).
    #[arg(long, env = "ZILLIZ_PROJECT_ID")]
    pub project_id: Option<String>,
    /// Zilliz Cloud region id (project databases).
    #[arg(long, env = "ZILLIZ_REGION_ID")]
    pub region_id: Option<String>,
    /// Timeout of each request.
    #[arg(long, value_name = "DURATION", default_value = "30s")]
    pub request_timeout: String,
    /// Retries of a request after a connection failure, timeout, 429 or 5xx answer.
    #[arg(long, value_name = "N", default_value_t = 3)]
    pub retries: u32,
    /// An extra CA certificate (PEM) to trust; TLS certificates are always verified.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<PathBuf>,
}

/// What to import into, and how to follow the job.
#[derive(Debug, Args)]
#[command(next_help_heading = "Import job")]
pub struct ImportJobArgs {
    /// The collection to import into.
    #[arg(long, value_name = "NAME")]
    pub collection: Option<String>,
    /// A partition (not for partition-key collections).
    #[arg(long, value_name = "NAME")]
    pub partition: Option<String>,
    /// An extra import option, KEY=VALUE (e.g. timeout=300s); repeatable.
    #[arg(long = "import-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub import_options: Vec<(String, String)>,
    /// Zilliz Cloud: access key of the bucket holding the files.
    #[arg(long, env = "ZILLIZ_OBJECT_ACCESS_KEY", hide_env_values = true)]
    pub access_key: Option<String>,
    /// Zilliz Cloud: secret key of the bucket holding the files.
    #[arg(long, env = "ZILLIZ_OBJECT_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Zilliz Cloud: STS session token for the bucket.
    #[arg(long, env = "ZILLIZ_OBJECT_SESSION_TOKEN", hide_env_values = true)]
    pub session_token: Option<String>,
    /// Zilliz Cloud: import from this volume (the manifest's batch_files are its paths).
    #[arg(long, value_name = "NAME")]
    pub volume: Option<String>,
    /// Follow the jobs until they complete or fail.
    #[arg(long)]
    pub wait: bool,
    /// How often --wait asks for progress.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub poll_interval: String,
    /// The server's limits a plan keeps to.
    #[command(flatten)]
    pub limits: ImportLimitArgs,
    /// Jobs running at once; the next request waits for one to end (Milvus caps jobs at
    /// dataCoord.import.maxImportJobNum, 1024).
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..))]
    pub max_jobs_in_flight: u16,
    /// Two-phase import: send options.auto_commit = "false", so each job stops at
    /// Uncommitted; with --wait it is then committed (see --verify), else commit or abort it
    /// with `bulkwriter import commit|abort JOB`.
    #[arg(long)]
    pub no_auto_commit: bool,
    /// With --no-auto-commit: commit a job only if it imported exactly the rows the manifest
    /// lists; otherwise abort it and fail.
    #[arg(long, requires = "no_auto_commit")]
    pub verify: bool,
    /// Print each request's body exactly as it would be sent (secrets as ***) and send
    /// nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// The server's import limits that requests are planned within (`import create`, `plan`,
/// `convert --import`).
#[derive(Debug, Args)]
pub struct ImportLimitArgs {
    /// File groups per request: Milvus's dataCoord.import.maxImportFileNumPerReq (1024;
    /// Milvus 2.3 takes 1).
    #[arg(long, value_name = "N", default_value_t = bulkwriter_import::plan::MAX_FILES_PER_REQUEST, value_parser = clap::value_parser!(usize))]
    pub max_files_per_request: usize,
    /// The largest file (or NumPy segment, its files together) the server reads: Milvus's
    /// dataNode.import.maxImportFileSizeInGB (16 GiB). A larger group is refused before
    /// anything is sent, and convert refuses a --chunk-size above it before it starts.
    #[arg(long, value_name = "SIZE", default_value = "16GiB", value_parser = bulkwriter_writer::parse_size)]
    pub max_file_size: u64,
}

impl ImportLimitArgs {
    /// The limits as the planner takes them.
    pub fn limits(&self) -> bulkwriter_import::plan::Limits {
        bulkwriter_import::plan::Limits {
            max_files_per_request: self.max_files_per_request,
            max_file_size: self.max_file_size,
        }
    }
}

/// Arguments of `bulkwriter import create`.
#[derive(Debug, Args)]
pub struct ImportCreateArgs {
    /// The manifest `bulkwriter convert` printed (- for standard input).
    #[arg(long, value_name = "FILE", required_unless_present = "file_group")]
    pub manifest: Option<String>,
    /// A group of files imported together, comma-separated (all .npy files of a segment,
    /// or one Parquet/JSON/CSV file); repeatable. Instead of --manifest.
    #[arg(long, value_name = "PATH[,PATH...]", conflicts_with = "manifest")]
    pub file_group: Vec<String>,
    /// The API.
    #[command(flatten)]
    pub target: ImportTargetArgs,
    /// The job.
    #[command(flatten)]
    pub job: ImportJobArgs,
    /// Where the jobs are recorded (default: <manifest>.import.json beside --manifest).
    #[arg(long, value_name = "FILE")]
    pub state: Option<std::path::PathBuf>,
}

/// Arguments of `bulkwriter import status`.
#[derive(Debug, Args)]
pub struct ImportStatusArgs {
    /// The job id `import create` printed.
    pub job_id: String,
    /// Follow the job until it completes or fails.
    #[arg(long)]
    pub wait: bool,
    /// How often --wait asks for progress.
    #[arg(long, value_name = "DURATION", default_value = "2s")]
    pub poll_interval: String,
    /// The API.
    #[command(flatten)]
    pub target: ImportTargetArgs,
}

/// Arguments of `bulkwriter import list`.
#[derive(Debug, Args)]
pub struct ImportListArgs {
    /// Only jobs of this collection.
    #[arg(long, value_name = "NAME")]
    pub collection: Option<String>,
    /// Jobs per request.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub page_size: u32,
    /// Pages to read at most.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub max_pages: u32,
    /// The API.
    #[command(flatten)]
    pub target: ImportTargetArgs,
}

/// `bulkwriter schema ...`
#[derive(Debug, Subcommand)]
pub enum SchemaCommand {
    /// Print a schema for the given fields, to edit and pass to --schema.
    ///
    /// Each --field is NAME:TYPE[:PARAM...].
    ///
    /// TYPE is a Milvus type: BOOL, INT8, INT16, INT32, INT64, FLOAT, DOUBLE, VARCHAR, TEXT,
    /// JSON, ARRAY, TIMESTAMPTZ, GEOMETRY, FLOAT_VECTOR, BINARY_VECTOR, FLOAT16_VECTOR,
    /// BFLOAT16_VECTOR, INT8_VECTOR, SPARSE_FLOAT_VECTOR.
    ///
    /// PARAMs: primary, auto_id, nullable, partition_key, dim=N (vectors), max_length=N
    /// (VARCHAR, and ARRAY of VARCHAR), max_capacity=N and element=TYPE (ARRAY),
    /// default=VALUE (JSON, or plain text for a string field). The schema is checked as
    /// --schema checks it before it is printed.
    ///
    /// Example:
    ///   bulkwriter schema template --field id:INT64:primary \
    ///     --field title:VARCHAR:max_length=512 --field vector:FLOAT_VECTOR:dim=768 \
    ///     --field claps:INT64:default=0 --dynamic
    #[command(verbatim_doc_comment)]
    Template {
        /// A field: NAME:TYPE[:PARAM...]; repeat for every field, in order.
        #[arg(long = "field", value_name = "NAME:TYPE[:PARAM...]", required = true)]
        fields: Vec<String>,
        /// Turn on the dynamic field ($meta).
        #[arg(long)]
        dynamic: bool,
    },
    /// Fetch a collection's schema from Milvus or Zilliz Cloud (REST collections/describe),
    /// to pass to --schema or edit.
    ///
    /// Example:
    ///   bulkwriter schema fetch --uri http://127.0.0.1:19530 --collection articles > schema.json
    #[command(verbatim_doc_comment)]
    Fetch {
        /// The collection.
        #[arg(long, value_name = "NAME")]
        collection: String,
        /// The API.
        #[command(flatten)]
        target: Box<ImportTargetArgs>,
    },
    /// Infer a starting schema from the first rows of a JSONL, JSON, CSV or Parquet file.
    ///
    /// Integers become INT64, other numbers DOUBLE, strings VARCHAR (max_length twice the
    /// longest seen, at least 64 bytes), lists of numbers of one length FLOAT_VECTOR, other
    /// lists ARRAY, objects JSON; a column with nulls is nullable. The first integer or
    /// string column named id, pk or *_id becomes the primary key. Review the result: a
    /// sample cannot tell everything.
    ///
    /// Example:
    ///   bulkwriter schema infer --input fixtures/medium_articles.json > schema.json
    #[command(verbatim_doc_comment)]
    Infer {
        /// The sample file.
        #[arg(long, value_name = "FILE")]
        input: String,
        /// How to read it (default: by extension).
        #[arg(long, value_parser = infer_format_parser())]
        input_format: Option<InputFormat>,
        /// Rows to look at.
        #[arg(long, value_name = "N", default_value_t = 1000)]
        sample_rows: usize,
    },
}

/// Arguments of `bulkwriter convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// Where and how to read.
    #[command(flatten)]
    pub input: InputArgs,

    /// Output file type.
    #[arg(long, value_parser = file_type_parser(), ignore_case = true)]
    pub format: FileType,

    /// Where segments go: <output>/<uuid>/. A local directory (created if missing), or
    /// s3://bucket/prefix (also any S3-compatible store via --storage-option endpoint=...),
    /// gs://bucket/prefix, az://container/prefix or oss://bucket/prefix (Aliyun OSS).
    /// Credentials come from the cloud's environment variables (AWS_*, GOOGLE_*, AZURE_*,
    /// OSS_*) or --storage-option. <output>/<uuid>/manifest.json lists the complete segments
    /// (rows, sizes, CRC-32C checksums) at every moment of the run.
    #[arg(long, value_name = "DIR|URL", required_unless_present = "resume")]
    pub output: Option<String>,

    /// Continue a run that was interrupted, killed or stopped by an error: give its folder
    /// (<output>/<uuid>, as the interruption message and the manifest's data_url name it)
    /// and the same inputs, schema and options. Files of the segment that was being written
    /// are removed; the input rows the listed segments hold are skipped; the run goes on
    /// from the next segment, so every input row is written once.
    #[arg(long, value_name = "DATA_PATH")]
    pub resume: Option<String>,

    /// Name the run's folder ID (<output>/ID/) instead of a random uuid, so that an
    /// orchestrator can find and clean its files: letters, digits, '-', '_' and '.'. A folder
    /// that already holds a run is refused; give a retried attempt a new id.
    #[arg(long, value_name = "ID", conflicts_with = "resume")]
    pub run_id: Option<String>,

    /// A setting of the remote store, KEY=VALUE; repeatable. Keys are object_store's for the
    /// scheme (endpoint, region, access_key_id, secret_access_key, allow_http,
    /// virtual_hosted_style_request, account_name, access_key, service_account, ...), plus
    /// max_retries and retry_timeout (e.g. 30s) for retries of transient errors, and
    /// bearer_token for GCS. Unknown keys are an error. Example:
    /// --storage-option endpoint=http://127.0.0.1:9000
    #[arg(long = "storage-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub storage_options: Vec<(String, String)>,

    /// Close a segment once its encoded size passes this (e.g. 128MiB, 512MB, 1.5GB, 4096).
    /// MB and MiB both mean 1024×1024 bytes, as in pymilvus. The size is measured before
    /// Parquet's compression, so Parquet files come out somewhat smaller; Milvus reads at most
    /// 16 GiB per file (--max-file-size).
    #[arg(long, value_name = "SIZE", default_value = "128MiB", value_parser = bulkwriter_writer::parse_size)]
    pub chunk_size: u64,

    /// Cores the run uses: N parsing and encoding threads, and on Linux every thread of the
    /// run kept on N cores (default: every core).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// NumPy/Parquet segments that may be uploading while the next one is read and encoded;
    /// the run waits beyond this, so memory stays near (N + 1) × chunk size.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub segments_in_flight: u16,

    /// CSV output separator: one character, or `tab`. Milvus needs the same value as the
    /// import option "sep", which the manifest lists under import_options.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub csv_sep: String,

    /// CSV output text of a null value (default: the empty cell). Milvus needs the same value
    /// as the import option "nullkey", which the manifest lists under import_options. A value
    /// equal to it in a nullable or default-valued field is an error, since Milvus would
    /// read it as null.
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub csv_null: String,

    /// Submit the written files to an import job when the conversion succeeds (see
    /// `bulkwriter import create`); the manifest then has "import": {"jobs": [{"job_id", ...}]}.
    #[arg(long = "import", requires = "collection")]
    pub submit_import: bool,

    /// The API (with --import).
    #[command(flatten)]
    pub import_target: ImportTargetArgs,

    /// The job (with --import).
    #[command(flatten)]
    pub import_job: ImportJobArgs,
}

/// Arguments of `bulkwriter validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Where and how to read.
    #[command(flatten)]
    pub input: InputArgs,
    /// The API, for --schema milvus:COLLECTION.
    #[command(flatten)]
    pub target: ImportTargetArgs,
}

/// How inputs are found, read, mapped and checked (shared by convert and validate).
#[derive(Debug, Args)]
pub struct InputArgs {
    /// Collection schema: the JSON of pymilvus's CollectionSchema.to_dict(), or of Milvus's
    /// REST v2 collections/describe (e.g. schemas/medium_articles.json); or
    /// milvus:COLLECTION to fetch it from the server (--uri/--token, MILVUS_URI/MILVUS_TOKEN,
    /// or the Zilliz Cloud options).
    #[arg(long, value_name = "FILE|milvus:COLLECTION")]
    pub schema: String,

    /// Data to read: one or more files after --input (an unquoted shell glob works), or
    /// --input repeated. Globs ('data/*.parquet') and - (standard input, with
    /// --input-format) are accepted; a file named twice is read once. JSONL and JSON are
    /// streamed, never loaded whole.
    #[arg(long, value_name = "FILE|DIR|GLOB|-", required = true, num_args = 1..)]
    pub input: Vec<String>,

    /// A setting of the object store inputs are read from (s3://, gs://, az://, oss://
    /// inputs), KEY=VALUE as for --storage-option; repeatable. Without it, convert reads with
    /// the output's --storage-option settings.
    #[arg(long = "input-storage-option", value_name = "KEY=VALUE", value_parser = parse_key_value)]
    pub input_storage_options: Vec<(String, String)>,

    /// Read only part I of N of the inputs (I counts from 0), so N workers each convert one
    /// part: together the N parts hold every row exactly once. Files are split by byte range
    /// (JSONL lines and CSV records by where they start, Parquet by row group); compressed
    /// files, JSON documents, NumPy folders and vector dumps go whole to one part. The same
    /// inputs always split the same way. A part may be empty: its run then holds no rows.
    /// Merge the parts' manifests with `bulkwriter plan`. Duplicate primary keys are found
    /// within a part only.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<bulkwriter_convert::Shard>,

    /// Succeed when the inputs hold no row (by default an empty input is an error: an
    /// upstream job that produced nothing should not look like a success).
    #[arg(long)]
    pub allow_empty: bool,

    /// How to read the inputs; by default from each file's extension (.jsonl/.ndjson, .json,
    /// .csv/.tsv, .parquet, .npy, .fvecs, .bvecs, .ivecs; a directory is a NumPy folder).
    #[arg(long, value_parser = input_format_parser(), ignore_case = true)]
    pub input_format: Option<InputFormat>,

    /// Rename an input column to a schema field, INPUT=FIELD; repeatable.
    #[arg(long = "map", value_name = "INPUT=FIELD", value_parser = parse_key_value)]
    pub mapping: Vec<(String, String)>,

    /// Drop input columns that are not in the schema (when the dynamic field is off) instead
    /// of stopping; they are listed once on stderr.
    #[arg(long)]
    pub ignore_unknown: bool,

    /// What to do with a bad row: stop (the default) or skip it, writing it to
    /// --reject-file with its reason.
    #[arg(long, default_value = "stop", value_parser = on_error_parser())]
    pub on_error: OnError,

    /// A row whose primary key an earlier row had (Milvus would keep both): error (a bad row,
    /// under --on-error), skip (left out, counted as rejected, in the --reject-file if given)
    /// or keep (no check). Auto-id keys are not checked. The check holds every key in memory:
    /// 10 to 18 bytes an INT64 key, 19 to 34 a VARCHAR key (1 to 1.8 GB for 10^8 INT64 keys).
    #[arg(long, value_name = "POLICY", default_value = "error", value_parser = clap::builder::ValueParser::new(parse_duplicate_policy))]
    pub on_duplicate_key: bulkwriter_convert::OnDuplicateKey,

    /// Where skipped rows go: one JSON object per line, {"file", "row", "line", "field",
    /// "error", "data"}, "data" being the row as read.
    #[arg(long, value_name = "FILE")]
    pub reject_file: Option<PathBuf>,

    /// Stop once more than N rows were rejected.
    #[arg(long, value_name = "N")]
    pub max_errors: Option<u64>,

    /// CSV input separator: one character, or `tab` (default: `,`; a tab for .tsv files).
    #[arg(long, value_name = "CHAR")]
    pub input_sep: Option<String>,

    /// CSV input text of a null cell (in nullable or default-valued fields).
    #[arg(long, value_name = "TEXT", default_value = "")]
    pub input_null: String,

    /// The vector field that .fvecs/.bvecs/.ivecs/.npy vector files fill.
    #[arg(long, value_name = "FIELD")]
    pub vector_field: Option<String>,

    /// First primary key generated for vector files (then +1 per vector), unless the key is
    /// auto-id.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub id_start: i64,

    /// Decode a Parquet binary column (vectors stored as `v.tobytes()`) into the float vector
    /// FIELD: f32le (float32), f16le (float16) or bf16le (bfloat16) values, little-endian;
    /// repeatable. Without it such a column is refused, never read one number per byte.
    #[arg(long = "vector-bytes", value_name = "FIELD=LAYOUT", value_parser = parse_vector_bytes)]
    pub vector_bytes: Vec<(String, bulkwriter_input::VectorBytes)>,

    /// No progress bar and no summary on stderr.
    #[arg(long, short)]
    pub quiet: bool,

    /// How messages on stderr are written: text, or json (one object per line, for
    /// pipelines).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

fn parse_duplicate_policy(text: &str) -> Result<bulkwriter_convert::OnDuplicateKey, String> {
    text.parse()
}

fn parse_vector_bytes(text: &str) -> Result<(String, bulkwriter_input::VectorBytes), String> {
    let (field, layout) = parse_key_value(text)?;
    Ok((field, layout.parse()?))
}

fn parse_key_value(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_string(), value.to_string()))
        }
        _ => Err("expected KEY=VALUE".to_string()),
    }
}

/// `--input-format`: the input crate's formats by name.
fn input_format_parser() -> impl TypedValueParser<Value = InputFormat> {
    formats_parser(InputFormat::ALL.iter().map(|(format, _)| *format))
}

/// `schema infer --input-format`: the formats a schema can be inferred from.
fn infer_format_parser() -> impl TypedValueParser<Value = InputFormat> {
    formats_parser(
        InputFormat::ALL
            .iter()
            .map(|(f, _)| *f)
            .filter(|f| f.can_infer()),
    )
}

fn formats_parser(
    formats: impl Iterator<Item = InputFormat>,
) -> impl TypedValueParser<Value = InputFormat> {
    let help = |format: InputFormat| {
        InputFormat::ALL
            .iter()
            .find(|(f, _)| *f == format)
            .map_or("", |(_, help)| *help)
    };
    PossibleValuesParser::new(formats.map(|f| PossibleValue::new(f.name()).help(help(f))))
        .map(|name| name.parse::<InputFormat>().unwrap_or(InputFormat::Jsonl))
}

/// `--format`: the writer's file types by name.
fn file_type_parser() -> impl TypedValueParser<Value = FileType> {
    PossibleValuesParser::new(FileType::ALL.map(|t| {
        let value = PossibleValue::new(t.name()).help(t.describe());
        // pymilvus's NPY, and the extension, for NUMPY.
        if t == FileType::Numpy {
            value.alias("npy")
        } else {
            value
        }
    }))
    .map(|name| name.parse::<FileType>().unwrap_or(FileType::Parquet))
}

/// `--on-error`: the bad-row policy.
fn on_error_parser() -> impl TypedValueParser<Value = OnError> {
    PossibleValuesParser::new([
        PossibleValue::new("stop").help("Stop at the first bad row"),
        PossibleValue::new("skip").help("Skip bad rows; write them to --reject-file"),
    ])
    .map(|name| {
        if name == "skip" {
            OnError::Skip
        } else {
            OnError::Stop
        }
    })
}

/// How stderr messages are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// `--shard I/N`.
fn parse_shard(text: &str) -> Result<bulkwriter_convert::Shard, String> {
    text.parse()
}
