//! Compressed JSONL (gzip, zstd or bzip2, recognised by its first bytes) read against
//! medium_articles, every row validated: a broken stream ends in an error, never a panic.
#![no_main]

use bulkwriter_fuzz::{SCHEMAS, input::InputFormat, read_and_validate, scratch_file};
use bulkwriter_writer::FileType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = scratch_file("input.jsonl.gz", data);
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
