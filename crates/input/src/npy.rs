//! A streaming `.npy` reader for the dtypes Milvus import files use, read in row blocks and
//! turned into Arrow arrays. The header is checked against the file before anything is
//! allocated, so a header that claims a huge shape is an error, not an allocation.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use crate::InputError;
use crate::error::{Context, bail, fail};

type Result<T, E = InputError> = std::result::Result<T, E>;
use arrow_array::{
    ArrayRef, BooleanArray, FixedSizeBinaryArray, FixedSizeListArray, Float32Array, Float64Array,
    Int8Array, Int16Array, Int32Array, Int64Array, StringArray, UInt8Array,
};
use arrow_schema::{DataType, Field};

/// Longest header we accept (numpy writes a few hundred bytes).
const MAX_HEADER: usize = 1 << 16;

/// The element types we read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Descr {
    /// `|b1`
    Bool,
    /// `|i1`
    I8,
    /// `<i2`
    I16,
    /// `<i4`
    I32,
    /// `<i8`
    I64,
    /// `|u1`
    U8,
    /// `<f4`
    F32,
    /// `<f8`
    F64,
    /// `<U{n}`: n UTF-32 code points per element.
    Unicode(usize),
}

/// The widest `<U` string dtype read: a Milvus VARCHAR holds at most 65,535 bytes, so at most
/// that many characters. The bound also keeps the element size (4 bytes a character) from
/// overflowing.
const MAX_UNICODE_WIDTH: usize = 65_535;

impl Descr {
    fn parse(text: &str) -> Result<Descr> {
        // The byte-order mark is one ASCII character; a header may hold any text.
        let (order, code) = text.split_at(text.chars().next().map_or(0, char::len_utf8));
        if order == ">" && !matches!(code, "i1" | "u1" | "b1") {
            bail!("big-endian dtype '{text}': save the array as little-endian ('<')");
        }
        Ok(match code {
            "b1" => Descr::Bool,
            "i1" => Descr::I8,
            "i2" => Descr::I16,
            "i4" => Descr::I32,
            "i8" => Descr::I64,
            "u1" => Descr::U8,
            "f4" => Descr::F32,
            "f8" => Descr::F64,
            other if other.starts_with('U') => {
                let width: usize = other[1..]
                    .parse()
                    .map_err(|_| fail!("bad string dtype '{text}'"))?;
                if width > MAX_UNICODE_WIDTH {
                    bail!(
                        "string dtype '{text}' is wider than {MAX_UNICODE_WIDTH} characters: no Milvus VARCHAR holds that much"
                    );
                }
                Descr::Unicode(width)
            }
            other if other.starts_with('S') => {
                bail!(
                    "byte-string dtype '{text}': save strings as unicode ('<U'), as Milvus reads them"
                )
            }
            _ => bail!("dtype '{text}' is not supported (bool, int8-64, uint8, float32/64 or <U)"),
        })
    }

    fn size(self) -> usize {
        match self {
            Descr::Bool | Descr::I8 | Descr::U8 => 1,
            Descr::I16 => 2,
            Descr::I32 | Descr::F32 => 4,
            Descr::I64 | Descr::F64 => 8,
            Descr::Unicode(n) => 4 * n,
        }
    }
}

/// An open `.npy` file positioned at its next unread row.
pub struct NpyFile {
    reader: BufReader<File>,
    /// The element type.
    pub descr: Descr,
    /// Rows (the first dimension).
    pub rows: usize,
    /// Elements per row (1 for a 1-D array).
    pub width: usize,
    /// Whether the array is 2-D.
    pub matrix: bool,
    read: usize,
}

/// The value of `'key': ...` in the header dict, up to the next top-level comma.
fn header_value<'h>(header: &'h str, key: &str) -> Result<&'h str> {
    let start = header
        .find(&format!("'{key}'"))
        .ok_or_else(|| fail!("the header has no '{key}'"))?;
    let rest = header[start + key.len() + 2..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| fail!("bad header near '{key}'"))?
        .trim_start();
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    }
    .ok_or_else(|| fail!("bad header near '{key}'"))?;
    Ok(rest[..end].trim())
}

impl NpyFile {
    /// Opens a file and checks its header against its size.
    pub fn open(path: &Path) -> Result<NpyFile> {
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let size = file
            .metadata()
            .with_context(|| format!("cannot open {}", path.display()))?
            .len();
        let mut reader = BufReader::with_capacity(1 << 20, file);
        let context = || format!("{} is not a valid .npy file", path.display());
        let mut magic = [0u8; 8];
        reader.read_exact(&mut magic).with_context(context)?;
        if &magic[..6] != b"\x93NUMPY" {
            bail!("{}: no NPY magic", context());
        }
        let header_len = match magic[6] {
            1 => {
                let mut len = [0u8; 2];
                reader.read_exact(&mut len).with_context(context)?;
                u16::from_le_bytes(len) as usize
            }
            2 | 3 => {
                let mut len = [0u8; 4];
                reader.read_exact(&mut len).with_context(context)?;
                u32::from_le_bytes(len) as usize
            }
            v => bail!("{}: NPY version {v} is not supported", context()),
        };
        if header_len > MAX_HEADER {
            bail!("{}: a {header_len}-byte header", context());
        }
        let mut header = vec![0u8; header_len];
        reader.read_exact(&mut header).with_context(context)?;
        let header = String::from_utf8(header).map_err(|_| fail!("{}: header", context()))?;
        let parse = || -> Result<(Descr, Vec<usize>)> {
            let descr = Descr::parse(header_value(&header, "descr")?.trim_matches(['\'', '"']))?;
            if header_value(&header, "fortran_order")? != "False" {
                bail!("Fortran-order arrays are not supported (Milvus reads C order)");
            }
            let shape = header_value(&header, "shape")?
                .trim_matches(['(', ')'])
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<usize>().map_err(|_| fail!("bad shape")))
                .collect::<Result<Vec<usize>>>()?;
            Ok((descr, shape))
        };
        let (descr, shape) = parse().with_context(context)?;
        let (rows, width, matrix) = match shape.as_slice() {
            [rows] => (*rows, 1, false),
            [rows, width] => (*rows, *width, true),
            other => bail!(
                "{}: shape {other:?}: only 1-D and 2-D arrays are read",
                context()
            ),
        };
        if width == 0 || descr.size() == 0 {
            // Rows of zero bytes: nothing to import, and a huge row count would cost nothing
            // to claim.
            bail!(
                "{}: shape {shape:?} with dtype {descr:?} holds no data per row",
                context()
            );
        }
        let data_offset = (magic.len() + if magic[6] == 1 { 2 } else { 4 } + header_len) as u64;
        let needed = rows
            .checked_mul(width)
            .and_then(|n| n.checked_mul(descr.size()))
            .and_then(|n| (n as u64).checked_add(data_offset));
        match needed {
            Some(n) if n <= size => {}
            _ => bail!(
                "{}: the header's shape {shape:?} needs more data than the file's {size} bytes",
                context()
            ),
        }
        Ok(NpyFile {
            reader,
            descr,
            rows,
            width,
            matrix,
            read: 0,
        })
    }

    /// Rows not read yet.
    pub fn remaining(&self) -> usize {
        self.rows - self.read
    }

    /// Reads the next `count` rows (or fewer at the end) as raw bytes.
    pub fn read_raw(&mut self, count: usize) -> Result<(usize, Vec<u8>)> {
        let count = count.min(self.remaining());
        let mut data = vec![0u8; count * self.width * self.descr.size()];
        self.reader.read_exact(&mut data)?;
        self.read += count;
        Ok((count, data))
    }

    /// Reads the next `count` rows as an Arrow array: a primitive or string array for a 1-D
    /// file, a fixed-size list (or fixed-size binary for uint8) for a 2-D one.
    pub fn read_array(&mut self, count: usize) -> Result<ArrayRef> {
        let (count, data) = self.read_raw(count)?;
        let width = self.width;
        macro_rules! values {
            ($t:ty, $n:expr) => {
                data.chunks_exact($n)
                    .map(|c| <$t>::from_le_bytes(c.try_into().unwrap_or_default()))
                    .collect::<Vec<$t>>()
            };
        }
        let flat: ArrayRef = match self.descr {
            Descr::Bool => Arc::new(BooleanArray::from(
                data.iter().map(|b| *b != 0).collect::<Vec<bool>>(),
            )),
            Descr::I8 => Arc::new(Int8Array::from(values!(i8, 1))),
            Descr::I16 => Arc::new(Int16Array::from(values!(i16, 2))),
            Descr::I32 => Arc::new(Int32Array::from(values!(i32, 4))),
            Descr::I64 => Arc::new(Int64Array::from(values!(i64, 8))),
            Descr::U8 if self.matrix => {
                return Ok(Arc::new(FixedSizeBinaryArray::try_new(
                    width as i32,
                    data.into(),
                    None,
                )?));
            }
            Descr::U8 => Arc::new(UInt8Array::from(data)),
            Descr::F32 => Arc::new(Float32Array::from(values!(f32, 4))),
            Descr::F64 => Arc::new(Float64Array::from(values!(f64, 8))),
            Descr::Unicode(n) => {
                if self.matrix {
                    bail!("2-D string arrays are not supported");
                }
                let mut strings = Vec::with_capacity(count);
                for element in data.chunks_exact(4 * n.max(1)) {
                    let mut s = String::new();
                    for unit in element.chunks_exact(4) {
                        let code = u32::from_le_bytes(unit.try_into().unwrap_or_default());
                        if code == 0 {
                            break;
                        }
                        s.push(
                            char::from_u32(code)
                                .ok_or_else(|| fail!("invalid character U+{code:X}"))?,
                        );
                    }
                    strings.push(s);
                }
                if n == 0 {
                    strings = vec![String::new(); count];
                }
                Arc::new(StringArray::from(strings))
            }
        };
        if !self.matrix {
            return Ok(flat);
        }
        let item = Arc::new(Field::new("item", flat.data_type().clone(), false));
        Ok(Arc::new(FixedSizeListArray::try_new(
            item,
            width as i32,
            flat,
            None,
        )?))
    }

    /// The Arrow type [`Self::read_array`] returns.
    pub fn arrow_type(&self) -> DataType {
        let element = match self.descr {
            Descr::Bool => DataType::Boolean,
            Descr::I8 => DataType::Int8,
            Descr::I16 => DataType::Int16,
            Descr::I32 => DataType::Int32,
            Descr::I64 => DataType::Int64,
            Descr::U8 if self.matrix => return DataType::FixedSizeBinary(self.width as i32),
            Descr::U8 => DataType::UInt8,
            Descr::F32 => DataType::Float32,
            Descr::F64 => DataType::Float64,
            Descr::Unicode(_) => DataType::Utf8,
        };
        if self.matrix {
            DataType::FixedSizeList(
                Arc::new(Field::new("item", element, false)),
                self.width as i32,
            )
        } else {
            element
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_npy(dir: &Path, name: &str, header: &str, data: &[u8]) -> std::path::PathBuf {
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(data);
        let path = dir.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    #[test]
    fn a_header_claiming_more_data_than_the_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let huge = write_npy(
            dir.path(),
            "huge.npy",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 768), }",
            &[0; 16],
        );
        let err = NpyFile::open(&huge).err().unwrap().to_string();
        assert!(err.contains("needs more data"), "{err}");
        let overflow = write_npy(
            dir.path(),
            "overflow.npy",
            "{'descr': '<f8', 'fortran_order': False, 'shape': (18446744073709551615, 18446744073709551615), }",
            &[],
        );
        assert!(NpyFile::open(&overflow).is_err());
        let fortran = write_npy(
            dir.path(),
            "f.npy",
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1, 1), }",
            &[0; 4],
        );
        assert!(NpyFile::open(&fortran).is_err());
    }

    /// Found by the `numpy_dir` fuzz target: a dtype starting with a multi-byte character
    /// was split inside it, a panic.
    #[test]
    fn a_dtype_starting_with_a_multibyte_character_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_npy(
            dir.path(),
            "u.npy",
            "{'descr': '\u{120}8', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        let err = NpyFile::open(&path).err().unwrap().to_string();
        assert!(
            err.ends_with("is not a valid .npy file: dtype '\u{120}8' is not supported (bool, int8-64, uint8, float32/64 or <U)"),
            "{err}"
        );
    }

    /// Found by the `numpy_dir` fuzz target: the element size of a `<U` dtype overflowed.
    #[test]
    fn a_string_dtype_wider_than_any_varchar_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_npy(
            dir.path(),
            "u.npy",
            "{'descr': '<U4611686018427387904', 'fortran_order': False, 'shape': (1,), }",
            &[0; 8],
        );
        let err = NpyFile::open(&path).err().unwrap().to_string();
        assert!(
            err.ends_with("is not a valid .npy file: string dtype '<U4611686018427387904' is wider than 65535 characters: no Milvus VARCHAR holds that much"),
            "{err}"
        );
    }

    #[test]
    fn rows_are_read_in_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let path = write_npy(
            dir.path(),
            "m.npy",
            "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 2), }",
            &data,
        );
        let mut npy = NpyFile::open(&path).unwrap();
        assert_eq!((npy.rows, npy.width), (3, 2));
        let first = npy.read_array(2).unwrap();
        assert_eq!(first.len(), 2);
        let rest = npy.read_array(2).unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!(npy.remaining(), 0);
    }
}
