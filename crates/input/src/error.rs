//! [`InputError`]: why an input could not be found or read. Messages name paths, values and
//! fields, never a command-line flag; a front end adds its own hints by matching the variant.

use std::fmt;

use crate::InputFormat;

/// Why inputs could not be found, opened or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// No input was given.
    #[error("no input")]
    NoInput,
    /// A glob pattern is malformed or could not be walked.
    #[error("{pattern}: bad pattern: {reason}")]
    BadPattern {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A glob pattern matches no file.
    #[error("{pattern}: no file matches")]
    NoMatch {
        /// The pattern as given.
        pattern: String,
    },
    /// An input path does not exist or cannot be opened.
    #[error("cannot open input {path}: {source}")]
    Open {
        /// The path.
        path: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A `.json` input's root is an object other than `{"rows": [...]}`: most often a JSON
    /// Lines file named `.json`.
    #[error(
        "{file}: not a JSON list of rows: {reason}; a file of one object per line is JSON Lines, the jsonl format"
    )]
    LooksLikeJsonl {
        /// The input.
        file: String,
        /// What was found, with its position.
        reason: String,
    },
    /// An object store input could not be listed, opened or read.
    #[error("{url}: {message}")]
    Remote {
        /// The input's URL.
        url: String,
        /// Why.
        message: String,
    },
    /// Standard input was given to be split into shards.
    #[error("standard input cannot be split into shards: give files")]
    ShardStdin,
    /// A shard's part of a file was asked for, but the file is compressed under a name that
    /// does not say so, and a compressed stream cannot be split.
    #[error(
        "{file} is {compression}-compressed but its name does not say so, so it cannot be split into shards: give it its extension (.gz, .zst, .bz2), and it is read whole by one shard"
    )]
    ShardCompressed {
        /// The input.
        file: String,
        /// The compression found.
        compression: &'static str,
    },
    /// Standard input could not be copied to a temporary file (to read it as Parquet).
    #[error("cannot copy standard input to a temporary file: {source}")]
    Spool {
        /// Why.
        source: std::io::Error,
    },
    /// A columnar input (Parquet, NumPy, vectors) is named as compressed.
    #[error(
        "{path}: a compressed {format} file is not read (decompress it first; Parquet compresses its pages itself)"
    )]
    CompressedColumnar {
        /// The path.
        path: String,
        /// Its format.
        format: InputFormat,
    },
    /// No format was given and the extension names none.
    #[error("cannot tell the format of {path} from its extension")]
    UnknownFormat {
        /// The path.
        path: String,
    },
    /// Standard input was given without a row format, or with a format that needs a file.
    #[error("standard input can be read as jsonl, json, csv or parquet only{}", given.map(|f| format!(", not {f}")).unwrap_or_default())]
    StdinFormat {
        /// The format asked for, if any.
        given: Option<InputFormat>,
    },
    /// Vector dumps are read but no field to fill was named.
    #[error(
        "vector files (.fvecs, .bvecs, .ivecs, .npy) fill one vector field, and none was named"
    )]
    NoVectorField,
    /// The field named for vector dumps cannot take them.
    #[error("{file}: the vector field {field}: {reason}")]
    VectorField {
        /// The input.
        file: String,
        /// The field named.
        field: String,
        /// Why it cannot be filled.
        reason: String,
    },
    /// An input's content is not what its format says (syntax, header, dtype, I/O failure).
    #[error("{}", Located { file, message })]
    Read {
        /// How the input is named (empty while the reader has not been told).
        file: String,
        /// What went wrong, and where in the file.
        message: String,
    },
}

struct Located<'a> {
    file: &'a str,
    message: &'a str,
}

impl fmt::Display for Located<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.file.is_empty() {
            f.write_str(self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl InputError {
    /// A content error whose file the dispatcher fills in.
    pub(crate) fn read(message: impl Into<String>) -> InputError {
        InputError::Read {
            file: String::new(),
            message: message.into(),
        }
    }

    /// Names the input a content error happened in, if it is not named yet.
    pub(crate) fn in_file(self, name: &str) -> InputError {
        match self {
            InputError::Read { file, message } if file.is_empty() => InputError::Read {
                file: name.to_string(),
                message,
            },
            InputError::VectorField {
                file,
                field,
                reason,
            } if file.is_empty() => InputError::VectorField {
                file: name.to_string(),
                field,
                reason,
            },
            InputError::LooksLikeJsonl { file, reason } if file.is_empty() => {
                InputError::LooksLikeJsonl {
                    file: name.to_string(),
                    reason,
                }
            }
            other => other,
        }
    }
}

impl From<std::io::Error> for InputError {
    fn from(e: std::io::Error) -> Self {
        InputError::read(e.to_string())
    }
}

impl From<arrow_schema::ArrowError> for InputError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        InputError::read(e.to_string())
    }
}

/// `anyhow`-style context for the readers: `"what: cause"`.
pub(crate) trait Context<T> {
    /// Prefixes the error with `what`.
    fn context(self, what: impl fmt::Display) -> Result<T, InputError>;
    /// Prefixes the error with a lazily built `what`.
    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T, InputError>;
}

impl<T, E: fmt::Display> Context<T> for Result<T, E> {
    fn context(self, what: impl fmt::Display) -> Result<T, InputError> {
        self.map_err(|e| InputError::read(format!("{what}: {e}")))
    }

    fn with_context<D: fmt::Display>(self, what: impl FnOnce() -> D) -> Result<T, InputError> {
        self.map_err(|e| InputError::read(format!("{}: {e}", what())))
    }
}

/// Returns a content error built like `format!`.
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::error::InputError::read(format!($($arg)*)))
    };
}

/// A content error built like `format!`.
macro_rules! fail {
    ($($arg:tt)*) => {
        $crate::error::InputError::read(format!($($arg)*))
    };
}

pub(crate) use {bail, fail};
