//! Writer settings.

use std::fmt;
use std::str::FromStr;

/// The kind of import file a writer produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FileType {
    /// `<data_path>/<n>/<field>.npy`, one file per column.
    Numpy,
    /// `<data_path>/<n>.parquet`.
    Parquet,
}

impl FileType {
    /// The name used on the command line and in the manifest.
    pub fn name(self) -> &'static str {
        match self {
            FileType::Numpy => "numpy",
            FileType::Parquet => "parquet",
        }
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
            other => Err(format!(
                "unknown file type \"{other}\": use numpy or parquet"
            )),
        }
    }
}

/// pymilvus `LocalBulkWriter`'s default chunk size, 128 MiB.
pub const DEFAULT_CHUNK_SIZE: u64 = 128 * 1024 * 1024;

/// How a writer cuts and encodes segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriterOptions {
    /// The file type.
    pub file_type: FileType,
    /// A segment is closed after the row that takes its encoded size past this many bytes.
    pub chunk_size: u64,
}

impl WriterOptions {
    /// Options for a file type with the default chunk size.
    pub fn new(file_type: FileType) -> Self {
        WriterOptions {
            file_type,
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }

    /// Sets the chunk size in bytes.
    pub fn with_chunk_size(mut self, chunk_size: u64) -> Self {
        self.chunk_size = chunk_size;
        self
    }
}

/// Parses a size such as `128MiB`, `512MB`, `1GiB`, `4096` or `64k` (binary units; `MB`
/// is taken as MiB, as pymilvus's `MB` constant is 1024 × 1024).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (digits, unit) = t.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("\"{text}\" is not a size: write a number with an optional unit, e.g. 128MiB")
    })?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        other => {
            return Err(format!(
                "unknown size unit \"{other}\" in \"{text}\": use B, KiB, MiB or GiB"
            ));
        }
    };
    match n.checked_mul(multiplier) {
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
    }
}
