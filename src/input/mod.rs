//! Input datasets: which files, in which format, read as a stream of [`Chunk`]s — rows as JSON
//! objects (JSON, JSONL, CSV) or Arrow record batches (Parquet, a NumPy folder, vector dumps)
//! — with each row's position for error messages and its original text for reject files.
//!
//! Readers apply the column mapping (`--map`), so chunks carry schema field names.

mod csv_rows;
mod json;
mod npy;
mod numpy_dir;
mod parquet_rows;
mod vectors;

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, anyhow, bail};
use arrow_array::RecordBatch;
use bulkwriter_schema::CollectionSchema;
use rayon::prelude::*;
use serde_json::Value;

/// How an input file is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    /// One JSON object per line (`.jsonl`, `.ndjson`).
    Jsonl,
    /// A JSON list of objects, or `{"rows": [...]}` (`.json`).
    Json,
    /// A header and one row per line (`.csv`; `.tsv` with a tab separator).
    Csv,
    /// Parquet (`.parquet`).
    Parquet,
    /// A folder of `<field>.npy` files, as our NumPy output writes a segment.
    NumpyDir,
    /// A 2-D `.npy` matrix of vectors for `--vector-field`.
    NpyMatrix,
    /// ANN-benchmark float vectors (`.fvecs`).
    Fvecs,
    /// ANN-benchmark byte vectors (`.bvecs`).
    Bvecs,
    /// ANN-benchmark int32 vectors (`.ivecs`).
    Ivecs,
}

impl InputFormat {
    /// Whether rows come one by one as JSON objects (else as Arrow batches).
    pub fn is_rows(self) -> bool {
        matches!(
            self,
            InputFormat::Jsonl | InputFormat::Json | InputFormat::Csv
        )
    }

    /// Whether the format holds only a vector column (`--vector-field`).
    pub fn is_vector_dump(self) -> bool {
        matches!(
            self,
            InputFormat::NpyMatrix | InputFormat::Fvecs | InputFormat::Bvecs | InputFormat::Ivecs
        )
    }

    fn from_extension(path: &Path) -> Option<InputFormat> {
        if path.is_dir() {
            return Some(InputFormat::NumpyDir);
        }
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        Some(match ext.as_str() {
            "jsonl" | "ndjson" => InputFormat::Jsonl,
            "json" => InputFormat::Json,
            "csv" | "tsv" => InputFormat::Csv,
            "parquet" | "pq" => InputFormat::Parquet,
            "npy" => InputFormat::NpyMatrix,
            "fvecs" => InputFormat::Fvecs,
            "bvecs" => InputFormat::Bvecs,
            "ivecs" => InputFormat::Ivecs,
            _ => return None,
        })
    }
}

/// One input: a file, a NumPy folder, or standard input.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// `None` for standard input.
    pub path: Option<PathBuf>,
    /// How errors name it.
    pub name: String,
    /// How it is read.
    pub format: InputFormat,
    /// Its size in bytes, when known (for progress).
    pub size: Option<u64>,
    /// CSV separator for this file (`.tsv` files default to a tab).
    pub tsv: bool,
}

/// Expands `--input` values (paths, globs, `-`) into files, in the order given (glob matches
/// sorted), each with its format: `forced` if given, else from the extension.
pub fn expand(specs: &[String], forced: Option<InputFormat>) -> Result<Vec<InputFile>> {
    let mut files = Vec::new();
    for spec in specs {
        if spec == "-" {
            let format = forced.ok_or_else(|| {
                anyhow!("standard input (-) needs --input-format jsonl, json or csv")
            })?;
            if !format.is_rows() {
                bail!("standard input (-) can be read as jsonl, json or csv only");
            }
            files.push(InputFile {
                path: None,
                name: "<stdin>".into(),
                format,
                size: None,
                tsv: false,
            });
            continue;
        }
        let paths: Vec<PathBuf> = if spec.contains(['*', '?', '[']) {
            let mut matched = glob::glob(spec)
                .with_context(|| format!("--input {spec}: bad pattern"))?
                .collect::<Result<Vec<_>, _>>()
                .with_context(|| format!("--input {spec}"))?;
            matched.sort();
            if matched.is_empty() {
                bail!("--input {spec}: no file matches");
            }
            matched
        } else {
            vec![PathBuf::from(spec)]
        };
        for path in paths {
            let metadata = std::fs::metadata(&path)
                .with_context(|| format!("cannot open input {}", path.display()))?;
            let format = match forced {
                Some(f) => f,
                None => InputFormat::from_extension(&path).ok_or_else(|| {
                    anyhow!(
                        "cannot tell the format of {} from its extension: pass --input-format",
                        path.display()
                    )
                })?,
            };
            let tsv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
            files.push(InputFile {
                name: path.display().to_string(),
                size: Some(if metadata.is_dir() {
                    dir_size(&path)
                } else {
                    metadata.len()
                }),
                path: Some(path),
                format,
                tsv,
            });
        }
    }
    if files.is_empty() {
        bail!("no input: give --input FILE (several, globs and - for stdin are accepted)");
    }
    Ok(files)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Where a row came from, for error messages.
#[derive(Debug, Clone, Copy)]
pub struct RowPosition {
    /// 1-based row number in the input.
    pub row: u64,
    /// 1-based line number (JSONL, CSV).
    pub line: Option<u64>,
}

impl fmt::Display for RowPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: row {}", self.row),
            None => write!(f, "row {}", self.row),
        }
    }
}

/// A row's original form, kept for the reject file.
#[derive(Debug)]
pub enum Raw {
    /// The JSONL line as read.
    Line(String),
    /// The CSV record, with the file's header.
    Record {
        /// The header, shared by every row of the file.
        header: Arc<Vec<String>>,
        /// The cells.
        record: csv::StringRecord,
    },
    /// The row is its own original (a JSON list element), with the mapping undone.
    Value,
}

/// A row of a row-based input.
#[derive(Debug)]
pub struct SourceRow {
    /// The row, with mapped column names.
    pub value: Value,
    /// Where it came from.
    pub position: RowPosition,
    /// Its original form.
    pub raw: Raw,
}

/// What a reader produces.
#[derive(Debug)]
pub enum Chunk {
    /// One row (JSON, JSONL, CSV).
    Row(SourceRow),
    /// A row that could not be parsed at all (a JSONL line that is not JSON, a CSV record
    /// with the wrong number of cells).
    BadRow {
        /// Where.
        position: RowPosition,
        /// What was read.
        raw: Raw,
        /// Why it is not a row.
        reason: String,
    },
    /// Rows as columns (Parquet, NumPy, vector dumps); `first_row` is the 0-based index of
    /// its first row in the input.
    Batch {
        /// The columns, with mapped names.
        batch: RecordBatch,
        /// Index of the first row.
        first_row: u64,
    },
}

/// Settings every reader shares.
#[derive(Debug)]
pub struct ReadOptions<'a> {
    /// The collection schema (CSV cells are typed by their field).
    pub schema: &'a CollectionSchema,
    /// `--map input=field`: input column name → field name.
    pub mapping: &'a HashMap<String, String>,
    /// CSV separator (None: `,`, or a tab for `.tsv`).
    pub csv_separator: Option<u8>,
    /// CSV text of a null cell.
    pub csv_null: &'a str,
    /// The field vector dumps fill.
    pub vector_field: Option<&'a str>,
    /// First generated primary key for vector dumps.
    pub id_start: i64,
    /// Rows per Arrow batch.
    pub batch_rows: usize,
    /// Bytes of the current input consumed so far (read, or estimated for columnar files).
    pub consumed: Arc<AtomicU64>,
    /// The longest row a text input (JSONL, JSON, CSV) may hold, in bytes: a longer one stops
    /// the read before it is held in memory. [`MAX_ROW_BYTES`] unless a test says otherwise.
    pub max_row_bytes: u64,
    /// `consumed` where the current row of a text input started.
    pub row_start: Arc<AtomicU64>,
}

/// The longest row a text input may hold. No Milvus row comes near it (VARCHAR and JSON
/// values are at most 64 KiB by default, vectors at most 32,768 dimensions); the limit keeps
/// a broken or hostile file (a 1 GB string, a file without line breaks) from being read into
/// memory whole.
pub const MAX_ROW_BYTES: u64 = 64 << 20;

impl ReadOptions<'_> {
    /// Marks the start of the next row of a text input (see [`ReadOptions::max_row_bytes`]).
    pub fn start_row(&self) {
        self.row_start
            .store(self.consumed.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// The field name an input column maps to.
    pub fn mapped<'n>(&'n self, name: &'n str) -> &'n str {
        self.mapping.get(name).map_or(name, String::as_str)
    }
}

/// Counts the bytes read through it into a shared counter, and fails once more than
/// `max_row_bytes` were read since the current row started.
struct Counting<R> {
    inner: R,
    consumed: Arc<AtomicU64>,
    row_start: Arc<AtomicU64>,
    max_row_bytes: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let consumed = self.consumed.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        // Readers buffer ahead of the row they parse, so allow one buffer more.
        let slack = 2 << 20;
        if consumed - self.row_start.load(Ordering::Relaxed) > self.max_row_bytes + slack {
            return Err(std::io::Error::other(format!(
                "a row is longer than {} MiB; no Milvus row is that large (is the file in the format its name says?)",
                self.max_row_bytes >> 20
            )));
        }
        Ok(n)
    }
}

/// Reads one input to the end, handing every chunk to `visit`.
pub fn read(
    input: &InputFile,
    options: &ReadOptions<'_>,
    visit: &mut dyn FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    options.consumed.store(0, Ordering::Relaxed);
    options.row_start.store(0, Ordering::Relaxed);
    let open = || -> Result<Box<dyn Read + Send>> {
        let inner: Box<dyn Read + Send> = match &input.path {
            Some(path) => Box::new(
                File::open(path).with_context(|| format!("cannot open input {}", input.name))?,
            ),
            None => Box::new(std::io::stdin()),
        };
        Ok(Box::new(Counting {
            inner,
            consumed: Arc::clone(&options.consumed),
            row_start: Arc::clone(&options.row_start),
            max_row_bytes: options.max_row_bytes,
        }))
    };
    let path = || {
        input
            .path
            .as_deref()
            .ok_or_else(|| anyhow!("{} cannot be read from standard input", input.name))
    };
    match input.format {
        InputFormat::Jsonl => {
            read_jsonl(BufReader::with_capacity(1 << 20, open()?), options, visit)
        }
        InputFormat::Json => read_json_list(open()?, options, visit),
        InputFormat::Csv => {
            let separator = options
                .csv_separator
                .unwrap_or(if input.tsv { b'\t' } else { b',' });
            csv_rows::read(open()?, separator, options, visit)
        }
        InputFormat::Parquet => parquet_rows::read(path()?, options, visit),
        InputFormat::NumpyDir => numpy_dir::read(path()?, options, visit),
        InputFormat::NpyMatrix | InputFormat::Fvecs | InputFormat::Bvecs | InputFormat::Ivecs => {
            vectors::read(path()?, input.format, options, visit)
        }
    }
}

/// Renames an object's keys by `names` (old name → new name), keeping their order: the
/// `--map` renaming, and its undoing for reject files.
pub fn rename_keys(value: Value, names: &HashMap<String, String>) -> Value {
    match value {
        Value::Object(map) if !names.is_empty() => Value::Object(
            map.into_iter()
                .map(|(k, v)| match names.get(&k) {
                    Some(to) => (to.clone(), v),
                    None => (k, v),
                })
                .collect(),
        ),
        other => other,
    }
}

/// Lines parsed together: big enough to keep every core busy, small enough to bound memory.
const JSONL_BLOCK: usize = 64;

/// Reads JSONL in blocks of lines that a second thread parses in parallel (rayon) while the
/// caller appends the previous block, so parsing — the cost of JSONL input — overlaps with
/// validation and encoding. Rows reach `visit` in input order.
fn read_jsonl(
    reader: impl BufRead + Send,
    options: &ReadOptions<'_>,
    visit: &mut dyn FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let (blocks, parsed) = std::sync::mpsc::sync_channel::<Result<Vec<Chunk>>>(0);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut lines = reader.lines();
            let (mut line_no, mut rows) = (0u64, 0u64);
            let mut failure = None;
            loop {
                let mut block = Vec::with_capacity(JSONL_BLOCK);
                for line in lines.by_ref() {
                    line_no += 1;
                    let line = match line {
                        Ok(line) => line,
                        Err(e) => {
                            // The rows before the unreadable line go first.
                            failure = Some(anyhow!("line {line_no}: {e}"));
                            break;
                        }
                    };
                    options.start_row();
                    if line.trim().is_empty() {
                        continue;
                    }
                    rows += 1;
                    let position = RowPosition {
                        row: rows,
                        line: Some(line_no),
                    };
                    block.push((position, line));
                    if block.len() == JSONL_BLOCK {
                        break;
                    }
                }
                if block.is_empty() {
                    if let Some(e) = failure.take() {
                        let _ = blocks.send(Err(e));
                    }
                    return;
                }
                let chunks = block
                    .into_par_iter()
                    .map(
                        |(position, line)| match serde_json::from_str::<Value>(&line) {
                            Ok(value) => Chunk::Row(SourceRow {
                                value: rename_keys(value, options.mapping),
                                position,
                                raw: Raw::Line(line),
                            }),
                            Err(e) => Chunk::BadRow {
                                position,
                                raw: Raw::Line(line),
                                reason: format!("invalid JSON: {e}"),
                            },
                        },
                    )
                    .collect();
                // The reader stopped (an error): stop parsing too.
                if blocks.send(Ok(chunks)).is_err() {
                    return;
                }
                if let Some(e) = failure.take() {
                    let _ = blocks.send(Err(e));
                    return;
                }
            }
        });
        for block in parsed {
            for chunk in block? {
                visit(chunk)?;
            }
        }
        Ok(())
    })
}

fn read_json_list(
    reader: impl Read,
    options: &ReadOptions<'_>,
    visit: &mut dyn FnMut(Chunk) -> Result<()>,
) -> Result<()> {
    let result = json::read_json(reader, |value, position| {
        options.start_row();
        visit(Chunk::Row(SourceRow {
            value: rename_keys(value, options.mapping),
            position,
            raw: Raw::Value,
        }))
    });
    match result {
        Ok(_) => Ok(()),
        Err(json::ReadError::Syntax(message)) => Err(anyhow!(message)),
        Err(json::ReadError::Row(e)) => Err(e),
    }
}

/// Renames the columns of a batch by the mapping.
fn map_batch(batch: RecordBatch, options: &ReadOptions<'_>) -> Result<RecordBatch> {
    if options.mapping.is_empty() {
        return Ok(batch);
    }
    let fields: Vec<arrow_schema::Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone().with_name(options.mapped(f.name())))
        .collect();
    RecordBatch::try_new(
        Arc::new(arrow_schema::Schema::new(fields)),
        batch.columns().to_vec(),
    )
    .map_err(|e| anyhow!("--map: {e}"))
}

// Hostile input is fuzzed by the libFuzzer targets in fuzz/ (fuzz/run.sh), which compile this
// module.
#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn a_huge_row_is_refused_before_it_is_read_whole() {
        let schema = CollectionSchema::from_json_str(
            &std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/medium_articles.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let mapping = HashMap::new();
        let options = ReadOptions {
            schema: &schema,
            mapping: &mapping,
            csv_separator: None,
            csv_null: "",
            vector_field: None,
            id_start: 0,
            batch_rows: 64,
            consumed: Arc::new(AtomicU64::new(0)),
            max_row_bytes: 1 << 20,
            row_start: Arc::new(AtomicU64::new(0)),
        };
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
            };
            let mut rows = 0;
            let error = read(&input, &options, &mut |_| {
                rows += 1;
                Ok(())
            })
            .unwrap_err();
            let message = format!("{error:#}");
            assert!(
                message.contains("a row is longer than 1 MiB; no Milvus row is that large (is the file in the format its name says?)"),
                "{format:?}: {message}"
            );
            assert_eq!(rows, 1, "{format:?}: the row before is read");
        }
    }
}
