//! JSON Lines: one row object per line, parsed in blocks on a second thread.

use std::io::BufRead;

use rayon::prelude::*;
use serde_json::Value;

use crate::error::fail;
use crate::{Chunk, InputError, Raw, ReadOptions, RowPosition, SourceRow, Visit, rename_keys};

/// Lines parsed together: big enough to keep every core busy, small enough to bound memory.
const BLOCK: usize = 64;

/// Reads JSONL in blocks of lines that a second thread parses in parallel (rayon) while the
/// caller appends the previous block, so parsing — the cost of JSONL input — overlaps with
/// validation and encoding. Rows reach `visit` in input order.
pub(crate) fn read(
    reader: impl BufRead + Send,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let (blocks, parsed) = std::sync::mpsc::sync_channel::<Result<Vec<Chunk>, InputError>>(0);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut lines = reader.lines();
            let (mut line_no, mut rows) = (0u64, 0u64);
            let mut failure = None;
            loop {
                let mut block = Vec::with_capacity(BLOCK);
                for line in lines.by_ref() {
                    line_no += 1;
                    let line = match line {
                        Ok(line) => line,
                        Err(e) => {
                            // The rows before the unreadable line go first.
                            failure = Some(fail!("line {line_no}: {e}"));
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
