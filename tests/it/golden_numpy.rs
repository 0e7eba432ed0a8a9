//! NumPy output against pymilvus 3.0.2's reference files: byte for byte where pymilvus writes
//! what Milvus reads, and against numpy itself where we deliberately differ.

use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, FileType, WriteError, WriterOptions};
use serde_json::{Value, json};

use crate::common::*;

#[test]
fn numpy_files_are_byte_identical_to_pymilvus() {
    for run in [
        "numpy_compatible",
        "defaults_only",
        "auto_id_function",
        "chunked_defaults_only",
    ] {
        let reference = reference_run("numpy", run);
        let (_dir, writer) = write_case(&reference.case, FileType::Numpy, reference.chunk_size);
        let ours = writer.batch_files();
        assert_eq!(
            ours.len(),
            reference.batch_files.len(),
            "{run}: segment count"
        );
        for (segment, (ours, theirs)) in ours.iter().zip(&reference.batch_files).enumerate() {
            let our_names: Vec<String> = ours.iter().map(|p| file_name(p)).collect();
            let their_names: Vec<String> = theirs
                .iter()
                .map(|p| file_name(p.to_str().unwrap()))
                .collect();
            assert_eq!(
                our_names,
                their_names,
                "{run} segment {}: files",
                segment + 1
            );
            for (our_path, their_path) in ours.iter().zip(theirs) {
                let a = std::fs::read(our_path).unwrap();
                let b = std::fs::read(their_path).unwrap();
                assert!(
                    a == b,
                    "{run}: {} differs from {}",
                    our_path,
                    their_path.display()
                );
            }
            // The segment folder number is pymilvus's too: <uuid>/<n>/<field>.npy.
            assert!(ours[0].ends_with(&format!("/{}/{}", segment + 1, our_names[0])));
        }
    }
}

/// pymilvus 3.0 writes FLOAT16/BFLOAT16 vectors given as float lists as `<f4` (n, dim);
/// Milvus 2.5/2.6 reads only `|u1` (n, 2·dim) raw half bytes, so we write those, converted
/// with round-to-nearest-even as numpy/ml_dtypes do.
#[test]
fn half_vectors_are_raw_half_bytes_as_milvus_reads_them() {
    for (run, case) in [
        ("fp16_float_lists", "fp16_float_lists"),
        ("fp16_mixed_forms", "fp16_mixed_forms"),
    ] {
        let (_dir, writer) = write_case(case, FileType::Numpy, None);
        let files = &writer.batch_files()[0];
        let inputs = reference_inputs(case);
        for column in ["float16_vector", "bfloat16_vector"] {
            let path = files
                .iter()
                .find(|p| p.ends_with(&format!("/{column}.npy")))
                .unwrap();
            let loaded = np_load(std::path::Path::new(path));
            assert_eq!(loaded["descr"], "|u1", "{run} {column}");
            assert_eq!(loaded["shape"], json!([2, 8]), "{run} {column}");
            let dtype = column.trim_end_matches("_vector");
            for (row, input) in inputs.iter().enumerate() {
                let expected: Vec<Value> = half_bytes(dtype, &input[column])
                    .into_iter()
                    .map(Value::from)
                    .collect();
                assert_eq!(
                    loaded["values"][row],
                    Value::Array(expected),
                    "{run} {column} row {}",
                    row + 1
                );
            }
        }
        if run == "fp16_float_lists" {
            // The reference holds float32 here, which Milvus 2.5/2.6 cannot import.
            let reference = reference_run("numpy", run);
            let theirs = reference.batch_files[0]
                .iter()
                .find(|p| p.ends_with("float16_vector.npy"))
                .unwrap();
            assert_eq!(np_load(theirs)["descr"], "<f4");
        }
    }
}

/// pymilvus accepts these rows, then fails in its flush thread, leaves partial files and
/// reports nothing. We refuse the schema before a file exists.
#[test]
fn fields_numpy_cannot_hold_are_rejected_before_any_file() {
    for (case, field) in [
        ("all_types", "array_bool"),
        ("nullable_defaults", "n_array"),
        ("struct", "structs"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let err = BulkWriter::local(
            reference_schema(case),
            dir.path(),
            WriterOptions::new(FileType::Numpy),
        )
        .unwrap_err();
        assert!(
            matches!(&err, WriteError::Unsupported { field: f, .. } if f == field),
            "{case}: {err}"
        );
        assert!(err.to_string().contains("write PARQUET instead"), "{err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{case}: nothing written"
        );
    }
}

/// pymilvus writes a pickled object array (`|O`) that Milvus cannot read; we reject the row.
#[test]
fn nulls_in_numpy_are_rejected_with_row_and_field() {
    let schema = CollectionSchema::from_json_value(&json!({"fields": [
        {"name": "id", "type": "INT64", "is_primary": true},
        {"name": "n", "type": "INT32", "nullable": true},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}}]}))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        BulkWriter::local(schema, dir.path(), WriterOptions::new(FileType::Numpy)).unwrap();
    writer
        .append_row(&json!({"id": 1, "n": 5, "v": [1, 2]}))
        .unwrap();
    let err = writer
        .append_row(&json!({"id": 2, "n": null, "v": [1, 2]}))
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("row 2, field 'n': field 'n' is null, and NumPy files cannot hold nulls"),
        "{err}"
    );
    writer.commit().unwrap();
    let ids = np_load(std::path::Path::new(&writer.batch_files()[0][0]));
    assert_eq!(
        ids["values"],
        json!([1]),
        "the rejected row left nothing behind"
    );
}
