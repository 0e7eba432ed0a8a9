//! Embedding dumps for one vector field: ANN-benchmark `.fvecs` / `.bvecs` / `.ivecs` (each
//! vector is a little-endian int32 dimension, then its values) and a plain 2-D `.npy` matrix.
//! The vectors go to `--vector-field`; the primary key, unless it is auto-id, is generated
//! from `--id-start`.

use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, FixedSizeBinaryArray, FixedSizeListArray, Float32Array, Int32Array, Int64Array,
    RecordBatch, StringArray,
};
use arrow_schema::{DataType as ArrowType, Field};
use bulkwriter_schema::{CollectionSchema, DataType};

use crate::error::{Context, bail};
use crate::npy::NpyFile;
use crate::{Chunk, InputError, InputFormat, ReadOptions, Visit};

type Result<T, E = InputError> = std::result::Result<T, E>;

/// The primary key column of generated ids, if the schema needs one.
fn id_column(schema: &CollectionSchema, first: i64, count: usize) -> Option<(String, ArrayRef)> {
    let pk = schema.fields.iter().find(|f| f.is_primary && !f.auto_id)?;
    let ids = (0..count as i64).map(|i| first + i);
    let array: ArrayRef = match pk.data_type {
        DataType::VarChar => Arc::new(StringArray::from(
            ids.map(|i| i.to_string()).collect::<Vec<_>>(),
        )),
        _ => Arc::new(Int64Array::from(ids.collect::<Vec<_>>())),
    };
    Some((pk.name.clone(), array))
}

fn float_list(values: Vec<f32>, width: usize) -> Result<ArrayRef> {
    let item = Arc::new(Field::new("item", ArrowType::Float32, false));
    Ok(Arc::new(FixedSizeListArray::try_new(
        item,
        width as i32,
        Arc::new(Float32Array::from(values)),
        None,
    )?))
}

fn int_list(values: Vec<i32>, width: usize) -> Result<ArrayRef> {
    let item = Arc::new(Field::new("item", ArrowType::Int32, false));
    Ok(Arc::new(FixedSizeListArray::try_new(
        item,
        width as i32,
        Arc::new(Int32Array::from(values)),
        None,
    )?))
}

pub(crate) fn read(
    path: &Path,
    format: InputFormat,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<()> {
    let field_name = options
        .vector_field
        .as_deref()
        .ok_or(InputError::NoVectorField)?;
    let refuse = |reason: String| InputError::VectorField {
        file: String::new(),
        field: field_name.to_string(),
        reason,
    };
    let schema = options
        .schema
        .ok_or_else(|| refuse("reading vector files needs the collection schema".into()))?;
    let field = schema
        .field(field_name)
        .ok_or_else(|| refuse("the schema has no such field".into()))?;
    let target = field.data_type;
    if !matches!(
        target,
        DataType::FloatVector
            | DataType::Float16Vector
            | DataType::BFloat16Vector
            | DataType::BinaryVector
            | DataType::Int8Vector
    ) {
        return Err(refuse(format!(
            "it is a {target} field, not a dense vector"
        )));
    }
    let mut source = VectorSource::open(path, format)?;
    let size = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    let total = source.rows().max(1) as u64;
    let mut first_row = 0u64;
    loop {
        let (count, vectors) = source.read(options.batch_rows, target)?;
        if count == 0 {
            break;
        }
        let mut columns = vec![(field_name.to_string(), vectors)];
        if let Some(ids) = id_column(schema, options.id_start + first_row as i64, count) {
            columns.push(ids);
        }
        let batch = RecordBatch::try_from_iter(columns)?;
        if visit(Chunk::Batch { batch, first_row }).is_break() {
            return Ok(());
        }
        first_row += count as u64;
        options.set_consumed(size * first_row.min(total) / total);
    }
    Ok(())
}

enum VectorSource {
    Npy(NpyFile),
    Vecs {
        reader: BufReader<File>,
        format: InputFormat,
        dim: usize,
        rows: usize,
        read: usize,
    },
}

impl VectorSource {
    fn open(path: &Path, format: InputFormat) -> Result<VectorSource> {
        if format == InputFormat::NpyMatrix {
            let npy = NpyFile::open(path)?;
            if !npy.matrix {
                bail!("a vector file must be a 2-D array (rows × dim)");
            }
            return Ok(VectorSource::Npy(npy));
        }
        let name = path.display().to_string();
        let file = File::open(path).with_context(|| format!("cannot open {name}"))?;
        let size = file
            .metadata()
            .with_context(|| format!("cannot open {name}"))?
            .len();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let mut dim = [0u8; 4];
        // The file opens with the first vector's dimension; every vector repeats it.
        if size == 0 {
            return Ok(VectorSource::Vecs {
                reader,
                format,
                dim: 0,
                rows: 0,
                read: 0,
            });
        }
        reader
            .read_exact(&mut dim)
            .context("the file is too short")?;
        reader.seek(SeekFrom::Start(0))?;
        let dim = i32::from_le_bytes(dim);
        if dim <= 0 || dim > 1 << 20 {
            bail!("the first vector's dimension is {dim}");
        }
        let dim = dim as usize;
        let element = if format == InputFormat::Bvecs { 1 } else { 4 };
        let record = 4 + dim as u64 * element;
        if size % record != 0 {
            bail!(
                "{size} bytes is not a whole number of {dim}-dimension vectors ({record} bytes each): the file is truncated or mixes dimensions"
            );
        }
        Ok(VectorSource::Vecs {
            reader,
            format,
            dim,
            rows: (size / record) as usize,
            read: 0,
        })
    }

    fn rows(&self) -> usize {
        match self {
            VectorSource::Npy(npy) => npy.rows,
            VectorSource::Vecs { rows, .. } => *rows,
        }
    }

    /// Reads up to `max` vectors as the Arrow layout the target field's fast path takes.
    fn read(&mut self, max: usize, target: DataType) -> Result<(usize, ArrayRef)> {
        match self {
            VectorSource::Npy(npy) => {
                let count = max.min(npy.remaining());
                if count == 0 {
                    return Ok((0, Arc::new(Int32Array::from(Vec::<i32>::new()))));
                }
                Ok((count, npy.read_array(count)?))
            }
            VectorSource::Vecs {
                reader,
                format,
                dim,
                rows,
                read,
            } => {
                let count = max.min(*rows - *read);
                let element = if *format == InputFormat::Bvecs { 1 } else { 4 };
                let mut bytes = vec![0u8; *dim * element];
                let mut floats = Vec::new();
                let mut ints = Vec::new();
                let mut raw = Vec::new();
                for i in 0..count {
                    let mut header = [0u8; 4];
                    reader.read_exact(&mut header)?;
                    let d = i32::from_le_bytes(header);
                    if d as usize != *dim {
                        bail!(
                            "vector {} has dimension {d}, the first has {dim}",
                            *read + i + 1
                        );
                    }
                    reader.read_exact(&mut bytes)?;
                    match (*format, target) {
                        (InputFormat::Bvecs, DataType::BinaryVector) => {
                            raw.extend_from_slice(&bytes)
                        }
                        (InputFormat::Bvecs, DataType::Int8Vector) => {
                            ints.extend(bytes.iter().map(|b| *b as i32))
                        }
                        (InputFormat::Bvecs, _) => floats.extend(bytes.iter().map(|b| *b as f32)),
                        (InputFormat::Ivecs, DataType::Int8Vector) => ints.extend(
                            bytes
                                .chunks_exact(4)
                                .map(|c| i32::from_le_bytes(c.try_into().unwrap_or_default())),
                        ),
                        (InputFormat::Ivecs, DataType::BinaryVector)
                        | (InputFormat::Fvecs, DataType::BinaryVector | DataType::Int8Vector) => {
                            bail!("{format:?} vectors cannot fill a {target} field")
                        }
                        (InputFormat::Ivecs, _) => {
                            floats.extend(bytes.chunks_exact(4).map(|c| {
                                i32::from_le_bytes(c.try_into().unwrap_or_default()) as f32
                            }))
                        }
                        _ => floats.extend(
                            bytes
                                .chunks_exact(4)
                                .map(|c| f32::from_le_bytes(c.try_into().unwrap_or_default())),
                        ),
                    }
                }
                *read += count;
                let array = if !raw.is_empty() || (target == DataType::BinaryVector && count == 0) {
                    Arc::new(FixedSizeBinaryArray::try_new(
                        *dim as i32,
                        raw.into(),
                        None,
                    )?) as ArrayRef
                } else if !ints.is_empty() {
                    int_list(ints, *dim)?
                } else {
                    float_list(floats, *dim)?
                };
                Ok((count, array))
            }
        }
    }
}
