//! Turns a full segment buffer into the files of one segment.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{DataType as ArrowType, Field, Schema};
use bulkwriter_sink::SegmentFile;
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

/// Encodes segment `segment` as files under `<uuid>/`.
pub(crate) fn encode_segment(
    buffer: &SegmentBuffer,
    uuid: &str,
    segment: u64,
) -> Result<Vec<SegmentFile>> {
    match buffer.file_type {
        FileType::Numpy => Ok(encode_numpy(buffer, uuid, segment)),
        FileType::Parquet => Ok(vec![SegmentFile {
            relative_path: format!("{uuid}/{segment}.parquet"),
            data: encode_parquet(buffer)
                .map_err(|message| WriteError::Encode { segment, message })?
                .into(),
        }]),
        // Row files are streamed as rows arrive (see `rowtext`), never buffered as columns.
        FileType::Json | FileType::Jsonl | FileType::Csv => Err(WriteError::Encode {
            segment,
            message: format!("{} segments are not column buffers", buffer.file_type),
        }),
    }
}

/// One `.npy` file per column, encoded in parallel.
fn encode_numpy(buffer: &SegmentBuffer, uuid: &str, segment: u64) -> Vec<SegmentFile> {
    (0..buffer.columns.len())
        .into_par_iter()
        .map(|i| {
            let (dtype, width) = match buffer.specs[i] {
                ColumnSpec::Field(f) => buffer.schema.fields[f]
                    .numpy_layout()
                    .unwrap_or((bulkwriter_schema::NumpyDtype::Unicode, 0)),
                _ => (bulkwriter_schema::NumpyDtype::Unicode, 0),
            };
            SegmentFile {
                relative_path: format!("{uuid}/{segment}/{}.npy", buffer.column_name(i)),
                data: buffer.columns[i].to_npy(dtype, width).into(),
            }
        })
        .collect()
}

/// pymilvus's row-group rule: 32 MiB of estimated data per group, 1,000 to 1,000,000 rows.
pub(crate) fn row_group_rows(size: usize, rows: usize) -> usize {
    let per_row = size / rows.max(1) + 1;
    ((32 << 20) / per_row).clamp(1_000, 1_000_000)
}

fn encode_parquet(buffer: &SegmentBuffer) -> std::result::Result<Vec<u8>, String> {
    let schema = arrow_schema(buffer);
    let arrays = buffer
        .columns
        .par_iter()
        .zip(schema.fields().par_iter())
        .map(|(column, field)| column.to_arrow(field.data_type()))
        .collect::<Vec<_>>();
    let batch = RecordBatch::try_new(Arc::clone(&schema), arrays).map_err(|e| e.to_string())?;
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(row_group_rows(buffer.encoded_size(), buffer.rows)))
        .build();
    let mut out = Vec::new();
    let mut writer =
        ArrowWriter::try_new(&mut out, schema, Some(props)).map_err(|e| e.to_string())?;
    writer.write(&batch).map_err(|e| e.to_string())?;
    writer.close().map_err(|e| e.to_string())?;
    Ok(out)
}
