//! The pipeline: every input read into a [`BulkWriter`] under the unknown-column and bad-row
//! policies, with a resumed run's already-written rows skipped, progress reported and the
//! cancel flag honoured between chunks.

use std::collections::{HashMap, HashSet};
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use arrow_array::RecordBatch;
use bulkwriter_input::{Chunk, InputFile, Raw, RowPosition, line_chunk, rename_keys};
use bulkwriter_schema::{StructFieldSchema, arrow_row_to_json};
use bulkwriter_writer::{BulkWriter, WriteError};
use serde_json::{Map, Value};

use crate::error::field_part;
use crate::keys::{KeySet, OnDuplicateKey, duplicate_message};
use crate::reject::{RawData, RejectFile};
use crate::{ConvertError, InputOptions, OnError, Progress, Result};

/// Rows accepted and rejected so far.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) accepted: u64,
    pub(crate) rejected: u64,
}

/// Why [`Pipeline::append_clean_rows`] stopped before the end of its batch.
enum BatchStop {
    /// The next row's key was seen before.
    Duplicate,
    /// The writer refused the next row.
    Refused { field: String, message: String },
}

/// Reads inputs into a writer, applying the unknown-column and bad-row policies.
pub(crate) struct Pipeline<'a> {
    input: &'a InputOptions,
    writer: Option<BulkWriter>,
    pub(crate) progress: &'a mut dyn Progress,
    cancel: &'a AtomicBool,
    pub(crate) counts: Counts,
    on_error: OnError,
    reject: Option<RejectFile>,
    /// Column names already checked against the schema.
    known_columns: HashSet<String>,
    /// Field name → input column name, to write rejected rows as they were read.
    unmapping: HashMap<String, String>,
    /// Bytes of the inputs finished so far.
    bytes_done: u64,
    /// Whether each bad row is reported to [`Progress::rejected_row`] (validation).
    list_rejects: bool,
    /// Input rows still to skip: those a resumed run's listed segments already hold.
    skip: u64,
    /// The primary keys accepted so far, unless duplicates are kept.
    pub(crate) keys: Option<KeySet>,
}

impl<'a> Pipeline<'a> {
    /// A pipeline into `writer`; `resumed` is `(input rows, rejected rows)` of the run a
    /// resumed writer continues.
    pub(crate) fn new(
        input: &'a InputOptions,
        writer: BulkWriter,
        progress: &'a mut dyn Progress,
        cancel: &'a AtomicBool,
        list_rejects: bool,
        resumed: Option<(u64, u64)>,
    ) -> Result<Pipeline<'a>> {
        let reject = match &input.reject_file {
            Some(path) => Some(RejectFile::open(
                path,
                resumed.map(|(_, rejected)| rejected),
            )?),
            None => None,
        };
        progress.start(input.files.iter().map(|f| f.size).sum::<Option<u64>>());
        Ok(Pipeline {
            input,
            writer: Some(writer),
            progress,
            cancel,
            counts: Counts::default(),
            on_error: input.on_error,
            reject,
            known_columns: HashSet::new(),
            unmapping: input
                .mapping
                .iter()
                .map(|(from, to)| (to.clone(), from.clone()))
                .collect(),
            bytes_done: 0,
            list_rejects,
            skip: resumed.map_or(0, |(input_rows, _)| input_rows),
            keys: KeySet::for_schema(&input.schema, input.on_duplicate_key),
        })
    }

    /// Validation reports every bad row unless asked to stop at the first.
    pub(crate) fn set_on_error(&mut self, on_error: OnError) {
        self.on_error = on_error;
    }

    fn writer(&mut self) -> &mut BulkWriter {
        self.writer
            .as_mut()
            .expect("the writer is taken only by finish")
    }

    /// Reads every input; stops at the first error or when the run is cancelled.
    pub(crate) fn run_all(&mut self) -> Result<()> {
        let input = self.input;
        // Column files take JSONL lines best decoded straight into columns.
        let columnar = !self.writer().options().file_type.is_row_text();
        let options = input.read_options().with_lines_as_columns(columnar);
        for file in &input.files {
            let mut failure = None;
            let read = bulkwriter_input::read(file, &options, &mut |chunk| {
                let taken = if self.cancel.load(Ordering::Relaxed) {
                    // finish() turns any error of a cancelled run into the full report.
                    Err(ConvertError::Interrupted {
                        data_url: String::new(),
                        input_rows: 0,
                        rows: 0,
                        segments: 0,
                        resumable: false,
                    })
                } else {
                    self.take_chunk(file, chunk)
                };
                if let Err(e) = taken {
                    failure = Some(e);
                    return ControlFlow::Break(());
                }
                let bytes = self.bytes_done + options.bytes_read();
                let (rows, rejected) = (self.writer().total_row_count(), self.counts.rejected);
                let segment = self.writer().batch_files().len() as u64 + 1;
                self.progress.progress(bytes, rows, rejected, segment);
                ControlFlow::Continue(())
            });
            if let Some(e) = failure {
                return Err(e);
            }
            read?;
            self.bytes_done += file.size.unwrap_or(0);
        }
        if self.skip > 0 {
            return Err(ConvertError::ResumeInputsShort(self.skip));
        }
        Ok(())
    }

    /// Ends the run: closes the writer on success (`last` says what closing does), and on
    /// an error leaves the output without a final segment and says what was written. When
    /// the run was cancelled, the open segment is stored as a complete one.
    pub(crate) fn finish(&mut self, result: Result<()>, last: &'static str) -> Result<BulkWriter> {
        if let Some(reject) = &mut self.reject {
            reject.flush()?;
        }
        let mut writer = self.writer.take().expect("finish is called once");
        if let Err(error) = result {
            if self.cancel.load(Ordering::Relaxed) {
                writer.commit().map_err(|source| ConvertError::Finishing {
                    what: "writing the segment in progress after the interruption",
                    source: Box::new(source),
                })?;
                return Err(ConvertError::Interrupted {
                    data_url: writer.data_url(),
                    input_rows: writer.rows_given(),
                    rows: writer.total_row_count(),
                    segments: writer.batch_files().len(),
                    resumable: !writer.options().dry_run,
                });
            }
            // Segments stored in the background are listed before the error is reported. A
            // storage error while doing so is news only if storage had not failed already.
            let storage_failed =
                matches!(&error, ConvertError::Write(e) if matches!(**e, WriteError::Sink { .. }));
            if let Err(e) = writer.stop_after_error()
                && !storage_failed
            {
                self.progress
                    .warn(&format!("while stopping after the error: {e}"));
            }
            let written = writer.batch_files().len();
            if written > 0 {
                return Err(ConvertError::Partial {
                    segments: written,
                    data_url: writer.data_url(),
                    source: Box::new(error),
                });
            }
            return Err(error);
        }
        writer.close().map_err(|source| ConvertError::Finishing {
            what: last,
            source: Box::new(source),
        })?;
        let dropped = writer.dropped_keys();
        if !dropped.is_empty() {
            let keys: Vec<&str> = dropped.iter().map(String::as_str).collect();
            self.progress.warn(&format!(
                "input columns that match no field were dropped (the dynamic field is off): {}",
                keys.join(", ")
            ));
        }
        let dropped = writer.dropped_struct_keys();
        if !dropped.is_empty() {
            let keys: Vec<&str> = dropped.iter().map(String::as_str).collect();
            self.progress.warn(&format!(
                "keys inside struct elements that match no sub-field were dropped: {}",
                keys.join(", ")
            ));
        }
        Ok(writer)
    }

    /// Refuses, once per column, input columns the schema cannot place.
    fn check_columns<'n>(
        &mut self,
        file: &InputFile,
        names: impl Iterator<Item = &'n str>,
    ) -> Result<()> {
        for name in names {
            if self.known_columns.contains(name) {
                continue;
            }
            let schema = &self.input.schema;
            // With the dynamic field on, every other column (and `$meta`) goes to `$meta`.
            let placed = schema.field(name).is_some()
                || schema.struct_fields.iter().any(|s| s.name == name)
                || schema.enable_dynamic_field;
            if !placed && !self.input.ignore_unknown {
                let original = self.unmapping.get(name).map_or(name, String::as_str);
                return Err(ConvertError::UnknownColumn {
                    file: file.name.clone(),
                    column: original.to_string(),
                });
            }
            self.known_columns.insert(name.to_string());
        }
        Ok(())
    }

    /// Refuses keys of struct elements that match no sub-field, unless unknown columns are
    /// ignored (the writer then drops them and lists them at the end). `keys` gives the
    /// element keys of each struct field.
    fn check_struct_keys(
        &self,
        file: &InputFile,
        position: Option<RowPosition>,
        keys: impl Fn(&StructFieldSchema) -> Vec<String>,
    ) -> Result<()> {
        if self.input.ignore_unknown {
            return Ok(());
        }
        for st in &self.input.schema.struct_fields {
            for key in keys(st) {
                if !st.fields.iter().any(|sub| sub.name == key) {
                    let names: Vec<&str> = st.fields.iter().map(|s| s.name.as_str()).collect();
                    return Err(ConvertError::UnknownStructKey {
                        file: file.name.clone(),
                        position,
                        field: st.name.clone(),
                        key,
                        sub_fields: names.join(", "),
                    });
                }
            }
        }
        Ok(())
    }

    /// A writer error while appending: a row error is the caller's, a storage error is
    /// reported without the input's name, any other names the input.
    fn write_error(file: &InputFile, error: WriteError) -> ConvertError {
        match error {
            WriteError::Sink { .. } | WriteError::Manifest(_) => error.into(),
            other => ConvertError::WriteInput {
                file: file.name.clone(),
                source: Box::new(other),
            },
        }
    }

    fn take_chunk(&mut self, file: &InputFile, chunk: Chunk) -> Result<()> {
        let Some(chunk) = self.skipped(chunk) else {
            return Ok(());
        };
        match chunk {
            Chunk::Row(row) => {
                if let Value::Object(map) = &row.value {
                    let names: Vec<String> = map
                        .keys()
                        .filter(|k| !self.known_columns.contains(*k))
                        .cloned()
                        .collect();
                    self.check_columns(file, names.iter().map(String::as_str))?;
                    self.check_struct_keys(file, Some(row.position), |st| {
                        let items = map.get(&st.name).and_then(Value::as_array);
                        items
                            .into_iter()
                            .flatten()
                            .filter_map(Value::as_object)
                            .flat_map(|item| item.keys().cloned())
                            .collect()
                    })?;
                }
                let key = self.keys.as_ref().and_then(|keys| keys.row_key(&row.value));
                if let (Some(keys), Some(key)) = (&self.keys, &key)
                    && keys.contains(key)
                {
                    let shown = row.value.get(&keys.field).map(Value::to_string);
                    let data = self.raw_data(&row.raw, &row.value);
                    return self.duplicate(file, row.position, &shown.unwrap_or_default(), data);
                }
                match self.writer().append_row_exact(&row.value, &row.exact) {
                    Ok(()) => {
                        self.counts.accepted += 1;
                        if let (Some(keys), Some(key)) = (&mut self.keys, key) {
                            keys.insert(key);
                        }
                    }
                    Err(WriteError::Row { field, message, .. }) => {
                        let data = self.raw_data(&row.raw, &row.value);
                        self.reject(file, row.position, &field, &message, data)?;
                    }
                    Err(other) => return Err(Self::write_error(file, other)),
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
                self.check_batch(file, &batch)?;
                self.take_batch(file, &batch, first_row)?;
            }
            Chunk::Lines { batch, lines } => {
                self.check_batch(file, &batch)?;
                self.take_lines(file, &batch, lines)?;
            }
        }
        Ok(())
    }

    /// Refuses a batch's columns and struct element keys that the schema cannot place.
    fn check_batch(&mut self, file: &InputFile, batch: &RecordBatch) -> Result<()> {
        let arrow_schema = batch.schema();
        let names = arrow_schema.fields().iter().map(|f| f.name().as_str());
        self.check_columns(file, names)?;
        self.check_struct_keys(file, None, |st| {
            arrow_schema
                .field_with_name(&st.name)
                .map(|f| struct_element_names(f.data_type()))
                .unwrap_or_default()
        })
    }

    /// Appends JSONL lines decoded into columns. A line whose key was seen before, or whose
    /// value the columns refuse, is given again as a row, so the row path reports it (with
    /// its line, and its text in the reject file) or takes it; the lines around it are
    /// appended as columns.
    fn take_lines(
        &mut self,
        file: &InputFile,
        batch: &RecordBatch,
        lines: Vec<(RowPosition, String)>,
    ) -> Result<()> {
        let mut lines = lines.into_iter();
        let mut offset = 0;
        while offset < batch.num_rows() {
            let rest = batch.slice(offset, batch.num_rows() - offset);
            let (taken, stop) = self.append_clean_rows(file, &rest)?;
            lines.by_ref().take(taken).for_each(drop);
            offset += taken;
            let Some(stop) = stop else {
                continue;
            };
            if let BatchStop::Refused { .. } = stop {
                self.writer().uncount_refused_row();
            }
            // The next line is a duplicate or was refused: the row path decides.
            let (position, line) = lines.next().expect("one line per row");
            let chunk = line_chunk(position, line, &self.input.mapping);
            self.take_chunk(file, chunk)?;
            offset += 1;
        }
        Ok(())
    }

    /// Drops the input rows a resumed run's listed segments already hold; returns the rest.
    fn skipped(&mut self, chunk: Chunk) -> Option<Chunk> {
        if self.skip == 0 {
            return Some(chunk);
        }
        // The keys of the rows skipped are the keys of the run so far (of its rejected rows
        // too: the manifest does not tell them apart).
        match chunk {
            Chunk::Row(row) => {
                if let Some(keys) = &mut self.keys
                    && let Some(key) = keys.row_key(&row.value)
                {
                    keys.insert(key);
                }
                self.skip -= 1;
                None
            }
            Chunk::BadRow { .. } => {
                self.skip -= 1;
                None
            }
            Chunk::Batch { batch, first_row } => {
                let skipped = self.skip_rows_of(&batch);
                if skipped == batch.num_rows() {
                    return None;
                }
                Some(Chunk::Batch {
                    batch: batch.slice(skipped, batch.num_rows() - skipped),
                    first_row: first_row + skipped as u64,
                })
            }
            Chunk::Lines { batch, mut lines } => {
                let skipped = self.skip_rows_of(&batch);
                if skipped == batch.num_rows() {
                    return None;
                }
                Some(Chunk::Lines {
                    batch: batch.slice(skipped, batch.num_rows() - skipped),
                    lines: lines.split_off(skipped),
                })
            }
        }
    }

    /// Skips the first rows of a batch that a resumed run already holds, remembering their
    /// keys; returns how many.
    fn skip_rows_of(&mut self, batch: &RecordBatch) -> usize {
        let skipped = (batch.num_rows() as u64).min(self.skip) as usize;
        self.remember_keys(batch, skipped);
        self.skip -= skipped as u64;
        skipped
    }

    /// Appends a batch; a bad row is rejected (or stops the run) and the rest is appended. A
    /// row whose key was seen before is handed to the duplicate policy, the rows around it
    /// appended.
    fn take_batch(&mut self, file: &InputFile, batch: &RecordBatch, first_row: u64) -> Result<()> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            let rest = batch.slice(offset, batch.num_rows() - offset);
            let (taken, stop) = self.append_clean_rows(file, &rest)?;
            offset += taken;
            let Some(stop) = stop else {
                continue;
            };
            let position = RowPosition {
                row: first_row + offset as u64 + 1,
                line: None,
            };
            let data = RawData::Value(rename_keys(
                arrow_row_to_json(batch, offset),
                &self.unmapping,
            ));
            match stop {
                BatchStop::Duplicate => {
                    let shown = self
                        .keys
                        .as_ref()
                        .map(|keys| keys.batch_key_text(batch, offset))
                        .unwrap_or_default();
                    self.duplicate(file, position, &shown, data)?;
                }
                BatchStop::Refused { field, message } => {
                    self.reject(file, position, &field, &message, data)?;
                }
            }
            offset += 1;
        }
        Ok(())
    }

    /// Appends the rows of `rest` up to the first whose key an earlier row had or that the
    /// writer refuses; returns how many it appended and, unless that was all of them, what
    /// stopped it.
    fn append_clean_rows(
        &mut self,
        file: &InputFile,
        rest: &RecordBatch,
    ) -> Result<(usize, Option<BatchStop>)> {
        let duplicate = self.first_duplicate(rest);
        let clean = rest.slice(0, duplicate.unwrap_or(rest.num_rows()));
        // The writer numbers rows among all it was given: the bad row's index in `clean` is
        // its number less the rows given before this call, less one.
        let given = self.writer().rows_given();
        let appended = if clean.num_rows() > 0 {
            self.writer().append_batch(&clean)
        } else {
            Ok(())
        };
        let (taken, stop) = match appended {
            Ok(()) => (clean.num_rows(), duplicate.map(|_| BatchStop::Duplicate)),
            Err(WriteError::Row {
                row,
                field,
                message,
            }) => (
                (row - given - 1) as usize,
                Some(BatchStop::Refused { field, message }),
            ),
            Err(other) => return Err(Self::write_error(file, other)),
        };
        self.counts.accepted += taken as u64;
        self.remember_keys(&clean, taken);
        Ok((taken, stop))
    }

    /// The first row of `batch` whose key an earlier row had (of the run, or of the batch).
    fn first_duplicate(&self, batch: &RecordBatch) -> Option<usize> {
        let keys = self.keys.as_ref()?;
        let mut in_batch = HashSet::new();
        (0..batch.num_rows()).find(|&row| {
            keys.batch_key(batch, row)
                .is_some_and(|key| keys.contains(&key) || !in_batch.insert(key))
        })
    }

    /// Adds the keys of the first `rows` rows of an appended batch to the set.
    fn remember_keys(&mut self, batch: &RecordBatch, rows: usize) {
        if let Some(keys) = &mut self.keys {
            for row in 0..rows {
                if let Some(key) = keys.batch_key(batch, row) {
                    keys.insert(key);
                }
            }
        }
    }

    /// A row whose primary key an earlier row had: a bad row (`error`), or left out and
    /// counted as rejected (`skip`), listed in the reject file if there is one.
    fn duplicate(
        &mut self,
        file: &InputFile,
        position: RowPosition,
        shown: &str,
        data: RawData,
    ) -> Result<()> {
        let Some(keys) = &mut self.keys else {
            return Ok(());
        };
        keys.duplicates += 1;
        let field = keys.field.clone();
        let message = duplicate_message(shown);
        self.writer().count_unreadable_row();
        let stop = self.input.on_duplicate_key == OnDuplicateKey::Error;
        self.reject_as(file, position, &field, &message, data, stop)
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
            Raw::Value => RawData::Value(rename_keys(value.clone(), &self.unmapping)),
        }
    }

    /// A bad row: stops the run (the default), or goes to the reject file.
    fn reject(
        &mut self,
        file: &InputFile,
        position: RowPosition,
        field: &str,
        message: &str,
        data: RawData,
    ) -> Result<()> {
        self.reject_as(file, position, field, message, data, true)
    }

    /// [`Self::reject`]; a row that `may_stop` the run stops it unless bad rows are skipped.
    fn reject_as(
        &mut self,
        file: &InputFile,
        position: RowPosition,
        field: &str,
        message: &str,
        data: RawData,
        may_stop: bool,
    ) -> Result<()> {
        let stop = ConvertError::BadRow {
            file: file.name.clone(),
            position,
            field: field.to_string(),
            message: message.to_string(),
        };
        if may_stop && self.on_error == OnError::Stop {
            return Err(stop);
        }
        self.counts.rejected += 1;
        if self.list_rejects {
            self.progress.rejected_row(&stop.to_string());
        }
        if let Some(reject) = &mut self.reject {
            reject.write(&file.name, position, field, message, data)?;
        }
        if let Some(max) = self.input.max_errors
            && self.counts.rejected > max
        {
            return Err(ConvertError::TooManyRejected {
                file: file.name.clone(),
                max,
                last: format!("{position}{}: {message}", field_part(field)),
            });
        }
        Ok(())
    }
}

/// The element keys of an array-of-struct column (`list<struct>`).
fn struct_element_names(column: &arrow_schema::DataType) -> Vec<String> {
    use arrow_schema::DataType;
    let element = match column {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            item.data_type()
        }
        _ => return Vec::new(),
    };
    match element {
        DataType::Struct(children) => children.iter().map(|c| c.name().clone()).collect(),
        _ => Vec::new(),
    }
}
