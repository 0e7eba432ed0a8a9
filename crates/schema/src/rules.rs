//! Validation rules for one value of one field, for JSON input.
//!
//! Messages start with pymilvus 3.0.2's text (so users and scripts that know pymilvus
//! recognise them) and add what exactly is wrong. The rules differ from pymilvus where it
//! accepts values that fail later or that Milvus rejects (see the README's "Differences"):
//!
//! * INT64 and INT8_VECTOR ranges are checked here, not left to fail when a file is written;
//! * VARCHAR `max_length` counts UTF-8 bytes, as the Milvus server does;
//! * FLOAT values and vectors must be finite and fit float32 (Milvus rejects NaN and infinity);
//! * a JSON number without a fraction (`1`) is a valid FLOAT/DOUBLE/vector value, because JSON
//!   text does not distinguish `1` from `1.0`;
//! * binary vectors are a list of `dim` bits (0 or 1 only) or, as Milvus's own JSON import
//!   format has it, a list of `dim / 8` byte values;
//! * sparse indices must be integers in `[0, 2^32 - 1)`, without duplicates;
//! * a missing array element, or a null one, is an error (Milvus rejects null elements).

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::field::{DefaultValue, FieldSchema, StructFieldSchema};
use crate::types::DataType;

/// Why one value is not valid for its field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleError(pub String);

type Rule<T> = Result<T, RuleError>;

/// What a row holds for a field once absence, nulls and defaults are resolved.
#[derive(Debug, Clone, Copy)]
pub enum Resolved<'a> {
    /// A value to validate.
    Value(&'a Value),
    /// The field's default value (used as is, not validated again).
    Default(&'a DefaultValue),
    /// Null (the field is nullable and has no default).
    Null,
    /// The field is not written at all (auto-id primary key, function output).
    Skip,
}

/// Applies pymilvus's presence rules: auto-id keys and function outputs must be absent;
/// a missing or null value becomes the default, or null for a nullable field, and is an error
/// otherwise.
pub fn resolve<'a>(field: &'a FieldSchema, value: Option<&'a Value>) -> Rule<Resolved<'a>> {
    if field.is_primary && field.auto_id {
        return match value {
            Some(_) => Err(RuleError(format!(
                "The primary key field '{}' is auto-id, no need to provide",
                field.name
            ))),
            None => Ok(Resolved::Skip),
        };
    }
    if field.is_function_output {
        return match value {
            Some(_) => Err(RuleError(format!(
                "Field '{}' is function output, no need to provide",
                field.name
            ))),
            None => Ok(Resolved::Skip),
        };
    }
    match value {
        Some(v) if !v.is_null() => Ok(Resolved::Value(v)),
        _ => match (&field.default_value, field.nullable) {
            (Some(default), _) => Ok(Resolved::Default(default)),
            (None, true) => Ok(Resolved::Null),
            (None, false) => Err(RuleError(format!(
                "The field '{}' is not nullable, not allow None value",
                field.name
            ))),
        },
    }
}

fn scalar_error(field: &str, detail: impl std::fmt::Display) -> RuleError {
    RuleError(format!(
        "Illegal scalar value for field '{field}', value overflow or type mismatch: {detail}"
    ))
}

fn vector_error(field: &str, detail: impl std::fmt::Display) -> RuleError {
    RuleError(format!(
        "Illegal vector data for vector field: '{field}': {detail}"
    ))
}

/// Shows a value in an error, shortened so one huge value cannot flood the terminal.
pub fn preview(value: &Value) -> String {
    let text = value.to_string();
    if text.len() <= 80 {
        return text;
    }
    let mut cut = 77;
    while !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &text[..cut])
}

/// A `BOOL` value: JSON `true` or `false`.
pub fn bool_value(field: &str, value: &Value) -> Rule<bool> {
    value.as_bool().ok_or_else(|| {
        scalar_error(
            field,
            format_args!("expected true or false, got {}", preview(value)),
        )
    })
}

/// An `INT8`..`INT64` value: an integer literal in the type's range.
pub fn int_value(field: &str, value: &Value, ty: DataType) -> Rule<i64> {
    let (min, max) = int_range(ty);
    let Value::Number(n) = value else {
        return Err(scalar_error(
            field,
            format_args!("expected an integer, got {}", preview(value)),
        ));
    };
    match n.as_i64() {
        Some(v) if v >= min && v <= max => Ok(v),
        Some(v) => Err(scalar_error(
            field,
            format_args!("{v} is outside the {ty} range [{min}, {max}]"),
        )),
        // JSON's `-0` is parsed as the float -0.0 (it has no integer form with a sign);
        // Python and Milvus read it as the integer 0. (`-0.0` is taken the same way.)
        None if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => Ok(0),
        None if n.is_u64() => Err(scalar_error(
            field,
            format_args!("{n} is outside the {ty} range [{min}, {max}]"),
        )),
        None => Err(scalar_error(
            field,
            format_args!("expected an integer, got {n}"),
        )),
    }
}

fn int_range(ty: DataType) -> (i64, i64) {
    match ty {
        DataType::Int8 | DataType::Int8Vector => (i8::MIN as i64, i8::MAX as i64),
        DataType::Int16 => (i16::MIN as i64, i16::MAX as i64),
        DataType::Int32 => (i32::MIN as i64, i32::MAX as i64),
        _ => (i64::MIN, i64::MAX),
    }
}

/// A `FLOAT` or `DOUBLE` value: any finite JSON number; a FLOAT must also fit float32.
/// Returns the value as given (a double), which row formats print unrounded.
pub fn float_value(field: &str, value: &Value, ty: DataType) -> Rule<f64> {
    let Some(v) = value.as_f64() else {
        return Err(scalar_error(
            field,
            format_args!("expected a number, got {}", preview(value)),
        ));
    };
    check_float(v, ty).map_err(|detail| scalar_error(field, detail))
}

fn check_float(v: f64, ty: DataType) -> Result<f64, String> {
    if !v.is_finite() {
        return Err(format!(
            "{v} is not a finite number (Milvus rejects NaN and infinity)"
        ));
    }
    let float32 = matches!(
        ty,
        DataType::Float | DataType::FloatVector | DataType::SparseFloatVector
    );
    // Checked after rounding to float32, as it is stored: numpy prints float32's largest
    // value as 3.4028235e+38, a little above it as a double, and it rounds back to it.
    if float32 && !(v as f32).is_finite() {
        return Err(format!("{v} does not fit in a float32"));
    }
    Ok(v)
}

/// A string value of a `VARCHAR`, `TEXT`, `TIMESTAMPTZ` or `GEOMETRY` field.
/// `max_length` is in UTF-8 bytes, as the Milvus server counts it.
pub fn str_value<'a>(
    field: &str,
    value: &'a Value,
    ty: DataType,
    max_length: Option<usize>,
) -> Rule<&'a str> {
    let Some(s) = value.as_str() else {
        return Err(match ty {
            DataType::VarChar => RuleError(format!(
                "Illegal varchar value for field '{field}', length exceeds {} or type mismatch: expected a string, got {}",
                max_length.unwrap_or(0),
                preview(value)
            )),
            DataType::Text => RuleError(format!(
                "Illegal text value for field '{field}', type mismatch: expected a string, got {}",
                preview(value)
            )),
            _ => scalar_error(
                field,
                format_args!("expected a string, got {}", preview(value)),
            ),
        });
    };
    check_str_len(field, s, max_length)?;
    Ok(s)
}

/// The VARCHAR length rule alone: at most `max_length` UTF-8 bytes.
pub fn check_str_len(field: &str, s: &str, max_length: Option<usize>) -> Rule<()> {
    if let Some(max) = max_length
        && s.len() > max
    {
        return Err(RuleError(format!(
            "Illegal varchar value for field '{field}', length exceeds {max} or type mismatch: the value is {} UTF-8 bytes long ({} characters); Milvus counts max_length in bytes",
            s.len(),
            s.chars().count()
        )));
    }
    Ok(())
}

/// The error for a dense vector of the wrong length.
pub fn dim_error(field: &FieldSchema, got: usize) -> RuleError {
    vector_error(
        &field.name,
        format_args!(
            "array's length must be equal to vector dimension: got {got}, dim is {}",
            field.dim()
        ),
    )
}

/// The error for a NaN or infinite vector element.
pub fn non_finite_error(field: &FieldSchema, v: f64) -> RuleError {
    vector_error(
        &field.name,
        format_args!("{v} is not a finite number (Milvus rejects NaN and infinity)"),
    )
}

/// A FLOAT_VECTOR given as float32 values (Arrow input): as long as the field's dim, every
/// value finite, as [`check_value`] checks one given as JSON.
pub fn float32_vector(field: &FieldSchema, values: &[f32]) -> Rule<()> {
    if values.len() != field.dim() {
        return Err(dim_error(field, values.len()));
    }
    // Checked in blocks without an early exit, which the compiler vectorizes (this runs on
    // every float of every vector); the bad value is looked for only once there is one.
    let finite = values
        .chunks(64)
        .all(|block| block.iter().fold(true, |ok, v| ok & v.is_finite()));
    if finite {
        return Ok(());
    }
    match values.iter().find(|v| !v.is_finite()) {
        Some(bad) => Err(non_finite_error(field, *bad as f64)),
        None => Ok(()),
    }
}

/// Whether a parsed value holds a number whose JSON text serde_json could not keep: an
/// integer beyond 64 bits (parsed as a float at or above 2^63 in size) or `-0` (parsed as
/// -0.0). Python keeps both as integers, so a JSON value holding one is written from its
/// text. A float given as such (`1e30`, `-0.0`) is also flagged; its text gives the same
/// output.
pub fn loses_digits(value: &Value) -> bool {
    match value {
        Value::Number(n) => match n.as_f64() {
            // Below 2^63 in size serde_json keeps an integer as i64 or u64.
            Some(f) if n.is_f64() => f.abs() >= 2f64.powi(63) || (f == 0.0 && f.is_sign_negative()),
            _ => false,
        },
        Value::Array(items) => items.iter().any(loses_digits),
        Value::Object(members) => members.values().any(loses_digits),
        _ => false,
    }
}

/// The members of a JSON object's text, in order and repeats kept, each value as its text:
/// how a member whose parse [`loses_digits`] keeps its digits.
pub fn object_members(text: &str) -> serde_json::Result<Vec<(String, &RawValue)>> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, &'de RawValue)>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut members = Vec::new();
            while let Some(member) = map.next_entry()? {
                members.push(member);
            }
            Ok(members)
        }
    }
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let members = (&mut deserializer).deserialize_map(Members)?;
    deserializer.end()?;
    Ok(members)
}

/// A checked `JSON` field value.
#[derive(Debug)]
pub enum JsonField<'a> {
    /// An object or a list.
    Parsed(Cow<'a, Value>),
    /// JSON text of an object or a list whose parse would lose digits (see
    /// [`loses_digits`]): written from the text.
    Text(&'a str),
}

/// A `JSON` value: an object or a list, or a string holding JSON text (which is parsed, as
/// pymilvus does). Bare numbers, booleans and null are rejected, as pymilvus does.
pub fn json_value<'a>(field: &str, value: &'a Value) -> Rule<JsonField<'a>> {
    match value {
        Value::Object(_) | Value::Array(_) => Ok(JsonField::Parsed(Cow::Borrowed(value))),
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(parsed) if loses_digits(&parsed) => Ok(JsonField::Text(text)),
            Ok(parsed) => Ok(JsonField::Parsed(Cow::Owned(parsed))),
            Err(e) => Err(RuleError(format!(
                "Illegal JSON value for field '{field}', type mismatch or illegal format, error: {e}"
            ))),
        },
        other => Err(RuleError(format!(
            "Illegal JSON value for field '{field}', type mismatch: expected an object, a list or a JSON string, got {}",
            preview(other)
        ))),
    }
}

fn vector_items<'a>(field: &FieldSchema, value: &'a Value, accepts: &str) -> Rule<&'a [Value]> {
    let items = value.as_array().ok_or_else(|| {
        vector_error(
            &field.name,
            format_args!("only accept {accepts} for {} type field", field.data_type),
        )
    })?;
    if field.data_type != DataType::BinaryVector && items.len() != field.dim() {
        return Err(dim_error(field, items.len()));
    }
    Ok(items)
}

fn vector_float(field: &FieldSchema, item: &Value) -> Rule<f64> {
    let v = item.as_f64().ok_or_else(|| {
        vector_error(
            &field.name,
            format_args!("array's element must be float value, got {}", preview(item)),
        )
    })?;
    check_float(v, field.data_type).map_err(|detail| vector_error(&field.name, detail))
}

/// A `FLOAT_VECTOR`: `dim` finite numbers that fit float32, appended to `out`.
pub fn float_vector_into(field: &FieldSchema, value: &Value, out: &mut Vec<f32>) -> Rule<()> {
    let items = vector_items(field, value, "list[float]")?;
    let start = out.len();
    for item in items {
        match vector_float(field, item) {
            Ok(v) => out.push(v as f32),
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// A `FLOAT16_VECTOR` or `BFLOAT16_VECTOR`: `dim` numbers, appended to `out` as raw
/// little-endian half-precision bytes (round to nearest even from float32, as the Milvus
/// server converts JSON floats).
pub fn half_vector_into(field: &FieldSchema, value: &Value, out: &mut Vec<u8>) -> Rule<()> {
    let items = vector_items(field, value, "list[float]")?;
    let start = out.len();
    for item in items {
        let bytes = vector_float(field, item).and_then(|v| half_bytes(field, v));
        match bytes {
            Ok(b) => out.extend_from_slice(&b),
            Err(e) => {
                out.truncate(start);
                return Err(e);
            }
        }
    }
    Ok(())
}

/// One float as the two little-endian bytes of a FLOAT16 or BFLOAT16 field.
pub fn half_bytes(field: &FieldSchema, v: f64) -> Rule<[u8; 2]> {
    let single = v as f32;
    let (bytes, finite) = if field.data_type == DataType::BFloat16Vector {
        let h = half::bf16::from_f32(single);
        (h.to_le_bytes(), h.is_finite())
    } else {
        let h = half::f16::from_f32(single);
        (h.to_le_bytes(), h.is_finite())
    };
    if !finite {
        return Err(vector_error(
            &field.name,
            format_args!("{v} does not fit in a {}", field.data_type),
        ));
    }
    Ok(bytes)
}

/// A `BINARY_VECTOR`: a list of `dim` bits (0 or 1, packed most significant bit first, as
/// `numpy.packbits` does) or a list of `dim / 8` byte values; the bytes are appended to `out`.
pub fn binary_vector_into(field: &FieldSchema, value: &Value, out: &mut Vec<u8>) -> Rule<()> {
    let items = vector_items(field, value, "list of bits or bytes")?;
    let dim = field.dim();
    let as_u8 = |item: &Value, max: u64| -> Rule<u8> {
        item.as_u64()
            .filter(|v| *v <= max)
            .map(|v| v as u8)
            .ok_or_else(|| {
                vector_error(
                    &field.name,
                    format_args!("expected an integer in [0, {max}], got {}", preview(item)),
                )
            })
    };
    if items.len() == dim {
        let mut bytes = vec![0u8; dim / 8];
        for (i, item) in items.iter().enumerate() {
            if as_u8(item, 1)? == 1 {
                bytes[i / 8] |= 0x80 >> (i % 8);
            }
        }
        out.extend_from_slice(&bytes);
    } else if items.len() == dim / 8 {
        let bytes = items
            .iter()
            .map(|item| as_u8(item, 255))
            .collect::<Rule<Vec<u8>>>()?;
        out.extend_from_slice(&bytes);
    } else {
        return Err(vector_error(
            &field.name,
            format_args!(
                "length of the list must be equal to vector dimension: got {}, expected {dim} bits or {} bytes",
                items.len(),
                dim / 8
            ),
        ));
    }
    Ok(())
}

/// An `INT8_VECTOR`: `dim` integers in [-128, 127], appended to `out`.
pub fn int8_vector_into(field: &FieldSchema, value: &Value, out: &mut Vec<i8>) -> Rule<()> {
    let items = vector_items(field, value, "list[int8]")?;
    let start = out.len();
    for item in items {
        let v = match item.as_i64() {
            Some(v) if (-128..=127).contains(&v) => v as i8,
            Some(v) => {
                out.truncate(start);
                return Err(vector_error(
                    &field.name,
                    format_args!("{v} is outside the INT8 range [-128, 127]"),
                ));
            }
            None => {
                out.truncate(start);
                return Err(vector_error(
                    &field.name,
                    format_args!("array's element must be int value, got {}", preview(item)),
                ));
            }
        };
        out.push(v);
    }
    Ok(())
}

/// How a sparse vector was given; files keep the form so they match pymilvus.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SparseForm {
    /// `{"<index>": value, ...}`
    Map,
    /// `{"indices": [...], "values": [...]}`
    IndicesValues,
}

/// A validated sparse vector.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseVector {
    /// The form it was given in.
    pub form: SparseForm,
    /// Indices, in the order given.
    pub indices: Vec<u32>,
    /// Values, as given (doubles; they fit float32).
    pub values: Vec<f64>,
}

/// The largest sparse index Milvus accepts (indices are in `[0, 2^32 - 1)`).
pub const SPARSE_MAX_INDEX: u64 = u32::MAX as u64 - 1;

/// A `SPARSE_FLOAT_VECTOR`: an object `{"<index>": value}` (JSON keys are strings, so
/// numeric strings are the indices) or `{"indices": [...], "values": [...]}`.
pub fn sparse_vector(field: &FieldSchema, value: &Value) -> Rule<SparseVector> {
    let err = |detail: String| vector_error(&field.name, detail);
    let Some(map) = value.as_object() else {
        return Err(err(
            "only accept dict for SPARSE_FLOAT_VECTOR type field".into()
        ));
    };
    if map.is_empty() {
        return Err(err("empty sparse vector is not allowed".into()));
    }
    let index_of = |v: u64| -> Rule<u32> {
        if v > SPARSE_MAX_INDEX {
            return Err(err(format!(
                "sparse vector's index {v} is outside [0, {SPARSE_MAX_INDEX}]"
            )));
        }
        Ok(v as u32)
    };
    let value_of = |v: &Value| -> Rule<f64> {
        let f = v.as_f64().ok_or_else(|| {
            err(format!(
                "sparse vector's value must be float value, got {}",
                preview(v)
            ))
        })?;
        check_float(f, DataType::SparseFloatVector).map_err(err)
    };
    let (form, indices, values) = if let (Some(indices), Some(values)) =
        (map.get("indices"), map.get("values"))
    {
        let indices = indices
            .as_array()
            .ok_or_else(|| err("indices of sparse vector must be a list of int".into()))?;
        let values = values
            .as_array()
            .ok_or_else(|| err("values of sparse vector must be a list of float".into()))?;
        if indices.len() != values.len() {
            return Err(err(
                "length of indices and values of sparse vector must be equal".into(),
            ));
        }
        if indices.is_empty() {
            return Err(err("empty sparse vector is not allowed".into()));
        }
        let indices = indices
            .iter()
            .map(|i| match i.as_u64() {
                Some(v) => index_of(v),
                None => Err(err(format!(
                    "sparse vector's index must be integer value in [0, {SPARSE_MAX_INDEX}], got {}",
                    preview(i)
                ))),
            })
            .collect::<Rule<Vec<u32>>>()?;
        let values = values.iter().map(value_of).collect::<Rule<Vec<f64>>>()?;
        (SparseForm::IndicesValues, indices, values)
    } else {
        let mut indices = Vec::with_capacity(map.len());
        let mut values = Vec::with_capacity(map.len());
        for (key, v) in map {
            let parsed = key
                .parse::<u64>()
                .ok()
                .filter(|_| key.bytes().all(|b| b.is_ascii_digit()));
            let index = match parsed {
                Some(i) => index_of(i)?,
                None => {
                    return Err(err(format!(
                        "sparse vector's index must be integer value, got key \"{key}\""
                    )));
                }
            };
            indices.push(index);
            values.push(value_of(v)?);
        }
        (SparseForm::Map, indices, values)
    };
    let mut sorted = indices.clone();
    sorted.sort_unstable();
    if let Some(pair) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(err(format!(
            "sparse vector's index {} appears twice",
            pair[0]
        )));
    }
    Ok(SparseVector {
        form,
        indices,
        values,
    })
}

/// An `ARRAY`: a list of at most `max_capacity` elements; each element is checked with
/// [`array_element`].
pub fn array_items<'a>(field: &FieldSchema, value: &'a Value) -> Rule<&'a [Value]> {
    let capacity = field.max_capacity.unwrap_or(0);
    let items = value.as_array().ok_or_else(|| {
        RuleError(format!(
            "Illegal array value for field '{}', length exceeds capacity or type mismatch: expected a list, got {}",
            field.name,
            preview(value)
        ))
    })?;
    if items.len() > capacity {
        return Err(RuleError(format!(
            "Illegal array value for field '{}', length exceeds capacity or type mismatch: {} elements, max_capacity is {capacity}",
            field.name,
            items.len()
        )));
    }
    Ok(items)
}

/// A scalar array element, checked with the scalar rules of the array's element type.
pub fn array_element<'a>(field: &FieldSchema, item: &'a Value) -> Rule<ScalarValue<'a>> {
    let element = field.element_type.unwrap_or(DataType::Int64);
    if item.is_null() {
        return Err(RuleError(format!(
            "Illegal array value for field '{}': array elements cannot be null",
            field.name
        )));
    }
    scalar(&field.name, item, element, field.max_length)
}

/// A validated scalar (or array element).
#[derive(Debug, Clone, PartialEq)]
pub enum ScalarValue<'a> {
    /// BOOL
    Bool(bool),
    /// INT8..INT64
    Int(i64),
    /// FLOAT or DOUBLE, as given
    Float(f64),
    /// VARCHAR, TEXT, TIMESTAMPTZ, GEOMETRY
    Str(&'a str),
}

/// Checks a scalar of the given type (BOOL, integers, floats, strings).
pub fn scalar<'a>(
    field: &str,
    value: &'a Value,
    ty: DataType,
    max_length: Option<usize>,
) -> Rule<ScalarValue<'a>> {
    Ok(match ty {
        DataType::Bool => ScalarValue::Bool(bool_value(field, value)?),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            ScalarValue::Int(int_value(field, value, ty)?)
        }
        DataType::Float | DataType::Double => ScalarValue::Float(float_value(field, value, ty)?),
        DataType::VarChar => ScalarValue::Str(str_value(field, value, ty, max_length)?),
        _ => ScalarValue::Str(str_value(field, value, ty, None)?),
    })
}

/// An array-of-struct value: a list of at most `max_capacity` objects that each hold every
/// sub-field. Returns the element objects; sub-values are checked by the caller with the
/// sub-field's own rules.
pub fn struct_items<'a>(
    field: &StructFieldSchema,
    value: &'a Value,
) -> Rule<Vec<&'a Map<String, Value>>> {
    let items = value.as_array().ok_or_else(|| {
        RuleError(format!(
            "Illegal value for struct field '{}', length exceeds capacity or type mismatch: only accept list of dict for STRUCT type field, got {}",
            field.name,
            preview(value)
        ))
    })?;
    if items.len() > field.max_capacity {
        return Err(RuleError(format!(
            "Illegal value for struct field '{}', length exceeds capacity or type mismatch: array's length must be less or equal than max_capacity ({} > {})",
            field.name,
            items.len(),
            field.max_capacity
        )));
    }
    items
        .iter()
        .map(|item| {
            let obj = item.as_object().ok_or_else(|| {
                RuleError(format!(
                    "Illegal value for struct field '{}', length exceeds capacity or type mismatch: only accept list of dict for STRUCT type field",
                    field.name
                ))
            })?;
            for sub in &field.fields {
                if obj.get(&sub.name).is_none_or(Value::is_null) {
                    return Err(RuleError(format!(
                        "Sub field '{}' of struct field '{}' is missed",
                        sub.name, field.name
                    )));
                }
            }
            Ok(obj)
        })
        .collect()
}

/// Where a field's checked value goes: the column buffers of a NumPy or Parquet segment, or
/// a cell of a JSON, JSONL or CSV file. [`check_value`] is the one per-type dispatch both
/// go through, so every file type accepts and refuses the same values with the same words.
pub trait ValueSink<'v> {
    /// What one value becomes (nothing for a column; the cell to print for a row file).
    type Out;
    /// A BOOL.
    fn bool(&mut self, value: bool) -> Rule<Self::Out>;
    /// An INT8 to INT64 value within its type's range.
    fn int(&mut self, value: i64) -> Rule<Self::Out>;
    /// A finite FLOAT or DOUBLE within its range, and the JSON number it was given as.
    fn float(&mut self, value: f64, given: &'v Value) -> Rule<Self::Out>;
    /// A VARCHAR, TEXT, TIMESTAMPTZ or GEOMETRY string within its length.
    fn text(&mut self, value: &'v str) -> Rule<Self::Out>;
    /// The value of a JSON field.
    fn json(&mut self, value: JsonField<'v>) -> Rule<Self::Out>;
    /// Where a FLOAT_VECTOR's elements are appended (`None`: nowhere to check them into).
    fn floats(&mut self) -> Option<&mut Vec<f32>>;
    /// Where a BINARY_VECTOR's packed bytes or a FLOAT16/BFLOAT16 vector's half bytes are
    /// appended.
    fn bytes(&mut self) -> Option<&mut Vec<u8>>;
    /// Where an INT8_VECTOR's elements are appended.
    fn int8s(&mut self) -> Option<&mut Vec<i8>>;
    /// A dense vector whose elements were appended to its buffer.
    fn vector(&mut self, data_type: DataType, given: &'v Value) -> Rule<Self::Out>;
    /// A SPARSE_FLOAT_VECTOR.
    fn sparse(&mut self, value: SparseVector, given: &'v Value) -> Rule<Self::Out>;
    /// One checked ARRAY element, in order.
    fn array_element(&mut self, value: ScalarValue<'v>) -> Rule<()>;
    /// The end of an ARRAY whose elements were all given.
    fn array_end(&mut self, given: &'v Value) -> Rule<Self::Out>;
}

/// Checks `value` with `field`'s rules and hands the checked value to `sink`.
pub fn check_value<'v, S: ValueSink<'v>>(
    field: &'v FieldSchema,
    value: &'v Value,
    sink: &mut S,
) -> Rule<S::Out> {
    let name = field.name.as_str();
    match field.data_type {
        DataType::Bool => sink.bool(bool_value(name, value)?),
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
            sink.int(int_value(name, value, field.data_type)?)
        }
        DataType::Float | DataType::Double => {
            sink.float(float_value(name, value, field.data_type)?, value)
        }
        DataType::VarChar | DataType::Text | DataType::Timestamptz | DataType::Geometry => sink
            .text(str_value(
                name,
                value,
                field.data_type,
                field.varchar_limit(),
            )?),
        DataType::Json => sink.json(json_value(name, value)?),
        DataType::FloatVector => {
            if let Some(out) = sink.floats() {
                float_vector_into(field, value, out)?;
            }
            sink.vector(field.data_type, value)
        }
        DataType::Float16Vector | DataType::BFloat16Vector => {
            if let Some(out) = sink.bytes() {
                half_vector_into(field, value, out)?;
            }
            sink.vector(field.data_type, value)
        }
        DataType::BinaryVector => {
            if let Some(out) = sink.bytes() {
                binary_vector_into(field, value, out)?;
            }
            sink.vector(field.data_type, value)
        }
        DataType::Int8Vector => {
            if let Some(out) = sink.int8s() {
                int8_vector_into(field, value, out)?;
            }
            sink.vector(field.data_type, value)
        }
        DataType::SparseFloatVector => sink.sparse(sparse_vector(field, value)?, value),
        DataType::Array => {
            for item in array_items(field, value)? {
                sink.array_element(array_element(field, item)?)?;
            }
            sink.array_end(value)
        }
        DataType::Struct => Err(RuleError(format!(
            "field '{name}': STRUCT is only allowed inside struct_fields"
        ))),
    }
}

/// The error of a struct element's sub-field, naming both.
pub fn sub_field_error(
    field: &StructFieldSchema,
    sub: &FieldSchema,
    error: RuleError,
) -> RuleError {
    RuleError(format!(
        "Illegal value for struct field '{}', sub field '{}': {error}",
        field.name, sub.name
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn field(ty: DataType, dim: usize) -> FieldSchema {
        let mut f = FieldSchema::new("f", ty);
        f.dim = Some(dim);
        f
    }

    #[test]
    fn float32_limits_are_checked_after_rounding_and_minus_zero_is_an_integer() {
        // numpy's text for float32's largest value, and the value itself.
        let max = json!(3.4028235e38);
        assert_eq!(
            float_value("f", &max, DataType::Float).unwrap(),
            3.4028235e38
        );
        assert_eq!(3.4028235e38_f64 as f32, f32::MAX);
        assert!(float_value("f", &json!(3.5e38), DataType::Float).is_err());
        assert!(float_value("f", &json!(-3.5e38), DataType::Float).is_err());
        assert!(float_value("f", &json!(3.5e38), DataType::Double).is_ok());
        let minus_zero: Value = serde_json::from_str("-0").unwrap();
        assert_eq!(int_value("i", &minus_zero, DataType::Int64).unwrap(), 0);
        assert!(int_value("i", &json!(0.5), DataType::Int64).is_err());
    }

    #[test]
    fn json_text_that_a_parse_would_round_is_kept_as_text() {
        let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        for lossy in [
            "[1180591620717411303425]",
            "{\"a\": -0}",
            "[-9223372036854775809]",
        ] {
            assert!(loses_digits(&parse(lossy)), "{lossy}");
        }
        for exact in [
            "[9223372036854775807, -9223372036854775808, 18446744073709551615]",
            "[0.5, 0]",
        ] {
            assert!(!loses_digits(&parse(exact)), "{exact}");
        }
        let text = json!("{\"a\": 1180591620717411303425}");
        assert!(matches!(json_value("j", &text), Ok(JsonField::Text(t)) if t.contains("303425")));
        let plain = json!("{\"a\": 1}");
        assert!(matches!(json_value("j", &plain), Ok(JsonField::Parsed(_))));
        let members = object_members(r#"{"a": 1180591620717411303425, "a": [-0]}"#).unwrap();
        let texts: Vec<_> = members.iter().map(|(k, v)| (k.as_str(), v.get())).collect();
        assert_eq!(texts, [("a", "1180591620717411303425"), ("a", "[-0]")]);
    }

    #[test]
    fn binary_vector_bits_pack_msb_first_and_bytes_pass_through() {
        let f = field(DataType::BinaryVector, 16);
        let mut out = Vec::new();
        let bits = json!([1, 0, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
        binary_vector_into(&f, &bits, &mut out).unwrap();
        binary_vector_into(&f, &json!([178, 15]), &mut out).unwrap();
        assert_eq!(out, [178, 15, 178, 15]);
        let two = json!([2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        assert!(binary_vector_into(&f, &two, &mut out).is_err());
    }

    #[test]
    fn half_vectors_round_to_nearest_even() {
        let mut out = Vec::new();
        half_vector_into(
            &field(DataType::Float16Vector, 2),
            &json!([0.5, 0.1]),
            &mut out,
        )
        .unwrap();
        // numpy: np.array([0.5, 0.1], dtype=np.float16).tobytes() == b'\x00\x38\x66\x2e'
        assert_eq!(out, [0x00, 0x38, 0x66, 0x2e]);
        out.clear();
        half_vector_into(
            &field(DataType::BFloat16Vector, 2),
            &json!([0.5, 0.1]),
            &mut out,
        )
        .unwrap();
        // ml_dtypes: np.array([0.5, 0.1], dtype=bfloat16).tobytes() == b'\x00\x3f\xcd\x3d'
        assert_eq!(out, [0x00, 0x3f, 0xcd, 0x3d]);
        assert!(
            half_vector_into(
                &field(DataType::Float16Vector, 1),
                &json!([70000.0]),
                &mut out
            )
            .is_err()
        );
    }

    #[test]
    fn sparse_vectors_check_indices() {
        let f = field(DataType::SparseFloatVector, 0);
        let ok = sparse_vector(&f, &json!({"1": 0.5, "100": 0.25})).unwrap();
        assert_eq!(ok.indices, [1, 100]);
        for bad in [
            json!({"-1": 0.5}),
            json!({"4294967295": 0.5}),
            json!({"x": 0.5}),
            json!({"indices": [1, 1], "values": [0.1, 0.2]}),
            json!({"indices": [-1], "values": [0.1]}),
            json!({}),
        ] {
            assert!(sparse_vector(&f, &bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn int64_range_is_checked_at_append() {
        assert!(int_value("f", &json!(18446744073709551615u64), DataType::Int64).is_err());
        assert_eq!(
            int_value("f", &json!(i64::MAX), DataType::Int64),
            Ok(i64::MAX)
        );
        assert!(int_value("f", &json!(1.0), DataType::Int64).is_err());
    }
}
