//! The bulk writer: rows in, segments out, `batch_files` for the import request.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bulkwriter_schema::CollectionSchema;
use bulkwriter_sink::SegmentSink;
use serde_json::Value;

use crate::encode::encode_segment;
use crate::error::{Result, WriteError};
use crate::options::{FileType, WriterOptions};
use crate::segment::SegmentBuffer;

/// Writes rows of one collection into import files, one segment at a time.
///
/// Rows are validated as they are appended; a segment is closed after the row that takes its
/// encoded size past the chunk size, encoded, and stored through the [`SegmentSink`]. Every
/// error, including one from storing a segment, is returned by the call that caused it:
/// nothing is lost in a background thread.
#[derive(Debug)]
pub struct BulkWriter {
    options: WriterOptions,
    sink: SegmentSink,
    uuid: String,
    buffer: SegmentBuffer,
    /// Incremented by every flush, even of an empty buffer, as pymilvus numbers segments.
    flush_count: u64,
    batch_files: Vec<Vec<String>>,
    rows_seen: u64,
    rows_written: u64,
    dropped_keys: BTreeSet<String>,
}

/// pymilvus's name for a writer to a local directory; see [`BulkWriter::local`].
pub type LocalBulkWriter = BulkWriter;

impl BulkWriter {
    /// A writer into `<local_path>/<uuid>/`, like pymilvus's `LocalBulkWriter`.
    /// `local_path` is created if missing.
    pub fn local(
        schema: CollectionSchema,
        local_path: impl AsRef<Path>,
        options: WriterOptions,
    ) -> Result<BulkWriter> {
        let sink = SegmentSink::local(local_path.as_ref())?;
        BulkWriter::with_sink(schema, sink, options)
    }

    /// A writer over any sink, under a fresh random uuid.
    pub fn with_sink(
        schema: CollectionSchema,
        sink: SegmentSink,
        options: WriterOptions,
    ) -> Result<BulkWriter> {
        check_file_type(&schema, options.file_type)?;
        let schema = Arc::new(schema);
        Ok(BulkWriter {
            buffer: SegmentBuffer::new(Arc::clone(&schema), options.file_type),
            options,
            sink,
            uuid: uuid::Uuid::new_v4().to_string(),
            flush_count: 0,
            batch_files: Vec::new(),
            rows_seen: 0,
            rows_written: 0,
            dropped_keys: BTreeSet::new(),
        })
    }

    /// The writer's uuid, the folder every segment goes into.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// Where this writer's segments go: `<output>/<uuid>`.
    pub fn data_path(&self) -> String {
        self.sink.display_path(&self.uuid)
    }

    /// The import-ready paths, one list per stored segment: exactly the `files` groups of a
    /// Milvus import request (all `.npy` files of a segment together; one Parquet file each).
    pub fn batch_files(&self) -> &[Vec<String>] {
        &self.batch_files
    }

    /// Rows accepted so far (buffered or stored).
    pub fn total_row_count(&self) -> u64 {
        self.rows_written + self.buffer.rows as u64
    }

    /// Rows in the open segment.
    pub fn buffer_row_count(&self) -> usize {
        self.buffer.rows
    }

    /// Encoded bytes of the open segment.
    pub fn buffer_size(&self) -> usize {
        self.buffer.encoded_size()
    }

    /// The options in force.
    pub fn options(&self) -> &WriterOptions {
        &self.options
    }

    /// Row keys that matched no field and were dropped because the dynamic field is off.
    pub fn dropped_keys(&self) -> &BTreeSet<String> {
        &self.dropped_keys
    }

    /// Validates and appends one row (a JSON object). A row that fails validation is not
    /// written and the error names its position (counting from 1) and field.
    pub fn append_row(&mut self, row: &Value) -> Result<()> {
        self.rows_seen += 1;
        self.buffer
            .append_row(row, &mut self.dropped_keys)
            .map_err(|e| WriteError::Row {
                row: self.rows_seen,
                field: e.field,
                message: e.error.0,
            })?;
        self.flush_if_full()
    }

    /// Validates and appends the rows of an Arrow batch, column by column. Columns are
    /// matched to fields by name; on error no row of the batch is kept and the error names the
    /// row (counting all rows appended so far, from 1) and the field.
    pub fn append_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            // Append in slices small enough that the slice that fills the segment is found
            // row by row, so segments end at the same row as with append_row.
            let size = self.buffer.encoded_size();
            let remaining = self.options.chunk_size.saturating_sub(size as u64);
            let per_row = (size / self.buffer.rows.max(1)).max(1) as u64;
            let guess = if self.buffer.rows == 0 {
                1
            } else {
                remaining / per_row / 2
            };
            let len = (guess.clamp(1, 4096) as usize).min(batch.num_rows() - offset);
            let before = self.buffer.rows;
            self.append_slice(&batch.slice(offset, len))?;
            if len > 1 && self.buffer.encoded_size() as u64 > self.options.chunk_size {
                // Overshot: take the slice back and add it one row at a time.
                self.buffer.truncate(before);
                self.rows_seen -= len as u64;
                for i in 0..len {
                    self.append_slice(&batch.slice(offset + i, 1))?;
                    self.flush_if_full()?;
                }
            } else {
                self.flush_if_full()?;
            }
            offset += len;
        }
        Ok(())
    }

    fn append_slice(&mut self, slice: &RecordBatch) -> Result<()> {
        let first = self.rows_seen;
        self.rows_seen += slice.num_rows() as u64;
        crate::batch::append_batch(&mut self.buffer, slice, &mut self.dropped_keys).map_err(|e| {
            match e {
                crate::batch::BatchError::Row {
                    row,
                    field,
                    message,
                } => WriteError::Row {
                    row: first + row as u64 + 1,
                    field,
                    message,
                },
                crate::batch::BatchError::Column { field, message } => {
                    WriteError::Column { field, message }
                }
            }
        })
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buffer.encoded_size() as u64 > self.options.chunk_size {
            self.commit()?;
        }
        Ok(())
    }

    /// Closes the open segment: encodes it, stores it and adds it to [`Self::batch_files`].
    /// Like pymilvus, every call uses up a segment number, even when no row is buffered.
    pub fn commit(&mut self) -> Result<()> {
        self.flush_count += 1;
        let segment = self.flush_count;
        if self.buffer.rows == 0 {
            return Ok(());
        }
        let files = encode_segment(&self.buffer, &self.uuid, segment)?;
        let paths = self
            .sink
            .put_segment(files)
            .map_err(|source| WriteError::Sink { segment, source })?;
        self.rows_written += self.buffer.rows as u64;
        self.batch_files.push(paths);
        self.buffer = SegmentBuffer::new(Arc::clone(&self.buffer.schema), self.options.file_type);
        Ok(())
    }
}

/// Rejects, before anything is written, fields the file type cannot hold.
fn check_file_type(schema: &CollectionSchema, file_type: FileType) -> Result<()> {
    if file_type != FileType::Numpy {
        return Ok(());
    }
    let unsupported = |field: &str, reason: String| WriteError::Unsupported {
        field: field.to_string(),
        file_type: file_type.name().to_uppercase(),
        reason: format!("{reason}; write PARQUET instead"),
    };
    for field in schema.fields.iter().filter(|f| f.is_written()) {
        if let Err(reason) = field.numpy_layout() {
            return Err(unsupported(&field.name, reason));
        }
    }
    if let Some(st) = schema.struct_fields.first() {
        return Err(unsupported(
            &st.name,
            "Milvus cannot import STRUCT fields from NumPy files".into(),
        ));
    }
    Ok(())
}
