//! The writer's error type: every row error names the row and the field.

use bulkwriter_schema::SchemaError;
use bulkwriter_sink::SinkError;

/// Why a row, a batch or a segment could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// The schema is not usable.
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// The schema has a field the chosen file type cannot hold; found before any file is
    /// written.
    #[error("field '{field}' cannot be written as {file_type}: {reason}")]
    Unsupported {
        /// The field.
        field: String,
        /// The file type.
        file_type: String,
        /// Why, and what to do instead.
        reason: String,
    },
    /// A row failed validation. `row` counts every row given to the writer, from 1.
    #[error("row {row}{}: {message}", field_context(.field))]
    Row {
        /// 1-based position among all rows appended to this writer.
        row: u64,
        /// The field (`$meta` for the dynamic field; empty when the row itself is wrong).
        field: String,
        /// What is wrong.
        message: String,
    },
    /// An Arrow column has a type that cannot be converted to its field.
    #[error("column '{field}': {message}")]
    Column {
        /// The field.
        field: String,
        /// What is wrong.
        message: String,
    },
    /// Encoding a segment failed.
    #[error("encoding segment {segment}: {message}")]
    Encode {
        /// The segment number.
        segment: u64,
        /// What failed.
        message: String,
    },
    /// Storing a segment failed; the segment is not reported in `batch_files`.
    #[error("storing segment {segment}: {source}")]
    Sink {
        /// The segment number.
        segment: u64,
        /// The storage error.
        source: SinkError,
    },
    /// The run's manifest could not be written; the segments it would list are stored, but a
    /// resumed run will write them again.
    #[error("cannot update the run's manifest: {0}")]
    Manifest(SinkError),
    /// The run id given cannot name a folder, or its folder already holds a run.
    #[error("run id {id:?}: {reason}")]
    RunId {
        /// The id.
        id: String,
        /// Why.
        reason: String,
    },
    /// An earlier run cannot be resumed.
    #[error("cannot resume {data_path}: {reason}")]
    Resume {
        /// The run's folder.
        data_path: String,
        /// Why.
        reason: String,
    },
    /// An earlier run wrote another file type, chunk size or CSV options than those given.
    #[error(
        "cannot resume {data_path}: the run wrote {recorded}; resume with the same file type, chunk size and CSV options (given: {given})"
    )]
    ResumeOptions {
        /// The run's folder.
        data_path: String,
        /// What the run wrote: file type, chunk size, CSV options.
        recorded: String,
        /// What was given now.
        given: String,
    },
    /// The writer could not open its output.
    #[error(transparent)]
    Output(#[from] SinkError),
}

fn field_context(field: &str) -> String {
    if field.is_empty() {
        String::new()
    } else {
        format!(", field '{field}'")
    }
}

/// Results of writer operations.
pub type Result<T, E = WriteError> = std::result::Result<T, E>;
