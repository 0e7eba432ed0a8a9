//! The validation probes of `errors.json`: each pymilvus 3.0.2 accept/reject decision is
//! reproduced, with pymilvus's message at the start of ours, except where we differ on
//! purpose; every difference is listed here with its reason.

use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, FileType, WriterOptions};
use serde_json::{Value, json};

use crate::common::*;

/// Probes we decide differently from pymilvus, and why.
const DIFFERENT: &[(&str, &str)] = &[
    (
        "int64 overflow (not checked at append)",
        "INT64 range is checked at append; pymilvus fails later while writing",
    ),
    (
        "int for float",
        "JSON text has no int/float distinction: 1 is a valid FLOAT",
    ),
    (
        "4 chars / 8 bytes for max_length 4",
        "Milvus counts max_length in UTF-8 bytes",
    ),
    (
        "tuple for array",
        "JSON has no tuples: the value arrives as a list",
    ),
    (
        "float vector of ints",
        "JSON text has no int/float distinction",
    ),
    (
        "float vector int ndarray",
        "JSON has no ndarray dtypes: a list of numbers is a valid vector",
    ),
    (
        "float vector tuple",
        "JSON has no tuples: the value arrives as a list",
    ),
    (
        "binary vector bit-list dim",
        "a list of dim/8 byte values is Milvus's own JSON form",
    ),
    (
        "binary vector bit-list with value 2 (accepted)",
        "bits must be 0 or 1; pymilvus silently turns 2 into 1",
    ),
    (
        "bf16 array to fp16 field",
        "JSON has no ndarray dtypes: floats are converted to FLOAT16",
    ),
    (
        "fp16 array to bf16 field",
        "JSON has no ndarray dtypes: floats are converted to BFLOAT16",
    ),
    (
        "int8 vector out of range (not checked at append)",
        "INT8_VECTOR range is checked at append",
    ),
    (
        "int8 vector int16 ndarray",
        "JSON has no ndarray dtypes: in-range integers are valid",
    ),
    ("sparse int value", "JSON text has no int/float distinction"),
    (
        "sparse str index",
        "JSON object keys are always strings: numeric keys are the indices",
    ),
    (
        "sparse negative index (accepted)",
        "Milvus indices are in [0, 2^32-1)",
    ),
];

/// Probes decided as pymilvus decides them, with another message, and why.
const OTHER_MESSAGE: &[(&str, &str, &str)] = &[
    (
        "binary vector bytes dim",
        "JSON has no bytes: they arrive as a list of byte values and get the list-length message",
        "Illegal vector data for vector field: 'f': length of the list must be equal to vector dimension",
    ),
    (
        "bytes for fp16 field",
        "JSON has no bytes: 4 byte values arrive as a list of 4 numbers for a dim-2 vector",
        "Illegal vector data for vector field: 'f': array's length must be equal to vector dimension",
    ),
];

/// pymilvus's message inside `MilvusException: <MilvusException: (code=1, message=...)>`.
fn pymilvus_message(error: &str) -> &str {
    let start = error
        .find("message=")
        .map(|i| i + "message=".len())
        .unwrap_or(0);
    error[start..].trim_end_matches(")>")
}

fn writer_for(schema: Value) -> (tempfile::TempDir, BulkWriter) {
    let schema = CollectionSchema::from_json_value(&schema).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let writer =
        BulkWriter::local(schema, dir.path(), WriterOptions::new(FileType::Parquet)).unwrap();
    (dir, writer)
}

#[test]
fn every_validation_probe_is_decided_as_pymilvus_or_as_documented() {
    let probes = read_json(&reference_dir().join("errors.json"));
    let mut checked = 0;
    for probe in probes.as_array().unwrap() {
        let (label, (_dir, mut writer), row) = if let Some(dtype) = probe["dtype"].as_str() {
            let mut field = json!({"name": "f", "type": dtype});
            let mut params = serde_json::Map::new();
            for (k, v) in probe["params"].as_object().unwrap() {
                if k == "element_type" {
                    field["element_type"] = v.clone();
                } else {
                    params.insert(k.clone(), v.clone());
                }
            }
            field["params"] = Value::Object(params);
            let mut fields = vec![
                json!({"name": "id", "type": "INT64", "is_primary": true}),
                field,
            ];
            if !dtype.ends_with("VECTOR") {
                fields.push(json!({"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}}));
            }
            let row = json!({"id": 1, "f": untag(&probe["input"]), "v": [1.0, 2.0]});
            (
                probe["what"].as_str().unwrap(),
                writer_for(json!({"fields": fields})),
                row,
            )
        } else {
            let schema = json!({"fields": [
                {"name": "id", "type": "INT64", "is_primary": true, "auto_id": true},
                {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}}]});
            (
                probe["row_level"].as_str().unwrap(),
                writer_for(schema),
                untag(&probe["input"]),
            )
        };
        let pymilvus_accepts = probe["accepted"].as_bool().unwrap();
        let different = DIFFERENT.iter().find(|(what, _)| *what == label);
        let result = writer.append_row(&row);
        let we_accept = result.is_ok();
        match different {
            Some((_, why)) => assert_ne!(
                we_accept, pymilvus_accepts,
                "{label}: expected to differ ({why})"
            ),
            None => assert_eq!(we_accept, pymilvus_accepts, "{label}: {result:?}"),
        }
        if let (Err(ours), Some(theirs)) = (&result, probe["error"].as_str()) {
            let theirs = pymilvus_message(theirs);
            // pymilvus appends Python's json parse error; ours names serde_json's.
            let theirs = theirs.split(", error: ").next().unwrap();
            let theirs = OTHER_MESSAGE
                .iter()
                .find(|(what, _, _)| *what == label)
                .map_or(theirs, |(_, _, ours)| *ours);
            let ours = ours.to_string();
            // "row 1, field 'f': <message>", or "row 1: <message>" when the row is not an object.
            let rest = ours
                .strip_prefix("row 1")
                .unwrap_or_else(|| panic!("{label}: no row in {ours}"));
            let (context, message) = rest.split_once(": ").unwrap();
            assert!(
                message.starts_with(theirs),
                "{label}:\n ours:   {ours}\n theirs: {theirs}"
            );
            if label != "row not a dict" {
                assert!(
                    context.starts_with(", field '"),
                    "{label}: names the field: {ours}"
                );
            }
        }
        checked += 1;
    }
    assert_eq!(checked, 39);
}
