//! Parquet input, read column-wise: record batches go to the writer's Arrow path without
//! becoming rows. Any row-group layout; vectors as `list`, `large_list` or `fixed_size_list`;
//! strings as `utf8`, `large_utf8`, views or dictionaries; every codec the parquet crate has
//! (uncompressed, SNAPPY, GZIP, LZ4, LZ4_RAW, BROTLI, ZSTD). A local file's `list<float>`
//! vector columns are decoded by [`crate::parquet_vectors`], the other columns by arrow-rs.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use futures_util::StreamExt;
use parquet::arrow::ParquetRecordBatchStreamBuilder;
use parquet::arrow::arrow_reader::{ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::ParquetMetaData;

use crate::chunk::map_batch;
use crate::error::Context;
use crate::parquet_vectors::VectorColumns;
use crate::remote::RemoteObject;
use crate::{Chunk, InputError, InputFile, ReadOptions, Visit};

pub(crate) fn read(
    path: &Path,
    input: &InputFile,
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
    let part = RowGroups::of(builder.metadata(), &input.range);
    let mut vectors = VectorColumns::find(
        path,
        builder.schema(),
        builder.parquet_schema(),
        &part.groups,
    )?;
    if let Some(vectors) = &vectors {
        let others = vectors.others(builder.parquet_schema());
        builder = builder.with_projection(others);
    }
    let reader = builder
        .with_row_groups(part.groups.clone())
        .with_batch_size(part.batch_rows(options.batch_rows))
        .build()
        .context("cannot read the Parquet file")?;
    // Decoding runs on its own thread, a batch ahead of the caller's validation and
    // encoding: the two halves of Parquet input overlap on two cores.
    let (batches, decoded) = std::sync::mpsc::sync_channel::<Result<RecordBatch, InputError>>(1);
    std::thread::scope(|scope| {
        scope.spawn(move || {
            for batch in reader {
                let batch = batch.context("cannot read the Parquet file");
                let batch = match &mut vectors {
                    Some(vectors) => batch.and_then(|others| vectors.attach(others)),
                    None => batch,
                };
                let failed = batch.is_err();
                if batches.send(batch).is_err() || failed {
                    return;
                }
            }
        });
        let mut delivery = Delivery::new(&input.partitions, options, size, &part);
        for batch in decoded {
            if delivery.deliver(batch?, visit)?.is_break() {
                return Ok(());
            }
        }
        Ok(())
    })
}

/// Reads a Parquet object with range requests: the footer first, then the row groups as they
/// are decoded, never the whole object at once.
pub(crate) fn read_remote(
    object: &RemoteObject,
    input: &InputFile,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let rt = crate::remote::runtime()?;
    let reader = || crate::remote::ObjectRanges::new(object);
    let mut builder = rt
        .block_on(ParquetRecordBatchStreamBuilder::new(reader()))
        .context("not a Parquet file")?;
    if let Some(plain) = without_dictionaries(builder.schema()) {
        let options = ArrowReaderOptions::new().with_schema(plain);
        builder = rt
            .block_on(ParquetRecordBatchStreamBuilder::new_with_options(
                reader(),
                options,
            ))
            .context("not a Parquet file")?;
    }
    let part = RowGroups::of(builder.metadata(), &input.range);
    let mut stream = builder
        .with_row_groups(part.groups.clone())
        .with_batch_size(part.batch_rows(options.batch_rows))
        .build()
        .context("cannot read the Parquet file")?;
    let mut delivery = Delivery::new(&input.partitions, options, object.size, &part);
    while let Some(batch) = rt.block_on(stream.next()) {
        let batch = batch.context("cannot read the Parquet file")?;
        if delivery.deliver(batch, visit)?.is_break() {
            return Ok(());
        }
    }
    Ok(())
}

/// Hands a file's decoded batches to the visitor: columns renamed, partition columns added,
/// vector bytes decoded, rows numbered, progress estimated from the share of rows read.
struct Delivery<'p, 'o> {
    partitions: &'p [(String, String)],
    options: &'p ReadOptions<'o>,
    size: u64,
    /// Rows of the row groups read.
    total: u64,
    /// The row number of the next batch's first row, in the whole file.
    first_row: u64,
    /// Rows delivered.
    read: u64,
}

impl<'p, 'o> Delivery<'p, 'o> {
    fn new(
        partitions: &'p [(String, String)],
        options: &'p ReadOptions<'o>,
        size: u64,
        part: &RowGroups,
    ) -> Self {
        Delivery {
            partitions,
            options,
            size,
            total: part.rows.max(1),
            first_row: part.first_row,
            read: 0,
        }
    }

    fn deliver(
        &mut self,
        batch: RecordBatch,
        visit: &mut Visit<'_>,
    ) -> Result<std::ops::ControlFlow<()>, InputError> {
        let options = self.options;
        let rows = batch.num_rows() as u64;
        let batch = map_batch(batch, &options.mapping)?;
        let batch = with_partitions(batch, self.partitions, options)?;
        let batch = crate::vector_bytes::decode(batch, &options.vector_bytes, self.first_row)?;
        let flow = visit(Chunk::Batch {
            batch,
            first_row: self.first_row,
        });
        self.first_row += rows;
        self.read += rows;
        options.set_consumed(self.size * self.read.min(self.total) / self.total);
        Ok(flow)
    }
}

/// The row groups a read takes: all of them, or for a shard's part of the file those that
/// start in its byte range ([`crate::shard()`]).
struct RowGroups {
    groups: Vec<usize>,
    /// Rows in those groups.
    rows: u64,
    /// Their size decoded, as the file's metadata gives it.
    bytes: u64,
    /// Rows of the file before the first of them.
    first_row: u64,
}

/// About how much decoded data a batch holds, when rows are wide. The parquet crate grows a
/// batch's value buffers page by page, copying them as they grow, and a few batches are in
/// flight at once: at 4,096 rows a batch of 768-dim vectors was 12 MB, and batches of 2 MB
/// made Parquet to NUMPY and PARQUET 10% faster and 40 to 90 MB smaller.
const BATCH_BYTES: u64 = 2 << 20;

impl RowGroups {
    fn of(metadata: &ParquetMetaData, range: &Option<std::ops::Range<u64>>) -> RowGroups {
        let mut part = RowGroups {
            groups: Vec::new(),
            rows: 0,
            bytes: 0,
            first_row: 0,
        };
        for (i, group) in metadata.row_groups().iter().enumerate() {
            let rows = group.num_rows().max(0) as u64;
            let start = group
                .columns()
                .iter()
                .map(|c| c.byte_range().0)
                .min()
                .unwrap_or(0);
            if crate::shard::owns(range, start) {
                part.groups.push(i);
                part.rows += rows;
                part.bytes += group.total_byte_size().max(0) as u64;
            } else if part.groups.is_empty() {
                part.first_row += rows;
            }
        }
        part
    }

    /// Rows a batch of these groups takes: `most`, or fewer when that many would hold more
    /// than about [`BATCH_BYTES`].
    fn batch_rows(&self, most: usize) -> usize {
        let per_row = (self.bytes / self.rows.max(1)).max(1);
        let fitting = usize::try_from(BATCH_BYTES / per_row).unwrap_or(usize::MAX);
        most.min(fitting.max(64)).max(1)
    }
}

/// Adds a file's Hive partition columns (named after the mapping) that the file does not
/// hold itself: typed by the schema's field of that name, text without a schema; columns no
/// field takes are left out. Hive's `__HIVE_DEFAULT_PARTITION__` is null.
fn with_partitions(
    batch: RecordBatch,
    partitions: &[(String, String)],
    options: &ReadOptions<'_>,
) -> Result<RecordBatch, InputError> {
    if partitions.is_empty() {
        return Ok(batch);
    }
    let rows = batch.num_rows();
    let mut fields: Vec<Field> = batch
        .schema()
        .fields()
        .iter()
        .map(|f| f.as_ref().clone())
        .collect();
    let mut columns = batch.columns().to_vec();
    for (name, value) in partitions {
        let name = options.mapped(name);
        if fields.iter().any(|f| f.name() == name) {
            continue;
        }
        let field = match options.schema {
            Some(schema) => match schema.field(name) {
                Some(field) => Some(field),
                None => continue,
            },
            None => None,
        };
        let value = (value != "__HIVE_DEFAULT_PARTITION__").then_some(value.as_str());
        let column = partition_column(name, value, field.map(|f| f.data_type), rows)?;
        fields.push(Field::new(name, column.data_type().clone(), true));
        columns.push(column);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
        .map_err(|e| InputError::read(format!("adding the partition columns: {e}")))
}

/// One partition value repeated `rows` times, as the Arrow type that fills `ty`.
fn partition_column(
    name: &str,
    value: Option<&str>,
    ty: Option<bulkwriter_schema::DataType>,
    rows: usize,
) -> Result<ArrayRef, InputError> {
    use bulkwriter_schema::DataType as Milvus;
    let bad = |what: &str| {
        InputError::read(format!(
            "partition folder {name}={}: {what}",
            value.unwrap_or("__HIVE_DEFAULT_PARTITION__")
        ))
    };
    Ok(match ty {
        Some(Milvus::Int8 | Milvus::Int16 | Milvus::Int32 | Milvus::Int64) => {
            let v = value
                .map(|v| v.parse::<i64>().map_err(|_| bad("not an integer")))
                .transpose()?;
            Arc::new(Int64Array::from(vec![v; rows]))
        }
        Some(Milvus::Float | Milvus::Double) => {
            let v = value
                .map(|v| v.parse::<f64>().map_err(|_| bad("not a number")))
                .transpose()?;
            Arc::new(Float64Array::from(vec![v; rows]))
        }
        Some(Milvus::Bool) => {
            let v = value
                .map(|v| crate::parse_bool(v).ok_or_else(|| bad("not a boolean")))
                .transpose()?;
            Arc::new(BooleanArray::from(vec![v; rows]))
        }
        None | Some(Milvus::VarChar | Milvus::Text | Milvus::Timestamptz | Milvus::Geometry) => {
            Arc::new(StringArray::from(vec![value; rows]))
        }
        Some(other) => {
            return Err(bad(&format!(
                "a partition folder cannot fill a {other} field"
            )));
        }
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
