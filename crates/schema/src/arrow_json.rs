//! Arrow cells as the JSON values the rules check: how a columnar value is seen as a Milvus
//! row value (numbers, strings, binary as byte lists, lists, structs as objects). The writer
//! uses it for layouts without a direct path and for row-text output; readers and the
//! conversion run use it to show a rejected Arrow row and to sample Parquet for inference.

use arrow_array::cast::AsArray;
use arrow_array::types::*;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType as ArrowType;
use serde_json::{Map, Number, Value};

use crate::{DataType, FieldSchema, StructFieldSchema};

/// Row offsets and the child array of a list-like column.
pub fn list_parts(array: &dyn Array) -> Option<(Vec<usize>, &ArrayRef)> {
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

/// A string cell (`utf8`, `large_utf8` or a view) as text; `None` for other types.
pub fn str_at(array: &dyn Array, row: usize) -> Option<&str> {
    if let Some(a) = array.as_string_opt::<i32>() {
        return Some(a.value(row));
    }
    if let Some(a) = array.as_string_opt::<i64>() {
        return Some(a.value(row));
    }
    array.as_string_view_opt().map(|a| a.value(row))
}

/// Why one Arrow cell has no JSON value.
pub enum CellError {
    /// The column's Arrow type is not supported at all.
    Type(String),
    /// NaN or infinity, which JSON cannot hold and Milvus rejects.
    NonFinite(f64),
}

fn float_value(v: f64) -> Result<Value, CellError> {
    Number::from_f64(v)
        .map(Value::Number)
        .ok_or(CellError::NonFinite(v))
}

/// A boolean or numeric cell as a JSON value (`None` for other types).
pub fn number_at(array: &dyn Array, row: usize) -> Option<Result<Value, CellError>> {
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
pub fn to_json(array: &dyn Array, row: usize) -> Result<Value, CellError> {
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
    if let Some(text) = temporal_text(array, row) {
        return Ok(Value::String(text));
    }
    Err(CellError::Type(format!(
        "Arrow type {} is not supported",
        array.data_type()
    )))
}

/// A date or timestamp cell as its stored integer: days since 1970-01-01 for `date32`,
/// milliseconds for `date64`, and a timestamp's count in its own unit (s, ms, µs, ns) since
/// the epoch (UTC when the column has a time zone). `None` for other types.
pub fn temporal_epoch(array: &dyn Array, row: usize) -> Option<i64> {
    use arrow_schema::TimeUnit;
    Some(match array.data_type() {
        ArrowType::Date32 => array.as_primitive::<Date32Type>().value(row) as i64,
        ArrowType::Date64 => array.as_primitive::<Date64Type>().value(row),
        ArrowType::Timestamp(TimeUnit::Second, _) => {
            array.as_primitive::<TimestampSecondType>().value(row)
        }
        ArrowType::Timestamp(TimeUnit::Millisecond, _) => {
            array.as_primitive::<TimestampMillisecondType>().value(row)
        }
        ArrowType::Timestamp(TimeUnit::Microsecond, _) => {
            array.as_primitive::<TimestampMicrosecondType>().value(row)
        }
        ArrowType::Timestamp(TimeUnit::Nanosecond, _) => {
            array.as_primitive::<TimestampNanosecondType>().value(row)
        }
        _ => return None,
    })
}

/// A date or timestamp cell as ISO 8601 text: `2024-01-31` for a date,
/// `2024-01-31T12:30:00.250` for a timestamp, with `+00:00` when the column has a time zone
/// (its values are UTC instants). `None` for other types.
fn temporal_text(array: &dyn Array, row: usize) -> Option<String> {
    use arrow_array::temporal_conversions::{
        date32_to_datetime, date64_to_datetime, timestamp_ms_to_datetime, timestamp_ns_to_datetime,
        timestamp_s_to_datetime, timestamp_us_to_datetime,
    };
    use arrow_schema::TimeUnit;
    let value = temporal_epoch(array, row)?;
    let (moment, zoned) = match array.data_type() {
        ArrowType::Date32 => return Some(date32_to_datetime(value as i32)?.date().to_string()),
        ArrowType::Date64 => return Some(date64_to_datetime(value)?.date().to_string()),
        ArrowType::Timestamp(unit, zone) => (
            match unit {
                TimeUnit::Second => timestamp_s_to_datetime(value),
                TimeUnit::Millisecond => timestamp_ms_to_datetime(value),
                TimeUnit::Microsecond => timestamp_us_to_datetime(value),
                TimeUnit::Nanosecond => timestamp_ns_to_datetime(value),
            }?,
            zone.is_some(),
        ),
        _ => return None,
    };
    let text = moment.format("%Y-%m-%dT%H:%M:%S%.f").to_string();
    Some(if zoned { format!("{text}+00:00") } else { text })
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

/// A cell of `array` as the JSON value `field`'s rules check: [`to_json`], except where a
/// columnar layout spells a value otherwise than JSON does. FLOAT16 and BFLOAT16 vectors given
/// as raw half bytes (`binary`, `fixed_size_binary` or a list of uint8: the layout our Parquet
/// and NumPy files and pymilvus's use) become their float values, and a SPARSE_FLOAT_VECTOR
/// in a string column is its JSON text.
pub fn field_to_json(
    array: &dyn Array,
    row: usize,
    field: &FieldSchema,
) -> Result<Value, CellError> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    match field.data_type {
        DataType::Float16Vector | DataType::BFloat16Vector => {
            if let Some(bytes) = cell_bytes(array, row)
                && bytes.len() % 2 == 0
            {
                let bf16 = field.data_type == DataType::BFloat16Vector;
                return bytes
                    .chunks_exact(2)
                    .map(|pair| {
                        let bits = [pair[0], pair[1]];
                        float_value(if bf16 {
                            half::bf16::from_le_bytes(bits).to_f64()
                        } else {
                            half::f16::from_le_bytes(bits).to_f64()
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array);
            }
        }
        // Dates and timestamps into integer fields: their stored epoch count.
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            if let Some(value) = temporal_epoch(array, row) {
                return Ok(Value::from(value));
            }
        }
        // Raw bytes (`v.tobytes()`) are not float values: read one number per byte they
        // would make a wrong vector four times too long.
        DataType::FloatVector
            if matches!(
                array.data_type(),
                ArrowType::Binary
                    | ArrowType::LargeBinary
                    | ArrowType::FixedSizeBinary(_)
                    | ArrowType::BinaryView
            ) =>
        {
            return Err(CellError::Type(format!(
                "a {} column holds bytes, not float values, and reading each byte as a number would corrupt the vectors: give the bytes' layout (f32le, f16le or bf16le) to decode them",
                array.data_type()
            )));
        }
        DataType::SparseFloatVector => {
            if let Some(text) = str_at(array, row) {
                return Ok(
                    serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.into()))
                );
            }
        }
        _ => {}
    }
    to_json(array, row)
}

/// An array-of-struct cell (`list<struct>`) as a list of objects whose sub-fields are read
/// with [`field_to_json`]; other layouts as [`to_json`] gives them.
pub fn struct_to_json(
    array: &dyn Array,
    row: usize,
    field: &StructFieldSchema,
) -> Result<Value, CellError> {
    if array.is_null(row) {
        return Ok(Value::Null);
    }
    let Some((offsets, child)) = list_parts(array) else {
        return to_json(array, row);
    };
    let Some(elements) = child.as_struct_opt() else {
        return to_json(array, row);
    };
    (offsets[row]..offsets[row + 1])
        .map(|i| {
            if elements.is_null(i) {
                return Ok(Value::Null);
            }
            let mut object = Map::new();
            for (arrow_field, column) in elements.fields().iter().zip(elements.columns()) {
                let name = arrow_field.name();
                let value = match field.fields.iter().find(|sub| &sub.name == name) {
                    Some(sub) => field_to_json(column.as_ref(), i, sub)?,
                    None => to_json(column.as_ref(), i)?,
                };
                object.insert(name.clone(), value);
            }
            Ok(Value::Object(object))
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Array)
}

/// The bytes of a binary-like cell: `binary`, `large_binary`, `fixed_size_binary`, or a list
/// of uint8.
fn cell_bytes(array: &dyn Array, row: usize) -> Option<&[u8]> {
    if let Some(a) = array.as_binary_opt::<i32>() {
        return Some(a.value(row));
    }
    if let Some(a) = array.as_binary_opt::<i64>() {
        return Some(a.value(row));
    }
    if let Some(a) = array.as_fixed_size_binary_opt() {
        return Some(a.value(row));
    }
    let (offsets, child) = list_parts(array)?;
    let bytes = child.as_primitive_opt::<UInt8Type>()?;
    if bytes.null_count() > 0 {
        return None;
    }
    Some(&bytes.values()[offsets[row]..offsets[row + 1]])
}
