//! Input datasets for Milvus bulk import: which files, in which format, read as one stream
//! of [`Chunk`]s — rows as JSON objects (JSONL, JSON, CSV/TSV) or Arrow record batches
//! (Parquet, a NumPy folder, vector dumps) — with each row's position for error messages and
//! its original text for reject files; and schema inference from a sample, beside the readers.
//!
//! ```no_run
//! use std::ops::ControlFlow;
//! use bulkwriter_input::{Chunk, ReadOptions, expand, read};
//!
//! let files = expand(&["data/*.jsonl".to_string()], None)?;
//! let options = ReadOptions::new();
//! let mut rows = 0;
//! for file in &files {
//!     read(file, &options, &mut |chunk| {
//!         if let Chunk::Row(_) = chunk {
//!             rows += 1;
//!         }
//!         ControlFlow::Continue(())
//!     })?;
//! }
//! # Ok::<(), bulkwriter_input::InputError>(())
//! ```
//!
//! Readers apply the column mapping ([`ReadOptions::with_mapping`]), so chunks carry schema
//! field names. The visitor returns [`ControlFlow::Break`] to stop reading. This crate
//! knows the schema only to type CSV cells and fill vector dumps; validating rows is the
//! writer's job.
//!
//! Module map: `format` (the formats and extensions), `files` (specs → files), `chunk`
//! (what readers produce), `options` (settings and the byte counter), `error`, one module
//! per format (`jsonl`, `json`, `csv`, `parquet`, `numpy_dir` over `npy`, `vectors`), and
//! `infer` (a schema from a sample).

mod chunk;
mod compression;
mod csv;
mod decimal;
mod error;
mod files;
mod format;
pub mod infer;
mod json;
mod jsonl;
mod line_columns;
pub mod npy;
mod numpy_dir;
mod options;
mod parquet;
mod parquet_vectors;
pub mod remote;
mod shard;
mod vector_bytes;
mod vectors;

use std::fs::File;
use std::io::{BufReader, Read};
use std::ops::ControlFlow;

pub use chunk::{Chunk, Raw, RowPosition, SourceRow, line_chunk, rename_keys};
pub use compression::Compression;
pub use csv::parse_bool;
pub use error::InputError;
pub use files::{InputFile, dedupe, expand, expand_with};
pub use format::InputFormat;
pub use options::{BATCH_ROWS, MAX_ROW_BYTES, ReadOptions};
pub use shard::{Shard, shard};
pub use vector_bytes::VectorBytes;

/// What a reader hands every chunk to; [`ControlFlow::Break`] stops the read.
pub type Visit<'v> = dyn FnMut(Chunk) -> ControlFlow<()> + 'v;

/// Reads one input to the end (or until `visit` breaks), handing every chunk to `visit`.
pub fn read(
    input: &InputFile,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    options.reset();
    read_any(input, options, visit).map_err(|e| e.in_file(&input.name))
}

fn read_any(
    input: &InputFile,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let open = || -> Result<Box<dyn Read + Send>, InputError> {
        let inner: Box<dyn Read + Send> = match (&input.path, &input.remote) {
            (Some(path), _) => Box::new(File::open(path).map_err(|source| InputError::Open {
                path: input.name.clone(),
                source,
            })?),
            (None, Some(object)) => Box::new(remote::ObjectRead::open(object, &input.name)?),
            (None, None) => Box::new(std::io::stdin()),
        };
        // Progress counts the bytes as stored; the row guard, the text they decode to.
        let (text, compression) = compression::decompressed(Box::new(options.counting(inner)))?;
        if let (Some(compression), Some(_)) = (compression, &input.range) {
            return Err(InputError::ShardCompressed {
                file: input.name.clone(),
                compression: compression.name(),
            });
        }
        Ok(Box::new(options.guarding(text)))
    };
    let path = || {
        input.path.as_deref().ok_or(InputError::StdinFormat {
            given: Some(input.format),
        })
    };
    match input.format {
        InputFormat::Jsonl => jsonl::read(
            BufReader::with_capacity(1 << 20, open()?),
            &input.range,
            options,
            visit,
        ),
        // serde_json reads a reader byte by byte: buffered, or every byte is a read call.
        InputFormat::Json => json::read(BufReader::with_capacity(1 << 20, open()?), options, visit),
        InputFormat::Csv => {
            let separator = options
                .csv_separator
                .unwrap_or(if input.tsv { b'\t' } else { b',' });
            csv::read(open()?, separator, &input.range, options, visit)
        }
        InputFormat::Parquet => match (&input.path, &input.remote) {
            (Some(path), _) => parquet::read(path, input, options, visit),
            (None, Some(object)) => parquet::read_remote(object, input, options, visit),
            // Parquet is read from its footer back: standard input is spooled to a file.
            (None, None) => {
                let spooled = spool_stdin(options)?;
                parquet::read(spooled.path(), input, options, visit)
            }
        },
        InputFormat::NumpyDir => numpy_dir::read(path()?, options, visit),
        InputFormat::NpyMatrix | InputFormat::Fvecs | InputFormat::Bvecs | InputFormat::Ivecs => {
            vectors::read(path()?, input.format, options, visit)
        }
    }
}

/// Copies standard input into a temporary file (removed when dropped), counting its bytes.
fn spool_stdin(options: &ReadOptions<'_>) -> Result<tempfile::NamedTempFile, InputError> {
    let spool_error = |source| InputError::Spool { source };
    let mut file = tempfile::NamedTempFile::new().map_err(spool_error)?;
    std::io::copy(&mut options.counting(std::io::stdin().lock()), &mut file)
        .map_err(spool_error)?;
    Ok(file)
}

// Hostile input is fuzzed by the libFuzzer targets in fuzz/ (fuzz/run.sh).
#[cfg(test)]
mod tests {
    use std::path::Path;

    use bulkwriter_schema::CollectionSchema;

    use super::*;

    #[test]
    fn a_huge_row_is_refused_before_it_is_read_whole() {
        let schema = CollectionSchema::from_json_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/medium_articles.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let options = ReadOptions::new()
            .with_schema(&schema)
            .with_batch_rows(64)
            .with_max_row_bytes(1 << 20);
        let dir = tempfile::tempdir().unwrap();
        let huge = "x".repeat(5 << 20);
        let small = r#"{"id": 1, "title": "t"}"#;
        let cases = [
            (
                InputFormat::Jsonl,
                format!("{small}\n{{\"id\": 2, \"title\": \"{huge}\"}}\n"),
            ),
            (
                InputFormat::Json,
                format!("[{small}, {{\"id\": 2, \"title\": \"{huge}\"}}]"),
            ),
            (InputFormat::Csv, format!("id,title\n1,t\n2,{huge}\n")),
        ];
        for (format, text) in cases {
            let path = dir.path().join("input");
            std::fs::write(&path, &text).unwrap();
            let input = InputFile {
                name: "input".into(),
                size: Some(text.len() as u64),
                path: Some(path),
                format,
                tsv: false,
                partitions: Vec::new(),
                remote: None,
                range: None,
            };
            let mut rows = 0;
            let error = read(&input, &options, &mut |_| {
                rows += 1;
                ControlFlow::Continue(())
            })
            .unwrap_err();
            let message = error.to_string();
            assert!(
                message.contains("a row is longer than 1 MiB; no Milvus row is that large (is the file in the format its name says?)"),
                "{format:?}: {message}"
            );
            assert!(message.starts_with("input: "), "{format:?}: {message}");
            assert_eq!(rows, 1, "{format:?}: the row before is read");
        }
    }

    #[test]
    fn a_visitor_that_breaks_stops_every_reader() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (InputFormat::Jsonl, "{\"a\": 1}\n{\"a\": 2}\n{\"a\": 3}\n"),
            (InputFormat::Json, "[{\"a\": 1}, {\"a\": 2}, {\"a\": 3}]"),
            (InputFormat::Csv, "a\n1\n2\n3\n"),
        ];
        for (format, text) in cases {
            let path = dir.path().join("input");
            std::fs::write(&path, text).unwrap();
            let input = InputFile {
                name: "input".into(),
                size: None,
                path: Some(path),
                format,
                tsv: false,
                partitions: Vec::new(),
                remote: None,
                range: None,
            };
            let mut seen = 0;
            read(&input, &ReadOptions::new(), &mut |_| {
                seen += 1;
                ControlFlow::Break(())
            })
            .unwrap();
            assert_eq!(seen, 1, "{format:?}");
        }
    }
}
