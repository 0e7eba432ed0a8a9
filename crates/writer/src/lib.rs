//! Writes rows of a Milvus collection into bulk-import files.
//!
//! [`BulkWriter`] (alias [`LocalBulkWriter`], after pymilvus) takes rows as JSON objects
//! ([`BulkWriter::append_row`]) or Arrow record batches ([`BulkWriter::append_batch`]),
//! validates them with the rules of `bulkwriter_schema::rules`, and buffers them column by
//! column. When a segment's encoded size passes the chunk size it is encoded
//! — NumPy: `<uuid>/<n>/<field>.npy`, byte-identical to `numpy.save`; Parquet:
//! `<uuid>/<n>.parquet` with pymilvus's Arrow schema — and handed to a
//! [`bulkwriter_sink::SegmentSink`]. [`BulkWriter::batch_files`] lists the stored segments in
//! the grouping a Milvus import request takes.
//!
//! Module map: `column` (typed buffers), `segment` (rows → columns, atomically), `batch`
//! (Arrow → columns), `encode` (columns → files), `npy` (NPY header), `pyjson` (Python's
//! `json.dumps` spelling), `writer` (the public writer).

mod batch;
mod column;
mod encode;
mod error;
pub mod npy;
mod options;
pub mod pyjson;
mod row;
mod rowtext;
mod segment;
mod writer;

pub use error::{Result, WriteError};
pub use options::{CsvOptions, DEFAULT_CHUNK_SIZE, FileType, WriterOptions, parse_size};
pub use writer::{BulkWriter, LocalBulkWriter};
