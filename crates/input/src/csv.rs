//! CSV and TSV rows, typed by the schema: the cell conventions of the CSV files Milvus imports
//! (and pymilvus writes). Vectors, arrays, sparse vectors, structs and `$meta` are JSON text;
//! JSON fields are JSON text (parsed by the field's rule); booleans are any of Go's
//! `ParseBool` spellings; a cell equal to the null marker is null in a nullable or
//! default-valued field. Columns that match no field stay strings, as Milvus keeps them.

use std::io::{BufRead, BufReader, Read};
use std::ops::Range;
use std::sync::Arc;

use bulkwriter_schema::rules::loses_digits;
use bulkwriter_schema::{CollectionSchema, DYNAMIC_FIELD, DataType};
use serde_json::{Map, Number, Value};

use crate::error::{Context, bail};
use crate::shard;
use crate::{Chunk, InputError, Raw, ReadOptions, RowPosition, SourceRow, Visit};

/// A boolean as Go's `strconv.ParseBool` spells it, as Milvus reads CSV booleans: `1`, `t`,
/// `T`, `TRUE`, `true`, `True` and their false counterparts. Schema inference uses the same
/// spellings.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// How a column's cells become values.
#[derive(Debug, Clone, Copy)]
enum CellKind {
    Bool,
    Int,
    Float,
    /// Kept as text: strings, JSON fields (their rule parses JSON text), unknown columns.
    Text,
    /// JSON text parsed into a value: vectors, arrays, sparse vectors, structs, `$meta`.
    Parsed,
}

struct Column {
    /// The field name (after mapping).
    name: String,
    kind: CellKind,
    /// Whether a cell equal to the null marker means null.
    nullable: bool,
}

fn column(schema: Option<&CollectionSchema>, name: &str) -> Column {
    let Some(schema) = schema else {
        return Column {
            name: name.to_string(),
            kind: CellKind::Text,
            nullable: false,
        };
    };
    let (kind, nullable) = if name == DYNAMIC_FIELD {
        (CellKind::Parsed, true)
    } else if let Some(field) = schema.field(name) {
        let kind = match field.data_type {
            DataType::Bool => CellKind::Bool,
            DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 => CellKind::Int,
            DataType::Float | DataType::Double => CellKind::Float,
            DataType::VarChar
            | DataType::Text
            | DataType::Timestamptz
            | DataType::Geometry
            | DataType::Json => CellKind::Text,
            _ => CellKind::Parsed,
        };
        (kind, field.nullable || field.default_value.is_some())
    } else if schema.struct_fields.iter().any(|s| s.name == name) {
        (CellKind::Parsed, false)
    } else {
        (CellKind::Text, false)
    };
    Column {
        name: name.to_string(),
        kind,
        nullable,
    }
}

/// A cell as the value its field's rules check. A cell that does not parse stays a string,
/// so the rule reports it (`expected an integer, got "abc"`).
fn cell_value(column: &Column, cell: &str, null_key: &str) -> Value {
    if cell == null_key && (column.nullable || !matches!(column.kind, CellKind::Text)) {
        return Value::Null;
    }
    let text = || Value::String(cell.to_string());
    match column.kind {
        CellKind::Bool => parse_bool(cell).map_or_else(text, Value::Bool),
        CellKind::Int => cell
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .or_else(|_| cell.trim().parse::<u64>().map(Value::from))
            .unwrap_or_else(|_| text()),
        CellKind::Float => cell
            .trim()
            .parse::<f64>()
            .ok()
            .and_then(Number::from_f64)
            .map_or_else(text, Value::Number),
        CellKind::Text => text(),
        CellKind::Parsed => serde_json::from_str(cell).unwrap_or_else(|_| text()),
    }
}

/// Reads a CSV stream with a header; every record becomes a row keyed by field names.
pub(crate) fn read(
    reader: impl Read,
    separator: u8,
    range: &Option<Range<u64>>,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    // The csv crate numbers a record's line before it skips the `\n` of the previous `\r\n`,
    // so with CRLF line ends (Python's csv module writes them) every line number is one
    // short. The first line's ending tells which kind the file uses.
    let mut reader = BufReader::with_capacity(1 << 20, reader);
    let head = reader.fill_buf().context("cannot read the CSV file")?;
    let crlf = head
        .iter()
        .position(|b| *b == b'\n')
        .is_some_and(|i| i > 0 && head[i - 1] == b'\r');
    let line_of = |position: Option<&csv::Position>| position.map(|p| p.line() + crlf as u64);
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(separator)
        .has_headers(true)
        .flexible(false)
        .from_reader(reader);
    let header: Arc<Vec<String>> = Arc::new(
        csv.headers()
            .context("cannot read the CSV header")?
            .iter()
            .map(str::to_string)
            .collect(),
    );
    if let Some(first) = header.first()
        && first.starts_with('\u{feff}')
    {
        bail!(
            "the CSV file starts with a byte-order mark, which Milvus would read as part of the first column name: save it as UTF-8 without BOM"
        );
    }
    let columns: Vec<Column> = header
        .iter()
        .map(|name| column(options.schema, options.mapped(name)))
        .collect();
    let mut record = csv::StringRecord::new();
    let mut rows = 0;
    loop {
        options.start_row();
        let read = csv.read_record(&mut record);
        let line = line_of(record.position());
        // A shard's part: the records that start in its range (an unreadable input fails
        // wherever it is).
        let start = match &read {
            Ok(_) => record.position(),
            Err(e) => e.position(),
        }
        .map_or(0, |p| p.byte());
        let fatal = matches!(&read, Err(e) if matches!(e.kind(), csv::ErrorKind::Io(_)));
        if !fatal && !matches!(read, Ok(false)) {
            if shard::past(range, start) {
                break;
            }
            if !shard::owns(range, start) {
                rows += 1;
                continue;
            }
        }
        match read {
            Ok(false) => break,
            Ok(true) => {
                rows += 1;
                let position = RowPosition { row: rows, line };
                let mut object = Map::new();
                let mut exact = Vec::new();
                for (column, cell) in columns.iter().zip(record.iter()) {
                    let value = cell_value(column, cell, &options.csv_null);
                    // A parsed cell's digits that the parse lost stay in its text.
                    if matches!(column.kind, CellKind::Parsed) && loses_digits(&value) {
                        exact.push((column.name.clone(), cell.to_string()));
                    }
                    object.insert(column.name.clone(), value);
                }
                // The record itself is kept (moved, not copied) for a possible reject.
                let record = std::mem::take(&mut record);
                let flow = visit(Chunk::Row(SourceRow {
                    value: Value::Object(object),
                    exact,
                    position,
                    raw: Raw::Record {
                        header: Arc::clone(&header),
                        record,
                    },
                }));
                if flow.is_break() {
                    return Ok(());
                }
            }
            Err(e) => {
                let fatal = matches!(e.kind(), csv::ErrorKind::Io(_));
                if fatal {
                    return Err(e).context("cannot read the CSV file");
                }
                rows += 1;
                let line = line_of(e.position()).or(line);
                let record = std::mem::take(&mut record);
                let flow = visit(Chunk::BadRow {
                    position: RowPosition { row: rows, line },
                    raw: Raw::Record {
                        header: Arc::clone(&header),
                        record,
                    },
                    reason: match e.kind() {
                        csv::ErrorKind::UnequalLengths {
                            expected_len, len, ..
                        } => format!("the record has {len} cells, the header {expected_len}"),
                        _ => e.to_string(),
                    },
                });
                if flow.is_break() {
                    return Ok(());
                }
            }
        }
    }
    Ok(())
}
