//! [`ReadOptions`]: the settings every reader shares, built once with `with_*` calls, and the
//! byte counter behind progress and the row-size guard.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bulkwriter_schema::CollectionSchema;

use crate::VectorBytes;

/// The longest row a text input may hold. No Milvus row comes near it (VARCHAR and JSON
/// values are at most 64 KiB by default, vectors at most 32,768 dimensions); the limit keeps
/// a broken or hostile file (a 1 GB string, a file without line breaks) from being read into
/// memory whole.
pub const MAX_ROW_BYTES: u64 = 64 << 20;

/// Rows per Arrow batch read from columnar inputs, unless set otherwise.
pub const BATCH_ROWS: usize = 4096;

/// Settings every reader shares.
///
/// ```
/// # use bulkwriter_input::ReadOptions;
/// let options = ReadOptions::new().with_csv_null("NULL").with_batch_rows(1024);
/// assert_eq!(options.batch_rows(), 1024);
/// ```
#[derive(Debug, Clone)]
pub struct ReadOptions<'a> {
    /// The collection schema: CSV cells are typed by their field, vector dumps find their
    /// field and primary key. Without one, CSV cells stay text.
    pub(crate) schema: Option<&'a CollectionSchema>,
    /// Input column name → field name.
    pub(crate) mapping: HashMap<String, String>,
    /// CSV separator (None: `,`, or a tab for `.tsv`).
    pub(crate) csv_separator: Option<u8>,
    /// CSV text of a null cell.
    pub(crate) csv_null: String,
    /// The field vector dumps fill.
    pub(crate) vector_field: Option<String>,
    /// First generated primary key for vector dumps.
    pub(crate) id_start: i64,
    /// Byte columns to decode as float vectors, by field name.
    pub(crate) vector_bytes: HashMap<String, VectorBytes>,
    pub(crate) batch_rows: usize,
    pub(crate) max_row_bytes: u64,
    /// Whether JSONL lines are decoded straight into Arrow columns where the schema allows.
    pub(crate) lines_as_columns: bool,
    /// Bytes of the current input consumed so far (read, or estimated for columnar files);
    /// of a compressed input, its compressed bytes.
    pub(crate) consumed: Arc<AtomicU64>,
    /// Bytes of a text input decoded so far (after decompression).
    pub(crate) decoded: Arc<AtomicU64>,
    /// `decoded` where the current row of a text input started.
    pub(crate) row_start: Arc<AtomicU64>,
}

impl Default for ReadOptions<'_> {
    fn default() -> Self {
        ReadOptions::new()
    }
}

impl<'a> ReadOptions<'a> {
    /// Options without a schema: no mapping, `,` (or a tab for `.tsv`), empty null cells,
    /// [`BATCH_ROWS`] rows per batch, rows up to [`MAX_ROW_BYTES`].
    pub fn new() -> ReadOptions<'a> {
        ReadOptions {
            schema: None,
            mapping: HashMap::new(),
            csv_separator: None,
            csv_null: String::new(),
            vector_field: None,
            id_start: 0,
            vector_bytes: HashMap::new(),
            batch_rows: BATCH_ROWS,
            max_row_bytes: MAX_ROW_BYTES,
            lines_as_columns: false,
            consumed: Arc::new(AtomicU64::new(0)),
            decoded: Arc::new(AtomicU64::new(0)),
            row_start: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Types CSV cells by this schema and fills vector dumps' fields from it.
    pub fn with_schema(mut self, schema: &'a CollectionSchema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Renames input columns to field names (input name → field name).
    pub fn with_mapping(mut self, mapping: HashMap<String, String>) -> Self {
        self.mapping = mapping;
        self
    }

    /// The CSV separator for every CSV input (else `,`, or a tab for `.tsv` files).
    pub fn with_csv_separator(mut self, separator: Option<u8>) -> Self {
        self.csv_separator = separator;
        self
    }

    /// The CSV text of a null cell.
    pub fn with_csv_null(mut self, null: impl Into<String>) -> Self {
        self.csv_null = null.into();
        self
    }

    /// The vector field that vector dumps fill, and the first primary key generated for them.
    pub fn with_vector_field(mut self, field: Option<String>, id_start: i64) -> Self {
        self.vector_field = field;
        self.id_start = id_start;
        self
    }

    /// Decodes these byte columns (after the mapping: by field name) as float vectors of the
    /// given layout (see [`VectorBytes`]).
    pub fn with_vector_bytes(mut self, layouts: HashMap<String, VectorBytes>) -> Self {
        self.vector_bytes = layouts;
        self
    }

    /// Rows per Arrow batch from columnar inputs (at least 1).
    pub fn with_batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows.max(1);
        self
    }

    /// The longest row a text input may hold, in bytes.
    pub fn with_max_row_bytes(mut self, bytes: u64) -> Self {
        self.max_row_bytes = bytes;
        self
    }

    /// Decodes JSONL lines of the common field types straight into Arrow columns
    /// ([`Chunk::Lines`](crate::Chunk::Lines)) instead of a JSON value per row: much faster,
    /// and what a writer of column files (NumPy, Parquet) takes best. Needs the schema.
    pub fn with_lines_as_columns(mut self, on: bool) -> Self {
        self.lines_as_columns = on;
        self
    }

    /// Rows per Arrow batch.
    pub fn batch_rows(&self) -> usize {
        self.batch_rows
    }

    /// The column mapping.
    pub fn mapping(&self) -> &HashMap<String, String> {
        &self.mapping
    }

    /// Bytes of the input being read consumed so far (estimated for columnar files; the
    /// compressed bytes of a compressed file): read it from the visitor to draw progress.
    pub fn bytes_read(&self) -> u64 {
        self.consumed.load(Ordering::Relaxed)
    }

    /// The field name an input column maps to.
    pub(crate) fn mapped<'n>(&'n self, name: &'n str) -> &'n str {
        self.mapping.get(name).map_or(name, String::as_str)
    }

    /// Marks the start of the next row of a text input (see [`ReadOptions::with_max_row_bytes`]).
    pub(crate) fn start_row(&self) {
        self.row_start
            .store(self.decoded.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Starts counting a new input from zero.
    pub(crate) fn reset(&self) {
        self.consumed.store(0, Ordering::Relaxed);
        self.decoded.store(0, Ordering::Relaxed);
        self.row_start.store(0, Ordering::Relaxed);
    }

    /// Records an estimate of the bytes consumed (columnar inputs: by share of rows).
    pub(crate) fn set_consumed(&self, bytes: u64) {
        self.consumed.store(bytes, Ordering::Relaxed);
    }

    /// Wraps a reader of the input's bytes as stored, to count them for progress.
    pub(crate) fn counting<R>(&self, inner: R) -> Counting<R> {
        Counting {
            inner,
            consumed: Arc::clone(&self.consumed),
        }
    }

    /// Wraps a reader of the decoded text (decompressed, if it was), to guard the row size.
    pub(crate) fn guarding<R>(&self, inner: R) -> RowGuard<R> {
        RowGuard {
            inner,
            decoded: Arc::clone(&self.decoded),
            row_start: Arc::clone(&self.row_start),
            max_row_bytes: self.max_row_bytes,
        }
    }
}

/// Counts the bytes read through it into a shared counter.
pub(crate) struct Counting<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

/// Fails once more than `max_row_bytes` were read through it since the current row started
/// (measured on the decoded text, so a small compressed file cannot hide a huge row).
pub(crate) struct RowGuard<R> {
    inner: R,
    decoded: Arc<AtomicU64>,
    row_start: Arc<AtomicU64>,
    max_row_bytes: u64,
}

impl<R: Read> Read for RowGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let decoded = self.decoded.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        // Readers buffer ahead of the row they parse, so allow one buffer more.
        let slack = 2 << 20;
        if decoded - self.row_start.load(Ordering::Relaxed) > self.max_row_bytes + slack {
            return Err(std::io::Error::other(format!(
                "a row is longer than {} MiB; no Milvus row is that large (is the file in the format its name says?)",
                self.max_row_bytes >> 20
            )));
        }
        Ok(n)
    }
}
