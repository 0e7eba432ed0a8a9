//! Puts finished segments into storage and reports the paths an import request names.
//!
//! Storage is an [`object_store::ObjectStore`]: [`LocalFileSystem`] for a local directory
//! today, the cloud stores (S3, GCS, Azure, OSS) through the same trait later. A
//! [`SegmentSink`] is rooted at a prefix; [`SegmentSink::put_segment`] writes the files of one
//! segment and returns their import-ready paths only after every file is stored, so a
//! segment is reported whole or not at all. Row files (JSON, JSONL, CSV) are written as they
//! are produced through [`SegmentSink::create_file`], a [`std::io::Write`] that sends the file
//! in parts and makes it visible under its name only when [`FileUpload::finish`] completes.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};

/// Errors from storing segments.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The output directory cannot be created or used.
    #[error("cannot use output directory {path}: {source}")]
    OutputDir {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Writing one file failed.
    #[error("cannot write {path}: {source}")]
    Put {
        /// The file's path as it would be reported.
        path: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// The store could not be opened.
    #[error("cannot open the output store: {0}")]
    Store(#[from] object_store::Error),
    /// The async runtime could not start.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(std::io::Error),
}

/// One finished file of a segment: its path relative to the sink's root, and its bytes.
#[derive(Debug, Clone)]
pub struct SegmentFile {
    /// Relative path, e.g. `<uuid>/1/id.npy` or `<uuid>/1.parquet`.
    pub relative_path: String,
    /// The complete file.
    pub data: Bytes,
}

/// Stores segments under a root and reports how an import request names them. Cloning is
/// cheap and shares the store.
#[derive(Clone)]
pub struct SegmentSink {
    inner: Arc<SinkInner>,
}

struct SinkInner {
    store: Arc<dyn ObjectStore>,
    /// How stored paths are reported: the local directory for local output.
    display_root: String,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for SegmentSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSink")
            .field("root", &self.inner.display_root)
            .finish()
    }
}

/// Streamed files are sent in parts of this size: above S3's 5 MiB minimum part size, and
/// small enough that a file being written holds little memory.
pub const PART_SIZE: usize = 8 << 20;

impl SegmentSink {
    /// A sink writing into a local directory, created (with its parents) if missing.
    /// Paths are reported as absolute file paths, which is what Milvus with local storage
    /// reads.
    pub fn local(dir: &Path) -> Result<SegmentSink, SinkError> {
        let io_err = |source| SinkError::OutputDir {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io_err)?;
        let absolute = std::fs::canonicalize(dir).map_err(io_err)?;
        let store = LocalFileSystem::new_with_prefix(&absolute)?;
        let display_root = absolute.to_string_lossy().trim_end_matches('/').to_string();
        SegmentSink::new(Arc::new(store), display_root)
    }

    /// A sink over any object store; `display_root` prefixes reported paths.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        display_root: String,
    ) -> Result<SegmentSink, SinkError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SinkError::Runtime)?;
        Ok(SegmentSink {
            inner: Arc::new(SinkInner {
                store,
                display_root,
                runtime,
            }),
        })
    }

    /// How the path `relative` is reported.
    pub fn display_path(&self, relative: &str) -> String {
        let root = &self.inner.display_root;
        if root.is_empty() {
            relative.to_string()
        } else {
            format!("{root}/{relative}")
        }
    }

    /// Stores every file of one segment and returns their reported paths, in order.
    ///
    /// Each file is written to a temporary name and renamed into place when complete (the
    /// store's `put`), so no partial file ever carries a final name.
    pub fn put_segment(&self, files: Vec<SegmentFile>) -> Result<Vec<String>, SinkError> {
        let store = Arc::clone(&self.inner.store);
        self.inner.runtime.block_on(async {
            let mut paths = Vec::with_capacity(files.len());
            for file in files {
                let location = ObjectPath::from(file.relative_path.as_str());
                let reported = self.display_path(&file.relative_path);
                store
                    .put(&location, PutPayload::from_bytes(file.data))
                    .await
                    .map_err(|source| SinkError::Put {
                        path: reported.clone(),
                        source,
                    })?;
                paths.push(reported);
            }
            Ok(paths)
        })
    }

    /// Starts a file at `relative_path` that is written as it is produced. Nothing carries
    /// the final name until [`FileUpload::finish`]; a file dropped unfinished is discarded.
    pub fn create_file(&self, relative_path: &str) -> FileUpload {
        FileUpload {
            sink: self.clone(),
            location: ObjectPath::from(relative_path),
            reported: self.display_path(relative_path),
            buffer: Vec::new(),
            upload: None,
            written: 0,
        }
    }
}

/// One file being streamed into the store (see [`SegmentSink::create_file`]).
///
/// Bytes are buffered up to [`PART_SIZE`]; a file that never fills a part is stored with one
/// `put`, a larger one as a multipart upload. Either way the store publishes it under its
/// name only when it is complete (the local store renames a staging file into place).
pub struct FileUpload {
    sink: SegmentSink,
    location: ObjectPath,
    reported: String,
    buffer: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    written: u64,
}

impl std::fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileUpload")
            .field("path", &self.reported)
            .field("written", &self.written)
            .finish()
    }
}

impl FileUpload {
    /// Bytes written so far.
    pub fn bytes_written(&self) -> u64 {
        self.written
    }

    /// The path the file will be reported under.
    pub fn path(&self) -> &str {
        &self.reported
    }

    fn put_error(&self, source: object_store::Error) -> SinkError {
        SinkError::Put {
            path: self.reported.clone(),
            source,
        }
    }

    /// Sends the buffered bytes as the next part, starting the multipart upload if needed.
    fn send_part(&mut self) -> Result<(), SinkError> {
        let part = PutPayload::from(std::mem::take(&mut self.buffer));
        let sink = self.sink.clone();
        let runtime = &sink.inner.runtime;
        if self.upload.is_none() {
            let store = Arc::clone(&sink.inner.store);
            let started = runtime.block_on(store.put_multipart(&self.location));
            self.upload = Some(started.map_err(|e| self.put_error(e))?);
        }
        if let Some(upload) = self.upload.as_mut() {
            let sent = runtime.block_on(upload.put_part(part));
            sent.map_err(|e| self.put_error(e))?;
        }
        Ok(())
    }

    /// Adds bytes to the file, sending a part whenever [`PART_SIZE`] bytes are buffered.
    pub fn append(&mut self, data: &[u8]) -> Result<(), SinkError> {
        self.buffer.extend_from_slice(data);
        self.written += data.len() as u64;
        if self.buffer.len() >= PART_SIZE {
            self.send_part()?;
        }
        Ok(())
    }

    /// Completes the file and returns its reported path.
    pub fn finish(mut self) -> Result<String, SinkError> {
        let sink = self.sink.clone();
        let runtime = &sink.inner.runtime;
        match self.upload.take() {
            None => {
                let payload = PutPayload::from(std::mem::take(&mut self.buffer));
                let store = Arc::clone(&sink.inner.store);
                runtime
                    .block_on(store.put(&self.location, payload))
                    .map_err(|e| self.put_error(e))?;
            }
            Some(upload) => {
                self.upload = Some(upload);
                if !self.buffer.is_empty() {
                    self.send_part()?;
                }
                if let Some(mut upload) = self.upload.take()
                    && let Err(e) = runtime.block_on(upload.complete())
                {
                    let _ = runtime.block_on(upload.abort());
                    return Err(self.put_error(e));
                }
            }
        }
        Ok(std::mem::take(&mut self.reported))
    }
}

impl Write for FileUpload {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.append(data).map_err(std::io::Error::other)?;
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for FileUpload {
    /// An unfinished file is abandoned: its parts are removed and it never appears.
    fn drop(&mut self) {
        if let Some(mut upload) = self.upload.take() {
            let _ = self.sink.inner.runtime.block_on(upload.abort());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_segments_land_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let sink = SegmentSink::local(&out).unwrap();
        let paths = sink
            .put_segment(vec![SegmentFile {
                relative_path: "u/1/id.npy".into(),
                data: Bytes::from_static(b"abc"),
            }])
            .unwrap();
        let expected = std::fs::canonicalize(&out).unwrap().join("u/1/id.npy");
        assert_eq!(paths, [expected.to_string_lossy().to_string()]);
        assert_eq!(std::fs::read(expected).unwrap(), b"abc");
    }
}
