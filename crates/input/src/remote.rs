//! Inputs in object stores (`s3://`, `gs://`, `az://`, `oss://`): found through the store's
//! listing (a glob matches keys, a folder is a Parquet dataset), text formats streamed as
//! they download, Parquet read with range requests (its footer, then each row group), never
//! downloaded whole. A store is opened as an output's is ([`bulkwriter_sink::location`]):
//! credentials from the environment, settings from storage options.

use std::io::Read;
use std::sync::{Arc, OnceLock};

use bulkwriter_sink::location::{OutputLocation, Scheme, open_store};
use bytes::Bytes;
use futures_util::FutureExt;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use parquet::arrow::arrow_reader::ArrowReaderOptions;
use parquet::arrow::async_reader::AsyncFileReader;
use parquet::errors::ParquetError;
use parquet::file::metadata::{ParquetMetaData, ParquetMetaDataReader};

use crate::{InputError, InputFile, InputFormat};

/// One object to read.
#[derive(Debug)]
pub struct RemoteObject {
    /// The store holding it.
    pub store: Arc<dyn ObjectStore>,
    /// Its key.
    pub key: ObjectPath,
    /// Its size in bytes.
    pub size: u64,
}

/// The I/O threads that remote reads run on (started at the first remote input).
pub(crate) fn runtime() -> Result<&'static tokio::runtime::Runtime, InputError> {
    static RUNTIME: OnceLock<Result<tokio::runtime::Runtime, String>> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .thread_name("bulkwriter-input-io")
                .enable_all()
                .build()
                .map_err(|e| e.to_string())
        })
        .as_ref()
        .map_err(|e| InputError::read(format!("cannot start the I/O runtime: {e}")))
}

/// A key as the store spells it (listed keys keep their `%`), or made valid if it is not.
fn object_path(key: &str) -> ObjectPath {
    ObjectPath::parse(key).unwrap_or_else(|_| ObjectPath::from(key))
}

/// Whether an input spec names an object store URL.
pub(crate) fn is_remote(spec: &str) -> bool {
    spec.contains("://")
        && OutputLocation::parse(spec).is_ok_and(|location| location.scheme != Scheme::Local)
}

fn store_error(spec: &str, message: impl std::fmt::Display) -> InputError {
    InputError::Remote {
        url: spec.to_string(),
        message: message.to_string(),
    }
}

/// The objects a remote spec names: one object; the objects whose keys match a glob (in key
/// order); or, for a key that is a folder, its Parquet files with their Hive partitions.
pub(crate) fn expand(
    spec: &str,
    forced: Option<InputFormat>,
    options: &[(String, String)],
) -> Result<Vec<InputFile>, InputError> {
    let location = OutputLocation::parse(spec).map_err(|e| store_error(spec, e))?;
    let store = open_store(&location, options).map_err(|e| store_error(spec, e))?;
    let base = spec.split_once("://").map_or("", |(scheme, _)| scheme);
    let url = |key: &str| format!("{base}://{}/{key}", location.bucket);
    let key = location.prefix.clone();
    let rt = runtime()?;
    let list = |prefix: &str| -> Result<Vec<(String, u64)>, InputError> {
        let prefix = object_path(prefix);
        let listed: Vec<_> = rt.block_on(store.list(Some(&prefix)).collect::<Vec<_>>());
        listed
            .into_iter()
            .map(|item| {
                item.map(|meta| (meta.location.to_string(), meta.size))
                    .map_err(|e| store_error(spec, bulkwriter_sink::describe_store_error(&e)))
            })
            .collect()
    };
    let file = |key: &str,
                size: u64,
                partitions: Vec<(String, String)>|
     -> Result<InputFile, InputError> {
        let format = match forced {
            Some(format) => format,
            None => crate::files::format_of_name(key)
                .ok_or_else(|| InputError::UnknownFormat { path: url(key) })?,
        };
        if !format.is_rows() && format != InputFormat::Parquet {
            return Err(store_error(
                &url(key),
                format!("{format} inputs are read from local files only"),
            ));
        }
        Ok(InputFile {
            path: None,
            name: url(key),
            format,
            size: Some(size),
            tsv: crate::files::is_tsv(std::path::Path::new(key)),
            partitions,
            remote: Some(Arc::new(RemoteObject {
                store: Arc::clone(&store),
                // Listed keys are already in the store's form (a `%` stays a `%`).
                key: object_path(key),
                size,
            })),
            range: None,
        })
    };
    if key.contains(['*', '?', '[']) {
        let pattern = glob::Pattern::new(&key).map_err(|e| InputError::BadPattern {
            pattern: spec.to_string(),
            reason: e.to_string(),
        })?;
        let literal = &key[..key.find(['*', '?', '[']).unwrap_or(key.len())];
        let folder = literal.rsplit_once('/').map_or("", |(folder, _)| folder);
        let glob_options = glob::MatchOptions {
            require_literal_separator: true,
            ..Default::default()
        };
        let mut matched: Vec<(String, u64)> = list(folder)?
            .into_iter()
            .filter(|(k, _)| pattern.matches_with(k, glob_options))
            .collect();
        matched.sort();
        if matched.is_empty() {
            return Err(InputError::NoMatch {
                pattern: spec.to_string(),
            });
        }
        return matched
            .into_iter()
            .map(|(k, size)| file(&k, size, Vec::new()))
            .collect();
    }
    let head = rt.block_on(store.head(&object_path(&key)));
    match head {
        Ok(meta) => Ok(vec![file(&key, meta.size, Vec::new())?]),
        Err(object_store::Error::NotFound { .. }) => {
            // A folder: its Parquet files (a Spark or pyarrow dataset).
            let mut parts: Vec<(String, u64)> = list(&key)?
                .into_iter()
                .filter(|(k, _)| {
                    let relative = k.strip_prefix(key.as_str()).unwrap_or(k);
                    !relative.split('/').any(|part| part.starts_with(['_', '.']))
                        && crate::files::format_of_name(k) == Some(InputFormat::Parquet)
                })
                .collect();
            parts.sort();
            if parts.is_empty() {
                return Err(store_error(
                    spec,
                    "no such object, and no .parquet file under it",
                ));
            }
            parts
                .into_iter()
                .map(|(k, size)| {
                    let relative = k
                        .strip_prefix(key.as_str())
                        .unwrap_or(&k)
                        .trim_start_matches('/');
                    let folders = std::path::Path::new(relative)
                        .parent()
                        .unwrap_or(std::path::Path::new(""));
                    file(&k, size, crate::files::partition_columns(folders))
                })
                .collect()
        }
        Err(e) => Err(store_error(spec, bulkwriter_sink::describe_store_error(&e))),
    }
}

/// An object's bytes as a [`Read`], streamed as they download.
pub(crate) struct ObjectRead {
    stream: BoxStream<'static, object_store::Result<Bytes>>,
    current: Bytes,
    name: String,
}

impl ObjectRead {
    pub(crate) fn open(object: &RemoteObject, name: &str) -> Result<ObjectRead, InputError> {
        let store = Arc::clone(&object.store);
        let key = object.key.clone();
        let got = runtime()?
            .block_on(async move { store.get(&key).await })
            .map_err(|e| store_error(name, bulkwriter_sink::describe_store_error(&e)))?;
        Ok(ObjectRead {
            stream: got.into_stream(),
            current: Bytes::new(),
            name: name.to_string(),
        })
    }
}

impl Read for ObjectRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let rt = runtime().map_err(std::io::Error::other)?;
        while self.current.is_empty() {
            match rt.block_on(self.stream.next()) {
                Some(Ok(bytes)) => self.current = bytes,
                Some(Err(e)) => {
                    return Err(std::io::Error::other(format!(
                        "{}: {}",
                        self.name,
                        bulkwriter_sink::describe_store_error(&e)
                    )));
                }
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

/// Parquet's asynchronous reader over an object: each byte range the decoder asks for is one
/// range request, and the footer is read from the end of the known size.
pub(crate) struct ObjectRanges {
    store: Arc<dyn ObjectStore>,
    key: ObjectPath,
    size: u64,
}

impl ObjectRanges {
    pub(crate) fn new(object: &RemoteObject) -> ObjectRanges {
        ObjectRanges {
            store: Arc::clone(&object.store),
            key: object.key.clone(),
            size: object.size,
        }
    }
}

fn parquet_error(e: object_store::Error) -> ParquetError {
    ParquetError::External(Box::new(e))
}

impl AsyncFileReader for ObjectRanges {
    fn get_bytes(
        &mut self,
        range: std::ops::Range<u64>,
    ) -> BoxFuture<'_, parquet::errors::Result<Bytes>> {
        async move {
            self.store
                .get_range(&self.key, range)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_byte_ranges(
        &mut self,
        ranges: Vec<std::ops::Range<u64>>,
    ) -> BoxFuture<'_, parquet::errors::Result<Vec<Bytes>>> {
        async move {
            self.store
                .get_ranges(&self.key, &ranges)
                .await
                .map_err(parquet_error)
        }
        .boxed()
    }

    fn get_metadata<'a>(
        &'a mut self,
        _options: Option<&'a ArrowReaderOptions>,
    ) -> BoxFuture<'a, parquet::errors::Result<Arc<ParquetMetaData>>> {
        async move {
            let size = self.size;
            // One request of 64 KiB from the end usually holds the whole footer.
            let metadata = ParquetMetaDataReader::new()
                .with_prefetch_hint(Some(64 << 10))
                .load_and_finish(self, size)
                .await?;
            Ok(Arc::new(metadata))
        }
        .boxed()
    }
}
