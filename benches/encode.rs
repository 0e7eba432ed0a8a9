//! Micro benchmarks of the encoding hot spots. Run by hand: `cargo bench --bench encode`.
//! CI only type-checks them (clippy --all-targets).

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
