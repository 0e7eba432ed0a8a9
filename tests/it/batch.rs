//! Columnar append: pymilvus's own Parquet files, read by the parquet crate and appended as
//! Arrow batches, give NumPy files byte-identical to pymilvus's NumPy files for the same rows.

use std::fs::File;
use std::sync::Arc;

use arrow_array::types::Float32Type;
use arrow_array::{ArrayRef, Int64Array, ListArray, RecordBatch, StringArray};
use bulkwriter_writer::{BulkWriter, FileType, WriteError, WriterOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::common::*;

#[test]
fn reference_parquet_appended_as_batches_gives_reference_numpy() {
    for case in ["numpy_compatible", "defaults_only"] {
        let parquet = &reference_run("parquet", case).batch_files[0][0];
        let numpy = &reference_run("numpy", case).batch_files[0];
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BulkWriter::local(
            reference_schema(case),
            dir.path(),
            WriterOptions::new(FileType::Numpy),
        )
        .unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(parquet).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            writer.append_batch(&batch.unwrap()).unwrap();
        }
        writer.commit().unwrap();
        let ours = &writer.batch_files()[0];
        assert_eq!(ours.len(), numpy.len(), "{case}");
        for (our_path, their_path) in ours.iter().zip(numpy) {
            assert_eq!(file_name(our_path), file_name(their_path.to_str().unwrap()));
            assert!(
                std::fs::read(our_path).unwrap() == std::fs::read(their_path).unwrap(),
                "{case}: {our_path} differs from the reference"
            );
        }
    }
}

/// A bad row in a batch: the error names the first bad row in row order (not the first bad
/// column) and its field; the rows before it are kept, the rest of the batch is not.
#[test]
fn a_bad_value_in_a_batch_names_the_first_bad_row_and_keeps_the_rows_before_it() {
    let schema =
        bulkwriter_schema::CollectionSchema::from_json_value(&serde_json::json!({"fields": [
        {"name": "id", "type": "INT64", "is_primary": true},
        {"name": "title", "type": "VARCHAR", "params": {"max_length": 3}},
        {"name": "v", "type": "FLOAT_VECTOR", "params": {"dim": 2}}]}))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        BulkWriter::local(schema, dir.path(), WriterOptions::new(FileType::Parquet)).unwrap();
    let vectors = ListArray::from_iter_primitive::<Float32Type, _, _>(vec![
        Some(vec![Some(1.0), Some(2.0)]),
        Some(vec![Some(3.0), Some(4.0)]),
        Some(vec![Some(5.0)]),
    ]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![1, 2, 3]))),
        ("title", Arc::new(StringArray::from(vec!["a", "bb", "ccc"]))),
        ("v", Arc::new(vectors)),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    writer.append_batch(&batch.slice(0, 2)).unwrap();
    let err = writer.append_batch(&batch).unwrap_err();
    assert!(
        matches!(&err, WriteError::Row { row: 5, field, .. } if field == "v"),
        "{err}"
    );
    assert!(err.to_string().contains("got 1, dim is 2"), "{err}");
    assert_eq!(
        writer.total_row_count(),
        4,
        "the two good rows before it are kept"
    );

    // Row 2 has a bad vector and row 3 a title that is too long: row order wins over
    // column order (title comes before v).
    let vectors = ListArray::from_iter_primitive::<Float32Type, _, _>(vec![
        Some(vec![Some(1.0), Some(2.0)]),
        Some(vec![Some(3.0)]),
        Some(vec![Some(5.0), Some(6.0)]),
    ]);
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("id", Arc::new(Int64Array::from(vec![7, 8, 9]))),
        (
            "title",
            Arc::new(StringArray::from(vec!["a", "b", "toolong"])),
        ),
        ("v", Arc::new(vectors)),
    ];
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let given = writer.rows_given();
    let err = writer.append_batch(&batch).unwrap_err();
    assert!(
        matches!(&err, WriteError::Row { row, field, .. } if *row == given + 2 && field == "v"),
        "{err}"
    );
    assert_eq!(writer.total_row_count(), 5);
}
