//! What the fuzz targets share: the input readers (`bulkwriter_input`, the crate the
//! `bulkwriter` binary reads with), the schemas fuzzed rows are checked against,
//! and [`read_and_validate`], which reads bytes as an input file and appends every row or
//! batch to a dry-run writer, so each row that a reader accepts also goes through validation.
//!
//! A target fails when the code panics (libFuzzer reports a crash and saves the input), when
//! one input makes the process hold more than `-rss_limit_mb` (an unbounded allocation), or
//! when an error says nothing (`check_message`). Errors are otherwise the expected outcome.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub use bulkwriter_input as input;
use bulkwriter_input::{Chunk, InputFile, InputFormat, ReadOptions};
use bulkwriter_schema::CollectionSchema;
use bulkwriter_sink::SegmentSink;
use bulkwriter_writer::{BulkWriter, FileType, WriterOptions};

/// The row a text reader may hold, lowered from 64 MiB so that a fuzzed "huge row" is cut
/// short quickly; the limit's logic is the same.
const MAX_ROW_BYTES: u64 = 1 << 20;

/// The schemas fuzzed inputs are read against: medium_articles with 4-dimensional vectors
/// (the readers' targets), and pymilvus reference schemas covering every field type, nullable
/// and default fields, structs and half-precision vectors (the rows target).
pub const SCHEMAS: [(&str, &str); 5] = [
    ("articles", include_str!("../schemas/articles.json")),
    ("all_types", include_str!("../schemas/all_types.json")),
    ("struct", include_str!("../schemas/struct.json")),
    (
        "nullable_defaults",
        include_str!("../schemas/nullable_defaults.json"),
    ),
    (
        "fp16_mixed_forms",
        include_str!("../schemas/fp16_mixed_forms.json"),
    ),
];

/// A schema of a primary key, a 4-wide vector of `vector_type` and a short VARCHAR: what
/// vector dumps and NumPy folders are read against.
pub fn vector_schema(vector_type: &str) -> String {
    let dim = if vector_type == "BINARY_VECTOR" {
        32
    } else {
        4
    };
    format!(
        r#"{{"fields": [
            {{"name": "id", "type": "INT64", "is_primary": true}},
            {{"name": "vector", "type": "{vector_type}", "params": {{"dim": {dim}}}}},
            {{"name": "title", "type": "VARCHAR", "params": {{"max_length": 16}}, "nullable": true}}
        ]}}"#
    )
}

/// The vector types a dump can fill.
pub const VECTOR_TYPES: [&str; 5] = [
    "FLOAT_VECTOR",
    "FLOAT16_VECTOR",
    "BFLOAT16_VECTOR",
    "BINARY_VECTOR",
    "INT8_VECTOR",
];

/// Fails the target when an error says too little to act on. With `BULKWRITER_FUZZ_VERBOSE`
/// set, prints every message (to see what the seeds reach: `fuzz/run.sh --seeds`).
pub fn check_message(message: &str) {
    static VERBOSE: OnceLock<bool> = OnceLock::new();
    if *VERBOSE.get_or_init(|| std::env::var_os("BULKWRITER_FUZZ_VERBOSE").is_some()) {
        eprintln!("refused: {message}");
    }
    assert!(
        message.trim().len() > 10,
        "an error that says nothing: {message:?}"
    );
}

/// A folder of this process's own, for the files a reader opens.
pub fn scratch_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("bulkwriter-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        dir
    })
}

/// One dry-run writer per (schema, file type), made on first use: each costs a runtime, and
/// a dry run keeps no rows, so it can take any number of inputs.
fn with_writer(
    schema_json: &str,
    file_type: FileType,
    use_it: impl FnOnce(Option<&mut BulkWriter>),
) {
    type Writers = HashMap<(String, String), Option<BulkWriter>>;
    static WRITERS: OnceLock<Mutex<Writers>> = OnceLock::new();
    let mut writers = WRITERS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let writer = writers
        .entry((schema_json.to_string(), format!("{file_type:?}")))
        .or_insert_with(|| {
            let schema = CollectionSchema::from_json_str(schema_json).expect("a valid schema");
            let sink = SegmentSink::in_memory().expect("an in-memory sink");
            // Small segments: a dry run still buffers the rows of its open segment.
            let options = WriterOptions::new(file_type)
                .with_dry_run(true)
                .with_chunk_size(1 << 20);
            // Some schemas cannot be written as some file types (structs as NumPy): nothing
            // to validate against then.
            BulkWriter::with_sink(schema, sink, options).ok()
        });
    use_it(writer.as_mut());
}

/// Reads `path` (a file or a NumPy folder the target filled; `size` bytes) as `format` against
/// `schema_json`, appending every row and batch to a dry-run writer of `file_type`.
pub fn read_and_validate(
    schema_json: &str,
    file_type: FileType,
    format: InputFormat,
    path: &Path,
    size: u64,
    vector_field: Option<&str>,
) {
    let schema = CollectionSchema::from_json_str(schema_json).expect("a valid schema");
    let options = ReadOptions::new()
        .with_schema(&schema)
        .with_vector_field(vector_field.map(str::to_string), 0)
        .with_batch_rows(64)
        .with_max_row_bytes(MAX_ROW_BYTES)
        .with_lines_as_columns(!file_type.is_row_text());
    let input = InputFile {
        name: path.display().to_string(),
        size: Some(size),
        path: Some(path.to_path_buf()),
        format,
        tsv: false,
        partitions: Vec::new(),
        remote: None,
        range: None,
    };
    with_writer(schema_json, file_type, |writer| {
        let mut writer = writer;
        let result = input::read(&input, &options, &mut |chunk| {
            let appended = match (&mut writer, chunk) {
                (_, Chunk::BadRow { reason, .. }) => {
                    check_message(&reason);
                    Ok(())
                }
                (None, _) => Ok(()),
                (Some(w), Chunk::Row(row)) => w.append_row(&row.value),
                (Some(w), Chunk::Batch { batch, .. } | Chunk::Lines { batch, .. }) => {
                    w.append_batch(&batch)
                }
            };
            if let Err(e) = appended {
                check_message(&e.to_string());
            }
            ControlFlow::Continue(())
        });
        if let Err(e) = result {
            check_message(&e.to_string());
        }
    });
}

/// Writes `data` to the scratch file `name` and returns its path.
pub fn scratch_file(name: &str, data: &[u8]) -> PathBuf {
    let path = scratch_dir().join(name);
    std::fs::write(&path, data).expect("a scratch file");
    path
}
