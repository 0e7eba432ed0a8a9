//! `bulkwriter._native`: the extension module under the `bulkwriter` Python package
//! (`python/bulkwriter`), which gives it pymilvus's class names and arguments.
//!
//! - [`Writer`] wraps a [`BulkWriter`]: rows come in as Python objects (dicts of scalars,
//!   lists, NumPy arrays and scalars, bytes), converted once to the JSON values the rules
//!   check; Arrow data comes in through the Arrow C data interface with no Python object per
//!   value. Encoding and uploads run with the GIL released.
//! - [`convert`] runs the command line's conversion ([`bulkwriter_convert::run`]) with a
//!   Python progress callback; Ctrl-C stops it as it stops the command.
//! - [`plan_runs`] and [`Store`] are what a distributed write's driver needs (the Spark
//!   adapter, `bulkwriter.spark`): one import plan over its tasks' run manifests, and the
//!   output folder to list, clean of uncommitted runs, and store the plan in.
//! - [`rest_call`] sends one import REST request through [`bulkwriter_import`]'s client and
//!   returns the HTTP status and body, for pymilvus's `bulk_import` and friends.
//! - [`imports`] starts a distributed write's imports from its plan (`import.<key>`
//!   settings), as `bulkwriter import create --manifest plan.json` does.
//!
//! Every error is a `BulkWriterError` with the message the command line prints.

mod imports;

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use arrow_array::RecordBatch;
use arrow_array::ffi_stream::RecordBatchStreamReader;
use arrow_pyarrow::FromPyArrow;
use bulkwriter_convert::{
    BulkWriter, ConvertOptions, CsvOptions, FileType, InputOptions, OnError, Progress, Target,
    WriterOptions,
};
use bulkwriter_schema::CollectionSchema;
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyKeyboardInterrupt, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyList, PyString, PyTuple};
use serde_json::{Map, Number, Value};

create_exception!(
    _native,
    BulkWriterError,
    PyException,
    "A bad row, schema, option or storage failure, with the message the command line prints."
);

/// An error and its causes on one line, each cause once.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = String::new();
    let mut cause = Some(error);
    while let Some(e) = cause {
        let part = e.to_string();
        if !text.contains(&part) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&part);
        }
        cause = e.source();
    }
    text
}

fn error(e: impl std::error::Error + 'static) -> PyErr {
    BulkWriterError::new_err(describe(&e))
}

fn message(text: impl Into<String>) -> PyErr {
    BulkWriterError::new_err(text.into())
}

/// A Python value as the JSON value the rules check: `None`, bools, ints, floats, strings,
/// bytes (a list of byte values, as binary vectors take them), lists and tuples, dicts (keys
/// as text, as sparse vectors' indices), and anything with NumPy's `tolist()` (arrays and
/// scalars of every dtype, float16 and ml_dtypes' bfloat16 included) or `__float__`.
fn to_value(obj: &Bound<'_, PyAny>, at: &str) -> PyResult<Value> {
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(i) = obj.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = obj.extract::<u64>() {
            return Ok(Value::from(u));
        }
        return Err(message(format!(
            "{at}: the integer {obj} does not fit 64 bits"
        )));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        return float(f.value(), at);
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.extract::<String>()?));
    }
    if let Ok(b) = obj.cast::<PyBytes>() {
        return Ok(Value::Array(
            b.as_bytes().iter().map(|x| Value::from(*x)).collect(),
        ));
    }
    if let Ok(list) = obj.cast::<PyList>() {
        return list.iter().map(|item| to_value(&item, at)).collect();
    }
    if let Ok(tuple) = obj.cast::<PyTuple>() {
        return tuple.iter().map(|item| to_value(&item, at)).collect();
    }
    if let Ok(dict) = obj.cast::<PyDict>() {
        return object(dict, at).map(Value::Object);
    }
    if let Some(values) = float_array(obj, at)? {
        return Ok(values);
    }
    if obj.hasattr("tolist")? {
        let plain = obj.call_method0("tolist")?;
        // A NumPy scalar of an extension dtype (bfloat16) gives itself back.
        if !plain.is(obj) {
            return to_value(&plain, at);
        }
    }
    if let Ok(f) = obj.extract::<f64>() {
        return float(f, at);
    }
    Err(PyTypeError::new_err(format!(
        "{at}: a value of type {} is not a row value (give scalars, lists, NumPy arrays, bytes or dicts)",
        obj.get_type().name()?
    )))
}

/// A 1-D NumPy array of float32, float64, float16 or bfloat16 read from its bytes, with no
/// Python float made per element (the common vector of a row); `None` for anything else.
fn float_array(obj: &Bound<'_, PyAny>, at: &str) -> PyResult<Option<Value>> {
    let Ok(dtype) = obj.getattr("dtype") else {
        return Ok(None);
    };
    if obj.getattr("ndim").and_then(|n| n.extract::<usize>()).ok() != Some(1) {
        return Ok(None);
    }
    let name: String = match dtype.getattr("name").and_then(|n| n.extract()) {
        Ok(name) => name,
        Err(_) => return Ok(None),
    };
    let little = dtype
        .getattr("byteorder")
        .and_then(|b| b.extract::<String>())
        .is_ok_and(|b| b != ">");
    let width = match name.as_str() {
        "float32" => 4,
        "float64" => 8,
        "float16" | "bfloat16" => 2,
        _ => return Ok(None),
    };
    if !little || !cfg!(target_endian = "little") {
        return Ok(None);
    }
    let bytes = obj.call_method0("tobytes")?;
    let bytes = bytes.cast::<PyBytes>()?.as_bytes();
    bytes
        .chunks_exact(width)
        .map(|c| {
            let v = match name.as_str() {
                "float32" => f32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f64,
                "float64" => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]),
                "float16" => half::f16::from_le_bytes([c[0], c[1]]).to_f64(),
                _ => half::bf16::from_le_bytes([c[0], c[1]]).to_f64(),
            };
            float(v, at)
        })
        .collect::<PyResult<Vec<Value>>>()
        .map(|v| Some(Value::Array(v)))
}

fn float(v: f64, at: &str) -> PyResult<Value> {
    Number::from_f64(v).map(Value::Number).ok_or_else(|| {
        message(format!(
            "{at}: {v} is not a finite number (Milvus rejects NaN and infinity)"
        ))
    })
}

fn object(dict: &Bound<'_, PyDict>, at: &str) -> PyResult<Map<String, Value>> {
    let mut map = Map::new();
    for (key, value) in dict.iter() {
        let key: String = match key.cast::<PyString>() {
            Ok(s) => s.extract::<String>()?,
            Err(_) => key.str()?.extract::<String>()?,
        };
        let inner = if at.is_empty() {
            format!("field '{key}'")
        } else {
            at.to_string()
        };
        map.insert(key, to_value(&value, &inner)?);
    }
    Ok(map)
}

/// A bulk writer: rows and Arrow batches in, segments out, as `bulkwriter_writer` writes them.
#[pyclass(module = "bulkwriter._native")]
struct Writer {
    inner: Mutex<Option<BulkWriter>>,
}

impl Writer {
    fn with<T>(&self, f: impl FnOnce(&mut BulkWriter) -> PyResult<T>) -> PyResult<T> {
        let mut guard = self
            .inner
            .lock()
            .map_err(|_| message("the writer was poisoned by an earlier panic"))?;
        let writer = guard
            .as_mut()
            .ok_or_else(|| message("the writer is closed"))?;
        f(writer)
    }
}

/// Writer settings from a file type name, chunk size and CSV options.
fn writer_options(
    file_type: &str,
    chunk_size: u64,
    csv_sep: Option<char>,
    csv_null: Option<String>,
) -> PyResult<WriterOptions> {
    let file_type: FileType = file_type.parse().map_err(message)?;
    let mut options = WriterOptions::new(file_type).with_chunk_size(chunk_size.max(1));
    if csv_sep.is_some() || csv_null.is_some() {
        let csv = CsvOptions::new(csv_sep.unwrap_or(','), csv_null.unwrap_or_default())
            .map_err(message)?;
        options = options.with_csv(csv);
    }
    Ok(options)
}

#[pymethods]
impl Writer {
    /// Opens a writer of `file_type` files under `output/<uuid>` (a local folder or a bucket
    /// URL with object_store `storage_options`). `schema_json` is the schema's JSON text.
    #[new]
    #[pyo3(signature = (schema_json, output, file_type, chunk_size, storage_options=Vec::new(), csv_sep=None, csv_null=None, run_id=None))]
    // The arguments are the Python constructor's.
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        schema_json: &str,
        output: &str,
        file_type: &str,
        chunk_size: u64,
        storage_options: Vec<(String, String)>,
        csv_sep: Option<char>,
        csv_null: Option<String>,
        run_id: Option<String>,
    ) -> PyResult<Writer> {
        let schema = CollectionSchema::from_json_str(schema_json).map_err(error)?;
        let mut options = writer_options(file_type, chunk_size, csv_sep, csv_null)?;
        options.run_id = run_id;
        let writer = py
            .detach(|| BulkWriter::open(schema, output, &storage_options, options))
            .map_err(error)?;
        Ok(Writer {
            inner: Mutex::new(Some(writer)),
        })
    }

    /// Validates one row (a dict) and buffers it; a full segment is written out.
    fn append_row(&self, py: Python<'_>, row: &Bound<'_, PyAny>) -> PyResult<()> {
        let value = match row.cast::<PyDict>() {
            Ok(dict) => Value::Object(object(dict, "")?),
            Err(_) => to_value(row, "the row")?,
        };
        self.with(|w| py.detach(|| w.append_row(&value)).map_err(error))
    }

    /// Appends Arrow data: anything with `__arrow_c_stream__` (a pyarrow Table or
    /// RecordBatchReader, polars, DuckDB) or `__arrow_c_array__` (a RecordBatch). Columns
    /// are matched to fields by name; no Python object is made per value.
    fn append_arrow(&self, py: Python<'_>, data: &Bound<'_, PyAny>) -> PyResult<u64> {
        if data.hasattr("__arrow_c_stream__")? {
            let reader = RecordBatchStreamReader::from_pyarrow_bound(data)?;
            return self.with(|w| {
                py.detach(|| {
                    let mut rows = 0u64;
                    for batch in reader {
                        let batch = batch.map_err(error)?;
                        w.append_batch(&batch).map_err(error)?;
                        rows += batch.num_rows() as u64;
                    }
                    Ok(rows)
                })
            });
        }
        let batch = RecordBatch::from_pyarrow_bound(data)?;
        self.with(|w| {
            py.detach(|| w.append_batch(&batch).map_err(error))?;
            Ok(batch.num_rows() as u64)
        })
    }

    /// Writes the buffered rows as a segment (every call uses up a segment number, as in
    /// pymilvus) and waits until it is stored.
    fn commit(&self, py: Python<'_>) -> PyResult<()> {
        self.with(|w| py.detach(|| w.commit()).map_err(error))
    }

    /// Ends the run: the open segment is written and the manifest marked finished. The
    /// properties still answer afterwards; appending does not.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        self.with(|w| py.detach(|| w.close()).map_err(error))
    }

    /// Keeps the run's `manifest.json` from now on (written now and after every stored
    /// segment; marked finished by `close`), with `context_json` (JSON text) as its context.
    fn keep_manifest(&self, py: Python<'_>, context_json: &str) -> PyResult<()> {
        let context: Value = serde_json::from_str(context_json).map_err(error)?;
        self.with(|w| py.detach(|| w.keep_manifest(context)).map_err(error))
    }

    /// Ends a failed run: the segments already closed finish storing, the open one is
    /// dropped, and a run that stored nothing leaves nothing behind.
    fn stop_after_error(&self, py: Python<'_>) -> PyResult<()> {
        self.with(|w| py.detach(|| w.stop_after_error()).map_err(error))
    }

    /// The run's manifest as JSON text, as `manifest.json` holds it, marked `finished` as
    /// given.
    #[pyo3(signature = (finished=true))]
    fn manifest(&self, finished: bool) -> PyResult<String> {
        self.with(|w| String::from_utf8(w.manifest(finished).to_json()).map_err(error))
    }

    /// The import request's `files` groups of the stored segments.
    #[getter]
    fn batch_files(&self) -> PyResult<Vec<Vec<String>>> {
        self.with(|w| Ok(w.batch_files().to_vec()))
    }

    /// The same files as full URLs.
    #[getter]
    fn batch_urls(&self) -> PyResult<Vec<Vec<String>>> {
        self.with(|w| Ok(w.batch_urls()))
    }

    /// `<output>/<uuid>`: a local path, or the bucket-relative key prefix.
    #[getter]
    fn data_path(&self) -> PyResult<String> {
        self.with(|w| Ok(w.data_path()))
    }

    /// The run's folder name.
    #[getter]
    fn uuid(&self) -> PyResult<String> {
        self.with(|w| Ok(w.uuid().to_string()))
    }

    /// Rows buffered in the open segment.
    #[getter]
    fn buffer_row_count(&self) -> PyResult<usize> {
        self.with(|w| Ok(w.buffer_row_count()))
    }

    /// The open segment's encoded size so far, in bytes.
    #[getter]
    fn buffer_size(&self) -> PyResult<usize> {
        self.with(|w| Ok(w.buffer_size()))
    }

    /// Rows in stored segments.
    #[getter]
    fn total_row_count(&self) -> PyResult<u64> {
        self.with(|w| Ok(w.total_row_count()))
    }

    /// The import request's `options` (CSV `sep` and `nullkey`).
    #[getter]
    fn import_options(&self) -> PyResult<BTreeMap<String, String>> {
        self.with(|w| Ok(w.import_options()))
    }
}

/// Forwards a run's progress to a Python callable `(bytes, total_bytes, rows, rejected)`,
/// at most ten times a second, and turns Ctrl-C into the run's cancel flag.
struct PyProgress<'c> {
    callback: Option<Py<PyAny>>,
    total: Option<u64>,
    last: Instant,
    cancel: &'c AtomicBool,
    warnings: Vec<String>,
}

impl Progress for PyProgress<'_> {
    fn start(&mut self, total_bytes: Option<u64>) {
        self.total = total_bytes;
    }

    fn progress(&mut self, bytes: u64, rows: u64, rejected: u64, _segment: u64) {
        if self.last.elapsed() < Duration::from_millis(100) {
            return;
        }
        self.last = Instant::now();
        Python::attach(|py| {
            if py.check_signals().is_err() {
                self.cancel.store(true, Ordering::Relaxed);
            }
            if let Some(callback) = &self.callback
                && let Err(e) = callback.call1(py, (bytes, self.total, rows, rejected))
            {
                if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                    self.cancel.store(true, Ordering::Relaxed);
                } else {
                    e.print(py);
                }
            }
        });
    }

    fn warn(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
}

/// Runs a conversion as `bulkwriter convert` does; returns its summary (what the command
/// prints) as JSON text, with the run's warnings under `"warnings"`.
#[pyfunction]
#[pyo3(signature = (
    schema_json, inputs, output, file_type, *, input_format=None, mapping=HashMap::new(),
    ignore_unknown=false, on_error="stop", reject_file=None, max_errors=None, input_sep=None,
    input_null=String::new(), vector_field=None, id_start=0, chunk_size=128 << 20,
    segments_in_flight=1, csv_sep=None, csv_null=None, storage_options=Vec::new(), resume=None,
    allow_empty=false, vector_bytes=HashMap::new(), on_duplicate_key="error", progress=None,
    shard=None, run_id=None
))]
#[allow(clippy::too_many_arguments)]
fn convert(
    py: Python<'_>,
    schema_json: &str,
    inputs: Vec<String>,
    output: Option<String>,
    file_type: &str,
    input_format: Option<&str>,
    mapping: HashMap<String, String>,
    ignore_unknown: bool,
    on_error: &str,
    reject_file: Option<std::path::PathBuf>,
    max_errors: Option<u64>,
    input_sep: Option<char>,
    input_null: String,
    vector_field: Option<String>,
    id_start: i64,
    chunk_size: u64,
    segments_in_flight: usize,
    csv_sep: Option<char>,
    csv_null: Option<String>,
    storage_options: Vec<(String, String)>,
    resume: Option<String>,
    allow_empty: bool,
    vector_bytes: HashMap<String, String>,
    on_duplicate_key: &str,
    progress: Option<Py<PyAny>>,
    shard: Option<&str>,
    run_id: Option<String>,
) -> PyResult<String> {
    let schema_value: Value = serde_json::from_str(schema_json).map_err(error)?;
    let schema = CollectionSchema::from_json_value(&schema_value).map_err(error)?;
    let format = input_format
        .map(|f| f.parse::<bulkwriter_input::InputFormat>().map_err(message))
        .transpose()?;
    // Inputs in a bucket are read with the output's storage options, as the command does.
    let files = bulkwriter_input::expand_with(&inputs, format, &storage_options).map_err(error)?;
    let on_error = match on_error {
        "stop" => OnError::Stop,
        "skip" => OnError::Skip,
        other => {
            return Err(message(format!(
                "on_error {other:?}: give \"stop\" or \"skip\""
            )));
        }
    };
    let input = InputOptions {
        schema,
        schema_json: schema_value,
        files,
        mapping,
        ignore_unknown,
        on_error,
        reject_file,
        max_errors,
        csv_separator: input_sep
            .map(|c| u8::try_from(c).map_err(|_| message("input_sep must be an ASCII character")))
            .transpose()?,
        csv_null: input_null,
        vector_field,
        id_start,
        allow_empty,
        vector_bytes: vector_bytes
            .into_iter()
            .map(|(field, layout)| {
                let layout = layout.parse().map_err(PyValueError::new_err)?;
                Ok((field, layout))
            })
            .collect::<PyResult<_>>()?,
        on_duplicate_key: on_duplicate_key.parse().map_err(PyValueError::new_err)?,
        shard: None,
    };
    let mut input = input;
    if let Some(shard) = shard {
        let shard = shard.parse().map_err(PyValueError::new_err)?;
        input.take_shard(shard).map_err(error)?;
    }
    let target = match (resume, output) {
        (Some(data_path), output) => {
            Target::resume(&data_path, output.as_deref()).map_err(error)?
        }
        (None, Some(output)) => Target::New(output),
        (None, None) => return Err(message("give an output, or the run to resume")),
    };
    let options = ConvertOptions {
        input,
        target,
        storage_options,
        writer: WriterOptions {
            run_id,
            ..writer_options(file_type, chunk_size, csv_sep, csv_null)?
                .with_segments_in_flight(segments_in_flight.max(1))
        },
    };
    let cancel = AtomicBool::new(false);
    let mut reporter = PyProgress {
        callback: progress,
        total: None,
        last: Instant::now(),
        cancel: &cancel,
        warnings: Vec::new(),
    };
    let result = py.detach(|| bulkwriter_convert::run(&options, &mut reporter, &cancel));
    let summary = result.map_err(error)?;
    let mut value = serde_json::to_value(&summary).map_err(error)?;
    value["warnings"] = Value::from(reporter.warnings);
    Ok(value.to_string())
}

/// One import plan over many runs' manifests (JSON texts), as `bulkwriter plan` writes
/// it: every run finished, none given twice, requests within the limits. Returns the
/// plan's JSON text.
#[pyfunction]
#[pyo3(signature = (manifests, max_files_per_request=None, max_file_size=None))]
fn plan_runs(
    manifests: Vec<String>,
    max_files_per_request: Option<usize>,
    max_file_size: Option<u64>,
) -> PyResult<String> {
    let manifests = manifests
        .iter()
        .map(|text| serde_json::from_str::<Value>(text).map_err(error))
        .collect::<PyResult<Vec<_>>>()?;
    let defaults = bulkwriter_import::Limits::default();
    let limits = bulkwriter_import::Limits {
        max_files_per_request: max_files_per_request.unwrap_or(defaults.max_files_per_request),
        max_file_size: max_file_size.unwrap_or(defaults.max_file_size),
    };
    let plan = bulkwriter_import::plan::plan_runs(&manifests, limits).map_err(error)?;
    serde_json::to_string_pretty(&plan).map_err(error)
}

/// A folder of an output (a local path or a bucket URL with object_store options), for the
/// driver of a distributed write: it lists the runs its tasks left, removes the ones that
/// were not committed, and stores the plan.
#[pyclass(module = "bulkwriter._native")]
struct Store {
    sink: bulkwriter_sink::SegmentSink,
}

#[pymethods]
impl Store {
    #[new]
    #[pyo3(signature = (output, storage_options=Vec::new()))]
    fn new(
        py: Python<'_>,
        output: &str,
        storage_options: Vec<(String, String)>,
    ) -> PyResult<Store> {
        let sink = py
            .detach(|| bulkwriter_sink::SegmentSink::open(output, &storage_options))
            .map_err(error)?;
        Ok(Store { sink })
    }

    /// Every object under the folder `relative` ("" for all), as (path relative to the
    /// store's folder, size in bytes), sorted.
    #[pyo3(signature = (relative=""))]
    fn list(&self, py: Python<'_>, relative: &str) -> PyResult<Vec<(String, u64)>> {
        py.detach(|| self.sink.list(relative)).map_err(error)
    }

    /// Removes every object under the folder `relative` (local staging files too); returns
    /// how many were removed.
    fn remove_folder(&self, py: Python<'_>, relative: &str) -> PyResult<usize> {
        let relative = relative.trim_matches('/');
        if relative.is_empty() {
            return Err(message(
                "refusing to remove the whole output: name a folder in it",
            ));
        }
        py.detach(|| self.sink.remove_folder(relative))
            .map_err(error)
    }

    /// Stores `data` at `relative` in one write.
    fn put(&self, py: Python<'_>, relative: &str, data: Vec<u8>) -> PyResult<()> {
        py.detach(|| self.sink.put_small(relative, data))
            .map_err(error)
    }

    /// The object at `relative`, or None.
    fn read(&self, py: Python<'_>, relative: &str) -> PyResult<Option<Vec<u8>>> {
        py.detach(|| self.sink.read_small(relative)).map_err(error)
    }

    /// How Milvus is told the path `relative` (a local path, or a bucket-relative key).
    fn display_path(&self, relative: &str) -> String {
        self.sink.display_path(relative)
    }

    /// The full URL of `relative`.
    fn url(&self, relative: &str) -> String {
        self.sink.url(relative)
    }
}

/// Sends one import REST request (`POST url + path` with a JSON body, `api_key` as the
/// bearer token, `db_name` as the `DB-Name` header, retried on connection errors, 429 and
/// 5xx) and returns (HTTP status, body).
#[pyfunction]
#[pyo3(signature = (url, path, body_json, api_key=None, db_name=None, timeout_s=30.0))]
fn rest_call(
    py: Python<'_>,
    url: &str,
    path: &str,
    body_json: &str,
    api_key: Option<String>,
    db_name: Option<String>,
    timeout_s: f64,
) -> PyResult<(u16, String)> {
    let body: Value = serde_json::from_str(body_json).map_err(error)?;
    let client = bulkwriter_import::ImportClient::new(
        bulkwriter_import::Target::Milvus {
            uri: url.to_string(),
            token: api_key.map(bulkwriter_import::Secret::new),
            db_name,
        },
        bulkwriter_import::ClientOptions {
            timeout: Duration::from_secs_f64(timeout_s.max(0.001)),
            ..Default::default()
        },
    )
    .map_err(error)?;
    py.detach(|| client.post_raw(path, &body)).map_err(error)
}

/// The module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    bulkwriter_writer::memory::keep_freed_memory_for_reuse();
    m.add_class::<Writer>()?;
    m.add_class::<Store>()?;
    m.add_function(wrap_pyfunction!(plan_runs, m)?)?;
    m.add_function(wrap_pyfunction!(convert, m)?)?;
    m.add_function(wrap_pyfunction!(rest_call, m)?)?;
    m.add_function(wrap_pyfunction!(imports::check_import_settings, m)?)?;
    m.add_function(wrap_pyfunction!(imports::submit_plan, m)?)?;
    m.add("BulkWriterError", m.py().get_type::<BulkWriterError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
