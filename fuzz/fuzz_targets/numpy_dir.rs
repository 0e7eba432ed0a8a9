//! A NumPy folder (`id.npy`, `vector.npy`, `title.npy`, as our NumPy output writes a
//! segment). The input is the three files joined by the line `--next-file--`; a missing
//! part leaves its file out. The first byte picks the vector field's type.
#![no_main]

use bulkwriter_fuzz::{
    VECTOR_TYPES, input::InputFormat, read_and_validate, scratch_dir, vector_schema,
};
use bulkwriter_writer::FileType;
use libfuzzer_sys::fuzz_target;

const SEPARATOR: &[u8] = b"\n--next-file--\n";
const FILES: [&str; 3] = ["id.npy", "vector.npy", "title.npy"];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let schema = vector_schema(VECTOR_TYPES[pick as usize % VECTOR_TYPES.len()]);
    let folder = scratch_dir().join("numpy");
    let _ = std::fs::remove_dir_all(&folder);
    std::fs::create_dir_all(&folder).expect("a scratch folder");
    let mut parts = split(rest);
    for name in FILES {
        if let Some(part) = parts.next() {
            std::fs::write(folder.join(name), part).expect("a scratch file");
        }
    }
    let size = rest.len() as u64;
    read_and_validate(
        &schema,
        FileType::Parquet,
        InputFormat::NumpyDir,
        &folder,
        size,
        None,
    );
});

fn split(mut data: &[u8]) -> impl Iterator<Item = &[u8]> {
    std::iter::from_fn(move || {
        if data.is_empty() {
            return None;
        }
        match data.windows(SEPARATOR.len()).position(|w| w == SEPARATOR) {
            Some(at) => {
                let part = &data[..at];
                data = &data[at + SEPARATOR.len()..];
                Some(part)
            }
            None => Some(std::mem::take(&mut data)),
        }
    })
}
