//! A NumPy folder: one `<field>.npy` per column, all with the same number of rows — the layout
//! of a NumPy output segment — read in row blocks as Arrow batches.

use std::path::Path;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::{Field, Schema};

use crate::error::{Context, bail};
use crate::npy::NpyFile;
use crate::{Chunk, InputError, ReadOptions, Visit};

pub(crate) fn read(
    dir: &Path,
    options: &ReadOptions<'_>,
    visit: &mut Visit<'_>,
) -> Result<(), InputError> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "npy"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        bail!("{} holds no .npy file", dir.display());
    }
    let mut files = Vec::with_capacity(paths.len());
    for path in &paths {
        let npy = NpyFile::open(path)?;
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        files.push((options.mapped(&stem).to_string(), npy));
    }
    let rows = files[0].1.rows;
    if let Some((name, npy)) = files.iter().find(|(_, f)| f.rows != rows) {
        bail!(
            "{}: {name}.npy has {} rows, {}.npy has {rows}: every file of a folder must have the same number of rows",
            dir.display(),
            npy.rows,
            files[0].0
        );
    }
    let schema = Arc::new(Schema::new(
        files
            .iter()
            .map(|(name, npy)| Field::new(name, npy.arrow_type(), true))
            .collect::<Vec<_>>(),
    ));
    let total_bytes: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut first_row = 0u64;
    while first_row < rows as u64 {
        let columns = files
            .iter_mut()
            .map(|(name, npy)| {
                npy.read_array(options.batch_rows)
                    .with_context(|| format!("{}: {name}.npy", dir.display()))
            })
            .collect::<Result<Vec<_>, InputError>>()?;
        let batch = RecordBatch::try_new(Arc::clone(&schema), columns)?;
        let count = batch.num_rows() as u64;
        if count == 0 {
            break;
        }
        if visit(Chunk::Batch { batch, first_row }).is_break() {
            return Ok(());
        }
        first_row += count;
        options.set_consumed(total_bytes * first_row / (rows as u64).max(1));
    }
    Ok(())
}
