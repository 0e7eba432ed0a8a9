//! Writer settings.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The kind of import file a writer produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `<data_path>/<n>/<field>.npy`, one file per column.
    Numpy,
    /// `<data_path>/<n>.parquet`.
    Parquet,
    /// `<data_path>/<n>.json`: one `{"rows": [...]}` document, indented as pymilvus writes it.
    Json,
    /// `<data_path>/<n>.jsonl`: one row object per line (Milvus 2.6.5 and later read it).
    Jsonl,
    /// `<data_path>/<n>.csv`: a header and one row per line; see [`CsvOptions`].
    Csv,
}

impl FileType {
    /// Every file type, in the order `--help` lists them.
    pub const ALL: [FileType; 5] = [
        FileType::Numpy,
        FileType::Parquet,
        FileType::Json,
        FileType::Jsonl,
        FileType::Csv,
    ];

    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            FileType::Numpy => "numpy",
            FileType::Parquet => "parquet",
            FileType::Json => "json",
            FileType::Jsonl => "jsonl",
            FileType::Csv => "csv",
        }
    }

    /// What the files look like, in one line.
    pub fn describe(self) -> &'static str {
        match self {
            FileType::Numpy => "One <field>.npy per field and segment: <uuid>/<n>/<field>.npy",
            FileType::Parquet => "One Parquet file per segment: <uuid>/<n>.parquet",
            FileType::Json => "One {\"rows\": [...]} document per segment: <uuid>/<n>.json",
            FileType::Jsonl => {
                "One row object per line: <uuid>/<n>.jsonl (read by Milvus 2.6.5 and later)"
            }
            FileType::Csv => {
                "A header and one row per line: <uuid>/<n>.csv (read by Milvus 2.5 and later)"
            }
        }
    }

    /// Whether files of this type hold rows as text (JSON, JSONL, CSV), written row by row
    /// as they arrive rather than buffered column by column.
    pub fn is_row_text(self) -> bool {
        matches!(self, FileType::Json | FileType::Jsonl | FileType::Csv)
    }
}

impl fmt::Display for FileType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for FileType {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "numpy" | "npy" => Ok(FileType::Numpy),
            "parquet" => Ok(FileType::Parquet),
            "json" => Ok(FileType::Json),
            "jsonl" | "ndjson" => Ok(FileType::Jsonl),
            "csv" => Ok(FileType::Csv),
            other => Err(format!(
                "unknown file type \"{other}\": use numpy, parquet, json, jsonl or csv"
            )),
        }
    }
}

/// pymilvus `LocalBulkWriter`'s default chunk size, 128 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 128 * 1024 * 1024;

/// The separator and null marker of CSV files. Milvus reads them only if the import request
/// carries the same values (see [`CsvOptions::import_options`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvOptions {
    separator: char,
    null_key: String,
}

impl Default for CsvOptions {
    /// pymilvus's and Milvus's defaults: `,` and the empty string.
    fn default() -> Self {
        CsvOptions {
            separator: ',',
            null_key: String::new(),
        }
    }
}

impl CsvOptions {
    /// A separator and null marker. The separator is one character that Milvus's CSV reader
    /// accepts: not `"`, a line break, NUL or U+FFFD. The null marker may not contain a line
    /// break (Milvus compares whole cells against it).
    pub fn new(separator: char, null_key: impl Into<String>) -> Result<Self, String> {
        if matches!(separator, '"' | '\n' | '\r' | '\0' | '\u{FFFD}') {
            return Err(format!(
                "{separator:?} cannot be a CSV separator: Milvus rejects '\"', line breaks, NUL and U+FFFD"
            ));
        }
        let null_key = null_key.into();
        if null_key.contains(['\n', '\r']) {
            return Err(format!(
                "the CSV null marker {null_key:?} contains a line break"
            ));
        }
        Ok(CsvOptions {
            separator,
            null_key,
        })
    }

    /// The separator.
    pub fn separator(&self) -> char {
        self.separator
    }

    /// The text of a null cell.
    pub fn null_key(&self) -> &str {
        &self.null_key
    }

    /// The `options` a Milvus import request needs to read these files: `sep` and `nullkey`
    /// when they differ from Milvus's defaults, nothing otherwise.
    pub fn import_options(&self) -> BTreeMap<String, String> {
        let mut options = BTreeMap::new();
        if self.separator != ',' {
            options.insert("sep".to_string(), self.separator.to_string());
        }
        if !self.null_key.is_empty() {
            options.insert("nullkey".to_string(), self.null_key.clone());
        }
        options
    }
}

/// How a writer cuts and encodes segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// The file type.
    pub file_type: FileType,
    /// A segment is closed after the row that takes its encoded size past this many bytes.
    pub chunk_size: u64,
    /// Separator and null marker, for CSV files.
    pub csv: CsvOptions,
    /// Encoded NumPy/Parquet segments that may be uploading while the next one is filled;
    /// the writer waits for the oldest beyond this, which bounds memory.
    pub segments_in_flight: usize,
    /// Check rows only: segments are cut and counted but nothing is stored.
    pub dry_run: bool,
    /// The run's folder name under the output, instead of a random uuid: an orchestrator
    /// names its runs to find and clean them. See [`check_run_id`].
    pub run_id: Option<String>,
}

/// Refuses a run id that is not one safe folder name: 1 to 128 ASCII letters, digits, `-`,
/// `_` and `.`, not starting with `.` (so not `.` or `..`).
pub fn check_run_id(id: &str) -> Result<(), String> {
    let ok = !id.is_empty()
        && id.len() <= 128
        && !id.starts_with('.')
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "{id:?} cannot name a run's folder: use 1 to 128 letters, digits, '-', '_' and '.', not starting with '.'"
        ))
    }
}

impl WriterOptions {
    /// Options for a file type with the default chunk size.
    pub fn new(file_type: FileType) -> Self {
        WriterOptions {
            file_type,
            chunk_size: DEFAULT_CHUNK_SIZE,
            csv: CsvOptions::default(),
            segments_in_flight: 1,
            dry_run: false,
            run_id: None,
        }
    }

    /// Names the run's folder `id` instead of a random uuid.
    pub fn with_run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// Sets the chunk size in bytes.
    pub fn with_chunk_size(mut self, chunk_size: u64) -> Self {
        self.chunk_size = chunk_size;
        self
    }

    /// Sets how many encoded segments may upload while the next is filled (at least 1).
    pub fn with_segments_in_flight(mut self, segments: usize) -> Self {
        self.segments_in_flight = segments.max(1);
        self
    }

    /// Checks rows without storing anything (`bulkwriter validate`).
    pub fn with_dry_run(mut self, dry_run: bool) -> Self {
        self.dry_run = dry_run;
        self
    }

    /// Sets the CSV separator and null marker.
    pub fn with_csv(mut self, csv: CsvOptions) -> Self {
        self.csv = csv;
        self
    }

    /// The `options` the import request for these files needs (CSV `sep`/`nullkey`).
    pub fn import_options(&self) -> BTreeMap<String, String> {
        match self.file_type {
            FileType::Csv => self.csv.import_options(),
            _ => BTreeMap::new(),
        }
    }
}

/// Parses a size such as `128MiB`, `512MB`, `1.5GB`, `1TiB`, `4096` or `64k` (binary units;
/// `MB` is taken as MiB, as pymilvus's `MB` constant is 1024 × 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let not_a_size =
        || format!("\"{text}\" is not a size: write a number with an optional unit, e.g. 128MiB");
    if number.is_empty() || number.matches('.').count() > 1 {
        return Err(not_a_size());
    }
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        other => {
            return Err(format!(
                "unknown size unit \"{other}\" in \"{text}\": use B, KiB, MiB, GiB or TiB"
            ));
        }
    };
    let bytes = if number.contains('.') {
        let value: f64 = number.parse().map_err(|_| not_a_size())?;
        let bytes = (value * multiplier as f64).round();
        (bytes < u64::MAX as f64).then_some(bytes as u64)
    } else {
        let n: u64 = number.parse().map_err(|_| not_a_size())?;
        n.checked_mul(multiplier)
    };
    match bytes {
        Some(0) | None => Err(format!("size \"{text}\" must be between 1 byte and 16 EiB")),
        Some(v) => Ok(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("128MiB"), Ok(128 << 20));
        assert_eq!(parse_size("40"), Ok(40));
        assert_eq!(parse_size("1 GB"), Ok(1 << 30));
        assert!(parse_size("0").is_err());
        assert!(parse_size("12 parsecs").is_err());
        assert_eq!(parse_size("1.5GB"), Ok(3 << 29));
        assert_eq!(parse_size("10TB"), Ok(10 << 40));
        assert!(parse_size("1.2.3MB").is_err());
    }
}
