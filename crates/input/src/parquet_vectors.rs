//! Float vector columns of a local Parquet file, decoded from their values and levels
//! without arrow-rs's list reader.
//!
//! arrow-rs rebuilds a list column's offsets and validity with a loop over every level, one
//! per float: in Parquet → NUMPY that loop was a third of the decoding thread, the thread
//! the whole conversion waits on. A vector column (`list<float>`, one level of nesting) is
//! read here with the parquet crate's column reader instead. When every row of a batch
//! holds the same number of present floats, which a few passes the compiler vectorises
//! check, the offsets are `i × dim` and there are no nulls; any other batch (null or empty
//! vectors, null elements, rows of other lengths) is rebuilt from the same levels by the
//! general rule, to the array arrow-rs would have made.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, ListArray, RecordBatch, RecordBatchOptions};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_schema::{DataType, FieldRef, SchemaRef};
use parquet::arrow::ProjectionMask;
use parquet::basic::Type as PhysicalType;
use parquet::column::reader::{ColumnReader, ColumnReaderImpl};
use parquet::data_type::FloatType;
use parquet::file::reader::{FileReader, SerializedFileReader};
use parquet::schema::types::SchemaDescriptor;

use crate::InputError;
use crate::error::Context;

/// The vector columns of a file's read, and how to put them back beside the other columns.
pub(crate) struct VectorColumns {
    file: SerializedFileReader<File>,
    /// The row groups read, in order.
    groups: Vec<usize>,
    /// By position, ascending.
    columns: Vec<VectorColumn>,
    /// The whole batch's schema: the file's.
    schema: SchemaRef,
}

impl VectorColumns {
    /// The file's vector columns, or `None` if it has none (or, being a projection of the
    /// others, the arrow reader would have none to read).
    pub(crate) fn find(
        path: &Path,
        schema: &SchemaRef,
        parquet: &SchemaDescriptor,
        groups: &[usize],
    ) -> Result<Option<VectorColumns>, InputError> {
        let columns: Vec<VectorColumn> = schema
            .fields()
            .iter()
            .enumerate()
            .filter_map(|(position, field)| VectorColumn::of(position, field, parquet))
            .collect();
        if columns.is_empty() || columns.len() == schema.fields().len() {
            return Ok(None);
        }
        let file = File::open(path).context("cannot open the file")?;
        let file = SerializedFileReader::new(file).context("not a Parquet file")?;
        Ok(Some(VectorColumns {
            file,
            groups: groups.to_vec(),
            columns,
            schema: Arc::clone(schema),
        }))
    }

    /// The columns the arrow reader is left to read: all top-level columns but these.
    pub(crate) fn others(&self, parquet: &SchemaDescriptor) -> ProjectionMask {
        let roots = (0..self.schema.fields().len())
            .filter(|root| !self.columns.iter().any(|c| c.position == *root));
        ProjectionMask::roots(parquet, roots)
    }

    /// The whole batch: `others` (a batch of the other columns) with the vector columns'
    /// next rows put back in their places.
    pub(crate) fn attach(&mut self, others: RecordBatch) -> Result<RecordBatch, InputError> {
        let rows = others.num_rows();
        let mut columns = others.columns().to_vec();
        for column in &mut self.columns {
            let array = column
                .read(&self.file, &self.groups, rows)
                .with_context(|| {
                    format!("cannot read the Parquet file: column {}", column.name())
                })?;
            columns.insert(column.position, array);
        }
        let options = RecordBatchOptions::new().with_row_count(Some(rows));
        RecordBatch::try_new_with_options(Arc::clone(&self.schema), columns, &options)
            .context("cannot read the Parquet file")
    }
}

/// One `list<float>` column and where its reader is.
struct VectorColumn {
    /// Among the file's top-level columns.
    position: usize,
    /// Its leaf among the Parquet columns.
    leaf: usize,
    list: FieldRef,
    element: FieldRef,
    levels: Levels,
    /// The next of the read's row groups to open.
    next_group: usize,
    reader: Option<ColumnReaderImpl<FloatType>>,
    def: Vec<i16>,
    rep: Vec<i16>,
    /// Levels per row in the last batch: rows are alike, so this sizes the next values.
    levels_per_row: usize,
}

/// What a vector column's definition levels mean. The list, if nullable, adds a level; its
/// repeated group adds one; its element, if nullable, adds one.
#[derive(Clone, Copy, Debug)]
struct Levels {
    list_nullable: bool,
    element_nullable: bool,
    /// A present float.
    value: i16,
    /// A slot in the list: a float, or a null element if the element is nullable.
    slot: i16,
}

impl Levels {
    /// A list that is present but empty; below this the list is null.
    fn empty(self) -> i16 {
        self.slot - 1
    }
}

impl VectorColumn {
    fn of(position: usize, field: &FieldRef, parquet: &SchemaDescriptor) -> Option<VectorColumn> {
        let DataType::List(element) = field.data_type() else {
            return None;
        };
        if element.data_type() != &DataType::Float32 {
            return None;
        }
        let mut leaves =
            (0..parquet.num_columns()).filter(|&i| parquet.get_column_root_idx(i) == position);
        let leaf = leaves.next()?;
        if leaves.next().is_some() {
            return None;
        }
        let column = parquet.column(leaf);
        let levels = Levels {
            list_nullable: field.is_nullable(),
            element_nullable: element.is_nullable(),
            value: column.max_def_level(),
            slot: column.max_def_level() - element.is_nullable() as i16,
        };
        let expected = levels.list_nullable as i16 + 1 + levels.element_nullable as i16;
        let plain = column.physical_type() == PhysicalType::FLOAT
            && column.max_rep_level() == 1
            && column.max_def_level() == expected
            && parquet.get_column_root(leaf).name() == field.name();
        plain.then(|| VectorColumn {
            position,
            leaf,
            list: Arc::clone(field),
            element: Arc::clone(element),
            levels,
            next_group: 0,
            reader: None,
            def: Vec::new(),
            rep: Vec::new(),
            levels_per_row: 0,
        })
    }

    fn name(&self) -> &str {
        self.list.name()
    }

    /// The next `rows` rows, from as many row groups as they take.
    fn read(
        &mut self,
        file: &SerializedFileReader<File>,
        groups: &[usize],
        rows: usize,
    ) -> Result<ArrayRef, String> {
        self.def.clear();
        self.rep.clear();
        let mut values: Vec<f32> = Vec::with_capacity(rows * self.levels_per_row);
        let mut read = 0;
        while read < rows {
            let reader = match &mut self.reader {
                Some(reader) => reader,
                None => {
                    let Some(&group) = groups.get(self.next_group) else {
                        return Err(format!(
                            "it ends {} rows before the other columns",
                            rows - read
                        ));
                    };
                    self.next_group += 1;
                    let group = file.get_row_group(group).map_err(|e| e.to_string())?;
                    match group
                        .get_column_reader(self.leaf)
                        .map_err(|e| e.to_string())?
                    {
                        ColumnReader::FloatColumnReader(reader) => self.reader.insert(reader),
                        _ => return Err("not a FLOAT column".into()),
                    }
                }
            };
            let (records, _, _) = reader
                .read_records(
                    rows - read,
                    Some(&mut self.def),
                    Some(&mut self.rep),
                    &mut values,
                )
                .map_err(|e| e.to_string())?;
            if records == 0 {
                self.reader = None;
            }
            read += records;
        }
        self.levels_per_row = self.def.len() / rows.max(1);
        let array = self
            .levels
            .list(&self.element, rows, &self.def, &self.rep, values)?;
        Ok(Arc::new(array))
    }
}

impl Levels {
    /// The list array of `rows` rows that these levels and present values make.
    fn list(
        self,
        element: &FieldRef,
        rows: usize,
        def: &[i16],
        rep: &[i16],
        values: Vec<f32>,
    ) -> Result<ListArray, String> {
        // Offsets never pass the number of levels: checked once here, every offset below
        // fits an i32.
        if i32::try_from(def.len()).is_err() {
            return Err("more than 2^31 floats in a batch".into());
        }
        if let Some(dim) = self.whole_rows(rows, def, rep, values.len()) {
            let offsets = (0..=rows).map(|i| (i * dim) as i32).collect();
            return list_array(element, offsets, values, None, None);
        }
        self.general(element, rows, def, rep, values)
    }

    /// `dim` if each of the `rows` rows is `dim` present floats: every level is a float's,
    /// and rows start (repetition level 0) exactly at multiples of `dim`. Levels of one
    /// nesting are 0 or 1, so the sum of the repetition levels counts the levels that are
    /// not row starts.
    fn whole_rows(self, rows: usize, def: &[i16], rep: &[i16], values: usize) -> Option<usize> {
        let levels = def.len();
        if rows == 0 || values != levels || rep.len() != levels || !levels.is_multiple_of(rows) {
            return None;
        }
        let dim = levels / rows;
        let value = self.value;
        let all_present = def.iter().fold(true, |all, &d| all & (d == value));
        let continuing: usize = rep.iter().map(|&r| r as usize).sum();
        let starts_at_dim = rep.iter().step_by(dim).all(|&r| r == 0);
        (all_present && starts_at_dim && continuing == levels - rows).then_some(dim)
    }

    /// Any batch: null lists, empty lists, null elements and rows of any length, as arrow-rs
    /// reads them (a null or empty list takes no slots).
    fn general(
        self,
        element: &FieldRef,
        rows: usize,
        def: &[i16],
        rep: &[i16],
        values: Vec<f32>,
    ) -> Result<ListArray, String> {
        let mut offsets: Vec<i32> = Vec::with_capacity(rows + 1);
        let mut list_valid = BooleanBufferBuilder::new(rows);
        let mut element_valid = BooleanBufferBuilder::new(def.len());
        let mut slots = 0usize;
        for (&d, &r) in def.iter().zip(rep) {
            if r == 0 {
                offsets.push(slots as i32);
                list_valid.append(d >= self.empty());
            }
            if d >= self.slot {
                slots += 1;
                element_valid.append(d == self.value);
            }
        }
        offsets.push(slots as i32);
        if offsets.len() != rows + 1 {
            return Err(format!("{} rows where {rows} were read", offsets.len() - 1));
        }
        let values = if values.len() == slots {
            values
        } else {
            // Null elements take a slot but no value: spread the values out over the slots.
            let mut present = values.into_iter();
            let mut spread = Vec::with_capacity(slots);
            for &d in def.iter().filter(|&&d| d >= self.slot) {
                spread.push(if d == self.value {
                    present.next().ok_or("fewer floats than its levels say")?
                } else {
                    0.0
                });
            }
            spread
        };
        let element_nulls =
            Some(NullBuffer::new(element_valid.finish())).filter(|n| n.null_count() > 0);
        if element_nulls.is_some() && !self.element_nullable {
            return Err("a null element in a list of required floats".into());
        }
        let list_nulls = Some(NullBuffer::new(list_valid.finish())).filter(|n| n.null_count() > 0);
        if list_nulls.is_some() && !self.list_nullable {
            return Err("a null list in a required column".into());
        }
        list_array(element, offsets, values, element_nulls, list_nulls)
    }
}

/// A list array of `element`s from its parts (which `ListArray::try_new` checks agree).
fn list_array(
    element: &FieldRef,
    offsets: Vec<i32>,
    values: Vec<f32>,
    element_nulls: Option<NullBuffer>,
    list_nulls: Option<NullBuffer>,
) -> Result<ListArray, String> {
    let values = Float32Array::new(ScalarBuffer::from(values), element_nulls);
    ListArray::try_new(
        Arc::clone(element),
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        Arc::new(values),
        list_nulls,
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::builder::{Float32Builder, ListBuilder};
    use arrow_array::{Array, Int64Array};
    use arrow_schema::{Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::WriterProperties;

    /// A file of `id` and a `vector` column holding `rows`, in row groups of `group_rows`
    /// and pages of at most 3 rows, so that batches cross both.
    fn write(
        rows: &[Option<Vec<Option<f32>>>],
        nullable: bool,
        group_rows: usize,
    ) -> tempfile::NamedTempFile {
        let element = Field::new("element", DataType::Float32, nullable);
        let mut vectors = ListBuilder::new(Float32Builder::new()).with_field(Arc::new(element));
        for row in rows {
            match row {
                Some(values) => {
                    for v in values {
                        vectors.values().append_option(*v);
                    }
                    vectors.append(true);
                }
                None => vectors.append(false),
            }
        }
        let vectors = vectors.finish();
        let ids = Int64Array::from_iter_values(0..rows.len() as i64);
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("vector", vectors.data_type().clone(), nullable),
        ]));
        let batch =
            RecordBatch::try_new(Arc::clone(&schema), vec![Arc::new(ids), Arc::new(vectors)])
                .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(group_rows))
            .set_data_page_row_count_limit(3)
            .set_write_batch_size(3)
            .build();
        let file = tempfile::NamedTempFile::new().unwrap();
        let mut writer = ArrowWriter::try_new(file.reopen().unwrap(), schema, Some(props)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        file
    }

    /// The file's batches of `batch_rows` rows as this module reads them, and as arrow-rs's
    /// reader does.
    fn read_both(
        file: &tempfile::NamedTempFile,
        batch_rows: usize,
    ) -> (Vec<RecordBatch>, Vec<RecordBatch>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(file.reopen().unwrap()).unwrap();
        let groups: Vec<usize> = (0..builder.metadata().num_row_groups()).collect();
        let mut vectors = VectorColumns::find(
            file.path(),
            builder.schema(),
            builder.parquet_schema(),
            &groups,
        )
        .unwrap()
        .expect("a vector column");
        let others = vectors.others(builder.parquet_schema());
        let reader = builder
            .with_projection(others)
            .with_batch_size(batch_rows)
            .build()
            .unwrap();
        let ours = reader
            .map(|b| vectors.attach(b.unwrap()).unwrap())
            .collect();
        let theirs = ParquetRecordBatchReaderBuilder::try_new(file.reopen().unwrap())
            .unwrap()
            .with_batch_size(batch_rows)
            .build()
            .unwrap()
            .map(|b| b.unwrap())
            .collect();
        (ours, theirs)
    }

    fn full(rows: usize, dim: usize) -> Vec<Option<Vec<Option<f32>>>> {
        (0..rows)
            .map(|r| {
                Some(
                    (0..dim)
                        .map(|i| Some((r * dim + i) as f32 * 0.5 - 7.0))
                        .collect(),
                )
            })
            .collect()
    }

    #[test]
    fn whole_vectors_read_as_arrow_reads_them_across_pages_and_row_groups() {
        for nullable in [true, false] {
            let file = write(&full(50, 4), nullable, 7);
            for batch_rows in [1, 5, 8, 64] {
                let (ours, theirs) = read_both(&file, batch_rows);
                assert_eq!(ours, theirs, "nullable {nullable}, batches of {batch_rows}");
                assert_eq!(ours.iter().map(|b| b.num_rows()).sum::<usize>(), 50);
            }
        }
    }

    #[test]
    fn null_empty_ragged_and_null_element_vectors_read_as_arrow_reads_them() {
        let mut rows = full(30, 4);
        rows[0] = None;
        rows[3] = Some(vec![]);
        rows[4] = Some(vec![Some(1.5), None, Some(2.5), None]);
        rows[9] = Some(vec![Some(3.0), Some(4.0)]);
        rows[10] = Some((0..9).map(|i| Some(i as f32)).collect());
        rows[29] = None;
        let file = write(&rows, true, 11);
        for batch_rows in [1, 4, 6, 100] {
            let (ours, theirs) = read_both(&file, batch_rows);
            assert_eq!(ours, theirs, "batches of {batch_rows}");
        }
        // The null and empty rows are told apart, as the validator needs them to be.
        let (ours, _) = read_both(&file, 100);
        let vector = ours[0]
            .column(1)
            .as_any()
            .downcast_ref::<ListArray>()
            .unwrap();
        assert!(vector.is_null(0) && vector.is_valid(3) && vector.value_length(3) == 0);
        assert_eq!(vector.value(4).null_count(), 2);
    }

    #[test]
    fn rows_of_whole_vectors_are_found_by_their_levels() {
        let levels = Levels {
            list_nullable: true,
            element_nullable: true,
            value: 3,
            slot: 2,
        };
        let rep = [0, 1, 1, 0, 1, 1];
        assert_eq!(levels.whole_rows(2, &[3; 6], &rep, 6), Some(3));
        // A null element, rows of 2 and 4, and fewer values than levels.
        assert_eq!(levels.whole_rows(2, &[3, 2, 3, 3, 3, 3], &rep, 5), None);
        assert_eq!(levels.whole_rows(2, &[3; 6], &[0, 1, 0, 1, 1, 1], 6), None);
        assert_eq!(levels.whole_rows(2, &[3; 6], &rep, 5), None);
    }
}
