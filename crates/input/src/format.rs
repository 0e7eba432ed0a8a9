//! [`InputFormat`]: how an input is read, by name or by extension.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

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
    /// A 2-D `.npy` matrix of vectors for the vector field.
    NpyMatrix,
    /// ANN-benchmark float vectors (`.fvecs`).
    Fvecs,
    /// ANN-benchmark byte vectors (`.bvecs`).
    Bvecs,
    /// ANN-benchmark int32 vectors (`.ivecs`).
    Ivecs,
}

impl InputFormat {
    /// Every format with its name and a one-line description, in the order a help text
    /// lists them.
    pub const ALL: [(InputFormat, &'static str); 9] = [
        (InputFormat::Jsonl, "One JSON object per line"),
        (
            InputFormat::Json,
            "A JSON list of objects, or {\"rows\": [...]}",
        ),
        (InputFormat::Csv, "CSV (or TSV) with a header"),
        (InputFormat::Parquet, "Parquet"),
        (InputFormat::NumpyDir, "A folder of <field>.npy files"),
        (
            InputFormat::NpyMatrix,
            "A 2-D .npy matrix of vectors (vector field)",
        ),
        (InputFormat::Fvecs, ".fvecs float vectors (vector field)"),
        (InputFormat::Bvecs, ".bvecs byte vectors (vector field)"),
        (InputFormat::Ivecs, ".ivecs int32 vectors (vector field)"),
    ];

    /// The format's name, as [`FromStr`] takes it.
    pub fn name(self) -> &'static str {
        match self {
            InputFormat::Jsonl => "jsonl",
            InputFormat::Json => "json",
            InputFormat::Csv => "csv",
            InputFormat::Parquet => "parquet",
            InputFormat::NumpyDir => "numpy",
            InputFormat::NpyMatrix => "npy",
            InputFormat::Fvecs => "fvecs",
            InputFormat::Bvecs => "bvecs",
            InputFormat::Ivecs => "ivecs",
        }
    }

    /// Whether rows come one by one as JSON objects (else as Arrow batches).
    pub fn is_rows(self) -> bool {
        matches!(
            self,
            InputFormat::Jsonl | InputFormat::Json | InputFormat::Csv
        )
    }

    /// Whether the format holds only a vector column (the vector field).
    pub fn is_vector_dump(self) -> bool {
        matches!(
            self,
            InputFormat::NpyMatrix | InputFormat::Fvecs | InputFormat::Bvecs | InputFormat::Ivecs
        )
    }

    /// Whether schema inference can sample it.
    pub fn can_infer(self) -> bool {
        self.is_rows() || self == InputFormat::Parquet
    }

    /// The format a path's extension names (a directory is a NumPy folder).
    pub fn from_extension(path: &Path) -> Option<InputFormat> {
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

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for InputFormat {
    type Err = String;

    /// A format by its name (any case).
    fn from_str(text: &str) -> Result<Self, String> {
        InputFormat::ALL
            .iter()
            .map(|(format, _)| *format)
            .find(|format| format.name().eq_ignore_ascii_case(text))
            .ok_or_else(|| {
                let names: Vec<&str> = InputFormat::ALL.iter().map(|(f, _)| f.name()).collect();
                format!(
                    "unknown input format {text:?} (one of {})",
                    names.join(", ")
                )
            })
    }
}
