//! The reject file: one JSON object per rejected row, `{"file", "row", "line", "field",
//! "error", "data"}` (or `"text"` for a line that is not JSON), flushed row by row; on
//! resume, cut back to the rows the interrupted run's listed segments account for.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use bulkwriter_input::RowPosition;
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{ConvertError, Result};

/// A rejected row's original form.
pub(crate) enum RawData {
    /// JSON text, written as is (a JSONL line, byte for byte).
    Json(String),
    /// Text that is not JSON (a broken JSONL line).
    Text(String),
    /// A JSON value (a CSV record by header, a JSON element or Arrow row with input names).
    Value(Value),
}

#[derive(Serialize)]
struct RejectLine<'a> {
    file: &'a str,
    row: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<u64>,
    field: &'a str,
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<RawOrValue<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum RawOrValue<'a> {
    Raw(&'a RawValue),
    Value(&'a Value),
}

/// An open reject file.
pub(crate) struct RejectFile {
    path: PathBuf,
    out: BufWriter<File>,
}

impl RejectFile {
    /// Opens the reject file: a new run starts it empty; a resumed run keeps the first
    /// `kept_rows` lines (the rows rejected before its last listed segment) and drops the
    /// rest, which the resumed run rejects again.
    pub(crate) fn open(path: &Path, kept_rows: Option<u64>) -> Result<RejectFile> {
        let failed = |action, source| ConvertError::RejectFile {
            action,
            path: path.to_path_buf(),
            source,
        };
        let file = match kept_rows {
            None => File::create(path).map_err(|e| failed("create", e))?,
            Some(rows) => {
                let mut file = std::fs::OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create(true)
                    .truncate(false)
                    .open(path)
                    .map_err(|e| failed("open", e))?;
                let mut text = Vec::new();
                file.read_to_end(&mut text).map_err(|e| failed("read", e))?;
                let kept = lines_prefix(&text, rows).ok_or(ConvertError::RejectFileShort {
                    path: path.to_path_buf(),
                    rejected: rows,
                })?;
                file.set_len(kept)
                    .and_then(|()| file.seek(std::io::SeekFrom::Start(kept)).map(|_| ()))
                    .map_err(|e| failed("write", e))?;
                file
            }
        };
        Ok(RejectFile {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
        })
    }

    /// Appends one rejected row and flushes it: a rejected row counted in the manifest is
    /// always in the file, so a resumed run can cut the file back to exactly those rows.
    pub(crate) fn write(
        &mut self,
        file: &str,
        position: RowPosition,
        field: &str,
        error: &str,
        data: RawData,
    ) -> Result<()> {
        let raw;
        let (data, text) = match &data {
            RawData::Json(json) => {
                raw = RawValue::from_string(json.clone()).ok();
                match &raw {
                    Some(raw) => (Some(RawOrValue::Raw(raw)), None),
                    None => (None, Some(json.as_str())),
                }
            }
            RawData::Text(text) => (None, Some(text.as_str())),
            RawData::Value(value) => (Some(RawOrValue::Value(value)), None),
        };
        let line = RejectLine {
            file,
            row: position.row,
            line: position.line,
            field,
            error,
            data,
            text,
        };
        let mut bytes = serde_json::to_vec(&line).unwrap_or_default();
        bytes.push(b'\n');
        self.out
            .write_all(&bytes)
            .and_then(|()| self.out.flush())
            .map_err(|source| ConvertError::RejectFile {
                action: "write",
                path: self.path.clone(),
                source,
            })
    }

    /// Flushes what is buffered.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|source| ConvertError::RejectFile {
            action: "write",
            path: self.path.clone(),
            source,
        })
    }
}

/// The length of the first `lines` lines of `text`, if it has that many.
fn lines_prefix(text: &[u8], lines: u64) -> Option<u64> {
    let mut end = 0usize;
    for _ in 0..lines {
        end += text[end..].iter().position(|&b| b == b'\n')? + 1;
    }
    Some(end as u64)
}
