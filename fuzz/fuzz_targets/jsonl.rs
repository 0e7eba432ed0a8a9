//! JSONL input (one object per line) read against medium_articles, every row validated.
#![no_main]

use bulkwriter_fuzz::{SCHEMAS, input::InputFormat, read_and_validate, scratch_file};
use bulkwriter_writer::FileType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.jsonl", data);
    let size = data.len() as u64;
    read_and_validate(
        SCHEMAS[0].1,
        FileType::Parquet,
        InputFormat::Jsonl,
        &path,
        size,
        None,
    );
});
