//! What a run's manifest records about its inputs and schema, and the check that a resumed
//! run reads the same.

use bulkwriter_schema::CollectionSchema;
use serde_json::{Value, json};

use crate::{ConvertError, InputOptions, Result};

/// The inputs (names and sizes) and schema, for the run's manifest.
pub(crate) fn run_context(input: &InputOptions) -> Value {
    let inputs: Vec<Value> = input
        .files
        .iter()
        .map(|f| match &f.range {
            Some(range) => {
                json!({"name": f.name, "bytes": f.size, "range": [range.start, range.end]})
            }
            None => json!({"name": f.name, "bytes": f.size}),
        })
        .collect();
    match input.shard {
        Some(shard) => json!({
            "inputs": inputs,
            "schema": input.schema_json,
            "shard": {"index": shard.index, "count": shard.count},
        }),
        None => json!({"inputs": inputs, "schema": input.schema_json}),
    }
}

/// Checks that a resumed run reads what the interrupted one read; returns warnings.
pub(crate) fn check_context(input: &InputOptions, context: &Value) -> Result<Vec<String>> {
    let recorded = context["inputs"].as_array().cloned().unwrap_or_default();
    let recorded_names: Vec<String> = recorded
        .iter()
        .map(|f| f["name"].as_str().unwrap_or("?").to_string())
        .collect();
    let given: Vec<String> = input.files.iter().map(|f| f.name.clone()).collect();
    let shard_of = |v: &Value| (v["index"].as_u64(), v["count"].as_u64());
    let given_shard = input.shard.map(|s| (Some(s.index), Some(s.count)));
    let recorded_shard = context.get("shard").map(shard_of);
    if given_shard != recorded_shard {
        let describe = |s: Option<(Option<u64>, Option<u64>)>| match s {
            Some((Some(i), Some(n))) => format!("shard {i}/{n}"),
            Some(_) => "a shard".to_string(),
            None => "all inputs".to_string(),
        };
        return Err(ConvertError::ResumeInputs {
            recorded: describe(recorded_shard),
            given: describe(given_shard),
        });
    }
    if recorded_names != given {
        return Err(ConvertError::ResumeInputs {
            recorded: recorded_names.join(", "),
            given: given.join(", "),
        });
    }
    let schema = CollectionSchema::from_json_value(&context["schema"]).ok();
    if schema.as_ref() != Some(&input.schema) {
        return Err(ConvertError::ResumeSchema);
    }
    let mut warnings = Vec::new();
    for (file, was) in input.files.iter().zip(&recorded) {
        if file.size.is_some() && file.size != was["bytes"].as_u64() {
            warnings.push(format!(
                "{} changed size since the interrupted run ({} bytes, now {}); its first rows are skipped by count",
                file.name,
                was["bytes"],
                file.size.unwrap_or(0)
            ));
        }
    }
    Ok(warnings)
}
