//! Integration tests, checked against independent truth: pymilvus 3.0.2's reference output
//! (`../shared/reference/pymilvus-3.0.2`), numpy/pyarrow in a Python venv
//! (`BULKWRITER_PYTHON`, set up by `tests/run.sh`), and the parquet crate's reader.

mod batch;
mod cli;
mod common;
mod crash;
mod faults;
mod float_repr;
mod golden_numpy;
mod golden_parquet;
mod golden_rows;
mod import;
mod import_plan;
mod input_paths;
mod input_sources;
mod inputs;
mod library;
mod probes;
mod remote;
mod roundtrip_rows;
mod row_files;
mod segments;
mod shards;
