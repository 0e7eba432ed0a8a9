//! JSON Lines decoded straight into Arrow columns for a schema, without a `serde_json::Value`
//! per row and per number: the fast path of JSONL input into NumPy and Parquet output.
//!
//! Only what is certain to mean the same as the row path is taken: an object whose keys are
//! the schema's written fields, each once, with values of the plain JSON form of its type
//! (an integer literal for INT8..INT64, a literal with a fraction or exponent for FLOAT and
//! DOUBLE, `true`/`false` for BOOL, a string for VARCHAR, a list of numbers for
//! FLOAT_VECTOR). Anything else (a missing or unknown key, `null`, another form, a schema with
//! other field types) leaves the line to the row path, which parses it into a `Value` and
//! decides exactly as before. Values taken here are checked by the batch path, which applies
//! the rows' rules; a row it refuses is given to the row path again by the pipeline, so error
//! messages and reject files are the row path's.
//!
//! Numbers are parsed with `fast-float2`, correctly rounded like serde_json with its
//! `float_roundtrip` feature, so every float is the same `f64` (and the same `f32`) either way;
//! vector elements of the usual form are read straight into that `f32` ([`decimal_f32`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, BooleanArray, Float32Array, Float64Array, Int64Array, ListArray, RecordBatch,
    StringArray,
};
use arrow_buffer::{Buffer, OffsetBuffer};
use arrow_schema::{DataType as ArrowType, Field, Schema};
use bulkwriter_schema::{CollectionSchema, DataType};

use crate::decimal::decimal_f32;
use crate::{Chunk, RowPosition, line_chunk};

/// How one field's value is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Float,
    Bool,
    Str,
    FloatVector,
}

/// The columns JSONL lines of one schema decode into, or `None` when a written field has a
/// type this path does not take.
#[derive(Debug)]
pub(crate) struct LineColumns {
    /// Field name and kind, in schema order.
    fields: Vec<(String, Kind)>,
    /// Field name → index in `fields`.
    by_name: HashMap<String, usize>,
    /// Input key → field name (the column mapping).
    mapping: HashMap<String, String>,
    schema: Arc<Schema>,
}

impl LineColumns {
    pub(crate) fn for_schema(
        schema: &CollectionSchema,
        mapping: &HashMap<String, String>,
    ) -> Option<LineColumns> {
        if !schema.struct_fields.is_empty() {
            return None;
        }
        let mut fields = Vec::new();
        let mut arrow_fields = Vec::new();
        for field in schema.fields.iter().filter(|f| f.is_written()) {
            let (kind, arrow) = match field.data_type {
                DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => {
                    (Kind::Int, ArrowType::Int64)
                }
                DataType::Float | DataType::Double => (Kind::Float, ArrowType::Float64),
                DataType::Bool => (Kind::Bool, ArrowType::Boolean),
                DataType::VarChar => (Kind::Str, ArrowType::Utf8),
                DataType::FloatVector => (
                    Kind::FloatVector,
                    ArrowType::List(Arc::new(Field::new("item", ArrowType::Float32, false))),
                ),
                _ => return None,
            };
            fields.push((field.name.clone(), kind));
            arrow_fields.push(Field::new(&field.name, arrow, false));
        }
        let by_name = fields
            .iter()
            .enumerate()
            .map(|(i, (name, _))| (name.clone(), i))
            .collect();
        Some(LineColumns {
            fields,
            by_name,
            mapping: mapping.clone(),
            schema: Arc::new(Schema::new(arrow_fields)),
        })
    }

    /// Decodes a block of lines in order: runs of lines taken here become batches, any other
    /// line a row chunk. After the first line this path leaves, the rest of the block goes to
    /// the row path too, so data it never takes costs one attempt per block.
    pub(crate) fn decode(&self, lines: Vec<(RowPosition, String)>) -> Vec<Chunk> {
        let mut chunks = Vec::new();
        let mut columns = self.builders();
        let mut taken = Vec::new();
        let mut lines = lines.into_iter();
        for (position, line) in lines.by_ref() {
            if self.decode_line(&line, &mut columns) {
                taken.push((position, line));
                continue;
            }
            if !taken.is_empty() {
                chunks.push(self.finish(&mut columns, std::mem::take(&mut taken)));
            }
            chunks.push(line_chunk(position, line, &self.mapping));
            break;
        }
        if !taken.is_empty() {
            chunks.push(self.finish(&mut columns, taken));
        }
        chunks.extend(lines.map(|(position, line)| line_chunk(position, line, &self.mapping)));
        chunks
    }

    fn builders(&self) -> Vec<Builder> {
        self.fields
            .iter()
            .map(|(_, kind)| match kind {
                Kind::Int => Builder::Int(Vec::new()),
                Kind::Float => Builder::Float(Vec::new()),
                Kind::Bool => Builder::Bool(Vec::new()),
                Kind::Str => Builder::Str {
                    offsets: vec![0],
                    bytes: Vec::new(),
                },
                Kind::FloatVector => Builder::FloatVector {
                    offsets: vec![0],
                    values: Vec::new(),
                },
            })
            .collect()
    }

    fn finish(&self, columns: &mut [Builder], lines: Vec<(RowPosition, String)>) -> Chunk {
        let arrays: Vec<ArrayRef> = columns.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(Arc::clone(&self.schema), arrays)
            .expect("every column holds one value per line taken");
        Chunk::Lines { batch, lines }
    }

    /// Appends one line's values to `columns` and says whether it was taken; a line not
    /// taken leaves `columns` as they were.
    fn decode_line(&self, line: &str, columns: &mut [Builder]) -> bool {
        let rows = columns.first().map_or(0, Builder::len);
        let mut seen = vec![false; self.fields.len()];
        let taken = self.scan_line(line, columns, &mut seen).is_some() && !seen.contains(&false);
        if !taken {
            for column in columns.iter_mut() {
                column.truncate(rows);
            }
        }
        taken
    }

    fn scan_line(&self, line: &str, columns: &mut [Builder], seen: &mut [bool]) -> Option<()> {
        let mut scan = Scan::new(line);
        scan.expect(b'{')?;
        if scan.peek()? == b'}' {
            scan.next()?;
        } else {
            loop {
                let key = scan.string()?;
                let name = self
                    .mapping
                    .get(key.as_ref())
                    .map_or(key.as_ref(), String::as_str);
                let index = *self.by_name.get(name)?;
                if std::mem::replace(&mut seen[index], true) {
                    return None;
                }
                scan.expect(b':')?;
                scan.value_into(&mut columns[index])?;
                match scan.next()? {
                    b',' => continue,
                    b'}' => break,
                    _ => return None,
                }
            }
        }
        scan.at_end().then_some(())
    }
}

/// One column being filled, one value per line taken.
enum Builder {
    Int(Vec<i64>),
    Float(Vec<f64>),
    Bool(Vec<bool>),
    Str { offsets: Vec<i32>, bytes: Vec<u8> },
    FloatVector { offsets: Vec<i32>, values: Vec<f32> },
}

impl Builder {
    fn len(&self) -> usize {
        match self {
            Builder::Int(v) => v.len(),
            Builder::Float(v) => v.len(),
            Builder::Bool(v) => v.len(),
            Builder::Str { offsets, .. } | Builder::FloatVector { offsets, .. } => {
                offsets.len() - 1
            }
        }
    }

    /// Drops the values after the first `rows` (and any part of a value being read).
    fn truncate(&mut self, rows: usize) {
        match self {
            Builder::Int(v) => v.truncate(rows),
            Builder::Float(v) => v.truncate(rows),
            Builder::Bool(v) => v.truncate(rows),
            Builder::Str { offsets, bytes } => {
                offsets.truncate(rows + 1);
                bytes.truncate(offsets[rows] as usize);
            }
            Builder::FloatVector { offsets, values } => {
                offsets.truncate(rows + 1);
                values.truncate(offsets[rows] as usize);
            }
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Int(v) => Arc::new(Int64Array::from(std::mem::take(v))),
            Builder::Float(v) => Arc::new(Float64Array::from(std::mem::take(v))),
            Builder::Bool(v) => Arc::new(BooleanArray::from(std::mem::take(v))),
            Builder::Str { offsets, bytes } => {
                let offsets = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                let bytes = Buffer::from_vec(std::mem::take(bytes));
                // Whole strings of `&str` lines, or serde_json's unescaped ones: UTF-8 (which
                // `new` checks again).
                Arc::new(StringArray::new(offsets, bytes, None))
            }
            Builder::FloatVector { offsets, values } => {
                let offsets = OffsetBuffer::new(std::mem::replace(offsets, vec![0]).into());
                let values = Float32Array::from(std::mem::take(values));
                let item = Arc::new(Field::new("item", ArrowType::Float32, false));
                Arc::new(ListArray::new(item, offsets, Arc::new(values), None))
            }
        }
    }
}

/// A cursor over one line of JSON text; every method returns `None` for anything it does
/// not take (which includes every syntax error: the row path reports those).
struct Scan<'a> {
    text: &'a str,
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan {
            text,
            bytes: text.as_bytes(),
            at: 0,
        }
    }

    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.at) {
            self.at += 1;
        }
    }

    /// The next byte after white space, not consumed.
    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.at).copied()
    }

    /// The next byte after white space, consumed.
    fn next(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.at += 1;
        Some(byte)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.next()? == byte).then_some(())
    }

    fn at_end(&mut self) -> bool {
        self.skip_space();
        self.at == self.bytes.len()
    }

    /// A string: borrowed when it has no escape, else unescaped by serde_json.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.expect(b'"')?;
        let start = self.at;
        let mut escaped = false;
        loop {
            match *self.bytes.get(self.at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                // JSON text holds no raw control character inside a string.
                0..=0x1f => return None,
                _ => self.at += 1,
            }
        }
        let end = self.at;
        self.at += 1;
        if !escaped {
            return Some(Cow::Borrowed(&self.text[start..end]));
        }
        serde_json::from_str::<String>(self.text.get(start - 1..end + 1)?)
            .ok()
            .map(Cow::Owned)
    }

    /// A JSON number literal: its text and its nearest `f64`, read in one pass. fast-float
    /// reads a superset of JSON's number syntax, so the JSON rules it does not check are
    /// checked on what it read (a digit after the sign, no leading zero, a digit after the
    /// point; an exponent without digits is not read, and fails at the next byte).
    fn number(&mut self) -> Option<(&'a str, f64)> {
        self.skip_space();
        let rest = &self.text[self.at..];
        let (value, len) = fast_float2::parse_partial::<f64, _>(rest).ok()?;
        let text = &rest[..len];
        let unsigned = text.strip_prefix('-').unwrap_or(text).as_bytes();
        let whole = unsigned.iter().take_while(|b| b.is_ascii_digit()).count();
        let json = whole > 0
            && (unsigned[0] != b'0' || whole == 1)
            && match unsigned.get(whole) {
                Some(b'.') => unsigned.get(whole + 1).is_some_and(u8::is_ascii_digit),
                _ => true,
            };
        if !json {
            return None;
        }
        self.at += len;
        Some((text, value))
    }

    /// A FLOAT_VECTOR element: the `f32` of [`Scan::float`], read by [`decimal_f32`] when
    /// it can (the usual case, and several times faster than finding the nearest `f64`).
    fn vector_element(&mut self) -> Option<f32> {
        self.skip_space();
        if let Some((value, len)) = decimal_f32(&self.bytes[self.at..]) {
            self.at += len;
            return Some(value);
        }
        Some(self.float()? as f32)
    }

    /// A finite float from any number literal.
    fn float(&mut self) -> Option<f64> {
        let (_, value) = self.number()?;
        value.is_finite().then_some(value)
    }

    /// Reads a value of the column's kind into it; `None` may leave part of a value behind
    /// (the caller truncates).
    fn value_into(&mut self, column: &mut Builder) -> Option<()> {
        match column {
            Builder::Int(out) => {
                let (text, _) = self.number()?;
                // serde_json reads `-0` as the float -0.0; the row path decides on it.
                if !is_integer_literal(text) || text == "-0" {
                    return None;
                }
                out.push(text.parse().ok()?);
            }
            Builder::Float(out) => {
                let (text, value) = self.number()?;
                if is_integer_literal(text) || !value.is_finite() {
                    return None;
                }
                out.push(value);
            }
            Builder::Bool(out) => {
                self.skip_space();
                let rest = &self.bytes[self.at..];
                let (value, len) = if rest.starts_with(b"true") {
                    (true, 4)
                } else if rest.starts_with(b"false") {
                    (false, 5)
                } else {
                    return None;
                };
                self.at += len;
                out.push(value);
            }
            Builder::Str { offsets, bytes } => {
                bytes.extend_from_slice(self.string()?.as_bytes());
                offsets.push(i32::try_from(bytes.len()).ok()?);
            }
            Builder::FloatVector { offsets, values } => {
                self.expect(b'[')?;
                if self.peek()? == b']' {
                    self.at += 1;
                } else {
                    loop {
                        values.push(self.vector_element()?);
                        // The separator vector dumps use, without the general skips.
                        if self.bytes.get(self.at..self.at + 2) == Some(b", ") {
                            self.at += 2;
                            continue;
                        }
                        match self.next()? {
                            b',' => continue,
                            b']' => break,
                            _ => return None,
                        }
                    }
                }
                offsets.push(i32::try_from(values.len()).ok()?);
            }
        }
        Some(())
    }
}

/// Whether a JSON number literal has neither a fraction nor an exponent.
fn is_integer_literal(text: &str) -> bool {
    !text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float32Type, Float64Type, Int64Type};

    fn schema() -> CollectionSchema {
        CollectionSchema::from_json_str(
            r#"{"fields": [
                {"name": "id", "type": "INT64", "is_primary": true},
                {"name": "score", "type": "DOUBLE"},
                {"name": "ok", "type": "BOOL"},
                {"name": "title", "type": "VARCHAR", "params": {"max_length": 64}},
                {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 3}}
            ]}"#,
        )
        .unwrap()
    }

    fn decode(lines: &[&str]) -> Vec<Chunk> {
        let columns = LineColumns::for_schema(&schema(), &HashMap::new()).unwrap();
        let lines = lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let position = RowPosition {
                    row: i as u64 + 1,
                    line: Some(i as u64 + 1),
                };
                (position, l.to_string())
            })
            .collect();
        columns.decode(lines)
    }

    /// What serde_json makes of the same text: the truth the fast path must agree with.
    fn serde_f64(text: &str) -> f64 {
        serde_json::from_str::<serde_json::Value>(text)
            .unwrap()
            .as_f64()
            .unwrap()
    }

    #[test]
    fn plain_lines_become_one_batch_with_serde_jsons_values() {
        let chunks = decode(&[
            r#"{"id": 1, "score": 0.30000000000000004, "ok": true, "title": "a\"b\u00e9", "v": [0.14190717041492462, -1e-3, 7]}"#,
            r#" {"v":[1.5,2.5,3.5],"title":"plain","ok":false,"score":-2.5E+3,"id":-9223372036854775808} "#,
        ]);
        assert_eq!(chunks.len(), 1);
        let Chunk::Lines { batch, lines } = &chunks[0] else {
            panic!("expected a batch of lines");
        };
        assert_eq!(lines.len(), 2);
        let ids = batch.column(0).as_primitive::<Int64Type>();
        assert_eq!(ids.values(), &[1, i64::MIN]);
        let scores = batch.column(1).as_primitive::<Float64Type>();
        assert_eq!(scores.value(0), serde_f64("0.30000000000000004"));
        assert_eq!(scores.value(1), -2500.0);
        let titles = batch.column(3).as_string::<i32>();
        assert_eq!(titles.value(0), "a\"bé");
        assert_eq!(titles.value(1), "plain");
        let vectors = batch.column(4).as_list::<i32>();
        let first = vectors.value(0);
        let first = first.as_primitive::<Float32Type>();
        assert_eq!(
            first.values(),
            &[serde_f64("0.14190717041492462") as f32, -0.001, 7.0]
        );
    }

    #[test]
    fn anything_else_goes_to_the_row_path_with_the_rest_of_its_block() {
        for odd in [
            r#"{"id": 1, "score": 1, "ok": true, "title": "t", "v": [1, 2, 3]}"#, // int for DOUBLE
            r#"{"id": -0, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3]}"#,
            r#"{"id": 1.0, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3]}"#,
            r#"{"id": 1, "score": 1.0, "ok": null, "title": "t", "v": [1, 2, 3]}"#,
            r#"{"id": 1, "score": 1.0, "ok": true, "v": [1, 2, 3]}"#, // missing
            r#"{"id": 1, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3], "x": 1}"#,
            r#"{"id": 1, "id": 2, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3]}"#,
            r#"{"id": 01, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3]}"#,
            r#"{"id": 1, "score": 1e999, "ok": true, "title": "t", "v": [1, 2, 3]}"#,
            r#"{"id": 1, "score": 1.0, "ok": true, "title": "t", "v": [1, "2", 3]}"#,
            r#"{"id": 1, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3]} x"#,
            r#"{"id": 1, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3],}"#,
            r#"{"id": 99999999999999999999, "score": 1.0, "ok": true, "title": "t", "v": [1]}"#,
        ]
        .into_iter()
        .map(str::to_string)
        .chain(
            // Vector elements fast-float reads but JSON does not allow.
            [
                "01", ".5", "1.", "+1", "1e", "1.5e+", "inf", "NaN", "Infinity", "-", "1e400",
                "0x10", "1 2", "-.5", "1.e5",
            ]
            .map(|bad| {
                format!(
                    r#"{{"id": 1, "score": 1.0, "ok": true, "title": "t", "v": [{bad}, 2, 3]}}"#
                )
            }),
        ) {
            let odd = odd.as_str();
            let good = r#"{"id": 1, "score": 1.0, "ok": true, "title": "t", "v": [1, 2, 3]}"#;
            let chunks = decode(&[good, odd, good]);
            let kinds: Vec<&str> = chunks
                .iter()
                .map(|c| match c {
                    Chunk::Lines { .. } => "lines",
                    Chunk::Row(_) => "row",
                    Chunk::BadRow { .. } => "bad",
                    Chunk::Batch { .. } => "batch",
                })
                .collect();
            let tail = if serde_json::from_str::<serde_json::Value>(odd).is_ok() {
                "row"
            } else {
                "bad"
            };
            assert_eq!(kinds, ["lines", tail, "row"], "{odd}");
        }
    }

    #[test]
    fn floats_parse_to_serde_jsons_f64_bit_for_bit() {
        // A deterministic spread of forms: 17-digit mantissas, exponents, long digit runs,
        // halfway cases and subnormals.
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut texts = vec![
            "2.2250738585072011e-308".to_string(),
            "4.9406564584124654e-324".to_string(),
            "1.7976931348623157e308".to_string(),
            "9007199254740993".to_string(),
            "0.1000000000000000055511151231257827021181583404541015625".to_string(),
            "3.4028235e+38".to_string(),
            "123456789012345678901234567890".to_string(),
            "-0.0".to_string(),
        ];
        for _ in 0..20_000 {
            let bits = next();
            let f = f64::from_bits(bits);
            if f.is_finite() {
                texts.push(format!("{f:e}"));
            }
            if (f as f32).is_finite() {
                texts.push(format!("{}", (f as f32) as f64));
            }
            let digits = next() % 10u64.pow(17);
            let exp = (next() % 60) as i32 - 30;
            texts.push(format!("{digits}e{exp}"));
            texts.push(format!("0.{digits:017}"));
        }
        for text in texts {
            let mut scan = Scan::new(&text);
            let ours = scan.float().unwrap_or_else(|| panic!("{text}"));
            assert!(scan.at_end(), "{text}");
            assert_eq!(ours.to_bits(), serde_f64(&text).to_bits(), "{text}");
        }
    }
}
