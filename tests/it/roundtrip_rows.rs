//! Property tests for the row formats: random rows of every field type are written as JSON,
//! JSONL and CSV (several segments), read back by parsers that are not ours (serde_json for
//! JSON and JSONL, Python's `csv` module for CSV), and every value must come back exactly:
//! integers, doubles and strings unchanged, FLOAT cells of CSV at float32 precision.

use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, CsvOptions, FileType, WriterOptions};
use serde_json::{Map, Value, json};

use crate::common::*;

/// A schema with every type the row formats hold: scalars, nullable and default-valued
/// fields, JSON, arrays of every element type, every vector type, a struct field and the
/// dynamic field.
fn schema() -> CollectionSchema {
    CollectionSchema::from_json_value(&schema_json()).unwrap()
}

/// [`schema`] as its JSON (also the every-type schema of `input_paths`).
pub(crate) fn schema_json() -> Value {
    let mut fields = vec![json!({"name": "id", "type": "INT64", "is_primary": true})];
    for (name, ty) in [
        ("bool", "BOOL"),
        ("int8", "INT8"),
        ("int16", "INT16"),
        ("int32", "INT32"),
        ("int64", "INT64"),
        ("float", "FLOAT"),
        ("double", "DOUBLE"),
        ("json", "JSON"),
        ("timestamptz", "TIMESTAMPTZ"),
        ("geometry", "GEOMETRY"),
        ("text", "TEXT"),
    ] {
        fields.push(json!({"name": name, "type": ty}));
    }
    fields.push(json!({"name": "varchar", "type": "VARCHAR", "params": {"max_length": 64}}));
    fields.push(json!({"name": "n_int32", "type": "INT32", "nullable": true}));
    fields.push(json!({"name": "n_float", "type": "FLOAT", "nullable": true}));
    fields.push(
        json!({"name": "n_varchar", "type": "VARCHAR", "nullable": true, "params": {"max_length": 64}}),
    );
    fields.push(json!({"name": "n_json", "type": "JSON", "nullable": true}));
    fields
        .push(json!({"name": "d_double", "type": "DOUBLE", "default_value": {"double_data": 2.5}}));
    for element in [
        "BOOL", "INT8", "INT16", "INT32", "INT64", "FLOAT", "DOUBLE", "VARCHAR",
    ] {
        fields.push(json!({
            "name": format!("array_{}", element.to_lowercase()),
            "type": "ARRAY",
            "element_type": element,
            "params": {"max_capacity": 4, "max_length": 32},
        }));
    }
    for (name, ty, dim) in [
        ("float_vector", "FLOAT_VECTOR", 4),
        ("binary_vector", "BINARY_VECTOR", 16),
        ("float16_vector", "FLOAT16_VECTOR", 3),
        ("bfloat16_vector", "BFLOAT16_VECTOR", 3),
        ("int8_vector", "INT8_VECTOR", 4),
    ] {
        fields.push(json!({"name": name, "type": ty, "params": {"dim": dim}}));
    }
    fields.push(json!({"name": "sparse_vector", "type": "SPARSE_FLOAT_VECTOR"}));
    json!({
        "fields": fields,
        "enable_dynamic_field": true,
        "struct_fields": [{
            "name": "structs",
            "max_capacity": 3,
            "fields": [
                {"name": "s_int32", "type": "INT32"},
                {"name": "s_varchar", "type": "VARCHAR", "params": {"max_length": 32}},
                {"name": "s_vec", "type": "FLOAT_VECTOR", "params": {"dim": 2}},
            ],
        }],
    })
}

/// xorshift64*: reproducible randomness without a dependency.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn int(&mut self, min: i64, max: i64) -> i64 {
        match self.below(6) {
            0 => min,
            1 => max,
            _ => (min as i128 + (self.next() as i128 % (max as i128 - min as i128 + 1))) as i64,
        }
    }
    /// A double that fits float32: a raw float32 bit pattern, or a decimal with many digits.
    fn float32_range(&mut self) -> f64 {
        loop {
            let v = if self.chance(50) {
                f32::from_bits(self.next() as u32) as f64
            } else {
                (self.next() as i64 as f64) / 1e9 / (1u64 << self.below(20)) as f64
            };
            if v.is_finite() && v.abs() <= f32::MAX as f64 {
                return v;
            }
        }
    }
    fn double(&mut self) -> f64 {
        loop {
            let v = f64::from_bits(self.next());
            if v.is_finite() {
                return v;
            }
        }
    }
    /// Text with quotes, separators, line breaks, escapes, non-ASCII and astral characters,
    /// at most `max_bytes` UTF-8 bytes, never holding "\r\n" (see the CSV rejection test).
    fn text(&mut self, max_bytes: usize, allow_empty: bool) -> String {
        const POOL: [&str; 16] = [
            "a", "Z", "7", " ", ",", ";", "\t", "\"", "'", "\\", "\n", "\r", "é", "日本", "😀",
            "\u{1}",
        ];
        loop {
            let mut s = String::new();
            for _ in 0..self.below(12) {
                let piece = POOL[self.below(POOL.len() as u64) as usize];
                if s.len() + piece.len() > max_bytes || (s.ends_with('\r') && piece == "\n") {
                    break;
                }
                s.push_str(piece);
            }
            if allow_empty || !s.is_empty() {
                return s;
            }
        }
    }
    fn json(&mut self, depth: u32) -> Value {
        match self.below(if depth == 0 { 5 } else { 7 }) {
            0 => Value::Null,
            1 => Value::Bool(self.chance(50)),
            2 => Value::from(self.int(i64::MIN, i64::MAX)),
            3 => Value::from(self.double()),
            4 => Value::String(self.text(20, true)),
            5 => Value::Array((0..self.below(4)).map(|_| self.json(depth - 1)).collect()),
            _ => self.object(depth - 1),
        }
    }
    fn object(&mut self, depth: u32) -> Value {
        let mut map = Map::new();
        for _ in 0..self.below(4) {
            map.insert(self.text(8, true), self.json(depth));
        }
        Value::Object(map)
    }
}

pub(crate) fn random_row(rng: &mut Rng, id: i64) -> Value {
    let mut row = Map::new();
    let mut put = |k: &str, v: Value| {
        row.insert(k.to_string(), v);
    };
    put("id", Value::from(id));
    put("bool", Value::Bool(rng.chance(50)));
    put("int8", Value::from(rng.int(-128, 127)));
    put("int16", Value::from(rng.int(-32768, 32767)));
    put(
        "int32",
        Value::from(rng.int(i32::MIN as i64, i32::MAX as i64)),
    );
    put("int64", Value::from(rng.int(i64::MIN, i64::MAX)));
    put("float", Value::from(rng.float32_range()));
    put("double", Value::from(rng.double()));
    put(
        "json",
        if rng.chance(50) {
            rng.object(2)
        } else {
            Value::Array((0..rng.below(4)).map(|_| rng.json(1)).collect())
        },
    );
    put("timestamptz", Value::from("2025-01-02T03:04:05Z"));
    put("geometry", Value::from("POINT (1 2)"));
    put("text", Value::String(rng.text(200, true)));
    put("varchar", Value::String(rng.text(64, true)));
    // Nullable fields: null, absent or a value (non-empty, so an empty CSV cell means null).
    let nullable = |rng: &mut Rng, v: Value| match rng.below(3) {
        0 => Some(Value::Null),
        1 => None,
        _ => Some(v),
    };
    let v = Value::from(rng.int(i32::MIN as i64, i32::MAX as i64));
    if let Some(v) = nullable(rng, v) {
        put("n_int32", v);
    }
    let v = Value::from(rng.float32_range());
    if let Some(v) = nullable(rng, v) {
        put("n_float", v);
    }
    let v = Value::String(rng.text(64, false));
    if let Some(v) = nullable(rng, v) {
        put("n_varchar", v);
    }
    let v = rng.object(1);
    if let Some(v) = nullable(rng, v) {
        put("n_json", v);
    }
    if rng.chance(50) {
        put("d_double", Value::from(rng.double()));
    }
    let n = |rng: &mut Rng| rng.below(5) as usize;
    let len = n(rng);
    put(
        "array_bool",
        (0..len).map(|_| Value::Bool(rng.chance(50))).collect(),
    );
    for (name, min, max) in [
        ("array_int8", -128, 127),
        ("array_int16", -32768, 32767),
        ("array_int32", i32::MIN as i64, i32::MAX as i64),
        ("array_int64", i64::MIN, i64::MAX),
    ] {
        let len = n(rng);
        put(
            name,
            (0..len).map(|_| Value::from(rng.int(min, max))).collect(),
        );
    }
    let len = n(rng);
    put(
        "array_float",
        (0..len).map(|_| Value::from(rng.float32_range())).collect(),
    );
    let len = n(rng);
    put(
        "array_double",
        (0..len).map(|_| Value::from(rng.double())).collect(),
    );
    let len = n(rng);
    put(
        "array_varchar",
        (0..len)
            .map(|_| Value::String(rng.text(32, true)))
            .collect(),
    );
    put(
        "float_vector",
        (0..4).map(|_| Value::from(rng.float32_range())).collect(),
    );
    // Binary vectors as bytes or as bits; both are written as bytes.
    put(
        "binary_vector",
        if rng.chance(50) {
            (0..2).map(|_| Value::from(rng.below(256))).collect()
        } else {
            (0..16).map(|_| Value::from(rng.below(2))).collect()
        },
    );
    for name in ["float16_vector", "bfloat16_vector"] {
        put(
            name,
            (0..3)
                .map(|_| Value::from(rng.float32_range() % 60000.0))
                .collect(),
        );
    }
    put(
        "int8_vector",
        (0..4).map(|_| Value::from(rng.int(-128, 127))).collect(),
    );
    let mut indices: Vec<u64> = (0..1 + rng.below(4))
        .map(|_| rng.below(u32::MAX as u64 - 1))
        .collect();
    indices.sort_unstable();
    indices.dedup();
    let values: Vec<Value> = indices
        .iter()
        .map(|_| Value::from(rng.float32_range()))
        .collect();
    put(
        "sparse_vector",
        if rng.chance(50) {
            json!({"indices": indices, "values": values})
        } else {
            Value::Object(
                indices
                    .iter()
                    .zip(values)
                    .map(|(i, v)| (i.to_string(), v))
                    .collect(),
            )
        },
    );
    let structs: Vec<Value> = (0..rng.below(4))
        .map(|_| {
            json!({
                "s_int32": rng.int(i32::MIN as i64, i32::MAX as i64),
                "s_varchar": rng.text(32, true),
                "s_vec": [rng.float32_range(), rng.float32_range()],
            })
        })
        .collect();
    put("structs", Value::Array(structs));
    // Dynamic keys, top-level and through $meta.
    if rng.chance(50) {
        put("dyn_a", rng.json(2));
    }
    if rng.chance(30) {
        put("$meta", rng.object(1));
    }
    Value::Object(row)
}

/// What a row should read back as, column by column, for `file_type`.
fn expected_row(schema: &CollectionSchema, row: &Value, file_type: FileType) -> Map<String, Value> {
    let row = row.as_object().unwrap();
    let mut out = Map::new();
    for field in &schema.fields {
        let given = row.get(&field.name).cloned().unwrap_or(Value::Null);
        let value = match field.name.as_str() {
            "d_double" if given.is_null() => json!(2.5),
            "binary_vector" => {
                let items = given.as_array().unwrap();
                if items.len() == 16 {
                    let bits: Vec<u64> = items.iter().map(|b| b.as_u64().unwrap()).collect();
                    json!(
                        bits.chunks(8)
                            .map(|c| c.iter().fold(0u64, |acc, b| acc << 1 | b))
                            .collect::<Vec<_>>()
                    )
                } else {
                    given
                }
            }
            // Row JSON holds a non-object JSON value as a string of its text.
            "json" | "n_json"
                if file_type != FileType::Csv && !given.is_object() && !given.is_null() =>
            {
                Value::String(bulkwriter_writer::pyjson::dumps(&given))
            }
            _ => given,
        };
        out.insert(field.name.clone(), value);
    }
    out.insert("structs".into(), row["structs"].clone());
    let mut meta = Map::new();
    for (key, value) in row {
        if key == "$meta" {
            meta.extend(value.as_object().unwrap().clone());
        } else if key.starts_with("dyn_") {
            meta.insert(key.clone(), value.clone());
        }
    }
    out.insert("$meta".into(), Value::Object(meta));
    out
}

/// Writes `rows` in small segments and returns the files in order.
fn write(rows: &[Value], options: WriterOptions) -> (tempfile::TempDir, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = BulkWriter::local(schema(), dir.path(), options).unwrap();
    for row in rows {
        writer.append_row(row).unwrap();
    }
    writer.commit().unwrap();
    let files: Vec<String> = writer.batch_files().iter().map(|g| g[0].clone()).collect();
    (dir, files)
}

fn random_rows(seed: u64, n: i64) -> Vec<Value> {
    let mut rng = Rng(seed);
    (0..n).map(|id| random_row(&mut rng, id)).collect()
}

fn assert_rows_equal(ours: &[Map<String, Value>], expected: &[Map<String, Value>], what: &str) {
    assert_eq!(ours.len(), expected.len(), "{what}: row count");
    for (i, (a, b)) in ours.iter().zip(expected).enumerate() {
        for (key, want) in b {
            assert_eq!(a.get(key), Some(want), "{what}: row {i}, field {key}");
        }
        assert_eq!(a.len(), b.len(), "{what}: row {i} columns");
    }
}

#[test]
fn json_and_jsonl_read_back_exactly_with_serde_json() {
    let schema = schema();
    for seed in [1, 2, 3] {
        let rows = random_rows(seed, 300);
        for file_type in [FileType::Json, FileType::Jsonl] {
            let options = WriterOptions::new(file_type).with_chunk_size(64 << 10);
            let (_dir, files) = write(&rows, options);
            assert!(files.len() > 2, "several segments");
            let mut ours = Vec::new();
            for file in &files {
                let text = std::fs::read_to_string(file).unwrap();
                assert!(text.is_ascii(), "ensure_ascii escapes everything else");
                if file_type == FileType::Json {
                    let doc: Value = serde_json::from_str(&text).unwrap();
                    for row in doc["rows"].as_array().unwrap() {
                        ours.push(row.as_object().unwrap().clone());
                    }
                } else {
                    assert!(text.ends_with('\n'));
                    for line in text.lines() {
                        ours.push(serde_json::from_str(line).unwrap());
                    }
                }
            }
            let expected: Vec<_> = rows
                .iter()
                .map(|r| expected_row(&schema, r, file_type))
                .collect();
            assert_rows_equal(&ours, &expected, &format!("{file_type} seed {seed}"));
        }
    }
}

/// A CSV cell read back as the field's value.
fn csv_value(schema: &CollectionSchema, column: &str, cell: &str, null_key: &str) -> Value {
    let field = schema.field(column);
    if field.is_some_and(|f| f.nullable) && cell == null_key {
        return Value::Null;
    }
    let ty = field.map(|f| f.data_type.to_string());
    match ty.as_deref() {
        Some("BOOL") => match cell {
            "True" => Value::Bool(true),
            "False" => Value::Bool(false),
            other => panic!("{column}: {other:?} is not a Python bool"),
        },
        Some("INT8" | "INT16" | "INT32" | "INT64") => Value::from(cell.parse::<i64>().unwrap()),
        // FLOAT cells are float32 values: compare at float32 precision.
        Some("FLOAT") => Value::from(cell.parse::<f32>().unwrap() as f64),
        Some("DOUBLE") => Value::from(cell.parse::<f64>().unwrap()),
        Some("VARCHAR" | "TEXT" | "TIMESTAMPTZ" | "GEOMETRY") => Value::String(cell.to_string()),
        _ => serde_json::from_str(cell)
            .unwrap_or_else(|e| panic!("{column}: {cell:?} is not JSON: {e}")),
    }
}

#[test]
fn csv_reads_back_exactly_with_pythons_csv_module() {
    let schema = schema();
    for (seed, sep, null_key) in [(4, ',', ""), (5, '\t', "NULL"), (6, ';', "\\N")] {
        let rows = random_rows(seed, 300);
        let options = WriterOptions::new(FileType::Csv)
            .with_chunk_size(64 << 10)
            .with_csv(CsvOptions::new(sep, null_key).unwrap());
        let (_dir, files) = write(&rows, options);
        assert!(files.len() > 2, "several segments");
        let mut ours = Vec::new();
        for file in &files {
            let records: Vec<Vec<String>> =
                serde_json::from_str(&run_python("read_csv.py", &[file, &sep.to_string()]))
                    .unwrap();
            let header = &records[0];
            for record in &records[1..] {
                assert_eq!(record.len(), header.len(), "{file}: cells per record");
                ours.push(
                    header
                        .iter()
                        .zip(record)
                        .map(|(name, cell)| {
                            (name.clone(), csv_value(&schema, name, cell, null_key))
                        })
                        .collect::<Map<String, Value>>(),
                );
            }
        }
        let expected: Vec<Map<String, Value>> = rows
            .iter()
            .map(|r| {
                let mut row = expected_row(&schema, r, FileType::Csv);
                for name in ["float", "n_float"] {
                    if let Some(v) = row[name].as_f64() {
                        row[name] = Value::from(v as f32 as f64);
                    }
                }
                row
            })
            .collect();
        assert_rows_equal(
            &ours,
            &expected,
            &format!("csv sep {sep:?} null {null_key:?}"),
        );
    }
}
