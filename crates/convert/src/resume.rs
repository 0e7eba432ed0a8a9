//! What a run's manifest records about its inputs and schema, and the check that a resumed
//! run reads the same.

use bulkwriter_schema::CollectionSchema;
use serde_json::{Value, json};

use crate::{ConvertError, InputOptions, Result, Shard};

/// The inputs (names and sizes) and schema, for the run's manifest.
pub(crate) fn run_context(input: &InputOptions) -> Value {
    let inputs: Vec<Value> = input
        .files
        .iter()
        .map(|f| {
            let mut file = json!({"name": f.name, "bytes": f.size});
            if let Some(range) = &f.range {
                file["range"] = json!([range.start, range.end]);
            }
            file
        })
        .collect();
    let mut context = json!({"inputs": inputs, "schema": input.schema_json});
    if let Some(shard) = input.shard {
        context["shard"] = shard_context(shard);
    }
    context
}

/// How the context records a shard (`bulkwriter plan` reads it back).
fn shard_context(shard: Shard) -> Value {
    json!({"index": shard.index, "count": shard.count})
}

/// Checks that a resumed run reads what the interrupted one read; returns warnings.
pub(crate) fn check_context(input: &InputOptions, context: &Value) -> Result<Vec<String>> {
    let recorded = context["inputs"].as_array().cloned().unwrap_or_default();
    let recorded_names: Vec<String> = recorded
        .iter()
        .map(|f| f["name"].as_str().unwrap_or("?").to_string())
        .collect();
    let given: Vec<String> = input.files.iter().map(|f| f.name.clone()).collect();
    let given_shard = input.shard.map(shard_context);
    let recorded_shard = context.get("shard");
    if given_shard.as_ref() != recorded_shard {
        let describe = |s: Option<&Value>| match s {
            Some(s) => format!("shard {}/{}", s["index"], s["count"]),
            None => "all inputs".to_string(),
        };
        return Err(ConvertError::ResumeInputs {
            recorded: describe(recorded_shard),
            given: describe(given_shard.as_ref()),
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
