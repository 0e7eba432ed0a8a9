//! Appending Arrow record batches column by column.
//!
//! Columns are matched to fields by name. Common layouts take a direct path (integers,
//! floats, booleans, strings, float vectors as `list`/`large_list`/`fixed_size_list` of
//! float32, byte vectors as lists of uint8 or binary); any other layout is converted one value
//! at a time to JSON and checked by exactly the rules rows go through, so both paths accept
//! and reject the same values.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType as ArrowType;
use bulkwriter_schema::rules::{self, RuleError};
use bulkwriter_schema::{CollectionSchema, DYNAMIC_FIELD, DataType, FieldSchema};
use serde_json::{Map, Number, Value};

use crate::column::Column;
use crate::options::FileType;
use crate::pyjson;
use crate::segment::{SegmentBuffer, append_resolved, append_value};

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
    dropped: &mut BTreeSet<String>,
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
    dropped: &mut BTreeSet<String>,
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
        for row in 0..rows {
            let value = match array {
                Some(a) if !a.is_null(row) => {
                    to_json(a.as_ref(), row).map_err(|e| e.at(row, &st.name))?
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
        dropped.extend(extras.iter().map(|(name, _)| name.to_string()));
        return Ok(());
    }
    let column = &mut buffer.columns[col];
    for row in 0..rows {
        let mut meta = Map::new();
        for (name, array) in &extras {
            if array.is_null(row) {
                continue;
            }
            let value = to_json(array.as_ref(), row).map_err(|e| e.at(row, name))?;
            if *name == DYNAMIC_FIELD {
                let parsed = match value {
                    Value::String(text) => {
                        serde_json::from_str(&text).unwrap_or(Value::String(text))
                    }
                    other => other,
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
                meta.extend(inner);
            } else {
                meta.insert(name.to_string(), value);
            }
        }
        column
            .push_str(&pyjson::dumps(&Value::Object(meta)))
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
            None => to_json(array.as_ref(), row)
                .map_err(|e| e.at(row, &field.name))
                .and_then(|value| {
                    let value = match (field.data_type, value) {
                        // A sparse vector in a string column is JSON text.
                        (DataType::SparseFloatVector, Value::String(text)) => {
                            serde_json::from_str(&text).unwrap_or(Value::String(text))
                        }
                        (_, v) => v,
                    };
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
                    Some(value) => value.map_err(|e| e.at(row, &field.name))?,
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
                if row_values.len() != field.dim() {
                    return Err(err(rules::dim_error(field, row_values.len())));
                }
                if let Some(bad) = row_values.iter().find(|v| !v.is_finite()) {
                    return Err(err(rules::non_finite_error(field, *bad as f64)));
                }
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

/// Row offsets and the child array of a list-like column.
fn list_parts(array: &dyn Array) -> Option<(Vec<usize>, &ArrayRef)> {
    if let Some(list) = array.as_list_opt::<i32>() {
        let offsets = list.value_offsets().iter().map(|o| *o as usize).collect();
        return Some((offsets, list.values()));
    }
    if let Some(list) = array.as_list_opt::<i64>() {
        let offsets = list.value_offsets().iter().map(|o| *o as usize).collect();
        return Some((offsets, list.values()));
    }
    if let Some(list) = array.as_fixed_size_list_opt() {
        let w = list.value_length() as usize;
        let offsets = (0..=list.len()).map(|i| (list.offset() + i) * w).collect();
        return Some((offsets, list.values()));
    }
    None
}

fn str_at(array: &dyn Array, row: usize) -> Option<&str> {
    if let Some(a) = array.as_string_opt::<i32>() {
        return Some(a.value(row));
    }
    if let Some(a) = array.as_string_opt::<i64>() {
        return Some(a.value(row));
    }
    array.as_string_view_opt().map(|a| a.value(row))
}

/// Why one Arrow cell has no JSON value.
pub(crate) enum CellError {
    /// The column's Arrow type is not supported at all.
    Type(String),
    /// NaN or infinity, which JSON cannot hold and Milvus rejects.
    NonFinite(f64),
}

impl CellError {
    /// The batch error for this cell: a column error for a type, a row error for a value.
    fn at(self, row: usize, field: &str) -> BatchError {
        match self {
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
}

fn float_value(v: f64) -> Result<Value, CellError> {
    Number::from_f64(v)
        .map(Value::Number)
        .ok_or(CellError::NonFinite(v))
}

/// A boolean or numeric cell as a JSON value (`None` for other types).
fn number_at(array: &dyn Array, row: usize) -> Option<Result<Value, CellError>> {
    macro_rules! prim {
        ($t:ty) => {
            array
                .as_primitive_opt::<$t>()
                .map(|a| Value::from(a.value(row)))
        };
    }
    Some(Ok(match array.data_type() {
        ArrowType::Boolean => Value::Bool(array.as_boolean().value(row)),
        ArrowType::Int8 => prim!(Int8Type)?,
        ArrowType::Int16 => prim!(Int16Type)?,
        ArrowType::Int32 => prim!(Int32Type)?,
        ArrowType::Int64 => prim!(Int64Type)?,
        ArrowType::UInt8 => prim!(UInt8Type)?,
        ArrowType::UInt16 => prim!(UInt16Type)?,
        ArrowType::UInt32 => prim!(UInt32Type)?,
        ArrowType::UInt64 => prim!(UInt64Type)?,
        ArrowType::Float16 => {
            return Some(float_value(
                array.as_primitive::<Float16Type>().value(row).to_f64(),
            ));
        }
        ArrowType::Float32 => {
            return Some(float_value(
                array.as_primitive::<Float32Type>().value(row) as f64
            ));
        }
        ArrowType::Float64 => {
            return Some(float_value(array.as_primitive::<Float64Type>().value(row)));
        }
        _ => return None,
    }))
}

/// Any supported cell as a JSON value: scalars, strings, binary (as byte lists), lists and
/// structs (as objects).
pub(crate) fn to_json(array: &dyn Array, row: usize) -> Result<Value, CellError> {
    to_json_with(array, row, false)
}

/// [`to_json`]; when `lenient`, NaN and infinity become strings instead of errors.
fn to_json_with(array: &dyn Array, row: usize, lenient: bool) -> Result<Value, CellError> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    if let Some(v) = number_at(array, row) {
        return match v {
            Err(CellError::NonFinite(f)) if lenient => Ok(Value::String(f.to_string())),
            other => other,
        };
    }
    if let Some(s) = str_at(array, row) {
        return Ok(Value::String(s.to_string()));
    }
    let bytes = |b: &[u8]| Value::Array(b.iter().map(|x| Value::from(*x)).collect());
    if let Some(a) = array.as_binary_opt::<i32>() {
        return Ok(bytes(a.value(row)));
    }
    if let Some(a) = array.as_binary_opt::<i64>() {
        return Ok(bytes(a.value(row)));
    }
    if let Some(a) = array.as_fixed_size_binary_opt() {
        return Ok(bytes(a.value(row)));
    }
    if let Some((offsets, child)) = list_parts(array) {
        return (offsets[row]..offsets[row + 1])
            .map(|i| to_json_with(child.as_ref(), i, lenient))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    if let Some(st) = array.as_struct_opt() {
        let mut map = Map::new();
        for (field, child) in st.fields().iter().zip(st.columns()) {
            map.insert(
                field.name().clone(),
                to_json_with(child.as_ref(), row, lenient)?,
            );
        }
        return Ok(Value::Object(map));
    }
    Err(CellError::Type(format!(
        "Arrow type {} is not supported",
        array.data_type()
    )))
}

/// Row `row` of a batch as a JSON object, every column included (nulls as `null`): how a
/// rejected Arrow row is shown and kept in a reject file. Non-finite floats are written as
/// strings (`"NaN"`), since JSON has no number for them.
pub fn arrow_row_to_json(batch: &RecordBatch, row: usize) -> Value {
    let mut object = Map::new();
    for (field, array) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let value = match to_json_with(array.as_ref(), row, true) {
            Ok(v) => v,
            Err(CellError::NonFinite(v)) => Value::String(v.to_string()),
            Err(CellError::Type(message)) => Value::String(format!("<{message}>")),
        };
        object.insert(field.name().clone(), value);
    }
    Value::Object(object)
}

/// Row `row` of a batch as a JSON object, for file types written row by row. Null cells of
/// columns that match no field are left out, as the column path leaves them out of `$meta`;
/// a `$meta` column given as JSON text is parsed.
pub(crate) fn row_object(
    schema: &CollectionSchema,
    batch: &RecordBatch,
    row: usize,
) -> Result<Value, BatchError> {
    let mut object = Map::new();
    for (field, array) in batch.schema_ref().fields().iter().zip(batch.columns()) {
        let name = field.name();
        let in_schema =
            schema.field(name).is_some() || schema.struct_fields.iter().any(|s| &s.name == name);
        if array.is_null(row) && !in_schema {
            continue;
        }
        let mut value = to_json(array.as_ref(), row).map_err(|e| e.at(row, name))?;
        if name == DYNAMIC_FIELD
            && let Value::String(text) = &value
            && let Ok(parsed @ Value::Object(_)) = serde_json::from_str::<Value>(text)
        {
            value = parsed;
        }
        object.insert(name.clone(), value);
    }
    Ok(Value::Object(object))
}
