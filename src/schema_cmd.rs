//! `bulkwriter schema template` and `bulkwriter schema infer`: a starting schema (pymilvus's
//! `CollectionSchema.to_dict()` JSON) that the user edits and passes to `--schema`. Inference
//! itself lives beside the readers, in `bulkwriter_input::infer`.

use anyhow::{Context, Result, anyhow, bail};
use bulkwriter_schema::template::{field_json, schema_json};
use bulkwriter_schema::{CollectionSchema, DataType};
use serde_json::{Map, Value, json};

use crate::cli::SchemaCommand;

/// Runs a schema command and returns the schema JSON text.
pub fn run(command: SchemaCommand) -> Result<String> {
    let schema = match command {
        SchemaCommand::Template { fields, dynamic } => template(&fields, dynamic)?,
        SchemaCommand::Fetch { collection, target } => {
            crate::import_cmd::fetch_schema(&target, &collection)?
        }
        SchemaCommand::Infer {
            input,
            input_format,
            sample_rows,
        } => {
            let files = bulkwriter_input::expand(&[input], input_format)?;
            let inferred = bulkwriter_input::infer::infer(&files[0], sample_rows)?;
            for (column, bytes) in &inferred.byte_vectors {
                eprintln!(
                    "note: column '{column}' holds {bytes} bytes a row, proposed as FLOAT_VECTOR dim={} for float32 values: convert with --vector-bytes {column}=f32le (float16 or bfloat16 values: dim={} and f16le or bf16le; bits: BINARY_VECTOR dim={})",
                    bytes / 4,
                    bytes / 2,
                    bytes * 8
                );
            }
            for (column, field) in &inferred.renamed {
                eprintln!(
                    "note: Milvus refuses the column name {column:?} as a field name; proposed {field:?}: convert with --map '{column}={field}'"
                );
            }
            inferred.schema
        }
    };
    // Whatever we print must load.
    CollectionSchema::from_json_value(&schema).context("the schema is not valid")?;
    Ok(serde_json::to_string_pretty(&schema)?)
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
                "default" => {
                    // JSON where it parses (7, 1.5, true, [1, 2]), else the text itself.
                    let default = serde_json::from_str(value).unwrap_or_else(|_| json!(value));
                    field.insert("default_value".into(), default);
                }
                "dim" | "max_length" | "max_capacity" => {
                    let n: u64 = value
                        .parse()
                        .map_err(|_| anyhow!("--field {spec}: {key} needs a number"))?;
                    params.insert(key.into(), json!(n));
                }
                other => bail!(
                    "--field {spec}: unknown parameter {other} (primary, auto_id, nullable, partition_key, element=TYPE, dim=N, max_length=N, max_capacity=N, default=VALUE)"
                ),
            }
        }
        if !params.is_empty() {
            field.insert("params".into(), Value::Object(params));
        }
        fields.push(field);
    }
    let schema = schema_json(fields, dynamic);
    // The loader's checks (types, params, defaults that fit) before anything is printed.
    CollectionSchema::from_json_value(&schema)?;
    Ok(schema)
}
