//! JSON Lines: one row object per line, read in blocks that are parsed in parallel.

use std::io::BufRead;
use std::ops::Range;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, sync_channel};

use crate::error::fail;
use crate::line_columns::LineColumns;
use crate::shard;
use crate::{Chunk, InputError, ReadOptions, RowPosition, Visit, line_chunk};

/// Lines parsed together: big enough to keep every core busy, small enough to bound memory.
const BLOCK: usize = 64;

/// Blocks read ahead of the one the caller is taking: each is parsed by a rayon task as soon
/// as it is read, so reading, parsing and appending overlap, with memory bounded to about
/// `BLOCKS_AHEAD + 2` blocks.
const BLOCKS_AHEAD: usize = 4;

/// Reads JSONL in blocks of lines, each parsed by a rayon task (into columns when the options
/// ask for it and the schema allows, else a JSON value per line) while the next blocks are
/// read and the caller appends the earlier ones. Rows reach `visit` in input order.
pub(crate) fn read(
    mut reader: impl BufRead + Send,
    range: &Option<Range<u64>>,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let columns = match (options.schema, options.lines_as_columns) {
        (Some(schema), true) => LineColumns::for_schema(schema, &options.mapping).map(Arc::new),
        _ => None,
    };
    let mapping = Arc::new(options.mapping.clone());
    let (blocks, parsed) = sync_channel::<Result<Receiver<Vec<Chunk>>, InputError>>(BLOCKS_AHEAD);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let (mut line_no, mut rows, mut offset) = (0u64, 0u64, 0u64);
            let mut failure = None;
            // Each line is read into its own buffer, which becomes its String without a copy;
            // sized like the last one, as lines of a file tend to be alike.
            let mut last_len = 0;
            loop {
                let mut block = Vec::with_capacity(BLOCK);
                loop {
                    let mut bytes = Vec::with_capacity(last_len + 64);
                    let start = offset;
                    match reader.read_until(b'\n', &mut bytes) {
                        Ok(0) => break,
                        Ok(n) => {
                            offset += n as u64;
                            last_len = n;
                        }
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
                    trim_line_end(&mut bytes);
                    let line = match String::from_utf8(bytes) {
                        Ok(line) => line,
                        Err(_) if !owned => {
                            rows += 1;
                            continue;
                        }
                        Err(e) => {
                            failure = Some(fail!(
                                "line {line_no}: the line is not UTF-8 text: {}",
                                e.utf8_error()
                            ));
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
                let (done, chunks) = sync_channel(1);
                let (columns, mapping) = (columns.clone(), Arc::clone(&mapping));
                rayon::spawn(move || {
                    let decoded = match &columns {
                        Some(columns) => columns.decode(block),
                        None => block
                            .into_iter()
                            .map(|(position, line)| line_chunk(position, line, &mapping))
                            .collect(),
                    };
                    // The caller may have stopped reading.
                    let _ = done.send(decoded);
                });
                // The caller stopped: stop reading too.
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
            let chunks = block?
                .recv()
                .map_err(|_| InputError::read("a JSONL parsing task stopped"))?;
            for chunk in chunks {
                if visit(chunk).is_break() {
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// Drops a line's `\n` or `\r\n`.
fn trim_line_end(line: &mut Vec<u8>) {
    if line.last() == Some(&b'\n') {
        line.pop();
    }
    if line.last() == Some(&b'\r') {
        line.pop();
    }
}
