//! ANN-benchmark vector dumps filling the vector field. The first byte picks the format
//! (`.fvecs`, `.bvecs`, `.ivecs`) and the field's vector type; the rest is the file.
#![no_main]

use bulkwriter_fuzz::{
    VECTOR_TYPES, input::InputFormat, read_and_validate, scratch_file, vector_schema,
};
use bulkwriter_writer::FileType;
use libfuzzer_sys::fuzz_target;

const FORMATS: [(InputFormat, &str); 3] = [
    (InputFormat::Fvecs, "input.fvecs"),
    (InputFormat::Bvecs, "input.bvecs"),
    (InputFormat::Ivecs, "input.ivecs"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let (format, name) = FORMATS[pick as usize % FORMATS.len()];
    let schema = vector_schema(VECTOR_TYPES[pick as usize / FORMATS.len() % VECTOR_TYPES.len()]);
    let path = scratch_file(name, file);
    let size = file.len() as u64;
    read_and_validate(
        &schema,
        FileType::Parquet,
        format,
        &path,
        size,
        Some("vector"),
    );
});
