//! Puts finished segments into storage and reports the paths an import request names.
//!
//! Storage is an [`object_store::ObjectStore`]: a local directory ([`LocalFileSystem`]), S3 or
//! any S3-compatible store, Google Cloud Storage, Azure Blob Storage or Aliyun OSS, chosen by
//! the output's URL ([`location`]). A [`SegmentSink`] is rooted at a key prefix:
//!
//! - [`SegmentSink::create_file`] streams one file (a segment's `.npy`, Parquet, JSON, JSONL
//!   or CSV file) in parts, several in flight, and the store publishes it under its name only
//!   when [`FileUpload::finish`] completes it; the writer reports a segment once every file of
//!   it is finished;
//! - [`SegmentSink::check_writable`] proves the output takes writes before any row is read.
//!
//! Transient errors are retried with backoff by object_store (see [`location`] for the retry
//! options). Paths are reported both as the store reports keys to Milvus (bucket-relative
//! keys, or absolute paths for local output) and as full URLs (`s3://bucket/key`), which
//! Zilliz Cloud's `objectUrls` take. Credentials never appear in reported paths or errors.

pub mod location;

use std::collections::VecDeque;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use tokio::task::JoinHandle;

pub use location::{OutputLocation, Scheme};

/// Errors from opening storage and storing segments.
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
    /// The output is not a path or URL we can write to.
    #[error("output {output}: {reason}")]
    Location {
        /// The output as given.
        output: String,
        /// What is wrong.
        reason: String,
    },
    /// A storage option is unknown or has a bad value (the value is never shown: it may be a
    /// secret).
    #[error("storage option '{key}': {reason}")]
    Option {
        /// The option's key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// The store could not be configured.
    #[error("cannot open {output}: {source}")]
    Store {
        /// The output's URL.
        output: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// The output is not writable (the bucket or container is missing, or access is denied).
    #[error("cannot write to {output}: {reason}")]
    NotWritable {
        /// The output's URL.
        output: String,
        /// What the store said, in words.
        reason: String,
    },
    /// Reading or listing what an earlier run stored failed.
    #[error("cannot read {path}: {}", describe_store_error(.source))]
    Read {
        /// The file or folder as it would be reported.
        path: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// Writing one file failed (after object_store's retries).
    #[error("cannot write {path}: {}", describe_store_error(.source))]
    Put {
        /// The file's path as it would be reported.
        path: String,
        /// The store's error.
        source: object_store::Error,
    },
    /// A background upload stopped without a result.
    #[error("the upload of {path} was interrupted: {reason}")]
    Interrupted {
        /// The file or segment.
        path: String,
        /// Why.
        reason: String,
    },
    /// The async runtime could not start.
    #[error("cannot start the I/O runtime: {0}")]
    Runtime(std::io::Error),
}

/// A complete file: how an import request names it, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredFile {
    /// What Milvus's import `files` takes: the bucket-relative key (`prefix/<uuid>/1.parquet`,
    /// no leading `/`), or the absolute path for local output.
    pub path: String,
    /// The full URL (`s3://bucket/prefix/<uuid>/1.parquet`), what Zilliz Cloud's `objectUrls`
    /// takes; the absolute path for local output.
    pub url: String,
    /// The file's size in bytes.
    pub bytes: u64,
    /// The CRC-32C (Castagnoli) of the file's bytes, as 8 lowercase hex digits.
    pub crc32c: String,
}

/// Streamed files are sent in parts of this size: above S3's 5 MiB minimum part size, and
/// small enough that a file being written holds little memory.
pub const PART_SIZE: usize = 8 << 20;

/// Room beyond [`PART_SIZE`] in a part's buffer for the write that fills it: writers hand
/// over blocks of up to about 1 MiB.
const PART_SLACK: usize = 1 << 20;

/// Parts of one streamed file uploading at once; a writer waits for the oldest beyond this.
const PARTS_IN_FLIGHT: usize = 2;

/// Stores segments under a root and reports how an import request names them. Cloning is
/// cheap and shares the store and its I/O threads.
#[derive(Clone)]
pub struct SegmentSink {
    inner: Arc<SinkInner>,
}

struct SinkInner {
    store: Arc<dyn ObjectStore>,
    location: OutputLocation,
    /// Reported paths start with this: the absolute directory (local) or the key prefix.
    path_root: String,
    /// Reported URLs start with this.
    url_root: String,
    /// The directory of a local sink (not of an in-memory one), where folders are renamed.
    local_dir: Option<PathBuf>,
    runtime: tokio::runtime::Runtime,
}

impl std::fmt::Debug for SegmentSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SegmentSink")
            .field("root", &self.inner.url_root)
            .finish()
    }
}

/// A store error on one line. A refusal of the credentials says so in words; a server's XML
/// error body is cut down to its code and message. (object_store already hides request URLs,
/// which can carry a SAS token.)
pub fn describe_store_error(error: &object_store::Error) -> String {
    let text = error.to_string();
    let (before, server) = match text.find("<?xml") {
        Some(at) => (
            text[..at].trim_end().trim_end_matches(':').to_string(),
            server_error(&text[at..]),
        ),
        None => (text.clone(), None),
    };
    let server = server.map(|s| format!(" ({s})")).unwrap_or_default();
    match error {
        object_store::Error::PermissionDenied { .. }
        | object_store::Error::Unauthenticated { .. } => format!(
            "the credentials were refused{server}: check that they have not expired and that they may write here"
        ),
        // The HTTP client refuses a plain-HTTP URL unless it is allowed, and says only
        // "builder error".
        _ if text.contains("builder error") && text.contains("http://") => format!(
            "{}: the endpoint is plain http://, which is refused unless allowed: set the storage option allow_http=true (or AWS_ALLOW_HTTP=true, AZURE_ALLOW_HTTP=true in the environment)",
            before.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
        _ => format!(
            "{}{server}",
            before.split_whitespace().collect::<Vec<_>>().join(" ")
        ),
    }
}

/// `Code: first line of Message` from an S3 or Azure XML error body.
fn server_error(xml: &str) -> Option<String> {
    let field = |tag: &str| {
        let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
        let end = xml[start..].find(&format!("</{tag}>"))? + start;
        Some(
            xml[start..end]
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
        )
    };
    match (field("Code"), field("Message")) {
        (Some(code), Some(message)) => Some(format!("{code}: {message}")),
        (Some(code), None) => Some(code),
        (None, message) => message,
    }
}

/// Whether a local file name is a staging file of the local store (`name#<digits>`).
fn is_staging_name(name: &str) -> bool {
    match name.rsplit_once('#') {
        Some((_, suffix)) => !suffix.is_empty() && suffix.bytes().all(|b| b.is_ascii_digit()),
        None => false,
    }
}

fn join(root: &str, relative: &str) -> String {
    if root.is_empty() {
        relative.to_string()
    } else {
        format!("{}/{relative}", root.trim_end_matches('/'))
    }
}

impl SegmentSink {
    /// A sink writing into a local directory, created (with its parents) if missing.
    /// Paths are reported as absolute file paths, which is what Milvus with local storage
    /// reads.
    pub fn local(dir: &Path) -> Result<SegmentSink, SinkError> {
        let (store, absolute) = location::local_store(dir)?;
        let root = absolute.to_string_lossy().trim_end_matches('/').to_string();
        let location = OutputLocation {
            scheme: Scheme::Local,
            bucket: root.clone(),
            prefix: String::new(),
        };
        SegmentSink::build(
            Arc::new(store),
            location,
            root.clone(),
            root,
            Some(absolute),
        )
    }

    /// A sink for an output given as a local path or a URL (`s3://bucket/prefix`, `gs://`,
    /// `az://`, `oss://`), configured from the environment and `options` (see [`location`]).
    pub fn open(output: &str, options: &[(String, String)]) -> Result<SegmentSink, SinkError> {
        let location = OutputLocation::parse(output)?;
        if location.scheme == Scheme::Local {
            if let Some((key, _)) = options.first() {
                return Err(SinkError::Option {
                    key: key.clone(),
                    reason: "storage options apply only to remote outputs".into(),
                });
            }
            return SegmentSink::local(Path::new(&location.bucket));
        }
        let store = location::open_store(&location, options)?;
        let path_root = location.prefix.clone();
        let url_root = location.root_url();
        SegmentSink::new(store, location, path_root, url_root)
    }

    /// A sink over any object store. Keys are `location.prefix/<relative>`; reported paths
    /// and URLs are `path_root/<relative>` and `url_root/<relative>`.
    pub fn new(
        store: Arc<dyn ObjectStore>,
        location: OutputLocation,
        path_root: String,
        url_root: String,
    ) -> Result<SegmentSink, SinkError> {
        SegmentSink::build(store, location, path_root, url_root, None)
    }

    fn build(
        store: Arc<dyn ObjectStore>,
        location: OutputLocation,
        path_root: String,
        url_root: String,
        local_dir: Option<PathBuf>,
    ) -> Result<SegmentSink, SinkError> {
        // Two I/O threads: uploads overlap with the caller's reading and encoding.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("bulkwriter-io")
            .enable_all()
            .build()
            .map_err(SinkError::Runtime)?;
        Ok(SegmentSink {
            inner: Arc::new(SinkInner {
                store,
                location,
                path_root,
                url_root,
                local_dir,
                runtime,
            }),
        })
    }

    /// A sink that keeps files in memory: for tests, and for checking data without writing
    /// (`bulkwriter validate` stores nothing at all through it).
    pub fn in_memory() -> Result<SegmentSink, SinkError> {
        let location = OutputLocation {
            scheme: Scheme::Local,
            bucket: "memory".into(),
            prefix: String::new(),
        };
        SegmentSink::new(
            Arc::new(object_store::memory::InMemory::new()),
            location,
            String::new(),
            "memory:/".into(),
        )
    }

    /// The output this sink writes to.
    pub fn location(&self) -> &OutputLocation {
        &self.inner.location
    }

    /// How the path `relative` is reported to Milvus.
    pub fn display_path(&self, relative: &str) -> String {
        join(&self.inner.path_root, relative)
    }

    /// The full URL of `relative`.
    pub fn url(&self, relative: &str) -> String {
        join(&self.inner.url_root, relative)
    }

    fn key(&self, relative: &str) -> ObjectPath {
        ObjectPath::from(join(&self.inner.location.prefix, relative))
    }

    fn stored(&self, relative: &str) -> StoredFile {
        StoredFile {
            path: self.display_path(relative),
            url: self.url(relative),
            bytes: 0,
            crc32c: String::new(),
        }
    }

    /// Stores a small object (the run's manifest) at `relative` in one `put`, which replaces
    /// any earlier version atomically.
    pub fn put_small(&self, relative: &str, data: Vec<u8>) -> Result<(), SinkError> {
        let store = Arc::clone(&self.inner.store);
        let key = self.key(relative);
        self.inner
            .runtime
            .block_on(async move { store.put(&key, PutPayload::from(data)).await })
            .map(|_| ())
            .map_err(|source| SinkError::Put {
                path: self.display_path(relative),
                source,
            })
    }

    /// Reads a small object (the run's manifest); `None` if it does not exist.
    pub fn read_small(&self, relative: &str) -> Result<Option<Vec<u8>>, SinkError> {
        let store = Arc::clone(&self.inner.store);
        let key = self.key(relative);
        let result = self.inner.runtime.block_on(async move {
            let got = store.get(&key).await?;
            got.bytes().await
        });
        match result {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(source) => Err(SinkError::Read {
                path: self.display_path(relative),
                source,
            }),
        }
    }

    /// Every object under the folder `relative`, as (path relative to this sink's root,
    /// size in bytes), sorted by path. Local staging files of unfinished writes
    /// (`name#1`) are not listed; see [`Self::remove_staging_files`].
    pub fn list(&self, relative: &str) -> Result<Vec<(String, u64)>, SinkError> {
        let store = Arc::clone(&self.inner.store);
        let key = self.key(relative);
        let prefix = self.inner.location.prefix.trim_matches('/').to_string();
        let listed = self.inner.runtime.block_on(async move {
            use futures_util::TryStreamExt;
            store.list(Some(&key)).try_collect::<Vec<_>>().await
        });
        let listed = listed.map_err(|source| SinkError::Read {
            path: self.display_path(relative),
            source,
        })?;
        let mut found: Vec<(String, u64)> = listed
            .into_iter()
            .map(|meta| {
                let key = meta.location.to_string();
                let relative = match key.strip_prefix(&prefix) {
                    Some(rest) if !prefix.is_empty() => rest.trim_start_matches('/').to_string(),
                    _ => key,
                };
                (relative, meta.size)
            })
            .collect();
        found.sort();
        Ok(found)
    }

    /// Deletes the object at `relative`; a missing object is not an error.
    pub fn remove(&self, relative: &str) -> Result<(), SinkError> {
        let store = Arc::clone(&self.inner.store);
        let key = self.key(relative);
        let result = self.inner.runtime.block_on(async move {
            match store.delete(&key).await {
                Err(object_store::Error::NotFound { .. }) => Ok(()),
                other => other,
            }
        });
        result.map_err(|source| SinkError::Put {
            path: self.display_path(relative),
            source,
        })
    }

    /// Removes every object under the folder `relative` (and, for local output, the folder
    /// itself with any staging files left in it); returns how many objects were removed. A
    /// missing folder removes nothing.
    pub fn remove_folder(&self, relative: &str) -> Result<usize, SinkError> {
        let objects = self.list(relative)?;
        for (path, _) in &objects {
            self.remove(path)?;
        }
        if self.inner.location.scheme == Scheme::Local {
            let dir = Path::new(&self.inner.path_root).join(relative);
            match std::fs::remove_dir_all(&dir) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(SinkError::OutputDir {
                        path: dir,
                        source: e,
                    });
                }
                _ => {}
            }
        }
        Ok(objects.len())
    }

    /// Local output only: removes the staging files (`name#<digits>`) that a process killed
    /// while writing leaves under the folder `relative`; they are never listed or reported.
    pub fn remove_staging_files(&self, relative: &str) -> Result<(), SinkError> {
        if self.inner.location.scheme != Scheme::Local {
            // Object stores keep unfinished uploads out of sight (and expire them by policy).
            return Ok(());
        }
        let dir = Path::new(&self.inner.path_root).join(relative);
        let mut pending = vec![dir];
        while let Some(dir) = pending.pop() {
            let entries = match std::fs::read_dir(&dir) {
                Ok(entries) => entries,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(SinkError::OutputDir { path: dir, source }),
            };
            for entry in entries {
                let entry = entry.map_err(|source| SinkError::OutputDir {
                    path: dir.clone(),
                    source,
                })?;
                let path = entry.path();
                if path.is_dir() {
                    pending.push(path);
                } else if is_staging_name(&entry.file_name().to_string_lossy()) {
                    std::fs::remove_file(&path)
                        .map_err(|source| SinkError::OutputDir { path, source })?;
                }
            }
        }
        Ok(())
    }

    /// Checks, before anything is written, that the output takes writes: stores a small
    /// object at `probe_relative` and deletes it. A missing bucket or container, or missing
    /// permission, is reported in words.
    pub fn check_writable(&self, probe_relative: &str) -> Result<(), SinkError> {
        let store = Arc::clone(&self.inner.store);
        let key = self.key(probe_relative);
        let result = self.inner.runtime.block_on(async move {
            store
                .put(&key, PutPayload::from_static(b"bulkwriter write check"))
                .await?;
            store.delete(&key).await
        });
        result.map_err(|e| {
            let what = match self.inner.location.scheme {
                Scheme::Azure => "container",
                Scheme::Local => "directory",
                _ => "bucket",
            };
            let reason = match &e {
                object_store::Error::NotFound { .. } => {
                    format!("the {what} '{}' does not exist", self.inner.location.bucket)
                }
                _ => describe_store_error(&e),
            };
            SinkError::NotWritable {
                output: self.inner.url_root.clone(),
                reason,
            }
        })
    }

    /// Starts a file at `relative_path` that is written as it is produced. Nothing carries
    /// the final name until [`FileUpload::finish`]; a file dropped unfinished is discarded.
    pub fn create_file(&self, relative_path: &str) -> FileUpload {
        self.create_file_as(relative_path, relative_path)
    }

    /// A file written at `relative_path` and reported as `reported_path`.
    fn create_file_as(&self, relative_path: &str, reported_path: &str) -> FileUpload {
        FileUpload {
            sink: self.clone(),
            location: self.key(relative_path),
            reported: self.stored(reported_path),
            buffer: Vec::new(),
            upload: None,
            parts: VecDeque::new(),
            written: 0,
            crc32c: 0,
        }
    }
}

/// One file being streamed into the store (see [`SegmentSink::create_file`]).
///
/// Bytes are buffered up to [`PART_SIZE`]; a file that never fills a part is stored with one
/// `put`, a larger one as a multipart upload whose parts go up in the background while the
/// next part is produced. Either way the store publishes the file under its name only when it
/// is complete (the local store renames a staging file into place).
pub struct FileUpload {
    sink: SegmentSink,
    location: ObjectPath,
    reported: StoredFile,
    buffer: Vec<u8>,
    upload: Option<Box<dyn MultipartUpload>>,
    parts: VecDeque<JoinHandle<object_store::Result<()>>>,
    written: u64,
    crc32c: u32,
}

impl std::fmt::Debug for FileUpload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileUpload")
            .field("path", &self.reported.path)
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
        &self.reported.path
    }

    fn put_error(&self, source: object_store::Error) -> SinkError {
        SinkError::Put {
            path: self.reported.path.clone(),
            source,
        }
    }

    /// Waits for the oldest part in flight.
    fn wait_oldest_part(&mut self) -> Result<(), SinkError> {
        let Some(part) = self.parts.pop_front() else {
            return Ok(());
        };
        let sink = self.sink.clone();
        match sink.inner.runtime.block_on(part) {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(self.put_error(e)),
            Err(e) => Err(SinkError::Interrupted {
                path: self.reported.path.clone(),
                reason: e.to_string(),
            }),
        }
    }

    /// Starts sending the buffered bytes as the next part, starting the multipart upload if
    /// needed; waits first if too many parts are in flight.
    fn send_part(&mut self) -> Result<(), SinkError> {
        while self.parts.len() >= PARTS_IN_FLIGHT {
            self.wait_oldest_part()?;
        }
        let part = PutPayload::from(std::mem::take(&mut self.buffer));
        let sink = self.sink.clone();
        let runtime = &sink.inner.runtime;
        if self.upload.is_none() {
            let store = Arc::clone(&sink.inner.store);
            let started = runtime.block_on(store.put_multipart(&self.location));
            self.upload = Some(started.map_err(|e| self.put_error(e))?);
        }
        if let Some(upload) = self.upload.as_mut() {
            let future = upload.put_part(part);
            self.parts.push_back(runtime.spawn(future));
        }
        Ok(())
    }

    /// Adds bytes to the file, sending a part whenever [`PART_SIZE`] bytes are buffered.
    pub fn append(&mut self, data: &[u8]) -> Result<(), SinkError> {
        self.buffer.extend_from_slice(data);
        self.written += data.len() as u64;
        self.crc32c = crc32c::crc32c_append(self.crc32c, data);
        if self.buffer.len() >= PART_SIZE {
            self.send_part()?;
            // A file this long goes on: its next part gets its full size at once rather than
            // growing to it by doubling, which copies it about once more.
            self.buffer.reserve_exact(PART_SIZE + PART_SLACK);
        }
        Ok(())
    }

    /// How the file is reported once complete.
    fn report(&self) -> StoredFile {
        StoredFile {
            bytes: self.written,
            crc32c: format!("{:08x}", self.crc32c),
            ..self.reported.clone()
        }
    }

    /// Completes the file and returns how it is reported.
    pub fn finish(mut self) -> Result<StoredFile, SinkError> {
        let sink = self.sink.clone();
        let runtime = &sink.inner.runtime;
        if self.upload.is_none() {
            let payload = PutPayload::from(std::mem::take(&mut self.buffer));
            let store = Arc::clone(&sink.inner.store);
            runtime
                .block_on(store.put(&self.location, payload))
                .map_err(|e| self.put_error(e))?;
            return Ok(self.report());
        }
        if !self.buffer.is_empty() {
            self.send_part()?;
        }
        while !self.parts.is_empty() {
            self.wait_oldest_part()?;
        }
        if let Some(mut upload) = self.upload.take()
            && let Err(e) = runtime.block_on(upload.complete())
        {
            let _ = runtime.block_on(upload.abort());
            return Err(self.put_error(e));
        }
        Ok(self.report())
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
        let runtime = &self.sink.inner.runtime;
        for part in self.parts.drain(..) {
            let _ = runtime.block_on(part);
        }
        if let Some(mut upload) = self.upload.take() {
            let _ = runtime.block_on(upload.abort());
        }
    }
}

/// Files of a bucket folder up to this size are stored with one `put` when the folder is
/// completed; larger ones are uploaded before (see [`FileUpload::ready`]).
const SMALL_PUT_BYTES: usize = 64 << 10;

/// A folder whose files must appear together, as a NumPy segment's do: a Milvus import of a
/// folder prefix takes whatever files it finds there. See [`SegmentSink::create_folder`].
pub struct FolderUpload {
    sink: SegmentSink,
    /// `<uuid>/<n>`, relative to the sink's root.
    folder: String,
    /// Local output: the hidden folder the files are written in, renamed to `folder` once
    /// every file is complete.
    staging: Option<String>,
}

impl SegmentSink {
    /// Starts the folder `relative` (for example `<uuid>/3`). Locally its files are written
    /// in a hidden folder beside it (`<uuid>/.3.partial`) that is renamed into place once all
    /// are complete, so the folder appears whole or not at all, even after a SIGKILL. A
    /// bucket has no folders and no way to publish several objects at once: each file's
    /// upload is held open until every file of the folder is up, and then all are completed
    /// at once, so the files appear within one round of requests; the run's manifest, which
    /// lists the segment only after that, is what says it is complete.
    pub fn create_folder(&self, relative: &str) -> FolderUpload {
        let staging = self.inner.local_dir.as_ref().map(|_| {
            let (parent, name) = relative.rsplit_once('/').unwrap_or(("", relative));
            join(parent, &format!(".{name}.partial"))
        });
        FolderUpload {
            sink: self.clone(),
            folder: relative.to_string(),
            staging,
        }
    }
}

impl FolderUpload {
    /// A file of the folder; hand it, once written, to [`FileUpload::ready`].
    pub fn create_file(&self, name: &str) -> FileUpload {
        let reported = join(&self.folder, name);
        match &self.staging {
            Some(staging) => self.sink.create_file_as(&join(staging, name), &reported),
            None => self.sink.create_file(&reported),
        }
    }

    /// Completes every file at once and, locally, moves the folder into place; returns how
    /// the files are reported, in the order given. On an error nothing is published
    /// locally, and in a bucket the uploads not yet completed are abandoned.
    pub fn finish(self, files: Vec<ReadyFile>) -> Result<Vec<StoredFile>, SinkError> {
        let runtime = &self.sink.inner.runtime;
        let completing: Vec<_> = files
            .into_iter()
            .map(|file| runtime.spawn(file.complete()))
            .collect();
        let mut stored = Vec::with_capacity(completing.len());
        let mut first_error = None;
        for task in completing {
            match runtime.block_on(task) {
                Ok(Ok(file)) => stored.push(file),
                Ok(Err(e)) => {
                    first_error.get_or_insert(e);
                }
                Err(e) => {
                    first_error.get_or_insert(SinkError::Interrupted {
                        path: self.sink.display_path(&self.folder),
                        reason: e.to_string(),
                    });
                }
            }
        }
        if let Some(error) = first_error {
            return Err(error);
        }
        if let (Some(staging), Some(dir)) = (&self.staging, &self.sink.inner.local_dir) {
            let (from, to) = (dir.join(staging), dir.join(&self.folder));
            // A folder left empty by a resumed run's clean-up is in the way of the rename.
            let _ = std::fs::remove_dir(&to);
            std::fs::rename(&from, &to)
                .map_err(|source| SinkError::OutputDir { path: to, source })?;
        }
        Ok(stored)
    }
}

/// A file whose bytes are all sent (or, if small, held) and that is not yet visible: see
/// [`FileUpload::ready`]. Dropped without [`ReadyFile::complete`], it never appears.
pub struct ReadyFile {
    sink: SegmentSink,
    location: ObjectPath,
    report: StoredFile,
    content: ReadyContent,
}

enum ReadyContent {
    /// A file smaller than a part: stored with one `put` when completed.
    Small(Vec<u8>),
    /// A multipart upload with every part sent.
    Parts(Box<dyn MultipartUpload>),
}

impl ReadyFile {
    /// Makes the file visible under its name.
    async fn complete(self) -> Result<StoredFile, SinkError> {
        let put_error = |source| SinkError::Put {
            path: self.report.path.clone(),
            source,
        };
        match self.content {
            ReadyContent::Small(bytes) => {
                let store = Arc::clone(&self.sink.inner.store);
                store
                    .put(&self.location, PutPayload::from(bytes))
                    .await
                    .map_err(put_error)?;
            }
            ReadyContent::Parts(mut upload) => {
                if let Err(e) = upload.complete().await {
                    let _ = upload.abort().await;
                    return Err(put_error(e));
                }
            }
        }
        Ok(self.report)
    }
}

impl FileUpload {
    /// Sends what is left of the file and waits until every part is stored, without making
    /// the file visible: [`FolderUpload::finish`] completes the files of a folder together.
    pub fn ready(mut self) -> Result<ReadyFile, SinkError> {
        // In a bucket, a file of more than a few requests' worth of bytes goes up now, as a
        // one-part upload, so that completing the folder's files sends no file bodies and
        // the time in which only some of them are visible stays short.
        let local = self.sink.inner.local_dir.is_some();
        let content = if self.upload.is_none() && (local || self.buffer.len() <= SMALL_PUT_BYTES) {
            ReadyContent::Small(std::mem::take(&mut self.buffer))
        } else {
            if !self.buffer.is_empty() {
                self.send_part()?;
            }
            while !self.parts.is_empty() {
                self.wait_oldest_part()?;
            }
            let upload = self.upload.take().ok_or_else(|| SinkError::Interrupted {
                path: self.reported.path.clone(),
                reason: "its upload was not started".into(),
            })?;
            ReadyContent::Parts(upload)
        };
        Ok(ReadyFile {
            sink: self.sink.clone(),
            location: self.location.clone(),
            report: self.report(),
            content,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_local_folder_appears_only_when_all_its_files_are_complete() {
        let dir = tempfile::tempdir().unwrap();
        let sink = SegmentSink::local(dir.path()).unwrap();
        let folder = sink.create_folder("u/3");
        let mut ready = Vec::new();
        for name in ["a.npy", "b.npy"] {
            let mut file = folder.create_file(name);
            file.append(&vec![7u8; PART_SIZE + 10]).unwrap();
            ready.push(file.ready().unwrap());
            assert!(
                !dir.path().join("u/3").exists(),
                "not visible before finish"
            );
        }
        // Written in the hidden staging folder, which a resumed run lists and removes.
        let listed: Vec<String> = sink
            .list("u")
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(
            listed.iter().all(|p| p.starts_with("u/.3.partial/")),
            "{listed:?}"
        );
        let stored = folder.finish(ready).unwrap();
        assert_eq!(
            stored[0].path,
            format!("{}/u/3/a.npy", sink.display_path("").trim_end_matches('/'))
        );
        assert_eq!(stored[1].bytes, (PART_SIZE + 10) as u64);
        assert_eq!(
            std::fs::read(dir.path().join("u/3/b.npy")).unwrap().len(),
            PART_SIZE + 10
        );
        assert!(!dir.path().join("u/.3.partial").exists());

        // A folder dropped before finish leaves no visible folder.
        let abandoned = sink.create_folder("u/4");
        let mut file = abandoned.create_file("a.npy");
        file.append(b"x").unwrap();
        drop(file.ready().unwrap());
        drop(abandoned);
        assert!(!dir.path().join("u/4").exists());
    }

    #[test]
    fn local_segments_land_under_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("a/b");
        let sink = SegmentSink::local(&out).unwrap();
        let mut file = sink.create_file("u/1/id.npy");
        file.append(b"abc").unwrap();
        let stored = file.finish().unwrap();
        let expected = std::fs::canonicalize(&out).unwrap().join("u/1/id.npy");
        assert_eq!(stored.path, expected.to_string_lossy());
        assert_eq!(std::fs::read(expected).unwrap(), b"abc");
    }

    #[test]
    fn remote_keys_are_bucket_relative_and_urls_full() {
        let location = OutputLocation::parse("s3://bucket/exports/run").unwrap();
        let store = Arc::new(object_store::memory::InMemory::new());
        let sink = SegmentSink::new(
            store.clone(),
            location.clone(),
            location.prefix.clone(),
            location.root_url(),
        )
        .unwrap();
        sink.check_writable("u/.write-check").unwrap();
        let mut file = sink.create_file("u/1.parquet");
        file.append(b"abc").unwrap();
        assert_eq!(
            file.finish().unwrap(),
            StoredFile {
                path: "exports/run/u/1.parquet".into(),
                url: "s3://bucket/exports/run/u/1.parquet".into(),
                bytes: 3,
                // CRC-32C of "abc" (RFC 3720 test vectors give the algorithm; this value is
                // Python's google-crc32c).
                crc32c: "364b3fb7".into(),
            }
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt
            .block_on(store.get(&ObjectPath::from("exports/run/u/1.parquet")))
            .unwrap();
        assert_eq!(
            rt.block_on(got.bytes()).unwrap(),
            Bytes::from_static(b"abc")
        );
        // The write check left nothing behind.
        let probe = rt.block_on(store.head(&ObjectPath::from("exports/run/u/.write-check")));
        assert!(probe.is_err());
    }
}
