//! Appending Arrow record batches column by column.
//!
//! Columns are matched to fields by name. Common layouts take a direct path (integers,
//! floats, booleans, strings, float vectors as `list`/`large_list`/`fixed_size_list` of
//! float32, byte vectors as lists of uint8 or binary); any other layout is converted one value
//! at a time to JSON and checked by exactly the rules rows go through, so both paths accept
//! and reject the same values.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType as ArrowType;
use bulkwriter_schema::rules::{self, RuleError, loses_digits};
use bulkwriter_schema::{
    CollectionSchema, DYNAMIC_FIELD, DataType, FieldSchema, StructFieldSchema,
};
use serde_json::{Map, Value};

use crate::column::Column;
use crate::options::FileType;
use crate::row::{Dropped, Meta};
use crate::segment::{SegmentBuffer, append_resolved, append_value};
use bulkwriter_schema::arrow_json::{
    CellError, field_to_json, list_parts, number_at, str_at, struct_to_json, to_json,
};

/// A batch that cannot be appended.
pub(crate) enum BatchError {
    /// Row `row` (0-based in the batch) of `field` is invalid.
    Row {
        row: usize,
        field: String,
        message: String,
    },
    /// The column's Arrow type cannot hold the field at all.
    Column { field: String, message: String },
}

fn row_error(row: usize, field: &str, error: RuleError) -> BatchError {
    BatchError::Row {
        row,
        field: field.to_string(),
        message: error.0,
    }
}

/// Appends every row of `batch`, or none of them.
pub(crate) fn append_batch(
    buffer: &mut SegmentBuffer,
    batch: &RecordBatch,
    dropped: &mut Dropped,
) -> Result<(), BatchError> {
    let before = buffer.rows;
    match append_columns(buffer, batch, dropped) {
        Ok(()) => {
            buffer.rows += batch.num_rows();
            if buffer.file_type == FileType::Numpy {
                buffer.update_longest_from(before);
            }
            Ok(())
        }
        Err(e) => {
            buffer.truncate(before);
            Err(e)
        }
    }
}

fn append_columns(
    buffer: &mut SegmentBuffer,
    batch: &RecordBatch,
    dropped: &mut Dropped,
) -> Result<(), BatchError> {
    let schema = Arc::clone(&buffer.schema);
    let numpy = buffer.file_type == FileType::Numpy;
    let rows = batch.num_rows();
    let mut col = 0;
    for field in &schema.fields {
        let array = batch.column_by_name(&field.name);
        if !field.is_written() {
            if array.is_some() && rows > 0 {
                let e = rules::resolve(field, Some(&Value::Null)).err();
                return Err(row_error(
                    0,
                    &field.name,
                    e.unwrap_or(RuleError(String::new())),
                ));
            }
            continue;
        }
        let column = &mut buffer.columns[col];
        col += 1;
        append_field(column, field, array, rows, numpy)?;
    }
    for st in &schema.struct_fields {
        let column = &mut buffer.columns[col];
        col += 1;
        let array = batch.column_by_name(&st.name);
        if let Some(array) = array {
            note_struct_columns(st, array.data_type(), dropped);
        }
        for row in 0..rows {
            let value = match array {
                Some(a) if !a.is_null(row) => {
                    struct_to_json(a.as_ref(), row, st).map_err(|e| cell_error(e, row, &st.name))?
                }
                _ => {
                    return Err(row_error(
                        row,
                        &st.name,
                        RuleError(format!("The struct field '{}' is missed", st.name)),
                    ));
                }
            };
            crate::segment::append_struct(column, st, &value)
                .map_err(|e| row_error(row, &st.name, e))?;
        }
    }

    let extras: Vec<(&str, &ArrayRef)> = batch
        .schema_ref()
        .fields()
        .iter()
        .zip(batch.columns())
        .filter(|(f, _)| {
            schema.field(f.name()).is_none()
                && !schema.struct_fields.iter().any(|s| s.name == *f.name())
        })
        .map(|(f, a)| (f.name().as_str(), a))
        .collect();
    if !schema.enable_dynamic_field {
        dropped
            .columns
            .extend(extras.iter().map(|(name, _)| name.to_string()));
        return Ok(());
    }
    let column = &mut buffer.columns[col];
    for row in 0..rows {
        let mut meta = Meta::default();
        for (name, array) in &extras {
            if array.is_null(row) {
                continue;
            }
            let value = to_json(array.as_ref(), row).map_err(|e| cell_error(e, row, name))?;
            if *name == DYNAMIC_FIELD {
                let (parsed, text) = match value {
                    Value::String(text) => match serde_json::from_str(&text) {
                        Ok(parsed) => (parsed, Some(text)),
                        Err(_) => (Value::String(text), None),
                    },
                    other => (other, None),
                };
                let Value::Object(inner) = parsed else {
                    return Err(row_error(
                        row,
                        DYNAMIC_FIELD,
                        RuleError(
                            "Dynamic field '$meta' value should be JSON format: expected an object"
                                .into(),
                        ),
                    ));
                };
                meta.extend(inner, text.as_deref());
            } else {
                meta.insert(name.to_string(), value, None);
            }
        }
        column
            .push_str(&meta.dumps())
            .map_err(|e| row_error(row, DYNAMIC_FIELD, e.into()))?;
    }
    Ok(())
}

/// Appends one column's values (or its absence) to the field's buffer.
fn append_field(
    column: &mut Column,
    field: &FieldSchema,
    array: Option<&ArrayRef>,
    rows: usize,
    numpy: bool,
) -> Result<(), BatchError> {
    let missing = |column: &mut Column, row: usize| -> Result<(), BatchError> {
        rules::resolve(field, None)
            .and_then(|resolved| append_resolved(column, field, resolved, numpy))
            .map_err(|e| row_error(row, &field.name, e))
    };
    let Some(array) = array else {
        for row in 0..rows {
            missing(column, row)?;
        }
        return Ok(());
    };
    let fast = FastPath::for_column(field, array.as_ref());
    for row in 0..rows {
        if array.is_null(row) {
            missing(column, row)?;
            continue;
        }
        let appended = match &fast {
            Some(path) => path.append(column, field, row),
            None => field_to_json(array.as_ref(), row, field)
                .map_err(|e| cell_error(e, row, &field.name))
                .and_then(|value| {
                    append_value(column, field, &value).map_err(|e| row_error(row, &field.name, e))
                }),
        };
        appended?;
    }
    Ok(())
}

/// Direct conversions for the common column layouts.
enum FastPath<'a> {
    /// Any integer or float column for a numeric or BOOL field, checked as a JSON number.
    Number(&'a dyn Array),
    /// A string column for a string field.
    Str(&'a dyn Array),
    /// Float vectors: offsets of each row into a flat float32 child.
    FloatVector(Vec<usize>, &'a [f32]),
    /// Byte vectors (binary, fp16 and bf16 raw bytes): offsets into flat bytes.
    Bytes(Vec<usize>, &'a [u8]),
}

impl<'a> FastPath<'a> {
    fn for_column(field: &FieldSchema, array: &'a dyn Array) -> Option<FastPath<'a>> {
        let ty = field.data_type;
        match (ty, array.data_type()) {
            (DataType::Bool, ArrowType::Boolean) => Some(FastPath::Number(array)),
            (
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::Float
                | DataType::Double,
                t,
            ) if t.is_integer() || t.is_floating() => Some(FastPath::Number(array)),
            (
                DataType::VarChar | DataType::Text | DataType::Timestamptz | DataType::Geometry,
                ArrowType::Utf8 | ArrowType::LargeUtf8 | ArrowType::Utf8View,
            ) => Some(FastPath::Str(array)),
            (DataType::FloatVector, _) => {
                let (offsets, child) = list_parts(array)?;
                let floats = child.as_primitive_opt::<Float32Type>()?;
                (floats.null_count() == 0).then(|| FastPath::FloatVector(offsets, floats.values()))
            }
            (DataType::BinaryVector | DataType::Float16Vector | DataType::BFloat16Vector, _) => {
                if let Some(binary) = array.as_binary_opt::<i32>() {
                    let offsets = binary.value_offsets().iter().map(|o| *o as usize).collect();
                    return Some(FastPath::Bytes(offsets, binary.value_data()));
                }
                if let Some(fixed) = array.as_fixed_size_binary_opt() {
                    let w = fixed.value_length() as usize;
                    let offsets = (0..=fixed.len()).map(|i| i * w).collect();
                    return Some(FastPath::Bytes(offsets, fixed.value_data()));
                }
                let (offsets, child) = list_parts(array)?;
                let bytes = child.as_primitive_opt::<UInt8Type>()?;
                (bytes.null_count() == 0).then(|| FastPath::Bytes(offsets, bytes.values()))
            }
            _ => None,
        }
    }

    fn append(
        &self,
        column: &mut Column,
        field: &FieldSchema,
        row: usize,
    ) -> Result<(), BatchError> {
        let err = |e: RuleError| row_error(row, &field.name, e);
        match self {
            FastPath::Number(array) => {
                let value = match number_at(*array, row) {
                    Some(value) => value.map_err(|e| cell_error(e, row, &field.name))?,
                    None => Value::Null,
                };
                append_value(column, field, &value).map_err(err)
            }
            FastPath::Str(array) => {
                let s = str_at(*array, row).unwrap_or_default();
                rules::check_str_len(&field.name, s, field.varchar_limit()).map_err(err)?;
                column.push_str(s).map_err(|e| err(e.into()))
            }
            FastPath::FloatVector(offsets, values) => {
                let row_values = &values[offsets[row]..offsets[row + 1]];
                rules::float32_vector(field, row_values).map_err(err)?;
                if let Some(out) = column.float_vector_values() {
                    out.extend_from_slice(row_values);
                }
                column.commit_value();
                Ok(())
            }
            FastPath::Bytes(offsets, values) => {
                let row_values = &values[offsets[row]..offsets[row + 1]];
                let width = field.numpy_layout().map(|(_, w)| w).unwrap_or(0);
                if row_values.len() != width {
                    return Err(err(RuleError(format!(
                        "Illegal vector data for vector field: '{}': expected {width} bytes a row for {} with dim {}, got {}",
                        field.name,
                        field.data_type,
                        field.dim(),
                        row_values.len()
                    ))));
                }
                if let Some(out) = column.byte_vector_values() {
                    out.extend_from_slice(row_values);
                }
                column.commit_value();
                Ok(())
            }
        }
    }
}

/// A FLOAT_VECTOR column of a batch that row files print straight from its float32 values,
/// with no JSON value per element: a list of float32 without nulls, for a field that takes
/// values. [`row_object`] leaves these columns out.
pub(crate) struct FloatVectorColumn<'a> {
    /// The column's position in the batch.
    index: usize,
    /// The field's name.
    pub name: &'a str,
    /// Where each row's values start in `values`, and where the last row's end.
    offsets: Vec<usize>,
    values: &'a [f32],
}

impl<'a> FloatVectorColumn<'a> {
    /// Row `row`'s vector.
    pub fn row(&self, row: usize) -> &'a [f32] {
        &self.values[self.offsets[row]..self.offsets[row + 1]]
    }
}

/// The batch's columns that row files print as [`FloatVectorColumn`]s.
pub(crate) fn float_vector_columns<'a>(
    schema: &CollectionSchema,
    batch: &'a RecordBatch,
) -> Vec<FloatVectorColumn<'a>> {
    let columns = batch.schema_ref().fields().iter().zip(batch.columns());
    columns
        .enumerate()
        .filter_map(|(index, (arrow_field, array))| {
            let field = schema.field(arrow_field.name())?;
            // A function's output is refused whatever its value: the row path says so.
            if field.data_type != DataType::FloatVector
                || field.is_function_output
                || array.null_count() > 0
            {
                return None;
            }
            let (offsets, child) = list_parts(array.as_ref())?;
            let floats = child.as_primitive_opt::<Float32Type>()?;
            (floats.null_count() == 0).then(|| FloatVectorColumn {
                index,
                name: arrow_field.name(),
                offsets,
                values: floats.values(),
            })
        })
        .collect()
}

/// Row `row` of a batch as a JSON object, for file types written row by row, without the
/// `vectors` columns (printed from their values). Null cells of columns that match no field
/// are left out, as the column path leaves them out of `$meta`; a `$meta` column given as
/// JSON text is parsed, and its text kept when the parse loses digits (see
/// [`ExactText`](crate::ExactText)).
pub(crate) fn row_object(
    schema: &CollectionSchema,
    batch: &RecordBatch,
    vectors: &[FloatVectorColumn],
    row: usize,
) -> Result<(Value, Vec<(String, String)>), BatchError> {
    let mut object = Map::new();
    let mut exact = Vec::new();
    let columns = batch.schema_ref().fields().iter().zip(batch.columns());
    for (index, (field, array)) in columns.enumerate() {
        if vectors.iter().any(|v| v.index == index) {
            continue;
        }
        let name = field.name();
        let field = schema.field(name);
        let struct_field = schema.struct_fields.iter().find(|s| &s.name == name);
        if array.is_null(row) && field.is_none() && struct_field.is_none() {
            continue;
        }
        // Columnar layouts of half and sparse vectors are read as their values.
        let value = match (field, struct_field) {
            (Some(field), _) => field_to_json(array.as_ref(), row, field),
            (None, Some(st)) => struct_to_json(array.as_ref(), row, st),
            (None, None) => to_json(array.as_ref(), row),
        };
        let mut value = value.map_err(|e| cell_error(e, row, name))?;
        if name == DYNAMIC_FIELD
            && let Value::String(text) = &value
            && let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(text)
        {
            if loses_digits(&parsed) {
                exact.push((name.clone(), text.clone()));
            }
            value = parsed;
        }
        object.insert(name.clone(), value);
    }
    Ok((Value::Object(object), exact))
}

/// The batch error for an Arrow cell that has no JSON value: a column error for a type, a row
/// error for a value.
fn cell_error(error: CellError, row: usize, field: &str) -> BatchError {
    match error {
        CellError::Type(message) => BatchError::Column {
            field: field.to_string(),
            message,
        },
        CellError::NonFinite(v) => BatchError::Row {
            row,
            field: field.to_string(),
            message: format!("{v} is not a finite number (Milvus rejects NaN and infinity)"),
        },
    }
}

/// Notes the element keys of an array-of-struct column (`list<struct>`) that match no
/// sub-field: they are not written.
fn note_struct_columns(field: &StructFieldSchema, column: &ArrowType, dropped: &mut Dropped) {
    let element = match column {
        ArrowType::List(item) | ArrowType::LargeList(item) | ArrowType::FixedSizeList(item, _) => {
            item.data_type()
        }
        _ => return,
    };
    let ArrowType::Struct(children) = element else {
        return;
    };
    for child in children {
        if !field.fields.iter().any(|sub| &sub.name == child.name()) {
            dropped
                .struct_keys
                .insert(format!("{}[].{}", field.name, child.name()));
        }
    }
}
