//! Shared helpers: the reference files, untagging their recorded inputs, and the Python venv.

use std::path::{Path, PathBuf};
use std::process::Command;

use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, FileType, WriterOptions};
use serde_json::{Map, Value};

/// `shared/reference/pymilvus-3.0.2`, beside the repository.
pub fn reference_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/pymilvus-3.0.2")
}

pub fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// The reference schema of a case. pymilvus counts VARCHAR `max_length` in characters and
/// Milvus in UTF-8 bytes; the reference rows hold a 7-character, 21-byte value for a
/// `max_length` 16 field, so the limit is raised to 21 to accept the same rows (the files do
/// not depend on `max_length`). `default_mode_rejects_what_milvus_would` covers the limit.
pub fn reference_schema(case: &str) -> CollectionSchema {
    let mut json = read_json(&reference_dir().join(format!("schemas/{case}.json")));
    for field in json["fields"].as_array_mut().unwrap() {
        if field["name"] == "varchar" && field["params"]["max_length"] == 16 {
            field["params"]["max_length"] = Value::from(21);
        }
    }
    CollectionSchema::from_json_value(&json).unwrap()
}

/// A case's recorded input rows as plain JSON (what a user's JSON file would hold).
pub fn reference_inputs(case: &str) -> Vec<Value> {
    let json = read_json(&reference_dir().join(format!("inputs/{case}.json")));
    json.as_array().unwrap().iter().map(untag).collect()
}

/// Turns the generator's type tags into the JSON a user would write: floats keep their
/// Python repr, ndarrays and tuples become lists, bytes become lists of byte values, and
/// dicts with integer keys get string keys.
pub fn untag(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(repr)) = map.get("__float_repr__") {
                return Value::from(repr.parse::<f64>().unwrap());
            }
            if map.contains_key("__ndarray__") {
                return untag(&map["data"]);
            }
            if map.contains_key("__npscalar__") {
                return untag(&map["value"]);
            }
            if let Some(Value::String(hex)) = map.get("__bytes_hex__") {
                let bytes = (0..hex.len())
                    .step_by(2)
                    .map(|i| Value::from(u8::from_str_radix(&hex[i..i + 2], 16).unwrap()))
                    .collect();
                return Value::Array(bytes);
            }
            if let Some(items) = map.get("__tuple__") {
                return untag(items);
            }
            if let Some(Value::Array(pairs)) = map.get("__dict__") {
                let mut out = Map::new();
                for pair in pairs {
                    let key = match untag(&pair[0]) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    out.insert(key, untag(&pair[1]));
                }
                return Value::Object(out);
            }
            Value::Object(map.iter().map(|(k, v)| (k.clone(), untag(v))).collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(untag).collect()),
        other => other.clone(),
    }
}

/// A reference run: its manifest (`<type>/<run>.manifest.json`).
pub struct ReferenceRun {
    pub case: String,
    pub chunk_size: Option<u64>,
    /// Files of each segment, absolute.
    pub batch_files: Vec<Vec<PathBuf>>,
}

pub fn reference_run(file_type: &str, run: &str) -> ReferenceRun {
    let dir = reference_dir().join(file_type);
    let manifest = read_json(&dir.join(format!("{run}.manifest.json")));
    ReferenceRun {
        case: manifest["case"].as_str().unwrap().to_string(),
        chunk_size: manifest["chunk_size"].as_u64(),
        batch_files: manifest["batch_files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| {
                group
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|p| dir.join(p.as_str().unwrap()))
                    .collect()
            })
            .collect(),
    }
}

/// Converts a reference case with our writer into a fresh temporary directory.
pub fn write_case(
    case: &str,
    file_type: FileType,
    chunk_size: Option<u64>,
) -> (tempfile::TempDir, BulkWriter) {
    let dir = tempfile::tempdir().unwrap();
    let mut options = WriterOptions::new(file_type);
    if let Some(size) = chunk_size {
        options = options.with_chunk_size(size);
    }
    let mut writer = BulkWriter::local(reference_schema(case), dir.path(), options).unwrap();
    for row in reference_inputs(case) {
        writer.append_row(&row).unwrap();
    }
    writer.commit().unwrap();
    (dir, writer)
}

/// The test venv's Python (with numpy, pyarrow and ml_dtypes), from `BULKWRITER_PYTHON`.
pub fn python() -> Command {
    let python = std::env::var("BULKWRITER_PYTHON").unwrap_or_else(|_| {
        panic!(
            "BULKWRITER_PYTHON is not set: run the tests with `bash tests/run.sh`, which creates \
             a venv with numpy and pyarrow, or point BULKWRITER_PYTHON at such a python"
        )
    });
    Command::new(python)
}

/// Runs one of `tests/python/*.py` and returns its stdout; panics with its output on failure.
pub fn run_python(script: &str, args: &[&str]) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
    let out = python().arg(path).args(args).output().expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{script} {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// numpy's view of an `.npy` file: dtype string, shape and values.
pub fn np_load(path: &Path) -> Value {
    serde_json::from_str(&run_python(
        "npy_expectations.py",
        &["load", path.to_str().unwrap()],
    ))
    .unwrap()
}

/// The bytes numpy (float16) or ml_dtypes (bfloat16) make of floats, through float32.
pub fn half_bytes(dtype: &str, values: &Value) -> Vec<u8> {
    let hex: String = serde_json::from_str(&run_python(
        "npy_expectations.py",
        &["half", dtype, &values.to_string()],
    ))
    .unwrap();
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

pub fn file_name(path: &str) -> String {
    Path::new(path)
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string()
}
