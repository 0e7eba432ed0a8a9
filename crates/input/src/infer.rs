//! Schema inference: a starting schema (pymilvus's `CollectionSchema.to_dict()` JSON) guessed
//! from the first rows of a JSONL, JSON, CSV or Parquet input, for the user to review.
//!
//! Integers become INT64, other numbers DOUBLE, strings VARCHAR (max_length twice the longest
//! seen, at least 64 bytes), lists of numbers of one length FLOAT_VECTOR, other lists ARRAY,
//! objects JSON; a column with nulls is nullable. The first integer or string column named
//! `id`, `pk` or `*_id` becomes the primary key. CSV cells are typed by their spelling, with
//! the booleans the CSV reader takes ([`crate::parse_bool`]).

use std::collections::HashMap;
use std::ops::ControlFlow;

use arrow_schema::DataType as ArrowType;
use bulkwriter_schema::template::{field_json, schema_json};
use bulkwriter_schema::{DataType, arrow_row_to_json};
use serde_json::{Map, Value, json};

use crate::{Chunk, InputError, InputFile, InputFormat, ReadOptions, parse_bool, read};

/// A guessed schema, and what the caller should tell the user about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inferred {
    /// The schema JSON.
    pub schema: Value,
    /// Byte columns (Parquet `binary` and the like) holding one length of bytes per row:
    /// `(column, bytes a row)`. They are proposed as float32 vectors (`bytes / 4`
    /// dimensions), which reading them needs the `f32le` byte layout for; they may as well
    /// be float16/bfloat16 values or bits.
    pub byte_vectors: Vec<(String, usize)>,
    /// Columns whose names Milvus refuses as field names (`sepal length (cm)`, `150`), with
    /// the field name proposed instead: `(column, field)`. Reading them needs that mapping.
    pub renamed: Vec<(String, String)>,
}

/// Infers a schema from the first `sample_rows` rows of `file`.
pub fn infer(file: &InputFile, sample_rows: usize) -> Result<Inferred, InputError> {
    if !file.format.can_infer() {
        return Err(InputError::Read {
            file: file.name.clone(),
            message: format!(
                "a schema is inferred from JSONL, JSON, CSV or Parquet samples, not {}",
                file.format
            ),
        });
    }
    // Without a schema every CSV cell stays text; its spelling is read below.
    let options = ReadOptions::new().with_batch_rows(sample_rows.clamp(1, 4096));
    let mut sample = Sample {
        csv: file.format == InputFormat::Csv,
        ..Sample::default()
    };
    read(file, &options, &mut |chunk| {
        match chunk {
            Chunk::Row(row) => {
                if let Value::Object(object) = &row.value {
                    sample.add_row(object);
                }
            }
            Chunk::Batch { batch, .. } => {
                for field in batch.schema().fields() {
                    if matches!(
                        field.data_type(),
                        ArrowType::Binary
                            | ArrowType::LargeBinary
                            | ArrowType::FixedSizeBinary(_)
                            | ArrowType::BinaryView
                    ) {
                        sample.byte_columns.insert(field.name().clone());
                    }
                }
                for i in 0..batch.num_rows() {
                    if sample.rows >= sample_rows {
                        break;
                    }
                    if let Value::Object(object) = arrow_row_to_json(&batch, i) {
                        sample.add_row(&object);
                    }
                }
            }
            // Not asked for here; the lines' own values if they come.
            Chunk::Lines { lines, .. } => {
                for (_, line) in lines {
                    if let Ok(Value::Object(object)) = serde_json::from_str(&line) {
                        sample.add_row(&object);
                    }
                }
            }
            Chunk::BadRow { .. } => {}
        }
        if sample.rows >= sample_rows {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    })?;
    let Sample {
        order,
        stats,
        rows,
        byte_columns,
        ..
    } = sample;
    let mut byte_vectors = Vec::new();
    let mut renamed = Vec::new();
    let mut taken: std::collections::HashSet<String> = order
        .iter()
        .filter(|n| bulkwriter_schema::valid_field_name(n))
        .cloned()
        .collect();
    if rows == 0 {
        return Err(InputError::Read {
            file: file.name.clone(),
            message: "no rows to infer a schema from".into(),
        });
    }
    let mut fields = Vec::new();
    let mut primary: Option<usize> = None;
    for column_name in &order {
        let column = &stats[column_name];
        let field_name = if bulkwriter_schema::valid_field_name(column_name) {
            column_name.clone()
        } else {
            let proposed = field_name_for(column_name, &taken);
            taken.insert(proposed.clone());
            renamed.push((column_name.clone(), proposed.clone()));
            proposed
        };
        let name = field_name.as_str();
        // Keys missing from some rows count as nulls.
        let nullable = column.nulls > 0 || column.seen < rows;
        let values = column.seen - column.nulls;
        let mut field = if column.lists == values && values > 0 {
            let items = column.list_items.as_ref().as_ref();
            let numbers = items.is_some_and(|i| i.ints + i.floats == i.seen && i.seen > 0);
            let length = column.list_lengths.first().copied().unwrap_or(0);
            if byte_columns.contains(column_name)
                && column.list_lengths.len() == 1
                && length % 4 == 0
            {
                // Raw bytes, most often float32 values (`v.tobytes()`): never one value
                // per byte.
                byte_vectors.push((name.to_string(), length));
                let mut f = field_json(name, DataType::FloatVector);
                f.insert("params".into(), json!({"dim": length / 4}));
                f
            } else if byte_columns.contains(column_name) {
                let mut f = field_json(name, DataType::BinaryVector);
                f.insert("params".into(), json!({"dim": length * 8}));
                f
            } else if numbers && column.list_lengths.len() == 1 && length > 0 {
                let mut f = field_json(name, DataType::FloatVector);
                f.insert("params".into(), json!({"dim": length}));
                f
            } else {
                let longest_list = column.list_lengths.iter().copied().max().unwrap_or(0);
                let element = items
                    .and_then(ColumnStats::scalar)
                    .unwrap_or(DataType::VarChar);
                let mut f = field_json(name, DataType::Array);
                f.insert("element_type".into(), json!(element.to_string()));
                let mut params = json!({"max_capacity": (longest_list * 2).clamp(4, 4096)});
                if element == DataType::VarChar {
                    params["max_length"] = json!(varchar_length(items.map_or(0, |i| i.longest)));
                }
                f.insert("params".into(), params);
                f
            }
        } else if let Some(ty) = column.scalar() {
            let mut f = field_json(name, ty);
            if ty == DataType::VarChar {
                f.insert(
                    "params".into(),
                    json!({"max_length": varchar_length(column.longest)}),
                );
            }
            f
        } else {
            field_json(name, DataType::Json)
        };
        let ty = field["type"].as_str().unwrap_or_default().to_string();
        let key_like = name == "id" || name == "pk" || name.ends_with("_id");
        if primary.is_none() && !nullable && key_like && (ty == "INT64" || ty == "VARCHAR") {
            primary = Some(fields.len());
            field.insert("is_primary".into(), json!(true));
        } else if nullable {
            field.insert("nullable".into(), json!(true));
        }
        fields.push(field);
    }
    if primary.is_none() {
        // No column looks like a key: Milvus generates one.
        let mut pk = field_json("pk", DataType::Int64);
        pk.insert("is_primary".into(), json!(true));
        pk.insert("auto_id".into(), json!(true));
        fields.insert(0, pk);
    }
    Ok(Inferred {
        schema: schema_json(fields, false),
        byte_vectors,
        renamed,
    })
}

/// A field name Milvus takes for a column it refuses: other characters become `_` (runs of
/// them one), a leading digit gets `f_` before it, and a number is added if taken.
fn field_name_for(column: &str, taken: &std::collections::HashSet<String>) -> String {
    let mut name = String::new();
    for c in column.chars() {
        let c = if c.is_ascii_alphanumeric() { c } else { '_' };
        if !(c == '_' && name.ends_with('_')) {
            name.push(c);
        }
    }
    let mut name = name.trim_matches('_').to_string();
    if name.is_empty() {
        name = "field".into();
    }
    if name.starts_with(|c: char| c.is_ascii_digit()) {
        name = format!("f_{name}");
    }
    name.truncate(240);
    let mut candidate = name.clone();
    let mut n = 2;
    while taken.contains(&candidate) {
        candidate = format!("{name}_{n}");
        n += 1;
    }
    candidate
}

/// The columns of the rows read so far, in first-seen order.
#[derive(Debug, Default)]
struct Sample {
    order: Vec<String>,
    stats: HashMap<String, ColumnStats>,
    rows: usize,
    /// CSV cells are text: their type is read from their spelling.
    csv: bool,
    /// Columns whose Arrow type is bytes.
    byte_columns: std::collections::HashSet<String>,
}

impl Sample {
    fn add_row(&mut self, object: &Map<String, Value>) {
        for (name, value) in object {
            if !self.stats.contains_key(name) {
                self.order.push(name.clone());
            }
            let column = self.stats.entry(name.clone()).or_default();
            match value {
                Value::String(s) if self.csv => column.add(&typed_cell(s)),
                other => column.add(other),
            }
        }
        self.rows += 1;
    }
}

/// What a sample says about one column.
#[derive(Debug, Default)]
struct ColumnStats {
    seen: usize,
    nulls: usize,
    bools: usize,
    ints: usize,
    floats: usize,
    strings: usize,
    longest: usize,
    objects: usize,
    lists: usize,
    list_lengths: Vec<usize>,
    list_items: Box<Option<ColumnStats>>,
}

impl ColumnStats {
    fn add(&mut self, value: &Value) {
        self.seen += 1;
        match value {
            Value::Null => self.nulls += 1,
            Value::Bool(_) => self.bools += 1,
            Value::Number(n) if n.is_f64() => self.floats += 1,
            Value::Number(_) => self.ints += 1,
            Value::String(s) => {
                self.strings += 1;
                self.longest = self.longest.max(s.len());
            }
            Value::Object(_) => self.objects += 1,
            Value::Array(items) => {
                self.lists += 1;
                if !self.list_lengths.contains(&items.len()) {
                    self.list_lengths.push(items.len());
                }
                let stats = self.list_items.get_or_insert_with(ColumnStats::default);
                for item in items {
                    stats.add(item);
                }
            }
        }
    }

    /// The scalar type of the non-null values, if they share one.
    fn scalar(&self) -> Option<DataType> {
        let values = self.seen - self.nulls;
        if values == 0 {
            return None;
        }
        Some(if self.bools == values {
            DataType::Bool
        } else if self.ints == values {
            DataType::Int64
        } else if self.ints + self.floats == values {
            DataType::Double
        } else if self.strings == values {
            DataType::VarChar
        } else {
            return None;
        })
    }
}

/// VARCHAR room for strings up to `longest` bytes: twice that, a power of two, 64 to 65,535.
fn varchar_length(longest: usize) -> u64 {
    ((longest * 2).max(64).next_power_of_two() as u64).min(65_535)
}

/// A CSV cell as the value it most likely spells.
fn typed_cell(text: &str) -> Value {
    if text.is_empty() {
        return Value::Null;
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if let Some(n) = text
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
    {
        return Value::Number(n);
    }
    if let Some(b) = parse_bool(text) {
        return Value::Bool(b);
    }
    if text.starts_with(['[', '{'])
        && let Ok(v) = serde_json::from_str(text)
    {
        return v;
    }
    Value::String(text.to_string())
}
