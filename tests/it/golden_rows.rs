//! JSON, JSONL and CSV output against pymilvus 3.0.2's reference files, byte for byte, and
//! our deliberate differences checked against Python's own `json` module.

use bulkwriter_writer::{BulkWriter, CsvOptions, FileType, WriterOptions};

use crate::common::*;

/// Every reference run of a row file type.
const RUNS: [&str; 8] = [
    "all_types",
    "numpy_compatible",
    "fp16_float_lists",
    "fp16_mixed_forms",
    "nullable_defaults",
    "defaults_only",
    "auto_id_function",
    "struct",
];

/// Runs whose JSON field holds a bare list, which Milvus's JSON reader rejects; we write it
/// as a string of JSON text.
const JSON_FIELD_AS_TEXT: [&str; 2] = ["all_types", "numpy_compatible"];

/// Writes a reference case with our writer, with the run's CSV options.
fn write_run(file_type: FileType, run: &str) -> (tempfile::TempDir, BulkWriter, ReferenceRun) {
    let reference = reference_run(file_type.name(), run);
    let manifest = read_json(
        &reference_dir()
            .join(file_type.name())
            .join(format!("{run}.manifest.json")),
    );
    let mut options = WriterOptions::new(file_type);
    if let Some(config) = manifest["config"].as_object() {
        let sep = config["sep"].as_str().unwrap().chars().next().unwrap();
        let null = config["nullkey"].as_str().unwrap();
        options = options.with_csv(CsvOptions::new(sep, null).unwrap());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        BulkWriter::local(reference_schema(&reference.case), dir.path(), options).unwrap();
    for row in reference_inputs(&reference.case) {
        writer.append_row(&row).unwrap();
    }
    writer.commit().unwrap();
    (dir, writer, reference)
}

fn assert_same_bytes(ours: &[u8], theirs: &[u8], what: &str) {
    if ours != theirs {
        panic!(
            "{what} differs from the reference\n--- ours\n{}\n--- reference\n{}",
            String::from_utf8_lossy(ours),
            String::from_utf8_lossy(theirs)
        );
    }
}

fn check_run(file_type: FileType, run: &str) {
    let (_dir, writer, reference) = write_run(file_type, run);
    let ours = writer.batch_files();
    assert_eq!(ours.len(), reference.batch_files.len(), "{run}: segments");
    for (segment, (ours, theirs)) in ours.iter().zip(&reference.batch_files).enumerate() {
        assert_eq!(ours.len(), 1, "{run}: one file per import group");
        let name = format!("/{}.{}", segment + 1, file_type.name());
        assert!(
            ours[0].ends_with(&name),
            "{run}: {} is not …{name}",
            ours[0]
        );
        let our_bytes = std::fs::read(&ours[0]).unwrap();
        let their_path = theirs[0].to_str().unwrap();
        let what = format!("{} {run}", file_type.name());
        if file_type != FileType::Csv && JSON_FIELD_AS_TEXT.contains(&run) {
            let schema = reference_dir().join(format!("schemas/{}.json", reference.case));
            let schema = schema.to_str().unwrap();
            // The script renders the reference faithfully...
            let as_is = run_python("rows_reference.py", &[their_path, schema, "as-is"]);
            assert_same_bytes(as_is.as_bytes(), &std::fs::read(&theirs[0]).unwrap(), &what);
            // ...and with the JSON field as text, which is what we must have written.
            let fixed = run_python(
                "rows_reference.py",
                &[their_path, schema, "json-fields-as-text"],
            );
            assert_ne!(fixed, as_is, "{what}: the case has no bare JSON list");
            assert_same_bytes(&our_bytes, fixed.as_bytes(), &what);
        } else {
            assert_same_bytes(&our_bytes, &std::fs::read(&theirs[0]).unwrap(), &what);
        }
    }
}

#[test]
fn json_files_match_pymilvus_byte_for_byte() {
    for run in RUNS {
        check_run(FileType::Json, run);
    }
}

#[test]
fn jsonl_files_match_pymilvus_byte_for_byte() {
    for run in RUNS {
        check_run(FileType::Jsonl, run);
    }
}

#[test]
fn csv_files_match_pymilvus_byte_for_byte() {
    for run in RUNS.iter().chain(&["nullable_defaults_tab_NULL"]) {
        check_run(FileType::Csv, run);
    }
}
