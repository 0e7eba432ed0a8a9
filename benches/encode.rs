//! Micro benchmarks of the hot spots: whole segments per file type, NPY and Parquet encoding,
//! JSONL and CSV reading (the real readers), float formatting, FP16/BF16 conversion. Run by hand:
//! `cargo bench --bench encode`; the end-to-end comparison is `benches/throughput.sh`.
//! CI only type-checks them (clippy --all-targets).

use std::ops::ControlFlow;

use bulkwriter_input::{Chunk, InputFile, InputFormat, ReadOptions};
use bulkwriter_schema::CollectionSchema;
use bulkwriter_writer::{BulkWriter, FileType, WriterOptions, pyjson};
use serde_json::{Value, json};

fn main() {
    divan::main();
}

fn medium_rows(n: usize) -> (CollectionSchema, Vec<Value>) {
    let schema = CollectionSchema::from_json_str(include_str!("../schemas/medium_articles.json"))
        .expect("bundled schema");
    let rows = (0..n)
        .map(|i| {
            let vector: Vec<f64> = (0..768).map(|j| ((i * 31 + j * 7) % 1000) as f64 / 997.0).collect();
            json!({"id": i, "title": format!("title {i}"), "vector": vector, "link": "https://medium.com/p/x",
                   "reading_time": 5, "publication": "The Startup", "claps": i * 3, "responses": 1})
        })
        .collect();
    (schema, rows)
}

fn convert(file_type: FileType, rows: &[Value], schema: &CollectionSchema) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut writer = BulkWriter::local(schema.clone(), dir.path(), WriterOptions::new(file_type))
        .expect("writer");
    for row in rows {
        writer.append_row(row).expect("valid row");
    }
    writer.commit().expect("commit");
}

#[divan::bench(args = FileType::ALL)]
fn rows_to_segment(bencher: divan::Bencher, file_type: FileType) {
    let (schema, rows) = medium_rows(2_000);
    bencher
        .counter(divan::counter::ItemsCount::new(rows.len()))
        .bench(|| convert(file_type, &rows, &schema));
}

fn bench_values() -> Vec<f64> {
    (1..10_000).map(|i| (i as f64).sin() / i as f64).collect()
}

/// Python `repr(float)` spelling into a reused buffer, as row files are written.
#[divan::bench]
fn python_float_repr(bencher: divan::Bencher) {
    let values = bench_values();
    let mut out = String::new();
    bencher
        .counter(divan::counter::ItemsCount::new(values.len()))
        .bench_local(|| {
            out.clear();
            for v in &values {
                pyjson::write_float(&mut out, *v);
            }
            out.len()
        });
}

/// Baseline for the above: Rust's own shortest round-trip formatting (`{:e}`), which has
/// neither Python's layout nor its tie rule.
#[divan::bench]
fn std_shortest_float(bencher: divan::Bencher) {
    use std::fmt::Write;
    let values = bench_values();
    let mut out = String::new();
    bencher
        .counter(divan::counter::ItemsCount::new(values.len()))
        .bench_local(|| {
            out.clear();
            for v in &values {
                let _ = write!(out, "{v:e}");
            }
            out.len()
        });
}

/// numpy float32 spelling for CSV FLOAT cells.
#[divan::bench]
fn numpy_float32_str(bencher: divan::Bencher) {
    let values: Vec<f32> = bench_values().iter().map(|v| *v as f32).collect();
    let mut out = String::new();
    bencher
        .counter(divan::counter::ItemsCount::new(values.len()))
        .bench_local(|| {
            out.clear();
            for v in &values {
                pyjson::write_float32(&mut out, *v);
            }
            out.len()
        });
}

/// Encoding alone: a writer holding 2,000 rows is committed (NPY or Parquet files written).
#[divan::bench(args = [FileType::Numpy, FileType::Parquet])]
fn encode_segment(bencher: divan::Bencher, file_type: FileType) {
    let (schema, rows) = medium_rows(2_000);
    bencher
        .counter(divan::counter::ItemsCount::new(rows.len()))
        .with_inputs(|| {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut writer =
                BulkWriter::local(schema.clone(), dir.path(), WriterOptions::new(file_type))
                    .expect("writer");
            for row in &rows {
                writer.append_row(row).expect("valid row");
            }
            (dir, writer)
        })
        .bench_local_values(|(dir, mut writer)| {
            writer.commit().expect("commit");
            drop(dir);
        });
}

/// Reads every row of `input` through the real reader, without validation or encoding.
fn count_rows(input: &InputFile, schema: &CollectionSchema) -> usize {
    let options = ReadOptions::new().with_schema(schema);
    let mut rows = 0;
    bulkwriter_input::read(input, &options, &mut |chunk| {
        if let Chunk::Row(_) = chunk {
            rows += 1;
        }
        ControlFlow::Continue(())
    })
    .expect("read");
    rows
}

/// 200 medium_articles rows as a JSONL or CSV file.
fn sample_input(format: InputFormat) -> (tempfile::TempDir, InputFile, CollectionSchema) {
    let (schema, rows) = medium_rows(200);
    let dir = tempfile::tempdir().expect("tempdir");
    let (name, text) = match format {
        InputFormat::Csv => {
            let mut text = String::from("id,title,vector\n");
            for row in &rows {
                text.push_str(&format!(
                    "{},\"{}\",\"{}\"\n",
                    row["id"],
                    row["title"].as_str().unwrap_or(""),
                    row["vector"]
                ));
            }
            ("rows.csv", text)
        }
        _ => (
            "rows.jsonl",
            rows.iter().map(|r| format!("{r}\n")).collect::<String>(),
        ),
    };
    std::fs::write(dir.path().join(name), &text).expect("sample");
    let input = InputFile {
        name: name.to_string(),
        size: Some(text.len() as u64),
        path: Some(dir.path().join(name)),
        format,
        tsv: false,
        partitions: Vec::new(),
        remote: None,
        range: None,
    };
    (dir, input, schema)
}

/// JSONL input of medium_articles rows through the real reader (parsed in parallel blocks).
#[divan::bench]
fn jsonl_read_rows(bencher: divan::Bencher) {
    let (_dir, input, schema) = sample_input(InputFormat::Jsonl);
    bencher
        .counter(divan::counter::ItemsCount::new(200usize))
        .bench(|| count_rows(&input, &schema));
}

/// CSV input of medium_articles rows through the real reader: records split by the csv
/// crate, cells typed by the schema, the vector cell parsed as JSON text.
#[divan::bench]
fn csv_read_rows(bencher: divan::Bencher) {
    let (_dir, input, schema) = sample_input(InputFormat::Csv);
    bencher
        .counter(divan::counter::ItemsCount::new(200usize))
        .bench(|| count_rows(&input, &schema));
}

/// FLOAT16 / BFLOAT16 conversion of 768-float vectors to raw half bytes.
#[divan::bench(args = ["FLOAT16_VECTOR", "BFLOAT16_VECTOR"])]
fn half_vector_conversion(bencher: divan::Bencher, type_name: &str) {
    let mut field = bulkwriter_schema::FieldSchema::new(
        "v",
        bulkwriter_schema::DataType::from_name(type_name).expect("type"),
    );
    field.dim = Some(768);
    let vectors: Vec<Value> = (0..100)
        .map(|i| {
            json!(
                (0..768)
                    .map(|j| ((i * 768 + j) as f64).sin())
                    .collect::<Vec<f64>>()
            )
        })
        .collect();
    let mut out = Vec::with_capacity(768 * 2);
    bencher
        .counter(divan::counter::ItemsCount::new(vectors.len() * 768))
        .bench_local(|| {
            for v in &vectors {
                out.clear();
                bulkwriter_schema::rules::half_vector_into(&field, v, &mut out).expect("valid");
            }
            out.len()
        });
}
