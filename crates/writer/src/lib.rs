//! Writes rows of a Milvus collection into bulk-import files.
//!
//! [`BulkWriter`] (alias [`LocalBulkWriter`], after pymilvus) takes rows as JSON objects
//! ([`BulkWriter::append_row`]) or Arrow record batches ([`BulkWriter::append_batch`]),
//! and validates them with the rules of `bulkwriter_schema::rules`.
//!
//! - NumPy and Parquet rows are buffered column by column; when a segment's encoded size
//!   passes the chunk size it is encoded — NumPy: `<uuid>/<n>/<field>.npy`, byte-identical
//!   to `numpy.save`; Parquet: `<uuid>/<n>.parquet` with pymilvus's Arrow schema — and
//!   handed to a [`bulkwriter_sink::SegmentSink`].
//! - JSON, JSONL and CSV rows are encoded as they arrive, in pymilvus's exact text, and
//!   streamed into the segment's file (`<uuid>/<n>.json|jsonl|csv`), which appears under its
//!   name only when the segment is closed.
//!
//! [`BulkWriter::batch_files`] lists the stored segments in the grouping a Milvus import
//! request takes; [`BulkWriter::import_options`] gives the request's CSV options. With
//! [`BulkWriter::keep_manifest`], `<uuid>/manifest.json` lists the complete segments with
//! their checksums at every moment, and [`BulkWriter::resume`] continues a killed run.
//!
//! Module map: `column` (typed buffers), `segment` (rows → columns, atomically), `batch`
//! (Arrow → columns or rows), `encode` (columns → files, streamed into the sink), `npy` (NPY header), `row` (rules
//! every file type shares: `$meta`, struct presence), `rowtext` (rows → JSON/JSONL/CSV text),
//! `pyjson` (Python's `json.dumps` and float spelling), `manifest` (the run's manifest, for
//! checking and resuming), `memory` (the allocator setting that
//! writing programs make), `writer` (the public writer).

mod batch;
mod column;
mod encode;
mod error;
pub mod manifest;
pub mod memory;
pub mod npy;
mod options;
mod parquet_vectors;
pub mod pyjson;
mod row;
mod rowtext;
mod segment;
mod writer;

pub use error::{Result, WriteError};
pub use manifest::{RunManifest, SegmentRecord};
pub use options::{
    CsvOptions, DEFAULT_CHUNK_SIZE, FileType, WriterOptions, check_run_id, parse_size,
};
pub use row::ExactText;
pub use writer::{BulkWriter, LocalBulkWriter, RemoteBulkWriter};
