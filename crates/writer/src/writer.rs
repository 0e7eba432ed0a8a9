//! The bulk writer: rows in, segments out, `batch_files` for the import request.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bulkwriter_schema::CollectionSchema;
use rayon::prelude::*;
use std::sync::mpsc::{Receiver, Sender};

use bulkwriter_sink::{SegmentSink, StoredFile};
use serde_json::Value;

use crate::encode::store_segment;
use crate::error::{Result, WriteError};
use crate::manifest::{MANIFEST_NAME, RunManifest, SegmentRecord};
use crate::options::{FileType, WriterOptions};
use crate::row::{Dropped, ExactText, FieldError};
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
    segments: Vec<SegmentRecord>,
    /// `segments` as reported paths.
    batch_files: Vec<Vec<String>>,
    /// Segments handed to the storing thread and not yet stored (their files still empty).
    closing: VecDeque<SegmentRecord>,
    /// With [`BulkWriter::keep_manifest`]: the caller's context, written into every manifest.
    manifest: Option<Value>,
    /// The thread that encodes and stores closed segments while the next one fills.
    storer: Option<Storer>,
    rows_seen: u64,
    rows_written: u64,
    /// Rows given and refused (validation errors, and rows the caller could not read).
    rows_rejected: u64,
    dropped_keys: Dropped,
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
        if let Some(id) = &writer.options.run_id
            && writer
                .sink
                .read_small(&format!("{id}/{MANIFEST_NAME}"))?
                .is_some()
        {
            return Err(WriteError::RunId {
                id: id.clone(),
                reason: format!(
                    "{} already holds a run: give each run (and each retried attempt) its own id",
                    writer.data_url()
                ),
            });
        }
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
        let uuid = match &options.run_id {
            Some(id) => {
                crate::options::check_run_id(id).map_err(|reason| WriteError::RunId {
                    id: id.clone(),
                    reason,
                })?;
                id.clone()
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let schema = Arc::new(schema);
        Ok(BulkWriter {
            segment: new_segment(&schema, &options),
            schema,
            row_text: String::new(),
            options,
            sink,
            uuid,
            flush_count: 0,
            segments: Vec::new(),
            batch_files: Vec::new(),
            closing: VecDeque::new(),
            manifest: None,
            storer: None,
            rows_seen: 0,
            rows_written: 0,
            rows_rejected: 0,
            dropped_keys: Dropped::default(),
        })
    }

    /// Reopens the run `<output>/<uuid>` that a killed or interrupted process left, to write
    /// the rest of its input. The run's manifest must exist, be unfinished, and have been
    /// written with the same file type, chunk size and CSV options. Every file it lists must
    /// still be there with its size; files of segments that were being written when the
    /// process stopped (not listed) are removed. The writer continues after the last listed
    /// segment, its counts carried over: the caller skips the first
    /// [`RunManifest::input_rows`] input rows and appends the rest. The manifest is kept up to
    /// date as with [`Self::keep_manifest`], with the context it had.
    pub fn resume(
        schema: CollectionSchema,
        output: &str,
        storage_options: &[(String, String)],
        options: WriterOptions,
        uuid: &str,
    ) -> Result<(BulkWriter, RunManifest)> {
        let sink = SegmentSink::open(output, storage_options)?;
        let mut writer = BulkWriter::with_sink(schema, sink, options)?;
        writer.uuid = uuid.to_string();
        let refuse = |writer: &BulkWriter, reason: String| WriteError::Resume {
            data_path: writer.data_url(),
            reason,
        };
        let bytes = writer
            .sink
            .read_small(&format!("{uuid}/{MANIFEST_NAME}"))?
            .ok_or_else(|| {
                refuse(
                    &writer,
                    format!("there is no {MANIFEST_NAME}: it is not the folder of a bulkwriter convert run"),
                )
            })?;
        let manifest = RunManifest::from_json(&bytes)
            .map_err(|e| refuse(&writer, format!("{MANIFEST_NAME}: {e}")))?;
        if manifest.finished {
            return Err(refuse(
                &writer,
                format!(
                    "the run already finished ({} rows in {} segments): there is nothing to resume",
                    manifest.rows,
                    manifest.stored_segments.len()
                ),
            ));
        }
        let options = &writer.options;
        if manifest.format != options.file_type.name()
            || manifest.chunk_size != options.chunk_size
            || manifest.import_options != options.import_options()
        {
            return Err(WriteError::ResumeOptions {
                data_path: writer.data_url(),
                recorded: format!(
                    "{} files cut at {} bytes{}",
                    manifest.format,
                    manifest.chunk_size,
                    describe_options(&manifest.import_options)
                ),
                given: format!(
                    "{} at {} bytes",
                    options.file_type.name(),
                    options.chunk_size
                ),
            });
        }
        writer.check_stored_files(&manifest)?;
        writer
            .sink
            .check_writable(&format!("{uuid}/.bulkwriter-write-check"))?;
        writer.flush_count = manifest.stored_segments.last().map_or(0, |s| s.segment);
        writer.rows_written = manifest.rows;
        writer.rows_seen = manifest.input_rows;
        writer.rows_rejected = manifest.rejected;
        writer.batch_files = manifest
            .stored_segments
            .iter()
            .map(|s| s.files.iter().map(|f| f.path.clone()).collect())
            .collect();
        writer.segments = manifest.stored_segments.clone();
        writer.manifest = Some(manifest.context.clone());
        Ok((writer, manifest))
    }

    /// Checks that every file the manifest lists is present with its size, and removes
    /// everything else under the run's folder (files of the segment that was being written,
    /// staging files, the write-check probe).
    fn check_stored_files(&self, manifest: &RunManifest) -> Result<()> {
        let refuse = |reason: String| WriteError::Resume {
            data_path: self.data_url(),
            reason,
        };
        let folder_path = self.data_path();
        let present: HashMap<String, u64> = self.sink.list(&self.uuid)?.into_iter().collect();
        let mut listed = BTreeSet::new();
        for segment in &manifest.stored_segments {
            for file in &segment.files {
                let relative = file
                    .path
                    .strip_prefix(&folder_path)
                    .and_then(|rest| rest.strip_prefix('/'))
                    .map(|rest| format!("{}/{rest}", self.uuid))
                    .ok_or_else(|| {
                        refuse(format!(
                            "the manifest lists {}, which is not under {folder_path} (was the folder moved?)",
                            file.path
                        ))
                    })?;
                match present.get(&relative) {
                    Some(&bytes) if bytes == file.bytes => {}
                    Some(&bytes) => {
                        return Err(refuse(format!(
                            "segment {}: {} has {bytes} bytes, but the manifest says {}: the output was changed after the run",
                            segment.segment, file.path, file.bytes
                        )));
                    }
                    None => {
                        return Err(refuse(format!(
                            "segment {}: {} is missing: the output was changed after the run",
                            segment.segment, file.path
                        )));
                    }
                }
                listed.insert(relative);
            }
        }
        let manifest_key = format!("{}/{MANIFEST_NAME}", self.uuid);
        for relative in present.keys() {
            if !listed.contains(relative) && *relative != manifest_key {
                self.sink.remove(relative)?;
            }
        }
        self.sink.remove_staging_files(&self.uuid)?;
        Ok(())
    }

    /// Keeps `<uuid>/manifest.json` (see [`crate::manifest`]) from now on: written now, and
    /// again each time a segment is stored, listing exactly the complete segments with their
    /// rows, file sizes, checksums and input positions. `context` is stored in it as is (the
    /// command line tool records its inputs and schema there, to check a resumed run).
    pub fn keep_manifest(&mut self, context: Value) -> Result<()> {
        self.manifest = Some(context);
        self.write_manifest(false)
    }

    /// Commits the last segment and, with [`Self::keep_manifest`], marks the manifest
    /// finished: the run is complete and cannot be resumed.
    pub fn close(&mut self) -> Result<()> {
        self.commit()?;
        self.write_manifest(true)
    }

    /// Ends a run that failed: the segments already closed finish storing and are listed
    /// (in the manifest too, so that it matches what is stored), the open segment is dropped,
    /// and a run that stored no segment leaves nothing behind (its manifest is removed). A
    /// storage error of a closed segment is returned once the segments before it are listed.
    pub fn stop_after_error(&mut self) -> Result<()> {
        let stored = self.collect_uploads(0);
        if self.segments.is_empty() && self.manifest.is_some() && !self.options.dry_run {
            self.sink
                .remove(&format!("{}/{MANIFEST_NAME}", self.uuid))
                .map_err(WriteError::Manifest)?;
        }
        stored
    }

    /// Counts an input row that the caller could not read, so never appended: it takes a row
    /// number and counts as rejected, so that the input positions in the manifest count every
    /// input row.
    pub fn count_unreadable_row(&mut self) {
        self.rows_seen += 1;
        self.rows_rejected += 1;
    }

    /// Takes back the count of the row the last `append_*` call refused ([`WriteError::Row`]),
    /// for a caller that gives that row again another way (a JSONL line refused as a column
    /// value is given again as a row), so that it counts once.
    pub fn uncount_refused_row(&mut self) {
        self.rows_seen = self.rows_seen.saturating_sub(1);
        self.rows_rejected = self.rows_rejected.saturating_sub(1);
    }

    /// The stored segments with their rows, files, sizes and checksums.
    pub fn stored_segments(&self) -> &[SegmentRecord] {
        &self.segments
    }

    /// The run's manifest as it stands: the stored segments, with the context given to
    /// [`Self::keep_manifest`] (null without one), marked finished as given.
    pub fn manifest(&self, finished: bool) -> RunManifest {
        RunManifest::new(
            &self.options,
            self.data_path(),
            self.data_url(),
            &self.segments,
            self.manifest.clone().unwrap_or(Value::Null),
            finished,
        )
    }

    fn write_manifest(&self, finished: bool) -> Result<()> {
        if self.manifest.is_none() || self.options.dry_run {
            return Ok(());
        }
        let manifest = self.manifest(finished);
        self.sink
            .put_small(
                &format!("{}/{MANIFEST_NAME}", self.uuid),
                manifest.to_json(),
            )
            .map_err(WriteError::Manifest)
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
        self.segments
            .iter()
            .map(|segment| segment.files.iter().map(|f| f.url.clone()).collect())
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
        &self.dropped_keys.columns
    }

    /// Keys inside struct elements that matched no sub-field and were not written, as
    /// `struct[].key`.
    pub fn dropped_struct_keys(&self) -> &BTreeSet<String> {
        &self.dropped_keys.struct_keys
    }

    /// Validates and appends one row (a JSON object). A row that fails validation is not
    /// written and the error names its position (counting from 1) and field.
    pub fn append_row(&mut self, row: &Value) -> Result<()> {
        self.append_row_exact(row, &[])
    }

    /// [`Self::append_row`] for a row parsed from JSON text, with the text of its members
    /// whose parse lost digits (integers beyond 64 bits, `-0`): JSON fields and `$meta`
    /// members given so are written from that text, as Python would read it.
    pub fn append_row_exact(&mut self, row: &Value, exact: &ExactText) -> Result<()> {
        let result = self.append_one_row(row, exact);
        self.count_rejection(&result);
        result
    }

    /// Counts a row refused by validation.
    fn count_rejection(&mut self, result: &Result<()>) {
        if let Err(WriteError::Row { .. }) = result {
            self.rows_rejected += 1;
        }
    }

    fn append_one_row(&mut self, row: &Value, exact: &ExactText) -> Result<()> {
        self.rows_seen += 1;
        match &mut self.segment {
            Segment::Columns(buffer) => buffer
                .append_row(row, exact, &mut self.dropped_keys)
                .map_err(|e| field_error(self.rows_seen, e))?,
            Segment::Rows(file) => {
                file.encode_row(row, exact, &[], &mut self.dropped_keys, &mut self.row_text)
                    .map_err(|e| field_error(self.rows_seen, e))?;
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
        let result = self.append_batch_columns(batch);
        self.count_rejection(&result);
        result
    }

    fn append_batch_columns(&mut self, batch: &RecordBatch) -> Result<()> {
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

    /// Row files take a batch row by row, as [`Self::append_row`] takes rows. Encoding the
    /// rows' text is what row files cost, so a wave of rows is encoded in parallel blocks
    /// first, then written in order, rolling segments and numbering errors exactly as one row
    /// at a time would.
    fn append_batch_rows(&mut self, batch: &RecordBatch) -> Result<()> {
        if !matches!(self.segment, Segment::Rows(_)) {
            return Ok(());
        }
        let (schema, file_type) = (Arc::clone(&self.schema), self.options.file_type);
        let csv = self.options.csv.clone();
        let rows = batch.num_rows();
        let first = self.rows_seen;
        let vectors = crate::batch::float_vector_columns(&schema, batch);
        let wave = ENCODE_BLOCK_ROWS * rayon::current_num_threads().max(1) * 2;
        for wave_start in (0..rows).step_by(wave) {
            let wave_end = (wave_start + wave).min(rows);
            let blocks: Vec<EncodedBlock> = (wave_start..wave_end)
                .step_by(ENCODE_BLOCK_ROWS)
                .collect::<Vec<_>>()
                .into_par_iter()
                .map(|start| {
                    // Each block encodes with its own scratch buffers.
                    let encoder = RowFile::new(Arc::clone(&schema), file_type, csv.clone());
                    let end = (start + ENCODE_BLOCK_ROWS).min(wave_end);
                    encode_block(encoder, &schema, batch, &vectors, start..end)
                })
                .collect();
            for block in blocks {
                self.dropped_keys.extend(block.dropped);
                for text in block.texts {
                    self.rows_seen += 1;
                    self.write_row_text(&text)?;
                    self.flush_if_full()?;
                }
                match block.failure {
                    None => {}
                    Some(BlockFailure::Batch(e)) => {
                        self.rows_seen += 1;
                        return Err(batch_error(first, e));
                    }
                    Some(BlockFailure::Field(e)) => {
                        self.rows_seen += 1;
                        return Err(field_error(self.rows_seen, e));
                    }
                }
            }
        }
        Ok(())
    }

    fn flush_if_full(&mut self) -> Result<()> {
        if let Segment::Columns(buffer) = &mut self.segment {
            buffer.reserve_for_size(self.options.chunk_size);
        }
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
        let mut record = SegmentRecord {
            segment,
            rows: rows as u64,
            input_rows: self.rows_seen,
            rejected: self.rows_rejected,
            files: Vec::new(),
        };
        match closed {
            Segment::Columns(buffer) => {
                // A Parquet segment's buffers go with its arrays; sizing the next ones from
                // it keeps growing vectors from doubling (and holding twice the memory).
                // NumPy buffers come back for reuse (see `collect_uploads`).
                if let (FileType::Parquet, Segment::Columns(open)) =
                    (buffer.file_type, &mut self.segment)
                {
                    open.reserve_like(&buffer);
                }
                let storer = match &mut self.storer {
                    Some(storer) => storer,
                    None => self
                        .storer
                        .insert(Storer::start(self.sink.clone(), self.uuid.clone())?),
                };
                storer.submit(segment, buffer)?;
                self.closing.push_back(record);
            }
            Segment::Rows(mut file) => {
                // Row files upload their parts as they are written; completing the file is
                // all that is left (and a row writer never has segments in flight).
                record.files = file.finish().map_err(sink_error)?.into_iter().collect();
                self.add_stored(record)?;
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
        let mut spare = None;
        let result = storer.collect(keep, &mut stored, &mut spare);
        // The open segment takes over a stored segment's buffer while it has no row (as it
        // has just after closing the previous one), so segment buffers are allocated once.
        if let (Some(spare), Segment::Columns(open)) = (spare, &mut self.segment)
            && open.rows == 0
        {
            *open = spare;
        }
        for files in stored {
            let mut record = self
                .closing
                .pop_front()
                .expect("each stored segment was recorded when it was closed");
            record.files = files;
            self.add_stored(record)?;
        }
        result
    }

    /// Lists a stored segment (and rewrites the manifest, if kept).
    fn add_stored(&mut self, record: SegmentRecord) -> Result<()> {
        self.batch_files
            .push(record.files.iter().map(|f| f.path.clone()).collect());
        self.segments.push(record);
        self.write_manifest(false)
    }
}

/// A closed segment handed to the storing thread.
type Job = (u64, SegmentBuffer);
/// What the storing thread reports for a segment (in the order segments were submitted),
/// with a NumPy segment's emptied buffer for reuse.
type Stored = (Result<Vec<StoredFile>>, Option<SegmentBuffer>);

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
    /// are pending; the first storage error is returned after the segments before it. The
    /// last buffer given back is left in `spare`.
    fn collect(
        &mut self,
        keep: usize,
        stored: &mut Vec<Vec<StoredFile>>,
        spare: &mut Option<SegmentBuffer>,
    ) -> Result<()> {
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
            let (files, buffer) = result;
            if buffer.is_some() {
                *spare = buffer;
            }
            stored.push(files?);
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

/// CSV options for a message: ` with sep ";"`.
fn describe_options(options: &std::collections::BTreeMap<String, String>) -> String {
    options
        .iter()
        .map(|(k, v)| format!(" with {k} {v:?}"))
        .collect()
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

/// Rows of a batch encoded together for a row file.
const ENCODE_BLOCK_ROWS: usize = 64;

/// The texts of a block's rows up to its first bad row, that row's failure, and the keys its
/// rows dropped.
struct EncodedBlock {
    texts: Vec<String>,
    failure: Option<BlockFailure>,
    dropped: Dropped,
}

enum BlockFailure {
    /// The Arrow row has no JSON value.
    Batch(crate::batch::BatchError),
    /// A value breaks a rule.
    Field(FieldError),
}

/// Encodes rows `range` of `batch`, stopping at the first bad row; the `vectors` columns
/// are printed from their float32 values.
fn encode_block(
    mut encoder: RowFile,
    schema: &CollectionSchema,
    batch: &RecordBatch,
    vectors: &[crate::batch::FloatVectorColumn],
    range: std::ops::Range<usize>,
) -> EncodedBlock {
    let mut block = EncodedBlock {
        texts: Vec::with_capacity(range.len()),
        failure: None,
        dropped: Dropped::default(),
    };
    let mut row_vectors = Vec::with_capacity(vectors.len());
    let mut last_len = 0;
    for row in range {
        row_vectors.clear();
        row_vectors.extend(vectors.iter().map(|v| (v.name, v.row(row))));
        let (object, exact) = match crate::batch::row_object(schema, batch, vectors, row) {
            Ok(object) => object,
            Err(e) => {
                block.failure = Some(BlockFailure::Batch(e));
                break;
            }
        };
        // Rows of a batch are alike in size: sized from the last one, a row's text does not
        // grow (and copy itself) a dozen times.
        let mut text = String::with_capacity(last_len + last_len / 8);
        if let Err(e) =
            encoder.encode_row(&object, &exact, &row_vectors, &mut block.dropped, &mut text)
        {
            block.failure = Some(BlockFailure::Field(e));
            break;
        }
        last_len = text.len();
        block.texts.push(text);
    }
    block
}

/// The error for row `row` (counting every row given, from 1) failing a field's rule.
fn field_error(row: u64, e: FieldError) -> WriteError {
    WriteError::Row {
        row,
        field: e.field,
        message: e.error.0,
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
