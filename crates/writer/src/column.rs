//! Column buffers: one per written field, holding a segment's values contiguously (a
//! `Vec<f32>` of `rows × dim` for a float vector, not one object per row), and turning them
//! into Arrow arrays (for Parquet) or NPY payloads.

use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, ListArray, StringArray, StructArray, UInt8Array,
};
use arrow_buffer::{NullBuffer, OffsetBuffer, ScalarBuffer, ToByteSlice};
use arrow_schema::{DataType as ArrowType, Field, Fields};
use bulkwriter_schema::{DataType, FieldSchema, StructFieldSchema};
use bulkwriter_schema::{DefaultValue, NumpyDtype};

/// A typed value buffer. Vectors are flat (`rows × width` values); lists keep offsets into a
/// child column.
#[derive(Debug, Clone)]
pub(crate) enum ColumnData {
    Bool(Vec<bool>),
    Int8(Vec<i8>),
    Int16(Vec<i16>),
    Int32(Vec<i32>),
    Int64(Vec<i64>),
    Float32(Vec<f32>),
    Float64(Vec<f64>),
    /// UTF-8 values: `offsets[i]..offsets[i + 1]` into `bytes`.
    Utf8 {
        offsets: Vec<i32>,
        bytes: Vec<u8>,
    },
    /// A float vector: `width` floats a row.
    FloatVector {
        width: usize,
        values: Vec<f32>,
    },
    /// Binary and half-precision vectors as raw bytes, `width` bytes a row.
    ByteVector {
        width: usize,
        values: Vec<u8>,
    },
    /// An INT8 vector, `width` values a row.
    Int8Vector {
        width: usize,
        values: Vec<i8>,
    },
    /// An ARRAY: `offsets[i]..offsets[i + 1]` into the element column.
    List {
        offsets: Vec<i32>,
        child: Box<Column>,
    },
    /// An array of struct: offsets into one column per sub-field.
    StructList {
        offsets: Vec<i32>,
        children: Vec<Column>,
    },
}

/// A column buffer with optional validity (allocated at the first null).
#[derive(Debug, Clone)]
pub(crate) struct Column {
    pub data: ColumnData,
    validity: Option<Vec<bool>>,
    len: usize,
}

/// Where a segment would overflow Arrow's 32-bit offsets.
#[derive(Debug)]
pub(crate) struct OffsetOverflow;

fn next_offset(current: i32, add: usize) -> Result<i32, OffsetOverflow> {
    i32::try_from(add)
        .ok()
        .and_then(|a| current.checked_add(a))
        .ok_or(OffsetOverflow)
}

impl Column {
    /// An empty buffer for a field.
    pub fn for_field(field: &FieldSchema) -> Column {
        let width = match field.numpy_layout() {
            Ok((_, w)) => w,
            Err(_) => 0,
        };
        let data = match field.data_type {
            DataType::FloatVector => ColumnData::FloatVector {
                width,
                values: Vec::new(),
            },
            DataType::BinaryVector | DataType::Float16Vector | DataType::BFloat16Vector => {
                ColumnData::ByteVector {
                    width,
                    values: Vec::new(),
                }
            }
            DataType::Int8Vector => ColumnData::Int8Vector {
                width,
                values: Vec::new(),
            },
            DataType::Array => ColumnData::List {
                offsets: vec![0],
                child: Box::new(Column::scalar(
                    field.element_type.unwrap_or(DataType::Int64),
                )),
            },
            other => return Column::scalar(other),
        };
        Column::new(data)
    }

    /// An empty buffer for an array-of-struct field.
    pub fn for_struct(field: &StructFieldSchema) -> Column {
        Column::new(ColumnData::StructList {
            offsets: vec![0],
            children: field.fields.iter().map(Column::for_field).collect(),
        })
    }

    /// An empty buffer for a scalar type (strings for JSON, sparse vectors and `$meta`).
    pub fn scalar(ty: DataType) -> Column {
        Column::new(match ty {
            DataType::Bool => ColumnData::Bool(Vec::new()),
            DataType::Int8 => ColumnData::Int8(Vec::new()),
            DataType::Int16 => ColumnData::Int16(Vec::new()),
            DataType::Int32 => ColumnData::Int32(Vec::new()),
            DataType::Int64 => ColumnData::Int64(Vec::new()),
            DataType::Float => ColumnData::Float32(Vec::new()),
            DataType::Double => ColumnData::Float64(Vec::new()),
            _ => ColumnData::Utf8 {
                offsets: vec![0],
                bytes: Vec::new(),
            },
        })
    }

    fn new(data: ColumnData) -> Column {
        Column {
            data,
            validity: None,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Records that one value was appended (call after pushing to `data`).
    pub fn commit_value(&mut self) {
        if let Some(validity) = &mut self.validity {
            validity.push(true);
        }
        self.len += 1;
    }

    pub fn push_bool(&mut self, v: bool) {
        if let ColumnData::Bool(values) = &mut self.data {
            values.push(v);
        }
        self.commit_value();
    }

    /// Appends an integer already checked against the column's range.
    pub fn push_int(&mut self, v: i64) {
        match &mut self.data {
            ColumnData::Int8(values) => values.push(v as i8),
            ColumnData::Int16(values) => values.push(v as i16),
            ColumnData::Int32(values) => values.push(v as i32),
            ColumnData::Int64(values) => values.push(v),
            _ => {}
        }
        self.commit_value();
    }

    pub fn push_float(&mut self, v: f64) {
        match &mut self.data {
            ColumnData::Float32(values) => values.push(v as f32),
            ColumnData::Float64(values) => values.push(v),
            _ => {}
        }
        self.commit_value();
    }

    pub fn push_str(&mut self, s: &str) -> Result<(), OffsetOverflow> {
        if let ColumnData::Utf8 { offsets, bytes } = &mut self.data {
            let last = *offsets.last().unwrap_or(&0);
            offsets.push(next_offset(last, s.len())?);
            bytes.extend_from_slice(s.as_bytes());
        }
        self.commit_value();
        Ok(())
    }

    /// Appends a field's default value.
    pub fn push_default(&mut self, default: &DefaultValue) -> Result<(), OffsetOverflow> {
        match default {
            DefaultValue::Bool(b) => self.push_bool(*b),
            DefaultValue::Int(i) => self.push_int(*i),
            DefaultValue::Float(f) => self.push_float(*f as f64),
            DefaultValue::Double(d) => self.push_float(*d),
            DefaultValue::String(s) => self.push_str(s)?,
        }
        Ok(())
    }

    /// Appends a null: a placeholder value plus a cleared validity bit.
    pub fn push_null(&mut self) {
        let len = self.len;
        let validity = self.validity.get_or_insert_with(|| vec![true; len]);
        validity.push(false);
        match &mut self.data {
            ColumnData::Bool(v) => v.push(false),
            ColumnData::Int8(v) => v.push(0),
            ColumnData::Int16(v) => v.push(0),
            ColumnData::Int32(v) => v.push(0),
            ColumnData::Int64(v) => v.push(0),
            ColumnData::Float32(v) => v.push(0.0),
            ColumnData::Float64(v) => v.push(0.0),
            ColumnData::Utf8 { offsets, .. }
            | ColumnData::List { offsets, .. }
            | ColumnData::StructList { offsets, .. } => {
                let last = *offsets.last().unwrap_or(&0);
                offsets.push(last);
            }
            ColumnData::FloatVector { width, values } => values.resize(values.len() + *width, 0.0),
            ColumnData::ByteVector { width, values } => values.resize(values.len() + *width, 0),
            ColumnData::Int8Vector { width, values } => values.resize(values.len() + *width, 0),
        }
        self.len += 1;
    }

    /// Closes a list row whose elements were pushed to the child column(s).
    pub fn end_list(&mut self) -> Result<(), OffsetOverflow> {
        match &mut self.data {
            ColumnData::List { offsets, child } => {
                offsets.push(i32::try_from(child.len()).map_err(|_| OffsetOverflow)?)
            }
            ColumnData::StructList { offsets, children } => {
                let n = children.first().map_or(0, Column::len);
                offsets.push(i32::try_from(n).map_err(|_| OffsetOverflow)?);
            }
            _ => {}
        }
        self.commit_value();
        Ok(())
    }

    /// Drops every value and the validity (a reused buffer starts as a new one), keeping the
    /// memory.
    pub fn clear(&mut self) {
        self.truncate(0);
        self.validity = None;
        match &mut self.data {
            ColumnData::List { child, .. } => child.clear(),
            ColumnData::StructList { children, .. } => children.iter_mut().for_each(Column::clear),
            _ => {}
        }
    }

    /// Makes room for as many values as `like` holds (a buffer of the same field), plus an
    /// eighth, so a segment about as large as the last one never doubles a buffer on the way.
    pub fn reserve_like(&mut self, like: &Column) {
        fn room<T>(v: &mut Vec<T>, like: usize) {
            v.reserve_exact((like + like / 8).saturating_sub(v.len()));
        }
        match (&mut self.data, &like.data) {
            (ColumnData::Bool(v), ColumnData::Bool(l)) => room(v, l.len()),
            (ColumnData::Int8(v), ColumnData::Int8(l)) => room(v, l.len()),
            (ColumnData::Int16(v), ColumnData::Int16(l)) => room(v, l.len()),
            (ColumnData::Int32(v), ColumnData::Int32(l)) => room(v, l.len()),
            (ColumnData::Int64(v), ColumnData::Int64(l)) => room(v, l.len()),
            (ColumnData::Float32(v), ColumnData::Float32(l)) => room(v, l.len()),
            (ColumnData::Float64(v), ColumnData::Float64(l)) => room(v, l.len()),
            (
                ColumnData::Utf8 { offsets, bytes },
                ColumnData::Utf8 {
                    offsets: lo,
                    bytes: lb,
                },
            ) => {
                room(offsets, lo.len());
                room(bytes, lb.len());
            }
            (ColumnData::FloatVector { values, .. }, ColumnData::FloatVector { values: l, .. }) => {
                room(values, l.len())
            }
            (ColumnData::ByteVector { values, .. }, ColumnData::ByteVector { values: l, .. }) => {
                room(values, l.len())
            }
            (ColumnData::Int8Vector { values, .. }, ColumnData::Int8Vector { values: l, .. }) => {
                room(values, l.len())
            }
            (
                ColumnData::List { offsets, child },
                ColumnData::List {
                    offsets: lo,
                    child: lc,
                },
            ) => {
                room(offsets, lo.len());
                child.reserve_like(lc);
            }
            (
                ColumnData::StructList { offsets, children },
                ColumnData::StructList {
                    offsets: lo,
                    children: lc,
                },
            ) => {
                room(offsets, lo.len());
                children
                    .iter_mut()
                    .zip(lc)
                    .for_each(|(c, l)| c.reserve_like(l));
            }
            _ => {}
        }
    }

    /// Makes room for `target` rows in a column holding `rows`, each buffer scaled by
    /// `target / rows`. A reservation the allocator refuses is skipped: the buffers then
    /// grow as they fill.
    pub fn reserve_for_rows(&mut self, rows: usize, target: usize) {
        let rows = rows.max(1);
        let room = |len: usize| {
            let wanted = (len as u128 * target as u128 / rows as u128).min(usize::MAX as u128);
            (wanted as usize).saturating_sub(len)
        };
        fn grow<T>(v: &mut Vec<T>, extra: usize) {
            let _ = v.try_reserve_exact(extra);
        }
        match &mut self.data {
            ColumnData::Bool(v) => grow(v, room(v.len())),
            ColumnData::Int8(v) => grow(v, room(v.len())),
            ColumnData::Int16(v) => grow(v, room(v.len())),
            ColumnData::Int32(v) => grow(v, room(v.len())),
            ColumnData::Int64(v) => grow(v, room(v.len())),
            ColumnData::Float32(v) => grow(v, room(v.len())),
            ColumnData::Float64(v) => grow(v, room(v.len())),
            ColumnData::Utf8 { offsets, bytes } => {
                grow(offsets, room(offsets.len()));
                grow(bytes, room(bytes.len()));
            }
            ColumnData::FloatVector { values, .. } => grow(values, room(values.len())),
            ColumnData::ByteVector { values, .. } => grow(values, room(values.len())),
            ColumnData::Int8Vector { values, .. } => grow(values, room(values.len())),
            ColumnData::List { offsets, child } => {
                grow(offsets, room(offsets.len()));
                child.reserve_for_rows(rows, target);
            }
            ColumnData::StructList { offsets, children } => {
                grow(offsets, room(offsets.len()));
                for child in children {
                    child.reserve_for_rows(rows, target);
                }
            }
        }
    }

    /// Drops rows past `len`, undoing a partly appended row.
    pub fn truncate(&mut self, len: usize) {
        if len >= self.len {
            return;
        }
        if let Some(validity) = &mut self.validity {
            validity.truncate(len);
        }
        match &mut self.data {
            ColumnData::Bool(v) => v.truncate(len),
            ColumnData::Int8(v) => v.truncate(len),
            ColumnData::Int16(v) => v.truncate(len),
            ColumnData::Int32(v) => v.truncate(len),
            ColumnData::Int64(v) => v.truncate(len),
            ColumnData::Float32(v) => v.truncate(len),
            ColumnData::Float64(v) => v.truncate(len),
            ColumnData::Utf8 { offsets, bytes } => {
                offsets.truncate(len + 1);
                bytes.truncate(offsets[len] as usize);
            }
            ColumnData::FloatVector { width, values } => values.truncate(len * *width),
            ColumnData::ByteVector { width, values } => values.truncate(len * *width),
            ColumnData::Int8Vector { width, values } => values.truncate(len * *width),
            ColumnData::List { offsets, child } => {
                offsets.truncate(len + 1);
                child.truncate(offsets[len] as usize);
            }
            ColumnData::StructList { offsets, children } => {
                offsets.truncate(len + 1);
                for child in children {
                    child.truncate(offsets[len] as usize);
                }
            }
        }
        self.len = len;
    }

    /// Mutable access to a vector buffer, for the validation rules to append into.
    pub fn float_vector_values(&mut self) -> Option<&mut Vec<f32>> {
        match &mut self.data {
            ColumnData::FloatVector { values, .. } => Some(values),
            _ => None,
        }
    }

    pub fn byte_vector_values(&mut self) -> Option<&mut Vec<u8>> {
        match &mut self.data {
            ColumnData::ByteVector { values, .. } => Some(values),
            _ => None,
        }
    }

    pub fn int8_vector_values(&mut self) -> Option<&mut Vec<i8>> {
        match &mut self.data {
            ColumnData::Int8Vector { values, .. } => Some(values),
            _ => None,
        }
    }

    pub fn list_child(&mut self) -> Option<&mut Column> {
        match &mut self.data {
            ColumnData::List { child, .. } => Some(child),
            _ => None,
        }
    }

    pub fn struct_children(&mut self) -> Option<&mut [Column]> {
        match &mut self.data {
            ColumnData::StructList { children, .. } => Some(children),
            _ => None,
        }
    }

    /// The strings of a UTF-8 column, in order.
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        self.strings_from(0)
    }

    /// The strings of a UTF-8 column from row `start` on (without walking the rows before).
    pub fn strings_from(&self, start: usize) -> impl Iterator<Item = &str> {
        let (offsets, bytes): (&[i32], &[u8]) = match &self.data {
            ColumnData::Utf8 { offsets, bytes } => (offsets, bytes),
            _ => (&[0], &[]),
        };
        offsets[start.min(offsets.len())..]
            .windows(2)
            .map(move |w| {
                // Only whole `&str`s are ever pushed, so every range is valid UTF-8.
                std::str::from_utf8(&bytes[w[0] as usize..w[1] as usize]).unwrap_or("")
            })
    }

    /// Bytes this column will take once encoded: exact for fixed-width NumPy data, and for
    /// strings `rows × longest × 4` (NumPy's `<U`) or the UTF-8 bytes (Parquet).
    pub fn encoded_size(&self, numpy: bool, longest_chars: usize) -> usize {
        let validity = self.validity.as_ref().map_or(0, |v| v.len() / 8);
        validity
            + match &self.data {
                ColumnData::Bool(v) => v.len(),
                ColumnData::Int8(v) => v.len(),
                ColumnData::Int16(v) => v.len() * 2,
                ColumnData::Int32(v) => v.len() * 4,
                ColumnData::Float32(v) => v.len() * 4,
                ColumnData::Int64(v) => v.len() * 8,
                ColumnData::Float64(v) => v.len() * 8,
                ColumnData::Utf8 { offsets, bytes } => {
                    if numpy {
                        self.len * longest_chars.max(1) * 4
                    } else {
                        bytes.len() + offsets.len() * 4
                    }
                }
                ColumnData::FloatVector { values, .. } => values.len() * 4,
                ColumnData::ByteVector { values, .. } => values.len(),
                ColumnData::Int8Vector { values, .. } => values.len(),
                ColumnData::List { offsets, child } => {
                    offsets.len() * 4 + child.encoded_size(false, 0)
                }
                ColumnData::StructList { offsets, children } => {
                    offsets.len() * 4
                        + children
                            .iter()
                            .map(|c| c.encoded_size(false, 0))
                            .sum::<usize>()
                }
            }
    }

    fn nulls(&self) -> Option<NullBuffer> {
        self.validity
            .as_ref()
            .filter(|v| v.iter().any(|ok| !ok))
            .map(|v| NullBuffer::from(v.clone()))
    }

    /// The Arrow array of this column, of type `ty` (the field's [`FieldSchema::arrow_type`]),
    /// taking over its buffers.
    pub fn into_arrow(self, ty: &ArrowType) -> ArrayRef {
        let nulls = self.nulls();
        let len = self.len;
        let list_field = |ty: &ArrowType| -> Arc<Field> {
            match ty {
                ArrowType::List(f) => f.clone(),
                _ => Arc::new(Field::new("element", ArrowType::Null, true)),
            }
        };
        let fixed_offsets = |width: usize| {
            OffsetBuffer::new(ScalarBuffer::from(
                (0..=len).map(|i| (i * width) as i32).collect::<Vec<i32>>(),
            ))
        };
        // The buffers move into Arrow without a copy.
        match self.data {
            ColumnData::Bool(v) => Arc::new(BooleanArray::new(v.into_iter().collect(), nulls)),
            ColumnData::Int8(v) => Arc::new(Int8Array::new(ScalarBuffer::from(v), nulls)),
            ColumnData::Int16(v) => Arc::new(Int16Array::new(ScalarBuffer::from(v), nulls)),
            ColumnData::Int32(v) => Arc::new(Int32Array::new(ScalarBuffer::from(v), nulls)),
            ColumnData::Int64(v) => Arc::new(Int64Array::new(ScalarBuffer::from(v), nulls)),
            ColumnData::Float32(v) => Arc::new(Float32Array::new(ScalarBuffer::from(v), nulls)),
            ColumnData::Float64(v) => Arc::new(Float64Array::new(ScalarBuffer::from(v), nulls)),
            ColumnData::Utf8 { offsets, bytes } => Arc::new(StringArray::new(
                OffsetBuffer::new(ScalarBuffer::from(offsets)),
                bytes.into(),
                nulls,
            )),
            ColumnData::FloatVector { width, values } => Arc::new(ListArray::new(
                list_field(ty),
                fixed_offsets(width),
                Arc::new(Float32Array::from(values)),
                nulls,
            )),
            ColumnData::ByteVector { width, values } => Arc::new(ListArray::new(
                list_field(ty),
                fixed_offsets(width),
                Arc::new(UInt8Array::from(values)),
                nulls,
            )),
            ColumnData::Int8Vector { width, values } => Arc::new(ListArray::new(
                list_field(ty),
                fixed_offsets(width),
                Arc::new(Int8Array::from(values)),
                nulls,
            )),
            ColumnData::List { offsets, child } => {
                let field = list_field(ty);
                Arc::new(ListArray::new(
                    field.clone(),
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    child.into_arrow(field.data_type()),
                    nulls,
                ))
            }
            ColumnData::StructList { offsets, children } => {
                let field = list_field(ty);
                let fields: Fields = match field.data_type() {
                    ArrowType::Struct(fields) => fields.clone(),
                    _ => Fields::empty(),
                };
                let arrays = fields
                    .iter()
                    .zip(children)
                    .map(|(f, c)| c.into_arrow(f.data_type()))
                    .collect();
                let structs = StructArray::new(fields, arrays, None);
                Arc::new(ListArray::new(
                    field,
                    OffsetBuffer::new(ScalarBuffer::from(offsets)),
                    Arc::new(structs),
                    nulls,
                ))
            }
        }
    }

    /// Writes the NPY file of this column — numpy's header and the C-order payload — to
    /// `out` in blocks of about 1 MiB, straight from the column buffer (no whole-file copy).
    /// Only called for fields NumPy can hold; the writer refuses the others before any row is
    /// accepted.
    pub fn write_npy(
        &self,
        dtype: NumpyDtype,
        width: usize,
        out: &mut impl std::io::Write,
    ) -> std::io::Result<()> {
        const BLOCK: usize = 1 << 20;
        /// Sends the block once it is full (or, at the end, whatever it holds).
        fn emit(
            out: &mut impl std::io::Write,
            block: &mut Vec<u8>,
            last: bool,
        ) -> std::io::Result<()> {
            if block.len() >= BLOCK || (last && !block.is_empty()) {
                out.write_all(block)?;
                block.clear();
            }
            Ok(())
        }
        /// Sends what the block holds, then `payload` as it lies, in blocks.
        fn emit_bytes(
            out: &mut impl std::io::Write,
            block: &mut Vec<u8>,
            payload: &[u8],
        ) -> std::io::Result<()> {
            emit(out, block, true)?;
            payload
                .chunks(BLOCK)
                .try_for_each(|chunk| out.write_all(chunk))
        }
        let mut shape = vec![self.len];
        if width > 0 {
            shape.push(width);
        }
        let mut block: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
        if let ColumnData::Utf8 { .. } = &self.data {
            let longest = self
                .strings()
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
                .max(1);
            block.extend_from_slice(&crate::npy::header(&dtype.descr(longest), &shape));
            for s in self.strings() {
                let mut n = 0;
                for c in s.chars() {
                    block.extend_from_slice(&(c as u32).to_le_bytes());
                    n += 1;
                }
                block.extend(std::iter::repeat_n(0u8, (longest - n) * 4));
                emit(out, &mut block, false)?;
            }
            return emit(out, &mut block, true);
        }
        block.extend_from_slice(&crate::npy::header(&dtype.descr(0), &shape));
        // NPY payloads are little-endian, as numbers lie in memory on a little-endian
        // machine: there they go to `out` as they are, without a copy per value.
        macro_rules! numbers {
            ($values:expr, $bytes:expr) => {
                if cfg!(target_endian = "little") {
                    emit_bytes(out, &mut block, $values.as_slice().to_byte_slice())?;
                } else {
                    for chunk in $values.chunks(BLOCK / 8) {
                        for x in chunk {
                            block.extend_from_slice(&$bytes(*x));
                        }
                        emit(out, &mut block, false)?;
                    }
                }
            };
        }
        match &self.data {
            ColumnData::Bool(v) => {
                for chunk in v.chunks(BLOCK) {
                    block.extend(chunk.iter().map(|&b| u8::from(b)));
                    emit(out, &mut block, false)?;
                }
            }
            ColumnData::Int8(v) | ColumnData::Int8Vector { values: v, .. } => {
                numbers!(v, |x: i8| x.to_le_bytes())
            }
            ColumnData::Int16(v) => numbers!(v, i16::to_le_bytes),
            ColumnData::Int32(v) => numbers!(v, i32::to_le_bytes),
            ColumnData::Int64(v) => numbers!(v, i64::to_le_bytes),
            ColumnData::Float32(v) | ColumnData::FloatVector { values: v, .. } => {
                numbers!(v, f32::to_le_bytes)
            }
            ColumnData::Float64(v) => numbers!(v, f64::to_le_bytes),
            ColumnData::ByteVector { values, .. } => emit_bytes(out, &mut block, values)?,
            ColumnData::Utf8 { .. } | ColumnData::List { .. } | ColumnData::StructList { .. } => {}
        }
        emit(out, &mut block, true)
    }
}
