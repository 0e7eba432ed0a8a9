//! A `.npy` matrix filling the vector field (`--vector-field`). The first byte picks the
//! field's vector type, so every dtype conversion is reached; the rest is the file.
#![no_main]

use bulkwriter_fuzz::{
    VECTOR_TYPES, input::InputFormat, read_and_validate, scratch_file, vector_schema,
};
use bulkwriter_writer::FileType;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let schema = vector_schema(VECTOR_TYPES[pick as usize % VECTOR_TYPES.len()]);
    let path = scratch_file("input.npy", file);
    let size = file.len() as u64;
    read_and_validate(
        &schema,
        FileType::Parquet,
        InputFormat::NpyMatrix,
        &path,
        size,
        Some("vector"),
    );
});
