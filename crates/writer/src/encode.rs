//! Turns a closed segment buffer into the files of one segment, streamed into the sink: each
//! `.npy` file is written from its column buffer in 1 MiB blocks (the columns in parallel),
//! and a Parquet file row group by row group as `ArrowWriter` fills them, from Arrow arrays
//! that take over the column buffers without a copy. So a segment being stored costs its
//! buffers plus a few parts in flight, never a second copy of the whole segment.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType as ArrowType, Field, Schema};
use bulkwriter_sink::{SegmentSink, StoredFile};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;
use rayon::prelude::*;

use crate::error::{Result, WriteError};
use crate::options::FileType;
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
/// next segment.
pub(crate) fn store_segment(
    buffer: SegmentBuffer,
    sink: &SegmentSink,
    uuid: &str,
    segment: u64,
) -> Result<Vec<StoredFile>> {
    let sink_error = |source| WriteError::Sink { segment, source };
    match buffer.file_type {
        FileType::Numpy => (0..buffer.columns.len())
            .into_par_iter()
            .map(|i| {
                let (dtype, width) = match buffer.specs[i] {
                    ColumnSpec::Field(f) => buffer.schema.fields[f]
                        .numpy_layout()
                        .unwrap_or((bulkwriter_schema::NumpyDtype::Unicode, 0)),
                    _ => (bulkwriter_schema::NumpyDtype::Unicode, 0),
                };
                let path = format!("{uuid}/{segment}/{}.npy", buffer.column_name(i));
                let mut file = sink.create_file(&path);
                buffer.columns[i]
                    .write_npy(dtype, width, &mut file)
                    .map_err(|e| WriteError::Encode {
                        segment,
                        message: format!("{path}: {e}"),
                    })?;
                file.finish().map_err(sink_error)
            })
            .collect(),
        FileType::Parquet => {
            let path = format!("{uuid}/{segment}.parquet");
            let mut file = sink.create_file(&path);
            write_parquet(buffer, &mut file).map_err(|message| WriteError::Encode {
                segment,
                message: format!("{path}: {message}"),
            })?;
            Ok(vec![file.finish().map_err(sink_error)?])
        }
        // Row files are streamed as rows arrive (see `rowtext`), never buffered as columns.
        FileType::Json | FileType::Jsonl | FileType::Csv => Err(WriteError::Encode {
            segment,
            message: format!("{} segments are not column buffers", buffer.file_type),
        }),
    }
}

/// pymilvus's row-group rule: 32 MiB of estimated data per group, 1,000 to 1,000,000 rows.
pub(crate) fn row_group_rows(size: usize, rows: usize) -> usize {
    let per_row = size / rows.max(1) + 1;
    ((32 << 20) / per_row).clamp(1_000, 1_000_000)
}

fn write_parquet(
    buffer: SegmentBuffer,
    out: &mut (impl std::io::Write + Send),
) -> std::result::Result<(), String> {
    let schema = arrow_schema(&buffer);
    let row_group = row_group_rows(buffer.encoded_size(), buffer.rows);
    let arrays = buffer
        .columns
        .into_par_iter()
        .zip(schema.fields().par_iter())
        .map(|(column, field)| column.into_arrow(field.data_type()))
        .collect::<Vec<_>>();
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group))
        .build();
    // ArrowWriter encodes and writes each row group as it fills.
    let mut writer = ArrowWriter::try_new(out, schema, Some(props)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(())
}
