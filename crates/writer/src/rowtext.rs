//! Row files — JSON, JSONL and CSV — encoded one row at a time as rows arrive and streamed to
//! the sink, so a segment is never held in memory as one string and its size is known exactly.
//!
//! Each value is checked by the same rules as for NumPy and Parquet, then written the way
//! pymilvus writes it: as given (a FLOAT stays the double it was given as; a float vector
//! keeps its digits), except where pymilvus normalises (binary vectors given as bits become
//! bytes, a JSON field given as JSON text is parsed, a FLOAT default is its float32 value).
//!
//! Where pymilvus writes what Milvus cannot read back faithfully, we differ on purpose:
//! - JSON/JSONL: a JSON field whose value is not an object is written as a JSON string
//!   holding its text (`"[1, 2]"`), because Milvus's JSON reader rejects a bare list;
//! - CSV: a value whose cell would read back as null (it equals the null marker, in a
//!   nullable or default-valued field), or a string holding `\r\n` (Go's CSV reader turns it
//!   into `\n`), is refused with an error instead of being silently changed.

use std::borrow::Cow;
use std::fmt::Write;
use std::sync::Arc;

use bulkwriter_schema::rules::{
    self, JsonField, Resolved, RuleError, ScalarValue, SparseVector, ValueSink,
};
use bulkwriter_schema::{
    CollectionSchema, DYNAMIC_FIELD, DataType, DefaultValue, FieldSchema, StructFieldSchema,
};
use bulkwriter_sink::{FileUpload, SegmentSink, SinkError, StoredFile};
use serde_json::{Map, Value};

use crate::options::{CsvOptions, FileType};
use crate::pyjson;
use crate::row::{
    Dropped, ExactText, FieldError, dynamic_meta, exact_json, note_struct_keys, row_object,
    struct_value,
};

/// One field's value, checked and ready to print.
enum Cell<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// A FLOAT or DOUBLE, as the JSON number it was given as.
    Number(Cow<'a, Value>),
    Str(&'a str),
    /// The value of a JSON field.
    Json(Cow<'a, Value>),
    /// The JSON text of a JSON field's or `$meta`'s object (or list) whose parse would lose
    /// digits, written as Python reads it.
    JsonText(Cow<'a, str>),
    /// Vectors, arrays, sparse vectors, structs and `$meta`: JSON in every row format.
    Nested(Cow<'a, Value>),
    /// A float vector read from float32 values (see [`RowVectors`]).
    Floats(&'a [f32]),
}

impl Cell<'_> {
    fn into_value(self) -> Value {
        match self {
            Cell::Null => Value::Null,
            Cell::Bool(b) => Value::Bool(b),
            Cell::Int(i) => Value::from(i),
            Cell::Str(s) => Value::String(s.to_string()),
            Cell::Number(v) | Cell::Json(v) | Cell::Nested(v) => v.into_owned(),
            Cell::JsonText(text) => {
                serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned()))
            }
            Cell::Floats(values) => values.iter().map(|v| Value::from(*v as f64)).collect(),
        }
    }
}

/// Float vectors of a row given as float32 values instead of JSON (Arrow input): the
/// field's name and the row's values. They are checked by the same rules and printed as
/// their JSON would be (each value as the double it widens to).
pub(crate) type RowVectors<'a> = [(&'a str, &'a [f32])];

/// Reused buffers for checking vectors without allocating per row.
#[derive(Default)]
struct Scratch {
    floats: Vec<f32>,
    bytes: Vec<u8>,
    int8s: Vec<i8>,
}

/// The open segment of a row-file writer.
pub(crate) struct RowFile {
    schema: Arc<CollectionSchema>,
    file_type: FileType,
    csv: CsvOptions,
    /// The file being written; opened with the segment's first row.
    upload: Option<FileUpload>,
    rows: usize,
    scratch: Scratch,
    /// The CSV cell being built, before quoting.
    cell: String,
    /// Columns per row (a lone empty CSV cell must be quoted).
    column_count: usize,
    /// Bytes of rows counted but not written (dry run).
    dry_bytes: u64,
}

impl std::fmt::Debug for RowFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowFile")
            .field("file_type", &self.file_type)
            .field("rows", &self.rows)
            .finish()
    }
}

impl RowFile {
    pub fn new(schema: Arc<CollectionSchema>, file_type: FileType, csv: CsvOptions) -> RowFile {
        let mut file = RowFile {
            schema,
            file_type,
            csv,
            upload: None,
            rows: 0,
            scratch: Scratch::default(),
            cell: String::new(),
            column_count: 0,
            dry_bytes: 0,
        };
        file.column_count = file.schema.column_names().len();
        file
    }

    /// Rows written to the open segment.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes of the open segment so far.
    pub fn size(&self) -> u64 {
        self.upload
            .as_ref()
            .map_or(self.dry_bytes, FileUpload::bytes_written)
    }

    /// The file name extension.
    pub fn extension(&self) -> &'static str {
        self.file_type.name()
    }

    /// Checks one row and appends its text to `out` (cleared first); members named in
    /// `exact` keep their text (see [`ExactText`]), and float vectors named in `vectors` are
    /// taken from there, not from `row`. Nothing is written to the file; see
    /// [`RowFile::write_row`].
    pub fn encode_row(
        &mut self,
        row: &Value,
        exact: &ExactText,
        vectors: &RowVectors,
        dropped: &mut Dropped,
        out: &mut String,
    ) -> Result<(), FieldError> {
        out.clear();
        let row = row_object(row)?;
        let schema = Arc::clone(&self.schema);
        let mut first = true;
        self.begin_row(out);
        for field in &schema.fields {
            let in_field = |e| FieldError::new(&field.name, e);
            let exact_value = exact_json(field, row, exact);
            let cell = match vectors.iter().find(|(name, _)| *name == field.name) {
                Some((_, values)) => {
                    rules::float32_vector(field, values).map_err(in_field)?;
                    Cell::Floats(values)
                }
                None => {
                    let value = exact_value.as_ref().or_else(|| row.get(&field.name));
                    let resolved = rules::resolve(field, value).map_err(in_field)?;
                    if let Resolved::Skip = resolved {
                        continue;
                    }
                    field_cell(field, resolved, &mut self.scratch).map_err(in_field)?
                }
            };
            let ambiguous_null = field.nullable || field.default_value.is_some();
            self.write_cell(
                out,
                &field.name,
                field.data_type,
                ambiguous_null,
                cell,
                first,
            )
            .map_err(in_field)?;
            first = false;
        }
        for st in &schema.struct_fields {
            let value = struct_value(st, row)?;
            note_struct_keys(st, value, dropped);
            let cell = struct_cell(st, value, &mut self.scratch)
                .map_err(|e| FieldError::new(&st.name, e))?;
            self.write_cell(out, &st.name, DataType::Struct, false, cell, first)
                .map_err(|e| FieldError::new(&st.name, e))?;
            first = false;
        }
        if let Some(meta) = dynamic_meta(&schema, row, exact, dropped)? {
            let cell = match meta.into_text() {
                Ok(text) => Cell::JsonText(Cow::Owned(text)),
                Err(members) => Cell::Nested(Cow::Owned(Value::Object(members))),
            };
            self.write_cell(out, DYNAMIC_FIELD, DataType::Json, false, cell, first)
                .map_err(|e| FieldError::new(DYNAMIC_FIELD, e))?;
        }
        self.end_row(out);
        Ok(())
    }

    /// Appends a row encoded by [`RowFile::encode_row`] to the segment's file, opening it
    /// at `relative_path` (with its header) if this is the segment's first row.
    pub fn write_row(
        &mut self,
        sink: &SegmentSink,
        relative_path: &str,
        text: &str,
    ) -> Result<(), SinkError> {
        if self.upload.is_none() {
            let mut upload = sink.create_file(relative_path);
            upload.append(self.header().as_bytes())?;
            self.upload = Some(upload);
        }
        let Some(upload) = self.upload.as_mut() else {
            return Ok(());
        };
        if self.rows > 0 && self.file_type == FileType::Json {
            upload.append(b",\n")?;
        }
        upload.append(text.as_bytes())?;
        self.rows += 1;
        Ok(())
    }

    /// Counts a row that is checked but not written (a dry run).
    pub fn count_row(&mut self, bytes: usize) {
        self.rows += 1;
        self.dry_bytes += bytes as u64;
    }

    /// Completes the segment's file and returns how it is reported, or `None` if it has no
    /// rows.
    pub fn finish(&mut self) -> Result<Option<StoredFile>, SinkError> {
        self.rows = 0;
        self.dry_bytes = 0;
        let Some(mut upload) = self.upload.take() else {
            return Ok(None);
        };
        if self.file_type == FileType::Json {
            // json.dump(..., indent=2) writes no newline at the end.
            upload.append(b"\n  ]\n}")?;
        }
        upload.finish().map(Some)
    }

    /// What comes before the first row: the CSV header or the JSON document's opening.
    fn header(&self) -> String {
        match self.file_type {
            FileType::Json => "{\n  \"rows\": [\n".to_string(),
            FileType::Csv => {
                let mut header = String::new();
                let names = self.schema.column_names();
                let single = names.len() == 1;
                for (i, name) in names.iter().enumerate() {
                    if i > 0 {
                        header.push(self.csv.separator());
                    }
                    push_csv_cell(&mut header, name, self.csv.separator(), single);
                }
                header.push('\n');
                header
            }
            _ => String::new(),
        }
    }

    fn begin_row(&self, out: &mut String) {
        match self.file_type {
            FileType::Json => out.push_str("    {"),
            FileType::Jsonl => out.push('{'),
            _ => {}
        }
    }

    fn end_row(&self, out: &mut String) {
        match self.file_type {
            FileType::Json => out.push_str("\n    }"),
            FileType::Jsonl => out.push_str("}\n"),
            _ => out.push('\n'),
        }
    }

    /// Writes one column of a row in the file type's syntax.
    fn write_cell(
        &mut self,
        out: &mut String,
        name: &str,
        data_type: DataType,
        ambiguous_null: bool,
        cell: Cell<'_>,
        first: bool,
    ) -> Result<(), RuleError> {
        match self.file_type {
            FileType::Json | FileType::Jsonl => {
                let indented = self.file_type == FileType::Json;
                if indented {
                    out.push_str(if first { "\n      " } else { ",\n      " });
                } else if !first {
                    out.push_str(", ");
                }
                pyjson::write_str(out, name);
                out.push_str(": ");
                write_json_cell(out, cell, indented);
                Ok(())
            }
            _ => {
                if !first {
                    out.push(self.csv.separator());
                }
                let is_null = matches!(cell, Cell::Null);
                let mut text = std::mem::take(&mut self.cell);
                text.clear();
                write_csv_text(&mut text, data_type, cell, self.csv.null_key())?;
                if !is_null && ambiguous_null && text == self.csv.null_key() {
                    return Err(RuleError(format!(
                        "the value {text:?} is the CSV null marker, so Milvus would read it as null or the default value; choose another CSV null marker or write JSON or PARQUET"
                    )));
                }
                push_csv_cell(out, &text, self.csv.separator(), self.column_count == 1);
                self.cell = text;
                Ok(())
            }
        }
    }
}

/// Checks a field's resolved value and returns what to print.
fn field_cell<'a>(
    field: &'a FieldSchema,
    resolved: Resolved<'a>,
    scratch: &mut Scratch,
) -> Result<Cell<'a>, RuleError> {
    match resolved {
        Resolved::Value(v) => value_cell(field, v, scratch),
        Resolved::Default(d) => Ok(match d {
            DefaultValue::Bool(b) => Cell::Bool(*b),
            DefaultValue::Int(i) => Cell::Int(*i),
            // The float32 default as a double (1.1 → 1.100000023841858), as pymilvus prints it.
            DefaultValue::Float(f) => Cell::Number(Cow::Owned(Value::from(*f as f64))),
            DefaultValue::Double(d) => Cell::Number(Cow::Owned(Value::from(*d))),
            DefaultValue::String(s) => Cell::Str(s),
        }),
        Resolved::Null | Resolved::Skip => Ok(Cell::Null),
    }
}

/// Checks a value with the field's rules.
fn value_cell<'a>(
    field: &'a FieldSchema,
    value: &'a Value,
    scratch: &mut Scratch,
) -> Result<Cell<'a>, RuleError> {
    rules::check_value(field, value, scratch)
}

/// A row file checks vectors into reused buffers and prints values as they were given
/// (binary vectors packed into bytes, the only form Milvus reads from row files).
impl<'v> ValueSink<'v> for Scratch {
    type Out = Cell<'v>;

    fn bool(&mut self, value: bool) -> Result<Cell<'v>, RuleError> {
        Ok(Cell::Bool(value))
    }

    fn int(&mut self, value: i64) -> Result<Cell<'v>, RuleError> {
        Ok(Cell::Int(value))
    }

    fn float(&mut self, _value: f64, given: &'v Value) -> Result<Cell<'v>, RuleError> {
        Ok(Cell::Number(Cow::Borrowed(given)))
    }

    fn text(&mut self, value: &'v str) -> Result<Cell<'v>, RuleError> {
        Ok(Cell::Str(value))
    }

    fn json(&mut self, value: JsonField<'v>) -> Result<Cell<'v>, RuleError> {
        Ok(match value {
            JsonField::Parsed(value) => Cell::Json(value),
            JsonField::Text(text) => Cell::JsonText(Cow::Borrowed(text)),
        })
    }

    fn floats(&mut self) -> Option<&mut Vec<f32>> {
        self.floats.clear();
        Some(&mut self.floats)
    }

    fn bytes(&mut self) -> Option<&mut Vec<u8>> {
        self.bytes.clear();
        Some(&mut self.bytes)
    }

    fn int8s(&mut self) -> Option<&mut Vec<i8>> {
        self.int8s.clear();
        Some(&mut self.int8s)
    }

    fn vector(&mut self, data_type: DataType, given: &'v Value) -> Result<Cell<'v>, RuleError> {
        Ok(Cell::Nested(if data_type == DataType::BinaryVector {
            Cow::Owned(Value::Array(
                self.bytes.iter().map(|b| Value::from(*b)).collect(),
            ))
        } else {
            Cow::Borrowed(given)
        }))
    }

    fn sparse(&mut self, _value: SparseVector, given: &'v Value) -> Result<Cell<'v>, RuleError> {
        Ok(Cell::Nested(Cow::Borrowed(given)))
    }

    fn array_element(&mut self, _value: ScalarValue<'v>) -> Result<(), RuleError> {
        Ok(())
    }

    fn array_end(&mut self, given: &'v Value) -> Result<Cell<'v>, RuleError> {
        Ok(Cell::Nested(Cow::Borrowed(given)))
    }
}

/// An array-of-struct value: a list of objects with the sub-fields in schema order.
fn struct_cell<'a>(
    field: &'a StructFieldSchema,
    value: &'a Value,
    scratch: &mut Scratch,
) -> Result<Cell<'a>, RuleError> {
    let mut items = Vec::new();
    for item in rules::struct_items(field, value)? {
        let mut object = Map::new();
        for sub in &field.fields {
            let cell = value_cell(sub, &item[&sub.name], scratch)
                .map_err(|e| rules::sub_field_error(field, sub, e))?;
            object.insert(sub.name.clone(), cell.into_value());
        }
        items.push(Value::Object(object));
    }
    Ok(Cell::Nested(Cow::Owned(Value::Array(items))))
}

/// A value in JSON or JSONL syntax.
fn write_json_cell(out: &mut String, cell: Cell<'_>, indented: bool) {
    let write = |out: &mut String, value: &Value| {
        if indented {
            pyjson::write_value_indented(out, value, 3);
        } else {
            pyjson::write_value(out, value);
        }
    };
    match cell {
        Cell::Null => out.push_str("null"),
        Cell::Bool(b) => out.push_str(if b { "true" } else { "false" }),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Cell::Str(s) => pyjson::write_str(out, s),
        Cell::Json(v) if !v.is_object() => {
            // Milvus's JSON reader takes an object or a string of JSON text, not a bare list.
            pyjson::write_str(out, &pyjson::dumps(&v));
        }
        Cell::JsonText(text) if !text.trim_start().starts_with('{') => {
            pyjson::write_str(out, &pyjson::text_dumps(&text));
        }
        Cell::JsonText(text) => pyjson::write_text(out, &text, indented.then_some(3)),
        Cell::Floats(values) => pyjson::write_floats(out, values, indented.then_some(3)),
        Cell::Number(v) | Cell::Json(v) | Cell::Nested(v) => write(out, &v),
    }
}

/// A value as CSV cell text, before quoting: what pandas' `to_csv` writes for pymilvus.
fn write_csv_text(
    out: &mut String,
    data_type: DataType,
    cell: Cell<'_>,
    null_key: &str,
) -> Result<(), RuleError> {
    match cell {
        Cell::Null => out.push_str(null_key),
        Cell::Bool(b) => out.push_str(if b { "True" } else { "False" }),
        Cell::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Cell::Number(v) => {
            let v = v.as_f64().unwrap_or(f64::NAN);
            if data_type == DataType::Float {
                pyjson::write_float32(out, v as f32);
            } else {
                pyjson::write_float(out, v);
            }
        }
        Cell::Str(s) => {
            if s.contains("\r\n") {
                return Err(RuleError(
                    "the value holds \"\\r\\n\", which Milvus's CSV reader reads back as \"\\n\"; write JSON or PARQUET to keep it".into(),
                ));
            }
            out.push_str(s);
        }
        Cell::Json(v) | Cell::Nested(v) => pyjson::write_value(out, &v),
        Cell::JsonText(text) => pyjson::write_text(out, &text, None),
        Cell::Floats(values) => pyjson::write_floats(out, values, None),
    }
    Ok(())
}

/// Appends a cell with Python's `csv.QUOTE_MINIMAL` quoting: in quotes (inner quotes
/// doubled) when it holds the separator, a quote or a line break, or when it is the only,
/// empty, cell of its line (which would otherwise be a blank line).
fn push_csv_cell(out: &mut String, text: &str, separator: char, single_column: bool) {
    let special = |c: char| c == separator || c == '"' || c == '\n' || c == '\r';
    let quote = text.contains(special) || (single_column && text.is_empty());
    if !quote {
        out.push_str(text);
        return;
    }
    // Whole slices between quotes, not a push per char: a vector cell is kilobytes long.
    out.reserve(text.len() + 2);
    out.push('"');
    let mut parts = text.split('"');
    out.push_str(parts.next().unwrap_or_default());
    for part in parts {
        out.push_str("\"\"");
        out.push_str(part);
    }
    out.push('"');
}
