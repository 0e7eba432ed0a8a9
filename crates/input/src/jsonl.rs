//! JSON Lines: one row object per line, parsed in blocks on a second thread.

use std::io::BufRead;
use std::ops::Range;

use rayon::prelude::*;
use serde_json::Value;

use crate::error::fail;
use crate::shard;
use crate::{Chunk, InputError, Raw, ReadOptions, RowPosition, SourceRow, Visit, rename_keys};

/// Lines parsed together: big enough to keep every core busy, small enough to bound memory.
const BLOCK: usize = 64;

/// Reads JSONL in blocks of lines that a second thread parses in parallel (rayon) while the
/// caller appends the previous block, so parsing — the cost of JSONL input — overlaps with
/// validation and encoding. Rows reach `visit` in input order.
pub(crate) fn read(
    mut reader: impl BufRead + Send,
    range: &Option<Range<u64>>,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let (blocks, parsed) = std::sync::mpsc::sync_channel::<Result<Vec<Chunk>, InputError>>(0);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let (mut line_no, mut rows, mut offset) = (0u64, 0u64, 0u64);
            let mut bytes = Vec::new();
            let mut failure = None;
            loop {
                let mut block = Vec::with_capacity(BLOCK);
                loop {
                    bytes.clear();
                    let start = offset;
                    match reader.read_until(b'\n', &mut bytes) {
                        Ok(0) => break,
                        Ok(n) => offset += n as u64,
                        Err(e) => {
                            // The rows before the unreadable line go first.
                            failure = Some(fail!("line {}: {e}", line_no + 1));
                            break;
                        }
                    }
                    line_no += 1;
                    options.start_row();
                    // A shard's part: the lines that start in its range.
                    if shard::past(range, start) {
                        break;
                    }
                    let owned = shard::owns(range, start);
                    let line = match std::str::from_utf8(trim_line_end(&bytes)) {
                        Ok(line) => line,
                        Err(_) if !owned => {
                            rows += 1;
                            continue;
                        }
                        Err(e) => {
                            failure =
                                Some(fail!("line {line_no}: the line is not UTF-8 text: {e}"));
                            break;
                        }
                    };
                    if line.trim().is_empty() {
                        continue;
                    }
                    rows += 1;
                    if !owned {
                        continue;
                    }
                    let position = RowPosition {
                        row: rows,
                        line: Some(line_no),
                    };
                    block.push((position, line.to_string()));
                    if block.len() == BLOCK {
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
                                value: rename_keys(value, &options.mapping),
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
                // The caller stopped: stop parsing too.
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
                if visit(chunk).is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// A line without its `\n` or `\r\n`.
fn trim_line_end(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}
