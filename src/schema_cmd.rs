//! `bulkwriter schema template` and `bulkwriter schema infer`: a starting schema (pymilvus's
//! `CollectionSchema.to_dict()` JSON) that the user edits and passes to `--schema`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use anyhow::{Context, Result, anyhow, bail};
use bulkwriter_schema::{CollectionSchema, DataType};
use serde_json::{Map, Value, json};

use crate::cli::{InputFormatArg, SchemaCommand};
use crate::input::{self, Chunk, InputFormat};

/// Runs a schema command and returns the schema JSON text.
pub fn run(command: SchemaCommand) -> Result<String> {
    let schema = match command {
        SchemaCommand::Template { fields, dynamic } => template(&fields, dynamic)?,
        SchemaCommand::Infer {
            input,
            input_format,
            sample_rows,
        } => infer(&input, input_format, sample_rows)?,
    };
    // Whatever we print must load.
    CollectionSchema::from_json_value(&schema).context("the schema is not valid")?;
    Ok(serde_json::to_string_pretty(&schema)?)
}

fn field_json(name: &str, ty: DataType) -> Map<String, Value> {
    let mut field = Map::new();
    field.insert("name".into(), json!(name));
    field.insert("description".into(), json!(""));
    field.insert("type".into(), json!(ty.to_string()));
    field
}

fn schema_json(fields: Vec<Map<String, Value>>, dynamic: bool) -> Value {
    json!({
        "auto_id": false,
        "description": "",
        "fields": fields,
        "enable_dynamic_field": dynamic,
    })
}

/// `NAME:TYPE[:PARAM...]` fields into a schema.
fn template(specs: &[String], dynamic: bool) -> Result<Value> {
    let mut fields = Vec::new();
    for spec in specs {
        let mut parts = spec.split(':');
        let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
            bail!("--field {spec}: write NAME:TYPE[:PARAM...], e.g. vector:FLOAT_VECTOR:dim=768");
        };
        let ty =
            DataType::from_name(ty).ok_or_else(|| anyhow!("--field {spec}: unknown type {ty}"))?;
        let mut field = field_json(name, ty);
        let mut params = Map::new();
        for param in parts {
            let (key, value) = param.split_once('=').unwrap_or((param, ""));
            match key {
                "primary" => {
                    field.insert("is_primary".into(), json!(true));
                }
                "auto_id" => {
                    field.insert("auto_id".into(), json!(true));
                }
                "nullable" => {
                    field.insert("nullable".into(), json!(true));
                }
                "partition_key" => {
                    field.insert("is_partition_key".into(), json!(true));
                }
                "element" => {
                    let element = DataType::from_name(value)
                        .ok_or_else(|| anyhow!("--field {spec}: unknown element type {value}"))?;
                    field.insert("element_type".into(), json!(element.to_string()));
                }
                "dim" | "max_length" | "max_capacity" => {
                    let n: u64 = value
                        .parse()
                        .map_err(|_| anyhow!("--field {spec}: {key} needs a number"))?;
                    params.insert(key.into(), json!(n));
                }
                other => bail!(
                    "--field {spec}: unknown parameter {other} (primary, auto_id, nullable, partition_key, element=TYPE, dim=N, max_length=N, max_capacity=N)"
                ),
            }
        }
        if !params.is_empty() {
            field.insert("params".into(), Value::Object(params));
        }
        fields.push(field);
    }
    Ok(schema_json(fields, dynamic))
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
    match text {
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if text.starts_with(['[', '{'])
        && let Ok(v) = serde_json::from_str(text)
    {
        return v;
    }
    Value::String(text.to_string())
}

fn infer(path: &str, format: Option<InputFormatArg>, sample_rows: usize) -> Result<Value> {
    let forced = format.map(|f| match f {
        InputFormatArg::Jsonl => InputFormat::Jsonl,
        InputFormatArg::Json => InputFormat::Json,
        InputFormatArg::Csv => InputFormat::Csv,
        InputFormatArg::Parquet => InputFormat::Parquet,
        _ => InputFormat::NumpyDir,
    });
    let files = input::expand(&[path.to_string()], forced)?;
    let file = &files[0];
    if !matches!(
        file.format,
        InputFormat::Jsonl | InputFormat::Json | InputFormat::Csv | InputFormat::Parquet
    ) {
        bail!("schema infer reads JSONL, JSON, CSV or Parquet samples");
    }
    // Reading needs a schema; one with no matching field leaves every CSV cell as text.
    let reader_schema = CollectionSchema::from_json_value(&json!({
        "fields": [{"name": "__bulkwriter_infer__", "type": "INT64", "is_primary": true}],
        "enable_dynamic_field": true,
    }))?;
    let mapping = HashMap::new();
    let options = input::ReadOptions {
        schema: &reader_schema,
        mapping: &mapping,
        csv_separator: None,
        csv_null: "",
        vector_field: None,
        id_start: 0,
        batch_rows: sample_rows.clamp(1, 4096),
        consumed: Arc::new(AtomicU64::new(0)),
        max_row_bytes: input::MAX_ROW_BYTES,
        row_start: Arc::new(AtomicU64::new(0)),
    };
    let mut sample = Sample {
        csv: file.format == InputFormat::Csv,
        ..Sample::default()
    };
    let result = input::read(file, &options, &mut |chunk| {
        match chunk {
            Chunk::Row(row) => {
                if let Value::Object(object) = &row.value {
                    sample.add_row(object);
                }
            }
            Chunk::Batch { batch, .. } => {
                for i in 0..batch.num_rows() {
                    if sample.rows >= sample_rows {
                        break;
                    }
                    if let Value::Object(object) = bulkwriter_writer::arrow_row_to_json(&batch, i) {
                        sample.add_row(&object);
                    }
                }
            }
            Chunk::BadRow { .. } => {}
        }
        if sample.rows >= sample_rows {
            // Enough: stop reading.
            return Err(anyhow!(SampleFull));
        }
        Ok(())
    });
    if let Err(e) = result
        && e.downcast_ref::<SampleFull>().is_none()
        && e.root_cause().downcast_ref::<SampleFull>().is_none()
    {
        return Err(e);
    }
    let Sample {
        order, stats, rows, ..
    } = sample;
    if rows == 0 {
        bail!("{path}: no rows to infer a schema from");
    }
    let mut fields = Vec::new();
    let mut primary: Option<usize> = None;
    for name in &order {
        let column = &stats[name];
        // Keys missing from some rows count as nulls.
        let nullable = column.nulls > 0 || column.seen < rows;
        let values = column.seen - column.nulls;
        let mut field = if column.lists == values && values > 0 {
            let items = column.list_items.as_ref().as_ref();
            let numbers = items.is_some_and(|i| i.ints + i.floats == i.seen && i.seen > 0);
            if numbers && column.list_lengths.len() == 1 && column.list_lengths[0] > 0 {
                let mut f = field_json(name, DataType::FloatVector);
                f.insert("params".into(), json!({"dim": column.list_lengths[0]}));
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
    Ok(schema_json(fields, false))
}

/// The columns of the rows read so far, in first-seen order.
#[derive(Debug, Default)]
struct Sample {
    order: Vec<String>,
    stats: HashMap<String, ColumnStats>,
    rows: usize,
    /// CSV cells are text: their type is read from their spelling.
    csv: bool,
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

/// Stops reading once the sample is complete.
#[derive(Debug)]
struct SampleFull;

impl std::fmt::Display for SampleFull {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sample complete")
    }
}

impl std::error::Error for SampleFull {}
