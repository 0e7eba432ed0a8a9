//! A segment being filled: one column buffer per file column, rows appended atomically (a
//! row that fails validation leaves no trace), and the encoded size that decides when the
//! segment is full.

use std::sync::Arc;

use bulkwriter_schema::rules::{
    self, JsonField, Resolved, RuleError, ScalarValue, SparseForm, SparseVector, ValueSink,
};
use bulkwriter_schema::{CollectionSchema, DYNAMIC_FIELD, DataType, FieldSchema};
use serde_json::{Map, Value};

use crate::column::{Column, ColumnData, OffsetOverflow};
use crate::options::FileType;
use crate::pyjson;
use crate::row::{
    Dropped, ExactText, FieldError, dynamic_meta, exact_json, note_struct_keys, row_object,
    struct_value,
};

/// What a column holds.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ColumnSpec {
    /// `schema.fields[i]`
    Field(usize),
    /// `schema.struct_fields[i]`
    Struct(usize),
    /// The dynamic field.
    Meta,
}

impl From<OffsetOverflow> for RuleError {
    fn from(_: OffsetOverflow) -> Self {
        RuleError(
            "this segment holds more than 2 GiB of text in one column; use a smaller chunk size"
                .into(),
        )
    }
}

/// The most memory a new segment buffer reserves up front; larger segments grow beyond it.
const MOST_RESERVED: u64 = 1 << 30;

/// The rows of one segment, column by column.
pub(crate) struct SegmentBuffer {
    pub schema: Arc<CollectionSchema>,
    pub file_type: FileType,
    pub specs: Vec<ColumnSpec>,
    pub columns: Vec<Column>,
    /// Longest string (in characters) seen per column, for NumPy's `<U` size estimate.
    longest_chars: Vec<usize>,
    pub rows: usize,
    /// Whether the buffers have room for a whole segment already (see
    /// [`Self::reserve_for_size`]); a cleared buffer keeps its room.
    sized: bool,
}

impl std::fmt::Debug for SegmentBuffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentBuffer")
            .field("rows", &self.rows)
            .finish()
    }
}

impl SegmentBuffer {
    pub fn new(schema: Arc<CollectionSchema>, file_type: FileType) -> SegmentBuffer {
        let mut specs = Vec::new();
        let mut columns = Vec::new();
        for (i, field) in schema.fields.iter().enumerate() {
            if field.is_written() {
                specs.push(ColumnSpec::Field(i));
                columns.push(Column::for_field(field));
            }
        }
        for (i, st) in schema.struct_fields.iter().enumerate() {
            specs.push(ColumnSpec::Struct(i));
            columns.push(Column::for_struct(st));
        }
        if schema.enable_dynamic_field {
            specs.push(ColumnSpec::Meta);
            columns.push(Column::scalar(DataType::Json));
        }
        let longest_chars = vec![0; columns.len()];
        SegmentBuffer {
            schema,
            file_type,
            specs,
            columns,
            longest_chars,
            rows: 0,
            sized: false,
        }
    }

    /// The name of column `i` (the field name, or `$meta`).
    pub fn column_name(&self, i: usize) -> &str {
        match self.specs[i] {
            ColumnSpec::Field(f) => &self.schema.fields[f].name,
            ColumnSpec::Struct(s) => &self.schema.struct_fields[s].name,
            ColumnSpec::Meta => DYNAMIC_FIELD,
        }
    }

    /// Bytes the segment will take once encoded (see [`Column::encoded_size`]).
    pub fn encoded_size(&self) -> usize {
        let numpy = self.file_type == FileType::Numpy;
        self.columns
            .iter()
            .zip(&self.longest_chars)
            .map(|(c, longest)| c.encoded_size(numpy, *longest))
            .sum()
    }

    /// Validates one row and appends it; on error nothing of the row is kept.
    /// Keys that are dropped (no schema field, dynamic field off) are added to `dropped`;
    /// members named in `exact` keep their text (see [`ExactText`]).
    pub fn append_row(
        &mut self,
        row: &Value,
        exact: &ExactText,
        dropped: &mut Dropped,
    ) -> Result<(), FieldError> {
        let row = row_object(row)?;
        let result = self.append_fields(row, exact, dropped);
        match result {
            Ok(()) => {
                self.rows += 1;
                if self.file_type == FileType::Numpy {
                    self.update_longest();
                }
                Ok(())
            }
            Err(e) => {
                for column in &mut self.columns {
                    column.truncate(self.rows);
                }
                Err(e)
            }
        }
    }

    fn update_longest(&mut self) {
        self.update_longest_from(self.rows.saturating_sub(1));
    }

    /// Updates the longest-string estimate with rows `start..`.
    pub fn update_longest_from(&mut self, start: usize) {
        for (column, longest) in self.columns.iter().zip(&mut self.longest_chars) {
            if let ColumnData::Utf8 { .. } = column.data {
                for s in column.strings_from(start) {
                    *longest = (*longest).max(s.chars().count());
                }
            }
        }
    }

    /// Drops every row, keeping the buffers' memory for the next segment.
    pub fn clear(&mut self) {
        for column in &mut self.columns {
            column.clear();
        }
        self.longest_chars.fill(0);
        self.rows = 0;
    }

    /// Makes room for a segment about as large as `like` (see [`Column::reserve_like`]).
    pub fn reserve_like(&mut self, like: &SegmentBuffer) {
        for (column, like) in self.columns.iter_mut().zip(&like.columns) {
            column.reserve_like(like);
        }
        self.sized = true;
    }

    /// Makes room, once, for the rows a segment of `bytes` encoded bytes will hold, judged
    /// from the rows buffered so far (plus an eighth). Without it a new buffer grows by
    /// doubling, and each doubling copies what it holds into new pages: a tenth of the
    /// appending thread's time for segments of 768-dim vectors. The room is only reserved
    /// (pages are touched as rows fill them), and never more than [`MOST_RESERVED`].
    pub fn reserve_for_size(&mut self, bytes: u64) {
        if self.sized || self.rows == 0 {
            return;
        }
        self.sized = true;
        let per_row = (self.encoded_size() / self.rows).max(1) as u64;
        let rows = usize::try_from(bytes.min(MOST_RESERVED) / per_row).unwrap_or(usize::MAX);
        let target = rows.saturating_add(rows / 8);
        if target > self.rows {
            for column in &mut self.columns {
                column.reserve_for_rows(self.rows, target);
            }
        }
    }

    /// Drops every row past `rows`.
    pub fn truncate(&mut self, rows: usize) {
        for column in &mut self.columns {
            column.truncate(rows);
        }
        self.rows = rows.min(self.rows);
    }

    fn append_fields(
        &mut self,
        row: &Map<String, Value>,
        exact: &ExactText,
        dropped: &mut Dropped,
    ) -> Result<(), FieldError> {
        let schema = Arc::clone(&self.schema);
        let numpy = self.file_type == FileType::Numpy;
        let mut col = 0;
        for field in &schema.fields {
            let exact_value = exact_json(field, row, exact);
            let value = exact_value.as_ref().or_else(|| row.get(&field.name));
            let resolved =
                rules::resolve(field, value).map_err(|e| FieldError::new(&field.name, e))?;
            let column = match resolved {
                Resolved::Skip => continue,
                _ => &mut self.columns[col],
            };
            col += 1;
            append_resolved(column, field, resolved, numpy)
                .map_err(|e| FieldError::new(&field.name, e))?;
        }
        for st in &schema.struct_fields {
            let column = &mut self.columns[col];
            col += 1;
            let value = struct_value(st, row)?;
            note_struct_keys(st, value, dropped);
            append_struct(column, st, value).map_err(|e| FieldError::new(&st.name, e))?;
        }
        if let Some(meta) = dynamic_meta(&schema, row, exact, dropped)? {
            self.columns[col]
                .push_str(&meta.dumps())
                .map_err(|e| FieldError::new(DYNAMIC_FIELD, e.into()))?;
        }
        Ok(())
    }
}

/// Appends what [`rules::resolve`] made of a field's value: the value (validated), the
/// default, or a null, which NumPy output refuses.
pub(crate) fn append_resolved(
    column: &mut Column,
    field: &FieldSchema,
    resolved: Resolved<'_>,
    numpy: bool,
) -> Result<(), RuleError> {
    match resolved {
        Resolved::Value(v) => append_value(column, field, v),
        Resolved::Default(d) => column.push_default(d).map_err(RuleError::from),
        Resolved::Null if numpy => Err(RuleError(format!(
            "field '{}' is null, and NumPy files cannot hold nulls (Milvus reads no null marker from .npy files): give a value, or write PARQUET or JSON",
            field.name
        ))),
        Resolved::Null => {
            column.push_null();
            Ok(())
        }
        Resolved::Skip => Ok(()),
    }
}

/// Validates `value` for `field` and appends it to `column`.
pub(crate) fn append_value(
    column: &mut Column,
    field: &FieldSchema,
    value: &Value,
) -> Result<(), RuleError> {
    rules::check_value(field, value, column)
}

/// A column takes checked values straight into its buffers; vectors are checked into its
/// flat element buffer, so a row's vector is never held twice.
impl<'v> ValueSink<'v> for Column {
    type Out = ();

    fn bool(&mut self, value: bool) -> Result<(), RuleError> {
        self.push_bool(value);
        Ok(())
    }

    fn int(&mut self, value: i64) -> Result<(), RuleError> {
        self.push_int(value);
        Ok(())
    }

    fn float(&mut self, value: f64, _given: &'v Value) -> Result<(), RuleError> {
        self.push_float(value);
        Ok(())
    }

    fn text(&mut self, value: &'v str) -> Result<(), RuleError> {
        Ok(self.push_str(value)?)
    }

    fn json(&mut self, value: JsonField<'v>) -> Result<(), RuleError> {
        let text = match value {
            JsonField::Parsed(value) => pyjson::dumps(&value),
            JsonField::Text(text) => pyjson::text_dumps(text),
        };
        Ok(self.push_str(&text)?)
    }

    fn floats(&mut self) -> Option<&mut Vec<f32>> {
        self.float_vector_values()
    }

    fn bytes(&mut self) -> Option<&mut Vec<u8>> {
        self.byte_vector_values()
    }

    fn int8s(&mut self) -> Option<&mut Vec<i8>> {
        self.int8_vector_values()
    }

    fn vector(&mut self, _data_type: DataType, _given: &'v Value) -> Result<(), RuleError> {
        self.commit_value();
        Ok(())
    }

    fn sparse(&mut self, value: SparseVector, _given: &'v Value) -> Result<(), RuleError> {
        Ok(self.push_str(&sparse_text(&value))?)
    }

    fn array_element(&mut self, value: ScalarValue<'v>) -> Result<(), RuleError> {
        if let Some(child) = self.list_child() {
            match value {
                ScalarValue::Bool(b) => child.push_bool(b),
                ScalarValue::Int(i) => child.push_int(i),
                ScalarValue::Float(f) => child.push_float(f),
                ScalarValue::Str(s) => child.push_str(s)?,
            }
        }
        Ok(())
    }

    fn array_end(&mut self, _given: &'v Value) -> Result<(), RuleError> {
        Ok(self.end_list()?)
    }
}

pub(crate) fn append_struct(
    column: &mut Column,
    field: &bulkwriter_schema::StructFieldSchema,
    value: &Value,
) -> Result<(), RuleError> {
    let items = rules::struct_items(field, value)?;
    if let Some(children) = column.struct_children() {
        for item in items {
            for (sub, child) in field.fields.iter().zip(children.iter_mut()) {
                append_value(child, sub, &item[&sub.name])
                    .map_err(|e| rules::sub_field_error(field, sub, e))?;
            }
        }
    }
    column.end_list()?;
    Ok(())
}

/// A sparse vector as pymilvus stores it in text columns: `json.dumps` of the dict as given.
pub(crate) fn sparse_text(sparse: &rules::SparseVector) -> String {
    let mut out = String::new();
    match sparse.form {
        SparseForm::Map => {
            out.push('{');
            for (i, (index, value)) in sparse.indices.iter().zip(&sparse.values).enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push('"');
                out.push_str(&index.to_string());
                out.push_str("\": ");
                pyjson::write_float(&mut out, *value);
            }
            out.push('}');
        }
        SparseForm::IndicesValues => {
            out.push_str("{\"indices\": [");
            for (i, index) in sparse.indices.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(&index.to_string());
            }
            out.push_str("], \"values\": [");
            for (i, value) in sparse.values.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                pyjson::write_float(&mut out, *value);
            }
            out.push_str("]}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer() -> SegmentBuffer {
        let schema = CollectionSchema::from_json_str(
            r#"{"fields": [
              {"name": "id", "type": "Int64", "primaryKey": true},
              {"name": "title", "type": "VarChar", "params": [{"key": "max_length", "value": "64"}]},
              {"name": "v", "type": "FloatVector", "params": [{"key": "dim", "value": "16"}]}
            ]}"#,
        )
        .unwrap();
        SegmentBuffer::new(Arc::new(schema), FileType::Numpy)
    }

    fn append(buffer: &mut SegmentBuffer, id: i64) {
        let row =
            serde_json::json!({"id": id, "title": format!("title {id:04}"), "v": vec![0.5; 16]});
        buffer
            .append_row(&row, &[], &mut Dropped::default())
            .unwrap();
    }

    #[test]
    fn a_new_buffer_reserves_a_whole_segment_once_and_fills_it_without_moving() {
        let mut buffer = buffer();
        append(&mut buffer, 0);
        let per_row = buffer.encoded_size() as u64;
        buffer.reserve_for_size(per_row * 1000);
        let vectors = |b: &mut SegmentBuffer| {
            let values = b.columns[2].float_vector_values().unwrap();
            (values.as_ptr(), values.capacity())
        };
        let (start, capacity) = vectors(&mut buffer);
        // Room for the 1,000 rows the size holds, plus an eighth; not more.
        assert!(capacity >= 1000 * 16, "capacity {capacity}");
        assert!(capacity <= 1125 * 16, "capacity {capacity}");
        for id in 1..1000 {
            append(&mut buffer, id);
            buffer.reserve_for_size(per_row * 1000);
        }
        assert_eq!(vectors(&mut buffer), (start, capacity), "the vectors moved");
        assert_eq!(buffer.rows, 1000);
        // A cleared buffer keeps its room and is not sized again.
        buffer.clear();
        append(&mut buffer, 0);
        buffer.reserve_for_size(per_row * 100_000);
        assert_eq!(vectors(&mut buffer), (start, capacity));
    }

    #[test]
    fn an_empty_buffer_reserves_nothing() {
        let mut buffer = buffer();
        buffer.reserve_for_size(1 << 20);
        assert_eq!(
            buffer.columns[2].float_vector_values().unwrap().capacity(),
            0
        );
        // Its first rows still size it.
        append(&mut buffer, 0);
        buffer.reserve_for_size(1 << 20);
        assert!(buffer.columns[2].float_vector_values().unwrap().capacity() > 16);
    }
}
