//! What readers produce: [`Chunk`]s of rows (JSON objects with their position and original
//! text) or Arrow batches, with column names already mapped to field names.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arrow_array::RecordBatch;
use bulkwriter_schema::rules::{loses_digits, object_members};
use serde_json::Value;

use crate::InputError;

/// Where a row came from, for error messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowPosition {
    /// 1-based row number in the input.
    pub row: u64,
    /// 1-based line number (JSONL, CSV).
    pub line: Option<u64>,
}

impl fmt::Display for RowPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: row {}", self.row),
            None => write!(f, "row {}", self.row),
        }
    }
}

/// A row's original form, kept for the reject file.
#[derive(Debug)]
pub enum Raw {
    /// The JSONL line as read.
    Line(String),
    /// The CSV record, with the file's header.
    Record {
        /// The header, shared by every row of the file.
        header: Arc<Vec<String>>,
        /// The cells.
        record: csv::StringRecord,
    },
    /// The row is its own original (a JSON list element), once the mapping is undone.
    Value,
}

/// A row of a row-based input.
#[derive(Debug)]
pub struct SourceRow {
    /// The row, with mapped column names.
    pub value: Value,
    /// Where it came from.
    pub position: RowPosition,
    /// Its original form.
    pub raw: Raw,
    /// The original text of the members whose parse lost digits (integers beyond 64 bits,
    /// `-0`), as `(mapped key, text)`; see `bulkwriter_writer::ExactText`. Usually empty.
    pub exact: Vec<(String, String)>,
}

/// What a reader produces.
#[derive(Debug)]
pub enum Chunk {
    /// One row (JSON, JSONL, CSV).
    Row(SourceRow),
    /// A row that could not be parsed at all (a JSONL line that is not JSON, a CSV record
    /// with the wrong number of cells).
    BadRow {
        /// Where.
        position: RowPosition,
        /// What was read.
        raw: Raw,
        /// Why it is not a row.
        reason: String,
    },
    /// Rows as columns (Parquet, NumPy, vector dumps); `first_row` is the 0-based index of
    /// its first row in the input.
    Batch {
        /// The columns, with mapped names.
        batch: RecordBatch,
        /// Index of the first row.
        first_row: u64,
    },
    /// Consecutive JSONL lines decoded straight into columns (for columnar outputs); each
    /// line is kept with its position, so a row the columns cannot take can be given again
    /// as a row ([`line_chunk`]) and reported as the row path reports it.
    Lines {
        /// The lines' values, one row per line, with field names.
        batch: RecordBatch,
        /// The lines as read, in order.
        lines: Vec<(RowPosition, String)>,
    },
}

/// A JSONL line as a row chunk: the parsed row with mapped keys, or a bad row when it is not
/// JSON.
pub fn line_chunk(position: RowPosition, line: String, mapping: &HashMap<String, String>) -> Chunk {
    match serde_json::from_str::<Value>(&line) {
        Ok(value) => Chunk::Row(SourceRow {
            exact: exact_members(&value, &line, mapping),
            value: rename_keys(value, mapping),
            position,
            raw: Raw::Line(line),
        }),
        Err(e) => Chunk::BadRow {
            position,
            raw: Raw::Line(line),
            reason: format!("invalid JSON: {e}"),
        },
    }
}

/// The text of the members of a row object, parsed from `text`, whose parse lost digits, as
/// `(mapped key, text)` (see [`SourceRow::exact`]); empty when none did, which is found
/// without reading the text again.
pub(crate) fn exact_members(
    row: &Value,
    text: &str,
    mapping: &HashMap<String, String>,
) -> Vec<(String, String)> {
    let Value::Object(members) = row else {
        return Vec::new();
    };
    if !members.values().any(loses_digits) {
        return Vec::new();
    }
    let Ok(texts) = object_members(text) else {
        return Vec::new();
    };
    let mut exact: Vec<(String, String)> = Vec::new();
    for (key, raw) in texts {
        // A repeated key's last value is the one parsed.
        exact.retain(|(k, _)| *k != key);
        if members.get(&key).is_some_and(loses_digits) {
            exact.push((key, raw.get().to_string()));
        }
    }
    for (key, _) in &mut exact {
        if let Some(to) = mapping.get(key.as_str()) {
            *key = to.clone();
        }
    }
    exact
}

/// Renames an object's keys by `names` (old name → new name), keeping their order: the
/// column mapping, and its undoing for reject files.
pub fn rename_keys(value: Value, names: &HashMap<String, String>) -> Value {
    match value {
        Value::Object(map) if !names.is_empty() => Value::Object(
            map.into_iter()
                .map(|(k, v)| match names.get(&k) {
                    Some(to) => (to.clone(), v),
                    None => (k, v),
                })
                .collect(),
        ),
        other => other,
    }
}

/// Renames the columns of a batch by `names` (old name → new name).
pub(crate) fn map_batch(
    batch: RecordBatch,
    names: &HashMap<String, String>,
) -> Result<RecordBatch, InputError> {
    if names.is_empty() {
        return Ok(batch);
    }
    let fields: Vec<arrow_schema::Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| {
            let name = names.get(f.name()).unwrap_or(f.name());
            f.as_ref().clone().with_name(name)
        })
        .collect();
    RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(fields)),
        batch.columns().to_vec(),
    )
    .map_err(|e| InputError::read(format!("renaming columns: {e}")))
}
