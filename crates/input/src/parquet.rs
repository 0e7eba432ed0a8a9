//! Parquet input, read column-wise: record batches go to the writer's Arrow path without
//! becoming rows. Any row-group layout; vectors as `list`, `large_list` or `fixed_size_list`;
//! strings as `utf8`, `large_utf8`, views or dictionaries; every codec the parquet crate has
//! (uncompressed, SNAPPY, GZIP, LZ4, LZ4_RAW, BROTLI, ZSTD).

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};

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
    let mut builder =
        ParquetRecordBatchReaderBuilder::try_new(file).context("not a Parquet file")?;
    // Dictionary-encoded columns (pandas `category`, pyarrow's dictionary_encode) are read
    // as their plain values.
    if let Some(plain) = without_dictionaries(builder.schema()) {
        let file = File::open(path).context("cannot open the file")?;
        let options = ArrowReaderOptions::new().with_schema(plain);
        builder = ParquetRecordBatchReaderBuilder::try_new_with_options(file, options)
            .context("not a Parquet file")?;
    }
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

/// The file's Arrow schema with top-level dictionary columns as their value type, if it has
/// any.
fn without_dictionaries(schema: &SchemaRef) -> Option<SchemaRef> {
    if !schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Dictionary(..)))
    {
        return None;
    }
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Dictionary(_, value) => {
                f.as_ref().clone().with_data_type(value.as_ref().clone())
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    Some(Arc::new(Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    )))
}
