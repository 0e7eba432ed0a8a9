//! Parquet output against pymilvus 3.0.2's reference files, read back by pyarrow.

use bulkwriter_writer::{BulkWriter, FileType, WriteError, WriterOptions};

use crate::common::*;

#[test]
fn parquet_files_match_pymilvus_through_pyarrow() {
    let runs = [
        "all_types",
        "numpy_compatible",
        "fp16_float_lists",
        "fp16_mixed_forms",
        "nullable_defaults",
        "defaults_only",
        "auto_id_function",
        "struct",
        "chunked_defaults_only",
    ];
    for run in runs {
        let reference = reference_run("parquet", run);
        let (_dir, writer) = write_case(&reference.case, FileType::Parquet, reference.chunk_size);
        let ours = writer.batch_files();
        assert_eq!(
            ours.len(),
            reference.batch_files.len(),
            "{run}: segment count"
        );
        let inputs = reference_dir().join(format!("inputs/{}.json", reference.case));
        for (segment, (ours, theirs)) in ours.iter().zip(&reference.batch_files).enumerate() {
            assert_eq!(ours.len(), 1, "one Parquet file per import group");
            assert!(ours[0].ends_with(&format!("/{}.parquet", segment + 1)));
            run_python(
                "compare_parquet.py",
                &[
                    theirs[0].to_str().unwrap(),
                    &ours[0],
                    &reference.case,
                    inputs.to_str().unwrap(),
                ],
            );
        }
    }
}

/// The reference's VARCHAR(16) holds "日本語テキスト": 7 characters (pymilvus's count) but 21
/// UTF-8 bytes (Milvus's count). We reject it, as the server would at import time.
#[test]
fn varchar_length_is_counted_in_utf8_bytes_as_milvus_does() {
    let mut json = read_json(&reference_dir().join("schemas/all_types.json"));
    json["fields"][8]["params"]["max_length"] = 16.into();
    let schema = bulkwriter_schema::CollectionSchema::from_json_value(&json).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        BulkWriter::local(schema, dir.path(), WriterOptions::new(FileType::Parquet)).unwrap();
    let rows = reference_inputs("all_types");
    writer.append_row(&rows[0]).unwrap();
    writer.append_row(&rows[1]).unwrap();
    let err = writer.append_row(&rows[2]).unwrap_err();
    assert!(
        matches!(&err, WriteError::Row { row: 3, field, .. } if field == "varchar"),
        "{err}"
    );
    assert!(
        err.to_string().contains(
            "length exceeds 16 or type mismatch: the value is 21 UTF-8 bytes long (7 characters)"
        ),
        "{err}"
    );
}
