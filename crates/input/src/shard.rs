//! Shards: the inputs split deterministically into N disjoint parts that together hold every
//! row once, so N workers (Kubernetes Indexed Jobs, Slurm arrays, Spark tasks) can each
//! convert one part.
//!
//! The inputs, in the order given, are laid end to end as one byte range of their sizes
//! together, cut into N equal ranges; shard `i` takes the rows that *start* in range `i`:
//! - JSONL and CSV/TSV files: the lines (CSV: records) that start in the shard's bytes of
//!   the file. A reader still scans the part before its range, without parsing it, to find
//!   where lines start and to number them for error messages;
//! - Parquet files: the row groups whose first byte is in the shard's range;
//! - anything else (compressed files, JSON documents, NumPy folders, vector dumps): the whole
//!   file, by the shard in which it starts.
//!
//! Every row thus belongs to exactly one shard, whatever N is, and the same inputs with the
//! same N always give the same shards.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;

use crate::{InputError, InputFile, InputFormat};

/// Shard `index` of `count` (`I/N` on a command line, 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This part, `0..count`.
    pub index: u64,
    /// How many parts.
    pub count: u64,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(text: &str) -> Result<Shard, String> {
        let bad = || format!("{text:?} is not a shard: give I/N, e.g. 0/4 (I counts from 0)");
        let (index, count) = text.split_once('/').ok_or_else(bad)?;
        let index: u64 = index.trim().parse().map_err(|_| bad())?;
        let count: u64 = count.trim().parse().map_err(|_| bad())?;
        if count == 0 {
            return Err(format!("{text:?}: the number of shards must be at least 1"));
        }
        if index >= count {
            return Err(format!(
                "{text:?}: shard {index} does not exist, shards count from 0 to {}",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl Shard {
    /// Where shard `k`'s range starts in `total` bytes.
    fn bound(&self, k: u64, total: u64) -> u64 {
        (u128::from(k) * u128::from(total) / u128::from(self.count)) as u64
    }

    /// The shard whose range holds byte `offset` of `total` (the last one for the end).
    fn owner(&self, offset: u64, total: u64) -> u64 {
        if total == 0 {
            return 0;
        }
        let offset = offset.min(total - 1);
        // bound() rounds down, so the estimate is at most one too low.
        let mut k = (u128::from(offset) * u128::from(self.count) / u128::from(total)) as u64;
        while k + 1 < self.count && self.bound(k + 1, total) <= offset {
            k += 1;
        }
        k
    }
}

/// The files (or parts of files) of shard `shard` of `files`. Parts carry their byte range
/// in [`InputFile::range`]. Standard input cannot be split and is refused.
pub fn shard(files: Vec<InputFile>, shard: Shard) -> Result<Vec<InputFile>, InputError> {
    if files.iter().any(|f| f.path.is_none() && f.remote.is_none()) {
        return Err(InputError::ShardStdin);
    }
    let total: u64 = files.iter().map(|f| f.size.unwrap_or(0)).sum();
    let mine = shard.bound(shard.index, total)..shard.bound(shard.index + 1, total);
    let mut kept = Vec::new();
    let mut start = 0u64;
    for mut file in files {
        let size = file.size.unwrap_or(0);
        let file_bytes = start..start + size;
        start += size;
        if splittable(&file) {
            let part = mine.start.max(file_bytes.start)..mine.end.min(file_bytes.end);
            if part.start < part.end {
                file.range = Some(part.start - file_bytes.start..part.end - file_bytes.start);
                kept.push(file);
            }
        } else if shard.owner(file_bytes.start, total) == shard.index {
            kept.push(file);
        }
    }
    Ok(kept)
}

/// Whether a file is split by byte range: uncompressed JSONL, CSV and Parquet files.
fn splittable(file: &InputFile) -> bool {
    let (_, compressed) = crate::files::without_compression(std::path::Path::new(&file.name));
    !compressed
        && matches!(
            file.format,
            InputFormat::Jsonl | InputFormat::Csv | InputFormat::Parquet
        )
}

/// Whether a row (line, record, row group) starting at byte `offset` of a file is in the
/// file's `range` (no range: the whole file).
pub(crate) fn owns(range: &Option<Range<u64>>, offset: u64) -> bool {
    range.as_ref().is_none_or(|r| r.contains(&offset))
}

/// Whether a row starting at byte `offset` of a file is past the file's `range`.
pub(crate) fn past(range: &Option<Range<u64>>, offset: u64) -> bool {
    range.as_ref().is_some_and(|r| offset >= r.end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_print() {
        let shard: Shard = "2/7".parse().unwrap();
        assert_eq!(shard, Shard { index: 2, count: 7 });
        assert_eq!(shard.to_string(), "2/7");
        assert!("7/7".parse::<Shard>().unwrap_err().contains("from 0 to 6"));
        assert!("0/0".parse::<Shard>().unwrap_err().contains("at least 1"));
        assert!("3".parse::<Shard>().unwrap_err().contains("give I/N"));
    }

    #[test]
    fn every_byte_has_one_owner_and_the_ranges_tile() {
        for count in [1, 2, 3, 7, 10] {
            for total in [0u64, 1, 5, 7, 100, 1001] {
                let shard = |index| Shard { index, count };
                let mut expected = 0;
                for k in 0..count {
                    assert_eq!(shard(k).bound(k, total), expected);
                    expected = shard(k).bound(k + 1, total);
                    for offset in shard(k).bound(k, total)..expected {
                        assert_eq!(
                            shard(0).owner(offset, total),
                            k,
                            "{offset} of {total}/{count}"
                        );
                    }
                }
                assert_eq!(expected, total);
            }
        }
    }
}
