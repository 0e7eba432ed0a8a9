//! [`ConvertError`]: why a conversion run stopped. Messages name files, rows, fields and
//! values, never a command-line flag; a front end adds its own hints by matching the variant.

use std::path::PathBuf;

use bulkwriter_input::{InputError, RowPosition, VectorBytes};
use bulkwriter_writer::WriteError;

/// Why a conversion or validation run stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The schema file could not be read or is not a valid schema.
    #[error("{what} schema {path}")]
    Schema {
        /// `cannot read` or `invalid`.
        what: &'static str,
        /// The schema file.
        path: PathBuf,
        /// The cause.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An input could not be found or read (the input is named inside).
    #[error(transparent)]
    Input(#[from] InputError),
    /// The writer failed without reference to one input: opening the output, storing a
    /// segment, updating the manifest, resuming.
    #[error(transparent)]
    Write(Box<WriteError>),
    /// The writer refused a column or batch of this input.
    #[error("{file}: {source}")]
    WriteInput {
        /// The input.
        file: String,
        /// The writer's reason.
        source: Box<WriteError>,
    },
    /// A bad row stopped the run (the default policy).
    #[error("{file}: {position}{}: {message}", field_part(field))]
    BadRow {
        /// The input.
        file: String,
        /// The row (and line) in it.
        position: RowPosition,
        /// The field, empty when the row itself is unreadable.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An input column matches no field, the dynamic field is off and unknown columns are
    /// not ignored.
    #[error(
        "{file}: the input column '{column}' matches no field of the schema and the dynamic field is off"
    )]
    UnknownColumn {
        /// The input.
        file: String,
        /// The column, as the input names it.
        column: String,
    },
    /// An element of an array-of-struct field has a key that matches none of its sub-fields,
    /// and unknown keys are not ignored.
    #[error(
        "{file}: {}the struct field '{field}' has the key '{key}', which is none of its sub-fields ({sub_fields})",
        position.map(|p| format!("{p}: ")).unwrap_or_default()
    )]
    UnknownStructKey {
        /// The input.
        file: String,
        /// The row, for row inputs (a columnar input names the key in its schema).
        position: Option<RowPosition>,
        /// The struct field.
        field: String,
        /// The key.
        key: String,
        /// The sub-fields, comma-separated.
        sub_fields: String,
    },
    /// More rows were rejected than the limit allows.
    #[error("{file}: more than {max} rows were rejected (the error limit); the last: {last}")]
    TooManyRejected {
        /// The input.
        file: String,
        /// The limit.
        max: u64,
        /// The last rejected row: position, field and reason.
        last: String,
    },
    /// Vector bytes are to be decoded for a field that is not a float vector.
    #[error(
        "decoding {layout} vector bytes into '{field}' needs a FLOAT_VECTOR field, and the schema has {found}"
    )]
    VectorBytesField {
        /// The field named.
        field: String,
        /// The layout asked for.
        layout: VectorBytes,
        /// What the schema has under that name.
        found: String,
    },
    /// Bad rows are to be skipped, but no reject file keeps them.
    #[error(
        "skipping bad rows needs a reject file, so that every skipped row is kept with its reason"
    )]
    SkipWithoutRejectFile,
    /// Vector dumps are among the inputs, but no vector field was named.
    #[error(transparent)]
    NoVectorField(InputError),
    /// The reject file could not be created, read or written.
    #[error("cannot {action} the reject file {}: {source}", path.display())]
    RejectFile {
        /// `create`, `open`, `read` or `write`.
        action: &'static str,
        /// The reject file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A resumed run's reject file holds fewer rows than the interrupted run rejected.
    #[error(
        "the reject file {} lists fewer rows than the {rejected} the interrupted run rejected: give the reject file of that run",
        path.display()
    )]
    RejectFileShort {
        /// The reject file.
        path: PathBuf,
        /// Rows the interrupted run rejected.
        rejected: u64,
    },
    /// The folder given to resume is not `<output>/<uuid>`, or not under the output given.
    #[error("{data_path}: {reason}")]
    ResumeFolder {
        /// The folder given.
        data_path: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A resumed run was given other inputs than the interrupted one read.
    #[error("the interrupted run read {recorded}; this run was given {given}")]
    ResumeInputs {
        /// The inputs the interrupted run read, comma-separated.
        recorded: String,
        /// The inputs given now.
        given: String,
    },
    /// A resumed run was given another schema.
    #[error("the schema differs from the one the interrupted run used")]
    ResumeSchema,
    /// The inputs of a resumed run end before the point the interrupted run reached.
    #[error(
        "the inputs end {0} rows before the point the interrupted run had reached: they are not the inputs it read"
    )]
    ResumeInputsShort(u64),
    /// The inputs hold no row, and empty input is not allowed.
    #[error("the inputs hold no row ({files}): nothing was imported from them")]
    EmptyInput {
        /// The inputs, comma-separated.
        files: String,
    },
    /// The last step of a run failed.
    #[error("{what}: {source}")]
    Finishing {
        /// What was being done.
        what: &'static str,
        /// The writer's reason.
        source: Box<WriteError>,
    },
    /// The caller cancelled the run; the open segment was stored as a complete one.
    #[error(
        "interrupted after {input_rows} input rows: {rows} rows are in {segments} complete segment(s) under {data_url}, listed in its manifest.json"
    )]
    Interrupted {
        /// The run's folder.
        data_url: String,
        /// Input rows read (and written or rejected).
        input_rows: u64,
        /// Rows in complete segments.
        rows: u64,
        /// Complete segments.
        segments: usize,
        /// Whether the run can be resumed (not a validation).
        resumable: bool,
    },
    /// A run's manifest could not be found, read or parsed.
    #[error("{source_name}: {reason}")]
    RunManifest {
        /// The manifest, folder or pattern given.
        source_name: String,
        /// Why.
        reason: String,
    },
    /// The runs cannot be planned together.
    #[error(transparent)]
    Plan(#[from] bulkwriter_import::plan::PlanError),
    /// The run failed after it stored complete segments, which its manifest lists and a
    /// resumed run keeps.
    #[error(
        "{segments} complete segment(s) were written to {data_url} before the error (listed in its manifest.json)"
    )]
    Partial {
        /// Complete segments.
        segments: usize,
        /// The run's folder.
        data_url: String,
        /// Why the run stopped.
        source: Box<ConvertError>,
    },
}

pub(crate) fn field_part(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!(", field '{field}'")
    }
}

impl From<WriteError> for ConvertError {
    fn from(error: WriteError) -> Self {
        ConvertError::Write(Box::new(error))
    }
}

/// Results of conversion runs.
pub type Result<T, E = ConvertError> = std::result::Result<T, E>;
