//! Parquet input, read column-wise: record batches go to the writer's Arrow path without
//! becoming rows. Any row-group layout; vectors as `list`, `large_list` or `fixed_size_list`;
//! strings as `utf8`, `large_utf8` or views.

use std::fs::File;
use std::path::Path;

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::chunk::map_batch;
use crate::error::Context;
use crate::{Chunk, InputError, ReadOptions, Visit};

pub(crate) fn read(
    path: &Path,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let file = File::open(path).context("cannot open the file")?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).context("not a Parquet file")?;
    let total = builder.metadata().file_metadata().num_rows().max(1) as u64;
    let reader = builder
        .with_batch_size(options.batch_rows)
        .build()
        .context("cannot read the Parquet file")?;
    // Decoding runs on its own thread, a batch ahead of the caller's validation and
    // encoding: the two halves of Parquet input overlap on two cores.
    let (batches, decoded) = std::sync::mpsc::sync_channel::<Result<RecordBatch, InputError>>(1);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for batch in reader {
                let batch = batch.context("cannot read the Parquet file");
                let failed = batch.is_err();
                if batches.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        let mut first_row = 0u64;
        for batch in decoded {
            let batch = batch?;
            let rows = batch.num_rows() as u64;
            let flow = visit(Chunk::Batch {
                batch: map_batch(batch, &options.mapping)?,
                first_row,
            });
            if flow.is_break() {
                return Ok(());
            }
            first_row += rows;
            // Progress in bytes, estimated from the share of rows read.
            options.set_consumed(size * first_row.min(total) / total);
        }
        Ok(())
    })
}
