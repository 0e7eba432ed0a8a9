//! How JSON, JSONL and CSV segments are written: streamed into files that appear only when
//! complete, cut by their real size, fed by Arrow batches as well as rows, and refusing
//! values Milvus would not read back as given (NaN and infinity, CSV cells that would read as
//! null, `\r\n` in CSV text).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, Int64Array, ListArray, RecordBatch};
use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, CsvOptions, FileType, WriteError, WriterOptions};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::{Value, json};

use crate::common::*;

const ROW_TYPES: [FileType; 3] = [FileType::Json, FileType::Jsonl, FileType::Csv];

/// Every file under `dir`, recursively, with its size.
fn files_under(dir: &Path) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                stack.push(entry.path());
            } else {
                let name = entry
                    .path()
                    .strip_prefix(dir)
                    .unwrap()
                    .display()
                    .to_string();
                out.push((name, entry.metadata().unwrap().len()));
            }
        }
    }
    out.sort();
    out
}

fn vector_schema(dim: usize) -> CollectionSchema {
    CollectionSchema::from_json_value(&json!({
        "fields": [
            {"name": "id", "type": "INT64", "is_primary": true},
            {"name": "score", "type": "DOUBLE"},
            {"name": "vec", "type": "FLOAT_VECTOR", "params": {"dim": dim}},
        ]
    }))
    .unwrap()
}

fn vector_row(id: i64, dim: usize) -> Value {
    let vec: Vec<f64> = (0..dim)
        .map(|i| ((id as f64 + 1.0) * (i as f64 + 0.5)).sin() / 3.0)
        .collect();
    json!({"id": id, "score": id as f64 / 7.0, "vec": vec})
}

/// Reference Parquet files read by the parquet crate and appended as Arrow batches give the
/// reference's JSON, JSONL and CSV bytes (these cases hold only values a float32 column
/// keeps exactly, so Parquet's float32 loses nothing).
#[test]
fn reference_parquet_appended_as_batches_gives_reference_row_files() {
    for case in ["defaults_only", "auto_id_function"] {
        let parquet = &reference_run("parquet", case).batch_files[0][0];
        for file_type in ROW_TYPES {
            let expected = &reference_run(file_type.name(), case).batch_files[0][0];
            let dir = tempfile::tempdir().unwrap();
            let mut writer = BulkWriter::local(
                reference_schema(case),
                dir.path(),
                WriterOptions::new(file_type),
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
            let ours = std::fs::read(&writer.batch_files()[0][0]).unwrap();
            assert!(
                ours == std::fs::read(expected).unwrap(),
                "{case} {file_type}: differs from {}\n{}",
                expected.display(),
                String::from_utf8_lossy(&ours)
            );
        }
    }
}

/// A segment's file carries its final name only once the segment is complete; until then
/// nothing (a small file) or a staging file (a multipart one) exists, and a writer dropped
/// without commit leaves nothing behind.
#[test]
fn segments_appear_only_when_complete() {
    let dim = 768;
    for file_type in ROW_TYPES {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BulkWriter::local(
            vector_schema(dim),
            dir.path(),
            WriterOptions::new(file_type),
        )
        .unwrap();
        // About 13 MiB of text: more than one 8 MiB part, so the multipart path is used.
        for id in 0..800 {
            writer.append_row(&vector_row(id, dim)).unwrap();
        }
        assert!(writer.buffer_size() > 8 << 20);
        let final_name = format!("{}/1.{}", writer.uuid(), file_type.name());
        let visible = files_under(dir.path());
        assert!(
            visible.iter().all(|(name, _)| name != &final_name),
            "{file_type}: {final_name} exists before commit: {visible:?}"
        );
        writer.commit().unwrap();
        let visible = files_under(dir.path());
        assert_eq!(visible.len(), 1, "{file_type}: {visible:?}");
        assert_eq!(visible[0].0, final_name);
        assert_eq!(visible[0].1 as usize, {
            let path = &writer.batch_files()[0][0];
            std::fs::metadata(path).unwrap().len() as usize
        });

        // Dropped before commit: the staging file is removed.
        let dir = tempfile::tempdir().unwrap();
        let mut writer = BulkWriter::local(
            vector_schema(dim),
            dir.path(),
            WriterOptions::new(file_type),
        )
        .unwrap();
        for id in 0..800 {
            writer.append_row(&vector_row(id, dim)).unwrap();
        }
        drop(writer);
        assert_eq!(files_under(dir.path()), vec![], "{file_type}");
    }
}

/// Segments are cut by their real size: each is closed after the row that takes it past the
/// chunk size, so every file but the last is larger than the chunk size by less than a row,
/// and the rows across files are the rows given, in order.
#[test]
fn segments_are_cut_by_their_written_size() {
    let chunk = 50_000u64;
    for file_type in ROW_TYPES {
        let dir = tempfile::tempdir().unwrap();
        let options = WriterOptions::new(file_type).with_chunk_size(chunk);
        let mut writer = BulkWriter::local(vector_schema(16), dir.path(), options).unwrap();
        for id in 0..500 {
            writer.append_row(&vector_row(id, 16)).unwrap();
        }
        writer.commit().unwrap();
        let groups = writer.batch_files();
        assert!(groups.len() > 3, "{file_type}: {} segments", groups.len());
        let mut ids = Vec::new();
        for (i, group) in groups.iter().enumerate() {
            let size = std::fs::metadata(&group[0]).unwrap().len();
            let text = std::fs::read_to_string(&group[0]).unwrap();
            let rows: Vec<Value> = match file_type {
                FileType::Json => serde_json::from_str::<Value>(&text).unwrap()["rows"]
                    .as_array()
                    .unwrap()
                    .clone(),
                FileType::Jsonl => text
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap())
                    .collect(),
                _ => text
                    .lines()
                    .skip(1)
                    .map(|l| json!({"id": l.split(',').next().unwrap().parse::<i64>().unwrap()}))
                    .collect(),
            };
            ids.extend(rows.iter().map(|r| r["id"].as_i64().unwrap()));
            if i + 1 < groups.len() {
                let longest_row = 1_000;
                assert!(
                    size > chunk && size < chunk + longest_row,
                    "{file_type} segment {}: {size} bytes",
                    i + 1
                );
            }
        }
        assert_eq!(ids, (0..500).collect::<Vec<_>>(), "{file_type}");
    }
}

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

/// NaN and infinity cannot be written to JSON (pymilvus writes the non-standard `NaN` and
/// `Infinity`) and pymilvus turns NaN into null in CSV; Milvus rejects them everywhere. We
/// refuse them when the row is appended, naming the row and field, and write nothing of that row.
#[test]
fn nan_and_infinity_are_refused_at_append() {
    let bad_batches = [
        (
            "score",
            batch(vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
                ("score", Arc::new(Float64Array::from(vec![0.5, f64::NAN]))),
                ("vec", vector_list(&[[0.1, 0.2], [0.3, 0.4]])),
            ]),
        ),
        (
            "vec",
            batch(vec![
                ("id", Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef),
                ("score", Arc::new(Float64Array::from(vec![0.5, 1.5]))),
                ("vec", vector_list(&[[0.1, 0.2], [f32::INFINITY, 0.4]])),
            ]),
        ),
    ];
    for file_type in ROW_TYPES {
        for (field, bad) in &bad_batches {
            let dir = tempfile::tempdir().unwrap();
            let mut writer =
                BulkWriter::local(vector_schema(2), dir.path(), WriterOptions::new(file_type))
                    .unwrap();
            match writer.append_batch(bad) {
                Err(WriteError::Row {
                    row,
                    field: f,
                    message,
                }) => {
                    assert_eq!(row, 2, "{file_type}");
                    assert_eq!(&f, field, "{file_type}");
                    assert!(message.contains("not a finite number"), "{message}");
                }
                other => panic!("{file_type}: expected a row error, got {other:?}"),
            }
            // The good row before it is kept; nothing of the bad row is written.
            assert_eq!(writer.total_row_count(), 1);
            writer.commit().unwrap();
            let text = std::fs::read_to_string(&writer.batch_files()[0][0]).unwrap();
            assert!(
                !text.contains("NaN") && !text.contains("inf"),
                "{file_type}: {text}"
            );
            assert_eq!(files_under(dir.path()).len(), 1);
        }
    }
}

fn vector_list(rows: &[[f32; 2]]) -> ArrayRef {
    Arc::new(ListArray::from_iter_primitive::<
        arrow_array::types::Float32Type,
        _,
        _,
    >(
        rows.iter()
            .map(|r| Some(r.iter().map(|v| Some(*v)).collect::<Vec<_>>())),
    ))
}

fn text_schema() -> CollectionSchema {
    CollectionSchema::from_json_value(&json!({
        "fields": [
            {"name": "id", "type": "INT64", "is_primary": true},
            {"name": "name", "type": "VARCHAR", "params": {"max_length": 32}},
            {"name": "note", "type": "VARCHAR", "nullable": true, "params": {"max_length": 32}},
            {"name": "vec", "type": "FLOAT_VECTOR", "params": {"dim": 1}},
        ]
    }))
    .unwrap()
}

fn csv_writer(dir: &Path, sep: char, null_key: &str) -> BulkWriter {
    let options =
        WriterOptions::new(FileType::Csv).with_csv(CsvOptions::new(sep, null_key).unwrap());
    BulkWriter::local(text_schema(), dir, options).unwrap()
}

/// Milvus reads a CSV cell equal to `nullkey` as null in a nullable (or default-valued)
/// field, so such a value would silently become null: it is refused, and accepted with a
/// marker that does not collide. Non-nullable fields are read as given.
#[test]
fn csv_values_that_would_read_as_null_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut writer = csv_writer(dir.path(), ',', "");
    // An empty name is fine (not nullable); an empty note would read back as null.
    writer
        .append_row(&json!({"id": 1, "name": "", "note": "x", "vec": [0.5]}))
        .unwrap();
    let err = writer
        .append_row(&json!({"id": 2, "name": "a", "note": "", "vec": [0.5]}))
        .unwrap_err();
    match &err {
        WriteError::Row {
            row,
            field,
            message,
        } => {
            assert_eq!((*row, field.as_str()), (2, "note"));
            assert!(message.contains("null marker"), "{message}");
        }
        other => panic!("{other:?}"),
    }
    writer
        .append_row(&json!({"id": 3, "name": "b", "note": null, "vec": [0.5]}))
        .unwrap();
    writer.commit().unwrap();
    let text = std::fs::read_to_string(&writer.batch_files()[0][0]).unwrap();
    assert_eq!(text, "id,name,note,vec\n1,,x,[0.5]\n3,b,,[0.5]\n");

    let dir = tempfile::tempdir().unwrap();
    let mut writer = csv_writer(dir.path(), '\t', "NULL");
    writer
        .append_row(&json!({"id": 1, "name": "a", "note": "", "vec": [0.5]}))
        .unwrap();
    assert!(
        writer
            .append_row(&json!({"id": 2, "name": "a", "note": "NULL", "vec": [0.5]}))
            .is_err()
    );
    writer.commit().unwrap();
    assert_eq!(writer.import_options()["sep"], "\t");
    assert_eq!(writer.import_options()["nullkey"], "NULL");
    let text = std::fs::read_to_string(&writer.batch_files()[0][0]).unwrap();
    assert_eq!(text, "id\tname\tnote\tvec\n1\ta\t\t[0.5]\n");
}

/// Go's CSV reader, which Milvus uses, turns `\r\n` inside a quoted cell into `\n`; CSV
/// output refuses such text, JSON keeps it.
#[test]
fn csv_refuses_crlf_text_that_json_keeps() {
    let row = json!({"id": 1, "name": "a\r\nb", "note": "c\rd\ne", "vec": [0.5]});
    let dir = tempfile::tempdir().unwrap();
    let mut writer = csv_writer(dir.path(), ',', "");
    let err = writer.append_row(&row).unwrap_err().to_string();
    assert!(
        err.contains("field 'name'") && err.contains("\\r\\n"),
        "{err}"
    );

    let mut writer = BulkWriter::local(
        text_schema(),
        dir.path(),
        WriterOptions::new(FileType::Jsonl),
    )
    .unwrap();
    writer.append_row(&row).unwrap();
    writer.commit().unwrap();
    let text = std::fs::read_to_string(&writer.batch_files()[0][0]).unwrap();
    let back: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(back["name"], "a\r\nb");
    assert_eq!(back["note"], "c\rd\ne");
}

#[test]
fn csv_separators_milvus_rejects_are_refused() {
    for sep in ['"', '\n', '\r', '\0', '\u{FFFD}'] {
        assert!(CsvOptions::new(sep, "").is_err(), "{sep:?}");
    }
    assert!(CsvOptions::new(',', "a\nb").is_err());
    let default = CsvOptions::default();
    assert!(default.import_options().is_empty());
    assert_eq!(
        CsvOptions::new('|', "").unwrap().import_options()["sep"],
        "|"
    );
}
