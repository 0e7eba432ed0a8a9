//! Turns a closed segment buffer into the files of one segment, streamed into the sink: each
//! `.npy` file is written from its column buffer in 1 MiB blocks (the columns in parallel),
//! and a Parquet file row group by row group as `ArrowWriter` fills them, from Arrow arrays
//! that take over the column buffers without a copy (float vector columns straight from
//! their values, `parquet_vectors`, in the bytes arrow-rs writes). So a segment being stored
//! costs its buffers plus a few parts in flight, never a second copy of the whole segment.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType as ArrowType, Field, Schema};
use bulkwriter_sink::{SegmentSink, StoredFile};
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowRowGroupWriterFactory, compute_leaves};
use parquet::arrow::{ArrowSchemaConverter, add_encoded_arrow_schema_to_metadata};
use parquet::basic::Compression;
use parquet::column::writer::ColumnCloseResult;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use rayon::prelude::*;

use crate::error::{Result, WriteError};
use crate::options::FileType;
use crate::parquet_vectors::{DenseVectors, dense_vectors, encode_chunk};
use crate::segment::{ColumnSpec, SegmentBuffer};

/// The Arrow schema of a segment's Parquet file: pymilvus's column order and types.
pub(crate) fn arrow_schema(buffer: &SegmentBuffer) -> Arc<Schema> {
    let fields: Vec<Field> = buffer
        .specs
        .iter()
        .map(|spec| match spec {
            ColumnSpec::Field(i) => buffer.schema.fields[*i].arrow_field(),
            ColumnSpec::Struct(i) => buffer.schema.struct_fields[*i].arrow_field(),
            ColumnSpec::Meta => Field::new(bulkwriter_schema::DYNAMIC_FIELD, ArrowType::Utf8, true),
        })
        .collect();
    Arc::new(Schema::new(fields))
}

/// Stores segment `segment` as files under `<uuid>/` and returns how they are reported, in
/// column order. Runs off the appending thread (see `BulkWriter`), which meanwhile fills the
/// next segment. A NumPy segment's buffer is given back, emptied, for the next segment to
/// reuse: its memory is already the process's, so filling it again costs no page faults
/// (Parquet's arrays take over their buffers, which go with them).
pub(crate) fn store_segment(
    buffer: SegmentBuffer,
    sink: &SegmentSink,
    uuid: &str,
    segment: u64,
) -> (Result<Vec<StoredFile>>, Option<SegmentBuffer>) {
    match buffer.file_type {
        FileType::Numpy => {
            let stored = store_numpy(&buffer, sink, uuid, segment);
            let mut spare = buffer;
            spare.clear();
            (stored, Some(spare))
        }
        FileType::Parquet => {
            let path = format!("{uuid}/{segment}.parquet");
            let mut file = sink.create_file(&path);
            let stored = write_parquet(buffer, &mut file)
                .map_err(|message| WriteError::Encode {
                    segment,
                    message: format!("{path}: {message}"),
                })
                .and_then(|()| {
                    let stored = file.finish();
                    stored
                        .map(|stored| vec![stored])
                        .map_err(|source| WriteError::Sink { segment, source })
                });
            (stored, None)
        }
        // Row files are streamed as rows arrive (see `rowtext`), never buffered as columns.
        FileType::Json | FileType::Jsonl | FileType::Csv => (
            Err(WriteError::Encode {
                segment,
                message: format!("{} segments are not column buffers", buffer.file_type),
            }),
            None,
        ),
    }
}

/// A NumPy segment: a folder that appears with all its files or none (see `create_folder`).
fn store_numpy(
    buffer: &SegmentBuffer,
    sink: &SegmentSink,
    uuid: &str,
    segment: u64,
) -> Result<Vec<StoredFile>> {
    let sink_error = |source| WriteError::Sink { segment, source };
    let folder = sink.create_folder(&format!("{uuid}/{segment}"));
    let ready = (0..buffer.columns.len())
        .into_par_iter()
        .map(|i| {
            let (dtype, width) = match buffer.specs[i] {
                ColumnSpec::Field(f) => buffer.schema.fields[f]
                    .numpy_layout()
                    .unwrap_or((bulkwriter_schema::NumpyDtype::Unicode, 0)),
                _ => (bulkwriter_schema::NumpyDtype::Unicode, 0),
            };
            let name = format!("{}.npy", buffer.column_name(i));
            let mut file = folder.create_file(&name);
            buffer.columns[i]
                .write_npy(dtype, width, &mut file)
                .map_err(|e| WriteError::Encode {
                    segment,
                    message: format!("{uuid}/{segment}/{name}: {e}"),
                })?;
            file.ready().map_err(sink_error)
        })
        .collect::<Result<Vec<_>>>()?;
    folder.finish(ready).map_err(sink_error)
}

/// pymilvus's row-group rule: 32 MiB of estimated data per group, 1,000 to 1,000,000 rows.
pub(crate) fn row_group_rows(size: usize, rows: usize) -> usize {
    let per_row = size / rows.max(1) + 1;
    ((32 << 20) / per_row).clamp(1_000, 1_000_000)
}

/// Rows of a row group whose levels are computed and written together.
const LEVEL_ROWS: usize = 1024;

/// One encoded column chunk of a row group.
enum ColumnChunk {
    /// From arrow-rs's column writer.
    Arrow(ArrowColumnChunk),
    /// A dense float vector column's, from [`encode_chunk`].
    Dense(bytes::Bytes, ColumnCloseResult),
}

fn write_parquet(
    buffer: SegmentBuffer,
    out: &mut (impl std::io::Write + Send),
) -> std::result::Result<(), String> {
    let schema = arrow_schema(&buffer);
    let rows = buffer.rows;
    let row_group = row_group_rows(buffer.encoded_size(), rows);
    let arrays = buffer
        .columns
        .into_par_iter()
        .zip(schema.fields().par_iter())
        .map(|(column, field)| column.into_arrow(field.data_type()))
        .collect::<Vec<_>>();
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays).map_err(|e| e.to_string())?;
    let text = |e: parquet::errors::ParquetError| e.to_string();
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group))
        // Values are handed to the column writers 8,192 at a time instead of 1,024: a vector
        // row group holds millions of floats, and the per-batch bookkeeping was a tenth of
        // its encoding. Pages still close at the default 1 MiB.
        .set_write_batch_size(8192);
    let parquet_schema = ArrowSchemaConverter::new().convert(&schema).map_err(text)?;
    // Vectors and arrays rarely repeat a value: a dictionary only costs time there (a sixth
    // of a medium_articles segment's encoding), so their leaf columns are written plain, and
    // without page statistics (min/max of random floats that no reader of import files uses).
    for column in parquet_schema.columns() {
        let root = column.path().parts().first().cloned().unwrap_or_default();
        let nested = schema.field_with_name(&root).is_ok_and(|f| {
            matches!(
                f.data_type(),
                ArrowType::List(_) | ArrowType::LargeList(_) | ArrowType::FixedSizeList(..)
            )
        });
        if nested {
            props = props
                .set_column_dictionary_enabled(column.path().clone(), false)
                .set_column_statistics_enabled(column.path().clone(), EnabledStatistics::None);
        }
    }
    let mut props = props.build();
    // What ArrowWriter records: the Arrow schema, so readers get the Arrow types back.
    add_encoded_arrow_schema_to_metadata(&schema, &mut props);
    let props = Arc::new(props);
    let mut file =
        SerializedFileWriter::new(out, parquet_schema.root_schema_ptr(), Arc::clone(&props))
            .map_err(text)?;
    let factory = ArrowRowGroupWriterFactory::new(&file, Arc::clone(&schema));
    // Each column's leaves, in order; dense float vector columns skip the Arrow writer.
    let leaves: Vec<usize> = schema
        .fields()
        .iter()
        .map(|field| {
            parquet_schema
                .columns()
                .iter()
                .filter(|c| c.path().parts().first() == Some(field.name()))
                .count()
        })
        .collect();
    let dense: Vec<Option<DenseVectors<'_>>> = batch
        .columns()
        .iter()
        .zip(&leaves)
        .map(|(array, &count)| dense_vectors(array).filter(|_| count == 1))
        .collect();
    // Row groups are independent: they are encoded in parallel, half the cores' worth at a
    // time, and written in order. The bytes are those ArrowWriter writes one row group after
    // another. The other half of the cores read and fill the next segment meanwhile; each
    // group in the wave holds its levels and encoded pages (about 80 MB for 32 MiB of
    // vectors), and on 2 cores one group at a time was as fast as two and 110 MB smaller.
    let groups: Vec<(usize, usize)> = (0..rows)
        .step_by(row_group.max(1))
        .map(|start| (start, row_group.min(rows - start)))
        .collect();
    let wave_size = (rayon::current_num_threads() / 2).max(1);
    for wave in groups.chunks(wave_size) {
        let encoded = wave
            .par_iter()
            .map(|&(start, len)| {
                let index = start / row_group.max(1);
                let mut writers = factory.create_column_writers(index).map_err(text)?;
                // A slice's levels are computed whole before its values are written: in
                // slices of LEVEL_ROWS rows they stay a few MB instead of tens (two per float
                // of a vector column).
                for offset in (0..len).step_by(LEVEL_ROWS) {
                    let slice = batch.slice(start + offset, LEVEL_ROWS.min(len - offset));
                    let mut next = writers.iter_mut();
                    let columns = slice.columns().iter().zip(schema.fields()).zip(&dense);
                    for ((array, field), dense) in columns {
                        if dense.is_some() {
                            next.next(); // its one leaf is written whole below
                            continue;
                        }
                        for leaf in compute_leaves(field, array).map_err(text)? {
                            next.next()
                                .ok_or("more leaf columns than the schema has")?
                                .write(&leaf)
                                .map_err(text)?;
                        }
                    }
                }
                let mut writers = writers.into_iter();
                let mut chunks = Vec::new();
                let mut leaf = 0;
                for (count, dense) in leaves.iter().zip(&dense) {
                    if let Some(vectors) = dense {
                        writers.next();
                        let descr = parquet_schema.column(leaf);
                        let rows = start..start + len;
                        let (bytes, close) =
                            encode_chunk(vectors, rows, LEVEL_ROWS, descr, Arc::clone(&props))
                                .map_err(text)?;
                        chunks.push(ColumnChunk::Dense(bytes, close));
                    } else {
                        for writer in writers.by_ref().take(*count) {
                            chunks.push(ColumnChunk::Arrow(writer.close().map_err(text)?));
                        }
                    }
                    leaf += count;
                }
                Ok(chunks)
            })
            .collect::<std::result::Result<Vec<_>, String>>()?;
        for chunks in encoded {
            let mut group = file.next_row_group().map_err(text)?;
            for chunk in chunks {
                match chunk {
                    ColumnChunk::Arrow(chunk) => chunk.append_to_row_group(&mut group),
                    ColumnChunk::Dense(bytes, close) => group.append_column(&bytes, close),
                }
                .map_err(text)?;
            }
            group.close().map_err(text)?;
        }
    }
    file.close().map_err(text)?;
    Ok(())
}
