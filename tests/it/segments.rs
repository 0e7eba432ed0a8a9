//! Segments: rolling by chunk size loses and repeats nothing, checked with readers that are not
//! ours (ndarray-npy for `.npy`, the parquet crate for Parquet).

use std::fs::File;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int64Type};
use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, FileType, WriterOptions};
use ndarray::{Array1, Array2};
use ndarray_npy::ReadNpyExt;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use crate::common::read_json;

fn medium_articles() -> (CollectionSchema, Vec<Value>) {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema =
        CollectionSchema::from_json_value(&read_json(&root.join("schemas/medium_articles.json")))
            .unwrap();
    let rows = read_json(&root.join("fixtures/medium_articles.json"))["rows"]
        .as_array()
        .unwrap()
        .clone();
    (schema, rows)
}

fn expected_columns(rows: &[Value]) -> (Vec<i64>, Vec<f32>) {
    let ids = rows.iter().map(|r| r["id"].as_i64().unwrap()).collect();
    let vectors = rows
        .iter()
        .flat_map(|r| {
            r["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
        })
        .collect();
    (ids, vectors)
}

/// A writer that took every row of `rows` and committed them into `dir`.
fn write_all(
    schema: CollectionSchema,
    dir: &std::path::Path,
    options: WriterOptions,
    rows: &[Value],
) -> BulkWriter {
    let mut writer = BulkWriter::local(schema, dir, options).unwrap();
    for row in rows {
        writer.append_row(row).unwrap();
    }
    writer.commit().unwrap();
    writer
}

#[test]
fn numpy_segments_hold_every_row_once_in_order() {
    let (schema, rows) = medium_articles();
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions::new(FileType::Numpy).with_chunk_size(40_000);
    let writer = write_all(schema, dir.path(), options, &rows);
    assert!(
        writer.batch_files().len() >= 5,
        "{} segments",
        writer.batch_files().len()
    );

    let (mut ids, mut vectors) = (Vec::new(), Vec::new());
    for (n, group) in writer.batch_files().iter().enumerate() {
        assert_eq!(
            group.len(),
            8,
            "one file per field, all in one import group"
        );
        assert!(group.iter().all(|p| p.contains(&format!("/{}/", n + 1))));
        let id = Array1::<i64>::read_npy(File::open(&group[0]).unwrap()).unwrap();
        let vector = Array2::<f32>::read_npy(File::open(&group[2]).unwrap()).unwrap();
        assert_eq!(vector.ncols(), 768);
        assert_eq!(vector.nrows(), id.len());
        ids.extend(id.iter().copied());
        vectors.extend(vector.iter().copied());
    }
    let (expected_ids, expected_vectors) = expected_columns(&rows);
    assert_eq!(ids, expected_ids);
    assert_eq!(vectors, expected_vectors);
    assert_eq!(writer.total_row_count(), rows.len() as u64);
}

/// Ids, titles and vector values of Parquet files, in file order.
fn parquet_columns(files: &[Vec<String>]) -> (Vec<i64>, Vec<String>, Vec<f32>) {
    let (mut ids, mut titles, mut vectors) = (Vec::new(), Vec::new(), Vec::new());
    for group in files {
        assert_eq!(group.len(), 1);
        let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&group[0]).unwrap())
            .unwrap()
            .build()
            .unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            ids.extend(
                batch
                    .column(0)
                    .as_primitive::<Int64Type>()
                    .values()
                    .iter()
                    .copied(),
            );
            titles.extend(
                batch
                    .column(1)
                    .as_string::<i32>()
                    .iter()
                    .map(|s| s.unwrap().to_string()),
            );
            let list = batch.column(2).as_list::<i32>();
            vectors.extend(
                list.values()
                    .as_primitive::<Float32Type>()
                    .values()
                    .iter()
                    .copied(),
            );
        }
    }
    (ids, titles, vectors)
}

fn titles_of(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["title"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn parquet_segments_hold_every_row_once_in_order() {
    let (schema, rows) = medium_articles();
    let dir = tempfile::tempdir().unwrap();
    let options = WriterOptions::new(FileType::Parquet).with_chunk_size(50_000);
    let writer = write_all(schema, dir.path(), options, &rows);
    assert!(writer.batch_files().len() >= 4);
    let (ids, titles, vectors) = parquet_columns(writer.batch_files());
    let (expected_ids, expected_vectors) = expected_columns(&rows);
    assert_eq!(ids, expected_ids);
    assert_eq!(vectors, expected_vectors);
    assert_eq!(titles, titles_of(&rows));
}

/// Row groups are encoded in slices of rows (to keep their levels small): a segment of two
/// groups of thousands of rows still holds every row once, in order.
#[test]
fn parquet_row_groups_of_thousands_of_rows_hold_every_row_once_in_order() {
    let (schema, fixture) = medium_articles();
    // 32 MiB row groups of 3 KB rows: two groups, the second starting past 10,000 rows.
    let rows: Vec<Value> = (0..11_000)
        .map(|i| {
            let mut row = fixture[i % fixture.len()].clone();
            row["id"] = json!(i);
            row["title"] = json!(format!("title {i}"));
            row
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let writer = write_all(
        schema,
        dir.path(),
        WriterOptions::new(FileType::Parquet),
        &rows,
    );
    let files = writer.batch_files().to_vec();
    assert_eq!(files.len(), 1);
    let metadata = ParquetRecordBatchReaderBuilder::try_new(File::open(&files[0][0]).unwrap())
        .unwrap()
        .metadata()
        .clone();
    let groups: Vec<i64> = metadata.row_groups().iter().map(|g| g.num_rows()).collect();
    assert_eq!(groups.len(), 2, "{groups:?}");
    assert_eq!(groups.iter().sum::<i64>(), 11_000);
    let (ids, titles, vectors) = parquet_columns(&files);
    let (expected_ids, expected_vectors) = expected_columns(&rows);
    assert_eq!(ids, expected_ids);
    assert_eq!(titles, titles_of(&rows));
    assert_eq!(vectors, expected_vectors);
}

/// pymilvus numbers segments with a counter that every commit advances, even an empty one.
#[test]
fn an_empty_commit_uses_up_a_segment_number_as_in_pymilvus() {
    let schema = CollectionSchema::from_json_value(&json!({"fields": [
        {"name": "id", "type": "INT64", "is_primary": true}]}))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut writer =
        BulkWriter::local(schema, dir.path(), WriterOptions::new(FileType::Parquet)).unwrap();
    writer.commit().unwrap();
    writer.append_row(&json!({"id": 1})).unwrap();
    writer.commit().unwrap();
    assert_eq!(writer.batch_files().len(), 1);
    assert!(writer.batch_files()[0][0].ends_with("/2.parquet"));
}
