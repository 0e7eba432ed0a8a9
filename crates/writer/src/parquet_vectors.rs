//! A row group's float vector column written straight from the segment's values with the
//! parquet crate's column writer, instead of through arrow-rs's Arrow writer.
//!
//! For a `list<float>` column arrow-rs computes two levels per float from the list's offsets
//! and then gathers every value through an index list it builds (a `usize` per float): about
//! a fifth of a Parquet segment's encoding. A segment's FLOAT_VECTOR buffer holds `width`
//! floats a row and no nulls, so its levels are known (repetition 0 at a row's first float
//! and 1 after it, definition at its maximum) and its values are already in order. They go
//! to the same column writer in the same slices, so the pages, and the file, are the bytes
//! arrow-rs writes; any other layout (nulls, ragged rows) takes arrow-rs's path.

use std::ops::Range;

use arrow_array::cast::AsArray;
use arrow_array::types::Float32Type;
use arrow_array::{Array, ArrayRef};
use arrow_schema::DataType as ArrowType;
use bytes::Bytes;
use parquet::column::writer::{ColumnCloseResult, ColumnWriter, get_column_writer};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterPropertiesPtr;
use parquet::file::writer::{SerializedPageWriter, TrackedWrite};
use parquet::schema::types::ColumnDescPtr;

/// A vector column of `width` floats a row, none null, as one slice of values.
pub(crate) struct DenseVectors<'a> {
    values: &'a [f32],
    width: usize,
}

/// The column's values when it is a `list<float>` with every row `width` floats long and no
/// null list or float.
pub(crate) fn dense_vectors(array: &ArrayRef) -> Option<DenseVectors<'_>> {
    let ArrowType::List(item) = array.data_type() else {
        return None;
    };
    if item.data_type() != &ArrowType::Float32 || array.null_count() > 0 {
        return None;
    }
    let list = array.as_list::<i32>();
    let floats = list.values().as_primitive::<Float32Type>();
    if floats.null_count() > 0 {
        return None;
    }
    let offsets = list.value_offsets();
    let width = usize::try_from(offsets.get(1)? - offsets[0]).ok()?;
    let even = offsets
        .windows(2)
        .all(|pair| pair[1] - pair[0] == width as i32);
    let start = usize::try_from(offsets[0]).ok()?;
    let end = usize::try_from(*offsets.last()?).ok()?;
    (width > 0 && even).then(|| DenseVectors {
        values: &floats.values()[start..end],
        width,
    })
}

/// Encodes rows `rows` of `vectors` as the column chunk of leaf `descr`, handing the column
/// writer `slice_rows` rows at a time (as the Arrow path hands it its slices). Returns the
/// chunk's bytes and what closing the writer reported, for
/// `SerializedRowGroupWriter::append_column`.
pub(crate) fn encode_chunk(
    vectors: &DenseVectors<'_>,
    rows: Range<usize>,
    slice_rows: usize,
    descr: ColumnDescPtr,
    props: WriterPropertiesPtr,
) -> Result<(Bytes, ColumnCloseResult), ParquetError> {
    if descr.max_rep_level() != 1 {
        return Err(ParquetError::General(format!(
            "column {} is not a list of floats",
            descr.path()
        )));
    }
    let width = vectors.width;
    let levels = slice_rows.min(rows.len()) * width;
    let definition = vec![descr.max_def_level(); levels];
    let repetition: Vec<i16> = (0..levels).map(|i| (i % width != 0) as i16).collect();
    let mut sink = TrackedWrite::new(Vec::new());
    let close = {
        let pages = Box::new(SerializedPageWriter::new(&mut sink));
        let ColumnWriter::FloatColumnWriter(mut writer) = get_column_writer(descr, props, pages)
        else {
            return Err(ParquetError::General(
                "the vector column's leaf is not FLOAT".into(),
            ));
        };
        for start in rows.clone().step_by(slice_rows.max(1)) {
            let end = (start + slice_rows).min(rows.end);
            let floats = (end - start) * width;
            writer.write_batch(
                &vectors.values[start * width..end * width],
                Some(&definition[..floats]),
                Some(&repetition[..floats]),
            )?;
        }
        writer.close()?
    };
    Ok((Bytes::from(sink.into_inner()?), close))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Float32Array, ListArray, RecordBatch};
    use arrow_buffer::{NullBuffer, OffsetBuffer};
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowSchemaConverter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::arrow::arrow_writer::{ArrowRowGroupWriterFactory, compute_leaves};
    use parquet::basic::Compression;
    use parquet::file::properties::{EnabledStatistics, WriterProperties};
    use parquet::file::writer::SerializedFileWriter;

    use super::*;

    fn vectors(rows: usize, width: usize) -> ArrayRef {
        let values: Vec<f32> = (0..rows * width).map(|i| (i as f32).sin()).collect();
        let offsets = OffsetBuffer::from_lengths(std::iter::repeat_n(width, rows));
        let item = Arc::new(Field::new("element", ArrowType::Float32, true));
        Arc::new(ListArray::new(
            item,
            offsets,
            Arc::new(Float32Array::from(values)),
            None,
        ))
    }

    /// A file of `array` in row groups of `group` rows, its one leaf written by arrow-rs's
    /// column writer (`dense` false) or by [`encode_chunk`], both in slices of 100 rows.
    fn file(array: &ArrayRef, group: usize, dense: bool) -> Vec<u8> {
        let field = Field::new("vector", array.data_type().clone(), true);
        let schema = Arc::new(Schema::new(vec![field.clone()]));
        let parquet_schema = ArrowSchemaConverter::new().convert(&schema).unwrap();
        let leaf = parquet_schema.column(0);
        // Small pages, so a chunk has many, cut where the slices and batches fall.
        let props = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::SNAPPY)
                .set_write_batch_size(256)
                .set_data_page_size_limit(2048)
                .set_column_dictionary_enabled(leaf.path().clone(), false)
                .set_column_statistics_enabled(leaf.path().clone(), EnabledStatistics::None)
                .build(),
        );
        let mut out = Vec::new();
        let mut file =
            SerializedFileWriter::new(&mut out, parquet_schema.root_schema_ptr(), props.clone())
                .unwrap();
        let factory = ArrowRowGroupWriterFactory::new(&file, Arc::clone(&schema));
        let batch = RecordBatch::try_new(schema, vec![array.clone()]).unwrap();
        for (index, start) in (0..array.len()).step_by(group).enumerate() {
            let len = group.min(array.len() - start);
            let mut row_group = file.next_row_group().unwrap();
            if dense {
                let vectors = dense_vectors(array).unwrap();
                let (bytes, close) = encode_chunk(
                    &vectors,
                    start..start + len,
                    100,
                    leaf.clone(),
                    props.clone(),
                )
                .unwrap();
                row_group.append_column(&bytes, close).unwrap();
            } else {
                let mut writers = factory.create_column_writers(index).unwrap();
                for offset in (0..len).step_by(100) {
                    let slice = batch.slice(start + offset, 100.min(len - offset));
                    for leaf in compute_leaves(&field, slice.column(0)).unwrap() {
                        writers[0].write(&leaf).unwrap();
                    }
                }
                let chunk = writers.pop().unwrap().close().unwrap();
                chunk.append_to_row_group(&mut row_group).unwrap();
            }
            row_group.close().unwrap();
        }
        file.close().unwrap();
        out
    }

    #[test]
    fn dense_vector_chunks_are_the_bytes_arrow_rs_writes_and_read_back_as_written() {
        for (rows, width, group) in [(1000, 5, 300), (257, 768, 100), (1, 3, 1000)] {
            let array = vectors(rows, width);
            let ours = file(&array, group, true);
            // Compared as a whole, so a failure does not print both files.
            let arrow_rs = file(&array, group, false);
            assert!(ours == arrow_rs, "{rows} rows of {width}: the files differ");
            let reader = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(ours))
                .unwrap()
                .build()
                .unwrap();
            let mut offset = 0;
            for batch in reader {
                let column = batch.unwrap().column(0).clone();
                let want = array.slice(offset, column.len());
                assert_eq!(column.as_list::<i32>(), want.as_list::<i32>());
                offset += column.len();
            }
            assert_eq!(offset, rows);
        }
    }

    #[test]
    fn only_lists_of_even_width_with_no_null_are_dense() {
        assert!(dense_vectors(&vectors(4, 3)).is_some());
        let item = Arc::new(Field::new("element", ArrowType::Float32, true));
        let values = || Arc::new(Float32Array::from(vec![1.0; 6]));
        let ragged = ListArray::new(
            item.clone(),
            OffsetBuffer::from_lengths([2, 4]),
            values(),
            None,
        );
        let null_row = ListArray::new(
            item.clone(),
            OffsetBuffer::from_lengths([3, 3]),
            values(),
            Some(NullBuffer::from(vec![true, false])),
        );
        let null_float = ListArray::new(
            item,
            OffsetBuffer::from_lengths([3, 3]),
            Arc::new(Float32Array::from(vec![
                Some(1.0),
                None,
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(1.0),
            ])),
            None,
        );
        for array in [ragged, null_row, null_float] {
            assert!(dense_vectors(&(Arc::new(array) as ArrayRef)).is_none());
        }
    }
}
