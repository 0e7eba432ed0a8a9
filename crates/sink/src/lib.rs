//! Puts finished segments into storage and reports the paths an import request names.
//!
//! Storage is an [`object_store::ObjectStore`]: [`LocalFileSystem`] for a local directory
//! today, the cloud stores (S3, GCS, Azure, OSS) through the same trait later. A
//! [`SegmentSink`] is rooted at a prefix; [`SegmentSink::put_segment`] writes the files of one
//! segment and returns their import-ready paths only after every file is stored, so a
//! segment is reported whole or not at all.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use object_store::local::LocalFileSystem;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};

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

/// Stores segments under a root and reports how an import request names them.
pub struct SegmentSink {
    store: Arc<dyn ObjectStore>,
    /// How stored paths are reported: the local directory for local output.
    display_root: String,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for SegmentSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSink")
            .field("root", &self.display_root)
            .finish()
    }
}

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
            store,
            display_root,
            runtime,
        })
    }

    /// How the path `relative` is reported.
    pub fn display_path(&self, relative: &str) -> String {
        if self.display_root.is_empty() {
            relative.to_string()
        } else {
            format!("{}/{}", self.display_root, relative)
        }
    }

    /// Stores every file of one segment and returns their reported paths, in order.
    ///
    /// Each file is written to a temporary name and renamed into place when complete (the
    /// store's `put`), so no partial file ever carries a final name.
    pub fn put_segment(&self, files: Vec<SegmentFile>) -> Result<Vec<String>, SinkError> {
        let store = Arc::clone(&self.store);
        self.runtime.block_on(async {
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
