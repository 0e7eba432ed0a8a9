//! Which inputs a list of specs names: paths, globs (matches sorted) and `-` for standard
//! input, each with its format and size.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::remote::RemoteObject;
use crate::{Compression, InputError, InputFormat};

/// One input: a file, a NumPy folder, or standard input.
#[derive(Debug, Clone)]
pub struct InputFile {
    /// `None` for standard input.
    pub path: Option<PathBuf>,
    /// How errors name it.
    pub name: String,
    /// How it is read.
    pub format: InputFormat,
    /// Its size in bytes, when known (for progress).
    pub size: Option<u64>,
    /// CSV separator for this file (`.tsv` files default to a tab).
    pub tsv: bool,
    /// Hive partition columns from the folders above a file of a Parquet folder
    /// (`date=2024-01-01/part-0.parquet` → `("date", "2024-01-01")`), values decoded.
    pub partitions: Vec<(String, String)>,
    /// The object, for an input in an object store (`path` is then `None`).
    pub remote: Option<Arc<RemoteObject>>,
    /// The bytes of the file whose rows are read, for a shard's part of a file
    /// ([`crate::shard()`]): the lines, CSV records or Parquet row groups that start there.
    /// `None`: the whole file.
    pub range: Option<std::ops::Range<u64>>,
}

/// Expands input specs (paths, globs, `-`) into files, in the order given (glob matches
/// sorted), each with its format: `forced` if given, else from the extension.
pub fn expand(specs: &[String], forced: Option<InputFormat>) -> Result<Vec<InputFile>, InputError> {
    expand_with(specs, forced, &[])
}

/// [`expand`], with object store URLs (`s3://bucket/key`, globs of keys, a folder of Parquet
/// files) opened with `storage_options` (see [`crate::remote`]).
pub fn expand_with(
    specs: &[String],
    forced: Option<InputFormat>,
    storage_options: &[(String, String)],
) -> Result<Vec<InputFile>, InputError> {
    let mut files = Vec::new();
    for spec in specs {
        if crate::remote::is_remote(spec) {
            files.extend(crate::remote::expand(spec, forced, storage_options)?);
            continue;
        }
        if spec == "-" {
            let format = forced
                .filter(|f| f.is_rows() || *f == InputFormat::Parquet)
                .ok_or(InputError::StdinFormat { given: forced })?;
            files.push(InputFile {
                path: None,
                name: "<stdin>".into(),
                format,
                size: None,
                tsv: false,
                partitions: Vec::new(),
                remote: None,
                range: None,
            });
            continue;
        }
        let paths: Vec<PathBuf> = if spec.contains(['*', '?', '[']) {
            let bad = |reason: String| InputError::BadPattern {
                pattern: spec.clone(),
                reason,
            };
            let mut matched = glob::glob(spec)
                .map_err(|e| bad(e.to_string()))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(e.to_string()))?;
            matched.sort();
            if matched.is_empty() {
                return Err(InputError::NoMatch {
                    pattern: spec.clone(),
                });
            }
            matched
        } else {
            vec![PathBuf::from(spec)]
        };
        for path in paths {
            let metadata = std::fs::metadata(&path).map_err(|source| InputError::Open {
                path: path.display().to_string(),
                source,
            })?;
            if metadata.is_dir() && is_parquet_folder(&path, forced)? {
                files.extend(parquet_folder(&path)?);
                continue;
            }
            let (format_path, compressed) = without_compression(&path);
            let format = match forced {
                Some(f) => f,
                None => InputFormat::from_extension(&format_path).ok_or_else(|| {
                    InputError::UnknownFormat {
                        path: path.display().to_string(),
                    }
                })?,
            };
            if compressed && !format.is_rows() {
                return Err(InputError::CompressedColumnar {
                    path: path.display().to_string(),
                    format,
                });
            }
            let tsv = is_tsv(&path);
            files.push(InputFile {
                name: path.display().to_string(),
                size: Some(if metadata.is_dir() {
                    dir_size(&path)
                } else {
                    metadata.len()
                }),
                path: Some(path),
                format,
                tsv,
                partitions: Vec::new(),
                remote: None,
                range: None,
            });
        }
    }
    if files.is_empty() {
        return Err(InputError::NoInput);
    }
    Ok(files)
}

/// Drops inputs that name a file already listed (`a.jsonl` and `'a*.jsonl'`, or `./a` and
/// `a`), keeping the first; returns the rest and the names dropped. Files that cannot be
/// resolved (standard input) are kept.
pub fn dedupe(files: Vec<InputFile>) -> (Vec<InputFile>, Vec<String>) {
    let mut seen = std::collections::HashSet::new();
    let mut dropped = Vec::new();
    let kept = files
        .into_iter()
        .filter(|file| {
            let Some(canonical) = file
                .path
                .as_ref()
                .and_then(|p| std::fs::canonicalize(p).ok())
            else {
                return true;
            };
            if seen.insert(canonical) {
                true
            } else {
                dropped.push(file.name.clone());
                false
            }
        })
        .collect();
    (kept, dropped)
}

fn dir_size(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0)
}

/// Whether a folder is read as a Parquet dataset (Spark's or pyarrow's output, maybe Hive
/// partitioned): asked for, or it holds Parquet files and no `.npy` file of its own.
fn is_parquet_folder(dir: &Path, forced: Option<InputFormat>) -> Result<bool, InputError> {
    match forced {
        Some(InputFormat::Parquet) => return Ok(true),
        Some(_) => return Ok(false),
        None => {}
    }
    let has_npy = std::fs::read_dir(dir)
        .map_err(|source| InputError::Open {
            path: dir.display().to_string(),
            source,
        })?
        .filter_map(Result::ok)
        .any(|e| {
            e.path()
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("npy"))
        });
    Ok(!has_npy && !parquet_files(dir)?.is_empty())
}

/// The Parquet files under a folder, walking sub-folders, sorted by path. Files and folders
/// whose names start with `_` or `.` (`_SUCCESS`, `_metadata`, `.part-0.crc`, staging
/// folders) are not data.
fn parquet_files(dir: &Path) -> Result<Vec<PathBuf>, InputError> {
    let mut found = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(folder) = pending.pop() {
        let entries = std::fs::read_dir(&folder).map_err(|source| InputError::Open {
            path: folder.display().to_string(),
            source,
        })?;
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let name = entry.file_name();
            let name = name.to_string_lossy();
            if name.starts_with(['_', '.']) {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if InputFormat::from_extension(&path) == Some(InputFormat::Parquet) {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok(found)
}

/// Every Parquet file of a folder as an input, with its Hive partition columns.
fn parquet_folder(dir: &Path) -> Result<Vec<InputFile>, InputError> {
    let files = parquet_files(dir)?;
    if files.is_empty() {
        return Err(InputError::read(format!(
            "{}: the folder holds no .parquet file",
            dir.display()
        )));
    }
    files
        .into_iter()
        .map(|path| {
            let size = std::fs::metadata(&path)
                .map_err(|source| InputError::Open {
                    path: path.display().to_string(),
                    source,
                })?
                .len();
            let partitions = path
                .strip_prefix(dir)
                .ok()
                .and_then(Path::parent)
                .map(partition_columns)
                .unwrap_or_default();
            Ok(InputFile {
                name: path.display().to_string(),
                size: Some(size),
                path: Some(path),
                format: InputFormat::Parquet,
                tsv: false,
                partitions,
                remote: None,
                range: None,
            })
        })
        .collect()
}

/// `a=1/b=x%2Fy` → `[("a", "1"), ("b", "x/y")]`: Hive's `name=value` folder names, with
/// their `%XX` escapes decoded; other folder names are skipped.
pub(crate) fn partition_columns(relative: &Path) -> Vec<(String, String)> {
    relative
        .components()
        .filter_map(|c| c.as_os_str().to_str())
        .filter_map(|part| part.split_once('='))
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, value)| (unescape(name), unescape(value)))
        .collect()
}

/// Decodes Hive's `%XX` escapes (a `%` not followed by two hex digits stays as it is).
fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The format a file name's extension names, past a compression's (`rows.jsonl.gz`).
pub(crate) fn format_of_name(name: &str) -> Option<InputFormat> {
    let (path, _) = without_compression(Path::new(name));
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "npy" | "fvecs" | "bvecs" | "ivecs" => None,
        _ => InputFormat::from_extension(&path),
    }
}

/// Whether a file is TSV by its name (`rows.tsv`, `rows.tsv.zst`).
pub(crate) fn is_tsv(path: &Path) -> bool {
    without_compression(path)
        .0
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("tsv"))
}

/// `rows.jsonl.gz` → (`rows.jsonl`, true): the path without a compression's extension, the
/// format's extension then last; and whether there was one.
pub(crate) fn without_compression(path: &Path) -> (PathBuf, bool) {
    let compressed = path
        .extension()
        .and_then(|e| e.to_str())
        .and_then(Compression::from_extension)
        .is_some();
    if compressed {
        (path.with_extension(""), true)
    } else {
        (path.to_path_buf(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hive_folder_names_become_partition_columns() {
        let columns = partition_columns(Path::new("date=2024-01-01/city=S%C3%A3o%20Paulo/x"));
        assert_eq!(
            columns,
            [
                ("date".to_string(), "2024-01-01".to_string()),
                ("city".to_string(), "São Paulo".to_string())
            ]
        );
        assert_eq!(unescape("100%"), "100%");
    }
}
