//! The bulk writer: rows in, segments out, `batch_files` for the import request.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bulkwriter_schema::CollectionSchema;
use std::sync::mpsc::{Receiver, Sender};

use bulkwriter_sink::{SegmentSink, StoredFile};
use serde_json::Value;

use crate::encode::store_segment;
use crate::error::{Result, WriteError};
use crate::options::{FileType, WriterOptions};
use crate::row::FieldError;
use crate::rowtext::RowFile;
use crate::segment::SegmentBuffer;

/// The open segment: column buffers (NumPy, Parquet), or a row file being streamed (JSON,
/// JSONL, CSV).
#[derive(Debug)]
enum Segment {
    Columns(SegmentBuffer),
    Rows(Box<RowFile>),
}

/// Writes rows of one collection into import files, one segment at a time.
///
/// Rows are validated as they are appended; a segment is closed after the row that takes its
/// encoded size past the chunk size, encoded, and stored through the [`SegmentSink`]. NumPy
/// and Parquet segments are buffered column by column; a closed segment is encoded and
/// stored by a storing thread while the next one fills (at most
/// [`WriterOptions::segments_in_flight`] at a time). JSON, JSONL and CSV rows are encoded as
/// they arrive and streamed into the segment's file, which appears under its name only when
/// the segment is closed. Every error, including one from storing a segment in the
/// background, is returned by a later call (`append_*` or `commit`): nothing is lost.
#[derive(Debug)]
pub struct BulkWriter {
    options: WriterOptions,
    sink: SegmentSink,
    uuid: String,
    schema: Arc<CollectionSchema>,
    segment: Segment,
    /// The current row's text (row files), reused between rows.
    row_text: String,
    /// Incremented by every flush, even of an empty buffer, as pymilvus numbers segments.
    flush_count: u64,
    /// Stored segments, in order.
    stored: Vec<Vec<StoredFile>>,
    /// `stored` as reported paths.
    batch_files: Vec<Vec<String>>,
    /// The thread that encodes and stores closed segments while the next one fills.
    storer: Option<Storer>,
    rows_seen: u64,
    rows_written: u64,
    dropped_keys: BTreeSet<String>,
}

/// pymilvus's name for a writer to a local directory; see [`BulkWriter::local`].
pub type LocalBulkWriter = BulkWriter;

/// pymilvus's name for a writer to object storage; see [`BulkWriter::open`].
pub type RemoteBulkWriter = BulkWriter;

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

    /// A writer into `<output>/<uuid>/`, where `output` is a local path or a URL:
    /// `s3://bucket/prefix`, `gs://bucket/prefix`, `az://container/prefix` or
    /// `oss://bucket/prefix`, configured from the cloud's environment variables and
    /// `storage_options` (see [`bulkwriter_sink::location`]). Before any row is taken, a small
    /// object is written and deleted to check that the output exists and is writable.
    pub fn open(
        schema: CollectionSchema,
        output: &str,
        storage_options: &[(String, String)],
        options: WriterOptions,
    ) -> Result<BulkWriter> {
        let sink = SegmentSink::open(output, storage_options)?;
        let writer = BulkWriter::with_sink(schema, sink, options)?;
        writer
            .sink
            .check_writable(&format!("{}/.bulkwriter-write-check", writer.uuid))?;
        Ok(writer)
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
            segment: new_segment(&schema, &options),
            schema,
            row_text: String::new(),
            options,
            sink,
            uuid: uuid::Uuid::new_v4().to_string(),
            flush_count: 0,
            stored: Vec::new(),
            batch_files: Vec::new(),
            storer: None,
            rows_seen: 0,
            rows_written: 0,
            dropped_keys: BTreeSet::new(),
        })
    }

    /// The writer's uuid, the folder every segment goes into.
    pub fn uuid(&self) -> &str {
        &self.uuid
    }

    /// Where this writer's segments go: `<output>/<uuid>` (for remote output the
    /// bucket-relative key prefix, without a leading `/`).
    pub fn data_path(&self) -> String {
        self.sink.display_path(&self.uuid)
    }

    /// The full URL of [`Self::data_path`] (`s3://bucket/prefix/<uuid>`).
    pub fn data_url(&self) -> String {
        self.sink.url(&self.uuid)
    }

    /// The import-ready paths, one list per stored segment: exactly the `files` groups of a
    /// Milvus import request (all `.npy` files of a segment together; one Parquet, JSON, JSONL
    /// or CSV file each). For remote output these are bucket-relative keys. A segment appears
    /// only once every file of it is stored.
    pub fn batch_files(&self) -> &[Vec<String>] {
        &self.batch_files
    }

    /// [`Self::batch_files`] as full URLs (`s3://bucket/key`), which Zilliz Cloud's
    /// `objectUrls` take.
    pub fn batch_urls(&self) -> Vec<Vec<String>> {
        self.stored
            .iter()
            .map(|group| group.iter().map(|f| f.url.clone()).collect())
            .collect()
    }

    /// Rows given to the writer so far, accepted or not: the count the row numbers of
    /// [`WriteError::Row`] continue from.
    pub fn rows_given(&self) -> u64 {
        self.rows_seen
    }

    /// Rows accepted so far (buffered or stored).
    pub fn total_row_count(&self) -> u64 {
        self.rows_written + self.buffer_row_count() as u64
    }

    /// Rows in the open segment.
    pub fn buffer_row_count(&self) -> usize {
        match &self.segment {
            Segment::Columns(buffer) => buffer.rows,
            Segment::Rows(file) => file.rows(),
        }
    }

    /// Encoded bytes of the open segment (exact for row files, which are written as rows
    /// arrive; an estimate from the column buffers for NumPy and Parquet).
    pub fn buffer_size(&self) -> usize {
        match &self.segment {
            Segment::Columns(buffer) => buffer.encoded_size(),
            Segment::Rows(file) => file.size() as usize,
        }
    }

    /// The `options` the import request for this writer's files needs: the CSV `sep` and
    /// `nullkey` when they differ from Milvus's defaults.
    pub fn import_options(&self) -> std::collections::BTreeMap<String, String> {
        self.options.import_options()
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
        let row_error = |row: u64, e: FieldError| WriteError::Row {
            row,
            field: e.field,
            message: e.error.0,
        };
        match &mut self.segment {
            Segment::Columns(buffer) => buffer
                .append_row(row, &mut self.dropped_keys)
                .map_err(|e| row_error(self.rows_seen, e))?,
            Segment::Rows(file) => {
                file.encode_row(row, &mut self.dropped_keys, &mut self.row_text)
                    .map_err(|e| row_error(self.rows_seen, e))?;
                let text = std::mem::take(&mut self.row_text);
                let written = self.write_row_text(&text);
                self.row_text = text;
                written?;
            }
        }
        self.flush_if_full()
    }

    /// Appends one encoded row to the open row file.
    fn write_row_text(&mut self, text: &str) -> Result<()> {
        if self.options.dry_run {
            if let Segment::Rows(file) = &mut self.segment {
                file.count_row(text.len());
            }
            return Ok(());
        }
        let segment = self.flush_count + 1;
        let Segment::Rows(file) = &mut self.segment else {
            return Ok(());
        };
        let path = format!("{}/{segment}.{}", self.uuid, file.extension());
        file.write_row(&self.sink, &path, text)
            .map_err(|source| WriteError::Sink { segment, source })
    }

    /// Validates and appends the rows of an Arrow batch, column by column. Columns are
    /// matched to fields by name. On error the result names the first bad row in row order
    /// (counting all rows given to this writer, from 1) and its field; the rows before it are
    /// kept (they may already be in a stored segment) and the rows from it on are not, so a
    /// caller can skip the bad row and append the rest.
    pub fn append_batch(&mut self, batch: &RecordBatch) -> Result<()> {
        if let Segment::Rows(_) = self.segment {
            return self.append_batch_rows(batch);
        }
        let mut offset = 0;
        while offset < batch.num_rows() {
            // Append in slices small enough that the slice that fills the segment is found
            // row by row, so segments end at the same row as with append_row.
            let size = self.buffer_size();
            let rows = self.buffer_row_count();
            let remaining = self.options.chunk_size.saturating_sub(size as u64);
            let per_row = (size / rows.max(1)).max(1) as u64;
            let guess = if rows == 0 {
                1
            } else {
                remaining / per_row / 2
            };
            let len = (guess.clamp(1, 4096) as usize).min(batch.num_rows() - offset);
            let before = rows;
            if let Err(e) = self.append_slice(&batch.slice(offset, len)) {
                if len == 1 {
                    return Err(e);
                }
                // The slice was taken back whole: add it row by row, so the rows before the
                // first bad one are kept and the error names that row.
                self.rows_seen -= len as u64;
                for i in 0..len {
                    self.append_slice(&batch.slice(offset + i, 1))?;
                    self.flush_if_full()?;
                }
                offset += len;
                continue;
            }
            if len > 1 && self.buffer_size() as u64 > self.options.chunk_size {
                // Overshot: take the slice back and add it one row at a time.
                if let Segment::Columns(buffer) = &mut self.segment {
                    buffer.truncate(before);
                }
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
        let Segment::Columns(buffer) = &mut self.segment else {
            return Ok(());
        };
        crate::batch::append_batch(buffer, slice, &mut self.dropped_keys)
            .map_err(|e| batch_error(first, e))
    }

    /// Row files take a batch row by row, as [`Self::append_row`] takes rows.
    fn append_batch_rows(&mut self, batch: &RecordBatch) -> Result<()> {
        for row in 0..batch.num_rows() {
            let object = match crate::batch::row_object(&self.schema, batch, row) {
                Ok(object) => object,
                Err(e) => {
                    // Numbered like append_row's errors: this row is the next one given.
                    let before = self.rows_seen - row as u64;
                    self.rows_seen += 1;
                    return Err(batch_error(before, e));
                }
            };
            self.append_row(&object)?;
        }
        Ok(())
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if self.buffer_size() as u64 > self.options.chunk_size {
            self.close_segment()?;
            self.collect_uploads(self.options.segments_in_flight)?;
        }
        Ok(())
    }

    /// Closes the open segment and waits until every segment is stored and listed in
    /// [`Self::batch_files`]. Like pymilvus, every call uses up a segment number, even when
    /// no row is buffered. A storage error of any segment is returned here (or by the
    /// `append_*` call that was waiting for upload room).
    pub fn commit(&mut self) -> Result<()> {
        self.close_segment()?;
        self.collect_uploads(0)
    }

    /// Closes the open segment: a row file is completed; column buffers move to a thread
    /// that encodes and stores them while the next segment fills.
    fn close_segment(&mut self) -> Result<()> {
        self.flush_count += 1;
        let segment = self.flush_count;
        let rows = self.buffer_row_count();
        if rows == 0 {
            return Ok(());
        }
        let sink_error = |source| WriteError::Sink { segment, source };
        let closed = std::mem::replace(&mut self.segment, new_segment(&self.schema, &self.options));
        self.rows_written += rows as u64;
        if self.options.dry_run {
            return Ok(());
        }
        match closed {
            Segment::Columns(buffer) => {
                let storer = match &mut self.storer {
                    Some(storer) => storer,
                    None => self
                        .storer
                        .insert(Storer::start(self.sink.clone(), self.uuid.clone())?),
                };
                storer.submit(segment, buffer)?;
            }
            Segment::Rows(mut file) => {
                // Row files upload their parts as they are written; completing the file is
                // all that is left (and a row writer never has segments in flight).
                let stored = file.finish().map_err(sink_error)?;
                self.add_stored(stored.into_iter().collect());
            }
        }
        Ok(())
    }

    /// Records stored segments in order, waiting for the oldest ones until at most `keep`
    /// are still in flight (bounding the memory held by closed segments).
    fn collect_uploads(&mut self, keep: usize) -> Result<()> {
        let Some(storer) = &mut self.storer else {
            return Ok(());
        };
        let mut stored = Vec::new();
        let result = storer.collect(keep, &mut stored);
        for files in stored {
            self.add_stored(files);
        }
        result
    }

    fn add_stored(&mut self, stored: Vec<StoredFile>) {
        self.batch_files
            .push(stored.iter().map(|f| f.path.clone()).collect());
        self.stored.push(stored);
    }
}

/// A closed segment handed to the storing thread.
type Job = (u64, SegmentBuffer);
/// What the storing thread reports for a segment (in the order segments were submitted).
type Stored = Result<Vec<StoredFile>>;

/// One long-lived thread that encodes and stores closed NumPy/Parquet segments in the order
/// they were closed. One thread (rather than one per segment) keeps the allocator's memory in
/// one place; the columns of a segment are still encoded in parallel on the rayon pool.
#[derive(Debug)]
struct Storer {
    jobs: Option<Sender<Job>>,
    results: Receiver<Stored>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// Segments submitted and not yet collected.
    pending: usize,
}

impl Storer {
    fn start(sink: SegmentSink, uuid: String) -> Result<Storer> {
        let (jobs, inbox) = std::sync::mpsc::channel::<Job>();
        let (outbox, results) = std::sync::mpsc::channel::<Stored>();
        let thread = std::thread::Builder::new()
            .name("bulkwriter-store".into())
            .spawn(move || {
                for (segment, buffer) in inbox {
                    let stored = store_segment(buffer, &sink, &uuid, segment);
                    if outbox.send(stored).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| WriteError::Encode {
                segment: 0,
                message: format!("cannot start the storing thread: {e}"),
            })?;
        Ok(Storer {
            jobs: Some(jobs),
            results,
            thread: Some(thread),
            pending: 0,
        })
    }

    fn submit(&mut self, segment: u64, buffer: SegmentBuffer) -> Result<()> {
        let sent = self.jobs.as_ref().map(|jobs| jobs.send((segment, buffer)));
        match sent {
            Some(Ok(())) => {
                self.pending += 1;
                Ok(())
            }
            _ => Err(WriteError::Encode {
                segment,
                message: "the storing thread stopped".into(),
            }),
        }
    }

    /// Takes the results of finished segments (in order), waiting while more than `keep`
    /// are pending; the first storage error is returned after the segments before it.
    fn collect(&mut self, keep: usize, stored: &mut Vec<Vec<StoredFile>>) -> Result<()> {
        while self.pending > 0 {
            let next = if self.pending > keep {
                self.results.recv().ok()
            } else {
                self.results.try_recv().ok()
            };
            let Some(result) = next else {
                if self.pending > keep {
                    return Err(WriteError::Encode {
                        segment: 0,
                        message: "the storing thread stopped".into(),
                    });
                }
                break;
            };
            self.pending -= 1;
            stored.push(result?);
        }
        Ok(())
    }
}

impl Drop for Storer {
    /// Lets the thread finish what it was given, then joins it.
    fn drop(&mut self) {
        self.jobs.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn new_segment(schema: &Arc<CollectionSchema>, options: &WriterOptions) -> Segment {
    if options.file_type.is_row_text() {
        Segment::Rows(Box::new(RowFile::new(
            Arc::clone(schema),
            options.file_type,
            options.csv.clone(),
        )))
    } else {
        Segment::Columns(SegmentBuffer::new(Arc::clone(schema), options.file_type))
    }
}

fn batch_error(first: u64, e: crate::batch::BatchError) -> WriteError {
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
