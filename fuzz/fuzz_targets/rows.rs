//! Row validation for every field type: JSONL rows checked against the pymilvus reference
//! schemas (all types, structs, nullable and default fields, half-precision vectors) by a
//! dry-run writer of each file type, whose checks differ (CSV refuses a value equal to its
//! null marker, NumPy has no struct fields). The first byte picks the schema and the file
//! type; the rest is the JSONL text.
#![no_main]

use bulkwriter_fuzz::{SCHEMAS, input::InputFormat, read_and_validate, scratch_file};
use bulkwriter_writer::FileType;
use libfuzzer_sys::fuzz_target;

const FILE_TYPES: [FileType; 5] = [
    FileType::Parquet,
    FileType::Numpy,
    FileType::Json,
    FileType::Jsonl,
    FileType::Csv,
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rows)) = data.split_first() else {
        return;
    };
    // SCHEMAS[0] is the readers' medium_articles; the rows target uses the others.
    let schemas = &SCHEMAS[1..];
    let schema = schemas[pick as usize % schemas.len()].1;
    let file_type = FILE_TYPES[pick as usize / schemas.len() % FILE_TYPES.len()];
    let path = scratch_file("rows.jsonl", rows);
    read_and_validate(
        schema,
        file_type,
        InputFormat::Jsonl,
        &path,
        rows.len() as u64,
        None,
    );
});
