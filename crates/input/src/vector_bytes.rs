//! Float vectors stored as raw bytes in a Parquet `binary` / `large_binary` /
//! `fixed_size_binary` column (`v.tobytes()` in numpy, a common way to keep embeddings):
//! decoded, when the user names the bytes' layout, into `fixed_size_list<float32>` columns
//! the writer takes as float vectors. Without a layout such a column is refused, never read
//! one number per byte.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch};
use arrow_schema::{DataType, Field, Schema};

use crate::InputError;

/// How a float vector's bytes are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorBytes {
    /// float32, little-endian (numpy's `float32` `tobytes()` on x86 and ARM).
    F32Le,
    /// IEEE half precision, little-endian (`float16`).
    F16Le,
    /// bfloat16, little-endian (`ml_dtypes.bfloat16`, torch's `bfloat16`).
    Bf16Le,
}

impl VectorBytes {
    /// The layout's name, as [`FromStr`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            VectorBytes::F32Le => "f32le",
            VectorBytes::F16Le => "f16le",
            VectorBytes::Bf16Le => "bf16le",
        }
    }

    /// Bytes per value.
    fn width(self) -> usize {
        match self {
            VectorBytes::F32Le => 4,
            VectorBytes::F16Le | VectorBytes::Bf16Le => 2,
        }
    }

    fn value(self, bytes: &[u8]) -> f32 {
        match self {
            VectorBytes::F32Le => f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            VectorBytes::F16Le => half::f16::from_le_bytes([bytes[0], bytes[1]]).to_f32(),
            VectorBytes::Bf16Le => half::bf16::from_le_bytes([bytes[0], bytes[1]]).to_f32(),
        }
    }
}

impl fmt::Display for VectorBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for VectorBytes {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "f32le" | "float32" => Ok(VectorBytes::F32Le),
            "f16le" | "float16" => Ok(VectorBytes::F16Le),
            "bf16le" | "bfloat16" => Ok(VectorBytes::Bf16Le),
            _ => Err(format!(
                "unknown vector byte layout {text:?} (one of f32le, f16le, bf16le)"
            )),
        }
    }
}

/// Decodes the byte columns named in `layouts` (by field name) into float vectors; other
/// columns are left as they are. `first_row` numbers the rows in errors.
pub(crate) fn decode(
    batch: RecordBatch,
    layouts: &HashMap<String, VectorBytes>,
    first_row: u64,
) -> Result<RecordBatch, InputError> {
    if layouts.is_empty() {
        return Ok(batch);
    }
    let schema = batch.schema();
    let mut fields: Vec<Field> = Vec::with_capacity(schema.fields().len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (field, column) in schema.fields().iter().zip(batch.columns()) {
        match layouts.get(field.name()) {
            Some(layout) => {
                let decoded =
                    decode_column(column.as_ref(), *layout).map_err(|(row, reason)| {
                        InputError::read(format!(
                            "column '{}' as {layout} vector bytes: row {}: {reason}",
                            field.name(),
                            first_row + row as u64 + 1
                        ))
                    })?;
                fields.push(Field::new(field.name(), decoded.data_type().clone(), true));
                columns.push(decoded);
            }
            None => {
                fields.push(field.as_ref().clone());
                columns.push(Arc::clone(column));
            }
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| InputError::read(format!("decoding vector bytes: {e}")))
}

/// A byte column as `fixed_size_list<float32>`; every row must have the same whole number of
/// values. Errors carry the 0-based row.
fn decode_column(column: &dyn Array, layout: VectorBytes) -> Result<ArrayRef, (usize, String)> {
    let rows: Vec<Option<&[u8]>> = match column.data_type() {
        DataType::Binary => column.as_binary::<i32>().iter().collect(),
        DataType::LargeBinary => column.as_binary::<i64>().iter().collect(),
        DataType::FixedSizeBinary(_) => column.as_fixed_size_binary().iter().collect(),
        DataType::BinaryView => column.as_binary_view().iter().collect(),
        other => {
            return Err((
                0,
                format!("{layout} decodes binary columns, and this column is {other}"),
            ));
        }
    };
    let width = layout.width();
    let length = rows
        .iter()
        .flatten()
        .map(|b| b.len())
        .next()
        .unwrap_or(width);
    if length == 0 || length % width != 0 {
        return Err((
            0,
            format!("{length} bytes is not a whole number of {layout} values ({width} bytes each)"),
        ));
    }
    let dim = length / width;
    let mut values = Vec::with_capacity(rows.len() * dim);
    let mut nulls = Vec::with_capacity(rows.len());
    for (row, bytes) in rows.iter().enumerate() {
        match bytes {
            Some(bytes) if bytes.len() == length => {
                values.extend(bytes.chunks_exact(width).map(|b| layout.value(b)));
                nulls.push(true);
            }
            Some(bytes) => {
                return Err((
                    row,
                    format!(
                        "{} bytes, where the first row has {length} ({dim} {layout} values)",
                        bytes.len()
                    ),
                ));
            }
            None => {
                values.extend(std::iter::repeat_n(0.0, dim));
                nulls.push(false);
            }
        }
    }
    let item = Arc::new(Field::new("item", DataType::Float32, true));
    let list = FixedSizeListArray::try_new(
        item,
        dim as i32,
        Arc::new(Float32Array::from(values)),
        Some(nulls.into()),
    )
    .map_err(|e| (0, e.to_string()))?;
    Ok(Arc::new(list))
}

#[cfg(test)]
mod tests {
    use arrow_array::{BinaryArray, FixedSizeBinaryArray};

    use super::*;

    #[test]
    fn bytes_decode_to_the_floats_they_hold() {
        let v = [0.5f32, -1.25, 3.0, 0.1];
        let f32_bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        let column = BinaryArray::from(vec![Some(&f32_bytes[..]), None]);
        let list = decode_column(&column, VectorBytes::F32Le).unwrap();
        let list = list.as_fixed_size_list();
        assert_eq!(list.value_length(), 4);
        assert_eq!(
            list.value(0)
                .as_primitive::<arrow_array::types::Float32Type>()
                .values(),
            &v
        );
        assert!(list.is_null(1));

        let f16_bytes: Vec<u8> = v
            .iter()
            .flat_map(|x| half::f16::from_f32(*x).to_le_bytes())
            .collect();
        let fixed = FixedSizeBinaryArray::try_from_iter([f16_bytes].into_iter()).unwrap();
        let list = decode_column(&fixed, VectorBytes::F16Le).unwrap();
        let values = list.as_fixed_size_list().value(0);
        let values = values
            .as_primitive::<arrow_array::types::Float32Type>()
            .values();
        assert_eq!(values[..3], [0.5, -1.25, 3.0]);
        assert_eq!(values[3], half::f16::from_f32(0.1).to_f32());

        let ragged = BinaryArray::from(vec![&f32_bytes[..], &f32_bytes[..8]]);
        let (row, reason) = decode_column(&ragged, VectorBytes::F32Le).unwrap_err();
        assert_eq!(row, 1);
        assert!(reason.contains("8 bytes"), "{reason}");
        assert!(decode_column(&BinaryArray::from(vec![&b"abc"[..]]), VectorBytes::F32Le).is_err());
    }
}
