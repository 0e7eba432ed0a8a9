//! Which inputs a list of specs names: paths, globs (matches sorted) and `-` for standard
//! input, each with its format and size.

use std::path::{Path, PathBuf};

use crate::{InputError, InputFormat};

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
}

/// Expands input specs (paths, globs, `-`) into files, in the order given (glob matches
/// sorted), each with its format: `forced` if given, else from the extension.
pub fn expand(specs: &[String], forced: Option<InputFormat>) -> Result<Vec<InputFile>, InputError> {
    let mut files = Vec::new();
    for spec in specs {
        if spec == "-" {
            let format = forced
                .filter(|f| f.is_rows())
                .ok_or(InputError::StdinFormat { given: forced })?;
            files.push(InputFile {
                path: None,
                name: "<stdin>".into(),
                format,
                size: None,
                tsv: false,
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
            let format = match forced {
                Some(f) => f,
                None => {
                    InputFormat::from_extension(&path).ok_or_else(|| InputError::UnknownFormat {
                        path: path.display().to_string(),
                    })?
                }
            };
            let tsv = path
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
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
